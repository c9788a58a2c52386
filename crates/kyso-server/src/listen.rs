//! The accept loop under both servers (`kyso serve`, `kyso agent serve`), with the limits
//! `axum::serve` lacks (issue 11, finding 5): slow or idle clients must not hold the server.
//! - a cap on open connections: one past it is closed at once;
//! - a header-read timeout: a half-sent request is closed;
//! - a request timeout: a handler that takes too long answers 503;
//! - a connection lifetime: a keep-alive connection is wound down after it;
//! - graceful shutdown: accepting stops, connections finish their request, then close.
//!
//! Body limits are set per router (`DefaultBodyLimit`).

use axum::response::IntoResponse;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tower::ServiceExt;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub request_timeout: Duration,
    pub connection_lifetime: Duration,
    /// How long shutdown waits for open connections.
    pub drain: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 1024,
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            connection_lifetime: Duration::from_secs(120),
            drain: Duration::from_secs(10),
        }
    }
}

/// Serves `app` on `listener` within `limits` until `shutdown` completes.
pub async fn serve_limited(listener: TcpListener, app: Router, limits: Limits, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
    serve_limited_tls(listener, app, limits, None, shutdown).await
}

/// The TLS client certificate chain a connection presented (leaf first), put in every
/// request's extensions. Empty when the client sent none.
#[derive(Debug, Clone, Default)]
pub struct ClientCertChain(pub Vec<Vec<u8>>);

/// [`serve_limited`], speaking TLS when `tls` is given. The handshake must finish within the
/// header timeout; a client certificate, when sent, reaches the handlers as [`ClientCertChain`].
pub async fn serve_limited_tls(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            a = listener.accept() => a,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            // Out of file descriptors or a connection reset before accept: wait a little
            // rather than spin, and go on serving the connections already open.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let app = app.clone();
        let stop = stop_rx.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            match acceptor {
                None => serve_connection(stream, peer, ClientCertChain::default(), app, limits, stop).await,
                Some(a) => {
                    // A client that never finishes the handshake is dropped like a slow header.
                    let Ok(Ok(tls)) = tokio::time::timeout(limits.header_timeout, a.accept(stream)).await else { return drop(permit) };
                    let chain = tls.get_ref().1.peer_certificates().map(|c| c.iter().map(|d| d.to_vec()).collect()).unwrap_or_default();
                    serve_connection(tls, peer, ClientCertChain(chain), app, limits, stop).await
                }
            }
            drop(permit);
        });
    }
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(limits.drain, slots.acquire_many(limits.max_connections as u32)).await;
    Ok(())
}

/// One connection's requests, until it closes, its lifetime ends or the server stops.
async fn serve_connection<S>(
    io: S,
    peer: std::net::SocketAddr,
    chain: ClientCertChain,
    app: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let app = app.clone();
        let chain = chain.clone();
        async move {
            // Handlers may ask who is on the other end (`ConnectInfo`) and what certificate it
            // showed.
            let mut req = req.map(axum::body::Body::new);
            req.extensions_mut().insert(axum::extract::ConnectInfo(peer));
            req.extensions_mut().insert(chain);
            let answer = tokio::time::timeout(limits.request_timeout, app.oneshot(req)).await;
            Ok::<_, std::convert::Infallible>(match answer {
                Ok(Ok(r)) => r,
                Ok(Err(never)) => match never {},
                Err(_) => (axum::http::StatusCode::SERVICE_UNAVAILABLE, "yêu cầu xử lý quá lâu; hãy thử lại").into_response(),
            })
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    let wind_down = tokio::select! {
        _ = conn.as_mut() => false,
        _ = stop.changed() => true,
        _ = tokio::time::sleep(limits.connection_lifetime) => true,
    };
    if wind_down {
        conn.as_mut().graceful_shutdown();
        let _ = tokio::time::timeout(limits.drain, conn).await;
    }
}

/// The TLS settings of `kyso serve --tls-cert --tls-key`: the server's certificate chain and
/// key (PEM), and a client certificate asked for but not required. The client's certificate
/// is not judged here: the certificate login checks its path, revocation and registry entry
/// with kyso's own validator. The handshake still proves the client holds its key.
pub fn tls_config(cert_pem: &[u8], key_pem: &[u8]) -> Result<Arc<rustls::ServerConfig>, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(cert_pem).collect::<Result<_, _>>().map_err(|e| format!("tệp chứng thư TLS không đọc được: {e}"))?;
    if certs.is_empty() {
        return Err("tệp chứng thư TLS không có chứng thư nào (cần PEM)".into());
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| format!("tệp khóa TLS không đọc được: {e}"))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = Arc::new(AnyClientCertificate { algorithms: provider.signature_verification_algorithms });
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .map_err(|e| format!("chứng thư và khóa TLS không khớp hoặc không dùng được: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Asks for a client certificate, lets the client go on without one, and checks only that
/// the client signed the handshake with the certificate's key.
#[derive(Debug)]
struct AnyClientCertificate {
    algorithms: rustls::crypto::WebPkiSupportedAlgorithms,
}

impl rustls::server::danger::ClientCertVerifier for AnyClientCertificate {
    fn offer_client_auth(&self) -> bool {
        true
    }
    fn client_auth_mandatory(&self) -> bool {
        false
    }
    fn root_hint_subjects(&self) -> &[rustls::DistinguishedName] {
        &[]
    }
    fn verify_client_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::server::danger::ClientCertVerified, rustls::Error> {
        Ok(rustls::server::danger::ClientCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
