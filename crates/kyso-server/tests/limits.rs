//! Issue 11, finding 5: `kyso serve` and `kyso agent` fell over from idle connections (300
//! half-sent requests were never closed; about 20,000 idle connections exhausted the file
//! descriptors, `/health` timed out and memory stayed at 391 MB). The accept loop now has a
//! connection cap, a header-read timeout and a request timeout.

use axum::routing::get;
use axum::Router;
use kyso_server::listen::{serve_limited, Limits};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn health(addr: std::net::SocketAddr) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await.expect("answered in time").unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether the server has closed `s` (end of stream, a reset, or a last answer such as 408).
async fn closed_within(s: &mut TcpStream, limit: Duration) -> bool {
    let mut buf = [0u8; 512];
    let started = Instant::now();
    loop {
        match tokio::time::timeout(limit.saturating_sub(started.elapsed()), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

fn rss_mb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 =
        status.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()).unwrap();
    kb / 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_connections_do_not_hold_the_server() {
    let app = Router::new().route("/health", get(|| async { "ok" })).route(
        "/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            "late"
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = Limits {
        max_connections: 400,
        header_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_secs(1),
        connection_lifetime: Duration::from_secs(30),
        drain: Duration::from_secs(2),
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_limited(listener, app, limits, async {
        let _ = stopped.await;
    }));
    // 300 half-sent requests and 50 connections that send nothing.
    let mut slow = Vec::new();
    for _ in 0..300 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n").await.unwrap();
        slow.push(s);
    }
    let mut idle = Vec::new();
    for _ in 0..50 {
        idle.push(TcpStream::connect(addr).await.unwrap());
    }
    // A real request is answered meanwhile.
    assert!(health(addr).await.starts_with("HTTP/1.1 200"));
    // Past the cap, connections are closed at once instead of piling up.
    let mut extra = Vec::new();
    for _ in 0..200 {
        extra.push(TcpStream::connect(addr).await.unwrap());
    }
    let mut refused = 0;
    for s in extra.iter_mut() {
        if closed_within(s, Duration::from_millis(300)).await {
            refused += 1;
        }
    }
    assert!(refused >= 100, "connections past the cap are closed ({refused} of 200)");
    // Half-sent and idle connections are closed within the header timeout.
    let started = Instant::now();
    let mut open = 0;
    for s in slow.iter_mut().chain(idle.iter_mut()) {
        if !closed_within(s, Duration::from_secs(4).saturating_sub(started.elapsed())).await {
            open += 1;
        }
    }
    assert_eq!(open, 0, "every half-sent or idle connection is closed within the header timeout");
    // A handler that takes too long answers 503 rather than holding its connection.
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&out).starts_with("HTTP/1.1 503"), "{}", String::from_utf8_lossy(&out));
    // Still answering, and small.
    assert!(health(addr).await.starts_with("HTTP/1.1 200"));
    let rss = rss_mb();
    assert!(rss < 200, "RSS {rss} MB");
    // Graceful shutdown: the loop ends within the drain time.
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), server).await.expect("shut down in time").unwrap().unwrap();
}
