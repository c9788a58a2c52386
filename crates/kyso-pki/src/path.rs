//! Certificate paths (RFC 5280) at a given time. rustls-webpki builds and checks the path:
//! names, signatures, validity at the time, basic constraints and path length, name
//! constraints, unknown critical extensions and the extended key usage. kyso adds what it does
//! not do, on each path webpki finds (a path that fails is refused and webpki goes on to the
//! next): the trust anchor's own validity, basic constraints and critical extensions; key usage
//! (keyCertSign only in a CA, in every issuer); the key identifiers; name constraints only in
//! a CA and well formed; serial numbers; a maximum depth; clear reasons for weak algorithms and
//! keys. Where webpki departs from RFC 5280 against the relying party — pathLenConstraint and
//! name constraints applied to self-issued certificates, every e-mail and directory-name
//! constraint refused — kyso builds the paths itself (`rfc5280_path`) with webpki's
//! signature algorithms. Revocation is *at a time*, from CRLs (checked as RFC 5280 asks: a CRL
//! number, the issuer's cRLSign) and OCSP responses — webpki treats any listed certificate as
//! revoked, but a signature made before a revocation stays valid.

use crate::{oids, PkiError, PkiResult};
use chrono::{DateTime, Utc};
use der::asn1::ObjectIdentifier;
use der::{Decode, Encode};
use rustls_pki_types::{CertificateDer, UnixTime};
use serde::Serialize;
use x509_cert::certificate::Certificate;

/// What the leaf certificate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeafUsage {
    /// Signing documents: digitalSignature or nonRepudiation, when key usage is present.
    Signing,
    /// A time-stamping authority: digitalSignature and the timeStamping purpose.
    TimeStamping,
    /// Any certificate (`kyso cert verify` without --eku).
    Any,
}

/// The question: is `leaf` valid at `at`, chaining to one of `anchors`?
pub struct PathInput<'a> {
    pub leaf: &'a [u8],
    pub intermediates: &'a [Vec<u8>],
    pub anchors: &'a [Vec<u8>],
    pub at: DateTime<Utc>,
    /// A purpose the leaf must carry (if None, none is required).
    pub eku: Option<ObjectIdentifier>,
    pub usage: LeafUsage,
}

/// Why a path is not valid. Messages are in Vietnamese.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "message", rename_all = "snake_case")]
pub enum PathProblem {
    /// No path to a trusted root (unknown issuer, untrusted root, missing intermediate).
    NoChain(String),
    Expired(String),
    NotYetValid(String),
    /// A certificate's signature does not verify.
    BadSignature(String),
    /// SHA-1 or a key that is too small.
    Weak(String),
    /// Key usage, extended key usage, basic constraints, name constraints, critical extensions.
    Constraints(String),
    Malformed(String),
}

impl PathProblem {
    pub fn message(&self) -> &str {
        match self {
            PathProblem::NoChain(m)
            | PathProblem::Expired(m)
            | PathProblem::NotYetValid(m)
            | PathProblem::BadSignature(m)
            | PathProblem::Weak(m)
            | PathProblem::Constraints(m)
            | PathProblem::Malformed(m) => m,
        }
    }
}

/// A valid path: the certificates from the leaf to the trust anchor.
#[derive(Debug, Clone)]
pub struct ValidPath {
    pub chain: Vec<Vec<u8>>,
}

struct AnyOrRequired(Option<Vec<usize>>);

impl webpki::ExtendedKeyUsageValidator for AnyOrRequired {
    fn validate(&self, iter: webpki::KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        let Some(want) = &self.0 else {
            // Still reject a malformed extension.
            for id in iter {
                id?;
            }
            return Ok(());
        };
        // Called for every certificate on the path; one without the extension allows any
        // purpose (RFC 5280 4.2.1.12), as OpenSSL reads it.
        let (mut found, mut empty) = (false, true);
        for id in iter {
            empty = false;
            if &id?.to_decoded_oid() == want {
                found = true;
            }
        }
        if found || empty {
            Ok(())
        } else {
            // The context type cannot be built outside webpki; the plain variant says the same.
            #[allow(deprecated)]
            Err(webpki::Error::RequiredEkuNotFound)
        }
    }
}

fn arcs(oid: &ObjectIdentifier) -> Vec<usize> {
    oid.arcs().map(|a| a as usize).collect()
}

use crate::cert::subject_text as subject_of;

/// Key usage bits, if the extension is present.
fn key_usage(c: &Certificate) -> Option<u16> {
    let e = c.tbs_certificate.extensions.iter().flatten().find(|e| e.extn_id == oids::KEY_USAGE)?;
    let bits = der::asn1::BitString::from_der(e.extn_value.as_bytes()).ok()?;
    let raw = bits.raw_bytes();
    Some(u16::from(raw.first().copied().unwrap_or(0)) << 8 | u16::from(raw.get(1).copied().unwrap_or(0)))
}

const KU_DIGITAL_SIGNATURE: u16 = 0x8000;
const KU_NON_REPUDIATION: u16 = 0x4000;
const KU_KEY_CERT_SIGN: u16 = 0x0400;

/// SHA-1 signatures and weak keys, named plainly (webpki only says "unsupported"): RSA
/// below 2048 bits, of a size that is not whole bytes, or with a weak exponent; DSA; elliptic
/// curves other than P-256, P-384 and P-521 (or given by explicit parameters).
fn weakness(der_bytes: &[u8]) -> Option<String> {
    weakness_of(der_bytes, false)
}

/// [`weakness`]; for a trust anchor (`anchor`) only the key counts: its own signature is never
/// verified, so a root self-signed with SHA-1 weakens nothing.
fn weakness_of(der_bytes: &[u8], anchor: bool) -> Option<String> {
    let c = Certificate::from_der(der_bytes).ok()?;
    let subject = subject_of(der_bytes);
    let alg = c.signature_algorithm.oid;
    if !anchor && (alg == oids::SHA1_WITH_RSA || alg == oids::ECDSA_SHA1) {
        return Some(format!("chứng thư '{subject}' được ký bằng SHA-1, quá yếu đối với chữ ký mới"));
    }
    let spki = &c.tbs_certificate.subject_public_key_info;
    let key = spki.algorithm.oid;
    if key == oids::RSA_ENCRYPTION {
        return match crate::alg::key_facts(&spki.to_der().ok()?) {
            Ok((f, _)) if f.bits < 2048 => Some(format!("chứng thư '{subject}' có khóa RSA {} bit, quá yếu (tối thiểu 2048 bit)", f.bits)),
            Ok((f, _)) if f.bits % 8 != 0 => Some(format!("chứng thư '{subject}' có khóa RSA {} bit, không phải số nguyên byte", f.bits)),
            Err(PkiError::WeakKey(m)) => Some(format!("chứng thư '{subject}': {m}")),
            _ => None,
        };
    }
    if key == oids::EC_PUBLIC_KEY {
        let curve = spki.algorithm.parameters.as_ref().and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
        return match curve {
            Some(c) if c == oids::P256 || c == oids::P384 || c == oids::P521 => None,
            Some(c) => Some(format!("chứng thư '{subject}' dùng đường cong elliptic {c}, không được chấp nhận (chỉ P-256, P-384, P-521)")),
            None => Some(format!("chứng thư '{subject}' dùng đường cong elliptic cho bằng tham số tường minh, không được chấp nhận")),
        };
    }
    if key == ObjectIdentifier::new_unwrap("1.2.840.10040.4.1") {
        return Some(format!("chứng thư '{subject}' dùng khóa DSA, không được chấp nhận"));
    }
    None
}

static ALGS: &[&dyn rustls_pki_types::SignatureVerificationAlgorithm] = &[
    webpki::aws_lc_rs::ECDSA_P256_SHA256,
    webpki::aws_lc_rs::ECDSA_P256_SHA384,
    webpki::aws_lc_rs::ECDSA_P256_SHA512,
    webpki::aws_lc_rs::ECDSA_P384_SHA256,
    webpki::aws_lc_rs::ECDSA_P384_SHA384,
    webpki::aws_lc_rs::ECDSA_P384_SHA512,
    webpki::aws_lc_rs::ECDSA_P521_SHA256,
    webpki::aws_lc_rs::ECDSA_P521_SHA384,
    webpki::aws_lc_rs::ECDSA_P521_SHA512,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA256,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA384,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA512,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA384_ABSENT_PARAMS,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA512_ABSENT_PARAMS,
    webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
    webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
    webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
    webpki::aws_lc_rs::ED25519,
];

/// Validates the path of `p.leaf` at `p.at`. Revocation is separate ([`revocation`]), because
/// the answer depends on when the signature was made. The certificate profile is read as a
/// validator of documents from other PKIs must ([`PathOptions::default`]).
pub fn validate(p: &PathInput<'_>) -> Result<ValidPath, PathProblem> {
    validate_with(p, &PathOptions::default())
}

/// How a path is judged beyond RFC 5280's path validation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PathOptions {
    /// At most this many intermediate CA certificates between the leaf and the trust anchor
    /// (self-issued ones, such as a CA's key rollover, are not counted, as for
    /// pathLenConstraint). `Some(0)`: the leaf must be issued by the anchor itself.
    pub max_depth: Option<usize>,
    /// Also hold every certificate to what RFC 5280 asks of *conforming CAs* without asking
    /// the relying party to check it (as `openssl verify -x509_strict` does): the key
    /// identifiers (authority's in every certificate but a self-signed one, subject's in every
    /// CA certificate, neither critical), positive serial numbers of at most 20 octets, host
    /// names in the preferred syntax, a critical subjectAltName with an empty subject, critical
    /// policy constraints. `kyso cert verify` sets it; document validation does not, because
    /// real CAs (test PKIs of other projects, some TSAs) issue certificates without key
    /// identifiers, and that weakens nothing.
    pub strict_profile: bool,
}

/// [`validate`] with [`PathOptions`].
pub fn validate_with(p: &PathInput<'_>, o: &PathOptions) -> Result<ValidPath, PathProblem> {
    let leaf_subject = subject_of(p.leaf);
    if let Some(w) = weakness(p.leaf) {
        return Err(PathProblem::Weak(w));
    }
    if !o.strict_profile && p.anchors.iter().any(|a| a.as_slice() == p.leaf) {
        return directly_trusted(p, &leaf_subject);
    }
    let leaf_der = CertificateDer::from(p.leaf);
    let ee = webpki::EndEntityCert::try_from(&leaf_der)
        .map_err(|e| PathProblem::Malformed(format!("chứng thư '{leaf_subject}' không đọc được: {e}")))?;
    let anchor_ders: Vec<CertificateDer<'_>> = p.anchors.iter().map(|a| CertificateDer::from(a.as_slice())).collect();
    // A trusted certificate that cannot be read is left out (it cannot be on a path), unless
    // none can be read.
    let mut anchors = Vec::new();
    let mut anchor_index = Vec::new();
    let mut unreadable = None;
    for (i, a) in anchor_ders.iter().enumerate() {
        match webpki::anchor_from_trusted_cert(a) {
            Ok(t) => {
                anchors.push(t);
                anchor_index.push(i);
            }
            Err(e) => {
                unreadable.get_or_insert(PathProblem::Malformed(format!("chứng thư gốc tin cậy thứ {} không đọc được: {e}", i + 1)));
            }
        }
    }
    if let (true, Some(problem)) = (anchors.is_empty(), unreadable) {
        return Err(problem);
    }
    let inter: Vec<CertificateDer<'_>> = p.intermediates.iter().map(|c| CertificateDer::from(c.as_slice())).collect();
    let secs = u64::try_from(p.at.timestamp()).map_err(|_| PathProblem::Malformed("thời điểm trước năm 1970".into()))?;
    let time = UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs));
    let want_eku = p.eku.as_ref().map(arcs).or(match p.usage {
        LeafUsage::TimeStamping => Some(arcs(&oids::KP_TIME_STAMPING)),
        _ => None,
    });
    let eku = AnyOrRequired(want_eku.clone());
    let at = p.at.with_timezone(&chrono::FixedOffset::east_opt(7 * 3600).expect("offset")).format("%d/%m/%Y %H:%M:%S");
    // What RFC 5280 asks that webpki does not check, on each path webpki finds: a path that
    // fails here is refused and webpki goes on to the next one.
    let refused: std::cell::RefCell<Option<PathProblem>> = std::cell::RefCell::new(None);
    let anchor_of = |t: &rustls_pki_types::TrustAnchor<'_>| -> Option<&[u8]> {
        anchors.iter().position(|a| std::ptr::eq(a, t)).map(|i| p.anchors[anchor_index[i]].as_slice())
    };
    let check = |vp: &webpki::VerifiedPath<'_>| -> Result<(), webpki::Error> {
        let mut ders: Vec<Vec<u8>> = vec![p.leaf.to_vec()];
        ders.extend(vp.intermediate_certificates().map(|c| c.der().to_vec()));
        let Some(anchor) = anchor_of(vp.anchor()) else { return Err(webpki::Error::UnknownIssuer) };
        ders.push(anchor.to_vec());
        match rfc5280_checks(&ders, p, o) {
            Ok(()) => Ok(()),
            Err(problem) => {
                *refused.borrow_mut() = Some(problem);
                Err(webpki::Error::CertDistrusted)
            }
        }
    };
    let result = ee.verify_for_usage(ALGS, &anchors, &inter, time, &eku, None, Some(&check));
    let e = match result {
        Ok(path) => {
            let mut chain = vec![p.leaf.to_vec()];
            chain.extend(path.intermediate_certificates().map(|c| c.der().to_vec()));
            chain.extend(anchor_of(path.anchor()).map(<[u8]>::to_vec));
            return Ok(ValidPath { chain });
        }
        Err(e) => e,
    };
    // webpki applies pathLenConstraint and name constraints to self-issued certificates, and
    // refuses every e-mail, directory-name and URI name constraint; RFC 5280 (6.1) does
    // neither. When that may be why it found no path, kyso builds the paths itself.
    use webpki::Error as E;
    if matches!(e, E::NameConstraintViolation | E::PathLenConstraintViolated | E::InvalidSignatureForPublicKey | E::CertDistrusted) {
        if let Ok(chain) = rfc5280_path(p, want_eku.as_deref(), o) {
            return Ok(ValidPath { chain });
        }
    }
    Err(match e {
        E::CertDistrusted => refused.borrow_mut().take().unwrap_or_else(|| PathProblem::NoChain(format!("không xây được đường dẫn hợp lệ từ '{leaf_subject}'"))),
        #[allow(deprecated)]
        E::RequiredEkuNotFound => PathProblem::Constraints(format!("chứng thư '{leaf_subject}' không có mục đích sử dụng (EKU) được yêu cầu")),
        E::UnknownIssuer => PathProblem::NoChain(format!("không xây được đường dẫn từ '{leaf_subject}' tới một chứng thư gốc tin cậy (thiếu chứng thư trung gian hoặc gốc không được tin cậy)")),
        E::CertExpired { .. } => PathProblem::Expired(format!("một chứng thư trên đường dẫn của '{leaf_subject}' đã hết hạn tại {at}")),
        E::CertNotValidYet { .. } => PathProblem::NotYetValid(format!("một chứng thư trên đường dẫn của '{leaf_subject}' chưa có hiệu lực tại {at}")),
        E::InvalidSignatureForPublicKey => PathProblem::BadSignature(format!("chữ ký trên một chứng thư của đường dẫn '{leaf_subject}' không hợp lệ")),
        E::UnsupportedSignatureAlgorithmContext(_) | E::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => PathProblem::Weak(
            p.intermediates
                .iter()
                .chain(p.anchors)
                .find_map(|c| weakness(c))
                .unwrap_or_else(|| format!("thuật toán ký trên đường dẫn của '{leaf_subject}' không được chấp nhận (quá yếu hoặc không hỗ trợ)")),
        ),
        E::RequiredEkuNotFoundContext(_) => PathProblem::Constraints(format!("chứng thư '{leaf_subject}' không có mục đích sử dụng (EKU) được yêu cầu")),
        E::CaUsedAsEndEntity => PathProblem::Constraints(format!("'{leaf_subject}' là chứng thư của CA, không dùng để ký")),
        E::EndEntityUsedAsCa => PathProblem::Constraints("một chứng thư thuê bao được dùng như CA (basicConstraints)".into()),
        E::PathLenConstraintViolated => PathProblem::Constraints("đường dẫn vượt giới hạn pathLenConstraint".into()),
        E::NameConstraintViolation => PathProblem::Constraints(format!("'{leaf_subject}' vi phạm ràng buộc tên (name constraints) của CA")),
        E::UnsupportedCriticalExtension => PathProblem::Constraints("một chứng thư có phần mở rộng critical không được hiểu".into()),
        other => PathProblem::Malformed(format!("đường dẫn chứng thư của '{leaf_subject}' không hợp lệ: {other}")),
    })
}

/// A leaf that is itself one of the trust anchors (a signer's or a TSA's certificate trusted
/// on its own, as `openssl verify -partial_chain` allows): trusted by that choice, so only its
/// own validity at the time and its purpose are judged. Any version (X.509 v1 included).
fn directly_trusted(p: &PathInput<'_>, leaf_subject: &str) -> Result<ValidPath, PathProblem> {
    let leaf =
        Certificate::from_der(p.leaf).map_err(|e| PathProblem::Malformed(format!("chứng thư '{leaf_subject}' không đọc được: {e}")))?;
    let validity = &leaf.tbs_certificate.validity;
    let (from, until) = (crate::from_x509_time(&validity.not_before), crate::from_x509_time(&validity.not_after));
    let at = p.at.with_timezone(&chrono::FixedOffset::east_opt(7 * 3600).expect("offset")).format("%d/%m/%Y %H:%M:%S");
    if p.at < from {
        return Err(PathProblem::NotYetValid(format!("chứng thư '{leaf_subject}' chưa có hiệu lực tại {at}")));
    }
    if p.at > until {
        return Err(PathProblem::Expired(format!("chứng thư '{leaf_subject}' đã hết hạn tại {at}")));
    }
    leaf_purpose(&leaf, leaf_subject, p.usage)?;
    if let Some(want) = &p.eku {
        let ekus = leaf_ekus(&leaf).map_err(|e| PathProblem::Malformed(format!("chứng thư '{leaf_subject}': {e}")))?;
        if ekus.is_some_and(|l| !l.contains(want)) {
            return Err(PathProblem::Constraints(format!("chứng thư '{leaf_subject}' không có mục đích sử dụng (EKU) được yêu cầu")));
        }
    }
    Ok(ValidPath { chain: vec![p.leaf.to_vec()] })
}

/// The leaf's extended key usages, if it has the extension.
fn leaf_ekus(c: &Certificate) -> Result<Option<Vec<ObjectIdentifier>>, der::Error> {
    let Some(e) = c.tbs_certificate.extensions.iter().flatten().find(|e| e.extn_id == oids::EXT_KEY_USAGE) else { return Ok(None) };
    Ok(Some(x509_cert::ext::pkix::ExtendedKeyUsage::from_der(e.extn_value.as_bytes())?.0))
}

/// The content of a DER SEQUENCE (webpki gives names and algorithms without their outer tag).
fn strip_seq(der_bytes: &[u8]) -> Vec<u8> {
    use der::Reader;
    let Ok(mut r) = der::SliceReader::new(der_bytes) else { return Vec::new() };
    match der::Header::decode(&mut r) {
        Ok(h) => r.read_slice(h.length).map(<[u8]>::to_vec).unwrap_or_default(),
        Err(_) => Vec::new(),
    }
}

// ---- What RFC 5280 asks beyond webpki -------------------------------------------------------

const OID_NAME_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.30");
const OID_POLICY_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.36");
const KU_CRL_SIGN: u16 = 0x0200;

/// The extensions webpki understands; any other one marked critical refuses the certificate.
fn understood(oid: &ObjectIdentifier) -> bool {
    [
        oids::KEY_USAGE,
        oids::SUBJECT_ALT_NAME,
        oids::BASIC_CONSTRAINTS,
        OID_NAME_CONSTRAINTS,
        oids::CRL_DISTRIBUTION_POINTS,
        oids::EXT_KEY_USAGE,
    ]
    .contains(oid)
}

/// A certificate on a candidate path, read once.
struct Link<'a> {
    der: &'a [u8],
    c: Certificate,
    subject: Vec<u8>,
    issuer: Vec<u8>,
}

impl<'a> Link<'a> {
    fn read(der: &'a [u8]) -> Result<Self, PathProblem> {
        let c = Certificate::from_der(der)
            .map_err(|e| PathProblem::Malformed(format!("chứng thư '{}' không đọc được: {e}", subject_of(der))))?;
        let subject = c.tbs_certificate.subject.to_der().map_err(|e| PathProblem::Malformed(e.to_string()))?;
        let issuer = c.tbs_certificate.issuer.to_der().map_err(|e| PathProblem::Malformed(e.to_string()))?;
        Ok(Link { der, c, subject, issuer })
    }
    fn name(&self) -> String {
        subject_of(self.der)
    }
    fn ext(&self, oid: ObjectIdentifier) -> Option<&x509_cert::ext::Extension> {
        self.c.tbs_certificate.extensions.iter().flatten().find(|e| e.extn_id == oid)
    }
    /// Issuer and subject are the same name (RFC 5280 3.2: self-issued).
    fn self_issued(&self) -> bool {
        self.subject == self.issuer
    }
    fn v3(&self) -> bool {
        self.c.tbs_certificate.version == x509_cert::Version::V3
    }
    /// (cA, pathLenConstraint), if the extension is present and readable.
    fn basic_constraints(&self) -> Option<(bool, Option<u8>)> {
        let e = self.ext(oids::BASIC_CONSTRAINTS)?;
        let b = x509_cert::ext::pkix::BasicConstraints::from_der(e.extn_value.as_bytes()).ok()?;
        Some((b.ca, b.path_len_constraint))
    }
    fn is_ca(&self) -> bool {
        self.basic_constraints().is_some_and(|(ca, _)| ca)
    }
    fn key_id(&self, oid: ObjectIdentifier) -> Option<Vec<u8>> {
        let e = self.ext(oid)?;
        if oid == oids::SUBJECT_KEY_ID {
            return der::asn1::OctetString::from_der(e.extn_value.as_bytes()).ok().map(|o| o.as_bytes().to_vec());
        }
        x509_cert::ext::pkix::AuthorityKeyIdentifier::from_der(e.extn_value.as_bytes()).ok()?.key_identifier.map(|k| k.as_bytes().to_vec())
    }
    fn valid_at(&self, at: DateTime<Utc>) -> Result<(), PathProblem> {
        let v = &self.c.tbs_certificate.validity;
        let when = at.with_timezone(&chrono::FixedOffset::east_opt(7 * 3600).expect("offset")).format("%d/%m/%Y %H:%M:%S");
        let t = at.timestamp();
        let nb = v.not_before.to_unix_duration().as_secs() as i64;
        let na = v.not_after.to_unix_duration().as_secs() as i64;
        if t < nb {
            return Err(PathProblem::NotYetValid(format!("chứng thư '{}' chưa có hiệu lực tại {when}", self.name())));
        }
        if t > na {
            return Err(PathProblem::Expired(format!("chứng thư '{}' đã hết hạn tại {when}", self.name())));
        }
        Ok(())
    }
}

fn constraints(m: String) -> Result<(), PathProblem> {
    Err(PathProblem::Constraints(m))
}

/// The checks RFC 5280 asks of a path that webpki does not make, on one candidate path
/// (`ders`: leaf first, trust anchor last), with the purpose checks of the leaf and the
/// maximum depth; with `o.strict_profile`, also the profile rules of conforming CAs.
fn rfc5280_checks(ders: &[Vec<u8>], p: &PathInput<'_>, o: &PathOptions) -> Result<(), PathProblem> {
    let links = ders.iter().map(|d| Link::read(d)).collect::<Result<Vec<_>, _>>()?;
    let last = links.len() - 1;
    // A certificate trusted as itself (the leaf is the anchor) issues nothing here.
    let direct = last == 1 && links[0].der == links[1].der;
    for (i, l) in links.iter().enumerate() {
        let name = l.name();
        let is_anchor = i == last;
        if let Some(w) = weakness_of(l.der, is_anchor && !direct) {
            return Err(PathProblem::Weak(w));
        }
        // A v1 trust anchor has no extensions to check; its validity still counts.
        if is_anchor {
            l.valid_at(p.at)?;
            if !l.v3() || direct {
                continue;
            }
        }
        let exts: &[x509_cert::ext::Extension] = l.c.tbs_certificate.extensions.as_deref().unwrap_or(&[]);
        for (j, e) in exts.iter().enumerate() {
            if exts[..j].iter().any(|o| o.extn_id == e.extn_id) {
                return Err(PathProblem::Malformed(format!("chứng thư '{name}' có phần mở rộng {} lặp lại", e.extn_id)));
            }
        }
        let ca = l.is_ca();
        if is_anchor {
            // The anchor's own extensions (webpki reads only its name, key and name
            // constraints): an unknown critical one refuses it (RFC 5280 4.2). Under the
            // strict profile it must also be a CA (4.2.1.9: no certificate signatures from a
            // v3 key without cA), with basicConstraints critical. RFC 5280 6.1.1 (d) takes a
            // trust anchor as a name and a key, so document validation does not ask this of
            // roots the relying party chose to trust (some test PKIs' roots have no
            // basicConstraints).
            // Certificate policies are understood: kyso asks for no particular policy (any
            // policy is acceptable, RFC 5280 6.1.1 (c)).
            if let Some(e) = exts.iter().find(|e| e.critical && !understood(&e.extn_id) && e.extn_id != oids::CERTIFICATE_POLICIES) {
                return constraints(format!("chứng thư gốc '{name}' có phần mở rộng critical không được hiểu ({})", e.extn_id));
            }
            if o.strict_profile && !ca {
                return constraints(format!("chứng thư gốc '{name}' không có basicConstraints cA=TRUE, không phải chứng thư CA"));
            }
            if o.strict_profile && !l.ext(oids::BASIC_CONSTRAINTS).is_some_and(|e| e.critical) {
                return constraints(format!("chứng thư gốc '{name}': basicConstraints phải được đánh dấu critical (RFC 5280 4.2.1.9)"));
            }
        }
        // 4.2.1.3: keyCertSign only with cA; 4.2.1.10: name constraints only in a CA
        // certificate, and well formed.
        if key_usage(&l.c).is_some_and(|ku| ku & KU_KEY_CERT_SIGN != 0) && !ca && (!is_anchor || o.strict_profile) {
            return constraints(format!("chứng thư '{name}' có keyUsage keyCertSign nhưng không phải CA (basicConstraints)"));
        }
        if let Some(e) = l.ext(OID_NAME_CONSTRAINTS) {
            if !ca {
                return constraints(format!("chứng thư '{name}' không phải CA nhưng có ràng buộc tên (name constraints)"));
            }
            nc_well_formed(e.extn_value.as_bytes())
                .map_err(|m| PathProblem::Constraints(format!("ràng buộc tên của '{name}' không hợp lệ: {m}")))?;
        }
        // 4.1.2.6: a CA has a subject.
        let empty_subject = l.c.tbs_certificate.subject.0.is_empty();
        if empty_subject && (ca || i > 0) {
            return constraints("chứng thư CA có tên chủ thể (subject) rỗng".into());
        }
        // Every issuer signs certificates (keyCertSign, when key usage is present).
        if i > 0 && key_usage(&l.c).is_some_and(|ku| ku & KU_KEY_CERT_SIGN == 0) {
            return constraints(format!("CA '{name}' không được phép ký chứng thư (keyUsage thiếu keyCertSign)"));
        }
        if o.strict_profile {
            strict_profile(&links, i)?;
        }
    }
    if let Some(max) = o.max_depth {
        let depth = links[1..last].iter().filter(|l| !l.self_issued()).count();
        if depth > max {
            return constraints(format!("đường dẫn có {depth} chứng thư CA trung gian, vượt độ sâu tối đa {max}"));
        }
    }
    leaf_purpose(&links[0].c, &links[0].name(), p.usage)
}

/// What RFC 5280 asks of conforming CAs, for certificate `i` of a path ([`PathOptions`]).
fn strict_profile(links: &[Link<'_>], i: usize) -> Result<(), PathProblem> {
    let l = &links[i];
    let name = l.name();
    let last = links.len() - 1;
    let is_anchor = i == last;
    if !is_anchor {
        // 4.1.2.2: positive, at most 20 octets (a leading zero octet of the DER INTEGER is
        // not part of the value).
        let serial = l.c.tbs_certificate.serial_number.as_bytes();
        let negative = serial.first().is_some_and(|b| b & 0x80 != 0);
        let value = match serial {
            [0, rest @ ..] if !rest.is_empty() => rest,
            _ => serial,
        };
        if value.len() > 20 || negative || value.iter().all(|b| *b == 0) {
            return Err(PathProblem::Malformed(format!("chứng thư '{name}' có số hiệu không hợp lệ (phải dương, tối đa 20 byte)")));
        }
    }
    // 4.2.1.1 and 4.2.1.2: the key identifiers, never critical; the authority's in every
    // certificate but a self-signed one, the subject's in every CA certificate.
    let aki = l.ext(oids::AUTHORITY_KEY_ID);
    let ski = l.ext(oids::SUBJECT_KEY_ID);
    if aki.is_some_and(|e| e.critical) || ski.is_some_and(|e| e.critical) {
        return constraints(format!("chứng thư '{name}': authorityKeyIdentifier và subjectKeyIdentifier không được đánh dấu critical"));
    }
    let akid = l.key_id(oids::AUTHORITY_KEY_ID);
    if aki.is_some() && akid.is_none() {
        return constraints(format!("chứng thư '{name}': authorityKeyIdentifier thiếu keyIdentifier"));
    }
    let self_signed = l.self_issued() && (is_anchor || l.der == links[last].der);
    if !self_signed && l.v3() && akid.is_none() {
        return constraints(format!("chứng thư '{name}' thiếu authorityKeyIdentifier (RFC 5280 4.2.1.1)"));
    }
    if (l.is_ca() || is_anchor) && l.key_id(oids::SUBJECT_KEY_ID).is_none() {
        return constraints(format!("chứng thư CA '{name}' thiếu subjectKeyIdentifier (RFC 5280 4.2.1.2)"));
    }
    if self_signed && akid.is_some() && akid != l.key_id(oids::SUBJECT_KEY_ID) {
        return constraints(format!("chứng thư gốc '{name}': authorityKeyIdentifier khác subjectKeyIdentifier của chính nó"));
    }
    // 4.2.1.11: policy constraints are always critical.
    if l.ext(OID_POLICY_CONSTRAINTS).is_some_and(|e| !e.critical) {
        return constraints(format!("chứng thư '{name}': policyConstraints phải được đánh dấu critical (RFC 5280 4.2.1.11)"));
    }
    // 4.1.2.6: an empty subject needs a critical subjectAltName.
    if l.c.tbs_certificate.subject.0.is_empty() && !l.ext(oids::SUBJECT_ALT_NAME).is_some_and(|e| e.critical) {
        return constraints(format!("chứng thư '{name}' có subject rỗng nên phải có subjectAltName critical (RFC 5280 4.1.2.6)"));
    }
    // 4.2.1.6: a dNSName is in the preferred name syntax.
    if !is_anchor {
        for n in san_names(l) {
            if let GeneralName::DnsName(d) = &n {
                if !dns_name_ok(d.as_str(), true) {
                    return Err(PathProblem::Malformed(format!(
                        "chứng thư '{name}' có tên DNS không hợp lệ '{}' trong subjectAltName",
                        d.as_str()
                    )));
                }
            }
        }
    }
    Ok(())
}

/// The leaf's purpose: key usage for signing, the time-stamping and service purposes.
fn leaf_purpose(leaf: &Certificate, leaf_subject: &str, usage: LeafUsage) -> Result<(), PathProblem> {
    if let (Some(ku), LeafUsage::Signing | LeafUsage::TimeStamping) = (key_usage(leaf), usage) {
        if ku & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION) == 0 {
            return Err(PathProblem::Constraints(format!(
                "chứng thư '{leaf_subject}' không cho phép ký (keyUsage thiếu digitalSignature và nonRepudiation)"
            )));
        }
    }
    // Extended key usage of the leaf: a time-stamping certificate must say so (RFC 3161 2.3);
    // a certificate only for time-stamping or OCSP must not sign documents.
    let ekus = leaf_ekus(leaf).map_err(|e| PathProblem::Malformed(format!("chứng thư '{leaf_subject}': {e}")))?;
    match (usage, &ekus) {
        (LeafUsage::TimeStamping, None) => Err(PathProblem::Constraints(format!(
            "chứng thư '{leaf_subject}' không có mục đích timeStamping (EKU), không dùng cho dấu thời gian"
        ))),
        (LeafUsage::Signing, Some(list))
            if !list.is_empty() && list.iter().all(|o| *o == oids::KP_TIME_STAMPING || *o == oids::KP_OCSP_SIGNING) =>
        {
            Err(PathProblem::Constraints(format!(
                "chứng thư '{leaf_subject}' chỉ dành cho dịch vụ dấu thời gian hoặc OCSP, không dùng để ký văn bản"
            )))
        }
        _ => Ok(()),
    }
}

use x509_cert::ext::pkix::name::GeneralName;

fn san_names(l: &Link<'_>) -> Vec<GeneralName> {
    l.ext(oids::SUBJECT_ALT_NAME)
        .and_then(|e| x509_cert::ext::pkix::SubjectAltName::from_der(e.extn_value.as_bytes()).ok())
        .map(|s| s.0)
        .unwrap_or_default()
}

/// A host name in the preferred name syntax (RFC 1034 3.5, RFC 1123 2.1); `wildcard`: a
/// leftmost `*` label is allowed (a certificate's name, not a constraint).
fn dns_name_ok(name: &str, wildcard: bool) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() || name.len() > 253 {
        return false;
    }
    name.split('.').enumerate().all(|(i, label)| {
        (wildcard && i == 0 && label == "*")
            || (!label.is_empty()
                && label.len() <= 63
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-'))
    })
}

/// A mailbox (RFC 5280 4.2.1.6: local-part@domain).
fn mailbox_ok(m: &str) -> bool {
    match m.rsplit_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && !local.contains('@') && local.bytes().all(|b| b.is_ascii_graphic()) && dns_name_ok(domain, false)
        }
        None => false,
    }
}

type Subtrees = x509_cert::ext::pkix::constraints::name::GeneralSubtrees;

fn read_nc(value: &[u8]) -> Result<(Option<Subtrees>, Option<Subtrees>), String> {
    let nc = x509_cert::ext::pkix::NameConstraints::from_der(value).map_err(|e| e.to_string())?;
    Ok((nc.permitted_subtrees, nc.excluded_subtrees))
}

/// RFC 5280 4.2.1.10: permitted or excluded subtrees present and not empty, minimum 0,
/// maximum absent, and each base a valid name of its form.
fn nc_well_formed(value: &[u8]) -> Result<(), String> {
    let (permitted, excluded) = read_nc(value)?;
    if permitted.is_none() && excluded.is_none() {
        return Err("không có permittedSubtrees hay excludedSubtrees".into());
    }
    for list in [&permitted, &excluded].into_iter().flatten() {
        if list.is_empty() {
            return Err("danh sách subtrees rỗng".into());
        }
        for t in list {
            if t.minimum != 0 || t.maximum.is_some() {
                return Err("minimum/maximum không được dùng".into());
            }
            match &t.base {
                GeneralName::DnsName(d) => {
                    let d = d.as_str();
                    if !d.is_empty() && !dns_name_ok(d, false) {
                        return Err(format!("tên DNS '{d}'"));
                    }
                }
                GeneralName::Rfc822Name(m) => {
                    let m = m.as_str();
                    let host = m.strip_prefix('.').unwrap_or(m);
                    if !(mailbox_ok(m) || (!m.contains('@') && dns_name_ok(host, false))) {
                        return Err(format!("địa chỉ thư điện tử '{m}'"));
                    }
                }
                GeneralName::IpAddress(ip) => {
                    let b = ip.as_bytes();
                    let mask = match b.len() {
                        8 => &b[4..],
                        32 => &b[16..],
                        _ => return Err("địa chỉ IP có độ dài sai".into()),
                    };
                    let bits: Vec<bool> = mask.iter().flat_map(|m| (0..8).rev().map(move |k| m >> k & 1 == 1)).collect();
                    if bits.windows(2).any(|w| !w[0] && w[1]) {
                        return Err("mặt nạ mạng IP không liên tục".into());
                    }
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// The names of a certificate that name constraints apply to (RFC 5280 4.2.1.10 and 6.1.3
/// (b), (c)): the subject (with its emailAddress attributes as rfc822 names) and the
/// subjectAltName entries.
fn constrained_names(l: &Link<'_>) -> Vec<GeneralName> {
    let mut names = Vec::new();
    let subject = &l.c.tbs_certificate.subject;
    if !subject.0.is_empty() {
        names.push(GeneralName::DirectoryName(subject.clone()));
        for atv in subject.0.iter().flat_map(|rdn| rdn.0.iter()) {
            if atv.oid == oids::EMAIL {
                let v = atv.value.decode_as::<der::asn1::Ia5String>().map(|s| s.to_string()).unwrap_or_default();
                if let Ok(s) = der::asn1::Ia5String::new(&v) {
                    names.push(GeneralName::Rfc822Name(s));
                }
            }
        }
    }
    names.extend(san_names(l));
    names
}

fn dns_within(name: &str, base: &str) -> bool {
    let (name, base) = (name.to_ascii_lowercase(), base.to_ascii_lowercase());
    let (name, base) = (name.trim_end_matches('.'), base.trim_end_matches('.'));
    base.is_empty() || name == base || name.ends_with(&format!(".{base}"))
}

fn mail_within(name: &str, base: &str) -> bool {
    let Some((local, host)) = name.rsplit_once('@') else { return false };
    match base.rsplit_once('@') {
        Some((blocal, bhost)) => local == blocal && host.eq_ignore_ascii_case(bhost),
        None if base.starts_with('.') => host.to_ascii_lowercase().ends_with(&base.to_ascii_lowercase()),
        None => host.eq_ignore_ascii_case(base),
    }
}

fn dn_within(name: &x509_cert::name::Name, base: &x509_cert::name::Name) -> bool {
    base.0.len() <= name.0.len() && base.0.iter().zip(name.0.iter()).all(|(b, n)| b.to_der().ok() == n.to_der().ok())
}

fn ip_within(ip: &[u8], base: &[u8]) -> bool {
    let n = ip.len();
    base.len() == 2 * n && (0..n).all(|k| ip[k] & base[n + k] == base[k] & base[n + k])
}

/// Whether `name` falls in the subtree `base`; None when they are of different forms.
/// Forms kyso does not compare (URI, otherName, …) match, so that a constraint on them is
/// never passed silently: excluded, they refuse; permitted, they do not widen.
fn within(name: &GeneralName, base: &GeneralName) -> Option<Result<bool, ()>> {
    use GeneralName as G;
    Some(Ok(match (name, base) {
        (G::DnsName(n), G::DnsName(b)) => {
            let n = n.as_str();
            dns_within(n.strip_prefix("*.").unwrap_or(n), b.as_str())
        }
        (G::Rfc822Name(n), G::Rfc822Name(b)) => {
            if !mailbox_ok(n.as_str()) {
                return Some(Err(()));
            }
            mail_within(n.as_str(), b.as_str())
        }
        (G::DirectoryName(n), G::DirectoryName(b)) => dn_within(n, b),
        (G::IpAddress(n), G::IpAddress(b)) => ip_within(n.as_bytes(), b.as_bytes()),
        (G::DnsName(_) | G::Rfc822Name(_) | G::DirectoryName(_) | G::IpAddress(_), _) => return None,
        (n, b) if std::mem::discriminant(n) == std::mem::discriminant(b) => return Some(Err(())),
        _ => return None,
    }))
}

/// Applies one CA's name constraints to the names of a certificate below it.
fn check_nc(value: &[u8], names: &[GeneralName]) -> Result<(), ()> {
    let (permitted, excluded) = read_nc(value).map_err(|_| ())?;
    for n in names {
        if let Some(ex) = &excluded {
            for t in ex {
                match within(n, &t.base) {
                    Some(Ok(true)) | Some(Err(())) => return Err(()),
                    _ => {}
                }
            }
        }
        if let Some(pe) = &permitted {
            let mut same_form = false;
            let mut inside = false;
            for t in pe {
                match within(n, &t.base) {
                    Some(Ok(m)) => {
                        same_form = true;
                        inside |= m;
                    }
                    Some(Err(())) => return Err(()),
                    None => {}
                }
            }
            if same_form && !inside {
                return Err(());
            }
        }
    }
    Ok(())
}

/// Whether `issuer`'s key signed `cert`, with webpki's algorithms.
fn signed_by(cert: &Link<'_>, issuer: &[u8]) -> bool {
    let Ok(alg) = cert.c.signature_algorithm.to_der() else { return false };
    if cert.c.tbs_certificate.signature != cert.c.signature_algorithm {
        return false;
    }
    let alg = strip_seq(&alg);
    let Ok(tbs) = cert.c.tbs_certificate.to_der() else { return false };
    let Some(sig) = cert.c.signature.as_bytes() else { return false };
    let issuer_der = CertificateDer::from(issuer);
    let Ok(key) = webpki::EndEntityCert::try_from(&issuer_der) else { return false };
    ALGS.iter().filter(|a| a.signature_alg_id().as_ref() == alg.as_slice()).any(|a| key.verify_signature(*a, &tbs, sig).is_ok())
}

/// The checks of RFC 5280 6.1 that webpki makes, as RFC 5280 words them: validity, basic
/// constraints and pathLenConstraint (self-issued certificates not counted), unknown critical
/// extensions, the extended key usage, and name constraints of every form kyso compares,
/// never applied to a self-issued intermediate.
fn rfc5280_path_checks(links: &[Link<'_>], p: &PathInput<'_>, want_eku: Option<&[usize]>) -> Result<(), PathProblem> {
    let last = links.len() - 1;
    for (i, l) in links[..last].iter().enumerate() {
        let name = l.name();
        l.valid_at(p.at)?;
        if !l.v3() {
            return Err(PathProblem::Malformed(format!("chứng thư '{name}' không phải phiên bản 3")));
        }
        if let Some(e) = l.c.tbs_certificate.extensions.iter().flatten().find(|e| e.critical && !understood(&e.extn_id)) {
            return constraints(format!("chứng thư '{name}' có phần mở rộng critical không được hiểu ({})", e.extn_id));
        }
        if i == 0 && l.is_ca() {
            return constraints(format!("'{name}' là chứng thư của CA, không dùng để ký"));
        }
        if i > 0 && !l.is_ca() {
            return constraints(format!("'{name}' không phải CA (basicConstraints) nhưng đã ký chứng thư"));
        }
        if let (Some(want), Some(e)) = (want_eku, l.ext(oids::EXT_KEY_USAGE)) {
            let list = x509_cert::ext::pkix::ExtendedKeyUsage::from_der(e.extn_value.as_bytes())
                .map_err(|e| PathProblem::Malformed(format!("chứng thư '{name}': {e}")))?;
            if !list.0.iter().any(|o| arcs(o) == want) || list.0.is_empty() {
                return constraints(format!("chứng thư '{name}' không có mục đích sử dụng (EKU) được yêu cầu"));
            }
        }
    }
    // pathLenConstraint of each CA, the anchor's included: the non-self-issued intermediates
    // below it.
    for (k, ca) in links.iter().enumerate().skip(1) {
        if let Some((_, Some(len))) = ca.basic_constraints() {
            let below = links[1..k].iter().filter(|l| !l.self_issued()).count();
            if below > usize::from(len) {
                return constraints(format!("đường dẫn vượt giới hạn pathLenConstraint của '{}'", ca.name()));
            }
        }
    }
    // Name constraints of each CA on the certificates below it: the leaf, and every
    // intermediate that is not self-issued.
    for (k, ca) in links.iter().enumerate().skip(1) {
        let Some(e) = ca.ext(OID_NAME_CONSTRAINTS) else { continue };
        for (j, below) in links[..k].iter().enumerate() {
            if j > 0 && below.self_issued() {
                continue;
            }
            if check_nc(e.extn_value.as_bytes(), &constrained_names(below)).is_err() {
                return constraints(format!("'{}' vi phạm ràng buộc tên (name constraints) của CA '{}'", below.name(), ca.name()));
            }
        }
    }
    Ok(())
}

/// kyso's own path building, for what webpki refuses against RFC 5280: every path from the
/// leaf through the intermediates to an anchor, issuers found by name and signature, with a
/// budget against pathological inputs.
fn rfc5280_path(p: &PathInput<'_>, want_eku: Option<&[usize]>, o: &PathOptions) -> Result<Vec<Vec<u8>>, PathProblem> {
    let leaf = Link::read(p.leaf)?;
    // Only what webpki itself can read.
    let readable = |d: &&Vec<u8>| webpki::EndEntityCert::try_from(&CertificateDer::from(d.as_slice())).is_ok();
    let inter: Vec<Link<'_>> = p.intermediates.iter().filter(readable).filter_map(|d| Link::read(d).ok()).collect();
    let anchors: Vec<Link<'_>> = p.anchors.iter().filter_map(|d| Link::read(d).ok()).collect();
    let check = |links: &[&Link<'_>]| -> Result<(), PathProblem> {
        let owned: Vec<Link<'_>> = links.iter().map(|l| Link::read(l.der)).collect::<Result<_, _>>()?;
        rfc5280_path_checks(&owned, p, want_eku)?;
        let ders: Vec<Vec<u8>> = links.iter().map(|l| l.der.to_vec()).collect();
        rfc5280_checks(&ders, p, o)
    };
    let mut b = PathBuilder {
        problem: PathProblem::NoChain(format!("không xây được đường dẫn từ '{}' tới một chứng thư gốc tin cậy", leaf.name())),
        leaf: &leaf,
        inter: &inter,
        anchors: &anchors,
        budget: 200,
        check: &check,
    };
    let mut path = Vec::new();
    match b.walk(&mut path) {
        Some(chain) => Ok(chain),
        None => Err(b.problem),
    }
}

/// Depth-first search for a path, most recent refusal kept as the reason.
struct PathBuilder<'l, 'a> {
    leaf: &'l Link<'a>,
    inter: &'l [Link<'a>],
    anchors: &'l [Link<'a>],
    /// Signature checks left (pathological inputs end the search).
    budget: usize,
    problem: PathProblem,
    check: &'l dyn Fn(&[&Link<'a>]) -> Result<(), PathProblem>,
}

impl PathBuilder<'_, '_> {
    /// `path`: indices of the intermediates above the leaf so far.
    fn walk(&mut self, path: &mut Vec<usize>) -> Option<Vec<Vec<u8>>> {
        let head = path.last().map(|i| &self.inter[*i]).unwrap_or(self.leaf);
        for a in self.anchors.iter().filter(|a| a.subject == head.issuer) {
            self.budget = self.budget.checked_sub(1)?;
            if !signed_by(head, a.der) {
                continue;
            }
            let mut links: Vec<&Link<'_>> = vec![self.leaf];
            links.extend(path.iter().map(|i| &self.inter[*i]));
            links.push(a);
            match (self.check)(&links) {
                Ok(()) => return Some(links.iter().map(|l| l.der.to_vec()).collect()),
                Err(e) => self.problem = e,
            }
        }
        if path.len() >= 8 {
            return None;
        }
        for (i, c) in self.inter.iter().enumerate() {
            if c.subject != head.issuer || path.contains(&i) || c.der == self.leaf.der {
                continue;
            }
            self.budget = self.budget.checked_sub(1)?;
            if !signed_by(head, c.der) {
                continue;
            }
            path.push(i);
            if let Some(found) = self.walk(path) {
                return Some(found);
            }
            path.pop();
        }
        None
    }
}

/// A certificate's revocation status, from one source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Revocation {
    /// `valid_until`: the CRL's nextUpdate or the OCSP response's, when given.
    Good {
        source: String,
        produced: DateTime<Utc>,
        valid_until: Option<DateTime<Utc>>,
    },
    Revoked {
        source: String,
        at: DateTime<Utc>,
        reason: u8,
    },
    Unknown,
}

impl Revocation {
    /// What two sources say together: a revocation if either lists one (the earlier one if
    /// both do), otherwise the fresher "good"; "unknown" (an OCSP responder that does not
    /// know) never hides what another source knows.
    pub fn merge(self, other: Revocation) -> Revocation {
        use Revocation::*;
        match (self, other) {
            (Revoked { source, at, reason }, Revoked { source: s2, at: a2, reason: r2 }) => {
                if a2 < at {
                    Revoked { source: s2, at: a2, reason: r2 }
                } else {
                    Revoked { source, at, reason }
                }
            }
            (r @ Revoked { .. }, _) | (_, r @ Revoked { .. }) => r,
            (a @ Good { .. }, b @ Good { .. }) => {
                let produced = |r: &Revocation| if let Good { produced, .. } = r { *produced } else { DateTime::<Utc>::MIN_UTC };
                if produced(&b) > produced(&a) {
                    b
                } else {
                    a
                }
            }
            (r @ Good { .. }, Unknown) | (Unknown, r) => r,
        }
    }
}

/// The status of `cert` (issued by `issuer`) from the CRLs and OCSP responses given: a
/// revocation if any source lists one, otherwise the freshest "good", otherwise unknown.
/// Sources that cannot be used (signature, RFC 5280 checks) are ignored.
pub fn revocation(cert: &[u8], issuer: &[u8], crls: &[Vec<u8>], ocsps: &[Vec<u8>]) -> Revocation {
    revocation_checked(cert, issuer, crls, ocsps).status
}

/// A revocation status, with why CRLs of the certificate's issuer were not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationCheck {
    pub status: Revocation,
    /// One message per CRL that names the issuer but cannot be used: its signature does not
    /// verify, the issuer may not sign CRLs (keyUsage without cRLSign), or the CRL breaks
    /// RFC 5280 (no CRL number, a critical CRL number, an unknown critical extension).
    pub unusable: Vec<String>,
}

/// [`revocation`], with the reasons CRLs were left out. A caller that was given CRLs for
/// the issuer and could use none of them has no status to rely on (RFC 5280 6.3.3).
pub fn revocation_checked(cert: &[u8], issuer: &[u8], crls: &[Vec<u8>], ocsps: &[Vec<u8>]) -> RevocationCheck {
    let (Ok((c, _)), Ok((ic, iss))) = (crate::cert::parse(cert), crate::cert::parse(issuer)) else {
        return RevocationCheck { status: Revocation::Unknown, unusable: vec![] };
    };
    let serial = c.tbs_certificate.serial_number.as_bytes().to_vec();
    let issuer_name = subject_of(issuer);
    let mut best = Revocation::Unknown;
    let mut unusable = Vec::new();
    let mut consider = |r: Revocation| best = std::mem::replace(&mut best, Revocation::Unknown).merge(r);
    // RFC 5280 6.3.3 (f): the CRL issuer's key usage, when present, has cRLSign.
    let may_sign_crls = key_usage(&ic).is_none_or(|ku| ku & KU_CRL_SIGN != 0);
    for crl in crls {
        let Ok(list) = x509_cert::crl::CertificateList::from_der(crl) else { continue };
        if crate::name::DistinguishedName::from_name(&list.tbs_cert_list.issuer) != iss.subject {
            continue;
        }
        let parsed = match crate::crl::parse_and_verify(crl, &iss.spki_der) {
            Ok(parsed) => parsed,
            Err(e) => {
                unusable.push(format!("CRL của '{issuer_name}' không dùng được: {e}"));
                continue;
            }
        };
        if !may_sign_crls {
            unusable.push(format!("CRL của '{issuer_name}' không dùng được: CA không được phép ký CRL (keyUsage thiếu cRLSign)"));
            continue;
        }
        match parsed.entries.iter().find(|e| e.serial == serial) {
            Some(e) => consider(Revocation::Revoked { source: "CRL".into(), at: e.revoked_at, reason: e.reason }),
            None => consider(Revocation::Good { source: "CRL".into(), produced: parsed.this_update, valid_until: parsed.next_update }),
        }
    }
    for r in ocsps {
        if let Ok(Some(status)) = crate::ocsp::status_in_response(r, cert, issuer) {
            consider(status);
        }
    }
    RevocationCheck { status: best, unusable }
}

/// Parses a list of PEM or DER certificates in one file.
pub fn certificates_in(bytes: &[u8]) -> PkiResult<Vec<Vec<u8>>> {
    Ok(crate::pem_blocks(bytes)?.into_iter().filter(|(label, _)| label.is_empty() || label == "CERTIFICATE").map(|(_, d)| d).collect())
}
