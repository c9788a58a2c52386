//! Certificate signing requests (PKCS#10): made on the subscriber's token, checked by the CA.

use crate::alg::{algorithm_identifier, check_key_strength, verify_signature, KeyFacts};
use crate::name::DistinguishedName;
use crate::{PkiError, PkiResult};
use der::asn1::BitString;
use der::{Decode, Encode};
use kyso_token::{SignatureScheme, Signer};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::request::{CertReq, CertReqInfo, Version};

/// Builds a CSR for `subject` signed by the key it certifies.
pub fn build(subject: &DistinguishedName, signer: &dyn Signer, scheme: SignatureScheme) -> PkiResult<Vec<u8>> {
    let info = CertReqInfo {
        version: Version::V1,
        subject: subject.to_name()?,
        public_key: SubjectPublicKeyInfoOwned::from_der(signer.public_key_spki())?,
        attributes: Default::default(),
    };
    let sig = signer.sign(scheme, &info.to_der()?)?;
    Ok(CertReq { info, algorithm: algorithm_identifier(scheme), signature: BitString::from_bytes(&sig)? }.to_der()?)
}

/// A CSR whose signature verified and whose key is strong enough.
#[derive(Debug, Clone)]
pub struct CheckedCsr {
    pub subject: DistinguishedName,
    pub spki_der: Vec<u8>,
    pub key: KeyFacts,
}

/// Parses and checks a CSR: the self-signature must verify (proof of possession), the key
/// must meet the legal minimum.
pub fn check(der_bytes: &[u8]) -> PkiResult<CheckedCsr> {
    let req = CertReq::from_der(der_bytes).map_err(|e| PkiError::Der(format!("CSR không đọc được: {e}")))?;
    let spki_der = req.info.public_key.to_der()?;
    let key = check_key_strength(&spki_der)?;
    verify_signature(&spki_der, &req.algorithm, &req.info.to_der()?, req.signature.raw_bytes()).map_err(|_| {
        PkiError::BadSignature("chữ ký của CSR không khớp với khóa công khai trong CSR (CSR bị sửa hoặc không do thiết bị này tạo)".into())
    })?;
    Ok(CheckedCsr { subject: DistinguishedName::from_name(&req.info.subject), spki_der, key })
}
