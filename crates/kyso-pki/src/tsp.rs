//! RFC 3161 time-stamping: requests (the client side, for `kyso ts stamp` and PAdES B-T) and
//! responses signed by the TSA's own key and certificate (EKU timeStamping).

use crate::cms::{self, SignRequest};
use crate::{generalized_time, oids, PkiError, PkiResult};
use chrono::{DateTime, Utc};
use der::asn1::{Int, ObjectIdentifier, OctetString};
use der::{Decode, Encode};
use kyso_token::{HashAlg, SignatureScheme, Signer};
use spki::AlgorithmIdentifier;
use x509_tsp::{Accuracy, MessageImprint, TimeStampReq, TspVersion, TstInfo};

/// The hashes a TSA may be asked for (SHA-1 is read in tokens made by others, never asked).
fn hash_of(oid: &ObjectIdentifier) -> Option<HashAlg> {
    crate::alg::hash_of_oid(oid).filter(|h| *h != HashAlg::Sha1)
}

/// Builds a TimeStampReq for a digest, asking for the TSA certificate.
pub fn request(h: HashAlg, digest: &[u8], nonce: Option<&[u8]>) -> PkiResult<Vec<u8>> {
    let oid = cms::digest_algorithm(h).oid;
    Ok(TimeStampReq {
        version: TspVersion::V1,
        message_imprint: MessageImprint {
            hash_algorithm: AlgorithmIdentifier { oid, parameters: None },
            hashed_message: OctetString::new(digest)?,
        },
        req_policy: None,
        nonce: nonce.map(Int::new).transpose()?,
        cert_req: true,
        extensions: None,
    }
    .to_der()?)
}

/// The TSA: its certificate, chain, key and policy.
pub struct Tsa<'a> {
    pub cert: &'a [u8],
    pub chain: &'a [Vec<u8>],
    pub signer: &'a dyn Signer,
    pub scheme: SignatureScheme,
    pub policy: ObjectIdentifier,
}

/// PKIFailureInfo bits used in rejections.
const BAD_ALG: u8 = 0;
const BAD_REQUEST: u8 = 2;
const BAD_DATA_FORMAT: u8 = 5;
const UNACCEPTED_POLICY: u8 = 15;

fn rejection(bit: u8, text: &str) -> Vec<u8> {
    // TimeStampResp { status PKIStatusInfo { rejection(2), statusString, failInfo } }
    let utf8 = der::asn1::Utf8StringRef::new(text).and_then(|s| s.to_der()).unwrap_or_default();
    let free_text = [vec![0x30, utf8.len() as u8], utf8].concat();
    let nbits = bit as usize + 1;
    let nbytes = nbits.div_ceil(8);
    let mut bits = vec![0u8; nbytes];
    bits[bit as usize / 8] |= 0x80 >> (bit % 8);
    let unused = (nbytes * 8 - nbits) as u8;
    let fail = [vec![0x03, (nbytes + 1) as u8, unused], bits].concat();
    let status = [vec![0x02, 0x01, 0x02], free_text, fail].concat();
    let info = [vec![0x30, status.len() as u8], status].concat();
    [vec![0x30, info.len() as u8], info].concat()
}

/// Answers a DER TimeStampReq: a granted response with a token, or a rejection that says why.
pub fn respond(tsa: &Tsa<'_>, req_der: &[u8], serial: &[u8], gen_time: DateTime<Utc>) -> PkiResult<Vec<u8>> {
    let req = match TimeStampReq::from_der(req_der) {
        Ok(r) => r,
        Err(_) => return Ok(rejection(BAD_DATA_FORMAT, "yêu cầu dấu thời gian không đọc được")),
    };
    let Some(h) = hash_of(&req.message_imprint.hash_algorithm.oid) else {
        return Ok(rejection(BAD_ALG, "thuật toán băm không được chấp nhận (cần SHA-256/384/512)"));
    };
    if req.message_imprint.hashed_message.as_bytes().len() != h.digest(b"").len() {
        return Ok(rejection(BAD_REQUEST, "độ dài giá trị băm không khớp thuật toán"));
    }
    if let Some(p) = req.req_policy {
        if p != tsa.policy {
            return Ok(rejection(UNACCEPTED_POLICY, "chính sách dấu thời gian không được hỗ trợ"));
        }
    }
    let tst = TstInfo {
        version: TspVersion::V1,
        policy: tsa.policy,
        message_imprint: req.message_imprint.clone(),
        serial_number: Int::new(serial)?,
        gen_time: generalized_time(gen_time)?,
        accuracy: Some(Accuracy { seconds: Some(1), millis: None, micros: None }),
        ordering: false,
        nonce: req.nonce.clone(),
        tsa: None,
        extensions: None,
    };
    let tst_der = tst.to_der()?;
    let chain: &[Vec<u8>] = if req.cert_req { tsa.chain } else { &[] };
    let token = cms::sign(
        &SignRequest {
            content_type: oids::CT_TST_INFO,
            econtent: Some(&tst_der),
            content_digest: HashAlg::Sha256.digest(&tst_der),
            digest: HashAlg::Sha256,
            signer_cert: tsa.cert,
            chain,
            extra_signed: vec![],
        },
        tsa.signer,
        tsa.scheme,
    )?;
    let status = [0x30, 0x03, 0x02, 0x01, 0x00];
    let body_len = status.len() + token.len();
    let mut out = vec![0x30];
    out.extend(der::Length::try_from(body_len)?.to_der()?);
    out.extend(status);
    out.extend(token);
    Ok(out)
}

/// Pulls the time-stamp token (ContentInfo) out of a granted TimeStampResp.
pub fn token_of(resp_der: &[u8]) -> PkiResult<Vec<u8>> {
    #[derive(der::Sequence)]
    struct Resp {
        status: der::Any,
        token: Option<der::Any>,
    }
    let r = Resp::from_der(resp_der)?;
    let status = r.status.value();
    // PKIStatusInfo: INTEGER status first; 0 granted, 1 granted with mods.
    if status.len() < 3 || status[0] != 0x02 || status[2] > 1 {
        return Err(PkiError::Invalid("tổ chức cấp dấu thời gian từ chối yêu cầu".into()));
    }
    Ok(r.token.ok_or_else(|| PkiError::Invalid("phản hồi dấu thời gian không có token".into()))?.to_der()?)
}

/// What a verified time-stamp token says.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    pub gen_time: DateTime<Utc>,
    pub tsa_cert: Vec<u8>,
    pub certificates: Vec<Vec<u8>>,
    /// The hash of the message imprint.
    pub imprint_hash: HashAlg,
    /// The algorithms of the TSA's signature, for the caller's policy.
    pub facts: crate::alg::SignatureFacts,
}

/// The parts of a TSTInfo (RFC 3161 §2.4.2) a verifier needs, read as TSAs write them:
/// `genTime` with fractional seconds is common and valid.
struct TstView {
    imprint_alg: ObjectIdentifier,
    imprint: Vec<u8>,
    gen_time: DateTime<Utc>,
}

fn read_tst_info(der: &[u8]) -> PkiResult<TstView> {
    use crate::ber::Tlv;
    let bad = |m: &str| PkiError::Invalid(format!("TSTInfo không đúng cấu trúc: {m}"));
    let f = Tlv::parse(der)?.children()?;
    // version, policy, messageImprint, serialNumber, genTime, …
    let imprint = f.get(2).ok_or_else(|| bad("thiếu messageImprint"))?.children()?;
    let (Some(alg), Some(hashed)) = (imprint.first(), imprint.get(1)) else { return Err(bad("messageImprint")) };
    let alg = spki::AlgorithmIdentifierOwned::from_der(&alg.to_der()?)?;
    let gen = f.get(4).ok_or_else(|| bad("thiếu genTime"))?;
    if gen.tag_byte() != 0x18 {
        return Err(bad("genTime không phải GeneralizedTime"));
    }
    Ok(TstView { imprint_alg: alg.oid, imprint: hashed.string_bytes()?, gen_time: crate::ber::time_of(gen.raw)? })
}

/// Verifies a time-stamp token (a ContentInfo) over `digest` made with `h`: the TSA's
/// signature and the message imprint. Trust in the TSA certificate is not judged here.
pub fn verify_token(token_der: &[u8], h: HashAlg, digest: &[u8]) -> PkiResult<VerifiedToken> {
    let digest = digest.to_vec();
    verify_token_over(token_der, &|hh| if hh == h { digest.clone() } else { vec![] })
}

/// Verifies a time-stamp token over the data that `digest_of` hashes with the imprint's own
/// algorithm (tokens made elsewhere use SHA-1 to SHA-512).
pub fn verify_token_over(token_der: &[u8], digest_of: &dyn Fn(HashAlg) -> Vec<u8>) -> PkiResult<VerifiedToken> {
    let v = cms::verify(token_der, None)?;
    let info = read_tst_info(v.econtent.as_deref().unwrap_or_default())?;
    let h = crate::alg::hash_of_oid(&info.imprint_alg)
        .ok_or_else(|| PkiError::Unsupported(format!("hàm băm {} của dấu thời gian", info.imprint_alg)))?;
    if info.imprint != digest_of(h) {
        return Err(PkiError::DigestMismatch("dấu thời gian không được cấp cho nội dung này (message imprint không khớp)".into()));
    }
    Ok(VerifiedToken { gen_time: info.gen_time, tsa_cert: v.signer_cert, certificates: v.certificates, imprint_hash: h, facts: v.facts })
}
