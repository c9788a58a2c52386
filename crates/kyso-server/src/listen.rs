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
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let app = app.clone();
                async move {
                    // Handlers may ask who is on the other end (`ConnectInfo`).
                    let mut req = req.map(axum::body::Body::new);
                    req.extensions_mut().insert(axum::extract::ConnectInfo(peer));
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
                .serve_connection(TokioIo::new(stream), service);
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
            drop(permit);
        });
    }
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(limits.drain, slots.acquire_many(limits.max_connections as u32)).await;
    Ok(())
}
