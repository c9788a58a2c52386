//! Logins, sessions and the first API routes (issue 12): `/auth/*`, `/api/v1/me`,
//! `/api/v1/tokens`. Handlers parse, call one use case with the principal the session or the
//! API token gives, and render JSON; errors are `application/problem+json` with a code and a
//! Vietnamese message, never an internal error string.
//!
//! Browsers: the session cookie is `HttpOnly`, `SameSite=Strict` and `Secure` (unless the
//! server is bound to loopback for development); a state-changing request that carries the
//! cookie must come from this origin (`Origin`, else `Sec-Fetch-Site`) and carry the session's
//! CSRF token (`X-CSRF-Token`, or the `_csrf` field of a form). A script that sends
//! `Authorization: Bearer` carries no ambient credential and needs neither.

use crate::AppState;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use kyso_service::{
    AuthFailure, CertificateLogin, CertificateProof, ClientInfo, LoginOutcome, PasswordLogin, Principal, Role, ServiceError, Session,
};
use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "kyso_session";

/// How the web part is deployed.
#[derive(Debug, Clone, Default)]
pub struct WebConfig {
    /// Mark the cookie `Secure` (everywhere but a development server on loopback).
    pub secure_cookies: bool,
    /// Proxies whose `X-Forwarded-For` / `X-Forwarded-Proto` are believed; from anywhere else
    /// those headers are ignored.
    pub trusted_proxies: Vec<IpAddr>,
    /// The origins this server is reached at (`--public-origin`; on loopback, its own
    /// addresses). What a login names (a certificate challenge, the single sign-on's return
    /// address) must be one of them: the Host header is the client's to choose.
    pub public_origins: Vec<String>,
}

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/auth/login", post(login))
        .route("/auth/challenge", post(challenge))
        .route("/auth/certificate", post(certificate_login))
        .route("/auth/oidc/start", get(oidc_start))
        .route("/auth/oidc/callback", get(oidc_callback))
        .route("/auth/second-factor", post(second_factor))
        .route("/auth/password", post(change_password))
        .route("/auth/totp", post(totp))
        .route("/auth/recovery-codes", post(recovery_codes))
        .route("/auth/logout", post(logout))
        .route("/api/v1/me", get(me))
        .route("/api/v1/tokens", post(create_token).get(list_tokens))
        .route("/api/v1/tokens/{id}", delete(revoke_token))
}

// ---- errors ----

/// An error as the client sees it.
pub struct Problem {
    status: StatusCode,
    code: &'static str,
    detail: String,
    retry_after: Option<i64>,
}

impl Problem {
    fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Problem {
        Problem { status, code, detail: detail.into(), retry_after: None }
    }
}

impl From<ServiceError> for Problem {
    fn from(e: ServiceError) -> Problem {
        let code = e.code();
        match &e {
            ServiceError::Auth(a) => {
                let status = match a {
                    AuthFailure::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
                    AuthFailure::PasswordChangeRequired | AuthFailure::TotpEnrolmentRequired => StatusCode::FORBIDDEN,
                    _ => StatusCode::UNAUTHORIZED,
                };
                let retry_after = match a {
                    AuthFailure::Throttled { retry_after_secs } => Some(*retry_after_secs),
                    _ => None,
                };
                Problem { status, code, detail: a.to_string(), retry_after }
            }
            ServiceError::Domain(d) => {
                let status = match code {
                    "forbidden" => StatusCode::FORBIDDEN,
                    "not_found" => StatusCode::NOT_FOUND,
                    "conflict" => StatusCode::CONFLICT,
                    _ => StatusCode::UNPROCESSABLE_ENTITY,
                };
                Problem::new(status, code, d.to_string())
            }
            // Storage and device failures are logged here and told to the client only by code.
            _ => {
                tracing::error!(code, error = %e, "use case failed");
                Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "lỗi nội bộ của hệ thống; hãy thử lại hoặc báo cán bộ CNTT")
            }
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "type": format!("urn:kyso:error:{}", self.code),
            "title": self.status.canonical_reason().unwrap_or(""),
            "status": self.status.as_u16(),
            "code": self.code,
            "detail": self.detail,
        });
        let mut r = (self.status, [(header::CONTENT_TYPE, "application/problem+json")], body.to_string()).into_response();
        if let Some(s) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&s.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        r
    }
}

type WebResult<T> = Result<T, Problem>;

fn json(status: StatusCode, v: serde_json::Value) -> Response {
    let mut r = (status, [(header::CONTENT_TYPE, "application/json")], v.to_string()).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// Runs a blocking use case off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, ServiceError> + Send + 'static) -> WebResult<T> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(Problem::from),
        Err(_) => Err(Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "lỗi nội bộ của hệ thống")),
    }
}

// ---- who is calling ----

/// The client's address: the peer, or the forwarded one when the peer is a trusted proxy.
fn client_info(st: &AppState, peer: Option<SocketAddr>, h: &HeaderMap) -> ClientInfo {
    let peer_ip = peer.map(|p| p.ip());
    let forwarded = peer_ip.filter(|ip| st.web.trusted_proxies.contains(ip)).and_then(|_| {
        // The proxy appends the address it saw last.
        h.get("x-forwarded-for")?.to_str().ok()?.rsplit(',').next()?.trim().parse::<IpAddr>().ok()
    });
    let address = forwarded.or(peer_ip).map(|ip| ip.to_string()).unwrap_or_else(|| "?".into());
    let user_agent = h.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(|s| s.chars().take(200).collect());
    ClientInfo { address, user_agent }
}

fn cookie(h: &HeaderMap, name: &str) -> Option<String> {
    for v in h.get_all(header::COOKIE) {
        let Ok(s) = v.to_str() else { continue };
        for part in s.split(';') {
            if let Some((k, val)) = part.trim().split_once('=') {
                if k == name {
                    return Some(val.to_string());
                }
            }
        }
    }
    None
}

fn bearer(h: &HeaderMap) -> Option<String> {
    let v = h.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_string())
}

/// The scheme and host this request was addressed to, as the browser saw them.
fn own_origin(st: &AppState, peer: Option<SocketAddr>, h: &HeaderMap) -> Option<String> {
    let host = h.get(header::HOST)?.to_str().ok()?;
    let via_proxy = peer.is_some_and(|p| st.web.trusted_proxies.contains(&p.ip()));
    let scheme = match h.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) {
        Some(p) if via_proxy && (p == "https" || p == "http") => p,
        _ if st.tls => "https",
        _ => "http",
    };
    Some(format!("{scheme}://{host}"))
}

/// This server's origin for what a login names, from the request, if the operator listed it.
fn public_origin(st: &AppState, peer: Option<SocketAddr>, h: &HeaderMap) -> WebResult<String> {
    let o = own_origin(st, peer, h).ok_or_else(|| Problem::new(StatusCode::BAD_REQUEST, "bad_request", "yêu cầu thiếu Host"))?;
    if st.web.public_origins.iter().any(|p| p == &o) {
        return Ok(o);
    }
    Err(Problem::new(
        StatusCode::MISDIRECTED_REQUEST,
        "unknown_origin",
        format!("máy chủ không nhận địa chỉ {o}; người quản trị khai báo địa chỉ công khai của máy chủ bằng 'kyso serve --public-origin'"),
    ))
}

/// A state-changing request that a browser could have sent from another site is refused:
/// `Origin`, when sent, must be this server's; without it, `Sec-Fetch-Site` must say
/// same-origin (or a user's own navigation).
fn check_origin(st: &AppState, peer: Option<SocketAddr>, h: &HeaderMap) -> WebResult<()> {
    let refused = || Problem::new(StatusCode::FORBIDDEN, "cross_origin", "yêu cầu từ trang web khác bị từ chối (kiểm tra Origin)");
    if let Some(origin) = h.get(header::ORIGIN) {
        let origin = origin.to_str().map_err(|_| refused())?;
        return if Some(origin.to_string()) == own_origin(st, peer, h) { Ok(()) } else { Err(refused()) };
    }
    match h.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        None | Some("same-origin") | Some("none") => Ok(()),
        Some(_) => Err(refused()),
    }
}

/// The caller of a request: an API token, else the session cookie.
enum Caller {
    Token(Principal),
    Session(Session),
}

impl Caller {
    fn principal(&self) -> WebResult<&Principal> {
        match self {
            Caller::Token(p) => Ok(p),
            Caller::Session(s) => s.principal().map_err(Problem::from),
        }
    }
}

/// Who is calling. For a cookie on a state-changing request, the origin and the CSRF token
/// are checked too (`form_csrf`: the `_csrf` field of a form body).
async fn caller(
    st: &Arc<AppState>,
    method: &Method,
    peer: Option<SocketAddr>,
    h: &HeaderMap,
    form_csrf: Option<&str>,
) -> WebResult<Caller> {
    let now = (st.clock)();
    if let Some(t) = bearer(h) {
        let st2 = st.clone();
        return Ok(Caller::Token(blocking(move || st2.svc.api_token_principal(&t, now)).await?));
    }
    let Some(id) = cookie(h, SESSION_COOKIE) else {
        return Err(Problem::new(StatusCode::UNAUTHORIZED, "unauthenticated", "chưa đăng nhập"));
    };
    let st2 = st.clone();
    let s = blocking(move || st2.svc.session(&id, now)).await?;
    if method != Method::GET && method != Method::HEAD {
        check_origin(st, peer, h)?;
        let sent = h.get("x-csrf-token").and_then(|v| v.to_str().ok()).or(form_csrf);
        if !sent.is_some_and(|t| kyso_service::constant_time_eq(t.as_bytes(), s.csrf.as_bytes())) {
            return Err(Problem::new(StatusCode::FORBIDDEN, "csrf", "thiếu hoặc sai mã chống giả mạo yêu cầu (CSRF); hãy tải lại trang"));
        }
    }
    Ok(Caller::Session(s))
}

/// The caller of an endpoint that only a browser session may use (its own credentials and
/// logout), with the body's `_csrf` for forms; an API token is refused with `refusal`.
async fn session_caller(
    st: &Arc<AppState>,
    method: &Method,
    peer: SocketAddr,
    h: &HeaderMap,
    body: &Bytes,
    refusal: &str,
) -> WebResult<Session> {
    match caller(st, method, Some(peer), h, form_csrf(h, body).as_deref()).await? {
        Caller::Session(s) => Ok(s),
        Caller::Token(_) => Err(Problem::new(StatusCode::FORBIDDEN, "forbidden", refusal)),
    }
}

// ---- bodies: JSON or an HTML form ----

fn parse_body<T: for<'de> Deserialize<'de>>(h: &HeaderMap, body: &Bytes) -> WebResult<T> {
    let ct = h.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let bad = |e: String| Problem::new(StatusCode::BAD_REQUEST, "bad_request", format!("nội dung yêu cầu không đọc được: {e}"));
    if ct.starts_with("application/x-www-form-urlencoded") {
        serde_urlencoded_from(body).map_err(bad)
    } else if ct.starts_with("application/json") || (ct.is_empty() && body.is_empty()) {
        let b: &[u8] = if body.is_empty() { b"{}" } else { body };
        serde_json::from_slice(b).map_err(|e| bad(e.to_string()))
    } else {
        Err(Problem::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "media_type", "cần Content-Type: application/json hoặc biểu mẫu HTML"))
    }
}

fn serde_urlencoded_from<T: for<'de> Deserialize<'de>>(body: &Bytes) -> Result<T, String> {
    serde_urlencoded::from_bytes(body).map_err(|e| e.to_string())
}

fn form_csrf(h: &HeaderMap, body: &Bytes) -> Option<String> {
    #[derive(Deserialize)]
    struct C {
        #[serde(rename = "_csrf")]
        csrf: Option<String>,
    }
    let ct = h.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !ct.starts_with("application/x-www-form-urlencoded") {
        return None;
    }
    serde_urlencoded_from::<C>(body).ok().and_then(|c| c.csrf)
}

/// Whether this answer's cookies are `Secure`.
fn cookies_secure(st: &AppState, peer: Option<SocketAddr>, h: &HeaderMap) -> bool {
    let via_https_proxy = peer.is_some_and(|p| st.web.trusted_proxies.contains(&p.ip()))
        && h.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) == Some("https");
    st.web.secure_cookies || via_https_proxy
}

/// The session cookie. `Secure` unless this is a development server on loopback, and even
/// then when a trusted proxy says the browser came over https.
fn session_cookie(st: &AppState, peer: Option<SocketAddr>, h: &HeaderMap, id: &str, max_age: i64) -> HeaderValue {
    let secure = if cookies_secure(st, peer, h) { "; Secure" } else { "" };
    let v = format!("{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&v).expect("cookie characters are base64url")
}

// ---- handlers ----

#[derive(Deserialize)]
struct LoginBody {
    login: String,
    password: String,
    #[serde(default)]
    totp: Option<String>,
}

async fn login(
    State(st): State<Arc<AppState>>,
    ConnectInfo(ci): ConnectInfo<SocketAddr>,
    h: HeaderMap,
    body: Bytes,
) -> WebResult<Response> {
    let peer = Some(ci);
    // Login CSRF: another site must not log a browser into an account of its choosing.
    check_origin(&st, peer, &h)?;
    let b: LoginBody = parse_body(&h, &body)?;
    let client = client_info(&st, peer, &h);
    let now = (st.clock)();
    let st2 = st.clone();
    let out = blocking(move || {
        st2.svc.login_with_password(
            &PasswordLogin { login: &b.login, password: &b.password, second_factor: b.totp.as_deref(), client: &client },
            now,
        )
    })
    .await?;
    Ok(logged_in(&st, peer, &h, &out, now))
}

/// The answer to a successful login of any kind: the session cookie, the CSRF token and what
/// is still pending.
fn logged_in(st: &AppState, peer: Option<SocketAddr>, h: &HeaderMap, out: &LoginOutcome, now: chrono::DateTime<chrono::Utc>) -> Response {
    let max_age = (out.session.expires_at - now).num_seconds().max(0);
    let mut r = json(
        StatusCode::OK,
        serde_json::json!({
            "pending": out.pending,
            "csrf": out.session.csrf,
            "expires_at": out.session.expires_at,
            "login": out.principal.as_ref().map(|p| p.login.clone()),
        }),
    );
    r.headers_mut().insert(header::SET_COOKIE, session_cookie(st, peer, h, &out.session.id, max_age));
    r
}

/// A one-time challenge for a certificate login: the text the official's token signs, which
/// names this server's origin.
async fn challenge(State(st): State<Arc<AppState>>, ConnectInfo(ci): ConnectInfo<SocketAddr>, h: HeaderMap) -> WebResult<Response> {
    let peer = Some(ci);
    check_origin(&st, peer, &h)?;
    let origin = public_origin(&st, peer, &h)?;
    let client = client_info(&st, peer, &h);
    let now = (st.clock)();
    let st2 = st.clone();
    let c = blocking(move || {
        let name = format!("{} ({})", st2.svc.profile().name, st2.svc.profile().province);
        st2.svc.new_login_challenge(&origin, &name, &client, now)
    })
    .await?;
    Ok(json(StatusCode::OK, serde_json::json!({"id": c.id, "text": c.text, "expires_at": c.expires_at})))
}

#[derive(Deserialize)]
struct CertificateBody {
    /// The challenge's id and the agent's detached CMS over its text (base64); without them,
    /// the TLS client certificate is used.
    #[serde(default)]
    challenge: Option<String>,
    #[serde(default)]
    signature: Option<String>,
    #[serde(default)]
    login: Option<String>,
}

/// Logs in with the official's certificate: an answered challenge, or the TLS client
/// certificate of this connection (or the one a trusted proxy forwards, RFC 9440).
async fn certificate_login(
    State(st): State<Arc<AppState>>,
    ConnectInfo(ci): ConnectInfo<SocketAddr>,
    tls_chain: Option<axum::Extension<crate::listen::ClientCertChain>>,
    h: HeaderMap,
    body: Bytes,
) -> WebResult<Response> {
    use base64::Engine;
    let peer = Some(ci);
    check_origin(&st, peer, &h)?;
    let b: CertificateBody = parse_body(&h, &body)?;
    let origin = public_origin(&st, peer, &h)?;
    let signed = match (b.challenge, b.signature) {
        (Some(c), Some(sig)) => {
            let cms = base64::engine::general_purpose::STANDARD
                .decode(sig.trim())
                .map_err(|_| Problem::new(StatusCode::BAD_REQUEST, "bad_request", "chữ ký không phải base64"))?;
            Some((c, cms))
        }
        (None, None) => None,
        _ => return Err(Problem::new(StatusCode::BAD_REQUEST, "bad_request", "cần cả mã thử thách (challenge) và chữ ký (signature)")),
    };
    let chain = match &signed {
        Some(_) => vec![],
        None => {
            let from_proxy = st.web.trusted_proxies.contains(&ci.ip()).then(|| forwarded_client_cert(&h)).flatten();
            match tls_chain.map(|e| e.0 .0).filter(|c| !c.is_empty()).or(from_proxy) {
                Some(c) => c,
                None => {
                    return Err(Problem::new(
                        StatusCode::UNAUTHORIZED,
                        "no_client_certificate",
                        "không có chứng thư số: hãy ký mã thử thách bằng tác tử ký số, hoặc chọn chứng thư khi trình duyệt hỏi",
                    ))
                }
            }
        }
    };
    let client = client_info(&st, peer, &h);
    let now = (st.clock)();
    let st2 = st.clone();
    let out = blocking(move || {
        let proof = match &signed {
            Some((id, cms)) => CertificateProof::SignedChallenge { challenge_id: id, cms },
            None => CertificateProof::TlsClient { chain },
        };
        st2.svc.login_with_certificate(&CertificateLogin { proof, origin: &origin, login: b.login.as_deref(), client: &client }, now)
    })
    .await?;
    Ok(logged_in(&st, peer, &h, &out, now))
}

/// The client certificate a trusted proxy forwards (RFC 9440): `Client-Cert` is a structured
/// byte sequence (`:base64:`), `Client-Cert-Chain` a list of them.
fn forwarded_client_cert(h: &HeaderMap) -> Option<Vec<Vec<u8>>> {
    use base64::Engine;
    let item = |s: &str| -> Option<Vec<u8>> {
        let inner = s.trim().strip_prefix(':')?.strip_suffix(':')?;
        base64::engine::general_purpose::STANDARD.decode(inner).ok().filter(|d| !d.is_empty() && d.len() <= 16 * 1024)
    };
    let leaf = item(h.get("client-cert")?.to_str().ok()?)?;
    let mut chain = vec![leaf];
    for v in h.get_all("client-cert-chain") {
        for part in v.to_str().ok()?.split(',').take(8) {
            chain.push(item(part)?);
        }
    }
    Some(chain)
}

#[derive(Deserialize)]
struct PasswordBody {
    old_password: String,
    new_password: String,
}

async fn change_password(
    State(st): State<Arc<AppState>>,
    ConnectInfo(ci): ConnectInfo<SocketAddr>,
    method: Method,
    h: HeaderMap,
    body: Bytes,
) -> WebResult<Response> {
    let s = session_caller(&st, &method, ci, &h, &body, "mã truy cập API không đổi được mật khẩu").await?;
    let b: PasswordBody = parse_body(&h, &body)?;
    let now = (st.clock)();
    let st2 = st.clone();
    blocking(move || st2.svc.change_password(&s, &b.old_password, &b.new_password, now)).await?;
    Ok(json(StatusCode::OK, serde_json::json!({"changed": true})))
}

#[derive(Deserialize)]
struct TotpBody {
    #[serde(default)]
    code: Option<String>,
}

/// Without a code: a new secret to enrol; with one: confirms it and gives the recovery codes.
async fn totp(
    State(st): State<Arc<AppState>>,
    ConnectInfo(ci): ConnectInfo<SocketAddr>,
    method: Method,
    h: HeaderMap,
    body: Bytes,
) -> WebResult<Response> {
    let s = session_caller(&st, &method, ci, &h, &body, "mã truy cập API không đăng ký được TOTP").await?;
    let b: TotpBody = parse_body(&h, &body)?;
    let now = (st.clock)();
    let st2 = st.clone();
    match b.code {
        None => {
            let e = blocking(move || st2.svc.begin_totp(&s, now)).await?;
            Ok(json(StatusCode::OK, serde_json::json!({"secret": e.secret_base32, "uri": e.uri})))
        }
        Some(code) => {
            let codes = blocking(move || st2.svc.confirm_totp(&s, &code, now)).await?;
            Ok(json(StatusCode::OK, serde_json::json!({"enrolled": true, "recovery_codes": codes})))
        }
    }
}

/// Single sign-on: sends the browser to the province's OpenID provider.
async fn oidc_start(State(st): State<Arc<AppState>>, ConnectInfo(ci): ConnectInfo<SocketAddr>, h: HeaderMap) -> WebResult<Response> {
    let peer = Some(ci);
    if !st.svc.oidc_enabled() {
        return Err(Problem::new(
            StatusCode::NOT_FOUND,
            "oidc_not_configured",
            "hệ thống chưa cấu hình đăng nhập một lần (OpenID Connect)",
        ));
    }
    let callback = format!("{}/auth/oidc/callback", public_origin(&st, peer, &h)?);
    let client = client_info(&st, peer, &h);
    let now = (st.clock)();
    let st2 = st.clone();
    let started = blocking(move || st2.svc.oidc_start(&callback, &client, now)).await?;
    let mut r = StatusCode::SEE_OTHER.into_response();
    let location = HeaderValue::from_str(&started.url)
        .map_err(|_| Problem::new(StatusCode::BAD_GATEWAY, "oidc_failed", "địa chỉ của nhà cung cấp không hợp lệ"))?;
    r.headers_mut().insert(header::LOCATION, location);
    // The browser that starts keeps a secret the callback must show (SameSite=Lax: the
    // callback is a navigation from the provider's site).
    r.headers_mut().insert(header::SET_COOKIE, oidc_cookie(&st, peer, &h, &started.browser_secret, 600));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

/// The cookie that binds a single sign-on to the browser that started it.
const OIDC_COOKIE: &str = "kyso_oidc";

fn oidc_cookie(st: &AppState, peer: Option<SocketAddr>, h: &HeaderMap, secret: &str, max_age: i64) -> HeaderValue {
    let secure = cookies_secure(st, peer, h);
    let v = format!(
        "{OIDC_COOKIE}={secret}; Path=/auth/oidc/; HttpOnly; SameSite=Lax; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&v).expect("cookie characters are base64url")
}

#[derive(Deserialize)]
struct OidcCallback {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

/// Where the provider sends the browser back. A page, not a redirect: the session cookie is
/// SameSite=Strict, and a redirect at the end of a navigation that began at the provider
/// would not carry it. The page holds the CSRF token for what is still pending.
async fn oidc_callback(
    State(st): State<Arc<AppState>>,
    ConnectInfo(ci): ConnectInfo<SocketAddr>,
    h: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<OidcCallback>,
) -> WebResult<Response> {
    let peer = Some(ci);
    if let Some(e) = q.error {
        let why: String = q.error_description.unwrap_or(e).chars().filter(|c| !c.is_control()).take(200).collect();
        return Err(Problem::new(StatusCode::UNAUTHORIZED, "oidc_failed", format!("nhà cung cấp từ chối đăng nhập: {why}")));
    }
    let (Some(code), Some(state)) = (q.code, q.state) else {
        return Err(Problem::new(StatusCode::BAD_REQUEST, "bad_request", "thiếu mã (code) hoặc trạng thái (state) từ nhà cung cấp"));
    };
    let client = client_info(&st, peer, &h);
    let browser = cookie(&h, OIDC_COOKIE).unwrap_or_default();
    let now = (st.clock)();
    let st2 = st.clone();
    let out = blocking(move || st2.svc.oidc_callback(&state, &code, &browser, &client, now)).await?;
    let max_age = (out.session.expires_at - now).num_seconds().max(0);
    let (next, note) = match out.pending {
        Some(kyso_service::Pending::VerifyTotp) => ("totp", "Hãy nhập mã TOTP để hoàn tất đăng nhập."),
        Some(kyso_service::Pending::EnrolTotp) => ("enrol_totp", "Vai trò của tài khoản cần xác thực hai yếu tố: hãy đăng ký TOTP."),
        Some(kyso_service::Pending::ChangePassword) => ("change_password", "Hãy đổi mật khẩu tạm."),
        None => ("", "Đã đăng nhập."),
    };
    let page = format!(
        "<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\"><meta name=\"csrf-token\" content=\"{}\"><meta name=\"kyso-pending\" content=\"{next}\"><meta http-equiv=\"refresh\" content=\"0;url=/\"><title>Đăng nhập một lần</title></head><body><p>{note} <a href=\"/\">Tiếp tục</a></p></body></html>",
        out.session.csrf
    );
    let mut r = (StatusCode::OK, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r.headers_mut().insert(header::SET_COOKIE, session_cookie(&st, peer, &h, &out.session.id, max_age));
    r.headers_mut().append(header::SET_COOKIE, oidc_cookie(&st, peer, &h, "", 0));
    Ok(r)
}

#[derive(Deserialize)]
struct SecondFactorBody {
    code: String,
}

/// The TOTP code after a single sign-on that had no second factor at the provider.
async fn second_factor(
    State(st): State<Arc<AppState>>,
    ConnectInfo(ci): ConnectInfo<SocketAddr>,
    method: Method,
    h: HeaderMap,
    body: Bytes,
) -> WebResult<Response> {
    let s = session_caller(&st, &method, ci, &h, &body, "mã truy cập API không dùng cho bước này").await?;
    let b: SecondFactorBody = parse_body(&h, &body)?;
    let client = client_info(&st, Some(ci), &h);
    let now = (st.clock)();
    let st2 = st.clone();
    blocking(move || st2.svc.verify_session_totp(&s, &b.code, &client, now)).await?;
    Ok(json(StatusCode::OK, serde_json::json!({"pending": null})))
}

async fn recovery_codes(
    State(st): State<Arc<AppState>>,
    ConnectInfo(ci): ConnectInfo<SocketAddr>,
    method: Method,
    h: HeaderMap,
    body: Bytes,
) -> WebResult<Response> {
    let c = caller(&st, &method, Some(ci), &h, form_csrf(&h, &body).as_deref()).await?;
    let p = c.principal()?.clone();
    let now = (st.clock)();
    let st2 = st.clone();
    let codes = blocking(move || st2.svc.new_recovery_codes(&p, now)).await?;
    Ok(json(StatusCode::OK, serde_json::json!({"recovery_codes": codes})))
}

#[derive(Deserialize)]
struct LogoutBody {
    #[serde(default)]
    everywhere: bool,
}

async fn logout(
    State(st): State<Arc<AppState>>,
    ConnectInfo(ci): ConnectInfo<SocketAddr>,
    method: Method,
    h: HeaderMap,
    body: Bytes,
) -> WebResult<Response> {
    let s = session_caller(&st, &method, ci, &h, &body, "đăng xuất dùng cho phiên đăng nhập; mã truy cập API thì thu hồi").await?;
    let b: LogoutBody = parse_body(&h, &body)?;
    let now = (st.clock)();
    let st2 = st.clone();
    let ended = blocking(move || {
        if b.everywhere {
            let p = s.principal()?.clone();
            st2.svc.logout_everywhere(&p, now)
        } else {
            st2.svc.logout(&s, now).map(|()| 1)
        }
    })
    .await?;
    let mut r = json(StatusCode::OK, serde_json::json!({"ended": ended}));
    r.headers_mut().insert(header::SET_COOKIE, session_cookie(&st, Some(ci), &h, "", 0));
    Ok(r)
}

async fn me(
    State(st): State<Arc<AppState>>,
    ConnectInfo(ci): ConnectInfo<SocketAddr>,
    method: Method,
    h: HeaderMap,
) -> WebResult<Response> {
    let c = caller(&st, &method, Some(ci), &h, None).await?;
    let p = c.principal()?.clone();
    let now = (st.clock)();
    let st2 = st.clone();
    let view = blocking(move || st2.svc.me(&p, now)).await?;
    Ok(json(StatusCode::OK, serde_json::to_value(view).unwrap_or_default()))
}

#[derive(Deserialize)]
struct TokenBody {
    name: String,
    roles: Vec<String>,
    /// Days from now (at most 365).
    days: i64,
}

async fn create_token(
    State(st): State<Arc<AppState>>,
    ConnectInfo(ci): ConnectInfo<SocketAddr>,
    method: Method,
    h: HeaderMap,
    body: Bytes,
) -> WebResult<Response> {
    let c = caller(&st, &method, Some(ci), &h, None).await?;
    let p = c.principal()?.clone();
    let b: TokenBody = parse_body(&h, &body)?;
    let mut roles = Vec::new();
    for r in &b.roles {
        roles.push(
            Role::parse(r).ok_or_else(|| Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", format!("không có vai trò '{r}'")))?,
        );
    }
    let now = (st.clock)();
    let expires = now + chrono::Duration::days(b.days.clamp(0, 3660));
    let st2 = st.clone();
    let t = blocking(move || st2.svc.create_api_token(&p, &b.name, &roles, expires, now)).await?;
    Ok(json(StatusCode::CREATED, serde_json::to_value(t).unwrap_or_default()))
}

async fn list_tokens(
    State(st): State<Arc<AppState>>,
    ConnectInfo(ci): ConnectInfo<SocketAddr>,
    method: Method,
    h: HeaderMap,
) -> WebResult<Response> {
    let c = caller(&st, &method, Some(ci), &h, None).await?;
    let p = c.principal()?.clone();
    let st2 = st.clone();
    let v = blocking(move || st2.svc.api_tokens(&p)).await?;
    Ok(json(StatusCode::OK, serde_json::to_value(v).unwrap_or_default()))
}

async fn revoke_token(
    State(st): State<Arc<AppState>>,
    ConnectInfo(ci): ConnectInfo<SocketAddr>,
    method: Method,
    h: HeaderMap,
    Path(id): Path<i64>,
) -> WebResult<Response> {
    let c = caller(&st, &method, Some(ci), &h, None).await?;
    let p = c.principal()?.clone();
    let now = (st.clock)();
    let st2 = st.clone();
    blocking(move || st2.svc.revoke_api_token(&p, id, now)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
