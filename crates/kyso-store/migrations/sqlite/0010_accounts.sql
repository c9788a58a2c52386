-- Issue 12: accounts that log in. A password (Argon2id, its parameters in the PHC string), a
-- temporary flag, a TOTP secret sealed with the deployment's key, one-time recovery codes,
-- sessions and API tokens kept as SHA-256 of their random secret, and the failure counters
-- that slow logins down.
ALTER TABLE users ADD COLUMN password_hash TEXT;
ALTER TABLE users ADD COLUMN password_temporary INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN password_changed_at INTEGER;
ALTER TABLE users ADD COLUMN totp_sealed TEXT;
ALTER TABLE users ADD COLUMN totp_confirmed_at INTEGER;
ALTER TABLE users ADD COLUMN totp_last_step INTEGER;
-- A new TOTP secret waits here until a code from it confirms it; the old one stays in force.
ALTER TABLE users ADD COLUMN totp_pending TEXT;

CREATE TABLE recovery_codes (
    user_id   INTEGER NOT NULL REFERENCES users(id),
    code_hash TEXT NOT NULL,
    used_at   INTEGER,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE sessions (
    id_hash     TEXT PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    method      TEXT NOT NULL,
    pending     TEXT,
    csrf        TEXT NOT NULL,
    client      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    ended_at    INTEGER
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE api_tokens (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    name        TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    roles       TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER,
    last_used   INTEGER
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);

-- Attempts are counted before the password is checked, and refused until not_before.
CREATE TABLE login_failures (
    key          TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL,
    last_failure INTEGER NOT NULL,
    not_before   INTEGER NOT NULL DEFAULT 0
);
