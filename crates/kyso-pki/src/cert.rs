//! Certificates: the CA hierarchy and the subscriber profiles of the government CA, built
//! as TBSCertificate, signed on a token, assembled.

use crate::alg::{algorithm_identifier, check_key_strength, verify_signature};
use crate::name::DistinguishedName;
use crate::{key_identifier, oids, x509_time, PkiError, PkiResult};
use chrono::{DateTime, Utc};
use der::asn1::{BitString, Ia5String, Null, OctetString};
use der::flagset::FlagSet;
use der::{Decode, Encode};
use kyso_token::{KeyAlgorithm, SignatureScheme, Signer};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::certificate::{Certificate, TbsCertificate, Version};
use x509_cert::ext::pkix::certpolicy::{CertificatePolicies, PolicyInformation};
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::crl::CrlDistributionPoints;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AccessDescription, AuthorityInfoAccessSyntax, AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
};
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Validity;

/// The kinds of certificate kyso's CA issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertProfile {
    RootCa,
    IssuingCa,
    /// An official: CN = name, OU = unit(s), O = superior body, L = province, C = VN, e-mail.
    Individual,
    /// An agency: CN = agency name, O = superior body, L, C.
    Organisation,
    /// A device, service or software.
    Device,
    /// The delegated OCSP responder (id-pkix-ocsp-nocheck, EKU OCSPSigning).
    OcspResponder,
    /// The time-stamping authority (EKU timeStamping, critical).
    TimeStamping,
}

impl CertProfile {
    pub fn is_ca(self) -> bool {
        matches!(self, CertProfile::RootCa | CertProfile::IssuingCa)
    }
}

/// Where relying parties find status and issuer certificates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Urls {
    pub crl: Option<String>,
    pub ocsp: Option<String>,
    pub ca_issuers: Option<String>,
}

/// Everything that goes into a certificate except the issuer's signature.
#[derive(Debug, Clone)]
pub struct CertTemplate {
    pub profile: CertProfile,
    pub subject: DistinguishedName,
    /// rfc822Name in subjectAltName (not in the DN, per RFC 5280 4.1.2.6).
    pub email: Option<String>,
    pub spki_der: Vec<u8>,
    pub serial: Vec<u8>,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    /// Certificate policy OIDs (from configuration).
    pub policies: Vec<String>,
    pub urls: Urls,
}

/// The signing side: the issuer's name and key.
pub struct Issuer<'a> {
    pub name: Name,
    pub spki_der: Vec<u8>,
    pub signer: &'a dyn Signer,
    pub scheme: SignatureScheme,
}

fn ext<T: Encode>(oid: const_oid::ObjectIdentifier, critical: bool, v: &T) -> PkiResult<Extension> {
    Ok(Extension { extn_id: oid, critical, extn_value: OctetString::new(v.to_der()?)? })
}

fn ia5(s: &str) -> PkiResult<Ia5String> {
    Ia5String::new(s).map_err(|_| PkiError::Invalid(format!("'{s}' phải là chuỗi ASCII (IA5String)")))
}

fn uri(s: &str) -> PkiResult<GeneralName> {
    Ok(GeneralName::UniformResourceIdentifier(ia5(s)?))
}

/// The extensions of a profile.
fn extensions(t: &CertTemplate, issuer_key_id: &[u8], key: KeyAlgorithm) -> PkiResult<Vec<Extension>> {
    use CertProfile::*;
    let mut v = Vec::new();
    let ku: FlagSet<KeyUsages> = match t.profile {
        RootCa | IssuingCa => KeyUsages::KeyCertSign | KeyUsages::CRLSign,
        Individual | Organisation => KeyUsages::DigitalSignature | KeyUsages::NonRepudiation,
        Device if key.is_rsa() => KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment,
        Device | OcspResponder | TimeStamping => KeyUsages::DigitalSignature.into(),
    };
    if t.profile.is_ca() {
        let path_len = if t.profile == IssuingCa { Some(0) } else { None };
        v.push(ext(oids::BASIC_CONSTRAINTS, true, &BasicConstraints { ca: true, path_len_constraint: path_len })?);
    }
    v.push(ext(oids::KEY_USAGE, true, &KeyUsage(ku))?);
    let eku: Vec<const_oid::ObjectIdentifier> = match t.profile {
        RootCa | IssuingCa => vec![],
        Individual | Organisation => vec![oids::KP_EMAIL_PROTECTION, oids::KP_CLIENT_AUTH],
        Device => vec![oids::KP_CLIENT_AUTH, oids::KP_SERVER_AUTH],
        OcspResponder => vec![oids::KP_OCSP_SIGNING],
        TimeStamping => vec![oids::KP_TIME_STAMPING],
    };
    if !eku.is_empty() {
        // RFC 3161 2.3: the TSA's EKU is critical and the only one.
        v.push(ext(oids::EXT_KEY_USAGE, t.profile == TimeStamping, &ExtendedKeyUsage(eku))?);
    }
    v.push(ext(oids::SUBJECT_KEY_ID, false, &OctetString::new(key_identifier(&t.spki_der)?)?)?);
    if t.profile != RootCa {
        v.push(ext(
            oids::AUTHORITY_KEY_ID,
            false,
            &AuthorityKeyIdentifier {
                key_identifier: Some(OctetString::new(issuer_key_id)?),
                authority_cert_issuer: None,
                authority_cert_serial_number: None,
            },
        )?);
    }
    if let Some(e) = &t.email {
        v.push(ext(oids::SUBJECT_ALT_NAME, false, &vec![GeneralName::Rfc822Name(ia5(e)?)])?);
    }
    if t.profile != RootCa && !t.policies.is_empty() {
        let pols = t
            .policies
            .iter()
            .map(|p| {
                let oid =
                    const_oid::ObjectIdentifier::new(p).map_err(|_| PkiError::Invalid(format!("OID chính sách '{p}' không hợp lệ")))?;
                Ok(PolicyInformation { policy_identifier: oid, policy_qualifiers: None })
            })
            .collect::<PkiResult<Vec<_>>>()?;
        v.push(ext(oids::CERTIFICATE_POLICIES, false, &CertificatePolicies(pols))?);
    }
    if t.profile != RootCa {
        if let Some(crl) = &t.urls.crl {
            let dp = DistributionPoint {
                distribution_point: Some(DistributionPointName::FullName(vec![uri(crl)?])),
                reasons: None,
                crl_issuer: None,
            };
            v.push(ext(oids::CRL_DISTRIBUTION_POINTS, false, &CrlDistributionPoints(vec![dp]))?);
        }
        let mut aia = Vec::new();
        // The responder's own certificate is not checked by OCSP (ocsp-nocheck).
        if let (Some(o), false) = (&t.urls.ocsp, t.profile == OcspResponder) {
            aia.push(AccessDescription { access_method: oids::AD_OCSP, access_location: uri(o)? });
        }
        if let Some(c) = &t.urls.ca_issuers {
            aia.push(AccessDescription { access_method: oids::AD_CA_ISSUERS, access_location: uri(c)? });
        }
        if !aia.is_empty() {
            v.push(ext(oids::AUTHORITY_INFO_ACCESS, false, &AuthorityInfoAccessSyntax(aia))?);
        }
    }
    if t.profile == OcspResponder {
        v.push(ext(oids::OCSP_NOCHECK, false, &Null)?);
    }
    Ok(v)
}

/// Signs a template. For a self-signed root, pass the root's own name, key and signer.
pub fn issue(t: &CertTemplate, issuer: &Issuer<'_>) -> PkiResult<Vec<u8>> {
    let facts = check_key_strength(&t.spki_der)?;
    let key = facts.algorithm.unwrap_or(KeyAlgorithm::Rsa2048);
    if t.not_after <= t.not_before {
        return Err(PkiError::Invalid("ngày hết hạn phải sau ngày bắt đầu hiệu lực".into()));
    }
    if t.serial.is_empty() || t.serial.len() > 20 || t.serial[0] & 0x80 != 0 {
        return Err(PkiError::Invalid("số hiệu chứng thư phải dương và không quá 20 byte".into()));
    }
    let sig_alg = algorithm_identifier(issuer.scheme);
    let tbs = TbsCertificate {
        version: Version::V3,
        serial_number: SerialNumber::new(&t.serial)?,
        signature: sig_alg.clone(),
        issuer: issuer.name.clone(),
        validity: Validity { not_before: x509_time(t.not_before)?, not_after: x509_time(t.not_after)? },
        subject: t.subject.to_name()?,
        subject_public_key_info: SubjectPublicKeyInfoOwned::from_der(&t.spki_der)?,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(extensions(t, &key_identifier(&issuer.spki_der)?, key)?),
    };
    let tbs_der = tbs.to_der()?;
    let signature = issuer.signer.sign(issuer.scheme, &tbs_der)?;
    let cert = Certificate { tbs_certificate: tbs, signature_algorithm: sig_alg, signature: BitString::from_bytes(&signature)? };
    Ok(cert.to_der()?)
}

/// The facts kyso reads from a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    pub serial_hex: String,
    pub subject: DistinguishedName,
    pub issuer: DistinguishedName,
    pub subject_der: Vec<u8>,
    pub issuer_der: Vec<u8>,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    pub spki_der: Vec<u8>,
    pub is_ca: bool,
}

pub fn parse(der_bytes: &[u8]) -> PkiResult<(Certificate, CertInfo)> {
    let c = Certificate::from_der(der_bytes)?;
    let tbs = &c.tbs_certificate;
    let is_ca = tbs.extensions.iter().flatten().any(|e| {
        e.extn_id == oids::BASIC_CONSTRAINTS && BasicConstraints::from_der(e.extn_value.as_bytes()).map(|b| b.ca).unwrap_or(false)
    });
    let info = CertInfo {
        serial_hex: hex::encode_upper(tbs.serial_number.as_bytes()),
        subject: DistinguishedName::from_name(&tbs.subject),
        issuer: DistinguishedName::from_name(&tbs.issuer),
        subject_der: tbs.subject.to_der()?,
        issuer_der: tbs.issuer.to_der()?,
        not_before: crate::from_x509_time(&tbs.validity.not_before),
        not_after: crate::from_x509_time(&tbs.validity.not_after),
        spki_der: tbs.subject_public_key_info.to_der()?,
        is_ca,
    };
    Ok((c, info))
}

/// A certificate's subject as text, or a placeholder when it cannot be read (for reports).
pub fn subject_text(der_bytes: &[u8]) -> String {
    parse(der_bytes).map(|(_, i)| i.subject.to_string()).unwrap_or_else(|_| "(không đọc được)".into())
}

/// Checks that `cert` was signed by the key in `issuer_spki`.
pub fn verify_issued_by(cert: &Certificate, issuer_spki: &[u8]) -> PkiResult<()> {
    verify_signature(issuer_spki, &cert.signature_algorithm, &cert.tbs_certificate.to_der()?, cert.signature.raw_bytes())
}

/// The e-mail addresses a certificate names (rfc822Name in subjectAltName, where RFC 5280
/// puts them; some CAs also write emailAddress in the subject, which this does not read).
pub fn emails(der_bytes: &[u8]) -> PkiResult<Vec<String>> {
    let c = Certificate::from_der(der_bytes)?;
    let mut out = Vec::new();
    for e in c.tbs_certificate.extensions.iter().flatten().filter(|e| e.extn_id == oids::SUBJECT_ALT_NAME) {
        for n in x509_cert::ext::pkix::SubjectAltName::from_der(e.extn_value.as_bytes())?.0 {
            if let GeneralName::Rfc822Name(m) = n {
                out.push(m.to_string());
            }
        }
    }
    Ok(out)
}

/// The URLs of a certificate's OCSP responders (authority information access).
pub fn ocsp_urls(der_bytes: &[u8]) -> PkiResult<Vec<String>> {
    use x509_cert::ext::pkix::name::GeneralName;
    let c = Certificate::from_der(der_bytes)?;
    let mut out = Vec::new();
    for e in c.tbs_certificate.extensions.iter().flatten().filter(|e| e.extn_id == oids::AUTHORITY_INFO_ACCESS) {
        for ad in AuthorityInfoAccessSyntax::from_der(e.extn_value.as_bytes())?.0 {
            if let (true, GeneralName::UniformResourceIdentifier(u)) = (ad.access_method == oids::AD_OCSP, ad.access_location) {
                out.push(u.to_string());
            }
        }
    }
    Ok(out)
}

/// The http URLs of a certificate's CRL distribution points (full names only).
pub fn crl_urls(der_bytes: &[u8]) -> PkiResult<Vec<String>> {
    use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
    let c = Certificate::from_der(der_bytes)?;
    let mut out = Vec::new();
    for e in c.tbs_certificate.extensions.iter().flatten().filter(|e| e.extn_id == oids::CRL_DISTRIBUTION_POINTS) {
        let dps = CrlDistributionPoints::from_der(e.extn_value.as_bytes())?;
        for dp in dps.0 {
            if let Some(DistributionPointName::FullName(names)) = dp.distribution_point {
                for n in names {
                    if let GeneralName::UniformResourceIdentifier(u) = n {
                        out.push(u.to_string());
                    }
                }
            }
        }
    }
    Ok(out)
}

/// The SubjectPublicKeyInfo (DER) of a certificate.
pub fn spki_der(cert_der: &[u8]) -> PkiResult<Vec<u8>> {
    Ok(Certificate::from_der(cert_der)?.tbs_certificate.subject_public_key_info.to_der()?)
}
