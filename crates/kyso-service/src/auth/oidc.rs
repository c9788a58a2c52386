//! Single sign-on through the province's OpenID Connect provider: the authorization code flow
//! with PKCE (RFC 7636), on the `openidconnect` crate. The ID token's claims are mapped to an
//! existing account by citizen ID, else by a verified e-mail; an unknown subject gets no
//! account. For the roles that need a second factor, kyso takes the provider's word (`amr`,
//! `acr`) that one was used, and otherwise asks for the account's TOTP code.

use super::certificate::{too_many_challenges, LIVE_CHALLENGES};
use super::password::Counted;
use super::session::{LoginOutcome, Pending, Session};
use super::totp::{matching_step, normalise_recovery_code};
use super::{random_secret, secret_hash, AuthFailure, ClientInfo};
use crate::{DomainError, Service, ServiceError, ServiceResult};
use chrono::{DateTime, Duration, Utc};
use kyso_core::audit::NewEvent;
use kyso_core::authz::{AuthMethod, Role};
use kyso_core::identity::{needs_second_factor, FREE_FAILURES, FREE_FAILURES_PER_ACCOUNT, FREE_FAILURES_PER_ADDRESS};
use kyso_core::registry::UserId;
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreErrorResponseType, CoreGenderClaim, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreProviderMetadata, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AccessTokenHash, AdditionalClaims, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EmptyExtraTokenFields, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, IdTokenFields, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl,
    Scope, StandardErrorResponse, StandardTokenResponse,
};
use std::sync::{Arc, Mutex};

/// How long the browser may take at the provider.
const FLOW_MINUTES: i64 = 10;
/// The provider's metadata and keys are fetched again after this long.
const METADATA_MINUTES: i64 = 60;

/// An HTTP exchange with the provider, given by the binary (the service knows no HTTP
/// client). It must not follow redirects.
pub type OidcHttp = Arc<dyn Fn(http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>, String> + Send + Sync>;

/// The provider a deployment trusts for single sign-on.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<String>,
    /// The ID-token claim that carries the citizen ID (số định danh cá nhân).
    pub citizen_id_claim: String,
    /// `amr` values (RFC 8176) that by themselves show a second factor was used (`mfa`);
    /// besides them, methods of two different kinds (something known, held, or one is) do.
    pub mfa_amr: Vec<String>,
    /// `acr` values that show a second factor was used.
    pub mfa_acr: Vec<String>,
}

impl OidcConfig {
    /// A provider with the usual claim name and the RFC 8176 methods that are a second factor.
    pub fn new(issuer: &str, client_id: &str, client_secret: Option<String>) -> OidcConfig {
        OidcConfig {
            issuer: issuer.trim_end_matches('/').to_string(),
            client_id: client_id.to_string(),
            client_secret,
            citizen_id_claim: "citizen_id".into(),
            mfa_amr: vec!["mfa".into()],
            mfa_acr: vec![],
        }
    }
}

/// The deployment's provider and what was learnt of it.
pub(crate) struct Oidc {
    config: OidcConfig,
    http: OidcHttp,
    metadata: Mutex<Option<(DateTime<Utc>, CoreProviderMetadata)>>,
}

/// The ID token's claims besides the standard ones (the citizen ID, under a configured name).
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
struct ExtraClaims {
    #[serde(flatten)]
    other: serde_json::Map<String, serde_json::Value>,
}
impl AdditionalClaims for ExtraClaims {}

type TokenResponse = StandardTokenResponse<
    IdTokenFields<ExtraClaims, EmptyExtraTokenFields, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm>,
    CoreTokenType,
>;
type Client = openidconnect::Client<
    ExtraClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    TokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The error an HTTP exchange gives the `openidconnect` crate.
#[derive(Debug)]
struct HttpError(String);
impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for HttpError {}

/// What the flow keeps between the start and the callback (kept as a login challenge, by the
/// hash of its `state`).
#[derive(serde::Serialize, serde::Deserialize)]
struct Flow {
    verifier: String,
    nonce: String,
    redirect_uri: String,
    /// The SHA-256 of the secret the starting browser keeps in a cookie: a callback from
    /// another browser (a victim sent an attacker's link) is refused.
    browser: String,
}

/// A single sign-on started: where to send the browser, and the secret it must keep (in a
/// cookie) and show again at the callback.
#[derive(Debug, Clone)]
pub struct OidcStart {
    pub url: String,
    pub browser_secret: String,
}

/// How many different kinds of factor (RFC 8176 methods: something one knows, holds, or is)
/// the provider's `amr` names. One kind alone, however strong, is one factor.
fn factor_kinds(amr: &[String]) -> usize {
    let kind = |m: &str| match m {
        "pwd" | "pin" | "kba" => Some(0),
        "otp" | "hwk" | "swk" | "sc" | "sms" | "tel" | "pop" => Some(1),
        "fpt" | "face" | "iris" | "retina" | "vbm" | "bio" | "geo" => Some(2),
        _ => None,
    };
    let mut seen = [false; 3];
    for m in amr {
        if let Some(k) = kind(m) {
            seen[k] = true;
        }
    }
    seen.iter().filter(|s| **s).count()
}

/// The origin under which flows are kept in `login_challenges`.
const FLOW_ORIGIN: &str = "oidc";

fn failed(m: impl Into<String>) -> ServiceError {
    ServiceError::Auth(AuthFailure::Oidc(m.into()))
}

impl Service {
    /// Turns single sign-on on with this provider; `http` talks to it.
    pub fn set_oidc(&mut self, config: OidcConfig, http: OidcHttp) -> ServiceResult<()> {
        let loopback = ["http://127.0.0.1:", "http://localhost:", "http://[::1]:"].iter().any(|p| config.issuer.starts_with(p));
        if !config.issuer.starts_with("https://") && !loopback {
            return Err(DomainError::invalid(
                "oidc_issuer",
                "nhà cung cấp định danh phải dùng https:// (http:// chỉ cho máy chủ thử nghiệm trên chính máy này)",
            )
            .into());
        }
        self.oidc = Some(Arc::new(Oidc { config, http, metadata: Mutex::new(None) }));
        Ok(())
    }

    /// Whether single sign-on is configured.
    pub fn oidc_enabled(&self) -> bool {
        self.oidc.is_some()
    }

    fn oidc(&self) -> ServiceResult<&Oidc> {
        self.oidc.as_deref().ok_or_else(|| failed("hệ thống chưa cấu hình đăng nhập một lần (OpenID Connect)"))
    }

    fn oidc_client(&self, o: &Oidc, redirect_uri: &str, now: DateTime<Utc>) -> ServiceResult<Client> {
        let caller = |r: http::Request<Vec<u8>>| (o.http)(r).map_err(HttpError);
        let metadata = {
            let mut cached = o.metadata.lock().unwrap_or_else(|p| p.into_inner());
            match cached.as_ref() {
                Some((at, m)) if now - *at < Duration::minutes(METADATA_MINUTES) && now >= *at => m.clone(),
                _ => {
                    let issuer =
                        IssuerUrl::new(o.config.issuer.clone()).map_err(|e| failed(format!("địa chỉ nhà cung cấp không hợp lệ: {e}")))?;
                    let m = CoreProviderMetadata::discover(&issuer, &caller)
                        .map_err(|e| failed(format!("không đọc được cấu hình của nhà cung cấp {}: {e}", o.config.issuer)))?;
                    *cached = Some((now, m.clone()));
                    m
                }
            }
        };
        let redirect = RedirectUrl::new(redirect_uri.to_string()).map_err(|e| failed(format!("địa chỉ quay về không hợp lệ: {e}")))?;
        Ok(Client::from_provider_metadata(
            metadata,
            ClientId::new(o.config.client_id.clone()),
            o.config.client_secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(redirect))
    }

    /// Starts a single sign-on: the provider's URL to send the browser to. `redirect_uri` is
    /// this server's callback, as the browser reaches it.
    pub fn oidc_start(&self, redirect_uri: &str, client_info: &ClientInfo, now: DateTime<Utc>) -> ServiceResult<OidcStart> {
        let o = self.oidc()?;
        let client = self.oidc_client(o, redirect_uri, now)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge)
            .url();
        let browser_secret = random_secret(24);
        let flow = Flow {
            verifier: verifier.secret().clone(),
            nonce: nonce.secret().clone(),
            redirect_uri: redirect_uri.to_string(),
            browser: secret_hash(&browser_secret),
        };
        let text = serde_json::to_string(&flow).map_err(|e| failed(e.to_string()))?;
        let expires = now + Duration::minutes(FLOW_MINUTES);
        let kept = self.db.write(|tx| {
            tx.insert_login_challenge(&secret_hash(state.secret()), &text, FLOW_ORIGIN, &client_info.address, now, expires, LIVE_CHALLENGES)
        })?;
        if !kept {
            return Err(too_many_challenges());
        }
        Ok(OidcStart { url: url.to_string(), browser_secret })
    }

    /// Finishes a single sign-on with what the provider sent back: exchanges the code (with
    /// the PKCE verifier), checks the ID token (signature, issuer, audience, expiry, nonce,
    /// access-token hash), and opens a session for the account its claims name.
    pub fn oidc_callback(
        &self,
        state: &str,
        code: &str,
        browser_secret: &str,
        client: &ClientInfo,
        now: DateTime<Utc>,
    ) -> ServiceResult<LoginOutcome> {
        let counted =
            self.count_attempt("(đăng nhập một lần)", &[(format!("addr:{}", client.address), FREE_FAILURES_PER_ADDRESS)], client, now)?;
        match self.oidc_account(state, code, browser_secret, now) {
            Ok((user, two_factor_at_provider, subject)) => {
                self.open_oidc_session(user, two_factor_at_provider, &subject, &counted, client, now)
            }
            Err(e) => {
                self.db.write(|tx| {
                    tx.append_audit(
                        NewEvent::new("(đăng nhập một lần)", "auth.login_failed", "oidc".to_string())
                            .denied()
                            .details(serde_json::json!({"client": client.describe(), "factor": "oidc", "why": e.to_string()})),
                        now,
                    )
                })?;
                Err(e)
            }
        }
    }

    /// The account the provider's answer names, whether the provider says a second factor
    /// was used, and the subject (for the audit).
    fn oidc_account(&self, state: &str, code: &str, browser_secret: &str, now: DateTime<Utc>) -> ServiceResult<(UserId, bool, String)> {
        let o = self.oidc()?;
        let taken = self.db.write(|tx| tx.take_login_challenge(&secret_hash(state), now))?;
        let flow: Flow = match taken {
            Some((text, origin)) if origin == FLOW_ORIGIN => serde_json::from_str(&text).map_err(|e| failed(e.to_string()))?,
            _ => return Err(failed("phiên đăng nhập một lần không đúng, đã dùng hoặc đã hết hạn; hãy đăng nhập lại từ đầu")),
        };
        if !crate::constant_time_eq(secret_hash(browser_secret).as_bytes(), flow.browser.as_bytes()) {
            return Err(failed("lượt đăng nhập một lần này không bắt đầu từ trình duyệt này; hãy đăng nhập lại từ đầu"));
        }
        let client = self.oidc_client(o, &flow.redirect_uri, now)?;
        let caller = |r: http::Request<Vec<u8>>| (o.http)(r).map_err(HttpError);
        let token = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| failed(format!("nhà cung cấp không có điểm đổi mã: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(flow.verifier))
            .request(&caller)
            .map_err(|e| failed(format!("nhà cung cấp không đổi được mã đăng nhập: {e}")))?;
        let id_token = token.extra_fields().id_token().ok_or_else(|| failed("nhà cung cấp không trả về ID token"))?;
        let verifier = client.id_token_verifier();
        let claims = id_token.claims(&verifier, &Nonce::new(flow.nonce)).map_err(|e| failed(format!("ID token không hợp lệ: {e}")))?;
        if let Some(expected) = claims.access_token_hash() {
            let alg = id_token.signing_alg().map_err(|e| failed(e.to_string()))?;
            let key = id_token.signing_key(&verifier).map_err(|e| failed(e.to_string()))?;
            let actual = AccessTokenHash::from_token(token.access_token(), alg, key).map_err(|e| failed(e.to_string()))?;
            if actual != *expected {
                return Err(failed("ID token không khớp với mã truy cập (at_hash)"));
            }
        }
        let subject = claims.subject().to_string();
        let amr: Vec<String> = claims.auth_method_refs().map(|v| v.iter().map(|a| a.to_string()).collect()).unwrap_or_default();
        let acr = claims.auth_context_ref().map(|a| a.to_string());
        let two_factor = amr.iter().any(|a| o.config.mfa_amr.contains(a))
            || factor_kinds(&amr) >= 2
            || acr.as_ref().is_some_and(|a| o.config.mfa_acr.contains(a));
        let citizen_id = claims.additional_claims().other.get(&o.config.citizen_id_claim).and_then(|v| v.as_str()).map(str::to_string);
        // Only an address the provider says it verified names a person.
        let email = claims.email().filter(|_| claims.email_verified() == Some(true)).map(|e| e.to_string());
        let user = self.oidc_user(citizen_id.as_deref(), email.as_deref(), &subject)?;
        Ok((user, two_factor, subject))
    }

    /// The one active account of the person the claims name (citizen ID first, then e-mail).
    fn oidc_user(&self, citizen_id: Option<&str>, email: Option<&str>, subject: &str) -> ServiceResult<UserId> {
        let accounts = self.db.read(|tx| -> ServiceResult<Vec<UserId>> {
            let person = match (citizen_id, email) {
                // A citizen ID names the person, or nobody: never fall back to an e-mail that
                // could belong to someone else.
                (Some(cid), _) => tx.person_by_citizen_id(cid.trim())?,
                (None, Some(e)) => {
                    let mut found = tx.persons_by_email(e.trim())?;
                    if found.len() == 1 {
                        found.pop()
                    } else {
                        None
                    }
                }
                _ => None,
            };
            let Some(p) = person else { return Ok(vec![]) };
            let mut out = Vec::new();
            for (id, _) in tx.users_of_person(p.id)? {
                if !tx.user_disabled(id)? {
                    out.push(id);
                }
            }
            Ok(out)
        })?;
        match accounts.as_slice() {
            [one] => Ok(*one),
            [] => Err(failed(format!(
                "người dùng '{subject}' của nhà cung cấp không ứng với tài khoản nào đang hoạt động (đối chiếu theo số định danh cá nhân, rồi thư điện tử); hãy đề nghị cán bộ quản trị tạo tài khoản"
            ))),
            _ => Err(failed("người dùng này có nhiều tài khoản; hãy đăng nhập bằng tên đăng nhập và mật khẩu")),
        }
    }

    fn open_oidc_session(
        &self,
        user: UserId,
        two_factor_at_provider: bool,
        subject: &str,
        counted: &[Counted],
        client: &ClientInfo,
        now: DateTime<Utc>,
    ) -> ServiceResult<LoginOutcome> {
        let (login, roles, totp_confirmed) = self.db.read(|tx| -> ServiceResult<_> {
            let creds = tx.credentials_of(user)?.ok_or_else(|| failed("tài khoản không còn"))?;
            let roles: Vec<Role> = tx.grants(user)?.iter().map(|g| g.role).collect();
            Ok((creds.login, roles, creds.totp_confirmed))
        })?;
        let (method, pending) = if two_factor_at_provider {
            (AuthMethod::OidcMfa, None)
        } else if !needs_second_factor(roles.iter().copied()) {
            (AuthMethod::Oidc, None)
        } else if totp_confirmed {
            (AuthMethod::Oidc, Some(Pending::VerifyTotp))
        } else {
            (AuthMethod::Oidc, Some(Pending::EnrolTotp))
        };
        let session = self.db.write(|tx| -> ServiceResult<_> {
            super::password::take_back(tx, counted)?;
            let session = self.open_session(tx, user, method, pending, client, now)?;
            tx.append_audit(
                NewEvent::new(&login, "auth.login", format!("user:{}", user.0)).details(serde_json::json!({
                    "method": method.code(),
                    "pending": pending,
                    "subject": subject,
                    "client": client.describe(),
                })),
                now,
            )?;
            Ok(session)
        })?;
        let principal = match pending {
            None => Some(self.session(&session.id, now)?.principal()?.clone()),
            Some(_) => None,
        };
        Ok(LoginOutcome { session, pending, principal })
    }
}

impl Service {
    /// The second half of a single sign-on that the provider made without a second factor,
    /// for an account whose roles need one: its TOTP code (or a recovery code). The session
    /// then acts, as `oidc_totp`. Wrong codes count like wrong passwords.
    pub fn verify_session_totp(&self, s: &Session, code: &str, client: &ClientInfo, now: DateTime<Utc>) -> ServiceResult<()> {
        if s.pending != Some(Pending::VerifyTotp) {
            return Err(DomainError::invalid("code", "phiên này không chờ mã xác thực thứ hai").into());
        }
        let login = s.login.to_lowercase();
        let keys =
            [(format!("login:{login}|addr:{}", client.address), FREE_FAILURES), (format!("login:{login}"), FREE_FAILURES_PER_ACCOUNT)];
        let counted = self.count_attempt(&s.login, &keys, client, now)?;
        let creds = self.db.read(|tx| tx.credentials_of(s.user_id))?.ok_or(ServiceError::Auth(AuthFailure::SessionEnded))?;
        let secret = self.totp_secret(s.user_id, creds.totp_sealed.as_deref().unwrap_or(""))?;
        let step = matching_step(&secret, code, now)?;
        let recovery = if step.is_none() { normalise_recovery_code(code).map(|rc| secret_hash(&rc)) } else { None };
        let accepted = self.db.write(|tx| -> ServiceResult<bool> {
            let ok = match (step, &recovery) {
                (Some(st), _) => tx.use_totp_step(s.user_id, st)?,
                (None, Some(h)) => tx.use_recovery_code(s.user_id, h, now)?,
                (None, None) => false,
            };
            if ok {
                for c in &counted {
                    tx.clear_login_failures(&c.key)?;
                }
                tx.set_session_method(&s.hash, AuthMethod::OidcTotp.code())?;
                tx.clear_session_pending(&s.hash, None)?;
                tx.append_audit(
                    NewEvent::new(&s.login, "auth.second_factor", format!("user:{}", s.user_id))
                        .details(serde_json::json!({"method": AuthMethod::OidcTotp.code(), "client": client.describe()})),
                    now,
                )?;
            } else {
                tx.append_audit(
                    NewEvent::new(&s.login, "auth.login_failed", format!("user:{}", s.user_id))
                        .denied()
                        .details(serde_json::json!({"client": client.describe(), "factor": "second_factor"})),
                    now,
                )?;
            }
            Ok(ok)
        })?;
        if accepted {
            Ok(())
        } else {
            Err(ServiceError::Auth(AuthFailure::BadSecondFactor))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::factor_kinds;

    /// One kind of factor, however strong, is one factor; `mfa` is handled by the config.
    #[test]
    fn second_factor_needs_methods_of_two_kinds() {
        let cases: &[(&[&str], usize)] = &[
            (&["pwd"], 1),
            (&["otp"], 1),
            (&["hwk", "swk", "sc"], 1),
            (&["face"], 1),
            (&["pwd", "otp"], 2),
            (&["pin", "hwk"], 2),
            (&["pwd", "otp", "fpt"], 3),
            (&["mfa"], 0),
            (&["unknown", "x"], 0),
        ];
        for (amr, kinds) in cases {
            let amr: Vec<String> = amr.iter().map(|s| s.to_string()).collect();
            assert_eq!(factor_kinds(&amr), *kinds, "{amr:?}");
        }
    }
}
