-- Documents that agencies sign, their signatures, the outgoing register (sổ văn bản đi) and
-- two-phase signing sessions. The files live in the file store, named by document and
-- version; the database keeps their SHA-256.
CREATE TABLE documents (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    agency_id         INTEGER NOT NULL REFERENCES agencies(id),
    kind              TEXT NOT NULL,
    status            TEXT NOT NULL,
    title             TEXT NOT NULL,
    file_name         TEXT NOT NULL,
    competent_person  INTEGER REFERENCES persons(id),
    parent_id         INTEGER REFERENCES documents(id),
    symbol            TEXT,
    number            TEXT,
    issued_on         TEXT,
    sha256            TEXT NOT NULL,
    size              INTEGER NOT NULL,
    version           INTEGER NOT NULL,
    created_by        TEXT NOT NULL,
    created_at        INTEGER NOT NULL
);
CREATE INDEX documents_agency ON documents(agency_id);

CREATE TABLE document_signatures (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id  INTEGER NOT NULL REFERENCES documents(id),
    seq          INTEGER NOT NULL,
    role         TEXT NOT NULL,
    step         TEXT,
    person_id    INTEGER REFERENCES persons(id),
    field        TEXT NOT NULL,
    serial       TEXT,
    signed_at    INTEGER NOT NULL,
    by_login     TEXT NOT NULL,
    sha256_after TEXT NOT NULL,
    UNIQUE (document_id, seq)
);

CREATE TABLE outgoing_register (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    agency_id     INTEGER NOT NULL REFERENCES agencies(id),
    year          INTEGER NOT NULL,
    kind          TEXT NOT NULL,
    seq           INTEGER NOT NULL,
    number        TEXT NOT NULL,
    issued_on     TEXT NOT NULL,
    title         TEXT NOT NULL,
    document_id   INTEGER NOT NULL REFERENCES documents(id),
    signer_name   TEXT NOT NULL,
    recipients    TEXT NOT NULL,
    entered_by    TEXT NOT NULL,
    entered_at    INTEGER NOT NULL,
    UNIQUE (agency_id, year, kind, seq)
);

CREATE TABLE signing_sessions (
    id           TEXT PRIMARY KEY,
    document_id  INTEGER NOT NULL REFERENCES documents(id),
    version      INTEGER NOT NULL,
    payload      TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
