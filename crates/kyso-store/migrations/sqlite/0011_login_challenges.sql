-- Issue 12: one-time challenges of a certificate login. The server says what the token signs
-- (the origin it logs into, a nonce); a challenge is taken once, before it expires, and kept
-- as the SHA-256 of its id so that a database reader cannot answer one.
CREATE TABLE login_challenges (
    id_hash    TEXT PRIMARY KEY,
    text       TEXT NOT NULL,
    origin     TEXT NOT NULL,
    -- Who asked, so that one address cannot fill the table.
    address    TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX login_challenges_expiry ON login_challenges(expires_at);
CREATE INDEX login_challenges_address ON login_challenges(address);
