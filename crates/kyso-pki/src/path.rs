//! Certificate paths (RFC 5280) at a given time. rustls-webpki builds and checks the path:
//! names, signatures, validity at the time, basic constraints and path length, name
//! constraints, unknown critical extensions and the extended key usage. kyso adds what it does
//! not do: key usage bits, clear reasons for weak algorithms (SHA-1, RSA below 2048 bits), and
//! revocation *at a time* from CRLs and OCSP responses — webpki treats any listed certificate as
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

/// SHA-1 signatures and small keys, named plainly (webpki only says "unsupported").
fn weakness(der_bytes: &[u8]) -> Option<String> {
    let c = Certificate::from_der(der_bytes).ok()?;
    let subject = subject_of(der_bytes);
    let alg = c.signature_algorithm.oid;
    if alg == oids::SHA1_WITH_RSA || alg == ObjectIdentifier::new_unwrap("1.2.840.10045.4.1") {
        return Some(format!("chứng thư '{subject}' được ký bằng SHA-1, quá yếu đối với chữ ký mới"));
    }
    let spki = c.tbs_certificate.subject_public_key_info.to_der().ok()?;
    match crate::alg::key_facts(&spki) {
        Ok((f, _)) if f.is_rsa && f.bits < 2048 => {
            Some(format!("chứng thư '{subject}' có khóa RSA {} bit, quá yếu (tối thiểu 2048 bit)", f.bits))
        }
        Err(PkiError::WeakKey(m)) => Some(format!("chứng thư '{subject}': {m}")),
        _ => None,
    }
}

static ALGS: &[&dyn rustls_pki_types::SignatureVerificationAlgorithm] = &[
    webpki::aws_lc_rs::ECDSA_P256_SHA256,
    webpki::aws_lc_rs::ECDSA_P256_SHA384,
    webpki::aws_lc_rs::ECDSA_P384_SHA256,
    webpki::aws_lc_rs::ECDSA_P384_SHA384,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA256,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA384,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA512,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA384_ABSENT_PARAMS,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA512_ABSENT_PARAMS,
    webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
    webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
    webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
];

/// Validates the path of `p.leaf` at `p.at`. Revocation is separate ([`revocation`]), because
/// the answer depends on when the signature was made.
pub fn validate(p: &PathInput<'_>) -> Result<ValidPath, PathProblem> {
    let leaf_subject = subject_of(p.leaf);
    if let Some(w) = weakness(p.leaf) {
        return Err(PathProblem::Weak(w));
    }
    let leaf_der = CertificateDer::from(p.leaf);
    let ee = webpki::EndEntityCert::try_from(&leaf_der)
        .map_err(|e| PathProblem::Malformed(format!("chứng thư '{leaf_subject}' không đọc được: {e}")))?;
    let anchor_ders: Vec<CertificateDer<'_>> = p.anchors.iter().map(|a| CertificateDer::from(a.as_slice())).collect();
    let mut anchors = Vec::new();
    for (i, a) in anchor_ders.iter().enumerate() {
        match webpki::anchor_from_trusted_cert(a) {
            Ok(t) => anchors.push(t),
            Err(e) => return Err(PathProblem::Malformed(format!("chứng thư gốc tin cậy thứ {} không đọc được: {e}", i + 1))),
        }
    }
    let inter: Vec<CertificateDer<'_>> = p.intermediates.iter().map(|c| CertificateDer::from(c.as_slice())).collect();
    let secs = u64::try_from(p.at.timestamp()).map_err(|_| PathProblem::Malformed("thời điểm trước năm 1970".into()))?;
    let time = UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs));
    let eku = AnyOrRequired(p.eku.as_ref().map(arcs).or(match p.usage {
        LeafUsage::TimeStamping => Some(arcs(&oids::KP_TIME_STAMPING)),
        _ => None,
    }));
    let at = p.at.with_timezone(&chrono::FixedOffset::east_opt(7 * 3600).expect("offset")).format("%d/%m/%Y %H:%M:%S");
    let path = ee.verify_for_usage(ALGS, &anchors, &inter, time, &eku, None, None).map_err(|e| {
        use webpki::Error as E;
        match e {
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
        }
    })?;
    // The path as DER, leaf first, anchor last.
    let mut chain = vec![p.leaf.to_vec()];
    chain.extend(path.intermediate_certificates().map(|c| c.der().to_vec()));
    let anchor_subject = path.anchor().subject.as_ref().to_vec();
    if let Some(a) = p.anchors.iter().find(|a| {
        Certificate::from_der(a)
            .ok()
            .and_then(|c| c.tbs_certificate.subject.to_der().ok())
            .is_some_and(|s| s.ends_with(&anchor_subject) || strip_seq(&s) == anchor_subject)
    }) {
        chain.push(a.clone());
    }
    // Key usage: the leaf signs; every issuer on the path signs certificates.
    let leaf = Certificate::from_der(p.leaf).map_err(|e| PathProblem::Malformed(e.to_string()))?;
    if let (Some(ku), LeafUsage::Signing | LeafUsage::TimeStamping) = (key_usage(&leaf), p.usage) {
        if ku & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION) == 0 {
            return Err(PathProblem::Constraints(format!(
                "chứng thư '{leaf_subject}' không cho phép ký (keyUsage thiếu digitalSignature và nonRepudiation)"
            )));
        }
    }
    // Extended key usage of the leaf: a time-stamping certificate must say so (RFC 3161 2.3);
    // a certificate only for time-stamping or OCSP must not sign documents.
    let ekus = leaf_ekus(&leaf).map_err(|e| PathProblem::Malformed(format!("chứng thư '{leaf_subject}': {e}")))?;
    match (p.usage, &ekus) {
        (LeafUsage::TimeStamping, None) => {
            return Err(PathProblem::Constraints(format!(
                "chứng thư '{leaf_subject}' không có mục đích timeStamping (EKU), không dùng cho dấu thời gian"
            )))
        }
        (LeafUsage::Signing, Some(list))
            if !list.is_empty() && list.iter().all(|o| *o == oids::KP_TIME_STAMPING || *o == oids::KP_OCSP_SIGNING) =>
        {
            return Err(PathProblem::Constraints(format!(
                "chứng thư '{leaf_subject}' chỉ dành cho dịch vụ dấu thời gian hoặc OCSP, không dùng để ký văn bản"
            )))
        }
        _ => {}
    }
    for issuer in chain.iter().skip(1) {
        if let Ok(c) = Certificate::from_der(issuer) {
            if key_usage(&c).is_some_and(|ku| ku & KU_KEY_CERT_SIGN == 0) {
                return Err(PathProblem::Constraints(format!(
                    "CA '{}' không được phép ký chứng thư (keyUsage thiếu keyCertSign)",
                    subject_of(issuer)
                )));
            }
        }
    }
    Ok(ValidPath { chain })
}

/// The leaf's extended key usages, if it has the extension.
fn leaf_ekus(c: &Certificate) -> Result<Option<Vec<ObjectIdentifier>>, der::Error> {
    let Some(e) = c.tbs_certificate.extensions.iter().flatten().find(|e| e.extn_id == oids::EXT_KEY_USAGE) else { return Ok(None) };
    Ok(Some(x509_cert::ext::pkix::ExtendedKeyUsage::from_der(e.extn_value.as_bytes())?.0))
}

/// The content of a DER SEQUENCE (webpki gives names without their outer tag).
fn strip_seq(der_bytes: &[u8]) -> Vec<u8> {
    der::Header::from_der(der_bytes)
        .ok()
        .and_then(|h| h.encoded_len().ok())
        .and_then(|l| usize::try_from(l).ok())
        .map(|n| der_bytes[n..].to_vec())
        .unwrap_or_default()
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
/// Sources whose signature does not verify are ignored.
pub fn revocation(cert: &[u8], issuer: &[u8], crls: &[Vec<u8>], ocsps: &[Vec<u8>]) -> Revocation {
    let (Ok((c, _)), Ok((_, iss))) = (crate::cert::parse(cert), crate::cert::parse(issuer)) else { return Revocation::Unknown };
    let serial = c.tbs_certificate.serial_number.as_bytes().to_vec();
    let mut best = Revocation::Unknown;
    let mut consider = |r: Revocation| best = std::mem::replace(&mut best, Revocation::Unknown).merge(r);
    for crl in crls {
        let Ok(parsed) = crate::crl::parse_and_verify(crl, &iss.spki_der) else { continue };
        if parsed.issuer != iss.subject {
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
    best
}

/// Parses a list of PEM or DER certificates in one file.
pub fn certificates_in(bytes: &[u8]) -> PkiResult<Vec<Vec<u8>>> {
    Ok(crate::pem_blocks(bytes)?.into_iter().filter(|(label, _)| label.is_empty() || label == "CERTIFICATE").map(|(_, d)| d).collect())
}
