//! Who is acting. A [`Principal`] is made only in this module: by a login (password and
//! second factor, the official's certificate, OpenID Connect), by checking a session or an API
//! token, by the CLI's local-operator path, or as a named system job. Every use case takes one,
//! so a handler cannot act for a login string it was merely given.

mod certificate;
mod oidc;
mod password;
mod session;
mod tokens;
mod totp;

pub use certificate::{challenge_first_line, is_web_origin, CertificateLogin, CertificateProof, LoginChallenge, CHALLENGE_MINUTES};
pub(crate) use oidc::Oidc;
pub use oidc::{OidcConfig, OidcHttp, OidcStart};
pub use password::PasswordLogin;
pub(crate) use session::SessionCache;
pub use session::{LoginOutcome, NewSession, Pending, Session};
pub use tokens::{ApiTokenView, NewApiToken};

pub use totp::{totp_code, TotpEnrolment};

use crate::{load_actor, Service, ServiceResult};
use kyso_core::authz::{Actor, AuthMethod};

/// An authenticated account: its grants (narrowed to an API token's roles), and how it got in.
/// The fields are private and there is no public constructor outside this module; a
/// compile-fail test (`tests/compile_fail`) keeps it so.
#[derive(Debug, Clone)]
pub struct Principal {
    actor: Actor,
    method: AuthMethod,
    /// The session it came from (the SHA-256 of its id), for logout.
    session: Option<String>,
    /// The API token it came from.
    token: Option<i64>,
}

impl Principal {
    fn new(actor: Actor, method: AuthMethod) -> Principal {
        Principal { actor, method, session: None, token: None }
    }

    /// The CA's services (periodic CRLs, OCSP refresh, time-stamps served over HTTP, audit
    /// checkpoints): a named system principal that holds only `OperateCaServices` and
    /// `AnchorAudit`, with no account behind it.
    pub fn ca_service() -> Principal {
        Principal::new(Actor::ca_service(), AuthMethod::System)
    }

    pub fn method(&self) -> AuthMethod {
        self.method
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// The API token this principal came from, if any.
    pub fn api_token(&self) -> Option<i64> {
        self.token
    }
}

impl std::ops::Deref for Principal {
    type Target = Actor;
    fn deref(&self) -> &Actor {
        &self.actor
    }
}

/// Where a login or a request comes from, as the server saw it (for throttling and audit).
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    /// The client's address (the proxy's forwarded one only from a trusted proxy).
    pub address: String,
    pub user_agent: Option<String>,
}

impl ClientInfo {
    fn describe(&self) -> String {
        let ua: String = self.user_agent.as_deref().unwrap_or("").chars().take(120).collect();
        format!("{} {}", self.address, ua).trim().to_string()
    }
}

/// Why a login or a session check did not let someone in. Messages are the same for an
/// unknown login and a wrong password, so that nothing tells whether a login exists.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    #[error("tên đăng nhập hoặc mật khẩu không đúng")]
    BadCredentials,
    #[error("tài khoản này cần mã xác thực thứ hai (TOTP hoặc mã khôi phục)")]
    SecondFactorRequired,
    #[error("mã xác thực thứ hai không đúng hoặc đã được dùng")]
    BadSecondFactor,
    #[error("đăng nhập sai nhiều lần; hãy thử lại sau {retry_after_secs} giây")]
    Throttled { retry_after_secs: i64 },
    #[error("phải đổi mật khẩu tạm trước khi làm việc")]
    PasswordChangeRequired,
    #[error("vai trò của tài khoản này cần xác thực hai yếu tố: hãy đăng ký TOTP trước khi làm việc")]
    TotpEnrolmentRequired,
    #[error("phiên làm việc đã hết hạn hoặc đã đăng xuất; hãy đăng nhập lại")]
    SessionEnded,
    #[error("mã truy cập API không hợp lệ, đã hết hạn hoặc đã bị thu hồi")]
    BadToken,
    /// A certificate login refused: what is wrong with the certificate or its proof.
    #[error("không đăng nhập được bằng chứng thư số: {0}")]
    BadCertificate(String),
    /// A single sign-on refused: what went wrong with the provider's answer or the account.
    #[error("không đăng nhập một lần được: {0}")]
    Oidc(String),
}

impl AuthFailure {
    pub fn code(&self) -> &'static str {
        match self {
            AuthFailure::BadCredentials => "bad_credentials",
            AuthFailure::SecondFactorRequired => "second_factor_required",
            AuthFailure::BadSecondFactor => "bad_second_factor",
            AuthFailure::Throttled { .. } => "throttled",
            AuthFailure::PasswordChangeRequired => "password_change_required",
            AuthFailure::TotpEnrolmentRequired => "totp_enrolment_required",
            AuthFailure::SessionEnded => "session_ended",
            AuthFailure::BadToken => "bad_token",
            AuthFailure::BadCertificate(_) => "bad_certificate",
            AuthFailure::Oidc(_) => "oidc_failed",
        }
    }
}

impl Service {
    /// The operator of the server's own data directory, acting as `login` (`kyso --as`).
    /// Whoever can open the database file could change it anyway, so the CLI is trusted;
    /// this is the one door that takes a bare login, and only the binary's CLI and the tests
    /// call it (`crates/kyso/tests/architecture.rs`).
    pub fn local_operator(&self, login: &str) -> ServiceResult<Principal> {
        let actor = self.db.read(|tx| load_actor(tx, login))?;
        Ok(Principal::new(actor, AuthMethod::LocalOperator))
    }
}

/// SHA-256 in hex, for secrets that are random enough not to need a slow hash (session ids,
/// API tokens, recovery codes of 50 bits and more).
fn secret_hash(secret: &str) -> String {
    crate::hex_sha256(secret.as_bytes())
}

/// A random secret of `n` bytes, base64url without padding.
fn random_secret(n: usize) -> String {
    use base64::Engine;
    let mut b = vec![0u8; n];
    kyso_token::random_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// What `/api/v1/me` shows: the account, its person, its roles with their scopes, and how it
/// authenticated. The person's own data is theirs to see in full.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MeView {
    pub login: String,
    pub person: Option<MePerson>,
    pub roles: Vec<MeRole>,
    pub method: AuthMethod,
    pub method_label: &'static str,
    pub api_token: Option<i64>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct MePerson {
    pub full_name: String,
    pub citizen_id: String,
    pub position: String,
    pub agency_code: String,
    pub agency_name: String,
    pub email: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct MeRole {
    pub role: kyso_core::authz::Role,
    pub label: &'static str,
    pub agency_code: String,
    pub agency_name: String,
}

impl Service {
    pub fn me(&self, p: &Principal, now: chrono::DateTime<chrono::Utc>) -> ServiceResult<MeView> {
        let key = (p.user_id.0, p.method(), p.token);
        if let Some(v) = self.session_cache.me(&key, self.db.write_count(), now) {
            return Ok(v);
        }
        let writes = self.db.write_count();
        let v = self.me_uncached(p)?;
        self.session_cache.keep_me(key, writes, now, v.clone());
        Ok(v)
    }

    fn me_uncached(&self, p: &Principal) -> ServiceResult<MeView> {
        self.db.read(|tx| {
            let person = match p.person_id {
                Some(id) => match tx.person(id)? {
                    Some(person) => {
                        let a = crate::agency_by_id(tx, person.agency_id)?;
                        Some(MePerson {
                            full_name: person.full_name.to_string(),
                            citizen_id: person.citizen_id.to_string(),
                            position: person.position,
                            agency_code: a.code.to_string(),
                            agency_name: a.name,
                            email: person.email.to_string(),
                        })
                    }
                    None => None,
                },
                None => None,
            };
            let mut roles = Vec::new();
            for g in &p.grants {
                let (agency_code, agency_name) = match tx.agency(g.agency_id)? {
                    Some(a) => (a.code.to_string(), a.name),
                    None => (String::new(), "toàn hệ thống".to_string()),
                };
                roles.push(MeRole { role: g.role, label: g.role.label_vi(), agency_code, agency_name });
            }
            Ok(MeView {
                login: p.login.clone(),
                person,
                roles,
                method: p.method(),
                method_label: p.method().label_vi(),
                api_token: p.token,
            })
        })
    }
}
