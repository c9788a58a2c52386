//! The built-in certificate authority: a root and an issuing CA on a token, issuance from
//! CSRs wired to completed requests, CRLs, pre-produced OCSP responses and RFC 3161
//! time-stamps. The CA token's session is passed in by the caller (the binary opens the
//! token with a PIN it never stores).

use crate::*;
use base64::{engine::general_purpose::STANDARD as B64, Engine};
use kyso_core::authz::Permission;
use kyso_core::registry::*;
use kyso_core::request::*;
use kyso_core::value::Serial;
use kyso_pki::cert::{self, CertProfile, CertTemplate, Issuer, Urls};
use kyso_pki::name::{Attr, DistinguishedName};
use kyso_pki::ocsp::{self, IdHash, Responder, Status};
use kyso_pki::{crl, csr, tsp, PkiError};
use kyso_token::{KeyAlgorithm, TokenError, TokenSession};
use std::collections::HashMap;

/// The CA's names, key type, policies and the URLs it writes into certificates.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct CaConfig {
    pub root_name: String,
    pub issuing_name: String,
    pub ocsp_name: String,
    pub tsa_name: String,
    pub key_algorithm: KeyAlgorithm,
    /// Certificate policy OID written into subscriber certificates.
    pub policy_oid: String,
    pub tsa_policy_oid: String,
    /// Base of the URLs written into certificates: {base}/crl/issuing.crl, {base}/ocsp,
    /// {base}/ca/issuing.crt; `kyso serve` serves them.
    pub base_url: String,
    pub crl_hours: i64,
    pub ocsp_hours: i64,
}

impl CaConfig {
    /// Names that mirror the government hierarchy (a Root above a CA for state agencies),
    /// marked as a test CA so that no one mistakes its certificates for the real ones.
    pub fn demo(base_url: &str) -> Self {
        let o = "O=Ban Cơ yếu Chính phủ (thử nghiệm),C=VN";
        CaConfig {
            root_name: format!("CN=RootCA chuyên dùng Chính phủ (thử nghiệm kyso),{o}"),
            issuing_name: format!("CN=CA phục vụ các cơ quan Nhà nước (thử nghiệm kyso),{o}"),
            ocsp_name: format!("CN=OCSP - CA phục vụ các cơ quan Nhà nước (thử nghiệm kyso),{o}"),
            tsa_name: format!("CN=TSA - Dịch vụ cấp dấu thời gian (thử nghiệm kyso),{o}"),
            key_algorithm: KeyAlgorithm::EcP256,
            // Placeholder test OIDs: a deployment sets its CA's real policy OIDs.
            policy_oid: "1.3.6.1.4.1.99999.84.1.1".into(),
            tsa_policy_oid: "1.3.6.1.4.1.99999.84.1.2".into(),
            base_url: base_url.trim_end_matches('/').to_string(),
            crl_hours: 24,
            ocsp_hours: 24,
        }
    }
    /// The built-in CA of a production deployment: named for the province's own CA, with
    /// nothing that reads as a test. (Production certificates normally come from the
    /// government CA; the built-in one serves a self-contained deployment.)
    pub fn production(base_url: &str, province: &str, owner: &str) -> Self {
        let o = format!("O={owner},C=VN");
        CaConfig {
            root_name: format!("CN=Root CA nội bộ - {province},{o}"),
            issuing_name: format!("CN=CA nội bộ cho cơ quan nhà nước - {province},{o}"),
            ocsp_name: format!("CN=OCSP - CA nội bộ - {province},{o}"),
            tsa_name: format!("CN=TSA - Dấu thời gian nội bộ - {province},{o}"),
            ..CaConfig::demo(base_url)
        }
    }
    pub fn urls(&self) -> Urls {
        Urls {
            crl: Some(format!("{}/crl/issuing.crl", self.base_url)),
            ocsp: Some(format!("{}/ocsp", self.base_url)),
            ca_issuers: Some(format!("{}/ca/issuing.crt", self.base_url)),
        }
    }
}

/// Pre-produced OCSP responses by certificate serial: (next update, DER).
pub type OcspCache = HashMap<String, (DateTime<Utc>, Vec<u8>)>;

/// The OCSP responder's in-memory state.
#[derive(Debug, Clone, Default)]
pub struct OcspIndex {
    name_hash: Vec<u8>,
    key_hash: Vec<u8>,
    pub cache: OcspCache,
}

impl OcspIndex {
    /// The pre-produced answer to a one-certificate SHA-1 request about this CA, if fresh.
    pub fn lookup(&self, req: &ocsp::ParsedRequest, now: DateTime<Utc>) -> Option<&[u8]> {
        let [one] = req.asked.as_slice() else { return None };
        if one.hash != Some(IdHash::Sha1)
            || one.id.issuer_name_hash.as_bytes() != self.name_hash
            || one.id.issuer_key_hash.as_bytes() != self.key_hash
        {
            return None;
        }
        match self.cache.get(&serial_hex(&one.serial)) {
            Some((next, bytes)) if *next > now => Some(bytes),
            _ => None,
        }
    }
}

pub const ROOT_KEY: &str = "kyso-root";
pub const ISSUING_KEY: &str = "kyso-issuing";
pub const OCSP_KEY: &str = "kyso-ocsp";
pub const TSA_KEY: &str = "kyso-tsa";

/// The CA's own certificates.
#[derive(Debug, Clone)]
pub struct CaCerts {
    pub config: CaConfig,
    pub root: Vec<u8>,
    pub issuing: Vec<u8>,
    pub ocsp: Vec<u8>,
    pub tsa: Vec<u8>,
}

impl From<PkiError> for ServiceError {
    fn from(e: PkiError) -> Self {
        match e {
            PkiError::Token(t) => t.into(),
            PkiError::BadSignature(m) => DomainError::invalid("csr", m).into(),
            PkiError::WeakKey(m) => DomainError::rule("TT15-2025-key-size", m).into(),
            other => DomainError::invalid("pki", other.to_string()).into(),
        }
    }
}

impl From<TokenError> for ServiceError {
    fn from(e: TokenError) -> Self {
        ServiceError::Token(e)
    }
}

/// The root's CRL: no revoked CA certificates, valid for a year.
fn root_crl(
    root: &[u8],
    key: &dyn kyso_token::Signer,
    scheme: kyso_token::SignatureScheme,
    number: u64,
    now: DateTime<Utc>,
) -> ServiceResult<Vec<u8>> {
    let (_, r) = cert::parse(root)?;
    let p = crl::CrlParams {
        issuer: r.subject.to_name()?,
        issuer_spki: &r.spki_der,
        number,
        delta_of: None,
        this_update: now,
        next_update: now + chrono::Duration::days(365),
        entries: &[],
    };
    Ok(crl::build(&p, key, scheme)?)
}

fn b64(d: &[u8]) -> String {
    B64.encode(d)
}
fn unb64(s: &str) -> ServiceResult<Vec<u8>> {
    B64.decode(s).map_err(|e| ServiceError::Store(kyso_store::StoreError::Corrupt(format!("base64: {e}"))))
}

fn dn(s: &str) -> ServiceResult<DistinguishedName> {
    DistinguishedName::parse(s).map_err(|e| DomainError::invalid("name", e.to_string()).into())
}

fn serial_hex(serial: &[u8]) -> String {
    hex_upper(serial)
}

fn hex_upper(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

fn hex_bytes(s: &str) -> Vec<u8> {
    (0..s.len() / 2).filter_map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()).collect()
}

impl Service {
    /// The root of the agency tree (the province).
    pub fn root_agency(&self, actor: &Principal) -> ServiceResult<Agency> {
        self.db.read(|tx| {
            let root = tx.root_agency()?.ok_or(ServiceError::NotInitialised)?;
            require(actor, Permission::ReadRegistry, &root)?;
            Ok(root)
        })
    }

    fn require_ca_admin(&self, tx: &mut Tx<'_>, actor: &Principal) -> ServiceResult<Agency> {
        let root = tx.root_agency()?.ok_or(ServiceError::NotInitialised)?;
        require(actor, Permission::AdministerCa, &root)?;
        Ok(root)
    }

    /// Creates the CA: four keys on the CA token (root, issuing CA, OCSP responder, TSA) and
    /// their certificates.
    pub fn ca_init(&self, actor: &Principal, cfg: &CaConfig, session: &dyn TokenSession, now: DateTime<Utc>) -> ServiceResult<CaCerts> {
        self.ca_init_with_root(actor, cfg, session, None, now)
    }

    /// Like [`Service::ca_init`], with the root key on a token of its own (`root_session`),
    /// which is taken offline once the issuing CA is made: it is needed again only to sign the
    /// root's CRL ([`Service::ca_root_crl`]) or a new issuing CA.
    pub fn ca_init_with_root(
        &self,
        actor: &Principal,
        cfg: &CaConfig,
        session: &dyn TokenSession,
        root_session: Option<&dyn TokenSession>,
        now: DateTime<Utc>,
    ) -> ServiceResult<CaCerts> {
        let (root_dn, issuing_dn, ocsp_dn, tsa_dn) = (dn(&cfg.root_name)?, dn(&cfg.issuing_name)?, dn(&cfg.ocsp_name)?, dn(&cfg.tsa_name)?);
        self.mutate(actor, "ca.init", "ca", now, |tx| {
            self.require_ca_admin(tx, actor)?;
            if tx.ca_certificate("root")?.is_some() {
                return Err(DomainError::conflict("tổ chức chứng thực", "đã khởi tạo").into());
            }
            let alg = cfg.key_algorithm;
            let scheme = alg.default_scheme();
            let root_key = root_session.unwrap_or(session).generate_key(ROOT_KEY, alg)?;
            let issuing_key = session.generate_key(ISSUING_KEY, alg)?;
            let ocsp_key = session.generate_key(OCSP_KEY, alg)?;
            let tsa_key = session.generate_key(TSA_KEY, alg)?;
            let years = |y: i64| now + chrono::Duration::days(365 * y);
            let tpl = |profile, subject: &DistinguishedName, spki: &[u8], until, policies: Vec<String>, urls: Urls| CertTemplate {
                profile,
                subject: subject.clone(),
                email: None,
                spki_der: spki.to_vec(),
                serial: kyso_pki::random_serial(),
                not_before: now,
                not_after: until,
                policies,
                urls,
            };
            let root_name = root_dn.to_name()?;
            let root_issuer = Issuer { name: root_name.clone(), spki_der: root_key.public_key_spki().to_vec(), signer: &*root_key, scheme };
            // NĐ 68 Art. 9: the CA's own certificate 20 years.
            let root = cert::issue(&tpl(CertProfile::RootCa, &root_dn, root_key.public_key_spki(), years(20), vec![], Urls::default()), &root_issuer)?;
            // The root's own CRL (ARL) says whether the issuing CA is revoked.
            let root_urls = Urls { crl: Some(format!("{}/crl/root.crl", cfg.base_url)), ocsp: None, ca_issuers: Some(format!("{}/ca/root.crt", cfg.base_url)) };
            let issuing = cert::issue(&tpl(CertProfile::IssuingCa, &issuing_dn, issuing_key.public_key_spki(), years(15), vec![cfg.policy_oid.clone()], root_urls), &root_issuer)?;
            let ca_issuer = Issuer { name: issuing_dn.to_name()?, spki_der: issuing_key.public_key_spki().to_vec(), signer: &*issuing_key, scheme };
            let ocsp = cert::issue(&tpl(CertProfile::OcspResponder, &ocsp_dn, ocsp_key.public_key_spki(), years(2), vec![], cfg.urls()), &ca_issuer)?;
            let tsa = cert::issue(&tpl(CertProfile::TimeStamping, &tsa_dn, tsa_key.public_key_spki(), years(5), vec![cfg.tsa_policy_oid.clone()], cfg.urls()), &ca_issuer)?;
            for (role, label, der) in [("root", ROOT_KEY, &root), ("issuing", ISSUING_KEY, &issuing), ("ocsp", OCSP_KEY, &ocsp), ("tsa", TSA_KEY, &tsa)] {
                tx.set_ca_certificate(role, label, &b64(der))?;
            }
            tx.set_setting("ca.config", &serde_json::to_string(cfg).expect("serialisable"))?;
            tx.set_setting("ca.root_crl", &b64(&root_crl(&root, &*root_key, scheme, 1, now)?))?;
            tx.append_audit(
                NewEvent::new(&actor.login, "ca.initialised", "ca".into()).details(serde_json::json!({"root": cfg.root_name, "issuing": cfg.issuing_name, "algorithm": alg.code(), "base_url": cfg.base_url, "offline_root": root_session.is_some()})),
                now,
            )?;
            Ok(CaCerts { config: cfg.clone(), root, issuing, ocsp, tsa })
        })
    }

    /// The CA's certificates, or an error telling to run `kyso ca init`.
    pub fn ca_certs(&self) -> ServiceResult<CaCerts> {
        self.db.read(|tx| {
            let cfg = tx
                .setting("ca.config")?
                .ok_or_else(|| DomainError::not_found("tổ chức chứng thực tích hợp", "chưa khởi tạo: chạy 'kyso ca init'"))?;
            let config: CaConfig = serde_json::from_str(&cfg).map_err(|e| kyso_store::StoreError::Corrupt(e.to_string()))?;
            let get = |tx: &mut Tx<'_>, role: &str| -> ServiceResult<Vec<u8>> {
                unb64(&tx.ca_certificate(role)?.ok_or_else(|| DomainError::not_found("chứng thư của CA", role))?.1)
            };
            Ok(CaCerts { root: get(tx, "root")?, issuing: get(tx, "issuing")?, ocsp: get(tx, "ocsp")?, tsa: get(tx, "tsa")?, config })
        })
    }

    /// The subject the CA writes for a subscriber: individual CN = name, OU = unit, O = the
    /// superior body, L = province, C = VN; organisation CN = agency, O = superior body;
    /// device CN = its name, O = its agency.
    /// The official's title (chức danh) goes in as T when the profile says so.
    fn expected_subject(
        &self,
        tx: &mut Tx<'_>,
        sub: &Subscriber,
        person: Option<&Person>,
    ) -> ServiceResult<(DistinguishedName, Option<String>)> {
        let agency = agency_by_id(tx, sub.agency_id)?;
        let parent_name = match agency.parent {
            Some(p) => agency_by_id(tx, p)?.name,
            None => agency.name.clone(),
        };
        let province = self.profile().province.clone();
        let base = DistinguishedName::new().push(Attr::C, "VN").push(Attr::L, province);
        Ok(match sub.kind {
            SubscriberKind::Individual => {
                // OU: the legal entity the official works in and the units below it, most
                // general first; O: the body above that legal entity.
                let mut units = vec![agency.clone()];
                while !units.last().expect("non-empty").legal_entity {
                    match units.last().expect("non-empty").parent {
                        Some(p) => units.push(agency_by_id(tx, p)?),
                        None => break,
                    }
                }
                let top = units.last().expect("non-empty").clone();
                let superior = match top.parent {
                    Some(p) => agency_by_id(tx, p)?.name,
                    None => top.name.clone(),
                };
                let mut dn = base.push(Attr::O, superior.clone());
                for u in units.iter().rev().filter(|u| u.name != superior) {
                    dn = dn.push(Attr::OU, u.name.clone());
                }
                if let Some(title) = person.map(|p| p.title.as_str()).filter(|t| !t.is_empty() && self.profile().certificate_title) {
                    dn = dn.push(Attr::Title, title);
                }
                (dn.push(Attr::CN, sub.display_name.clone()), sub.email.as_ref().map(|e| e.to_string()))
            }
            SubscriberKind::Organisation => (base.push(Attr::O, parent_name).push(Attr::CN, sub.display_name.clone()), None),
            SubscriberKind::Device => (base.push(Attr::O, agency.name.clone()).push(Attr::CN, sub.display_name.clone()), None),
        })
    }

    /// Issues the certificate for a request sent to the built-in CA from the CSR made on the
    /// subscriber's token, and completes the request, in one transaction.
    pub fn ca_issue(
        &self,
        actor: &Principal,
        id: RequestId,
        csr_der: &[u8],
        device_serial: Option<&str>,
        session: &dyn TokenSession,
        now: DateTime<Utc>,
    ) -> ServiceResult<(Request, Vec<u8>)> {
        let certs = self.ca_certs()?;
        let checked = csr::check(&kyso_pki::der_or_pem(csr_der)?)?;
        let issuing_key = session.signer(ISSUING_KEY)?;
        let ocsp_key = session.signer(OCSP_KEY)?;
        self.mutate(actor, "ca.issue", &format!("request:{id}"), now, |tx| {
            self.require_ca_admin(tx, actor)?;
            let (q, der) = self.issue_in(tx, actor, id, &checked, device_serial, &certs, &*issuing_key, now)?;
            self.preproduce(tx, &certs, &*ocsp_key, std::slice::from_ref(&der), now)?;
            Ok((q, der))
        })
    }

    /// Issues for many requests in one transaction (a batch back from the CA): all or none.
    pub fn ca_issue_batch(
        &self,
        actor: &Principal,
        items: &[(RequestId, Vec<u8>)],
        session: &dyn TokenSession,
        now: DateTime<Utc>,
    ) -> ServiceResult<Vec<Vec<u8>>> {
        let certs = self.ca_certs()?;
        let issuing_key = session.signer(ISSUING_KEY)?;
        let ocsp_key = session.signer(OCSP_KEY)?;
        let checked: Vec<_> =
            items.iter().map(|(id, c)| Ok((*id, csr::check(&kyso_pki::der_or_pem(c)?)?))).collect::<ServiceResult<_>>()?;
        self.mutate(actor, "ca.issue", "batch", now, |tx| {
            self.require_ca_admin(tx, actor)?;
            let mut out = Vec::with_capacity(checked.len());
            for (id, c) in &checked {
                out.push(self.issue_in(tx, actor, *id, c, None, &certs, &*issuing_key, now)?.1);
            }
            self.preproduce(tx, &certs, &*ocsp_key, &out, now)?;
            Ok(out)
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn issue_in(
        &self,
        tx: &mut Tx<'_>,
        actor: &Principal,
        id: RequestId,
        checked: &csr::CheckedCsr,
        device_serial: Option<&str>,
        certs: &CaCerts,
        issuing_key: &dyn kyso_token::Signer,
        now: DateTime<Utc>,
    ) -> ServiceResult<(Request, Vec<u8>)> {
        let q = tx.request(id)?.ok_or_else(|| DomainError::not_found("yêu cầu", id))?;
        if !matches!(
            q.kind,
            RequestKind::NewIndividual
                | RequestKind::NewOrganisation
                | RequestKind::NewDevice
                | RequestKind::Renew
                | RequestKind::ChangeInfo
        ) {
            return Err(DomainError::invalid("request", format!("yêu cầu '{}' không cấp chứng thư mới", q.kind.label_vi())).into());
        }
        let sub = tx.subscriber(q.subscriber_id)?.ok_or_else(|| DomainError::not_found("thuê bao", q.subscriber_id))?;
        // A change of information is issued with the new values.
        let (sub, person) = match self.changed_info(tx, &q.details, &sub)? {
            Some(changed) => (changed.subscriber, changed.person),
            None => {
                let person = match sub.person_id {
                    Some(p) => tx.person(p)?,
                    None => None,
                };
                (sub, person)
            }
        };
        let (subject, email) = self.expected_subject(tx, &sub, person.as_ref())?;
        // The CSR may leave attributes out, but what it states must be the registry's data.
        for (a, v) in &checked.subject.0 {
            if !subject.0.iter().any(|(ea, ev)| ea == a && kyso_core::value::normalize_text(ev) == kyso_core::value::normalize_text(v)) {
                return Err(DomainError::rule(
                    "csr-subject",
                    format!(
                        "CSR ghi '{}' nhưng hồ sơ của thuê bao là '{}'; hãy tạo lại CSR trên thiết bị của đúng thuê bao",
                        checked.subject, subject
                    ),
                )
                .into());
            }
        }
        if checked.subject.get(Attr::CN).is_none() {
            return Err(DomainError::rule("csr-subject", format!("CSR không có tên chung (CN); cần CN={}", sub.display_name)).into());
        }
        let old = match q.certificate_id {
            Some(c) => tx.certificate(c)?,
            None => None,
        };
        let not_after = match (&q.details, &old) {
            (RequestDetails::New { validity_months }, _) => add_months(now, *validity_months),
            (RequestDetails::Renew { extension_months }, Some(o)) => add_months(o.not_after, *extension_months),
            (RequestDetails::ChangeInfo { .. }, Some(o)) => o.not_after,
            _ => return Err(DomainError::invalid("request", "yêu cầu thiếu chứng thư cũ").into()),
        };
        let profile = match sub.kind {
            SubscriberKind::Individual => CertProfile::Individual,
            SubscriberKind::Organisation => CertProfile::Organisation,
            SubscriberKind::Device => CertProfile::Device,
        };
        let (_, ca_info) = cert::parse(&certs.issuing)?;
        let serial = kyso_pki::random_serial();
        let tpl = CertTemplate {
            profile,
            subject: subject.clone(),
            email,
            spki_der: checked.spki_der.clone(),
            serial: serial.clone(),
            not_before: now,
            not_after,
            policies: vec![certs.config.policy_oid.clone()],
            urls: certs.config.urls(),
        };
        let issuer = Issuer {
            name: ca_info.subject.to_name()?,
            spki_der: ca_info.spki_der.clone(),
            signer: issuing_key,
            scheme: certs.config.key_algorithm.default_scheme(),
        };
        let der = cert::issue(&tpl, &issuer)?;
        let input = CompletionInput::Issued {
            serial: serial_hex(&serial),
            subject: subject.to_string(),
            issuer: ca_info.subject.to_string(),
            not_before: now,
            not_after,
            device_serial: device_serial.map(str::to_string),
        };
        let q = self.complete_in(tx, actor, id, &input, now)?;
        let rec =
            tx.certificate_by_serial(&serial_hex(&serial))?.ok_or_else(|| DomainError::not_found("chứng thư số", serial_hex(&serial)))?;
        tx.set_certificate_der(rec.id, &b64(&der))?;
        Ok((q, der))
    }

    /// Carries out a revocation request on the built-in CA: the certificate is revoked now,
    /// its OCSP response is re-produced at once.
    pub fn ca_revoke(&self, actor: &Principal, id: RequestId, session: &dyn TokenSession, now: DateTime<Utc>) -> ServiceResult<Request> {
        let certs = self.ca_certs()?;
        let ocsp_key = session.signer(OCSP_KEY)?;
        self.mutate(actor, "ca.revoke", &format!("request:{id}"), now, |tx| {
            self.require_ca_admin(tx, actor)?;
            let q = self.complete_in(tx, actor, id, &CompletionInput::Revoked { at: now }, now)?;
            if let Some(c) = q.certificate_id.and_then(|c| tx.certificate(c).ok().flatten()) {
                if let Some(d) = tx.certificate_der(c.serial.as_str())? {
                    self.preproduce(tx, &certs, &*ocsp_key, &[unb64(&d)?], now)?;
                }
            }
            Ok(q)
        })
    }

    /// Revokes a certificate issued by this CA directly by serial (key compromise of the
    /// CA's own responder, say). Unknown serials are refused.
    pub fn ca_revoke_serial(
        &self,
        actor: &Principal,
        serial: &str,
        reason: kyso_core::rules::RevocationReason,
        session: &dyn TokenSession,
        now: DateTime<Utc>,
    ) -> ServiceResult<()> {
        let certs = self.ca_certs()?;
        let ocsp_key = session.signer(OCSP_KEY)?;
        let s = Serial::parse("serial", serial)?;
        self.mutate(actor, "ca.revoke", &format!("certificate:{s}"), now, |tx| {
            self.require_ca_admin(tx, actor)?;
            let c = tx.certificate_by_serial(s.as_str())?.ok_or_else(|| DomainError::not_found("chứng thư số có số hiệu", &s))?;
            let der = tx
                .certificate_der(s.as_str())?
                .ok_or_else(|| DomainError::invalid("serial", format!("chứng thư {s} không do CA tích hợp cấp")))?;
            if c.revoked_at.is_some() {
                return Err(DomainError::conflict("thu hồi chứng thư", &s).into());
            }
            tx.revoke_certificate(c.id, now, reason)?;
            tx.append_audit(
                NewEvent::new(&actor.login, "certificate.revoked", format!("certificate:{}", c.id))
                    .details(serde_json::json!({"serial": s.as_str(), "reason": reason.code()})),
                now,
            )?;
            self.preproduce(tx, &certs, &*ocsp_key, &[unb64(&der)?], now)
        })
    }

    /// Produces and stores a signed OCSP response for each certificate, so the responder's
    /// hot path serves bytes without a private-key operation.
    fn preproduce(
        &self,
        tx: &mut Tx<'_>,
        certs: &CaCerts,
        ocsp_key: &dyn kyso_token::Signer,
        issued: &[Vec<u8>],
        now: DateTime<Utc>,
    ) -> ServiceResult<()> {
        let (_, ca) = cert::parse(&certs.issuing)?;
        let responder = Responder { cert: &certs.ocsp, signer: ocsp_key, scheme: certs.config.key_algorithm.default_scheme() };
        let next = now + chrono::Duration::hours(certs.config.ocsp_hours);
        for der in issued {
            let (_, info) = cert::parse(der)?;
            let rec = tx.certificate_by_serial(&info.serial_hex)?;
            let status = match rec.and_then(|r| r.revoked_at.map(|at| (at, r.revocation_reason))) {
                Some((at, reason)) if at <= now => Status::Revoked { at, reason: reason.map(|r| r.rfc5280_code()).unwrap_or(0) },
                _ => Status::Good,
            };
            let id = ocsp::cert_id(IdHash::Sha1, &ca.subject_der, &ca.spki_der, &hex_bytes(&info.serial_hex))?;
            let resp = ocsp::respond(&responder, &[(id, status)], now, now, next, None)?;
            tx.put_ocsp_response(&info.serial_hex, now, next, &b64(&resp))?;
        }
        Ok(())
    }

    /// Checks, before a CA token is opened, that `actor` may do `p` with the CA's keys, so that
    /// an account without the right cannot use up the CA PIN's retries. Recorded as a denial
    /// when refused.
    pub fn check_ca_permission(&self, actor: &Principal, p: Permission, action: &str, now: DateTime<Utc>) -> ServiceResult<()> {
        self.mutate(actor, action, "ca", now, |tx| {
            let root = tx.root_agency()?.ok_or(ServiceError::NotInitialised)?;
            require(actor, p, &root)
        })
    }

    /// Re-produces every OCSP response (run periodically, before `next_update`).
    pub fn ca_refresh_ocsp(&self, actor: &Principal, session: &dyn TokenSession, now: DateTime<Utc>) -> ServiceResult<usize> {
        self.check_ca_permission(actor, Permission::OperateCaServices, "ca.ocsp_refresh", now)?;
        let actor_login = actor.login.as_str();
        let certs = self.ca_certs()?;
        let ocsp_key = session.signer(OCSP_KEY)?;
        self.db.write(|tx| {
            let mut all = Vec::new();
            for serial in tx.issued_serials()? {
                if let Some(d) = tx.certificate_der(&serial)? {
                    all.push(unb64(&d)?);
                }
            }
            self.preproduce(tx, &certs, &*ocsp_key, &all, now)?;
            tx.append_audit(
                NewEvent::new(actor_login, "ca.ocsp_refreshed", "ca".into()).details(serde_json::json!({"responses": all.len()})),
                now,
            )?;
            Ok(all.len())
        })
    }

    /// All pre-produced responses by serial (the server keeps them in memory).
    pub fn ocsp_cache(&self) -> ServiceResult<OcspCache> {
        self.db.read(|tx| tx.ocsp_responses()?.into_iter().map(|(s, next, d)| Ok((s, (next, unb64(&d)?)))).collect())
    }

    /// Everything the OCSP hot path needs, in memory: the issuer's CertID hashes and the
    /// pre-produced responses.
    pub fn ocsp_index(&self) -> ServiceResult<OcspIndex> {
        let certs = self.ca_certs()?;
        let (_, ca) = cert::parse(&certs.issuing)?;
        let id = ocsp::cert_id(IdHash::Sha1, &ca.subject_der, &ca.spki_der, &[1])?;
        Ok(OcspIndex {
            name_hash: id.issuer_name_hash.as_bytes().to_vec(),
            key_hash: id.issuer_key_hash.as_bytes().to_vec(),
            cache: self.ocsp_cache()?,
        })
    }

    /// Answers an OCSP request: from the index when it can (no private-key operation), else
    /// by signing on demand with `session` (several certificates, SHA-256 CertIDs, unknown or
    /// stale serials), else tryLater.
    pub fn ocsp_answer(&self, req_der: &[u8], index: &OcspIndex, session: Option<&dyn TokenSession>, now: DateTime<Utc>) -> Vec<u8> {
        let Ok(req) = ocsp::parse_request(req_der) else {
            return ocsp::error_response(ocsp::ResponseStatus::MalformedRequest);
        };
        if let Some(bytes) = index.lookup(&req, now) {
            return bytes.to_vec();
        }
        let Ok(certs) = self.ca_certs() else {
            return ocsp::error_response(ocsp::ResponseStatus::InternalError);
        };
        let Ok((_, ca)) = cert::parse(&certs.issuing) else {
            return ocsp::error_response(ocsp::ResponseStatus::InternalError);
        };
        let ours = |a: &ocsp::Asked| match a.hash {
            Some(h) => ocsp::cert_id(h, &ca.subject_der, &ca.spki_der, &a.serial)
                .map(|id| id.issuer_name_hash == a.id.issuer_name_hash && id.issuer_key_hash == a.id.issuer_key_hash)
                .unwrap_or(false),
            None => false,
        };
        if !req.asked.iter().all(ours) {
            return ocsp::error_response(ocsp::ResponseStatus::Unauthorized);
        }
        let Some(session) = session else {
            return ocsp::error_response(ocsp::ResponseStatus::TryLater);
        };
        self.ocsp_sign(&req, &certs, session, now).unwrap_or_else(|_| ocsp::error_response(ocsp::ResponseStatus::InternalError))
    }

    fn ocsp_sign(
        &self,
        req: &ocsp::ParsedRequest,
        certs: &CaCerts,
        session: &dyn TokenSession,
        now: DateTime<Utc>,
    ) -> ServiceResult<Vec<u8>> {
        let key = session.signer(OCSP_KEY)?;
        let responder = Responder { cert: &certs.ocsp, signer: &*key, scheme: certs.config.key_algorithm.default_scheme() };
        let answers = self.db.read(|tx| {
            req.asked
                .iter()
                .map(|a| {
                    let rec = tx.certificate_by_serial(&serial_hex(&a.serial))?;
                    let issued_here = tx.certificate_der(&serial_hex(&a.serial))?.is_some();
                    let st = match rec {
                        Some(r) if issued_here => match r.revoked_at {
                            Some(at) if at <= now => {
                                Status::Revoked { at, reason: r.revocation_reason.map(|x| x.rfc5280_code()).unwrap_or(0) }
                            }
                            _ => Status::Good,
                        },
                        _ => Status::Unknown,
                    };
                    Ok::<_, ServiceError>((a.id.clone(), st))
                })
                .collect::<ServiceResult<Vec<_>>>()
        })?;
        Ok(ocsp::respond(&responder, &answers, now, now, now + chrono::Duration::hours(certs.config.ocsp_hours), req.nonce.as_deref())?)
    }

    /// Signs a full CRL (or a delta CRL against the latest full one) and stores it.
    pub fn ca_crl(&self, actor: &Principal, session: &dyn TokenSession, delta: bool, now: DateTime<Utc>) -> ServiceResult<Vec<u8>> {
        self.check_ca_permission(actor, Permission::OperateCaServices, "ca.crl", now)?;
        let actor_login = actor.login.as_str();
        let certs = self.ca_certs()?;
        let key = session.signer(ISSUING_KEY)?;
        let (_, ca) = cert::parse(&certs.issuing)?;
        self.db.write(|tx| {
            let number = tx.next_crl_number()?;
            let base = if delta {
                Some(tx.latest_crl(false)?.ok_or_else(|| {
                    DomainError::invalid("delta", "chưa có CRL đầy đủ để làm gốc cho CRL delta; hãy phát hành CRL đầy đủ trước")
                })?)
            } else {
                None
            };
            let since = base.as_ref().map(|b| b.this_update);
            let entries: Vec<crl::RevokedEntry> = tx
                .revoked_since(since, now)?
                .into_iter()
                .map(|r| crl::RevokedEntry {
                    serial: hex_bytes(&r.serial),
                    revoked_at: r.revoked_at,
                    reason: r.reason.and_then(|x| kyso_core::rules::RevocationReason::parse(&x)).map(|x| x.rfc5280_code()).unwrap_or(0),
                })
                .collect();
            let hours = if delta { (certs.config.crl_hours / 4).max(1) } else { certs.config.crl_hours };
            let next = now + chrono::Duration::hours(hours);
            let p = crl::CrlParams {
                issuer: ca.subject.to_name()?,
                issuer_spki: &ca.spki_der,
                number: number as u64,
                delta_of: base.as_ref().map(|b| b.number as u64),
                this_update: now,
                next_update: next,
                entries: &entries,
            };
            let der = crl::build(&p, &*key, certs.config.key_algorithm.default_scheme())?;
            tx.insert_crl(number, base.as_ref().map(|b| b.number), now, next, &b64(&der))?;
            if !delta {
                // The root key is on the same CA token: refresh the ARL with the full CRL.
                if let Ok(root_key) = session.signer(ROOT_KEY) {
                    tx.set_setting(
                        "ca.root_crl",
                        &b64(&root_crl(&certs.root, &*root_key, certs.config.key_algorithm.default_scheme(), number as u64, now)?),
                    )?;
                }
            }
            tx.append_audit(
                NewEvent::new(actor_login, "ca.crl_published", format!("crl:{number}"))
                    .details(serde_json::json!({"number": number, "delta": delta, "entries": entries.len()})),
                now,
            )?;
            Ok(der)
        })
    }

    /// Signs a new root CRL (the ARL) with the root key on its own token, brought online for
    /// the purpose (the key ceremony; once a year, before the last one's next update).
    pub fn ca_root_crl(&self, actor: &Principal, root_session: &dyn TokenSession, now: DateTime<Utc>) -> ServiceResult<Vec<u8>> {
        let certs = self.ca_certs()?;
        let key = root_session
            .signer(ROOT_KEY)
            .map_err(|_| DomainError::invalid("root_token", "thiết bị này không chứa khóa của CA gốc; cắm đúng thiết bị của CA gốc"))?;
        let (_, root) = cert::parse(&certs.root)?;
        if key.public_key_spki() != root.spki_der.as_slice() {
            return Err(DomainError::invalid("root_token", "khóa trên thiết bị không phải khóa của CA gốc này").into());
        }
        self.mutate(actor, "ca.root_crl", "ca", now, |tx| {
            self.require_ca_admin(tx, actor)?;
            let number = tx.next_crl_number()?;
            let der = root_crl(&certs.root, &*key, certs.config.key_algorithm.default_scheme(), number as u64, now)?;
            tx.set_setting("ca.root_crl", &b64(&der))?;
            tx.append_audit(
                NewEvent::new(&actor.login, "ca.root_crl_published", format!("crl:{number}"))
                    .details(serde_json::json!({"number": number})),
                now,
            )?;
            Ok(der)
        })
    }

    /// The newest stored CRL.
    /// The root's latest CRL (the ARL: the issuing CA is not revoked while kyso runs it).
    pub fn root_crl(&self) -> ServiceResult<Option<Vec<u8>>> {
        self.db.read(|tx| tx.setting("ca.root_crl")?.map(|c| unb64(&c)).transpose())
    }

    pub fn latest_crl(&self, delta: bool) -> ServiceResult<Option<Vec<u8>>> {
        self.db.read(|tx| tx.latest_crl(delta)?.map(|c| unb64(&c.der_b64)).transpose())
    }

    /// Answers an RFC 3161 request with the TSA key, as `actor`; every time-stamp issued is an
    /// audit event (its serial and the imprint it covers).
    pub fn timestamp(&self, actor: &Principal, req_der: &[u8], session: &dyn TokenSession, now: DateTime<Utc>) -> ServiceResult<Vec<u8>> {
        self.check_ca_permission(actor, Permission::OperateCaServices, "ts.stamp", now)?;
        let certs = self.ca_certs()?;
        let key = session.signer(TSA_KEY)?;
        let policy = const_oid::ObjectIdentifier::new(&certs.config.tsa_policy_oid)
            .map_err(|_| DomainError::invalid("tsa_policy_oid", "OID không hợp lệ"))?;
        let chain = vec![certs.issuing.clone()];
        let tsa = tsp::Tsa { cert: &certs.tsa, chain: &chain, signer: &*key, scheme: certs.config.key_algorithm.default_scheme(), policy };
        let serial = kyso_pki::random_serial();
        let resp = tsp::respond(&tsa, req_der, &serial, now)?;
        self.db.write(|tx| {
            tx.append_audit(
                NewEvent::new(&actor.login, "ts.issued", format!("timestamp:{}", serial_hex(&serial))).details(
                    serde_json::json!({"request_sha256": hex::encode(kyso_token::HashAlg::Sha256.digest(req_der)), "gen_time": now}),
                ),
                now,
            )
        })?;
        Ok(resp)
    }

    /// The DER of every certificate the built-in CA issued, oldest first.
    pub fn issued_certificates(&self) -> ServiceResult<Vec<Vec<u8>>> {
        self.db.read(|tx| {
            let mut v = Vec::new();
            for s in tx.issued_serials()? {
                if let Some(d) = tx.certificate_der(&s)? {
                    v.push(unb64(&d)?);
                }
            }
            Ok(v)
        })
    }

    /// The DER of a certificate issued by the built-in CA.
    pub fn certificate_der(&self, serial: &str) -> ServiceResult<Option<Vec<u8>>> {
        let s = Serial::parse("serial", serial)?;
        self.db.read(|tx| tx.certificate_der(s.as_str())?.map(|d| unb64(&d)).transpose())
    }
}
