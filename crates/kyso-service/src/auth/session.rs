//! Sessions in the database, so that several `kyso serve` processes on one PostgreSQL share
//! them. The cookie holds only a random id; the database only its SHA-256. A session has an
//! idle and an absolute timeout, and may be waiting for its account to change a temporary
//! password or to enrol TOTP before it can act.

use super::*;
use crate::{DomainError, ServiceError};
use chrono::{DateTime, Duration, Utc};
use kyso_core::audit::NewEvent;
use kyso_core::identity::{needs_second_factor, SessionPolicy};
use kyso_core::registry::{PersonId, UserId};

/// What a session must do before it may act.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Pending {
    /// The password is temporary (set by IT staff): change it.
    ChangePassword,
    /// The account's roles need a second factor and it has none: enrol TOTP.
    EnrolTotp,
    /// A single sign-on without a second factor at the provider, for roles that need one:
    /// give the account's TOTP (or a recovery code).
    VerifyTotp,
}

impl Pending {
    fn code(self) -> &'static str {
        match self {
            Pending::ChangePassword => "password",
            Pending::EnrolTotp => "totp",
            Pending::VerifyTotp => "totp_code",
        }
    }
    fn parse(s: &str) -> Option<Pending> {
        match s {
            "password" => Some(Pending::ChangePassword),
            "totp" => Some(Pending::EnrolTotp),
            "totp_code" => Some(Pending::VerifyTotp),
            _ => None,
        }
    }
    pub fn failure(self) -> AuthFailure {
        match self {
            Pending::ChangePassword => AuthFailure::PasswordChangeRequired,
            Pending::EnrolTotp => AuthFailure::TotpEnrolmentRequired,
            Pending::VerifyTotp => AuthFailure::SecondFactorRequired,
        }
    }
}

/// A session just made: the id goes into the cookie, the CSRF token into HTML forms.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub id: String,
    pub csrf: String,
    pub expires_at: DateTime<Utc>,
}

/// The result of a login: a new session, and the principal when it may act at once.
#[derive(Debug, Clone)]
pub struct LoginOutcome {
    pub session: NewSession,
    pub pending: Option<Pending>,
    pub principal: Option<Principal>,
}

/// A live session, as a request presents it.
#[derive(Debug, Clone)]
pub struct Session {
    pub(super) hash: String,
    pub user_id: UserId,
    pub login: String,
    pub person_id: Option<PersonId>,
    pub pending: Option<Pending>,
    pub csrf: String,
    pub method: AuthMethod,
    principal: Option<Principal>,
}

impl Session {
    /// The principal, once nothing is pending.
    pub fn principal(&self) -> ServiceResult<&Principal> {
        match (&self.principal, self.pending) {
            (Some(p), None) => Ok(p),
            (_, Some(pending)) => Err(ServiceError::Auth(pending.failure())),
            (None, None) => Err(ServiceError::Auth(AuthFailure::SessionEnded)),
        }
    }
}

/// Sessions are touched in the database at most this often (the idle timeout is coarse by
/// this much), so that reading a page does not write a row.
const TOUCH_EVERY: i64 = 60;

impl Service {
    pub fn session_policy(&self) -> SessionPolicy {
        SessionPolicy::default()
    }

    /// Opens a session for an account that has just proved who it is (inside the caller's
    /// transaction).
    pub(super) fn open_session(
        &self,
        tx: &mut kyso_store::Tx<'_>,
        user: UserId,
        method: AuthMethod,
        pending: Option<Pending>,
        client: &ClientInfo,
        now: DateTime<Utc>,
    ) -> ServiceResult<NewSession> {
        let id = random_secret(32);
        let csrf = random_secret(24);
        let expires_at = now + self.session_policy().absolute;
        tx.insert_session(&secret_hash(&id), user, method.code(), pending.map(Pending::code), &csrf, &client.describe(), now, expires_at)?;
        // Ended and expired sessions a day old open nothing; forget them.
        tx.prune_sessions(now - Duration::days(1))?;
        Ok(NewSession { id, csrf, expires_at })
    }

    /// The session a cookie names, if it is live: not ended, not idle too long, not past its
    /// absolute end, and its account not disabled.
    pub fn session(&self, id: &str, now: DateTime<Utc>) -> ServiceResult<Session> {
        let ended = || ServiceError::Auth(AuthFailure::SessionEnded);
        if id.is_empty() || id.len() > 128 {
            return Err(ended());
        }
        let hash = secret_hash(id);
        let policy = self.session_policy();
        let found = self.db.read(|tx| -> ServiceResult<_> {
            let Some(row) = tx.session(&hash)? else { return Ok(None) };
            let Some(c) = tx.credentials_of(row.user_id)? else { return Ok(None) };
            let grants = tx.grants(row.user_id)?;
            Ok(Some((row, c, grants)))
        })?;
        let Some((row, c, grants)) = found else { return Err(ended()) };
        if row.ended || c.disabled || now >= row.expires_at || now - row.last_seen >= policy.idle {
            return Err(ended());
        }
        if (now - row.last_seen).num_seconds() >= TOUCH_EVERY {
            self.db.write(|tx| tx.touch_session(&hash, now))?;
        }
        let method = AuthMethod::parse(&row.method).ok_or_else(ended)?;
        let mut pending = row.pending.as_deref().and_then(Pending::parse);
        // A role that needs a second factor, granted after a one-factor login, takes effect
        // only after enrolment or a login with that factor.
        if pending.is_none() && needs_second_factor(grants.iter().map(|g| g.role)) && !method.is_two_factor() {
            if c.totp_confirmed {
                return Err(ended());
            }
            pending = Some(Pending::EnrolTotp);
        }
        let actor = kyso_core::authz::Actor { user_id: c.user_id, login: c.login.clone(), person_id: c.person_id, grants };
        let mut principal = Principal::new(actor, method);
        principal.session = Some(hash.clone());
        Ok(Session {
            hash,
            user_id: c.user_id,
            login: c.login,
            person_id: c.person_id,
            pending,
            csrf: row.csrf,
            method,
            principal: Some(principal),
        })
    }

    /// Ends this session (logout).
    pub fn logout(&self, s: &Session, now: DateTime<Utc>) -> ServiceResult<()> {
        self.db.write(|tx| -> ServiceResult<()> {
            tx.end_session(&s.hash, now)?;
            tx.append_audit(NewEvent::new(&s.login, "auth.logout", format!("user:{}", s.user_id)), now)?;
            Ok(())
        })
    }

    /// Ends every session of the principal's account ("đăng xuất khỏi mọi nơi"); the number
    /// ended. API tokens stay until revoked or expired.
    pub fn logout_everywhere(&self, p: &Principal, now: DateTime<Utc>) -> ServiceResult<u64> {
        if p.method() == AuthMethod::ApiToken || p.method() == AuthMethod::System {
            return Err(DomainError::forbidden("chỉ người dùng đã đăng nhập mới đăng xuất khỏi mọi nơi").into());
        }
        self.db.write(|tx| -> ServiceResult<u64> {
            let n = tx.end_sessions_of(p.user_id, now)?;
            tx.append_audit(
                NewEvent::new(&p.login, "auth.logout_everywhere", format!("user:{}", p.user_id))
                    .details(serde_json::json!({"sessions": n})),
                now,
            )?;
            Ok(n)
        })
    }
}
