//! Logins, sessions and API tokens against a running `kyso serve` on a demo province: what a
//! browser and a script see over HTTP (issue 12).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;

mod common;

const PASSWORD: &str = "Tập huấn chữ ký số 2026";

fn kyso(args: &[&str], data: &Path) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kyso"));
    c.args(args).arg("--data").arg(data).env_remove("KYSO_DB").env_remove("KYSO_USER").env_remove("KYSO_NOW");
    c.stdin(Stdio::null()).output().expect("kyso runs")
}

struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn serve(data: &Path, listen_ip: &str, extra: &[&str]) -> (Server, String) {
    serve_at(data, listen_ip, free_port(), extra, &[])
}

fn serve_at(data: &Path, listen_ip: &str, port: u16, extra: &[&str], envs: &[(&str, &str)]) -> (Server, String) {
    let errors = data.join(format!("serve-{port}.err"));
    let child = Command::new(env!("CARGO_BIN_EXE_kyso"))
        .args(["serve", "--listen", &format!("{listen_ip}:{port}"), "--no-ca-token", "--data"])
        .arg(data)
        .args(extra)
        .envs(envs.iter().copied())
        .env_remove("KYSO_NOW")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&errors).unwrap())
        .spawn()
        .unwrap();
    let server = Server(child);
    let addr = format!("127.0.0.1:{port}");
    for _ in 0..200 {
        if std::net::TcpStream::connect(&addr).is_ok() {
            return (server, addr);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("kyso serve did not start on {addr}: {}", std::fs::read_to_string(&errors).unwrap_or_default());
}

/// One demo province for the tests of this file (the demo takes a few seconds), the
/// manager's TOTP secret it printed, and all it printed.
fn demo() -> &'static (tempfile::TempDir, String, serde_json::Value) {
    static DEMO: OnceLock<(tempfile::TempDir, String, serde_json::Value)> = OnceLock::new();
    DEMO.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let o = kyso(&["demo", "--json"], dir.path());
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["password"], PASSWORD);
        (dir, v["manager_totp_secret"].as_str().unwrap().to_string(), v)
    })
}

struct Reply {
    status: u16,
    headers: HashMap<String, Vec<String>>,
    body: String,
}

impl Reply {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("not JSON: {}", self.body))
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.first()).map(String::as_str)
    }
    /// The session cookie this reply sets, with its attributes.
    fn set_cookie(&self) -> Option<&str> {
        self.headers.get("set-cookie")?.iter().find(|c| c.starts_with("kyso_session=")).map(String::as_str)
    }
    fn session(&self) -> String {
        let c = self.set_cookie().expect("a session cookie");
        c.split(';').next().unwrap().trim_start_matches("kyso_session=").to_string()
    }
}

/// A plain HTTP/1.1 request, so that the test controls every header a browser would send.
fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req.push_str(&format!("Host: {addr}\r\n"));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    // Regression (CI, once): a server that closes a `Connection: close` socket may send a
    // reset after the whole answer; what was read before it is the answer.
    if let Err(e) = s.read_to_end(&mut raw) {
        assert!(e.kind() == std::io::ErrorKind::ConnectionReset && raw.windows(4).any(|w| w == b"\r\n\r\n"), "{e}");
    }
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let mut headers: HashMap<String, Vec<String>> = HashMap::new();
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            headers.entry(k.trim().to_lowercase()).or_default().push(v.trim().to_string());
        }
    }
    Reply { status, headers, body: body.to_string() }
}

const JSON: (&str, &str) = ("Content-Type", "application/json");

fn login(addr: &str, login: &str, password: &str, totp: Option<&str>) -> Reply {
    let body = match totp {
        Some(t) => serde_json::json!({"login": login, "password": password, "totp": t}),
        None => serde_json::json!({"login": login, "password": password}),
    };
    http(addr, "POST", "/auth/login", &[JSON], &body.to_string())
}

fn cookie(id: &str) -> String {
    format!("kyso_session={id}")
}

fn me(addr: &str, id: &str) -> Reply {
    http(addr, "GET", "/api/v1/me", &[("Cookie", &cookie(id))], "")
}

/// The code an authenticator app shows now (the server reads the same clock).
#[allow(clippy::disallowed_methods)]
fn totp_now(secret: &str) -> String {
    kyso_service::totp_code(secret, chrono::Utc::now()).unwrap()
}

/// The code of the next 30-second step, which the server also accepts (one step of drift):
/// the demo may have used the current step's code to enrol, and a code works once.
#[allow(clippy::disallowed_methods)]
fn totp_next(secret: &str) -> String {
    kyso_service::totp_code(secret, chrono::Utc::now() + chrono::Duration::seconds(30)).unwrap()
}

#[test]
fn password_logins_cookies_delays_and_the_second_factor() {
    let (dir, manager_totp, _) = demo();
    let (_s, addr) = serve(dir.path(), "127.0.0.1", &[]);

    // A subscriber logs in; the cookie is HttpOnly and SameSite=Strict (not Secure on loopback).
    let ok = login(&addr, "giamdoc.snv", PASSWORD, None);
    assert_eq!(ok.status, 200, "{}", ok.body);
    let c = ok.set_cookie().unwrap();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(c.contains(attr), "{c}");
    }
    assert!(!c.contains("Secure"), "a loopback development server: {c}");
    let m = me(&addr, &ok.session()).json();
    assert_eq!(m["login"], "giamdoc.snv");
    assert_eq!(m["method"], "password");
    assert_eq!(m["roles"][0]["role"], "subscriber");

    // A new session id at every login, whatever cookie the browser had.
    let again = http(
        &addr,
        "POST",
        "/auth/login",
        &[JSON, ("Cookie", &cookie(&ok.session()))],
        &format!(r#"{{"login":"giamdoc.snv","password":"{PASSWORD}"}}"#),
    );
    assert_eq!(again.status, 200);
    assert_ne!(again.session(), ok.session());

    // A wrong password and an unknown login get the same 401 problem.
    let wrong = login(&addr, "giamdoc.snv", "không phải mật khẩu", None);
    let unknown = login(&addr, "khong-co-tai-khoan", PASSWORD, None);
    for r in [&wrong, &unknown] {
        assert_eq!(r.status, 401);
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
        assert_eq!(r.json()["code"], "bad_credentials");
        assert_eq!(r.json()["detail"], "tên đăng nhập hoặc mật khẩu không đúng");
    }

    // Five failures, then a growing delay answered with 429 and Retry-After.
    for _ in 0..5 {
        assert_eq!(login(&addr, "phogiamdoc.snv", "sai mật khẩu lần nữa", None).status, 401);
    }
    let slowed = login(&addr, "phogiamdoc.snv", PASSWORD, None);
    assert_eq!(slowed.status, 429, "{}", slowed.body);
    assert!(slowed.header("retry-after").is_some_and(|s| s.parse::<i64>().unwrap() >= 1));

    // The provincial manager needs the TOTP code.
    let no_code = login(&addr, "qltb", PASSWORD, None);
    assert_eq!((no_code.status, no_code.json()["code"].as_str()), (401, Some("second_factor_required")));
    let with_code = login(&addr, "qltb", PASSWORD, Some(&totp_next(manager_totp)));
    assert_eq!(with_code.status, 200, "{}", with_code.body);
    assert_eq!(me(&addr, &with_code.session()).json()["method"], "password_totp");

    // The auditor has no TOTP yet: the session may only enrol it, then it may act.
    let aud = login(&addr, "kiemtra", PASSWORD, None);
    assert_eq!(aud.json()["pending"], "enrol_totp");
    let id = aud.session();
    let csrf = aud.json()["csrf"].as_str().unwrap().to_string();
    let blocked = me(&addr, &id);
    assert_eq!((blocked.status, blocked.json()["code"].as_str()), (403, Some("totp_enrolment_required")));
    let h = [JSON, ("Cookie", &cookie(&id)), ("X-CSRF-Token", &csrf)];
    let begun = http(&addr, "POST", "/auth/totp", &h, "{}").json();
    let secret = begun["secret"].as_str().unwrap().to_string();
    let confirmed = http(&addr, "POST", "/auth/totp", &h, &format!(r#"{{"code":"{}"}}"#, totp_now(&secret)));
    assert_eq!(confirmed.status, 200, "{}", confirmed.body);
    assert_eq!(confirmed.json()["recovery_codes"].as_array().unwrap().len(), 10);
    assert_eq!(me(&addr, &id).json()["login"], "kiemtra");
}

#[test]
fn a_non_loopback_server_marks_the_cookie_secure() {
    let (dir, _, _) = demo();
    let (_s, addr) = serve(dir.path(), "0.0.0.0", &[]);
    let ok = login(&addr, "chuyenvien.snv", PASSWORD, None);
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert!(ok.set_cookie().unwrap().contains("; Secure"), "{:?}", ok.set_cookie());
}

#[test]
fn cross_origin_posts_are_refused_and_logout_everywhere_ends_every_session() {
    let (dir, _, _) = demo();
    let (_s, addr) = serve(dir.path(), "127.0.0.1", &[]);
    let a = login(&addr, "vanthu.snv", PASSWORD, None);
    let b = login(&addr, "vanthu.snv", PASSWORD, None);
    let (id, csrf) = (a.session(), a.json()["csrf"].as_str().unwrap().to_string());
    let own = format!("http://{addr}");
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], u16, &'a str);
    let cases: &[Case<'_>] = &[
        ("another site's Origin", &[("Origin", "http://evil.example"), ("X-CSRF-Token", &csrf)], 403, "cross_origin"),
        ("a cross-site fetch without Origin", &[("Sec-Fetch-Site", "cross-site"), ("X-CSRF-Token", &csrf)], 403, "cross_origin"),
        ("this origin but no CSRF token", &[("Origin", &own)], 403, "csrf"),
        ("this origin and a wrong CSRF token", &[("Origin", &own), ("X-CSRF-Token", "sai")], 403, "csrf"),
    ];
    let session_cookie = cookie(&id);
    for (what, extra, status, code) in cases {
        let mut h = vec![JSON, ("Cookie", session_cookie.as_str())];
        h.extend_from_slice(extra);
        let r = http(&addr, "POST", "/auth/logout", &h, r#"{"everywhere":true}"#);
        assert_eq!((r.status, r.json()["code"].as_str().unwrap().to_string()), (*status, code.to_string()), "{what}");
    }
    // A login posted from another site is refused too (login CSRF).
    let r = http(
        &addr,
        "POST",
        "/auth/login",
        &[JSON, ("Origin", "http://evil.example")],
        &format!(r#"{{"login":"vanthu.snv","password":"{PASSWORD}"}}"#),
    );
    assert_eq!(r.status, 403);
    // The same request from this origin, as an HTML form with the token in `_csrf`.
    let form = format!("everywhere=true&_csrf={csrf}");
    let r = http(
        &addr,
        "POST",
        "/auth/logout",
        &[("Content-Type", "application/x-www-form-urlencoded"), ("Cookie", &cookie(&id)), ("Origin", &own)],
        &form,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["ended"], 2);
    assert!(r.set_cookie().unwrap().contains("Max-Age=0"));
    for s in [a.session(), b.session()] {
        assert_eq!(me(&addr, &s).status, 401);
    }
}

#[test]
fn an_api_token_carries_only_its_roles_and_stops_when_revoked() {
    let (dir, _, _) = demo();
    let (_s, addr) = serve(dir.path(), "127.0.0.1", &[]);
    let l = login(&addr, "cqqltt.snv", PASSWORD, None);
    assert_eq!(l.status, 200, "{}", l.body);
    let (id, csrf) = (l.session(), l.json()["csrf"].as_str().unwrap().to_string());
    let held: Vec<String> =
        me(&addr, &id).json()["roles"].as_array().unwrap().iter().map(|r| r["role"].as_str().unwrap().to_string()).collect();
    assert!(held.contains(&"agency_officer".to_string()), "{held:?}");
    let h = [JSON, ("Cookie", &cookie(&id) as &str), ("X-CSRF-Token", &csrf)];
    let refused = http(&addr, "POST", "/api/v1/tokens", &h, r#"{"name":"x","roles":["it_staff"],"days":30}"#);
    assert_eq!((refused.status, refused.json()["code"].as_str()), (403, Some("forbidden")));
    let made = http(&addr, "POST", "/api/v1/tokens", &h, r#"{"name":"báo cáo hằng tuần","roles":["agency_officer"],"days":30}"#);
    assert_eq!(made.status, 201, "{}", made.body);
    let secret = made.json()["secret"].as_str().unwrap().to_string();
    let tid = made.json()["id"].as_i64().unwrap();
    let bearer = format!("Bearer {secret}");
    let via_token = http(&addr, "GET", "/api/v1/me", &[("Authorization", &bearer)], "").json();
    assert_eq!(via_token["method"], "api_token");
    let roles: Vec<&str> = via_token["roles"].as_array().unwrap().iter().map(|r| r["role"].as_str().unwrap()).collect();
    assert_eq!(roles, vec!["agency_officer"], "{roles:?}");
    // A token cannot make tokens; it may revoke itself, and is refused after.
    let r =
        http(&addr, "POST", "/api/v1/tokens", &[JSON, ("Authorization", &bearer)], r#"{"name":"y","roles":["agency_officer"],"days":1}"#);
    assert_eq!(r.status, 403);
    let r = http(&addr, "DELETE", &format!("/api/v1/tokens/{tid}"), &[("Authorization", &bearer)], "");
    assert_eq!(r.status, 204, "{}", r.body);
    let r = http(&addr, "GET", "/api/v1/me", &[("Authorization", &bearer)], "");
    assert_eq!((r.status, r.json()["code"].as_str()), (401, Some("bad_token")));
}

/// No password, TOTP secret or code, recovery code, API token, session id or CSRF token
/// reaches the log.
#[test]
fn the_log_has_request_ids_and_no_secrets() {
    let (dir, _, _) = demo();
    let log = dir.path().join(format!("serve-{}.log", std::process::id()));
    let (s, addr) = serve(dir.path(), "127.0.0.1", &["--log-file", log.to_str().unwrap()]);
    let mut secrets = vec![PASSWORD.to_string(), "sai-mật-khẩu-bí-mật".to_string()];
    let _ = login(&addr, "chuyenvien.snv", "sai-mật-khẩu-bí-mật", None);
    // IT staff: enrol TOTP at the first login, then make a token.
    let l = login(&addr, "cntt", PASSWORD, None);
    assert_eq!(l.json()["pending"], "enrol_totp", "{}", l.body);
    let (id, csrf) = (l.session(), l.json()["csrf"].as_str().unwrap().to_string());
    let h = [JSON, ("Cookie", &cookie(&id) as &str), ("X-CSRF-Token", &csrf)];
    let secret = http(&addr, "POST", "/auth/totp", &h, "{}").json()["secret"].as_str().unwrap().to_string();
    let code = totp_now(&secret);
    let confirmed = http(&addr, "POST", "/auth/totp", &h, &format!(r#"{{"code":"{code}"}}"#)).json();
    let t = http(&addr, "POST", "/api/v1/tokens", &h, r#"{"name":"t","roles":["it_staff"],"days":1}"#);
    assert_eq!(t.status, 201, "{}", t.body);
    let codes = http(&addr, "POST", "/auth/recovery-codes", &h, "{}").json();
    secrets.extend([secret, code, id.clone(), csrf.clone(), t.json()["secret"].as_str().unwrap().to_string()]);
    for list in [&confirmed["recovery_codes"], &codes["recovery_codes"]] {
        secrets.extend(list.as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()));
    }
    drop(s);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("path=/auth/login") && text.contains("request{id="), "{text}");
    for secret in &secrets {
        assert!(!text.contains(secret.as_str()), "the log holds a secret: {secret}");
    }
}

/// Sessions live in the database: two servers on one PostgreSQL accept the same cookie, and a
/// logout on one ends it on the other.
#[test]
fn two_servers_on_one_postgres_share_sessions() {
    let Some(base) = std::env::var("KYSO_TEST_PG_URL").ok().filter(|s| !s.is_empty()) else {
        assert!(!kyso_testkit::require("KYSO_TEST_REQUIRE_PG"), "KYSO_TEST_REQUIRE_PG is set but KYSO_TEST_PG_URL is not");
        return;
    };
    let Some(psql) = kyso_testkit::system_tool("psql") else {
        assert!(!kyso_testkit::require("KYSO_TEST_REQUIRE_PG_TOOLS"), "psql is required");
        return;
    };
    let mut tag = [0u8; 4];
    kyso_token::random_bytes(&mut tag);
    let name = format!("kyso_web_{}_{}", std::process::id(), hex::encode(tag));
    assert!(Command::new(&psql).arg(&base).args(["-qc", &format!("CREATE DATABASE {name}")]).status().unwrap().success());
    let url = format!("{}/{name}", base.rsplit_once('/').unwrap().0);
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let o = kyso(&["demo", "--db", &url], &data);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (_a, addr_a) = serve(&data, "127.0.0.1", &["--db", &url]);
    let (_b, addr_b) = serve(&data, "127.0.0.1", &["--db", &url]);
    let l = login(&addr_a, "giamdoc.snv", PASSWORD, None);
    assert_eq!(l.status, 200, "{}", l.body);
    let (id, csrf) = (l.session(), l.json()["csrf"].as_str().unwrap().to_string());
    assert_eq!(me(&addr_b, &id).json()["login"], "giamdoc.snv");
    let r = http(&addr_b, "POST", "/auth/logout", &[JSON, ("Cookie", &cookie(&id)), ("X-CSRF-Token", &csrf)], "{}");
    assert_eq!(r.status, 200, "{}", r.body);
    // Each server reuses a checked session for at most a second (the session cache); past
    // that, the other server's logout is seen.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(me(&addr_a, &id).status, 401);
    drop((_a, _b));
    let _ = Command::new(&psql).arg(&base).args(["-qc", &format!("DROP DATABASE {name} WITH (FORCE)")]).status();
}

/// Certificate login (issue 12). The holder pairs the agent with the login page (the code the
/// agent shows, typed into the page), the page gets a challenge naming this server's origin,
/// the agent shows it and signs with the PIN, and the server checks the signature, the path,
/// revocation and the registry. The agent signs nothing for a page it was not paired with, nor
/// a challenge that names another origin. A trusted proxy may forward a client certificate
/// (RFC 9440); from anyone else the header is ignored.
#[test]
fn certificate_login_through_the_agent_and_a_trusted_proxy() {
    let (dir, _, v) = demo();
    let (_s, addr) = serve(dir.path(), "127.0.0.1", &[]);
    let origin = format!("http://{addr}");
    let signer = &v["signers"][0];
    let (login, token) = (signer["login"].as_str().unwrap(), signer["token"].as_str().unwrap());
    let agent = common::start_agent(dir.path(), token, Some(&["123456"]), &[]);
    let agent_addr = agent.url.trim_start_matches("http://").to_string();
    fn from_page(o: &str) -> Vec<(&str, &str)> {
        vec![JSON, ("Origin", o)]
    }
    let own = from_page(&origin);

    // A challenge for a Host the operator did not list is refused (a phishing site's server
    // could otherwise relay one that names its own origin).
    let spoofed = http(&addr, "POST", "/auth/challenge", &[JSON, ("Host", "evil.example")], "");
    assert_eq!((spoofed.status, spoofed.json()["code"].as_str()), (421, Some("unknown_origin")), "{}", spoofed.body);
    // Before pairing, the agent signs nothing for the page.
    let c = http(&addr, "POST", "/auth/challenge", &own, "").json();
    let text = c["text"].as_str().unwrap().to_string();
    assert!(text.starts_with(&format!("kyso: đăng nhập vào {origin}\n")), "{text}");
    let ask = |o: &str, t: &str| http(&agent_addr, "POST", "/login/sign", &from_page(o), &serde_json::json!({"text": t}).to_string());
    let r = ask(&origin, &text);
    assert_eq!((r.status, r.json()["error"].as_str()), (403, Some("not_paired")), "{}", r.body);
    // A wrong code, then the code the agent shows; the preflight lets the page read answers.
    let pair = |code: &str| http(&agent_addr, "POST", "/login/pair", &own, &serde_json::json!({"code": code}).to_string());
    assert_eq!(pair("000000x").status, 403);
    let pre = http(&agent_addr, "OPTIONS", "/login/sign", &[("Origin", &origin), ("Access-Control-Request-Method", "POST")], "");
    assert_eq!((pre.status, pre.header("access-control-allow-origin")), (204, Some(origin.as_str())));
    let r = pair(&agent.code);
    assert_eq!(r.status, 200, "{}", r.body);
    // Paired: a challenge naming another origin is still refused.
    let r = ask(&origin, &text.replacen(&origin, "https://trang-khac.example", 1));
    assert_eq!(r.status, 403, "{}", r.body);
    let signed = ask(&origin, &text);
    assert_eq!(signed.status, 200, "{}", signed.body);
    assert_eq!(signed.header("access-control-allow-origin"), Some(origin.as_str()));
    let (sig, cert) = (signed.json()["signature"].as_str().unwrap().to_string(), signed.json()["cert"].as_str().unwrap().to_string());
    // This official has two accounts: the page sends the login with the certificate.
    let body = serde_json::json!({"challenge": c["id"], "signature": sig, "login": login}).to_string();
    let ok = http(&addr, "POST", "/auth/certificate", &own, &body);
    assert_eq!(ok.status, 200, "{}", ok.body);
    let m = me(&addr, &ok.session()).json();
    assert_eq!((m["login"].as_str(), m["method"].as_str()), (Some(login), Some("certificate")), "{m}");
    // The same answer twice is refused; so is a login posted from another site.
    let again = http(&addr, "POST", "/auth/certificate", &own, &body);
    assert_eq!((again.status, again.json()["code"].as_str()), (401, Some("bad_certificate")), "{}", again.body);
    assert_eq!(http(&addr, "POST", "/auth/certificate", &from_page("http://evil.example"), &body).status, 403);
    let seen: Vec<String> = agent.lines.try_iter().collect();
    assert!(seen.iter().any(|l| l.contains("Yêu cầu đăng nhập bằng chứng thư số")), "the agent shows what it signs: {seen:?}");

    // The certificate as a proxy forwards it: ignored from this client, believed from a
    // trusted proxy.
    let forwarded = format!(":{cert}:");
    let h = [JSON, ("Client-Cert", forwarded.as_str())];
    let with_login = serde_json::json!({ "login": login }).to_string();
    let r = http(&addr, "POST", "/auth/certificate", &h, &with_login);
    assert_eq!((r.status, r.json()["code"].as_str()), (401, Some("no_client_certificate")), "{}", r.body);
    let (_p, proxied) = serve(dir.path(), "127.0.0.1", &["--trusted-proxy", "127.0.0.1"]);
    let r = http(&proxied, "POST", "/auth/certificate", &h, &with_login);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(me(&proxied, &r.session()).json()["method"], "certificate");
}

/// `kyso serve --tls-cert --tls-key` speaks HTTPS, sets a Secure cookie, and asks for a client
/// certificate without requiring one; a client certificate that no trusted CA issued cannot
/// log in (one of a trusted CA that is not in the registry: the service test
/// `certificate_login_checks_the_proof_the_path_revocation_and_the_registry`).
#[test]
fn tls_serves_https_and_refuses_an_untrusted_client_certificate() {
    let (Some(openssl), Some(curl)) = (kyso_testkit::system_tool("openssl"), kyso_testkit::system_tool("curl")) else { return };
    let (dir, _, _) = demo();
    let tls = tempfile::tempdir().unwrap();
    let t = tls.path();
    let run = |prog: &Path, args: &[&str]| {
        let o = Command::new(prog).current_dir(t).args(args).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let self_signed = |name: &str, subject: &str, ext: &str| {
        let args = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "3650"];
        let mut a: Vec<&str> = args.to_vec();
        let (key, crt) = (format!("{name}.key"), format!("{name}.crt"));
        a.extend(["-keyout", &key, "-out", &crt, "-utf8", "-subj", subject, "-addext", ext]);
        run(&openssl, &a);
    };
    self_signed("server", "/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1");
    self_signed("client", "/CN=Người ngoài sổ đăng ký/C=VN", "keyUsage=digitalSignature");
    let (cert, key) = (t.join("server.crt"), t.join("server.key"));
    let (_s, addr) = serve(dir.path(), "127.0.0.1", &["--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()]);
    let url = format!("https://{addr}");
    let post = |path: &str, client: bool, body: &str| {
        let mut a = vec!["-s", "-i", "--cacert", "server.crt", "-X", "POST", "-H", "Content-Type: application/json", "--data", body];
        if client {
            a.extend(["--cert", "client.crt", "--key", "client.key"]);
        }
        let full = format!("{url}{path}");
        a.push(&full);
        run(&curl, &a)
    };
    let r = post("/auth/login", false, &format!(r#"{{"login":"chuyenvien.snv","password":"{PASSWORD}"}}"#));
    assert!(r.starts_with("HTTP/1.1 200") && r.contains("; Secure"), "{r}");
    let r = post("/auth/certificate", false, "{}");
    assert!(r.contains("no_client_certificate"), "{r}");
    // A certificate no trusted CA issued is refused before the registry is even asked.
    let r = post("/auth/certificate", true, "{}");
    assert!(r.starts_with("HTTP/1.1 401") && r.contains("bad_certificate") && r.contains("không hợp lệ"), "{r}");
}

/// The test OpenID provider (npm `oidc-provider`, scripts/oidc) on a free port, for
/// `redirect_uri`, with these accounts; its address. None when its packages are not
/// installed (scripts/test.sh installs them and sets KYSO_TEST_REQUIRE_OIDC).
fn oidc_provider(dir: &Path, redirect_uri: &str, accounts: &serde_json::Value) -> Option<(Server, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/oidc");
    if !root.join("node_modules/oidc-provider").is_dir() {
        assert!(!kyso_testkit::require("KYSO_TEST_REQUIRE_OIDC"), "KYSO_TEST_REQUIRE_OIDC is set but scripts/oidc is not installed");
        return None;
    }
    let file = dir.join(format!("oidc-accounts-{}.json", std::process::id()));
    std::fs::write(&file, accounts.to_string()).unwrap();
    let mut child = Command::new("node")
        .arg(root.join("provider.mjs"))
        .envs([
            ("OIDC_PORT", "0"),
            ("OIDC_CLIENT_ID", "kyso"),
            ("OIDC_CLIENT_SECRET", "kyso-test-client-secret-2026"),
            ("OIDC_REDIRECT_URI", redirect_uri),
            ("OIDC_ACCOUNTS", file.to_str().unwrap()),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("node runs");
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
    let addr = line.trim().strip_prefix("listening http://").unwrap_or_else(|| panic!("the provider said {line:?}")).to_string();
    Some((Server(child), addr))
}

/// What a browser does between `/auth/oidc/start` and the callback: follows kyso to the
/// provider, logs in there as `sub` (with a second factor or not), keeps the provider's
/// cookies, and comes back; the callback's reply.
fn single_sign_on(kyso_addr: &str, provider: &str, sub: &str, mfa: bool) -> Reply {
    single_sign_on_in(kyso_addr, provider, sub, mfa, true)
}

/// [`single_sign_on`], where the callback may come from another browser (without the cookie
/// that `/auth/oidc/start` set).
fn single_sign_on_in(kyso_addr: &str, provider: &str, sub: &str, mfa: bool, same_browser: bool) -> Reply {
    let start = http(kyso_addr, "GET", "/auth/oidc/start", &[], "");
    assert_eq!(start.status, 303, "{}", start.body);
    let binding = start.headers["set-cookie"].iter().find(|c| c.starts_with("kyso_oidc=")).expect("the browser's cookie").clone();
    assert!(binding.contains("HttpOnly") && binding.contains("SameSite=Lax") && binding.contains("Path=/auth/oidc/"), "{binding}");
    let binding = binding.split(';').next().unwrap().to_string();
    let mut location = start.header("location").unwrap().to_string();
    let mut jar: Vec<String> = Vec::new();
    let mut form = Some(format!("login={sub}{}", if mfa { "&mfa=1" } else { "" }));
    for _ in 0..6 {
        let path_of = |url: &str| url.strip_prefix(&format!("http://{provider}")).unwrap_or(url).to_string();
        if let Some(rest) = location.strip_prefix(&format!("http://{kyso_addr}")) {
            let h: &[(&str, &str)] = if same_browser { &[("Cookie", binding.as_str())] } else { &[] };
            return http(kyso_addr, "GET", rest, h, "");
        }
        let path = path_of(&location);
        let cookies = jar.join("; ");
        let mut h = vec![("Cookie", cookies.as_str())];
        let r = if path.starts_with("/interaction/") && form.is_some() {
            h.push(("Content-Type", "application/x-www-form-urlencoded"));
            http(provider, "POST", &format!("{path}/login"), &h, &form.take().unwrap())
        } else {
            http(provider, "GET", &path, &h, "")
        };
        for c in r.headers.get("set-cookie").into_iter().flatten() {
            let pair = c.split(';').next().unwrap().to_string();
            let name = pair.split('=').next().unwrap().to_string();
            jar.retain(|p| !p.starts_with(&format!("{name}=")));
            jar.push(pair);
        }
        if r.status != 303 {
            return r;
        }
        location = r.header("location").unwrap().to_string();
    }
    panic!("the provider never sent the browser back to kyso");
}

/// Single sign-on (issue 12) against a real OpenID provider: the claims name an account by
/// citizen ID, else by e-mail; an unknown person gets none; a manager whose provider did not
/// use a second factor must still give the account's TOTP; a callback works once.
#[test]
fn single_sign_on_with_a_real_openid_provider() {
    let (dir, _, _) = demo();
    let d = dir.path();
    let port = free_port();
    let redirect = format!("http://127.0.0.1:{port}/auth/oidc/callback");
    let accounts = serde_json::json!([
        {"sub": "ha", "email": "le.thi.ha.sso@bacninh.gov.vn", "citizen_id": "027190000101", "name": "Lê Thị Hà", "mfa": true},
        {"sub": "son", "email": "tran.van.son.sso@bacninh.gov.vn", "name": "Trần Văn Sơn", "mfa": false},
        {"sub": "la", "email": "nguoi.la@example.com", "citizen_id": "099999999999", "name": "Người Lạ", "mfa": false},
    ]);
    let Some((_p, provider)) = oidc_provider(d, &redirect, &accounts) else { return };
    // Two officials with accounts: a provincial manager (known by citizen ID) and a
    // subscriber (known by e-mail only).
    for (name, cid, born, gender, email, login, role, agency) in [
        ("Lê Thị Hà", "027190000101", "1990-01-01", "nữ", "le.thi.ha.sso@bacninh.gov.vn", "sso.quanly", "provincial_manager", "UBND-BN"),
        ("Trần Văn Sơn", "027088000102", "1988-01-01", "nam", "tran.van.son.sso@bacninh.gov.vn", "sso.chuyenvien", "subscriber", "SNV"),
    ] {
        let steps: [&[&str]; 3] = [
            &[
                "person",
                "add",
                "--name",
                name,
                "--citizen-id",
                cid,
                "--born",
                born,
                "--gender",
                gender,
                "--position",
                "Chuyên viên",
                "--agency",
                agency,
                "--email",
                email,
            ],
            &["user", "add", login, "--citizen-id", cid],
            &["user", "grant", login, "--role", role, "--agency", agency],
        ];
        for args in steps {
            let o = kyso(args, d);
            assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
        }
    }
    let mut c = Command::new(env!("CARGO_BIN_EXE_kyso"));
    c.args(["user", "password", "sso.quanly", "--lasting", "--data"]).arg(d).env("KYSO_NEW_PASSWORD", PASSWORD).stdin(Stdio::null());
    assert!(c.output().unwrap().status.success());
    let issuer = format!("http://{provider}");
    let (_s, addr) = serve_at(
        d,
        "127.0.0.1",
        port,
        &["--oidc-issuer", &issuer, "--oidc-client-id", "kyso"],
        &[("KYSO_OIDC_CLIENT_SECRET", "kyso-test-client-secret-2026")],
    );
    // The manager enrols TOTP with the password first (the roles need it).
    let l = login(&addr, "sso.quanly", PASSWORD, None);
    assert_eq!(l.json()["pending"], "enrol_totp", "{}", l.body);
    let (id, csrf) = (l.session(), l.json()["csrf"].as_str().unwrap().to_string());
    let h = [JSON, ("Cookie", &cookie(&id) as &str), ("X-CSRF-Token", &csrf)];
    let secret = http(&addr, "POST", "/auth/totp", &h, "{}").json()["secret"].as_str().unwrap().to_string();
    assert_eq!(http(&addr, "POST", "/auth/totp", &h, &format!(r#"{{"code":"{}"}}"#, totp_now(&secret))).status, 200);

    // With a second factor at the provider: in at once.
    let r = single_sign_on(&addr, &provider, "ha", true);
    assert_eq!(r.status, 200, "{}", r.body);
    let m = me(&addr, &r.session()).json();
    assert_eq!((m["login"].as_str(), m["method"].as_str()), (Some("sso.quanly"), Some("oidc_mfa")), "{m}");
    // Without one: the session waits for the account's TOTP code.
    let r = single_sign_on(&addr, &provider, "ha", false);
    assert_eq!(r.status, 200, "{}", r.body);
    let sid = r.session();
    let csrf = r.body.split("name=\"csrf-token\" content=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    assert!(r.body.contains("content=\"totp\""), "{}", r.body);
    let waiting = me(&addr, &sid);
    assert_eq!((waiting.status, waiting.json()["code"].as_str()), (401, Some("second_factor_required")), "{}", waiting.body);
    let h = [JSON, ("Cookie", &cookie(&sid) as &str), ("X-CSRF-Token", &csrf)];
    // Regression (issue 12 review): one factor was enough to guess the kyso password here.
    let guess = http(&addr, "POST", "/auth/password", &h, r#"{"old_password":"đoán thử","new_password":"Mật khẩu mới dài đủ 2026"}"#);
    assert_eq!((guess.status, guess.json()["code"].as_str()), (401, Some("second_factor_required")), "{}", guess.body);
    let wrong = http(&addr, "POST", "/auth/second-factor", &h, r#"{"code":"000000"}"#);
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    let ok = http(&addr, "POST", "/auth/second-factor", &h, &format!(r#"{{"code":"{}"}}"#, totp_next(&secret)));
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(me(&addr, &sid).json()["method"], "oidc_totp");
    // Known by e-mail; a role without a second factor.
    let r = single_sign_on(&addr, &provider, "son", false);
    assert_eq!(r.status, 200, "{}", r.body);
    let m = me(&addr, &r.session()).json();
    assert_eq!((m["login"].as_str(), m["method"].as_str()), (Some("sso.chuyenvien"), Some("oidc")), "{m}");
    // A person the registry does not know gets no account.
    let r = single_sign_on(&addr, &provider, "la", false);
    assert_eq!((r.status, r.json()["code"].as_str()), (401, Some("oidc_failed")), "{}", r.body);
    assert!(r.json()["detail"].as_str().unwrap().contains("không ứng với tài khoản nào"), "{}", r.body);
    assert!(r.set_cookie().is_none());
    // A callback opened in another browser (a victim sent the attacker's link) is refused.
    let r = single_sign_on_in(&addr, &provider, "son", false, false);
    assert_eq!((r.status, r.json()["code"].as_str()), (401, Some("oidc_failed")), "{}", r.body);
    assert!(r.json()["detail"].as_str().unwrap().contains("trình duyệt"), "{}", r.body);
    // A forged or replayed state is refused.
    let r = http(&addr, "GET", "/auth/oidc/callback?code=abc&state=gia-mao", &[], "");
    assert_eq!((r.status, r.json()["code"].as_str()), (401, Some("oidc_failed")), "{}", r.body);
}

/// Certificates of another trusted CA (the government CA, in production) over HTTP, through a
/// trusted proxy's `Client-Cert`: the server fetches the CA's CRL from the distribution point
/// the certificate names; a revoked one is refused, and one that is not revoked but not in the
/// registry is refused too.
#[test]
fn certificate_login_refuses_a_revoked_certificate_and_one_outside_the_registry() {
    let Some(openssl) = kyso_testkit::system_tool("openssl") else { return };
    let (dir, _, _) = demo();
    let ca = tempfile::tempdir().unwrap();
    let c = ca.path();
    let run = |args: &[&str]| {
        let o = Command::new(&openssl).current_dir(c).args(args).output().unwrap();
        assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    };
    // A CRL distribution point on loopback.
    let crl_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let crl_url = format!("http://{}/ca.crl", crl_listener.local_addr().unwrap());
    run(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "3650",
        "-utf8",
        "-subj",
        "/C=VN/O=Ban Cơ yếu Chính phủ (thử)/CN=CA ngoài (OpenSSL)",
    ]);
    std::fs::write(
        c.join("ca.cnf"),
        "[ca]\ndefault_ca = x\n[x]\ndatabase = index.txt\ncrlnumber = crlnumber\ndefault_md = sha256\ndefault_crl_days = 7\n",
    )
    .unwrap();
    std::fs::write(c.join("index.txt"), "").unwrap();
    std::fs::write(c.join("crlnumber"), "01\n").unwrap();
    std::fs::write(
        c.join("leaf.ext"),
        format!("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\nauthorityKeyIdentifier=keyid\ncrlDistributionPoints=URI:{crl_url}\n"),
    )
    .unwrap();
    for name in ["outsider", "revoked"] {
        let (key, csr, crt) = (format!("{name}.key"), format!("{name}.csr"), format!("{name}.pem"));
        run(&[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &csr,
            "-utf8",
            "-subj",
            &format!("/C=VN/CN={name}"),
        ]);
        run(&[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "365",
            "-sha256",
            "-extfile",
            "leaf.ext",
            "-out",
            &crt,
        ]);
    }
    run(&["ca", "-config", "ca.cnf", "-keyfile", "ca.key", "-cert", "ca.pem", "-revoke", "revoked.pem", "-crl_reason", "keyCompromise"]);
    run(&["ca", "-gencrl", "-config", "ca.cnf", "-keyfile", "ca.key", "-cert", "ca.pem", "-out", "crl.pem"]);
    run(&["crl", "-in", "crl.pem", "-outform", "DER", "-out", "crl.der"]);
    let crl = std::fs::read(c.join("crl.der")).unwrap();
    std::thread::spawn(move || {
        for mut s in crl_listener.incoming().map_while(Result::ok) {
            let mut buf = [0u8; 2048];
            let _ = s.read(&mut buf);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/pkix-crl\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                crl.len()
            );
            let _ = s.write_all(head.as_bytes()).and_then(|_| s.write_all(&crl));
        }
    });
    let o = kyso(&["trust", "add", c.join("ca.pem").to_str().unwrap(), "--note", "CA ngoài (thử nghiệm)"], dir.path());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (_p, proxied) = serve(dir.path(), "127.0.0.1", &["--trusted-proxy", "127.0.0.1"]);
    let der_b64 = |name: &str| {
        let pem = std::fs::read_to_string(c.join(format!("{name}.pem"))).unwrap();
        pem.lines().filter(|l| !l.starts_with("-----")).collect::<String>()
    };
    let cases = [("revoked", "đã bị thu hồi"), ("outsider", "không có trong sổ đăng ký")];
    for (name, want) in cases {
        let forwarded = format!(":{}:", der_b64(name));
        let r = http(&proxied, "POST", "/auth/certificate", &[JSON, ("Client-Cert", forwarded.as_str())], "{}");
        assert_eq!((r.status, r.json()["code"].as_str()), (401, Some("bad_certificate")), "{name}: {}", r.body);
        assert!(r.json()["detail"].as_str().unwrap().contains(want), "{name}: {}", r.body);
    }
}
