//! Login with the official's own certificate ("đăng nhập bằng chữ ký số"). The token proves
//! possession in one of two ways: it signs a one-time challenge that names the server's origin
//! (through `kyso agent` on the official's PC), or it answers a TLS client-certificate
//! handshake (at `kyso serve` itself, or at a trusted proxy that forwards the certificate).
//! Either way the certificate must chain to the deployment's trust, not be revoked, be in
//! the registry and valid there, and belong to the person of an active account. It counts as
//! two factors: the token and its PIN.

use super::password::Counted;
use super::session::LoginOutcome;
use super::{random_secret, secret_hash, AuthFailure, ClientInfo};
use crate::incoming::VerifyWith;
use crate::{Service, ServiceError, ServiceResult};
use chrono::{DateTime, Duration, Utc};
use kyso_core::audit::NewEvent;
use kyso_core::authz::AuthMethod;
use kyso_core::identity::{FREE_FAILURES, FREE_FAILURES_PER_ADDRESS};
use kyso_core::registry::{CertificateStatus, UserId};

/// A time as officials read it (Vietnam's clock).
fn vn_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&kyso_core::value::vn_offset()).format("%H:%M:%S %d/%m/%Y").to_string()
}

/// How long a challenge may be answered.
pub const CHALLENGE_MINUTES: i64 = 5;
/// Live challenges (certificate logins and single sign-ons under way) one address may hold,
/// and all addresses together: asking for more is answered "try later", so that nobody can
/// fill the table.
pub(super) const LIVE_CHALLENGES: (i64, i64) = (30, 50_000);

/// The refusal when the limits above are reached.
pub(super) fn too_many_challenges() -> ServiceError {
    ServiceError::Auth(AuthFailure::Throttled { retry_after_secs: 60 })
}

/// What the token signs, as the agent shows it. The first line names the origin: the agent
/// refuses a challenge whose origin is not the page that asks, and the server one that names
/// another origin, so a signature made for one site cannot log into another.
pub fn challenge_first_line(origin: &str) -> String {
    format!("kyso: đăng nhập vào {origin}")
}

/// A challenge for the login page: its id (sent back with the answer) and the text to sign.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LoginChallenge {
    pub id: String,
    pub text: String,
    pub expires_at: DateTime<Utc>,
}

/// How the token proved possession of the certificate's key.
pub enum CertificateProof<'a> {
    /// A detached CMS signature over a challenge's text.
    SignedChallenge { challenge_id: &'a str, cms: &'a [u8] },
    /// The certificate (and the chain the client sent) of a TLS client-certificate handshake,
    /// at this server or at a trusted proxy.
    TlsClient { chain: Vec<Vec<u8>> },
}

pub struct CertificateLogin<'a> {
    pub proof: CertificateProof<'a>,
    /// The origin this server is reached at (what the challenge must name).
    pub origin: &'a str,
    /// The account, when the certificate's person has more than one.
    pub login: Option<&'a str>,
    pub client: &'a ClientInfo,
}

fn refused(m: impl Into<String>) -> ServiceError {
    ServiceError::Auth(AuthFailure::BadCertificate(m.into()))
}

/// An origin as a browser sends it: a scheme, a host and maybe a port, nothing else.
pub fn is_web_origin(origin: &str) -> bool {
    let rest = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://"));
    origin.len() <= 200
        && rest.is_some_and(|r| !r.is_empty() && r.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']')))
}

fn check_origin(origin: &str) -> ServiceResult<()> {
    if is_web_origin(origin) {
        Ok(())
    } else {
        Err(kyso_core::DomainError::invalid("origin", format!("địa chỉ máy chủ '{origin}' không hợp lệ")).into())
    }
}

impl Service {
    /// A one-time challenge for a certificate login at `origin` (this server, as the browser
    /// reaches it), named `server_name` for the agent to show.
    pub fn new_login_challenge(
        &self,
        origin: &str,
        server_name: &str,
        client: &ClientInfo,
        now: DateTime<Utc>,
    ) -> ServiceResult<LoginChallenge> {
        check_origin(origin)?;
        let id = random_secret(24);
        let name: String = server_name.chars().filter(|c| !c.is_control()).take(120).collect();
        let text =
            format!("{}\nMáy chủ: {name}\nLúc: {} (giờ Việt Nam)\nMã: {}", challenge_first_line(origin), vn_time(now), random_secret(12));
        let expires_at = now + Duration::minutes(CHALLENGE_MINUTES);
        let kept = self
            .db
            .write(|tx| tx.insert_login_challenge(&secret_hash(&id), &text, origin, &client.address, now, expires_at, LIVE_CHALLENGES))?;
        if !kept {
            return Err(too_many_challenges());
        }
        Ok(LoginChallenge { id, text, expires_at })
    }

    /// Logs in with a certificate whose key the client proved it holds. A refusal says what
    /// is wrong with the certificate (it is public; the reasons help the official), counts
    /// towards the address's delay, and is audited.
    pub fn login_with_certificate(&self, l: &CertificateLogin<'_>, now: DateTime<Utc>) -> ServiceResult<LoginOutcome> {
        let address_key = vec![(format!("addr:{}", l.client.address), FREE_FAILURES_PER_ADDRESS)];
        let counted = self.count_attempt("(chứng thư số)", &address_key, l.client, now)?;
        match self.certificate_account(l, now) {
            Ok((user, serial, fingerprint)) => {
                let cert_key = format!("cert:{fingerprint}");
                self.open_certificate_session(user, &serial, &counted, &cert_key, l.client, now)
            }
            Err((validated, e)) => {
                // A certificate whose path validated gets its own count, so that one stolen
                // certificate is slowed down wherever it is tried from. Not before: anyone can
                // make a look-alike of a certificate, and must not slow the real one down.
                let what = match &validated {
                    Some(fp) => {
                        let _ = self.count_attempt("(chứng thư số)", &[(format!("cert:{fp}"), FREE_FAILURES)], l.client, now);
                        format!("certificate:{fp}")
                    }
                    None => "certificate".to_string(),
                };
                let why: String = e.to_string().chars().take(300).collect();
                self.db.write(|tx| {
                    tx.append_audit(
                        NewEvent::new("(chứng thư số)", "auth.login_failed", what)
                            .denied()
                            .details(serde_json::json!({"client": l.client.describe(), "factor": "certificate", "why": why})),
                        now,
                    )
                })?;
                Err(e)
            }
        }
    }

    fn open_certificate_session(
        &self,
        user: UserId,
        serial: &str,
        counted: &[Counted],
        cert_key: &str,
        client: &ClientInfo,
        now: DateTime<Utc>,
    ) -> ServiceResult<LoginOutcome> {
        // A certificate already slowed down (failures elsewhere) waits like a password would.
        self.count_attempt("(chứng thư số)", &[(cert_key.to_string(), FREE_FAILURES)], client, now)?;
        let login = self.db.read(|tx| tx.login_of(user))?.unwrap_or_default();
        let session = self.db.write(|tx| -> ServiceResult<_> {
            super::password::take_back(tx, counted)?;
            tx.clear_login_failures(cert_key)?;
            let session = self.open_session(tx, user, AuthMethod::Certificate, None, client, now)?;
            tx.append_audit(
                NewEvent::new(&login, "auth.login", format!("user:{}", user.0)).details(serde_json::json!({
                    "method": AuthMethod::Certificate.code(),
                    "certificate": serial,
                    "client": client.describe(),
                })),
                now,
            )?;
            Ok(session)
        })?;
        let principal = Some(self.session(&session.id, now)?.principal()?.clone());
        Ok(LoginOutcome { session, pending: None, principal })
    }

    /// The account the proven certificate logs into, with the certificate's serial and
    /// SHA-256; or why not, with the SHA-256 once the path has validated. The path and
    /// revocation come first, so that nothing of the registry is told about a certificate
    /// that no trusted CA issued.
    fn certificate_account(
        &self,
        l: &CertificateLogin<'_>,
        now: DateTime<Utc>,
    ) -> Result<(UserId, String, String), (Option<String>, ServiceError)> {
        let (leaf, mut chain) = match &l.proof {
            CertificateProof::SignedChallenge { challenge_id, cms } => {
                let taken = self
                    .db
                    .write(|tx| tx.take_login_challenge(&secret_hash(challenge_id), now))
                    .map_err(|e| (None, ServiceError::from(e)))?;
                let Some((text, origin)) = taken else {
                    return Err((None, refused("mã thử thách không đúng, đã dùng hoặc đã hết hạn; hãy tải lại trang đăng nhập")));
                };
                if origin != l.origin {
                    return Err((None, refused(format!("mã thử thách được cấp cho {origin}, không phải cho {}", l.origin))));
                }
                let digest = |alg: kyso_token::HashAlg| alg.digest(text.as_bytes());
                let v = kyso_pki::cms::verify(cms, Some(&digest))
                    .map_err(|e| (None, refused(format!("chữ ký trên mã thử thách không hợp lệ: {e}"))))?;
                if let Some((what, since)) = kyso_verify::algorithms::weakness(&v.facts) {
                    if since <= now {
                        return Err((None, refused(format!("chữ ký dùng thuật toán không còn được chấp nhận ({what})"))));
                    }
                }
                (v.signer_cert.clone(), v.certificates)
            }
            CertificateProof::TlsClient { chain } => match chain.split_first() {
                Some((leaf, rest)) => (leaf.clone(), rest.to_vec()),
                None => return Err((None, refused("trình duyệt không gửi chứng thư số"))),
            },
        };
        let info = kyso_pki::cert::parse(&leaf).map_err(|e| (None, refused(format!("chứng thư số không đọc được: {e}"))))?.1;
        let serial = info.serial_hex.clone();
        // The path and revocation, with kyso's own validator and the deployment's trust.
        let unvalidated = |e: ServiceError| (None, e);
        let policy = self
            .verify_policy(&VerifyWith { anchors: vec![], intermediates: vec![], crls: vec![], fetch: None }, now)
            .map_err(unvalidated)?;
        chain.extend(policy.intermediates.iter().cloned());
        let input = kyso_pki::path::PathInput {
            leaf: &leaf,
            intermediates: &chain,
            anchors: &policy.anchors,
            at: now,
            eku: None,
            usage: kyso_pki::path::LeafUsage::Signing,
        };
        let path =
            kyso_pki::path::validate(&input).map_err(|p| unvalidated(refused(format!("chứng thư số không hợp lệ: {}", p.message()))))?;
        let fingerprint = hex::encode(kyso_token::HashAlg::Sha256.digest(&leaf));
        let fail = |e: ServiceError| (Some(fingerprint.clone()), e);
        let issuer = path.chain.get(1).cloned().unwrap_or_else(|| leaf.clone());
        let mut status = kyso_pki::path::revocation(&leaf, &issuer, &policy.crls, &policy.ocsps);
        if status == kyso_pki::path::Revocation::Unknown {
            // Another CA's certificate (the government CA's): its CRL distribution points.
            let fetched = self.fetch_crls(&leaf, now);
            if !fetched.is_empty() {
                status = kyso_pki::path::revocation(&leaf, &issuer, &fetched, &[]);
            }
        }
        match status {
            kyso_pki::path::Revocation::Good { valid_until: Some(until), .. } if until < now => {
                return Err(fail(refused(format!(
                    "thông tin thu hồi của nơi cấp chứng thư số {serial} đã quá hạn (đến {}); hãy báo cán bộ CNTT phát hành CRL mới",
                    vn_time(until)
                ))))
            }
            kyso_pki::path::Revocation::Good { .. } => {}
            kyso_pki::path::Revocation::Revoked { at, .. } => {
                return Err(fail(refused(format!("chứng thư số {serial} đã bị thu hồi từ {}", vn_time(at)))))
            }
            kyso_pki::path::Revocation::Unknown => {
                return Err(fail(refused(format!(
                    "không xác định được tình trạng thu hồi của chứng thư số {serial} (không có CRL hoặc OCSP của nơi cấp)"
                ))))
            }
        }
        let user = self.registry_account(&leaf, &info, l.login, now).map_err(fail)?;
        Ok((user, serial, fingerprint))
    }

    /// Where the binary gave a way to reach the network: the CRLs at the certificate's
    /// distribution points (kept an hour, so that logins do not fetch a CRL each time).
    pub fn set_revocation_fetch(&mut self, fetch: crate::RevocationFetch) {
        self.revocation_fetch = Some(fetch);
    }

    fn fetch_crls(&self, leaf: &[u8], now: DateTime<Utc>) -> Vec<Vec<u8>> {
        let Some(fetch) = &self.revocation_fetch else { return vec![] };
        let mut out = Vec::new();
        for url in kyso_pki::cert::crl_urls(leaf).unwrap_or_default().into_iter().take(3) {
            let cached = self.fetched_crls.lock().unwrap_or_else(|p| p.into_inner()).get(&url).cloned();
            match cached {
                Some((at, crl)) if now >= at && now - at < Duration::hours(1) => out.push(crl),
                _ => {
                    if let Some(crl) = fetch(&url).filter(|c| c.len() <= 32 << 20) {
                        self.fetched_crls.lock().unwrap_or_else(|p| p.into_inner()).insert(url, (now, crl.clone()));
                        out.push(crl);
                    }
                }
            }
        }
        out
    }

    /// The registry's side: the certificate is there (the same one, not a namesake from
    /// another CA), valid, an individual's, and that person has one active account (or the one
    /// named).
    fn registry_account(
        &self,
        leaf: &[u8],
        info: &kyso_pki::cert::CertInfo,
        login: Option<&str>,
        now: DateTime<Utc>,
    ) -> ServiceResult<UserId> {
        let serial = &info.serial_hex;
        let not_registered = || refused(format!("chứng thư số {serial} ({}) không có trong sổ đăng ký của hệ thống", info.subject));
        let (record, der) =
            self.db.read(|tx| -> ServiceResult<_> { Ok((tx.certificate_by_serial(serial)?, tx.certificate_der(serial)?)) })?;
        let record = record.ok_or_else(not_registered)?;
        if let Some(stored) = der {
            use base64::Engine;
            if base64::engine::general_purpose::STANDARD.decode(stored.as_bytes()).ok().as_deref() != Some(leaf) {
                return Err(not_registered());
            }
        } else if record.issuer != info.issuer.to_string() {
            return Err(not_registered());
        }
        match record.status_at(now) {
            CertificateStatus::Valid => {}
            CertificateStatus::Revoked => return Err(refused(format!("chứng thư số {serial} đã bị thu hồi trong sổ đăng ký"))),
            CertificateStatus::Expired => {
                return Err(refused(format!("chứng thư số {serial} đã hết hạn từ {}", vn_time(record.not_after))))
            }
        }
        let subscriber = self.db.read(|tx| tx.subscriber(record.subscriber_id))?.ok_or_else(not_registered)?;
        let Some(person) = subscriber.person_id else {
            return Err(refused(format!(
                "chứng thư số {serial} là của cơ quan hoặc thiết bị ({}), không dùng để đăng nhập cá nhân",
                subscriber.display_name
            )));
        };
        let accounts = self.db.read(|tx| -> ServiceResult<Vec<(UserId, String)>> {
            let mut out = Vec::new();
            for (id, l) in tx.users_of_person(person)? {
                if !tx.user_disabled(id)? {
                    out.push((id, l));
                }
            }
            Ok(out)
        })?;
        let chosen: Vec<&(UserId, String)> = match login.map(str::trim).filter(|s| !s.is_empty()) {
            Some(l) => accounts.iter().filter(|(_, a)| a.eq_ignore_ascii_case(l)).collect(),
            None => accounts.iter().collect(),
        };
        match chosen.as_slice() {
            [(id, _)] => Ok(*id),
            [] => Err(refused(format!(
                "người giữ chứng thư số {serial} chưa có tài khoản đang hoạt động{}; hãy liên hệ cán bộ quản trị",
                if login.is_some() { " với tên đăng nhập đã nhập" } else { "" }
            ))),
            _ => Err(refused("người giữ chứng thư số này có nhiều tài khoản; hãy ghi tên đăng nhập cùng chứng thư số")),
        }
    }
}
