//! Password logins: Argon2id (parameters in the PHC string, so a training deployment's cheap
//! hashes and a production deployment's costly ones verify alike), a growing delay after five
//! failures per account and per client address, and the second factor for the roles that
//! need one.

use super::totp::{matching_step, normalise_recovery_code};
use super::*;
use crate::{DomainError, ServiceError};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Argon2, Params};
use chrono::{DateTime, Duration, Utc};
use kyso_core::audit::NewEvent;
use kyso_core::authz::Role;
use kyso_core::identity::{
    check_password, delay_after, needs_second_factor, FREE_FAILURES, FREE_FAILURES_PER_ACCOUNT, FREE_FAILURES_PER_ADDRESS,
};

/// What a password login gives.
#[derive(Debug, Clone, Copy)]
pub struct PasswordLogin<'a> {
    pub login: &'a str,
    pub password: &'a str,
    /// A TOTP code or a recovery code.
    pub second_factor: Option<&'a str>,
    pub client: &'a ClientInfo,
}

/// Argon2id at 19 MiB and 5 passes (above the OWASP minimum of 2, so that a hash takes over
/// 50 ms on a 2-core server even when it is idle: with 3 passes a whole login measured 43 ms,
/// with 4 passes 51 ms); a training deployment uses 64 KiB and one pass so that the demo and
/// the tests stay fast.
fn argon2(training: bool) -> Argon2<'static> {
    let params = if training { Params::new(64, 1, 1, None) } else { Params::new(19 * 1024, 5, 1, None) };
    Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params.expect("valid Argon2 parameters"))
}

pub(crate) fn hash_password(password: &str, training: bool) -> ServiceResult<String> {
    let mut salt = [0u8; 16];
    kyso_token::random_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| DomainError::invalid("password", e.to_string()))?;
    Ok(argon2(training)
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| DomainError::invalid("password", format!("không băm được mật khẩu: {e}")))?
        .to_string())
}

/// Checks a password against a PHC string, with the parameters the string names.
fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(h) => Argon2::default().verify_password(password.as_bytes(), &h).is_ok(),
        Err(_) => false,
    }
}

/// The throttling keys of an attempt with the failures each allows before waits begin: the
/// account from this address, the address (an office behind one NAT), and the account from
/// anywhere. The first two are cleared by a success, the address only loses this attempt.
fn throttle_keys(login: &str, client: &ClientInfo) -> Vec<(String, i64)> {
    let l = login.to_lowercase();
    vec![
        (format!("login:{l}|addr:{}", client.address), FREE_FAILURES),
        (format!("addr:{}", client.address), FREE_FAILURES_PER_ADDRESS),
        (format!("login:{l}"), FREE_FAILURES_PER_ACCOUNT),
    ]
}

/// An attempt as counted: the key, and when attempts were refused until before it.
pub(super) struct Counted {
    pub(super) key: String,
    pub(super) before: DateTime<Utc>,
}

/// Takes back attempts that turned out not to be failures: each key loses this attempt and
/// gets back the wait it had before it.
pub(super) fn take_back(tx: &mut kyso_store::Tx<'_>, counted: &[Counted]) -> kyso_store::StoreResult<()> {
    for c in counted {
        tx.uncount_login_attempt(&c.key)?;
        tx.set_login_not_before(&c.key, c.before)?;
    }
    Ok(())
}

impl Service {
    /// A hash to verify against when the login is unknown, so that answering takes as long as
    /// for a wrong password.
    fn dummy_hash(&self) -> &str {
        self.dummy_hash.get_or_init(|| hash_password("kyso: tài khoản không tồn tại", self.training).unwrap_or_default())
    }

    /// Logs in with a login, a password and, where the account has one, a second factor.
    /// Success opens a session (possibly pending a password change or TOTP enrolment); a
    /// failure counts towards the delay and says nothing about whether the login exists.
    pub fn login_with_password(&self, l: &PasswordLogin<'_>, now: DateTime<Utc>) -> ServiceResult<LoginOutcome> {
        let login: String = l.login.trim().chars().take(64).collect();
        let keys = throttle_keys(&login, l.client);
        let counted = self.count_attempt(&login, &keys, l.client, now)?;
        let creds = self.db.read(|tx| tx.credentials(&login))?;
        let password_ok = match creds.as_ref().and_then(|c| c.password_hash.as_deref()) {
            Some(phc) => verify_password(l.password, phc),
            None => {
                verify_password(l.password, self.dummy_hash());
                false
            }
        };
        let creds = match creds {
            Some(c) if password_ok && !c.disabled => c,
            _ => return Err(self.login_failed(&login, l.client, "password", now)),
        };
        let grants = self.db.read(|tx| tx.grants(creds.user_id))?;
        let roles: Vec<Role> = grants.iter().map(|g| g.role).collect();
        let mut method = AuthMethod::Password;
        let mut used_step = None;
        let mut used_recovery = None;
        if creds.totp_confirmed {
            let Some(code) = l.second_factor.map(str::trim).filter(|c| !c.is_empty()) else {
                // The first half of a two-step login: this attempt does not count, but the
                // wait earlier failures set stays (a code guesser gains nothing by it).
                self.db.write(|tx| -> ServiceResult<()> {
                    take_back(tx, &counted)?;
                    tx.append_audit(
                        NewEvent::new(&login, "auth.second_factor_required", format!("user:{}", creds.user_id))
                            .details(serde_json::json!({"client": l.client.describe()})),
                        now,
                    )?;
                    Ok(())
                })?;
                return Err(ServiceError::Auth(AuthFailure::SecondFactorRequired));
            };
            let secret = self.totp_secret(creds.user_id, creds.totp_sealed.as_deref().unwrap_or(""))?;
            if let Some(step) = matching_step(&secret, code, now)? {
                used_step = Some(step);
                method = AuthMethod::PasswordTotp;
            } else if let Some(rc) = normalise_recovery_code(code) {
                used_recovery = Some(secret_hash(&rc));
                method = AuthMethod::RecoveryCode;
            } else {
                return Err(self.login_failed(&login, l.client, "second_factor", now));
            }
        }
        let pending = if creds.password_temporary {
            Some(Pending::ChangePassword)
        } else if needs_second_factor(roles.iter().copied()) && !creds.totp_confirmed {
            Some(Pending::EnrolTotp)
        } else {
            None
        };
        let opened = self.db.write(|tx| -> ServiceResult<Option<NewSession>> {
            // A code is spent inside the transaction that opens the session: a replay or a
            // code used twice at once finds it spent.
            if let Some(step) = used_step {
                if !tx.use_totp_step(creds.user_id, step)? {
                    return Ok(None);
                }
            }
            if let Some(h) = &used_recovery {
                if !tx.use_recovery_code(creds.user_id, h, now)? {
                    return Ok(None);
                }
            }
            for (i, c) in counted.iter().enumerate() {
                if i == 1 {
                    // The address: only this attempt is taken back.
                    take_back(tx, std::slice::from_ref(c))?;
                } else {
                    tx.clear_login_failures(&c.key)?;
                }
            }
            let session = self.open_session(tx, creds.user_id, method, pending, l.client, now)?;
            tx.append_audit(
                NewEvent::new(&login, "auth.login", format!("user:{}", creds.user_id)).details(serde_json::json!({
                    "method": method.code(),
                    "pending": pending,
                    "client": l.client.describe(),
                })),
                now,
            )?;
            Ok(Some(session))
        })?;
        let Some(session) = opened else {
            return Err(self.login_failed(&login, l.client, "second_factor", now));
        };
        let principal = match pending {
            None => Some(self.session(&session.id, now)?.principal()?.clone()),
            Some(_) => None,
        };
        Ok(LoginOutcome { session, pending, principal })
    }

    /// Counts the attempt on every key before the password is checked, in one transaction
    /// (so parallel attempts cannot all pass one check), and refuses it, taking the count back,
    /// when a key is still waiting. Otherwise each key waits, should this attempt fail, as long
    /// as its count calls for.
    pub(super) fn count_attempt(
        &self,
        login: &str,
        keys: &[(String, i64)],
        client: &ClientInfo,
        now: DateTime<Utc>,
    ) -> ServiceResult<Vec<Counted>> {
        let outcome = self.db.write(|tx| -> ServiceResult<Result<Vec<Counted>, i64>> {
            tx.prune_login_failures(now - Duration::days(1))?;
            let mut counted = Vec::new();
            let mut wait = Duration::zero();
            for (key, free) in keys {
                let (n, before) = tx.count_login_attempt(key, now)?;
                wait = wait.max(before - now);
                counted.push((key.clone(), n, *free, before));
            }
            if wait > Duration::zero() {
                for (key, _, _, _) in &counted {
                    tx.uncount_login_attempt(key)?;
                }
                let retry_after_secs = wait.num_seconds().max(1);
                tx.append_audit(
                    NewEvent::new(login, "auth.throttled", format!("login:{login}"))
                        .denied()
                        .details(serde_json::json!({"client": client.describe(), "retry_after": retry_after_secs})),
                    now,
                )?;
                return Ok(Err(retry_after_secs));
            }
            let mut out = Vec::new();
            for (key, n, free, before) in counted {
                // Only a wait the count calls for is written: writing `now` itself would
                // throttle a parallel attempt whose clock was read a moment earlier.
                let delay = delay_after(n, free);
                if delay > Duration::zero() {
                    tx.set_login_not_before(&key, now + delay)?;
                }
                out.push(Counted { key, before });
            }
            Ok(Ok(out))
        })?;
        outcome.map_err(|retry_after_secs| ServiceError::Auth(AuthFailure::Throttled { retry_after_secs }))
    }

    /// Audits a failed attempt (already counted) and gives the error.
    fn login_failed(&self, login: &str, client: &ClientInfo, what: &str, now: DateTime<Utc>) -> ServiceError {
        let r = self.db.write(|tx| {
            tx.append_audit(
                NewEvent::new(login, "auth.login_failed", format!("login:{login}"))
                    .denied()
                    .details(serde_json::json!({"client": client.describe(), "factor": what})),
                now,
            )
        });
        match (r, what) {
            (Err(e), _) => e.into(),
            (Ok(_), "second_factor") => ServiceError::Auth(AuthFailure::BadSecondFactor),
            (Ok(_), _) => ServiceError::Auth(AuthFailure::BadCredentials),
        }
    }

    /// Changes the session's own password (the old one is asked again). A temporary password
    /// must be changed this way before the session can act.
    pub fn change_password(&self, s: &Session, old: &str, new: &str, now: DateTime<Utc>) -> ServiceResult<()> {
        // A single sign-on still waiting for its TOTP code has proved one factor only.
        if s.pending == Some(Pending::VerifyTotp) {
            return Err(ServiceError::Auth(AuthFailure::SecondFactorRequired));
        }
        let (creds, cid, roles) = self.db.read(|tx| -> ServiceResult<_> {
            let c = tx.credentials_of(s.user_id)?.ok_or(ServiceError::Domain(DomainError::not_found("tài khoản", s.user_id)))?;
            let cid = match c.person_id {
                Some(p) => tx.person(p)?.map(|p| p.citizen_id.to_string()),
                None => None,
            };
            let roles: Vec<Role> = tx.grants(s.user_id)?.iter().map(|g| g.role).collect();
            Ok((c, cid, roles))
        })?;
        if !creds.password_hash.as_deref().is_some_and(|h| verify_password(old, h)) {
            return Err(DomainError::invalid("old_password", "mật khẩu hiện tại không đúng").into());
        }
        check_password(new, &creds.login, cid.as_deref())?;
        if old == new {
            return Err(DomainError::invalid("password", "mật khẩu mới phải khác mật khẩu cũ").into());
        }
        let phc = hash_password(new, self.training)?;
        self.db.write(|tx| -> ServiceResult<()> {
            tx.set_password_hash(s.user_id, &phc, false, now)?;
            // Other sessions opened with the old password end; this one goes on.
            tx.end_other_sessions(s.user_id, &s.hash, now)?;
            if s.pending == Some(Pending::ChangePassword) {
                let next = (needs_second_factor(roles.iter().copied()) && !creds.totp_confirmed).then_some("totp");
                tx.clear_session_pending(&s.hash, next)?;
            }
            tx.append_audit(NewEvent::new(&s.login, "auth.password_changed", format!("user:{}", s.user_id)), now)?;
            Ok(())
        })
    }

    /// Sets a password for another account (IT staff, for an official who has none or forgot
    /// it). It is temporary: the official must change it at the first login. Only the local
    /// operator may set a lasting one (the demo's training accounts). An account that holds
    /// `provincial_manager` is reset only by a provincial manager or the local operator, so
    /// that IT staff cannot take the manager's account over.
    pub fn set_password(&self, actor: &Principal, login: &str, password: &str, temporary: bool, now: DateTime<Utc>) -> ServiceResult<()> {
        if !temporary && actor.method() != AuthMethod::LocalOperator {
            return Err(DomainError::forbidden("chỉ người vận hành trên máy chủ đặt được mật khẩu không phải đổi").into());
        }
        let phc_for = |cid: Option<&str>| -> ServiceResult<String> {
            check_password(password, login, cid)?;
            hash_password(password, self.training)
        };
        let (creds, cid) = self.db.read(|tx| -> ServiceResult<_> {
            let c = tx.credentials(login)?.ok_or_else(|| ServiceError::Domain(DomainError::not_found("tài khoản", login)))?;
            let cid = match c.person_id {
                Some(p) => tx.person(p)?.map(|p| p.citizen_id.to_string()),
                None => None,
            };
            Ok((c, cid))
        })?;
        let phc = phc_for(cid.as_deref())?;
        self.mutate(actor, "auth.password_set", &format!("user:{}", creds.user_id), now, |tx| {
            self.require_credential_admin(tx, actor, &creds)?;
            tx.set_password_hash(creds.user_id, &phc, temporary, now)?;
            // A reset password ends the sessions the old one opened, and the API tokens.
            tx.end_sessions_of(creds.user_id, now)?;
            tx.revoke_api_tokens_of(creds.user_id, now)?;
            tx.append_audit(
                NewEvent::new(&actor.login, "auth.password_set", format!("user:{}", creds.user_id))
                    .details(serde_json::json!({"login": login, "temporary": temporary})),
                now,
            )?;
            Ok(())
        })
    }

    /// Clears another account's TOTP and recovery codes (a lost phone): at the next login it
    /// enrols again. The same people as for a password reset may do it.
    pub fn reset_second_factor(&self, actor: &Principal, login: &str, now: DateTime<Utc>) -> ServiceResult<()> {
        let creds = self.db.read(|tx| tx.credentials(login))?.ok_or_else(|| DomainError::not_found("tài khoản", login))?;
        self.mutate(actor, "auth.second_factor_reset", &format!("user:{}", creds.user_id), now, |tx| {
            self.require_credential_admin(tx, actor, &creds)?;
            tx.clear_totp(creds.user_id)?;
            tx.replace_recovery_codes(creds.user_id, &[])?;
            tx.end_sessions_of(creds.user_id, now)?;
            tx.revoke_api_tokens_of(creds.user_id, now)?;
            tx.append_audit(
                NewEvent::new(&actor.login, "auth.second_factor_reset", format!("user:{}", creds.user_id))
                    .details(serde_json::json!({"login": login})),
                now,
            )?;
            Ok(())
        })
    }

    /// Who may reset another account's credentials: `ManageUsers` over the account's agency
    /// (the root for an account without a person), never one's own, and for an account that
    /// holds `provincial_manager` only a provincial manager or the local operator.
    fn require_credential_admin(&self, tx: &mut kyso_store::Tx<'_>, actor: &Principal, c: &kyso_store::Credentials) -> ServiceResult<()> {
        if actor.user_id == c.user_id && actor.method() != AuthMethod::LocalOperator {
            return Err(DomainError::forbidden(
                "không tự đặt lại mật khẩu hay yếu tố xác thực của chính mình; hãy dùng chức năng đổi mật khẩu",
            )
            .into());
        }
        let scope = match c.person_id.map(|p| tx.person(p)).transpose()?.flatten() {
            Some(p) => crate::agency_by_id(tx, p.agency_id)?,
            None => tx.root_agency()?.ok_or(ServiceError::NotInitialised)?,
        };
        if crate::guard_manager_account(tx, actor, c.user_id, &scope)? {
            return Ok(());
        }
        crate::require(actor, kyso_core::authz::Permission::ManageUsers, &scope)
    }
}
