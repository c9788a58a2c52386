//! kyso-pdf: PDF for kyso. A limit-aware reader (`reader`), an object model (`object`), and
//! PAdES signing as append-only incremental updates (`sign`). Pure: no clock, no network; the
//! time-stamp authority is a function the caller passes in.

pub mod appearance;
pub mod decree30;
pub mod draft;
pub mod file;
pub mod form;
pub mod ltv;
pub mod object;
pub mod reader;
pub mod samples;
pub mod sign;
pub mod text;
pub mod verify;

use kyso_pki::cms::{self, SignRequest};
use kyso_pki::oids;
use kyso_token::{HashAlg, Signer};
pub use sign::{FieldSpec, Fill, Placement, Prepared, DEFAULT_CONTENTS};

/// What can go wrong. Messages are in Vietnamese; the input is never modified.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("tệp không phải PDF (thiếu phần đầu %PDF-)")]
    NotPdf,
    #[error("tệp PDF được mã hóa; hãy bỏ mã hóa (hoặc dùng bản gốc không mã hóa) trước khi ký")]
    Encrypted,
    #[error("tệp PDF bị hỏng: {0}")]
    Malformed(String),
    #[error("vượt giới hạn an toàn: {0}")]
    Limit(String),
    #[error("chưa hỗ trợ: {0}")]
    Unsupported(String),
    #[error("{0}")]
    Invalid(String),
    #[error("không thể ký: {0}")]
    Refused(String),
    #[error(transparent)]
    Pki(#[from] kyso_pki::PkiError),
    #[error(transparent)]
    Token(#[from] kyso_token::TokenError),
}

pub type PdfResult<T> = Result<T, PdfError>;

/// PAdES baseline level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// B-B: CMS with signing-certificate-v2, message digest and content type.
    B,
    /// B-T: plus an RFC 3161 signature time-stamp.
    T,
}

/// A time-stamp authority: takes a DER TimeStampReq, returns the DER TimeStampResp.
pub type Tsa<'a> = &'a dyn Fn(&[u8]) -> Result<Vec<u8>, String>;

/// The signer: a key on a token, its certificate and chain.
pub struct SignerInfo<'a> {
    pub signer: &'a dyn Signer,
    pub cert: &'a [u8],
    pub chain: &'a [Vec<u8>],
}

/// Signs `input` (PAdES B-B or B-T) and returns the new file; `input` is untouched.
pub fn sign_pades(input: &[u8], spec: &FieldSpec, who: &SignerInfo<'_>, level: Level, tsa: Option<Tsa<'_>>) -> PdfResult<Vec<u8>> {
    let prepared = sign::prepare(input, spec)?;
    let ci = cms_signature(prepared.digest(input, HashAlg::Sha256), who, level, tsa)?;
    prepared.finish(input, &ci)
}

/// A detached CMS signature (CAdES-B, or -T with a signature time-stamp) over content whose
/// SHA-256 `digest` the caller computed (streaming large files).
pub fn cms_signature(digest: Vec<u8>, who: &SignerInfo<'_>, level: Level, tsa: Option<Tsa<'_>>) -> PdfResult<Vec<u8>> {
    let req = SignRequest {
        content_type: oids::CT_DATA,
        econtent: None,
        content_digest: digest,
        digest: HashAlg::Sha256,
        signer_cert: who.cert,
        chain: who.chain,
        extra_signed: vec![],
    };
    let scheme = who.signer.key_algorithm().default_scheme();
    let mut ci = cms::sign(&req, who.signer, scheme)?;
    if level == Level::T {
        let tsa = tsa.ok_or_else(|| PdfError::Invalid("mức B-T cần dịch vụ cấp dấu thời gian (TSA)".into()))?;
        let sig = cms::signature_value(&ci)?;
        let treq = kyso_pki::tsp::request(HashAlg::Sha256, &HashAlg::Sha256.digest(&sig), None)?;
        let resp = tsa(&treq).map_err(|e| PdfError::Refused(format!("dịch vụ dấu thời gian: {e}")))?;
        let token = kyso_pki::tsp::token_of(&resp)?;
        ci = cms::with_unsigned_attribute(&ci, cms::signature_time_stamp(&token)?)?;
    }
    Ok(ci)
}

/// Checks that `cert_der` certifies the signer's key, and is valid at `at`.
pub fn check_signer(who: &SignerInfo<'_>, at: chrono::DateTime<chrono::Utc>) -> PdfResult<()> {
    let (_, info) = kyso_pki::cert::parse(who.cert)?;
    if info.spki_der != who.signer.public_key_spki() {
        return Err(PdfError::Refused(format!(
            "chứng thư số của '{}' không khớp với khóa '{}' trên thiết bị",
            info.subject,
            who.signer.label()
        )));
    }
    if at < info.not_before || at > info.not_after {
        return Err(PdfError::Refused(format!(
            "chứng thư số của '{}' hết hiệu lực ({} – {}); không được dùng để ký",
            info.subject,
            info.not_before.format("%d/%m/%Y"),
            info.not_after.format("%d/%m/%Y")
        )));
    }
    Ok(())
}
