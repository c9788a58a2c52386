//! CMS SignedData (RFC 5652) signed on a token: used for RFC 3161 time-stamp tokens here and
//! for CAdES / PAdES signatures later. Signed attributes are sorted as DER requires.

use crate::alg::{algorithm_identifier, SignatureFacts};
use crate::{oids, signed_data, PkiError, PkiResult};
use chrono::{DateTime, Utc};
use der::asn1::{Any, ObjectIdentifier, OctetString, SetOfVec};
use der::{Decode, Encode, Sequence};
use kyso_token::{HashAlg, SignatureScheme, Signer};
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::Attribute;
use x509_cert::certificate::Certificate;
use x509_cert::ext::pkix::name::GeneralName;

pub fn digest_algorithm(h: HashAlg) -> AlgorithmIdentifierOwned {
    let oid = match h {
        HashAlg::Sha1 => oids::SHA1,
        HashAlg::Sha256 => oids::SHA256,
        HashAlg::Sha384 => oids::SHA384,
        HashAlg::Sha512 => oids::SHA512,
    };
    AlgorithmIdentifierOwned { oid, parameters: None }
}

/// ESSCertIDv2 (RFC 5035) with SHA-256, which is the default and so not written.
#[derive(Sequence)]
struct EssCertIdV2 {
    cert_hash: OctetString,
    // OPTIONAL in RFC 5035; kyso always writes it, others may not.
    issuer_serial: Option<IssuerSerial>,
}

#[derive(Sequence)]
struct IssuerSerial {
    issuer: Vec<GeneralName>,
    serial: x509_cert::serial_number::SerialNumber,
}

#[derive(Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
}

pub fn attribute(oid: ObjectIdentifier, value: impl Encode) -> PkiResult<Attribute> {
    let any = Any::from_der(&value.to_der()?)?;
    Ok(Attribute { oid, values: SetOfVec::try_from(vec![any])? })
}

/// The signing-certificate-v2 attribute naming `cert`.
pub fn signing_certificate_v2(cert_der: &[u8]) -> PkiResult<Attribute> {
    let c = Certificate::from_der(cert_der)?;
    let v = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            cert_hash: OctetString::new(HashAlg::Sha256.digest(cert_der))?,
            issuer_serial: Some(IssuerSerial {
                issuer: vec![GeneralName::DirectoryName(c.tbs_certificate.issuer.clone())],
                serial: c.tbs_certificate.serial_number.clone(),
            }),
        }],
    };
    attribute(oids::ATTR_SIGNING_CERTIFICATE_V2, v)
}

/// What to sign.
pub struct SignRequest<'a> {
    pub content_type: ObjectIdentifier,
    /// The content to encapsulate, or None for a detached signature over `content_digest`.
    pub econtent: Option<&'a [u8]>,
    /// The digest of the content (computed by the caller for detached signatures, so that a
    /// large file is hashed as a stream).
    pub content_digest: Vec<u8>,
    pub digest: HashAlg,
    pub signer_cert: &'a [u8],
    /// Further certificates to include (the chain).
    pub chain: &'a [Vec<u8>],
    /// Extra signed attributes (signing time, policy…), besides content type, message
    /// digest and signing-certificate-v2.
    pub extra_signed: Vec<Attribute>,
}

/// The DER of the signed attributes, as signed (a SET OF, sorted).
pub fn signed_attributes(r: &SignRequest<'_>) -> PkiResult<SetOfVec<Attribute>> {
    let mut attrs = vec![
        attribute(oids::ATTR_CONTENT_TYPE, r.content_type)?,
        attribute(oids::ATTR_MESSAGE_DIGEST, OctetString::new(r.content_digest.clone())?)?,
        signing_certificate_v2(r.signer_cert)?,
    ];
    attrs.extend(r.extra_signed.iter().cloned());
    let mut set = SetOfVec::new();
    for a in attrs {
        set.insert(a).map_err(|e| PkiError::Der(e.to_string()))?;
    }
    Ok(set)
}

/// Signs and returns the ContentInfo (SignedData) DER.
pub fn sign(r: &SignRequest<'_>, signer: &dyn Signer, scheme: SignatureScheme) -> PkiResult<Vec<u8>> {
    let signed = signed_attributes(r)?;
    let signature = signer.sign(scheme, &signed.to_der()?)?;
    assemble(r, signed, scheme, &signature)
}

/// Builds the SignedData around a signature made elsewhere (two-phase signing).
pub fn assemble(r: &SignRequest<'_>, signed: SetOfVec<Attribute>, scheme: SignatureScheme, signature: &[u8]) -> PkiResult<Vec<u8>> {
    use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
    use cms::content_info::ContentInfo;
    use cms::signed_data::{CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo};
    let cert = Certificate::from_der(r.signer_cert)?;
    let mut certs = SetOfVec::new();
    for c in std::iter::once(r.signer_cert).chain(r.chain.iter().map(Vec::as_slice)) {
        certs.insert(CertificateChoices::Certificate(Certificate::from_der(c)?)).map_err(|e| PkiError::Der(e.to_string()))?;
    }
    let si = SignerInfo {
        version: cms::content_info::CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: cert.tbs_certificate.issuer.clone(),
            serial_number: cert.tbs_certificate.serial_number.clone(),
        }),
        digest_alg: digest_algorithm(r.digest),
        signed_attrs: Some(signed),
        signature_algorithm: algorithm_identifier(scheme),
        signature: OctetString::new(signature)?,
        unsigned_attrs: None,
    };
    let mut digest_algorithms = SetOfVec::new();
    digest_algorithms.insert(digest_algorithm(r.digest)).map_err(|e| PkiError::Der(e.to_string()))?;
    let mut signer_infos = SetOfVec::new();
    signer_infos.insert(si).map_err(|e| PkiError::Der(e.to_string()))?;
    let sd = SignedData {
        // RFC 5652 5.1: version 3 when the content is not id-data.
        version: if r.content_type == oids::CT_DATA { cms::content_info::CmsVersion::V1 } else { cms::content_info::CmsVersion::V3 },
        digest_algorithms,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: r.content_type,
            econtent: r.econtent.map(|c| Any::new(der::Tag::OctetString, c)).transpose()?,
        },
        certificates: Some(CertificateSet(certs)),
        crls: None,
        signer_infos: cms::signed_data::SignerInfos(signer_infos),
    };
    Ok(ContentInfo { content_type: oids::SIGNED_DATA, content: Any::from_der(&sd.to_der()?)? }.to_der()?)
}

/// The certificates carried by a CMS SignedData (a PKCS#7 "certs-only" bundle, or a
/// signature), BER or DER.
pub fn certificates_of(content_info_der: &[u8]) -> PkiResult<Vec<Vec<u8>>> {
    Ok(signed_data::read(content_info_der)?.certificates)
}

fn signed_data_of(content_info_der: &[u8]) -> PkiResult<cms::signed_data::SignedData> {
    let ci = cms::content_info::ContentInfo::from_der(content_info_der)?;
    if ci.content_type != oids::SIGNED_DATA {
        return Err(PkiError::Invalid("không phải SignedData".into()));
    }
    Ok(ci.content.decode_as()?)
}

fn first_signer(view: &signed_data::SignedDataView) -> PkiResult<&signed_data::SignerInfoView> {
    view.signers.first().ok_or_else(|| PkiError::Invalid("SignedData không có SignerInfo".into()))
}

/// The signature value of the (first) SignerInfo: what a signature time-stamp covers.
pub fn signature_value(content_info_der: &[u8]) -> PkiResult<Vec<u8>> {
    let view = signed_data::read(content_info_der)?;
    Ok(first_signer(&view)?.signature.clone())
}

/// Adds an unsigned attribute (e.g. the signature time-stamp of PAdES B-T) to the first
/// SignerInfo. The signed part is untouched.
pub fn with_unsigned_attribute(content_info_der: &[u8], attr: Attribute) -> PkiResult<Vec<u8>> {
    let mut sd = signed_data_of(content_info_der)?;
    let mut infos: Vec<_> = sd.signer_infos.0.iter().cloned().collect();
    let si = infos.first_mut().ok_or_else(|| PkiError::Invalid("SignedData không có SignerInfo".into()))?;
    let mut set = si.unsigned_attrs.clone().unwrap_or_default();
    set.insert(attr).map_err(|e| PkiError::Der(e.to_string()))?;
    si.unsigned_attrs = Some(set);
    sd.signer_infos = cms::signed_data::SignerInfos(SetOfVec::try_from(infos).map_err(|e| PkiError::Der(e.to_string()))?);
    Ok(cms::content_info::ContentInfo { content_type: oids::SIGNED_DATA, content: Any::from_der(&sd.to_der()?)? }.to_der()?)
}

/// The id-aa-signatureTimeStampToken attribute carrying `token` (a ContentInfo).
pub fn signature_time_stamp(token_der: &[u8]) -> PkiResult<Attribute> {
    let any = Any::from_der(token_der)?;
    Ok(Attribute { oid: oids::ATTR_SIGNATURE_TIME_STAMP, values: SetOfVec::try_from(vec![any])? })
}

/// The signature time-stamp token (a ContentInfo, DER) of the first SignerInfo, if any.
pub fn signature_time_stamp_token(content_info_der: &[u8]) -> PkiResult<Option<Vec<u8>>> {
    let view = signed_data::read(content_info_der)?;
    let si = first_signer(&view)?;
    Ok(si.unsigned(oids::ATTR_SIGNATURE_TIME_STAMP).first().and_then(|a| a.values.first()).cloned())
}

/// RevocationInfoArchival (ISO 32000-1 §12.8.3.3.2): what Acrobat and pyHanko embed.
#[derive(Sequence)]
struct RevocationInfoArchival {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    crl: Option<Vec<Any>>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    ocsp: Option<Vec<Any>>,
    // Other formats are accepted and not used.
    #[allow(dead_code)]
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
    other: Option<Vec<Any>>,
}

/// Revocation data a signature carries for its verifier: CRLs and OCSP responses (DER), from
/// the SignedData's `crls` and from adbe-revocationInfoArchival attributes, signed or not.
/// Nothing here is trusted: each CRL or response is checked against its issuer when used.
/// Parts that do not parse are skipped (the data is only a help to the verifier).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RevocationInfo {
    pub crls: Vec<Vec<u8>>,
    pub ocsps: Vec<Vec<u8>>,
}

/// Reads the [`RevocationInfo`] of the first SignerInfo and its SignedData.
pub fn revocation_info(content_info_der: &[u8]) -> PkiResult<RevocationInfo> {
    let view = signed_data::read(content_info_der)?;
    let mut out = RevocationInfo { crls: view.crls.clone(), ocsps: vec![] };
    let Some(si) = view.signers.first() else { return Ok(out) };
    let attrs = si.signed(oids::ATTR_ADBE_REVOCATION_INFO).into_iter().chain(si.unsigned(oids::ATTR_ADBE_REVOCATION_INFO));
    for value in attrs.flat_map(|a| a.values.iter()) {
        let Ok(archive) = RevocationInfoArchival::from_der(value) else { continue };
        for crl in archive.crl.unwrap_or_default() {
            out.crls.push(crl.to_der()?);
        }
        for ocsp in archive.ocsp.unwrap_or_default() {
            out.ocsps.push(ocsp.to_der()?);
        }
    }
    Ok(out)
}

/// The element at the start of `bytes`, without what follows (PDF signatures are padded
/// with zeros to fill the reserved space). BER (indefinite lengths) is measured too.
pub fn der_prefix(bytes: &[u8]) -> PkiResult<&[u8]> {
    let len = crate::ber::element_len(bytes)?;
    Ok(&bytes[..len])
}

/// What a verified CMS signature says about itself.
#[derive(Debug, Clone)]
pub struct VerifiedCms {
    pub signer_cert: Vec<u8>,
    pub certificates: Vec<Vec<u8>>,
    pub digest: HashAlg,
    /// The algorithms the signature was made with, for the caller's policy.
    pub facts: SignatureFacts,
    /// The encapsulated content (a time-stamp token's TSTInfo), if any.
    pub econtent: Option<Vec<u8>>,
    /// Whether an ESS signing-certificate attribute (v2, or v1 with SHA-1) names the signer's
    /// certificate; None when neither is present.
    pub signing_certificate: Option<bool>,
    /// Which one: 2 (signing-certificate-v2) or 1 (signing-certificate).
    pub signing_certificate_version: Option<u8>,
    /// The signing-time attribute: what the signer's clock said, unproven.
    pub signing_time: Option<DateTime<Utc>>,
    /// Whether there were signed attributes at all (adbe.pkcs7.detached may sign the digest
    /// directly).
    pub has_signed_attributes: bool,
    pub has_signature_time_stamp: bool,
}

/// Does an ESS signing-certificate(-v2) value name `cert_der`? The first ESSCertID(v2) names
/// the signer (RFC 5035 §5.4); v2 names its hash (SHA-256 when absent), v1 is SHA-1.
fn names_certificate(value: &[u8], cert_der: &[u8], v2: bool) -> PkiResult<bool> {
    use crate::ber::Tlv;
    let bad = || PkiError::Invalid("thuộc tính signing-certificate không đúng cấu trúc".into());
    let certs = Tlv::parse(value)?.children()?.into_iter().next().ok_or_else(bad)?;
    let first = certs.children()?.into_iter().next().ok_or_else(bad)?;
    let parts = first.children()?;
    let (h, cert_hash) = match parts.first() {
        Some(alg) if v2 && alg.tag_byte() == 0x30 => {
            let alg = AlgorithmIdentifierOwned::from_der(&alg.to_der()?)?;
            let h = crate::alg::hash_of_oid(&alg.oid)
                .ok_or_else(|| PkiError::Unsupported(format!("hàm băm {} trong signing-certificate-v2", alg.oid)))?;
            (h, parts.get(1).ok_or_else(bad)?)
        }
        Some(octets) => (if v2 { HashAlg::Sha256 } else { HashAlg::Sha1 }, octets),
        None => return Err(bad()),
    };
    if cert_hash.tag_byte() != 0x04 {
        return Err(bad());
    }
    Ok(cert_hash.contents == h.digest(cert_der).as_slice())
}

/// The one value of a signed attribute that must appear at most once (RFC 5652 §11,
/// EN 319 122-1): an error that names it when it is repeated.
fn single<'a>(si: &'a signed_data::SignerInfoView, oid: ObjectIdentifier, name: &str) -> PkiResult<Option<&'a [u8]>> {
    let found = si.signed(oid);
    let values: Vec<&Vec<u8>> = found.iter().flat_map(|a| a.values.iter()).collect();
    match (found.len(), values.len()) {
        (0, _) => Ok(None),
        (1, 1) => Ok(Some(values[0].as_slice())),
        (1, n) => Err(PkiError::Invalid(format!("thuộc tính được ký {name} có {n} giá trị (chỉ được có một)"))),
        (n, _) => Err(PkiError::Invalid(format!("thuộc tính được ký {name} xuất hiện {n} lần (chỉ được có một)"))),
    }
}

/// Verifies a CMS SignedData, BER or DER. The content is the encapsulated one when present;
/// otherwise the caller gives the detached content's digest through `detached_digest` (so
/// large files are hashed as a stream). The signed message-digest must match and the
/// signature over the signed attributes, as the signer encoded them, must verify with the
/// signer's certificate found in the SignedData (without signed attributes, the signature is
/// over the content's digest). Trust in that certificate and the strength of the algorithms
/// are not judged here: [`VerifiedCms::facts`] says what they were.
pub fn verify(content_info_der: &[u8], detached_digest: Option<&dyn Fn(HashAlg) -> Vec<u8>>) -> PkiResult<VerifiedCms> {
    let view = signed_data::read(content_info_der)?;
    let si = first_signer(&view)?;
    let h = crate::alg::hash_of_oid(&si.digest_alg)
        .ok_or_else(|| PkiError::Unsupported(format!("hàm băm {} không được hỗ trợ", si.digest_alg)))?;
    let parsed: Vec<(Vec<u8>, Certificate)> =
        view.certificates.iter().filter_map(|d| Certificate::from_der(d).ok().map(|c| (d.clone(), c))).collect();
    let (signer_cert, signer) = parsed
        .iter()
        .find(|(_, c)| match &si.sid {
            signed_data::SignerId::IssuerSerial { issuer, serial } => {
                c.tbs_certificate.issuer.to_der().ok().as_deref() == Some(issuer.as_slice())
                    && c.tbs_certificate.serial_number.as_bytes() == serial.as_slice()
            }
            signed_data::SignerId::SubjectKeyId(ski) => c
                .tbs_certificate
                .extensions
                .iter()
                .flatten()
                .any(|e| e.extn_id == oids::SUBJECT_KEY_ID && e.extn_value.as_bytes().ends_with(ski)),
        })
        .ok_or_else(|| PkiError::Invalid("không tìm thấy chứng thư của người ký trong chữ ký".into()))?;
    let econtent = view.econtent.clone();
    // A detached signature signs the caller's content and nothing else: a SignedData that
    // brings its own content (a time-stamp token, say) would otherwise verify over that.
    let content_digest = match (&econtent, detached_digest) {
        (Some(_), Some(_)) => {
            return Err(PkiError::Invalid("chữ ký tách rời nhưng lại mang nội dung riêng (không ký nội dung tài liệu)".into()))
        }
        (None, Some(_)) if view.econtent_type != oids::CT_DATA => {
            return Err(PkiError::Invalid(format!("chữ ký tách rời phải có kiểu nội dung id-data (nhận được {})", view.econtent_type)))
        }
        (Some(e), None) => h.digest(e),
        (None, Some(f)) => f(h),
        (None, None) => return Err(PkiError::Invalid("chữ ký tách rời nhưng không có nội dung để kiểm tra".into())),
    };
    let spki = signer.tbs_certificate.subject_public_key_info.to_der()?;
    let (facts, signing_certificate, signing_certificate_version, signing_time) = match &si.signed_attrs {
        Some(signed) => {
            let md = single(si, oids::ATTR_MESSAGE_DIGEST, "message-digest")?
                .ok_or_else(|| PkiError::Invalid("thiếu thuộc tính message-digest".into()))?;
            let md = OctetString::from_der(md).map_err(|_| PkiError::Invalid("thuộc tính message-digest không đúng kiểu".into()))?;
            match single(si, oids::ATTR_CONTENT_TYPE, "content-type")? {
                Some(ct) if ObjectIdentifier::from_der(ct).ok() != Some(view.econtent_type) => {
                    return Err(PkiError::Invalid("thuộc tính content-type khác kiểu nội dung được ký".into()))
                }
                None => return Err(PkiError::Invalid("thiếu thuộc tính content-type".into())),
                Some(_) => {}
            }
            if md.as_bytes() != content_digest.as_slice() {
                return Err(PkiError::DigestMismatch("nội dung đã bị thay đổi sau khi ký (giá trị băm không khớp)".into()));
            }
            let mut result = Err(PkiError::BadSignature("chữ ký không khớp với khóa công khai".into()));
            for message in signed.candidates() {
                result = crate::alg::verify_foreign(&spki, &si.signature_alg, h, kyso_token::Signed::Message(&message), &si.signature);
                if !matches!(result, Err(PkiError::BadSignature(_))) {
                    break;
                }
            }
            let facts = result?;
            let v2 = single(si, oids::ATTR_SIGNING_CERTIFICATE_V2, "signing-certificate-v2")?;
            let v1 = single(si, oids::ATTR_SIGNING_CERTIFICATE, "signing-certificate")?;
            let (names, version) = match (v2, v1) {
                (Some(v), _) => (Some(names_certificate(v, signer_cert, true)?), Some(2)),
                (None, Some(v)) => (Some(names_certificate(v, signer_cert, false)?), Some(1)),
                (None, None) => (None, None),
            };
            let time = single(si, oids::ATTR_SIGNING_TIME, "signing-time")?.map(crate::ber::time_of).transpose()?;
            (facts, names, version, time)
        }
        None => {
            let signed = match &econtent {
                Some(e) => kyso_token::Signed::Message(e),
                None => kyso_token::Signed::Digest(&content_digest),
            };
            (crate::alg::verify_foreign(&spki, &si.signature_alg, h, signed, &si.signature)?, None, None, None)
        }
    };
    Ok(VerifiedCms {
        signer_cert: signer_cert.clone(),
        certificates: view.certificates.clone(),
        digest: h,
        facts,
        econtent,
        signing_certificate,
        signing_certificate_version,
        signing_time,
        has_signed_attributes: si.signed_attrs.is_some(),
        has_signature_time_stamp: !si.unsigned(oids::ATTR_SIGNATURE_TIME_STAMP).is_empty(),
    })
}

/// What signed attributes, as a token is asked to sign them, say: the content's message
/// digest, and the certificate hash of signing-certificate-v2 (if present). Refuses anything
/// that is not a SET OF attributes with a content type and a message digest, so a token's
/// agent never signs an arbitrary blob.
pub fn inspect_signed_attributes(der: &[u8]) -> PkiResult<(Vec<u8>, Option<Vec<u8>>)> {
    let set = SetOfVec::<Attribute>::from_der(der)?;
    if !set.iter().any(|a| a.oid == oids::ATTR_CONTENT_TYPE) {
        return Err(PkiError::Invalid("thuộc tính được ký thiếu content-type".into()));
    }
    let md = set
        .iter()
        .find(|a| a.oid == oids::ATTR_MESSAGE_DIGEST)
        .and_then(|a| a.values.iter().next())
        .and_then(|v| v.decode_as::<OctetString>().ok())
        .ok_or_else(|| PkiError::Invalid("thuộc tính được ký thiếu message-digest".into()))?;
    let cert_hash = set
        .iter()
        .find(|a| a.oid == oids::ATTR_SIGNING_CERTIFICATE_V2)
        .and_then(|a| a.values.iter().next())
        .and_then(|v| SigningCertificateV2::from_der(&v.to_der().ok()?).ok())
        .and_then(|s| s.certs.first().map(|c| c.cert_hash.as_bytes().to_vec()));
    Ok((md.as_bytes().to_vec(), cert_hash))
}
