-- Signed checkpoints of the audit head (issue 11, finding 9): an RFC 3161 time-stamp over the
-- head's sequence and hash, kept here and exported as files outside the database.
CREATE TABLE audit_checkpoints (
    seq        BIGINT PRIMARY KEY,
    hash       TEXT NOT NULL,
    token      TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
