-- Keeping the registry true: what happened to an official (retired, resigned, died, changed
-- position, moved), with its date and legal basis, and the certificate work each event calls
-- for (legal.md R5.4), proposed to the CQQLTT, who files it with one action or dismisses it
-- with a reason. Accounts can be disabled.
CREATE TABLE person_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id   INTEGER NOT NULL REFERENCES persons(id),
    event       TEXT NOT NULL,
    effective   TEXT NOT NULL,
    basis       TEXT NOT NULL,
    details     TEXT NOT NULL,
    recorded_at INTEGER NOT NULL,
    recorded_by TEXT NOT NULL
);
CREATE INDEX person_events_person ON person_events(person_id);

CREATE TABLE proposals (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id       INTEGER NOT NULL REFERENCES person_events(id),
    subscriber_id  INTEGER NOT NULL REFERENCES subscribers(id),
    certificate_id INTEGER NOT NULL REFERENCES certificates(id),
    kind           TEXT NOT NULL,
    details        TEXT NOT NULL,
    state          TEXT NOT NULL,
    reason         TEXT,
    request_id     INTEGER REFERENCES requests(id),
    decided_at     INTEGER,
    decided_by     TEXT
);
CREATE INDEX proposals_state ON proposals(state);
CREATE INDEX proposals_certificate ON proposals(certificate_id);

ALTER TABLE users ADD COLUMN disabled_at INTEGER;

-- Certificates of a bulk import that matched nobody in the registry: kept for review, never
-- attached to a guessed subscriber.
CREATE TABLE certificate_review (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    serial     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    issuer     TEXT NOT NULL,
    not_before INTEGER NOT NULL,
    not_after  INTEGER NOT NULL,
    email      TEXT,
    citizen_id TEXT,
    source     TEXT NOT NULL,
    reason     TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
-- Bulk imports match certificates to officials by e-mail and by name.
CREATE INDEX persons_email ON persons(email);
CREATE INDEX persons_name ON persons(full_name);

-- The incoming register as the clerk keeps it on paper (Nghị định 30/2020): the document's own
-- number and date, who signed it, and the warnings the clerk accepted.
ALTER TABLE incoming_register ADD COLUMN doc_number TEXT;
ALTER TABLE incoming_register ADD COLUMN doc_date TEXT;
ALTER TABLE incoming_register ADD COLUMN signers TEXT NOT NULL DEFAULT '';
ALTER TABLE incoming_register ADD COLUMN warnings TEXT NOT NULL DEFAULT '';
