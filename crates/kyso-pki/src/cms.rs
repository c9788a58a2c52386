//! CMS SignedData (RFC 5652) signed on a token: used for RFC 3161 time-stamp tokens here and
//! for CAdES / PAdES signatures later. Signed attributes are sorted as DER requires.

use crate::alg::algorithm_identifier;
use crate::{oids, PkiError, PkiResult};
use der::asn1::{Any, ObjectIdentifier, OctetString, SetOfVec};
use der::{Decode, Encode, Sequence};
use kyso_token::{HashAlg, SignatureScheme, Signer};
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::Attribute;
use x509_cert::certificate::Certificate;
use x509_cert::ext::pkix::name::GeneralName;

pub fn digest_algorithm(h: HashAlg) -> AlgorithmIdentifierOwned {
    let oid = match h {
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
/// signature).
pub fn certificates_of(content_info_der: &[u8]) -> PkiResult<Vec<Vec<u8>>> {
    use cms::cert::CertificateChoices;
    use cms::content_info::ContentInfo;
    use cms::signed_data::SignedData;
    let ci = ContentInfo::from_der(content_info_der)?;
    if ci.content_type != oids::SIGNED_DATA {
        return Err(PkiError::Invalid("tệp PKCS#7 không chứa SignedData".into()));
    }
    let sd: SignedData = ci.content.decode_as()?;
    let mut out = Vec::new();
    for c in sd.certificates.iter().flat_map(|s| s.0.iter()) {
        if let CertificateChoices::Certificate(c) = c {
            out.push(c.to_der()?);
        }
    }
    Ok(out)
}

fn signed_data_of(content_info_der: &[u8]) -> PkiResult<cms::signed_data::SignedData> {
    let ci = cms::content_info::ContentInfo::from_der(content_info_der)?;
    if ci.content_type != oids::SIGNED_DATA {
        return Err(PkiError::Invalid("không phải SignedData".into()));
    }
    Ok(ci.content.decode_as()?)
}

/// The signature value of the (first) SignerInfo: what a signature time-stamp covers.
pub fn signature_value(content_info_der: &[u8]) -> PkiResult<Vec<u8>> {
    let sd = signed_data_of(content_info_der)?;
    let si = sd.signer_infos.0.iter().next().ok_or_else(|| PkiError::Invalid("SignedData không có SignerInfo".into()))?;
    Ok(si.signature.as_bytes().to_vec())
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

/// The signature time-stamp token (a ContentInfo) of the first SignerInfo, if any.
pub fn signature_time_stamp_token(content_info_der: &[u8]) -> PkiResult<Option<Vec<u8>>> {
    let sd = signed_data_of(content_info_der)?;
    let si = sd.signer_infos.0.iter().next().ok_or_else(|| PkiError::Invalid("SignedData không có SignerInfo".into()))?;
    let attr = si.unsigned_attrs.as_ref().and_then(|s| s.iter().find(|a| a.oid == oids::ATTR_SIGNATURE_TIME_STAMP).cloned());
    Ok(match attr.and_then(|a| a.values.iter().next().cloned()) {
        Some(v) => Some(v.to_der()?),
        None => None,
    })
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
    use cms::revocation::RevocationInfoChoice;
    let sd = signed_data_of(content_info_der)?;
    let mut out = RevocationInfo::default();
    for choice in sd.crls.iter().flat_map(|c| c.0.iter()) {
        if let RevocationInfoChoice::Crl(crl) = choice {
            out.crls.push(crl.to_der()?);
        }
    }
    let Some(si) = sd.signer_infos.0.iter().next() else { return Ok(out) };
    let attrs = si.signed_attrs.iter().chain(si.unsigned_attrs.iter()).flat_map(|s| s.iter());
    for value in attrs.filter(|a| a.oid == oids::ATTR_ADBE_REVOCATION_INFO).flat_map(|a| a.values.iter()) {
        let Ok(archive) = value.decode_as::<RevocationInfoArchival>() else { continue };
        for crl in archive.crl.unwrap_or_default() {
            out.crls.push(crl.to_der()?);
        }
        for ocsp in archive.ocsp.unwrap_or_default() {
            out.ocsps.push(ocsp.to_der()?);
        }
    }
    Ok(out)
}

/// The DER element at the start of `bytes`, without what follows (PDF signatures are padded
/// with zeros to fill the reserved space).
pub fn der_prefix(bytes: &[u8]) -> PkiResult<&[u8]> {
    let mut r = der::SliceReader::new(bytes)?;
    let header = der::Header::decode(&mut r)?;
    let len = usize::try_from((header.length + der::Reader::position(&r))?).map_err(|_| PkiError::Der("độ dài quá lớn".into()))?;
    bytes.get(..len).ok_or_else(|| PkiError::Der("dữ liệu bị cắt cụt".into()))
}

/// What a verified CMS signature says about itself.
#[derive(Debug, Clone)]
pub struct VerifiedCms {
    pub signer_cert: Vec<u8>,
    pub certificates: Vec<Vec<u8>>,
    pub digest: HashAlg,
    /// The encapsulated content (a time-stamp token's TSTInfo), if any.
    pub econtent: Option<Vec<u8>>,
    /// Whether a signing-certificate-v2 attribute names the signer's certificate; None when
    /// the attribute is absent.
    pub signing_certificate_v2: Option<bool>,
    pub has_signature_time_stamp: bool,
}

fn hash_of_oid(oid: &ObjectIdentifier) -> Option<HashAlg> {
    match *oid {
        o if o == oids::SHA256 => Some(HashAlg::Sha256),
        o if o == oids::SHA384 => Some(HashAlg::Sha384),
        o if o == oids::SHA512 => Some(HashAlg::Sha512),
        _ => None,
    }
}

/// Does the signing-certificate-v2 value name `cert_der`? (Only SHA-256 hashes, the default,
/// are compared; another hash algorithm counts as not matching.)
fn names_certificate(value: &Any, cert_der: &[u8]) -> bool {
    let Ok(v) = SigningCertificateV2::from_der(&value.to_der().unwrap_or_default()) else { return false };
    v.certs.first().is_some_and(|c| c.cert_hash.as_bytes() == HashAlg::Sha256.digest(cert_der).as_slice())
}

/// Verifies a CMS SignedData. The content is the encapsulated one when present; otherwise the
/// caller gives the detached content's digest through `detached_digest` (so large files are
/// hashed as a stream). The signed message-digest must match and the signature over the signed
/// attributes must verify with the signer's certificate found in the SignedData. Trust in that
/// certificate is not judged here.
pub fn verify(content_info_der: &[u8], detached_digest: Option<&dyn Fn(HashAlg) -> Vec<u8>>) -> PkiResult<VerifiedCms> {
    use cms::cert::CertificateChoices;
    use cms::signed_data::SignerIdentifier;
    let sd = signed_data_of(content_info_der)?;
    let si = sd.signer_infos.0.iter().next().ok_or_else(|| PkiError::Invalid("SignedData không có SignerInfo".into()))?;
    let h = hash_of_oid(&si.digest_alg.oid)
        .ok_or_else(|| PkiError::Unsupported(format!("hàm băm {} (SHA-1 quá yếu hoặc không hỗ trợ)", si.digest_alg.oid)))?;
    let certs: Vec<Certificate> = sd
        .certificates
        .iter()
        .flat_map(|s| s.0.iter())
        .filter_map(|c| if let CertificateChoices::Certificate(c) = c { Some(c.clone()) } else { None })
        .collect();
    let signer = certs
        .iter()
        .find(|c| match &si.sid {
            SignerIdentifier::IssuerAndSerialNumber(isn) => {
                c.tbs_certificate.issuer == isn.issuer && c.tbs_certificate.serial_number == isn.serial_number
            }
            SignerIdentifier::SubjectKeyIdentifier(ski) => c
                .tbs_certificate
                .extensions
                .iter()
                .flatten()
                .any(|e| e.extn_id == oids::SUBJECT_KEY_ID && e.extn_value.as_bytes().ends_with(ski.0.as_bytes())),
        })
        .ok_or_else(|| PkiError::Invalid("không tìm thấy chứng thư của người ký trong chữ ký".into()))?;
    let econtent = match &sd.encap_content_info.econtent {
        Some(any) => Some(OctetString::from_der(&any.to_der()?).map(|o| o.as_bytes().to_vec()).unwrap_or_else(|_| any.value().to_vec())),
        None => None,
    };
    // A detached signature signs the caller's content and nothing else: a SignedData that
    // brings its own content (a time-stamp token, say) would otherwise verify over that.
    let content_digest = match (&econtent, detached_digest) {
        (Some(_), Some(_)) => {
            return Err(PkiError::Invalid("chữ ký tách rời nhưng lại mang nội dung riêng (không ký nội dung tài liệu)".into()))
        }
        (None, Some(_)) if sd.encap_content_info.econtent_type != oids::CT_DATA => {
            return Err(PkiError::Invalid(format!(
                "chữ ký tách rời phải có kiểu nội dung id-data (nhận được {})",
                sd.encap_content_info.econtent_type
            )))
        }
        (Some(e), None) => h.digest(e),
        (None, Some(f)) => f(h),
        (None, None) => return Err(PkiError::Invalid("chữ ký tách rời nhưng không có nội dung để kiểm tra".into())),
    };
    let signed =
        si.signed_attrs.as_ref().ok_or_else(|| PkiError::Invalid("chữ ký không có thuộc tính được ký (signed attributes)".into()))?;
    let md = signed
        .iter()
        .find(|a| a.oid == oids::ATTR_MESSAGE_DIGEST)
        .and_then(|a| a.values.iter().next())
        .and_then(|v| v.decode_as::<OctetString>().ok())
        .ok_or_else(|| PkiError::Invalid("thiếu thuộc tính message-digest".into()))?;
    if md.as_bytes() != content_digest.as_slice() {
        return Err(PkiError::DigestMismatch("nội dung đã bị thay đổi sau khi ký (giá trị băm không khớp)".into()));
    }
    let spki = signer.tbs_certificate.subject_public_key_info.to_der()?;
    // RSA below 2048 bits is reported as too weak, not as a bad signature.
    crate::alg::check_key_strength(&spki)?;
    // Many signers (Adobe, Vietnamese vendor tools) write plain rsaEncryption here and let the
    // digest algorithm name the hash.
    let sig_alg = if si.signature_algorithm.oid == oids::RSA_ENCRYPTION {
        let oid = match h {
            HashAlg::Sha256 => oids::SHA256_WITH_RSA,
            HashAlg::Sha384 => oids::SHA384_WITH_RSA,
            HashAlg::Sha512 => oids::SHA512_WITH_RSA,
        };
        AlgorithmIdentifierOwned { oid, parameters: None }
    } else {
        si.signature_algorithm.clone()
    };
    crate::alg::verify_signature(&spki, &sig_alg, &signed.to_der()?, si.signature.as_bytes())?;
    let signer_cert = signer.to_der()?;
    let signing_certificate_v2 = signed
        .iter()
        .find(|a| a.oid == oids::ATTR_SIGNING_CERTIFICATE_V2)
        .map(|a| a.values.iter().next().is_some_and(|v| names_certificate(v, &signer_cert)));
    Ok(VerifiedCms {
        signer_cert,
        certificates: certs.iter().map(|c| c.to_der()).collect::<Result<_, _>>()?,
        digest: h,
        econtent,
        signing_certificate_v2,
        has_signature_time_stamp: si.unsigned_attrs.as_ref().is_some_and(|s| s.iter().any(|a| a.oid == oids::ATTR_SIGNATURE_TIME_STAMP)),
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
