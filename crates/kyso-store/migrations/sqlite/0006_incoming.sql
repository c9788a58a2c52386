-- The incoming register (sổ văn bản đến): documents received, verified, and either entered
-- with a number or refused. A refused document's file is deleted; its hash and the
-- verification report stay, so the deletion is provable. Notifications to senders wait in an
-- outbox for the document system that delivers them.
CREATE TABLE incoming_register (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    agency_id     INTEGER NOT NULL REFERENCES agencies(id),
    year          INTEGER NOT NULL,
    seq           INTEGER,
    status        TEXT NOT NULL,
    received_at   INTEGER NOT NULL,
    sender        TEXT NOT NULL,
    source        TEXT NOT NULL,
    title         TEXT NOT NULL,
    file_name     TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    size          INTEGER NOT NULL,
    indication    TEXT NOT NULL,
    report        TEXT NOT NULL,
    entered_by    TEXT NOT NULL,
    UNIQUE (agency_id, year, seq)
);
CREATE INDEX incoming_agency ON incoming_register(agency_id, year);

CREATE TABLE notifications (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    agency_id    INTEGER NOT NULL REFERENCES agencies(id),
    recipient    TEXT NOT NULL,
    subject      TEXT NOT NULL,
    body         TEXT NOT NULL,
    incoming_id  INTEGER REFERENCES incoming_register(id),
    created_at   INTEGER NOT NULL,
    sent_at      INTEGER
);
