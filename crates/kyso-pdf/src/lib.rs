//! kyso-pdf: PDF for kyso. A limit-aware reader (`reader`), an object model (`object`), and
//! PAdES signing as append-only incremental updates (`sign`). Pure: no clock, no network; the
//! time-stamp authority is a function the caller passes in.

pub mod appearance;
pub mod crypt;
pub mod decree30;
pub mod draft;
pub mod file;
pub mod form;
pub mod ltv;
pub mod object;
pub mod reader;
pub mod revisions;
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
    #[error("tệp PDF được bảo vệ bằng mật khẩu mở tệp; kyso chỉ đọc được tệp mã hóa mở không cần mật khẩu, hãy dùng bản không mã hóa")]
    PasswordRequired,
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
    let ci = cms::sign(&req, who.signer, scheme)?;
    add_time_stamp(ci, level, tsa)
}

/// The first phase of a two-phase signature: the signed attributes a token must sign, for
/// content whose SHA-256 `digest` is known. The key stays on the token (on the official's
/// PC); only these attributes travel to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingCms {
    pub content_digest: Vec<u8>,
    pub cert: Vec<u8>,
    pub chain: Vec<Vec<u8>>,
    /// DER of the signed attributes (a SET OF), exactly the bytes to sign.
    pub signed_attrs: Vec<u8>,
}

pub fn pending_cms(digest: Vec<u8>, cert: &[u8], chain: &[Vec<u8>]) -> PdfResult<PendingCms> {
    let req = SignRequest {
        content_type: oids::CT_DATA,
        econtent: None,
        content_digest: digest.clone(),
        digest: HashAlg::Sha256,
        signer_cert: cert,
        chain,
        extra_signed: vec![],
    };
    use der::Encode;
    let signed = cms::signed_attributes(&req)?.to_der().map_err(kyso_pki::PkiError::from)?;
    Ok(PendingCms { content_digest: digest, cert: cert.to_vec(), chain: chain.to_vec(), signed_attrs: signed })
}

/// The second phase: checks that `signature` over the signed attributes verifies with the
/// certificate's key (a token holding another key is caught here), then builds the CMS and,
/// for B-T, adds the signature time-stamp.
pub fn complete_cms(
    p: &PendingCms,
    scheme: kyso_token::SignatureScheme,
    signature: &[u8],
    level: Level,
    tsa: Option<Tsa<'_>>,
) -> PdfResult<Vec<u8>> {
    use der::Decode;
    let (_, info) = kyso_pki::cert::parse(&p.cert)?;
    let alg = kyso_pki::alg::algorithm_identifier(scheme);
    if kyso_pki::alg::verify_signature(&info.spki_der, &alg, &p.signed_attrs, signature).is_err() {
        return Err(PdfError::Refused(format!(
            "chữ ký do thiết bị trả về không khớp với chứng thư số của '{}': thiết bị giữ khóa khác, hoặc đã chọn sai chứng thư",
            info.subject
        )));
    }
    let req = SignRequest {
        content_type: oids::CT_DATA,
        econtent: None,
        content_digest: p.content_digest.clone(),
        digest: HashAlg::Sha256,
        signer_cert: &p.cert,
        chain: &p.chain,
        extra_signed: vec![],
    };
    let set = der::asn1::SetOfVec::<x509_cert::attr::Attribute>::from_der(&p.signed_attrs).map_err(kyso_pki::PkiError::from)?;
    let ci = cms::assemble(&req, set, scheme, signature)?;
    add_time_stamp(ci, level, tsa)
}

fn add_time_stamp(mut ci: Vec<u8>, level: Level, tsa: Option<Tsa<'_>>) -> PdfResult<Vec<u8>> {
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
