//! kyso-server: HTTP. Today it serves the built-in CA's public services: the CA
//! certificates, the CRLs, OCSP (RFC 6960, GET and POST) and time-stamping (RFC 3161). The
//! web UI and API come later. Handlers are thin: they call the service and map bytes to
//! media types.

pub mod agent;
pub mod listen;
pub mod web;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine;
use kyso_service::Principal;
use kyso_service::{OcspIndex, Service};
use kyso_token::TokenSession;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// A clock the server reads; the binary gives the system clock (or a fixed one in tests).
pub type Clock = Arc<dyn Fn() -> chrono::DateTime<chrono::Utc> + Send + Sync>;

pub struct AppState {
    pub svc: Service,
    /// The CA token's session, for time-stamps, on-demand OCSP and periodic CRLs. Without it
    /// the server still serves certificates, stored CRLs and pre-produced OCSP responses.
    pub session: Option<Box<dyn TokenSession>>,
    pub ocsp: RwLock<OcspIndex>,
    pub clock: Clock,
    /// Cookies, trusted proxies (see [`web::WebConfig`]).
    pub web: web::WebConfig,
    /// Whether this server speaks TLS itself (the origin browsers see is https).
    pub tls: bool,
}

/// Request bodies larger than this are refused (OCSP and TSA requests are small).
const MAX_BODY: usize = 64 * 1024;

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/ca/{name}", get(ca_cert))
        .route("/crl/{name}", get(crl))
        .route("/ocsp", post(ocsp_post))
        .route("/ocsp/{*req}", get(ocsp_get))
        .route("/tsa", post(tsa))
        .merge(web::routes())
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn(log_request))
        .with_state(state)
}

static REQUEST_SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// One log line per request, under a span with its id (also sent back as `X-Request-Id`, so
/// that a user's report can be matched to the log). Only the method, the path (never the
/// query, which may carry a code), the status and the time are logged: no header, no body.
async fn log_request(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    use tracing::Instrument;
    let id = format!("{:x}-{}", std::process::id(), REQUEST_SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    let method = req.method().clone();
    let path = req.uri().path().chars().take(200).collect::<String>();
    let span = tracing::info_span!("request", id = %id);
    let started = std::time::Instant::now();
    let mut r = next.run(req).instrument(span.clone()).await;
    span.in_scope(|| {
        tracing::info!(%method, %path, status = r.status().as_u16(), ms = started.elapsed().as_millis() as u64, "served");
    });
    if let Ok(v) = axum::http::HeaderValue::from_str(&id) {
        r.headers_mut().insert("x-request-id", v);
    }
    r
}

fn bytes(ct: &'static str, body: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, ct), (header::CACHE_CONTROL, "max-age=300")], body).into_response()
}

fn problem(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], msg.into()).into_response()
}

async fn ca_cert(State(st): State<Arc<AppState>>, Path(name): Path<String>) -> Response {
    let certs = match st.svc.ca_certs() {
        Ok(c) => c,
        Err(e) => return problem(StatusCode::NOT_FOUND, e.to_string()),
    };
    match name.as_str() {
        "root.crt" => bytes("application/pkix-cert", certs.root),
        "issuing.crt" => bytes("application/pkix-cert", certs.issuing),
        "ocsp.crt" => bytes("application/pkix-cert", certs.ocsp),
        "tsa.crt" => bytes("application/pkix-cert", certs.tsa),
        _ => problem(StatusCode::NOT_FOUND, "không có tệp này"),
    }
}

async fn crl(State(st): State<Arc<AppState>>, Path(name): Path<String>) -> Response {
    let st2 = st.clone();
    let found = match name.as_str() {
        "issuing.crl" => tokio::task::spawn_blocking(move || st2.svc.latest_crl(false)).await,
        "issuing-delta.crl" => tokio::task::spawn_blocking(move || st2.svc.latest_crl(true)).await,
        "root.crl" => tokio::task::spawn_blocking(move || st2.svc.root_crl()).await,
        _ => return problem(StatusCode::NOT_FOUND, "không có CRL này"),
    };
    match found {
        Ok(Ok(Some(der))) => bytes("application/pkix-crl", der),
        Ok(Ok(None)) => problem(StatusCode::NOT_FOUND, "chưa phát hành CRL"),
        Ok(Err(e)) => problem(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        Err(_) => problem(StatusCode::INTERNAL_SERVER_ERROR, "lỗi nội bộ"),
    }
}

/// The hot path: parse, look up a pre-produced response in memory, return its bytes. Only a
/// miss goes to a blocking thread (database, and a signature if the CA session is there).
fn ocsp_bytes(st: &Arc<AppState>, req: &[u8]) -> Option<Vec<u8>> {
    let parsed = kyso_pki_parse(req)?;
    let now = (st.clock)();
    let index = st.ocsp.read().unwrap_or_else(|p| p.into_inner());
    index.lookup(&parsed, now).map(<[u8]>::to_vec)
}

fn kyso_pki_parse(req: &[u8]) -> Option<kyso_service::OcspRequest> {
    kyso_service::parse_ocsp_request(req).ok()
}

async fn ocsp_respond(st: Arc<AppState>, req: Vec<u8>) -> Response {
    if let Some(b) = ocsp_bytes(&st, &req) {
        return bytes("application/ocsp-response", b);
    }
    let r = tokio::task::spawn_blocking(move || {
        let index = st.ocsp.read().unwrap_or_else(|p| p.into_inner()).clone();
        st.svc.ocsp_answer(&req, &index, st.session.as_deref(), (st.clock)())
    })
    .await;
    match r {
        Ok(b) => bytes("application/ocsp-response", b),
        Err(_) => problem(StatusCode::INTERNAL_SERVER_ERROR, "lỗi nội bộ"),
    }
}

async fn ocsp_post(State(st): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !ct.starts_with("application/ocsp-request") {
        return problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "cần Content-Type: application/ocsp-request");
    }
    ocsp_respond(st, body.to_vec()).await
}

async fn ocsp_get(State(st): State<Arc<AppState>>, Path(req): Path<String>) -> Response {
    // RFC 6960 A.1: base64 of the DER request, URL-encoded in the path.
    let decoded = percent_decode(&req);
    match base64::engine::general_purpose::STANDARD.decode(decoded.as_bytes()) {
        Ok(der) if der.len() <= MAX_BODY => ocsp_respond(st, der).await,
        _ => bytes("application/ocsp-response", kyso_service::ocsp_malformed()),
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = (b[i] == b'%' && i + 2 < b.len())
            .then(|| std::str::from_utf8(&b[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()))
            .flatten();
        match hex {
            Some(v) => {
                out.push(v);
                i += 3;
            }
            None => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn tsa(State(st): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !ct.starts_with("application/timestamp-query") {
        return problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "cần Content-Type: application/timestamp-query");
    }
    let r = tokio::task::spawn_blocking(move || match st.session.as_deref() {
        Some(s) => st.svc.timestamp(&Principal::ca_service(), &body, s, (st.clock)()).map_err(|e| e.to_string()),
        None => Err("dịch vụ cấp dấu thời gian chưa được mở khóa (thiếu mã PIN của thiết bị CA)".to_string()),
    })
    .await;
    match r {
        Ok(Ok(b)) => bytes("application/timestamp-reply", b),
        Ok(Err(e)) => problem(StatusCode::SERVICE_UNAVAILABLE, e),
        Err(_) => problem(StatusCode::INTERNAL_SERVER_ERROR, "lỗi nội bộ"),
    }
}

/// How often the server anchors the audit log with a time-stamp of its head.
const CHECKPOINT_EVERY: chrono::Duration = chrono::Duration::hours(1);

/// Keeps the OCSP index in step with the database (revocations made by the CLI or another
/// server), and, with the CA session, refreshes responses, publishes CRLs and anchors the audit
/// log (a checkpoint, `kyso audit checkpoint` exports them) on schedule.
pub async fn maintain(st: Arc<AppState>, every: Duration) {
    let mut last_crl: Option<chrono::DateTime<chrono::Utc>> = None;
    let mut last_checkpoint: Option<chrono::DateTime<chrono::Utc>> = None;
    loop {
        let st2 = st.clone();
        let crl_due = last_crl;
        let checkpoint_due = last_checkpoint.is_none_or(|t| (st.clock)() - t >= CHECKPOINT_EVERY);
        let r = tokio::task::spawn_blocking(move || {
            let now = (st2.clock)();
            let mut published = None;
            let mut checkpointed = None;
            if let Some(s) = st2.session.as_deref() {
                let hours = st2.svc.ca_certs().map(|c| c.config.crl_hours).unwrap_or(24);
                if crl_due.is_none_or(|t| now - t >= chrono::Duration::hours(hours) / 2)
                    && st2.svc.ca_crl(&Principal::ca_service(), s, false, now).is_ok()
                {
                    published = Some(now);
                }
                // Refresh responses well before they go stale.
                let stale =
                    st2.ocsp.read().map(|i| i.cache.values().any(|(next, _)| *next - now < chrono::Duration::hours(6))).unwrap_or(false);
                if stale {
                    let _ = st2.svc.ca_refresh_ocsp(&Principal::ca_service(), s, now);
                }
                if checkpoint_due {
                    let system = Principal::ca_service();
                    let stamp = |req: &[u8]| st2.svc.timestamp(&system, req, s, now).map_err(|e| e.to_string());
                    checkpointed = st2.svc.audit_checkpoint(&system, &stamp, now).is_ok().then_some(now);
                }
            }
            if let Ok(idx) = st2.svc.ocsp_index() {
                *st2.ocsp.write().unwrap_or_else(|p| p.into_inner()) = idx;
            }
            (published, checkpointed)
        })
        .await;
        if let Ok((crl, checkpoint)) = r {
            last_crl = crl.or(last_crl);
            last_checkpoint = checkpoint.or(last_checkpoint);
        }
        tokio::time::sleep(every).await;
    }
}

/// Serves until Ctrl-C or SIGTERM, within the default [`listen::Limits`], over TLS when
/// `tls` is given ([`listen::tls_config`]).
pub async fn serve(
    state: Arc<AppState>,
    listener: tokio::net::TcpListener,
    refresh: Duration,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> std::io::Result<()> {
    tokio::spawn(maintain(state.clone(), refresh));
    listen::serve_limited_tls(listener, router(state), listen::Limits::default(), tls, shutdown_signal()).await
}

/// Ctrl-C, or the SIGTERM a service manager sends.
pub async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => {}
    }
}
