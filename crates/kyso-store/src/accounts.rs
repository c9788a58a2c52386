//! Accounts that log in: credentials, recovery codes, sessions, API tokens and the login
//! failure counters (issue 12). Secrets are never stored: passwords as Argon2id PHC strings,
//! recovery codes, session ids and API token secrets as the SHA-256 the service computed, the
//! TOTP secret sealed by the service with the deployment's key.

use crate::db::{StoreResult, Tx};
use crate::repo::{from_secs as at, secs};
use chrono::{DateTime, Utc};
use kyso_core::registry::{PersonId, UserId};

/// What a login checks about an account.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user_id: UserId,
    pub login: String,
    pub person_id: Option<PersonId>,
    pub disabled: bool,
    pub password_hash: Option<String>,
    pub password_temporary: bool,
    pub totp_sealed: Option<String>,
    pub totp_confirmed: bool,
    pub totp_last_step: Option<i64>,
}

/// A session as stored (its id is known only as a hash).
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub user_id: UserId,
    pub method: String,
    /// What the account must do before it may act: `password` (change it) or `totp` (enrol).
    pub pending: Option<String>,
    pub csrf: String,
    pub created_at: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub ended: bool,
}

#[derive(Debug, Clone)]
pub struct ApiTokenRow {
    pub id: i64,
    pub user_id: UserId,
    pub name: String,
    /// Role codes, comma-separated.
    pub roles: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked: bool,
}

const TOKEN_COLS: &str = "id, user_id, name, roles, created_at, expires_at, revoked_at";
const CRED_COLS: &str =
    "id, login, person_id, disabled_at, password_hash, password_temporary, totp_sealed, totp_confirmed_at, totp_last_step";

impl Tx<'_> {
    pub fn credentials(&mut self, login: &str) -> StoreResult<Option<Credentials>> {
        let r = self.query_opt(&format!("SELECT {CRED_COLS} FROM users WHERE login = $1"), &[login.into()])?;
        r.map(|r| cred_row(&r)).transpose()
    }
    pub fn credentials_of(&mut self, user: UserId) -> StoreResult<Option<Credentials>> {
        let r = self.query_opt(&format!("SELECT {CRED_COLS} FROM users WHERE id = $1"), &[user.0.into()])?;
        r.map(|r| cred_row(&r)).transpose()
    }
    pub fn set_password_hash(&mut self, user: UserId, phc: &str, temporary: bool, now: DateTime<Utc>) -> StoreResult<()> {
        self.exec(
            "UPDATE users SET password_hash = $1, password_temporary = $2, password_changed_at = $3 WHERE id = $4",
            &[phc.into(), i64::from(temporary).into(), secs(now).into(), user.0.into()],
        )?;
        Ok(())
    }
    /// Keeps a new TOTP secret (sealed) until a code from it confirms it; the current one
    /// stays in force meanwhile.
    pub fn set_totp_pending(&mut self, user: UserId, sealed: &str) -> StoreResult<()> {
        self.exec("UPDATE users SET totp_pending = $1 WHERE id = $2", &[sealed.into(), user.0.into()])?;
        Ok(())
    }
    /// The secret waiting for confirmation.
    pub fn totp_pending(&mut self, user: UserId) -> StoreResult<Option<String>> {
        self.query_one("SELECT totp_pending FROM users WHERE id = $1", &[user.0.into()])?.opt_text(0)
    }
    pub fn clear_totp(&mut self, user: UserId) -> StoreResult<()> {
        self.exec(
            "UPDATE users SET totp_sealed = NULL, totp_pending = NULL, totp_confirmed_at = NULL, totp_last_step = NULL WHERE id = $1",
            &[user.0.into()],
        )?;
        Ok(())
    }
    /// Puts the pending secret in force.
    pub fn confirm_totp(&mut self, user: UserId, step: i64, now: DateTime<Utc>) -> StoreResult<()> {
        self.exec(
            "UPDATE users SET totp_sealed = totp_pending, totp_pending = NULL, totp_confirmed_at = $1, totp_last_step = $2 \
             WHERE id = $3 AND totp_pending IS NOT NULL",
            &[secs(now).into(), step.into(), user.0.into()],
        )?;
        Ok(())
    }
    /// Records the time step of a code just used, if it is later than the last one; false
    /// when it was already used (a replay).
    pub fn use_totp_step(&mut self, user: UserId, step: i64) -> StoreResult<bool> {
        let n = self.exec(
            "UPDATE users SET totp_last_step = $1 WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)",
            &[step.into(), user.0.into()],
        )?;
        Ok(n == 1)
    }

    // ---- recovery codes ----
    pub fn replace_recovery_codes(&mut self, user: UserId, hashes: &[String]) -> StoreResult<()> {
        self.exec("DELETE FROM recovery_codes WHERE user_id = $1", &[user.0.into()])?;
        for h in hashes {
            self.exec("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)", &[user.0.into(), h.as_str().into()])?;
        }
        Ok(())
    }
    /// Spends a recovery code; false when it is unknown or was used.
    pub fn use_recovery_code(&mut self, user: UserId, hash: &str, now: DateTime<Utc>) -> StoreResult<bool> {
        let n = self.exec(
            "UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
            &[secs(now).into(), user.0.into(), hash.into()],
        )?;
        Ok(n == 1)
    }
    pub fn recovery_codes_left(&mut self, user: UserId) -> StoreResult<i64> {
        self.query_one("SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL", &[user.0.into()])?.int(0)
    }

    // ---- sessions ----
    #[allow(clippy::too_many_arguments)]
    pub fn insert_session(
        &mut self,
        id_hash: &str,
        user: UserId,
        method: &str,
        pending: Option<&str>,
        csrf: &str,
        client: &str,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.exec(
            "INSERT INTO sessions (id_hash, user_id, method, pending, csrf, client, created_at, last_seen, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8)",
            &[id_hash.into(), user.0.into(), method.into(), pending.into(), csrf.into(), client.into(), secs(now).into(), secs(expires).into()],
        )?;
        Ok(())
    }
    pub fn session(&mut self, id_hash: &str) -> StoreResult<Option<SessionRow>> {
        let r = self.query_opt(
            "SELECT user_id, method, pending, csrf, created_at, last_seen, expires_at, ended_at FROM sessions WHERE id_hash = $1",
            &[id_hash.into()],
        )?;
        r.map(|r| {
            Ok(SessionRow {
                user_id: UserId(r.int(0)?),
                method: r.text(1)?,
                pending: r.opt_text(2)?,
                csrf: r.text(3)?,
                created_at: at(r.int(4)?)?,
                last_seen: at(r.int(5)?)?,
                expires_at: at(r.int(6)?)?,
                ended: r.opt_int(7)?.is_some(),
            })
        })
        .transpose()
    }
    pub fn touch_session(&mut self, id_hash: &str, now: DateTime<Utc>) -> StoreResult<()> {
        self.exec("UPDATE sessions SET last_seen = $1 WHERE id_hash = $2", &[secs(now).into(), id_hash.into()])?;
        Ok(())
    }
    pub fn clear_session_pending(&mut self, id_hash: &str, pending: Option<&str>) -> StoreResult<()> {
        self.exec("UPDATE sessions SET pending = $1 WHERE id_hash = $2", &[pending.into(), id_hash.into()])?;
        Ok(())
    }
    pub fn set_session_method(&mut self, id_hash: &str, method: &str) -> StoreResult<()> {
        self.exec("UPDATE sessions SET method = $1 WHERE id_hash = $2", &[method.into(), id_hash.into()])?;
        Ok(())
    }
    pub fn end_session(&mut self, id_hash: &str, now: DateTime<Utc>) -> StoreResult<u64> {
        self.exec("UPDATE sessions SET ended_at = $1 WHERE id_hash = $2 AND ended_at IS NULL", &[secs(now).into(), id_hash.into()])
    }
    /// Ends every open session of the account; the number ended.
    pub fn end_sessions_of(&mut self, user: UserId, now: DateTime<Utc>) -> StoreResult<u64> {
        self.exec("UPDATE sessions SET ended_at = $1 WHERE user_id = $2 AND ended_at IS NULL", &[secs(now).into(), user.0.into()])
    }
    /// Ends every open session of the account but one (the one that changed its credentials).
    pub fn end_other_sessions(&mut self, user: UserId, keep_hash: &str, now: DateTime<Utc>) -> StoreResult<u64> {
        self.exec(
            "UPDATE sessions SET ended_at = $1 WHERE user_id = $2 AND ended_at IS NULL AND id_hash <> $3",
            &[secs(now).into(), user.0.into(), keep_hash.into()],
        )
    }
    /// Revokes every API token of the account.
    pub fn revoke_api_tokens_of(&mut self, user: UserId, now: DateTime<Utc>) -> StoreResult<u64> {
        self.exec("UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL", &[secs(now).into(), user.0.into()])
    }
    /// Forgets sessions that ended or expired before `before` (they no longer open anything).
    pub fn prune_sessions(&mut self, before: DateTime<Utc>) -> StoreResult<u64> {
        self.exec("DELETE FROM sessions WHERE expires_at < $1 OR ended_at < $1", &[secs(before).into()])
    }

    // ---- API tokens ----
    pub fn insert_api_token(
        &mut self,
        user: UserId,
        name: &str,
        secret_hash: &str,
        roles: &str,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> StoreResult<i64> {
        self.query_one(
            "INSERT INTO api_tokens (user_id, name, secret_hash, roles, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            &[user.0.into(), name.into(), secret_hash.into(), roles.into(), secs(now).into(), secs(expires).into()],
        )?
        .int(0)
    }
    pub fn set_api_token_hash(&mut self, id: i64, secret_hash: &str) -> StoreResult<()> {
        self.exec("UPDATE api_tokens SET secret_hash = $1 WHERE id = $2", &[secret_hash.into(), id.into()])?;
        Ok(())
    }
    pub fn api_token_by_hash(&mut self, secret_hash: &str) -> StoreResult<Option<ApiTokenRow>> {
        let r = self.query_opt(&format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE secret_hash = $1"), &[secret_hash.into()])?;
        r.map(|r| token_row(&r)).transpose()
    }
    pub fn api_token(&mut self, id: i64) -> StoreResult<Option<ApiTokenRow>> {
        let r = self.query_opt(&format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE id = $1"), &[id.into()])?;
        r.map(|r| token_row(&r)).transpose()
    }
    pub fn api_tokens_of(&mut self, user: UserId) -> StoreResult<Vec<ApiTokenRow>> {
        self.query(&format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE user_id = $1 ORDER BY id"), &[user.0.into()])?
            .iter()
            .map(token_row)
            .collect()
    }
    pub fn revoke_api_token(&mut self, id: i64, now: DateTime<Utc>) -> StoreResult<u64> {
        self.exec("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL", &[secs(now).into(), id.into()])
    }

    // ---- separation of duties ----
    /// Who filed (drafted or submitted), confirmed and checked a request, from its audit
    /// events, with the person behind each account.
    pub fn request_step_actors(&mut self, request: i64) -> StoreResult<kyso_core::duties::StepActors> {
        let rows = self.query(
            "SELECT e.actor, e.action, u.person_id FROM audit_events e LEFT JOIN users u ON u.login = e.actor \
             WHERE e.object = $1 AND e.outcome = 'ok' AND e.action IN ('request.created', 'request.submitted', 'request.confirmed', 'request.checked') \
             ORDER BY e.seq",
            &[format!("request:{request}").into()],
        )?;
        let mut s = kyso_core::duties::StepActors::default();
        for r in rows {
            let actor = kyso_core::duties::StepActor { login: r.text(0)?, person: r.opt_int(2)?.map(PersonId) };
            match r.text(1)?.as_str() {
                "request.created" | "request.submitted" => s.filed_by.push(actor),
                "request.confirmed" => s.confirmed_by = Some(actor),
                _ => s.checked_by = Some(actor),
            }
        }
        Ok(s)
    }
    /// How many accounts hold `role` at exactly this agency.
    pub fn role_holders_at(&mut self, role: &str, agency: i64) -> StoreResult<i64> {
        self.query_one("SELECT COUNT(*) FROM grants WHERE role = $1 AND agency_id = $2", &[role.into(), agency.into()])?.int(0)
    }

    // ---- login failures ----
    /// (failures, time of the last) for a throttling key (`login:…` or `addr:…`).
    /// Counts an attempt for a throttling key before the password is checked (so parallel
    /// attempts cannot all pass one check): the attempts so far, this one included, and the
    /// time before which attempts are refused. The row stays locked until the transaction ends.
    pub fn count_login_attempt(&mut self, key: &str, now: DateTime<Utc>) -> StoreResult<(i64, DateTime<Utc>)> {
        let r = self.query_one(
            "INSERT INTO login_failures (key, failures, last_failure, not_before) VALUES ($1, 1, $2, 0) \
             ON CONFLICT (key) DO UPDATE SET failures = login_failures.failures + 1, last_failure = $2 RETURNING failures, not_before",
            &[key.into(), secs(now).into()],
        )?;
        Ok((r.int(0)?, at(r.int(1)?)?))
    }
    pub fn set_login_not_before(&mut self, key: &str, not_before: DateTime<Utc>) -> StoreResult<()> {
        self.exec("UPDATE login_failures SET not_before = $1 WHERE key = $2", &[secs(not_before).into(), key.into()])?;
        Ok(())
    }
    /// Takes back the count of an attempt that succeeded, for a key that success does not clear.
    pub fn uncount_login_attempt(&mut self, key: &str) -> StoreResult<()> {
        self.exec("UPDATE login_failures SET failures = failures - 1 WHERE key = $1 AND failures > 0", &[key.into()])?;
        Ok(())
    }
    pub fn clear_login_failures(&mut self, key: &str) -> StoreResult<()> {
        self.exec("DELETE FROM login_failures WHERE key = $1", &[key.into()])?;
        Ok(())
    }
    /// Keeps a login challenge (by the hash of its id) until `expires`, for `address`, unless
    /// that address already holds `per_address` live ones or the table `total`: then false.
    #[allow(clippy::too_many_arguments)]
    pub fn insert_login_challenge(
        &mut self,
        id_hash: &str,
        text: &str,
        origin: &str,
        address: &str,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
        (per_address, total): (i64, i64),
    ) -> StoreResult<bool> {
        self.exec("DELETE FROM login_challenges WHERE expires_at < $1", &[secs(now).into()])?;
        let mine = self.query_one("SELECT COUNT(*) FROM login_challenges WHERE address = $1", &[address.into()])?.int(0)?;
        let all = self.query_one("SELECT COUNT(*) FROM login_challenges", &[])?.int(0)?;
        if mine >= per_address || all >= total {
            return Ok(false);
        }
        self.exec(
            "INSERT INTO login_challenges (id_hash, text, origin, address, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
            &[id_hash.into(), text.into(), origin.into(), address.into(), secs(now).into(), secs(expires).into()],
        )?;
        Ok(true)
    }
    /// Takes a challenge once: its (text, origin) if it exists and has not expired; it is
    /// deleted either way, so that no answer is accepted twice.
    pub fn take_login_challenge(&mut self, id_hash: &str, now: DateTime<Utc>) -> StoreResult<Option<(String, String)>> {
        let row =
            self.query_opt("DELETE FROM login_challenges WHERE id_hash = $1 RETURNING text, origin, expires_at", &[id_hash.into()])?;
        match row {
            Some(r) if r.int(2)? >= secs(now) => Ok(Some((r.text(0)?, r.text(1)?))),
            _ => Ok(None),
        }
    }
    /// Forgets counters quiet since `before` (so that guessing random logins cannot grow the
    /// table without bound).
    pub fn prune_login_failures(&mut self, before: DateTime<Utc>) -> StoreResult<u64> {
        self.exec("DELETE FROM login_failures WHERE last_failure < $1", &[secs(before).into()])
    }
}

fn cred_row(r: &crate::db::Row) -> StoreResult<Credentials> {
    Ok(Credentials {
        user_id: UserId(r.int(0)?),
        login: r.text(1)?,
        person_id: r.opt_int(2)?.map(PersonId),
        disabled: r.opt_int(3)?.is_some(),
        password_hash: r.opt_text(4)?,
        password_temporary: r.int(5)? != 0,
        totp_sealed: r.opt_text(6)?,
        totp_confirmed: r.opt_int(7)?.is_some(),
        totp_last_step: r.opt_int(8)?,
    })
}

fn token_row(r: &crate::db::Row) -> StoreResult<ApiTokenRow> {
    Ok(ApiTokenRow {
        id: r.int(0)?,
        user_id: UserId(r.int(1)?),
        name: r.text(2)?,
        roles: r.text(3)?,
        created_at: at(r.int(4)?)?,
        expires_at: at(r.int(5)?)?,
        revoked: r.opt_int(6)?.is_some(),
    })
}
