-- The deployment's trust store (issue 11, finding 2): the CA certificates that certificates,
-- CRLs and signed documents must chain to. Kept by IT staff, every change audited.
CREATE TABLE trust_anchors (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    sha256    TEXT NOT NULL UNIQUE,
    subject   TEXT NOT NULL,
    der       TEXT NOT NULL,
    note      TEXT NOT NULL,
    added_by  TEXT NOT NULL,
    added_at  INTEGER NOT NULL
);
