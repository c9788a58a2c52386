//! Login and session benchmark (not a test, not in CI): `scripts/bench-auth.sh`.
//!
//! 1. A password login on a production deployment (Argon2id at 19 MiB, 5 passes): the time per
//!    login, which must be at least 50 ms so that guessing stays costly.
//! 2. Authenticated `GET /api/v1/me` per second against the real router on a loopback socket
//!    (the session checked in the database for every request), from KYSO_BENCH_CONNS
//!    keep-alive connections for KYSO_BENCH_SECS seconds. Goal: 20,000/s on 2 cores.

use chrono::{DateTime, Utc};
use kyso_core::calendar::WorkCalendar;
use kyso_core::registry::AgencyInput;
use kyso_service::{Bootstrap, ClientInfo, PasswordLogin, Service};
use std::io::{BufRead, BufReader, Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PASSWORD: &str = "Một mật khẩu đủ dài 2026";

#[allow(clippy::disallowed_methods)]
fn now() -> DateTime<Utc> {
    Utc::now()
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A tax code with a valid check digit.
fn tax_code() -> String {
    (100_000_000u64..).find_map(|n| kyso_core::value::tax_check_digit(&format!("{n:09}0")).map(|c| format!("{n:09}{c}"))).unwrap()
}

fn service(dir: &std::path::Path) -> Service {
    let db = kyso_store::Db::open_sqlite(&dir.join("kyso.db")).unwrap();
    let boot = Bootstrap {
        profile_key: "bac-ninh-2023".into(),
        root: AgencyInput {
            code: "UBND-T".into(),
            name: "Ủy ban nhân dân tỉnh".into(),
            parent_code: None,
            legal_entity: true,
            tax_code: Some(tax_code()),
            budget_code: None,
            email: Some("ubnd@bacninh.gov.vn".into()),
            address: "Bắc Ninh".into(),
            valid_from: Some("2025-07-01".into()),
        },
        admin_login: "admin".into(),
        // Production: the costly Argon2id parameters.
        training: false,
    };
    let mut svc = Service::init(db, WorkCalendar::builtin(), &boot, now()).unwrap();
    svc.set_sealing_key([9u8; 32]);
    let op = svc.local_operator("admin").unwrap();
    svc.add_user(&op, "bench", None, now()).unwrap();
    svc.set_password(&op, "bench", PASSWORD, false, now()).unwrap();
    svc
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service(dir.path());
    let client = ClientInfo { address: "127.0.0.1".into(), user_agent: None };
    let login = |svc: &Service| {
        svc.login_with_password(&PasswordLogin { login: "bench", password: PASSWORD, second_factor: None, client: &client }, now()).unwrap()
    };

    // 1. Logins.
    let n = env("KYSO_BENCH_LOGINS", 20);
    let started = Instant::now();
    let mut session = None;
    for _ in 0..n {
        session = Some(login(&svc).session.id);
    }
    let per_login = started.elapsed() / n as u32;
    println!("password login (Argon2id 19 MiB, t=5): {:.1} ms per login over {n} logins", per_login.as_secs_f64() * 1000.0);
    println!("  goal ≥ 50 ms per hash: {}", if per_login >= Duration::from_millis(50) { "met" } else { "NOT met" });
    let session = session.unwrap();

    // 2. Session checks over HTTP.
    let conns = env("KYSO_BENCH_CONNS", 32) as usize;
    let secs = env("KYSO_BENCH_SECS", 10);
    let index = kyso_service::OcspIndex::default();
    let clock: kyso_server::Clock = Arc::new(now);
    let state = Arc::new(kyso_server::AppState {
        svc,
        session: None,
        ocsp: std::sync::RwLock::new(index),
        clock,
        web: kyso_server::web::WebConfig { secure_cookies: false, trusted_proxies: vec![], public_origins: vec![] },
        tls: false,
    });
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = kyso_server::listen::Limits::default();
    rt.spawn(kyso_server::listen::serve_limited(listener, kyso_server::router(state.clone()), limits, std::future::pending::<()>()));
    std::thread::sleep(Duration::from_millis(200));

    // Without the session cache (every request reads the session and the account), then
    // with it (a checked session and its `me` reused for a second while nothing was written).
    state.svc.set_session_cache(chrono::Duration::zero());
    let rate = measure(addr, &session, conns, secs);
    println!("authenticated GET /api/v1/me (SQLite, no session cache): {rate:.0}/s over {secs} s, {conns} connections");
    state.svc.set_session_cache(chrono::Duration::seconds(1));
    let rate = measure(addr, &session, conns, secs);
    println!("authenticated GET /api/v1/me (SQLite, session cache 1 s): {rate:.0}/s over {secs} s, {conns} connections");
    println!("  goal ≥ 20,000/s on 2 cores: {}", if rate >= 20_000.0 { "met" } else { "NOT met" });
}

/// Authenticated `GET /api/v1/me` per second from `conns` keep-alive connections for `secs`.
fn measure(addr: std::net::SocketAddr, session: &str, conns: usize, secs: u64) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let stop_at = Instant::now() + Duration::from_secs(secs);
    let request = format!("GET /api/v1/me HTTP/1.1\r\nHost: {addr}\r\nCookie: kyso_session={session}\r\n\r\n");
    let threads: Vec<_> = (0..conns)
        .map(|_| {
            let (done, request) = (done.clone(), request.clone());
            std::thread::spawn(move || {
                let stream = std::net::TcpStream::connect(addr).unwrap();
                stream.set_nodelay(true).unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut writer = stream;
                while Instant::now() < stop_at {
                    writer.write_all(request.as_bytes()).unwrap();
                    let (mut status, mut len) = (String::new(), 0usize);
                    reader.read_line(&mut status).unwrap();
                    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
                    loop {
                        let mut line = String::new();
                        reader.read_line(&mut line).unwrap();
                        if line == "\r\n" {
                            break;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            len = v.trim().parse().unwrap();
                        }
                    }
                    let mut body = vec![0u8; len];
                    reader.read_exact(&mut body).unwrap();
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let started = Instant::now();
    for t in threads {
        t.join().unwrap();
    }
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}
