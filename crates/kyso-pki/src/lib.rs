//! kyso-pki: X.509 for kyso, on the RustCrypto formats (der 0.7 line). Certificates with the
//! government profiles, CSR checks, CRLs, OCSP responses and RFC 3161 time-stamps, each
//! signed through a [`kyso_token::Signer`], so private keys stay on their token. Pure: time
//! is always a parameter.

pub mod alg;
pub mod ber;
pub mod cert;
pub mod cms;
pub mod crl;
pub mod csr;
pub mod name;
pub mod ocsp;
pub mod oids;
pub mod path;
pub mod signed_data;
pub mod tsp;

pub use alg::{algorithm_identifier, scheme_of};
pub use cert::{CertProfile, CertTemplate, Issuer, Urls};
pub use name::DistinguishedName;

/// What can go wrong building or checking PKI objects. Messages are in Vietnamese.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("dữ liệu ASN.1/DER không hợp lệ: {0}")]
    Der(String),
    #[error("chữ ký không hợp lệ: {0}")]
    BadSignature(String),
    /// The signed digest does not match the content: the content changed after signing.
    #[error("{0}")]
    DigestMismatch(String),
    #[error("khóa không đạt yêu cầu: {0}")]
    WeakKey(String),
    #[error("thuật toán không được hỗ trợ: {0}")]
    Unsupported(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Token(#[from] kyso_token::TokenError),
}

impl From<der::Error> for PkiError {
    fn from(e: der::Error) -> Self {
        PkiError::Der(e.to_string())
    }
}

pub type PkiResult<T> = Result<T, PkiError>;

/// PEM with the given label, 64 columns.
pub fn pem(label: &str, der_bytes: &[u8]) -> String {
    der::pem::encode_string(label, der::pem::LineEnding::LF, der_bytes).expect("PEM encoding of bytes cannot fail")
}

/// Reads DER, or PEM with any label.
pub fn der_or_pem(input: &[u8]) -> PkiResult<Vec<u8>> {
    let text = std::str::from_utf8(input).ok().map(str::trim_start);
    match text {
        Some(t) if t.starts_with("-----BEGIN") => Ok(der::pem::decode_vec(t.as_bytes()).map_err(|e| PkiError::Der(format!("PEM: {e}")))?.1),
        _ => Ok(input.to_vec()),
    }
}

/// A random positive serial number of 16 bytes (RFC 5280: at most 20 octets).
pub fn random_serial() -> Vec<u8> {
    use aws_lc_rs_rand::fill;
    let mut b = [0u8; 16];
    fill(&mut b);
    b[0] &= 0x7f;
    b[0] |= 0x10; // never a leading zero byte: the encoding stays 16 octets
    b.to_vec()
}

/// Randomness through the token crate's backend.
mod aws_lc_rs_rand {
    pub fn fill(b: &mut [u8]) {
        kyso_token::random_bytes(b);
    }
}

/// SHA-1 of the public key bits: the key identifier of RFC 5280 4.2.1.2 (1).
pub fn key_identifier(spki_der: &[u8]) -> PkiResult<Vec<u8>> {
    use der::Decode;
    let spki = spki::SubjectPublicKeyInfoRef::from_der(spki_der)?;
    Ok(kyso_token::sha1(spki.subject_public_key.raw_bytes()))
}

/// Converts a chrono instant to an X.509 Time (UTCTime before 2050, GeneralizedTime after).
pub fn x509_time(t: chrono::DateTime<chrono::Utc>) -> PkiResult<x509_cert::time::Time> {
    use der::asn1::{GeneralizedTime, UtcTime};
    let secs = u64::try_from(t.timestamp()).map_err(|_| PkiError::Invalid("thời điểm trước năm 1970".into()))?;
    let d = std::time::Duration::from_secs(secs);
    Ok(if t.timestamp() < 2_524_608_000 {
        x509_cert::time::Time::UtcTime(UtcTime::from_unix_duration(d)?)
    } else {
        x509_cert::time::Time::GeneralTime(GeneralizedTime::from_unix_duration(d)?)
    })
}

pub fn from_x509_time(t: &x509_cert::time::Time) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(t.to_unix_duration().as_secs() as i64, 0).unwrap_or_default()
}

pub fn from_generalized(t: &der::asn1::GeneralizedTime) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(t.to_unix_duration().as_secs() as i64, 0).unwrap_or_default()
}

pub fn generalized_time(t: chrono::DateTime<chrono::Utc>) -> PkiResult<der::asn1::GeneralizedTime> {
    let secs = u64::try_from(t.timestamp()).map_err(|_| PkiError::Invalid("thời điểm trước năm 1970".into()))?;
    Ok(der::asn1::GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(secs))?)
}

/// Every PEM block in `input` as (label, DER); a DER input gives one unlabelled block.
pub fn pem_blocks(input: &[u8]) -> PkiResult<Vec<(String, Vec<u8>)>> {
    let Ok(text) = std::str::from_utf8(input) else {
        return Ok(vec![(String::new(), input.to_vec())]);
    };
    if !text.contains("-----BEGIN") {
        return Ok(vec![(String::new(), input.to_vec())]);
    }
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN") {
        let block = &rest[start..];
        let end_marker = block.find("-----END").ok_or_else(|| PkiError::Der("khối PEM thiếu dòng -----END".into()))?;
        let end = block[end_marker..].find('\n').map(|i| end_marker + i + 1).unwrap_or(block.len());
        let (label, der) = der::pem::decode_vec(&block.as_bytes()[..end]).map_err(|e| PkiError::Der(format!("PEM: {e}")))?;
        out.push((label.to_string(), der));
        rest = &block[end..];
    }
    Ok(out)
}
