//! The local signing agent (`kyso agent serve`): it runs on the official's PC, listens on
//! 127.0.0.1 only, holds the token, and signs the signed attributes that a *paired* server
//! prepared. The private key never leaves the token; the PIN is asked here, for every
//! signature, and never sent anywhere.
//!
//! Pairing: the agent shows a one-time code on its console; the user gives it to the server
//! (`kyso agent pair`), which sends a fresh 32-byte secret with the code. Every later request
//! carries an HMAC-SHA-256 under that secret, a timestamp and a nonce, so a web page or
//! another program on the PC cannot make the agent sign, and a recorded request cannot be
//! replayed. Before signing, the agent shows the document's name, the signer named by the
//! server, and the certificate and content digest it actually signs for.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use chrono::{DateTime, Utc};
use kyso_token::{HashAlg, Pin, Token};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// How long a pairing code is valid.
pub const PAIRING_MINUTES: i64 = 10;
/// Wrong pairing codes one source may try before it must wait (the wait doubles with each
/// further try, up to a minute); the code stays valid for the real user.
const PAIRING_FREE_TRIES: u32 = 3;
/// Wrong codes in all after which the code is replaced by a new one, shown on the console.
const PAIRING_TRIES_PER_CODE: u32 = 20;
/// How many times a code is replaced so; after that the agent shows none until restarted. A
/// replaced code keeps the first one's expiry, so the pairing window never outlives it.
const PAIRING_RENEWALS: u32 = 3;
/// Requests older or newer than this are refused (replay window).
pub const MAX_SKEW_SECONDS: i64 = 300;

fn b64(d: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(d)
}
fn unb64(s: &str) -> Result<Vec<u8>, AgentError> {
    base64::engine::general_purpose::STANDARD.decode(s).map_err(|_| AgentError::bad("dữ liệu base64 không hợp lệ"))
}

/// What the agent says about itself (GET /).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AgentInfo {
    pub agent: String,
    pub agent_id: String,
    pub version: String,
    pub token: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PairRequest {
    pub server: String,
    pub server_name: String,
    pub code: String,
    /// Base64 of the 32-byte shared secret.
    pub secret: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CertificatesRequest {
    pub server: String,
    pub ts: i64,
    pub nonce: String,
    pub mac: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CertificateItem {
    pub label: String,
    pub cert: String,
    pub subject: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignRequest {
    pub server: String,
    pub session: String,
    pub document_title: String,
    pub file_name: String,
    pub signer: String,
    /// Base64 of the DER signed attributes.
    pub signed_attrs: String,
    pub scheme: String,
    pub ts: i64,
    pub nonce: String,
    pub mac: String,
}

/// A login page's request to sign its challenge (`POST /login/sign`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginSignRequest {
    pub text: String,
    /// The certificate to use (SHA-256 of its DER, hex); the token's first one otherwise.
    #[serde(default)]
    pub cert_sha256: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginSignResponse {
    /// Base64 of the detached CMS SignedData over the challenge's text.
    pub signature: String,
    pub cert: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignResponse {
    pub signature: String,
    pub cert: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AgentError {
    pub error: String,
    pub message: String,
}

impl AgentError {
    fn new(code: &str, message: impl Into<String>) -> Self {
        AgentError { error: code.into(), message: message.into() }
    }
    fn bad(m: impl Into<String>) -> Self {
        Self::new("invalid", m)
    }
    fn denied(m: impl Into<String>) -> Self {
        Self::new("forbidden", m)
    }
}

impl std::fmt::Display for AgentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

fn fresh_code() -> String {
    let mut b = [0u8; 4];
    kyso_token::random_bytes(&mut b);
    format!("{:06}", u32::from_be_bytes(b) % 1_000_000)
}

fn fresh_nonce() -> String {
    let mut n = [0u8; 16];
    kyso_token::random_bytes(&mut n);
    hex::encode(n)
}

impl CertificatesRequest {
    pub fn canonical(&self) -> String {
        format!("kyso-agent/certificates\n{}\n{}\n{}", self.server, self.ts, self.nonce)
    }
    /// A request from `server`, authenticated with `secret`.
    pub fn new(server: &str, secret: &[u8], now: DateTime<Utc>) -> Self {
        let mut r = CertificatesRequest { server: server.into(), ts: now.timestamp(), nonce: fresh_nonce(), mac: String::new() };
        r.mac = hex::encode(kyso_token::hmac_sha256(secret, r.canonical().as_bytes()));
        r
    }
}

impl SignRequest {
    pub fn canonical(&self) -> String {
        format!(
            "kyso-agent/sign\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}",
            self.server,
            self.session,
            self.document_title,
            self.file_name,
            self.signer,
            self.signed_attrs,
            self.scheme,
            self.ts,
            self.nonce
        )
    }
    /// Sets the timestamp, a fresh nonce and the MAC.
    pub fn seal(mut self, secret: &[u8], now: DateTime<Utc>) -> Self {
        self.ts = now.timestamp();
        self.nonce = fresh_nonce();
        self.mac = hex::encode(kyso_token::hmac_sha256(secret, self.canonical().as_bytes()));
        self
    }
}

/// What the agent keeps on disk: its id and the servers it is paired with.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct StateFile {
    agent_id: String,
    /// server id → (server name, base64 secret)
    pairings: HashMap<String, (String, String)>,
    /// The web origins whose login page may ask for a login signature (each still shown to
    /// the holder and signed only with the PIN).
    #[serde(default)]
    login_origins: Vec<String>,
}

struct PairingCode {
    code: String,
    expires: DateTime<Utc>,
    tries: u32,
    renewals: u32,
}

/// Wrong pairing tries of one source (peer address and browser origin): how many, and when
/// it may try again.
#[derive(Default, Clone, Copy)]
struct Backoff {
    failures: u32,
    until: Option<DateTime<Utc>>,
}

/// A signing session the holder opened explicitly (`kyso agent serve --session N,MINUTES`):
/// the PIN was asked once, and up to `left` signatures until `until` need no PIN.
struct SigningSession {
    session: Box<dyn kyso_token::TokenSession>,
    left: u32,
    until: DateTime<Utc>,
}

/// Asks the holder for the PIN (on the agent's terminal); the prompt says what is signed.
pub type AskPin = Arc<dyn Fn(&str) -> Result<Pin, String> + Send + Sync>;
/// Shows a message to the holder.
pub type Show = Arc<dyn Fn(&str) + Send + Sync>;

pub struct Agent {
    pub agent_id: String,
    token: Arc<dyn Token>,
    token_label: String,
    /// The certificates on the token, read once at start (they are public).
    certificates: Vec<(String, Vec<u8>, String)>,
    state_file: PathBuf,
    state: Mutex<StateFile>,
    code: Mutex<Option<PairingCode>>,
    backoff: Mutex<HashMap<String, Backoff>>,
    signing_session: Mutex<Option<SigningSession>>,
    login_prompt: Mutex<()>,
    nonces: Mutex<VecDeque<(String, i64)>>,
    ask_pin: AskPin,
    show: Show,
    clock: crate::Clock,
}

impl Agent {
    /// `certificates`: (key label, DER, subject) of the token's certificates.
    pub fn new(
        token: Arc<dyn Token>,
        token_label: &str,
        certificates: Vec<(String, Vec<u8>, String)>,
        state_file: PathBuf,
        ask_pin: AskPin,
        show: Show,
        clock: crate::Clock,
    ) -> std::io::Result<Self> {
        let mut state: StateFile = match std::fs::read(&state_file) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| std::io::Error::other(format!("{}: {e}", state_file.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => StateFile::default(),
            Err(e) => return Err(e),
        };
        if state.agent_id.is_empty() {
            state.agent_id = fresh_nonce();
        }
        let agent = Agent {
            agent_id: state.agent_id.clone(),
            token,
            token_label: token_label.into(),
            certificates,
            state_file,
            state: Mutex::new(state),
            code: Mutex::new(None),
            backoff: Mutex::new(HashMap::new()),
            signing_session: Mutex::new(None),
            login_prompt: Mutex::new(()),
            nonces: Mutex::new(VecDeque::new()),
            ask_pin,
            show,
            clock,
        };
        agent.save()?;
        Ok(agent)
    }

    fn save(&self) -> std::io::Result<()> {
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(dir) = self.state_file.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = self.state_file.with_extension("tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(&s).map_err(std::io::Error::other)?)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
        }
        std::fs::rename(&tmp, &self.state_file)
    }

    /// A new one-time pairing code (six digits), valid for [`PAIRING_MINUTES`].
    pub fn new_pairing_code(&self) -> String {
        let code = fresh_code();
        *self.code.lock().unwrap_or_else(|p| p.into_inner()) = Some(PairingCode {
            code: code.clone(),
            expires: (self.clock)() + chrono::Duration::minutes(PAIRING_MINUTES),
            tries: 0,
            renewals: 0,
        });
        code
    }

    pub fn info(&self) -> AgentInfo {
        AgentInfo {
            agent: "kyso-agent".into(),
            agent_id: self.agent_id.clone(),
            version: env!("CARGO_PKG_VERSION").into(),
            token: self.token_label.clone(),
        }
    }

    /// Pairs with a server, for a request from `source` (its peer address and origin). Wrong
    /// codes slow that source down without voiding the code for the real user; after
    /// [`PAIRING_TRIES_PER_CODE`] wrong codes from anywhere, a new code is shown on the console.
    pub fn pair(&self, r: &PairRequest, source: &str) -> Result<(), AgentError> {
        // A malformed request spends no code.
        let secret = unb64(&r.secret)?;
        if secret.len() < 32 || r.server.is_empty() {
            return Err(AgentError::bad("khóa ghép nối phải dài ít nhất 32 byte"));
        }
        self.take_code(&r.code, source)?;
        self.state.lock().unwrap_or_else(|p| p.into_inner()).pairings.insert(r.server.clone(), (r.server_name.clone(), r.secret.clone()));
        self.save().map_err(|e| AgentError::new("environment", format!("không lưu được ghép nối: {e}")))?;
        (self.show)(&format!("Đã ghép nối với máy chủ '{}' ({}).", r.server_name, r.server));
        Ok(())
    }

    /// Pairs the login page of `origin` (the browser's `Origin`, which a page cannot forge)
    /// with the code the holder typed into it. It lets that page ask for login signatures,
    /// nothing more: each one is shown here and needs the PIN.
    pub fn pair_login(&self, code: &str, origin: &str, source: &str) -> Result<(), AgentError> {
        if !valid_origin(origin) {
            return Err(AgentError::bad("ghép nối đăng nhập phải đến từ trang đăng nhập của máy chủ (thiếu Origin)"));
        }
        self.take_code(code, source)?;
        {
            let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
            if !st.login_origins.iter().any(|o| o == origin) {
                st.login_origins.push(origin.to_string());
            }
        }
        self.save().map_err(|e| AgentError::new("environment", format!("không lưu được ghép nối: {e}")))?;
        (self.show)(&format!("Đã ghép nối để đăng nhập vào {origin}. Mỗi lần đăng nhập, tác tử vẫn hiện nội dung và hỏi mã PIN."));
        Ok(())
    }

    /// Whether the login page of `origin` is paired.
    pub fn login_paired(&self, origin: &str) -> bool {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).login_origins.iter().any(|o| o == origin)
    }

    /// Signs a login challenge for the paired page of `origin`: the challenge must name that
    /// origin on its first line; it is shown to the holder, who types the PIN. Returns a
    /// detached CMS signature (base64) over the challenge's text. Blocking (the PIN prompt).
    pub fn sign_login(&self, origin: &str, r: &LoginSignRequest) -> Result<LoginSignResponse, AgentError> {
        if !self.login_paired(origin) {
            return Err(AgentError::new("not_paired", format!("trang {origin} chưa được ghép nối để đăng nhập bằng tác tử này")));
        }
        // Shown on the holder's terminal: no control characters that could rewrite the prompt.
        if r.text.chars().any(|c| c.is_control() && c != '\n') {
            return Err(AgentError::denied("nội dung cần ký có ký tự điều khiển; tác tử không ký"));
        }
        if r.text.len() > 1000 || r.text.lines().next() != Some(kyso_service::challenge_first_line(origin).as_str()) {
            return Err(AgentError::denied(format!("nội dung cần ký không phải lời đăng nhập vào {origin}; tác tử không ký")));
        }
        let (label, der, subject) = match r.cert_sha256.as_deref() {
            Some(h) => self.certificates.iter().find(|(_, d, _)| hex::encode(HashAlg::Sha256.digest(d)).eq_ignore_ascii_case(h)),
            None => self.certificates.first(),
        }
        .cloned()
        .ok_or_else(|| AgentError::bad("không có chứng thư số phù hợp trên thiết bị"))?;
        // One login prompt at a time on the holder's terminal.
        let _one_at_a_time = self.login_prompt.lock().unwrap_or_else(|p| p.into_inner());
        (self.show)(&format!("Yêu cầu đăng nhập bằng chứng thư số '{subject}':\n{}", r.text));
        let pin = (self.ask_pin)(&format!("Nhập mã PIN của thiết bị '{}' để đăng nhập vào {origin}", self.token_label))
            .map_err(|e| AgentError::new("cancelled", format!("không đăng nhập: {e}")))?;
        let token_err = |e: kyso_token::TokenError| AgentError::new(e.code(), e.to_string());
        let session = self.token.login(&pin).map_err(token_err)?;
        let key = session.signer(&label).map_err(token_err)?;
        let request = kyso_pki::cms::SignRequest {
            content_type: kyso_pki::oids::CT_DATA,
            econtent: None,
            content_digest: HashAlg::Sha256.digest(r.text.as_bytes()),
            digest: HashAlg::Sha256,
            signer_cert: &der,
            chain: &[],
            extra_signed: vec![],
        };
        let cms = kyso_pki::cms::sign(&request, &*key, key.key_algorithm().default_scheme())
            .map_err(|e| AgentError::new("internal", format!("không tạo được chữ ký: {e}")))?;
        (self.show)(&format!("Đã ký lời đăng nhập vào {origin}."));
        Ok(LoginSignResponse { signature: b64(&cms), cert: b64(&der) })
    }

    /// Checks a pairing code and spends it. Wrong codes slow `source` down; see [`Agent::pair`].
    fn take_code(&self, code: &str, source: &str) -> Result<(), AgentError> {
        let now = (self.clock)();
        if let Some(until) = self.backoff.lock().unwrap_or_else(|p| p.into_inner()).get(source).and_then(|b| b.until) {
            if now < until {
                return Err(AgentError::new(
                    "too_many_tries",
                    format!("nhập sai mã ghép nối nhiều lần; thử lại sau {} giây", (until - now).num_seconds().max(1)),
                ));
            }
        }
        let mut slot = self.code.lock().unwrap_or_else(|p| p.into_inner());
        let Some(c) = slot.as_mut() else {
            return Err(AgentError::denied("không có mã ghép nối đang hiệu lực; khởi động lại tác tử để có mã mới"));
        };
        if (self.clock)() > c.expires {
            *slot = None;
            return Err(AgentError::denied("mã ghép nối đã hết hạn; khởi động lại tác tử để có mã mới"));
        }
        let ok =
            kyso_token::hmac_sha256_verify(b"kyso-pair", code.trim().as_bytes(), &kyso_token::hmac_sha256(b"kyso-pair", c.code.as_bytes()));
        if !ok {
            c.tries += 1;
            // Too many wrong codes: a new one (same expiry) for the real user, a few times; then none.
            let mut renewed = None;
            if c.tries >= PAIRING_TRIES_PER_CODE {
                if c.renewals >= PAIRING_RENEWALS {
                    *slot = None;
                    drop(slot);
                    (self.show)("Có quá nhiều lần nhập sai mã ghép nối; tác tử ngừng ghép nối. Khởi động lại tác tử để có mã mới.");
                    return Err(AgentError::denied("mã ghép nối không đúng"));
                }
                c.code = fresh_code();
                c.tries = 0;
                c.renewals += 1;
                renewed = Some(c.code.clone());
            }
            drop(slot);
            let mut all = self.backoff.lock().unwrap_or_else(|p| p.into_inner());
            let b = all.entry(source.to_string()).or_default();
            b.failures += 1;
            if b.failures >= PAIRING_FREE_TRIES {
                let wait = 1i64 << (b.failures - PAIRING_FREE_TRIES).min(6);
                b.until = Some(now + chrono::Duration::seconds(wait));
            }
            drop(all);
            if let Some(code) = renewed {
                (self.show)(&format!("Có quá nhiều lần nhập sai mã ghép nối; mã mới (hết hạn cùng lúc mã cũ): {code}"));
            }
            return Err(AgentError::denied("mã ghép nối không đúng"));
        }
        *slot = None;
        drop(slot);
        self.backoff.lock().unwrap_or_else(|p| p.into_inner()).clear();
        Ok(())
    }

    /// Checks the MAC, the time window and the nonce; returns the server's name.
    fn authenticate(&self, server: &str, canonical: &str, mac: &str, ts: i64, nonce: &str) -> Result<String, AgentError> {
        let (name, secret) = self
            .state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pairings
            .get(server)
            .cloned()
            .ok_or_else(|| AgentError::denied("máy chủ chưa được ghép nối với tác tử này"))?;
        let secret = unb64(&secret)?;
        let tag = hex::decode(mac).map_err(|_| AgentError::denied("mã xác thực không hợp lệ"))?;
        if !kyso_token::hmac_sha256_verify(&secret, canonical.as_bytes(), &tag) {
            return Err(AgentError::denied("mã xác thực của yêu cầu không đúng"));
        }
        let now = (self.clock)().timestamp();
        if (now - ts).abs() > MAX_SKEW_SECONDS {
            return Err(AgentError::denied("yêu cầu quá cũ hoặc đồng hồ hai máy lệch nhau quá 5 phút"));
        }
        let mut seen = self.nonces.lock().unwrap_or_else(|p| p.into_inner());
        while seen.front().is_some_and(|(_, t)| now - t > 2 * MAX_SKEW_SECONDS) || seen.len() > 10_000 {
            seen.pop_front();
        }
        if seen.iter().any(|(n, _)| n == nonce) {
            return Err(AgentError::denied("yêu cầu đã được dùng (phát lại)"));
        }
        seen.push_back((nonce.to_string(), now));
        Ok(name)
    }

    pub fn list_certificates(&self, r: &CertificatesRequest) -> Result<Vec<CertificateItem>, AgentError> {
        self.authenticate(&r.server, &r.canonical(), &r.mac, r.ts, &r.nonce)?;
        Ok(self
            .certificates
            .iter()
            .map(|(label, der, subject)| CertificateItem { label: label.clone(), cert: b64(der), subject: subject.clone() })
            .collect())
    }

    /// Shows what is signed, asks for the PIN, signs. Blocking (the PIN prompt).
    pub fn sign(&self, r: &SignRequest) -> Result<SignResponse, AgentError> {
        let server_name = self.authenticate(&r.server, &r.canonical(), &r.mac, r.ts, &r.nonce)?;
        let attrs = unb64(&r.signed_attrs)?;
        let (digest, cert_hash) = kyso_pki::cms::inspect_signed_attributes(&attrs).map_err(|e| AgentError::bad(e.to_string()))?;
        let cert_hash = cert_hash.ok_or_else(|| AgentError::bad("thuộc tính được ký không nêu chứng thư (signing-certificate-v2)"))?;
        let (label, der, subject) = self
            .certificates
            .iter()
            .find(|(_, der, _)| HashAlg::Sha256.digest(der) == cert_hash)
            .cloned()
            .ok_or_else(|| AgentError::bad("chứng thư được yêu cầu không có trên thiết bị này"))?;
        let scheme =
            kyso_service::scheme_by_name(&r.scheme).ok_or_else(|| AgentError::bad(format!("thuật toán ký '{}' không hỗ trợ", r.scheme)))?;
        let summary = format!(
            "Yêu cầu ký từ máy chủ '{server_name}':\n  Văn bản: {} (tệp {})\n  Người ký theo máy chủ: {}\n  Chứng thư trên thiết bị: {subject}\n  Giá trị băm nội dung (SHA-256): {}",
            r.document_title,
            r.file_name,
            r.signer,
            hex::encode(&digest)
        );
        (self.show)(&summary);
        let token_err = |e: kyso_token::TokenError| AgentError::new(e.code(), e.to_string());
        // Within a session the holder opened, no PIN: the count and the time left are shown.
        let mut open = self.signing_session.lock().unwrap_or_else(|p| p.into_inner());
        let now = (self.clock)();
        if open.as_ref().is_some_and(|s| s.left == 0 || now > s.until) {
            *open = None;
            (self.show)("Phiên ký đã hết (đủ số chữ ký hoặc hết thời gian); từ nay mỗi chữ ký lại hỏi mã PIN.");
        }
        let signature = match open.as_mut() {
            Some(s) => {
                let sig = s.session.signer(&label).and_then(|k| k.sign(scheme, &attrs)).map_err(token_err)?;
                s.left -= 1;
                (self.show)(&format!(
                    "Đã ký văn bản '{}' trong phiên ký: còn {} chữ ký, đến {}.",
                    r.document_title,
                    s.left,
                    s.until.with_timezone(&chrono::FixedOffset::east_opt(7 * 3600).expect("UTC+7")).format("%H:%M %d/%m/%Y")
                ));
                sig
            }
            None => {
                drop(open);
                let pin = (self.ask_pin)(&format!("Nhập mã PIN của thiết bị '{}' để ký văn bản '{}'", self.token_label, r.document_title))
                    .map_err(|e| AgentError::new("cancelled", format!("không ký: {e}")))?;
                let session = self.token.login(&pin).map_err(token_err)?;
                let sig = session.signer(&label).and_then(|k| k.sign(scheme, &attrs)).map_err(token_err)?;
                (self.show)(&format!("Đã ký văn bản '{}'.", r.document_title));
                sig
            }
        };
        Ok(SignResponse { signature: b64(&signature), cert: b64(&der) })
    }

    /// Opens a signing session the holder asked for: the PIN once, then at most `signatures`
    /// signatures within `minutes` without it. Bounded: at most 100 signatures and 8 hours.
    pub fn open_session(&self, signatures: u32, minutes: i64) -> Result<(u32, DateTime<Utc>), AgentError> {
        if signatures == 0 || signatures > 100 || !(1..=480).contains(&minutes) {
            return Err(AgentError::bad("phiên ký tối đa 100 chữ ký và 480 phút"));
        }
        let pin = (self.ask_pin)(&format!(
            "Nhập mã PIN của thiết bị '{}' để mở phiên ký {signatures} chữ ký trong {minutes} phút",
            self.token_label
        ))
        .map_err(|e| AgentError::new("cancelled", format!("không mở phiên ký: {e}")))?;
        let session = self.token.login(&pin).map_err(|e| AgentError::new(e.code(), e.to_string()))?;
        let until = (self.clock)() + chrono::Duration::minutes(minutes);
        *self.signing_session.lock().unwrap_or_else(|p| p.into_inner()) = Some(SigningSession { session, left: signatures, until });
        Ok((signatures, until))
    }
}

/// Whether a request's Host names this PC (DNS rebinding: a page of another site that
/// resolves its name to 127.0.0.1 still sends its own name as Host).
fn loopback_host(headers: &axum::http::HeaderMap) -> bool {
    let Some(host) = headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok()) else { return false };
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(n, port)| if port.chars().all(|c| c.is_ascii_digit()) { n } else { host }),
    };
    matches!(name.to_ascii_lowercase().as_str(), "127.0.0.1" | "localhost" | "::1")
}

async fn only_loopback_hosts(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    if !loopback_host(req.headers()) {
        return reply::<()>(Err(AgentError::denied("tác tử chỉ nhận yêu cầu gửi tới 127.0.0.1 hoặc localhost")));
    }
    next.run(req).await
}

/// Who is trying to pair, for the backoff: the peer address and the page's origin.
fn pairing_source(headers: &axum::http::HeaderMap, peer: Option<std::net::SocketAddr>) -> String {
    let origin = headers.get(axum::http::header::ORIGIN).and_then(|o| o.to_str().ok()).unwrap_or("-");
    format!("{}|{origin}", peer.map(|p| p.ip().to_string()).unwrap_or_default())
}

fn reply<T: Serialize>(r: Result<T, AgentError>) -> Response {
    match r {
        Ok(v) => Json(v).into_response(),
        Err(e) => {
            let status = match e.error.as_str() {
                "invalid" => StatusCode::BAD_REQUEST,
                "forbidden" | "not_paired" => StatusCode::FORBIDDEN,
                "wrong_pin" | "token_locked" | "cancelled" => StatusCode::UNAUTHORIZED,
                "too_many_tries" => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            (status, Json(e)).into_response()
        }
    }
}

pub fn router(agent: Arc<Agent>) -> Router {
    Router::new()
        .route("/", get(|State(a): State<Arc<Agent>>| async move { Json(a.info()) }))
        .route(
            "/pair",
            post(|State(a): State<Arc<Agent>>, req: axum::extract::Request| async move {
                // Pairing comes from `kyso agent pair`, never from a web page: a browser sends
                // Origin or Sec-Fetch-* (and may post text/plain without a preflight).
                let h = req.headers();
                if h.contains_key(axum::http::header::ORIGIN) || h.keys().any(|k| k.as_str().starts_with("sec-fetch-")) {
                    return reply::<()>(Err(AgentError::denied(
                        "ghép nối chỉ thực hiện bằng lệnh 'kyso agent pair', không qua trình duyệt",
                    )));
                }
                let json = h
                    .get(axum::http::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.starts_with("application/json"));
                if !json {
                    return reply::<()>(Err(AgentError::bad("yêu cầu ghép nối phải là JSON (Content-Type: application/json)")));
                }
                let peer = req.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0);
                let source = pairing_source(req.headers(), peer);
                let body = match axum::body::to_bytes(req.into_body(), 64 * 1024).await {
                    Ok(b) => b,
                    Err(_) => return reply::<()>(Err(AgentError::bad("yêu cầu ghép nối quá lớn"))),
                };
                match serde_json::from_slice::<PairRequest>(&body) {
                    Ok(r) => reply(a.pair(&r, &source).map(|_| serde_json::json!({"paired": true}))),
                    Err(e) => reply::<()>(Err(AgentError::bad(format!("yêu cầu ghép nối không hợp lệ: {e}")))),
                }
            }),
        )
        .route(
            "/certificates",
            post(|State(a): State<Arc<Agent>>, Json(r): Json<CertificatesRequest>| async move { reply(a.list_certificates(&r)) }),
        )
        .route(
            "/sign",
            post(|State(a): State<Arc<Agent>>, Json(r): Json<SignRequest>| async move {
                match tokio::task::spawn_blocking(move || a.sign(&r)).await {
                    Ok(r) => reply(r),
                    Err(_) => reply::<SignResponse>(Err(AgentError::new("internal", "lỗi nội bộ của tác tử"))),
                }
            }),
        )
        .route("/login/pair", post(login_pair).options(login_preflight))
        .route("/login/sign", post(login_sign).options(login_preflight))
        .layer(axum::extract::DefaultBodyLimit::max(256 * 1024))
        .layer(axum::middleware::from_fn(only_loopback_hosts))
        .with_state(agent)
}

/// An origin as a browser sends it: `https://host[:port]`, or `http://` only for a server on
/// this PC (a development server); a login page served over plain HTTP elsewhere could be
/// changed on the way.
fn valid_origin(o: &str) -> bool {
    let loopback = |r: &str| {
        let host = r.rsplit_once(':').map_or(r, |(h, _)| h);
        matches!(host, "127.0.0.1" | "localhost" | "[::1]")
    };
    kyso_service::is_web_origin(o) && (o.starts_with("https://") || o.strip_prefix("http://").is_some_and(loopback))
}

/// A JSON body, or a refusal in Vietnamese (axum's own rejection is English and has no CORS).
fn json_body<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, AgentError> {
    serde_json::from_slice(body).map_err(|e| AgentError::bad(format!("yêu cầu không phải JSON hợp lệ: {e}")))
}

fn origin_of(h: &axum::http::HeaderMap) -> String {
    h.get(axum::http::header::ORIGIN).and_then(|o| o.to_str().ok()).unwrap_or("").to_string()
}

/// What lets the login page of `origin` read the answer (CORS), and reach a loopback
/// address from a public site (Chromium's private network access).
fn cors(mut r: Response, origin: &str) -> Response {
    if let Ok(v) = axum::http::HeaderValue::from_str(origin) {
        let h = r.headers_mut();
        h.insert("access-control-allow-origin", v);
        h.insert("vary", axum::http::HeaderValue::from_static("Origin"));
        h.insert("access-control-allow-methods", axum::http::HeaderValue::from_static("POST"));
        h.insert("access-control-allow-headers", axum::http::HeaderValue::from_static("content-type"));
        h.insert("access-control-allow-private-network", axum::http::HeaderValue::from_static("true"));
    }
    r
}

/// The browser's preflight of a login page's request: allowed for any well-formed origin
/// (the request itself is then judged: pairing needs the code, signing a paired origin).
async fn login_preflight(h: axum::http::HeaderMap) -> Response {
    let origin = origin_of(&h);
    if !valid_origin(&origin) {
        return StatusCode::FORBIDDEN.into_response();
    }
    cors(StatusCode::NO_CONTENT.into_response(), &origin)
}

#[derive(Deserialize)]
struct LoginPairBody {
    code: String,
}

async fn login_pair(
    State(a): State<Arc<Agent>>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    h: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let origin = origin_of(&h);
    // Every page of the browser reaches the agent from this PC: wrong codes are counted for
    // all of them together, so that many sites cannot each take their own tries.
    let source = format!("{}|login-page", peer.ip());
    let paired = json_body::<LoginPairBody>(&body).and_then(|b| a.pair_login(&b.code, &origin, &source));
    cors(reply(paired.map(|_| serde_json::json!({"paired": true, "origin": origin}))), &origin)
}

async fn login_sign(State(a): State<Arc<Agent>>, h: axum::http::HeaderMap, body: axum::body::Bytes) -> Response {
    let origin = origin_of(&h);
    let r: LoginSignRequest = match json_body(&body) {
        Ok(r) => r,
        Err(e) => return cors(reply::<LoginSignResponse>(Err(e)), &origin),
    };
    let o2 = origin.clone();
    let answer = match tokio::task::spawn_blocking(move || a.sign_login(&o2, &r)).await {
        Ok(r) => reply(r),
        Err(_) => reply::<LoginSignResponse>(Err(AgentError::new("internal", "lỗi nội bộ của tác tử"))),
    };
    cors(answer, &origin)
}

/// Serves the agent. Only loopback addresses are accepted: the agent is for this PC.
pub async fn serve(agent: Arc<Agent>, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    if !addr.ip().is_loopback() {
        return Err(std::io::Error::other(format!("tác tử chỉ được nghe trên 127.0.0.1 (không phải {addr})")));
    }
    crate::listen::serve_limited(
        listener,
        router(agent),
        crate::listen::Limits { max_connections: 64, ..Default::default() },
        crate::shutdown_signal(),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use kyso_pki::cert::{self, CertProfile, CertTemplate, Issuer, Urls};
    use kyso_pki::name::DistinguishedName;
    use kyso_token::soft::SoftToken;
    use kyso_token::{KeyAlgorithm, SignatureScheme};

    struct Fixture {
        agent: Agent,
        cert: Vec<u8>,
        shown: Arc<Mutex<Vec<String>>>,
        _dir: tempfile::TempDir,
    }

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-21T09:00:00+07:00").unwrap().with_timezone(&Utc)
    }

    fn fixture(pin: &'static str) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let token = SoftToken::create(dir.path(), "tok", &Pin::new("123456"), &Pin::new("87654321"), 5, 1000).unwrap();
        let s = token.login(&Pin::new("123456")).unwrap();
        let key = s.generate_key("k", KeyAlgorithm::EcP256).unwrap();
        let dn = DistinguishedName::parse("CN=Nguyễn Văn An,C=VN").unwrap();
        let tpl = CertTemplate {
            profile: CertProfile::Individual,
            subject: dn.clone(),
            email: None,
            spki_der: key.public_key_spki().to_vec(),
            serial: kyso_pki::random_serial(),
            not_before: t0() - chrono::Duration::days(1),
            not_after: t0() + chrono::Duration::days(365),
            policies: vec![],
            urls: Urls::default(),
        };
        let cert = cert::issue(
            &tpl,
            &Issuer {
                name: dn.to_name().unwrap(),
                spki_der: key.public_key_spki().to_vec(),
                signer: &*key,
                scheme: SignatureScheme::EcdsaP256Sha256,
            },
        )
        .unwrap();
        let (_, info) = cert::parse(&cert).unwrap();
        s.store_certificate("k", &cert, &info.subject_der).unwrap();
        let certs = token.certificates().unwrap().into_iter().map(|(l, d)| (l, d, info.subject.to_string())).collect();
        let shown = Arc::new(Mutex::new(Vec::new()));
        let sh = shown.clone();
        let agent = Agent::new(
            Arc::new(token),
            "tok",
            certs,
            dir.path().join("agent.json"),
            Arc::new(move |_| Ok(Pin::new(pin))),
            Arc::new(move |m| sh.lock().unwrap().push(m.to_string())),
            Arc::new(t0),
        )
        .unwrap();
        Fixture { agent, cert, shown, _dir: dir }
    }

    fn pair(f: &Fixture) -> Vec<u8> {
        let code = f.agent.new_pairing_code();
        let secret = vec![7u8; 32];
        f.agent.pair(&PairRequest { server: "srv".into(), server_name: "Sở TTTT".into(), code, secret: b64(&secret) }, "cli").unwrap();
        secret
    }

    fn request(secret: &[u8], attrs: &[u8]) -> SignRequest {
        SignRequest {
            server: "srv".into(),
            session: "s1".into(),
            document_title: "Quyết định thử".into(),
            file_name: "qd.pdf".into(),
            signer: "CN=Nguyễn Văn An".into(),
            signed_attrs: b64(attrs),
            scheme: "EcdsaP256Sha256".into(),
            ts: 0,
            nonce: String::new(),
            mac: String::new(),
        }
        .seal(secret, t0())
    }

    fn attrs(cert: &[u8]) -> Vec<u8> {
        use der::Encode;
        let req = kyso_pki::cms::SignRequest {
            content_type: kyso_pki::oids::CT_DATA,
            econtent: None,
            content_digest: vec![1; 32],
            digest: HashAlg::Sha256,
            signer_cert: cert,
            chain: &[],
            extra_signed: vec![],
        };
        kyso_pki::cms::signed_attributes(&req).unwrap().to_der().unwrap()
    }

    #[test]
    fn pairing_codes_are_one_time_expiring_and_limited() {
        let f = fixture("123456");
        let req = |code: &str| PairRequest { server: "srv".into(), server_name: "x".into(), code: code.into(), secret: b64(&[7u8; 32]) };
        assert_eq!(f.agent.pair(&req("123456"), "cli").unwrap_err().error, "forbidden", "no code shown yet");
        let code = f.agent.new_pairing_code();
        let short = PairRequest { secret: b64(&[1u8; 8]), ..req(&code) };
        assert_eq!(f.agent.pair(&short, "cli").unwrap_err().error, "invalid");
        f.agent.pair(&req(&code), "cli").unwrap();
        assert!(f.agent.pair(&req(&code), "cli").is_err(), "a code pairs once");
    }

    /// Regression (issue 11, finding 6): a page reached through DNS rebinding could void the
    /// pairing code with five wrong tries. Wrong tries now slow down their own source only; the
    /// real user still pairs with the code shown; after many wrong tries in all the console
    /// shows a fresh code.
    #[test]
    fn wrong_pairing_codes_slow_their_source_without_voiding_the_code() {
        let f = fixture("123456");
        let req = |code: &str| PairRequest { server: "srv".into(), server_name: "x".into(), code: code.into(), secret: b64(&[7u8; 32]) };
        let code = f.agent.new_pairing_code();
        let codes: Vec<&str> = (0..PAIRING_FREE_TRIES + 2)
            .map(|_| f.agent.pair(&req("99999x"), "127.0.0.1|http://evil.example").unwrap_err().error)
            .map(|e| if e == "too_many_tries" { "wait" } else { "wrong" })
            .collect();
        assert_eq!(codes[..PAIRING_FREE_TRIES as usize], vec!["wrong"; PAIRING_FREE_TRIES as usize][..]);
        assert_eq!(codes.last(), Some(&"wait"), "{codes:?}");
        // Even the right code waits for that source; the real user's source pairs at once.
        assert_eq!(f.agent.pair(&req(&code), "127.0.0.1|http://evil.example").unwrap_err().error, "too_many_tries");
        f.agent.pair(&req(&code), "127.0.0.1|-").unwrap();
        // Many wrong codes from many sources: a new code, shown on the console.
        let old = f.agent.new_pairing_code();
        for i in 0..PAIRING_TRIES_PER_CODE {
            let _ = f.agent.pair(&req("99999x"), &format!("127.0.0.1|http://s{i}.example"));
        }
        assert!(f.agent.pair(&req(&old), "127.0.0.1|-").is_err(), "the old code is replaced");
        let shown = f.shown.lock().unwrap().join("\n");
        let new = shown.rsplit("): ").next().unwrap().trim().to_string();
        assert_eq!(new.len(), 6, "{shown}");
        f.agent.pair(&req(&new), "127.0.0.1|-").unwrap();
        // Review of issue 11: renewals were unbounded, so guessing never ended. After a few
        // renewals the agent stops pairing until restarted.
        f.agent.new_pairing_code();
        for i in 0..(PAIRING_RENEWALS + 1) * PAIRING_TRIES_PER_CODE {
            let _ = f.agent.pair(&req("99999x"), &format!("127.0.0.1|http://t{i}.example"));
        }
        assert!(f.shown.lock().unwrap().last().unwrap().contains("ngừng ghép nối"));
        assert_eq!(f.agent.pair(&req("123456"), "127.0.0.1|-").unwrap_err().error, "forbidden");
    }

    /// Review of issue 11: a web page could post pairing attempts (text/plain needs no CORS
    /// preflight). Pairing refuses anything a browser sends, and non-JSON bodies.
    #[tokio::test]
    async fn pairing_is_refused_from_a_browser() {
        use tower::ServiceExt;
        let f = fixture("123456");
        let code = f.agent.new_pairing_code();
        let app = router(Arc::new(f.agent));
        let body = serde_json::json!({"server": "srv", "server_name": "x", "code": code, "secret": b64(&[7u8; 32])}).to_string();
        // (case, extra header, content type, status)
        type Case<'a> = (&'a str, Option<(&'a str, &'a str)>, &'a str, u16);
        let cases: [Case<'_>; 4] = [
            ("a page's Origin", Some(("origin", "http://evil.example")), "application/json", 403),
            ("a fetch from a page", Some(("sec-fetch-site", "cross-site")), "application/json", 403),
            ("a text/plain form post", None, "text/plain", 400),
            ("the CLI", None, "application/json", 200),
        ];
        for (case, extra, ct, want) in cases {
            let mut req = axum::http::Request::post("/pair").header("host", "127.0.0.1:8481").header("content-type", ct);
            if let Some((k, v)) = extra {
                req = req.header(k, v);
            }
            let resp = app.clone().oneshot(req.body(axum::body::Body::from(body.clone())).unwrap()).await.unwrap();
            assert_eq!(resp.status().as_u16(), want, "{case}");
        }
    }

    /// Regression (issue 11, finding 6): the agent accepted any Host, so a page of another site
    /// resolving its name to 127.0.0.1 could talk to it.
    #[test]
    fn only_loopback_host_names_are_answered() {
        let mut h = axum::http::HeaderMap::new();
        for (host, ok) in [
            ("127.0.0.1:8481", true),
            ("localhost:8481", true),
            ("LOCALHOST", true),
            ("[::1]:8481", true),
            ("evil.example:8481", false),
            ("127.0.0.1.evil.example", false),
            ("localhost.evil.example:80", false),
        ] {
            h.insert(axum::http::header::HOST, host.parse().unwrap());
            assert_eq!(loopback_host(&h), ok, "{host}");
        }
        assert!(!loopback_host(&axum::http::HeaderMap::new()), "no Host at all");
    }

    /// Issue 11, finding 6: a session the holder opens explicitly: the PIN once, then a bounded
    /// number of signatures in a bounded time, each shown.
    #[test]
    fn a_signing_session_is_bounded_in_count_and_time() {
        let f = fixture("123456");
        let secret = pair(&f);
        assert_eq!(f.agent.open_session(0, 10).unwrap_err().error, "invalid");
        assert_eq!(f.agent.open_session(101, 10).unwrap_err().error, "invalid");
        f.agent.open_session(2, 30).unwrap();
        for _ in 0..3 {
            f.agent.sign(&request(&secret, &attrs(&f.cert))).unwrap();
        }
        let shown = f.shown.lock().unwrap().join("\n");
        assert!(shown.contains("còn 1 chữ ký") && shown.contains("còn 0 chữ ký") && shown.contains("Phiên ký đã hết"), "{shown}");
    }

    #[test]
    fn only_authentic_fresh_requests_for_this_tokens_certificates_are_signed() {
        let f = fixture("123456");
        let secret = pair(&f);
        let good = request(&secret, &attrs(&f.cert));
        let resp = f.agent.sign(&good).unwrap();
        let sig = base64::engine::general_purpose::STANDARD.decode(resp.signature).unwrap();
        let (_, info) = kyso_pki::cert::parse(&f.cert).unwrap();
        let alg = kyso_pki::alg::algorithm_identifier(SignatureScheme::EcdsaP256Sha256);
        kyso_pki::alg::verify_signature(&info.spki_der, &alg, &attrs(&f.cert), &sig).unwrap();
        assert!(f.shown.lock().unwrap().iter().any(|m| m.contains("Quyết định thử") && m.contains("qd.pdf")));
        // (case, request, expected error code)
        let mut tampered = request(&secret, &attrs(&f.cert));
        tampered.document_title = "Văn bản khác".into();
        let mut stale = request(&secret, &attrs(&f.cert));
        stale.ts -= 2 * MAX_SKEW_SECONDS;
        stale.mac = hex::encode(kyso_token::hmac_sha256(&secret, stale.canonical().as_bytes()));
        let other_cert = {
            let g = fixture("123456");
            g.cert.clone()
        };
        let mut unknown_server = request(&secret, &attrs(&f.cert));
        unknown_server.server = "other".into();
        let cases: Vec<(&str, SignRequest, &str)> = vec![
            ("replayed", good.clone(), "forbidden"),
            ("tampered title", tampered, "forbidden"),
            ("wrong secret", request(&[9u8; 32], &attrs(&f.cert)), "forbidden"),
            ("stale", stale, "forbidden"),
            ("unknown server", unknown_server, "forbidden"),
            ("not signed attributes", request(&secret, b"\x04\x03abc"), "invalid"),
            ("a certificate not on this token", request(&secret, &attrs(&other_cert)), "invalid"),
        ];
        for (name, r, code) in cases {
            assert_eq!(f.agent.sign(&r).unwrap_err().error, code, "{name}");
        }
        // A wrong PIN on the holder's side.
        let g = fixture("000000");
        let s2 = pair(&g);
        assert_eq!(g.agent.sign(&request(&s2, &attrs(&g.cert))).unwrap_err().error, "wrong_pin");
    }
}
