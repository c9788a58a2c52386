-- kyso schema, SQLite dialect. Instants are Unix seconds (entities) or microseconds
-- (audit events); calendar dates are ISO 'YYYY-MM-DD' text; booleans are 0/1.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE agencies (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    code         TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    parent_id    INTEGER REFERENCES agencies(id),
    -- Materialised path of ids from the root ('/1/5/23/'): a subtree is a prefix.
    path         TEXT NOT NULL,
    legal_entity INTEGER NOT NULL CHECK (legal_entity IN (0, 1)),
    tax_code     TEXT,
    budget_code  TEXT,
    email        TEXT,
    address      TEXT NOT NULL,
    valid_from   TEXT NOT NULL,
    valid_to     TEXT
);
CREATE INDEX agencies_path ON agencies(path);
CREATE INDEX agencies_parent ON agencies(parent_id);

CREATE TABLE persons (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    full_name     TEXT NOT NULL,
    citizen_id    TEXT NOT NULL UNIQUE,
    date_of_birth TEXT NOT NULL,
    gender        TEXT NOT NULL,
    position      TEXT NOT NULL,
    position_kind TEXT NOT NULL,
    title         TEXT NOT NULL,
    agency_id     INTEGER NOT NULL REFERENCES agencies(id),
    email         TEXT NOT NULL,
    phone         TEXT
);
CREATE INDEX persons_agency ON persons(agency_id);

CREATE TABLE users (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    login      TEXT NOT NULL UNIQUE,
    person_id  INTEGER REFERENCES persons(id),
    created_at INTEGER NOT NULL
);

CREATE TABLE grants (
    user_id   INTEGER NOT NULL REFERENCES users(id),
    role      TEXT NOT NULL,
    agency_id INTEGER NOT NULL REFERENCES agencies(id),
    PRIMARY KEY (user_id, role, agency_id)
);

CREATE TABLE subscribers (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    kind               TEXT NOT NULL,
    person_id          INTEGER REFERENCES persons(id),
    agency_id          INTEGER NOT NULL REFERENCES agencies(id),
    managing_agency_id INTEGER NOT NULL REFERENCES agencies(id),
    display_name       TEXT NOT NULL,
    email              TEXT
);
CREATE INDEX subscribers_agency ON subscribers(agency_id);
CREATE INDEX subscribers_person ON subscribers(person_id);

CREATE TABLE devices (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    serial       TEXT NOT NULL UNIQUE,
    kind         TEXT NOT NULL,
    model        TEXT NOT NULL,
    status       TEXT NOT NULL,
    agency_id    INTEGER NOT NULL REFERENCES agencies(id),
    custodian_id INTEGER REFERENCES persons(id),
    return_due   TEXT
);

CREATE TABLE certificates (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    serial            TEXT NOT NULL UNIQUE,
    subscriber_id     INTEGER NOT NULL REFERENCES subscribers(id),
    -- The subscriber's agency and report class, copied for scoped reports.
    agency_id         INTEGER NOT NULL REFERENCES agencies(id),
    class             TEXT NOT NULL,
    subject           TEXT NOT NULL,
    issuer            TEXT NOT NULL,
    not_before        INTEGER NOT NULL,
    not_after         INTEGER NOT NULL,
    revoked_at        INTEGER,
    revocation_reason TEXT,
    device_id         INTEGER REFERENCES devices(id),
    predecessor_id    INTEGER REFERENCES certificates(id),
    renewal_count     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX certificates_not_after ON certificates(not_after);
CREATE INDEX certificates_subscriber ON certificates(subscriber_id);

CREATE TABLE batches (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL
);

CREATE TABLE requests (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    kind               TEXT NOT NULL,
    state              TEXT NOT NULL,
    subscriber_id      INTEGER NOT NULL REFERENCES subscribers(id),
    certificate_id     INTEGER REFERENCES certificates(id),
    device_id          INTEGER REFERENCES devices(id),
    managing_agency_id INTEGER NOT NULL REFERENCES agencies(id),
    details            TEXT NOT NULL,
    created_by         INTEGER NOT NULL REFERENCES users(id),
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    batch_id           INTEGER REFERENCES batches(id),
    rejection_reason   TEXT
);
CREATE INDEX requests_state ON requests(state);
CREATE INDEX requests_subscriber ON requests(subscriber_id);

-- The hash-chained audit log; also the source of report figures.
CREATE TABLE audit_events (
    seq       INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    object    TEXT NOT NULL,
    agency_id INTEGER,
    outcome   TEXT NOT NULL,
    subject   TEXT,
    class     TEXT,
    details   TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
-- Report figures seek by action and period; the index covers the whole query.
CREATE INDEX audit_figures ON audit_events(action, at, subject, class, agency_id) WHERE subject IS NOT NULL;
CREATE INDEX audit_object ON audit_events(object);

-- The last event of the chain, so that a removed tail is noticed.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
