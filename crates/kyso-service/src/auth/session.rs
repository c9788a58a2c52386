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

/// Sessions and `me` answers read lately, kept for [`SessionCache::ttl`] (1 s by default) and
/// only while this process has written nothing since: a logout, a disabled account or a
/// changed grant here is seen at once, one made by another `kyso serve` on the same database
/// within the TTL. A page of the web UI asks several times in a burst; this spares the
/// database those repeats.
pub(crate) struct SessionCache {
    ttl: std::sync::RwLock<Duration>,
    sessions: std::sync::Mutex<std::collections::HashMap<String, CachedSession>>,
    me: std::sync::Mutex<std::collections::HashMap<MeKey, CachedMe>>,
}

type MeKey = (i64, AuthMethod, Option<i64>);
/// A `me` answer: when it was read (the service's clock), the writes done then, the answer.
type CachedMe = (DateTime<Utc>, u64, MeView);

#[derive(Clone)]
struct CachedSession {
    /// The time of the request that read it (the service's clock, not the machine's).
    read_at: DateTime<Utc>,
    writes: u64,
    expires_at: DateTime<Utc>,
    session: Session,
}

/// Entries kept at most; past it the cache starts again (a flood of sessions cannot grow it).
const CACHE_ENTRIES: usize = 10_000;

impl Default for SessionCache {
    fn default() -> Self {
        SessionCache { ttl: std::sync::RwLock::new(Duration::seconds(1)), sessions: Default::default(), me: Default::default() }
    }
}

impl SessionCache {
    fn ttl(&self) -> Duration {
        *self.ttl.read().unwrap_or_else(|p| p.into_inner())
    }
    /// Read at `read_at` with `writes` done; still good at `now` with `now_writes` done.
    fn fresh(&self, read_at: DateTime<Utc>, writes: u64, now: DateTime<Utc>, now_writes: u64) -> bool {
        writes == now_writes && now >= read_at && now - read_at < self.ttl()
    }
    fn session(&self, hash: &str, writes: u64, now: DateTime<Utc>) -> Option<Session> {
        let all = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        let c = all.get(hash)?;
        (self.fresh(c.read_at, c.writes, now, writes) && now < c.expires_at).then(|| c.session.clone())
    }
    fn keep_session(&self, hash: String, writes: u64, read_at: DateTime<Utc>, expires_at: DateTime<Utc>, session: Session) {
        if self.ttl() <= Duration::zero() {
            return;
        }
        let mut all = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        if all.len() >= CACHE_ENTRIES {
            all.clear();
        }
        all.insert(hash, CachedSession { read_at, writes, expires_at, session });
    }
    pub(crate) fn me(&self, key: &MeKey, writes: u64, now: DateTime<Utc>) -> Option<MeView> {
        let all = self.me.lock().unwrap_or_else(|p| p.into_inner());
        let (at, w, v) = all.get(key)?;
        self.fresh(*at, *w, now, writes).then(|| v.clone())
    }
    pub(crate) fn keep_me(&self, key: MeKey, writes: u64, now: DateTime<Utc>, v: MeView) {
        if self.ttl() <= Duration::zero() {
            return;
        }
        let mut all = self.me.lock().unwrap_or_else(|p| p.into_inner());
        if all.len() >= CACHE_ENTRIES {
            all.clear();
        }
        all.insert(key, (now, writes, v));
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
        let writes = self.db.write_count();
        if let Some(s) = self.session_cache.session(&hash, writes, now) {
            return Ok(s);
        }
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
        let session = Session {
            hash: hash.clone(),
            user_id: c.user_id,
            login: c.login,
            person_id: c.person_id,
            pending,
            csrf: row.csrf,
            method,
            principal: Some(principal),
        };
        // The count read before the database: a write since then makes the entry stale.
        self.session_cache.keep_session(hash, writes, now, row.expires_at, session.clone());
        Ok(session)
    }

    /// How long a checked session (and a `me` answer) is reused without the database; zero
    /// turns the cache off (the benchmark compares both).
    pub fn set_session_cache(&self, ttl: Duration) {
        *self.session_cache.ttl.write().unwrap_or_else(|p| p.into_inner()) = ttl;
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
