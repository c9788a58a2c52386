-- The built-in CA: its own certificates, issued certificates' DER, CRLs and pre-produced
-- OCSP responses. DER is stored as base64 text.

CREATE TABLE ca_certificates (
    role      TEXT PRIMARY KEY,      -- root, issuing, ocsp, tsa
    key_label TEXT NOT NULL,         -- the key's label on the CA token
    der       TEXT NOT NULL
);

ALTER TABLE certificates ADD COLUMN der TEXT;

CREATE TABLE crls (
    number      INTEGER PRIMARY KEY,
    delta_of    INTEGER,
    this_update INTEGER NOT NULL,
    next_update INTEGER NOT NULL,
    der         TEXT NOT NULL
);

CREATE TABLE ocsp_responses (
    serial      TEXT PRIMARY KEY,
    produced_at INTEGER NOT NULL,
    next_update INTEGER NOT NULL,
    der         TEXT NOT NULL
);
