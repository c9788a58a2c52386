//! kyso-token: key tokens. One interface ([`Token`], [`TokenSession`], [`Signer`]) with two
//! implementations: the built-in software token ([`soft::SoftToken`], keys encrypted at rest
//! under the PIN, private-key operations in aws-lc-rs) and PKCS#11 tokens
//! ([`pkcs11::Pkcs11Token`]: USB tokens, HSMs, SoftHSM2 in tests).
//!
//! Private keys never leave a token: the interface has no export. PINs are [`Pin`]s, zeroised
//! on drop and never printed.

pub mod pkcs11;
pub mod soft;

use std::fmt;
use std::sync::Arc;
pub use zeroize::Zeroizing;

/// The key types kyso generates and uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum KeyAlgorithm {
    #[serde(rename = "rsa-2048")]
    Rsa2048,
    #[serde(rename = "rsa-3072")]
    Rsa3072,
    #[serde(rename = "ec-p256")]
    EcP256,
}

impl KeyAlgorithm {
    pub const ALL: [KeyAlgorithm; 3] = [KeyAlgorithm::Rsa2048, KeyAlgorithm::Rsa3072, KeyAlgorithm::EcP256];
    pub fn code(self) -> &'static str {
        match self {
            KeyAlgorithm::Rsa2048 => "rsa-2048",
            KeyAlgorithm::Rsa3072 => "rsa-3072",
            KeyAlgorithm::EcP256 => "ec-p256",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.code() == s.trim().to_lowercase())
    }
    pub fn is_rsa(self) -> bool {
        matches!(self, KeyAlgorithm::Rsa2048 | KeyAlgorithm::Rsa3072)
    }
    /// The default signature scheme: PKCS#1 v1.5 with SHA-256 for RSA (what verifiers of
    /// government documents accept everywhere), ECDSA with SHA-256 for P-256.
    pub fn default_scheme(self) -> SignatureScheme {
        if self.is_rsa() {
            SignatureScheme::RsaPkcs1Sha256
        } else {
            SignatureScheme::EcdsaP256Sha256
        }
    }
}

/// A signature algorithm: padding and hash. SHA-256 or stronger only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureScheme {
    RsaPkcs1Sha256,
    RsaPkcs1Sha384,
    RsaPkcs1Sha512,
    RsaPssSha256,
    RsaPssSha384,
    RsaPssSha512,
    EcdsaP256Sha256,
}

impl SignatureScheme {
    pub fn fits(self, key: KeyAlgorithm) -> bool {
        match self {
            SignatureScheme::EcdsaP256Sha256 => key == KeyAlgorithm::EcP256,
            _ => key.is_rsa(),
        }
    }
    /// The hash the scheme applies to the message.
    pub fn hash(self) -> HashAlg {
        use SignatureScheme::*;
        match self {
            RsaPkcs1Sha256 | RsaPssSha256 | EcdsaP256Sha256 => HashAlg::Sha256,
            RsaPkcs1Sha384 | RsaPssSha384 => HashAlg::Sha384,
            RsaPkcs1Sha512 | RsaPssSha512 => HashAlg::Sha512,
        }
    }
    pub fn is_pss(self) -> bool {
        matches!(self, SignatureScheme::RsaPssSha256 | SignatureScheme::RsaPssSha384 | SignatureScheme::RsaPssSha512)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashAlg {
    /// Only for verifying what others signed long ago: kyso never signs with it, and the
    /// validator's algorithm policy judges it too weak for new signatures.
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl HashAlg {
    fn aws(self) -> &'static aws_lc_rs::digest::Algorithm {
        use aws_lc_rs::digest as d;
        match self {
            HashAlg::Sha1 => &d::SHA1_FOR_LEGACY_USE_ONLY,
            HashAlg::Sha256 => &d::SHA256,
            HashAlg::Sha384 => &d::SHA384,
            HashAlg::Sha512 => &d::SHA512,
        }
    }
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        aws_lc_rs::digest::digest(self.aws(), data).as_ref().to_vec()
    }
    /// The length of a digest in bytes.
    pub fn output_len(self) -> usize {
        self.aws().output_len()
    }
    pub fn name(self) -> &'static str {
        match self {
            HashAlg::Sha1 => "SHA-1",
            HashAlg::Sha256 => "SHA-256",
            HashAlg::Sha384 => "SHA-384",
            HashAlg::Sha512 => "SHA-512",
        }
    }
}

/// An incremental hash (cheap to clone, so one running hash can serve several byte ranges).
#[derive(Clone)]
pub struct Hasher(aws_lc_rs::digest::Context);

impl Hasher {
    pub fn new(h: HashAlg) -> Self {
        Hasher(aws_lc_rs::digest::Context::new(h.aws()))
    }
    pub fn update(&mut self, b: &[u8]) {
        self.0.update(b)
    }
    pub fn finish(self) -> Vec<u8> {
        self.0.finish().as_ref().to_vec()
    }
    /// Hashes everything `r` yields, in 1 MiB reads; returns the byte count too.
    pub fn update_from(&mut self, r: &mut dyn std::io::Read) -> std::io::Result<u64> {
        let mut buf = vec![0u8; 1 << 20];
        let mut n = 0u64;
        loop {
            match r.read(&mut buf) {
                Ok(0) => return Ok(n),
                Ok(k) => {
                    self.update(&buf[..k]);
                    n += k as u64;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// A PIN (or SO PIN). Zeroised on drop; `Debug` and `Display` never show it.
#[derive(Clone)]
pub struct Pin(Zeroizing<String>);

impl Pin {
    pub fn new(s: impl Into<String>) -> Self {
        Pin(Zeroizing::new(s.into()))
    }
    /// The secret, for the token's own use only.
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// Tokens accept 4 to 64 characters; the government tokens' rules are the vendor's.
    pub fn check_form(&self) -> Result<(), TokenError> {
        let n = self.0.chars().count();
        if !(4..=64).contains(&n) {
            return Err(TokenError::BadPinForm("mã PIN phải dài từ 4 đến 64 ký tự".into()));
        }
        Ok(())
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(***)")
    }
}

/// What can go wrong with a token. Messages are in Vietnamese; none contains a PIN.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("sai mã PIN; còn {retries_left} lần thử trước khi thiết bị bị khóa")]
    WrongPin { retries_left: u32 },
    #[error("thiết bị lưu khóa đã bị khóa do nhập sai mã PIN quá số lần cho phép; cần lập yêu cầu khôi phục thiết bị (mở khóa bằng mã PIN quản trị SO)")]
    Locked,
    #[error("sai mã PIN quản trị (SO)")]
    WrongSoPin,
    #[error("mã PIN quản trị (SO) đã bị khóa do nhập sai quá số lần cho phép; thiết bị không mở khóa được nữa, cần cấp thiết bị và chứng thư số mới")]
    SoLocked,
    #[error("{0}")]
    BadPinForm(String),
    #[error("không tìm thấy khóa '{0}' trên thiết bị")]
    KeyNotFound(String),
    #[error("khóa '{0}' đã tồn tại trên thiết bị")]
    KeyExists(String),
    #[error("không tìm thấy thiết bị lưu khóa '{0}'")]
    TokenNotFound(String),
    #[error("thuật toán ký {scheme:?} không dùng được với khóa {key:?}")]
    SchemeMismatch { scheme: SignatureScheme, key: KeyAlgorithm },
    #[error("thiết bị không hỗ trợ: {0}")]
    Unsupported(String),
    #[error("lỗi thiết bị lưu khóa: {0}")]
    Device(String),
    #[error("lỗi đọc/ghi tệp của thiết bị: {0}")]
    Io(#[from] std::io::Error),
}

impl TokenError {
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::WrongPin { .. } => "wrong_pin",
            TokenError::Locked => "token_locked",
            TokenError::WrongSoPin => "wrong_so_pin",
            TokenError::SoLocked => "so_locked",
            TokenError::BadPinForm(_) => "bad_pin",
            TokenError::KeyNotFound(_) | TokenError::TokenNotFound(_) => "not_found",
            TokenError::KeyExists(_) => "conflict",
            TokenError::SchemeMismatch { .. } | TokenError::Unsupported(_) => "unsupported",
            TokenError::Device(_) | TokenError::Io(_) => "device",
        }
    }
}

/// A key on a token, usable for signing. Holds no exportable key material.
pub trait Signer: Send + Sync {
    fn label(&self) -> &str;
    fn key_algorithm(&self) -> KeyAlgorithm;
    /// The public key as a DER SubjectPublicKeyInfo.
    fn public_key_spki(&self) -> &[u8];
    /// Signs `message` (the token hashes it) with `scheme`. ECDSA signatures are DER-encoded.
    fn sign(&self, scheme: SignatureScheme, message: &[u8]) -> Result<Vec<u8>, TokenError>;
}

/// What a token says about itself.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TokenInfo {
    pub kind: &'static str,
    pub label: String,
    pub serial: String,
    pub max_retries: u32,
    pub retries_left: u32,
    pub locked: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeyInfo {
    pub label: String,
    pub algorithm: KeyAlgorithm,
}

/// A token: PIN checks with a retry counter and lock, and an SO unlock.
pub trait Token: Send + Sync {
    fn info(&self) -> Result<TokenInfo, TokenError>;
    /// Checks the user PIN. A wrong PIN counts down; at zero the token locks.
    fn login(&self, pin: &Pin) -> Result<Box<dyn TokenSession>, TokenError>;
    fn change_pin(&self, old: &Pin, new: &Pin) -> Result<(), TokenError>;
    /// The security officer sets a new user PIN and unlocks the token (device restore).
    fn unlock(&self, so_pin: &Pin, new_user_pin: &Pin) -> Result<(), TokenError>;
    /// The certificates on the token, with the labels of their keys. Certificates are
    /// public: no PIN is needed to read them.
    fn certificates(&self) -> Result<Vec<(String, Vec<u8>)>, TokenError>;
}

/// A logged-in session.
pub trait TokenSession: Send + Sync {
    /// Generates a key pair on the token. On PKCS#11 the private key is non-extractable.
    fn generate_key(&self, label: &str, alg: KeyAlgorithm) -> Result<Arc<dyn Signer>, TokenError>;
    fn signer(&self, label: &str) -> Result<Arc<dyn Signer>, TokenError>;
    fn keys(&self) -> Result<Vec<KeyInfo>, TokenError>;
    /// Stores a certificate beside the key `label` (as the CA does when it hands over a
    /// token). `subject_der` is the certificate's subject, which PKCS#11 requires.
    fn store_certificate(&self, label: &str, cert_der: &[u8], subject_der: &[u8]) -> Result<(), TokenError>;
}

/// Verifies a signature given the raw public key (the SubjectPublicKeyInfo's BIT STRING:
/// PKCS#1 RSAPublicKey or an uncompressed EC point). Not a private-key operation.
pub fn verify(raw_public_key: &[u8], key: KeyAlgorithm, scheme: SignatureScheme, message: &[u8], signature: &[u8]) -> bool {
    use aws_lc_rs::signature as s;
    if !scheme.fits(key) {
        return false;
    }
    let alg: &'static dyn s::VerificationAlgorithm = match scheme {
        SignatureScheme::RsaPkcs1Sha256 => &s::RSA_PKCS1_2048_8192_SHA256,
        SignatureScheme::RsaPkcs1Sha384 => &s::RSA_PKCS1_2048_8192_SHA384,
        SignatureScheme::RsaPkcs1Sha512 => &s::RSA_PKCS1_2048_8192_SHA512,
        SignatureScheme::RsaPssSha256 => &s::RSA_PSS_2048_8192_SHA256,
        SignatureScheme::RsaPssSha384 => &s::RSA_PSS_2048_8192_SHA384,
        SignatureScheme::RsaPssSha512 => &s::RSA_PSS_2048_8192_SHA512,
        SignatureScheme::EcdsaP256Sha256 => &s::ECDSA_P256_SHA256_ASN1,
    };
    s::UnparsedPublicKey::new(alg, raw_public_key).verify(message, signature).is_ok()
}

/// A public key as certificates made elsewhere carry it (wider than what kyso generates).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicKeyKind {
    Rsa,
    EcP256,
    EcP384,
    EcP521,
    /// EdDSA over the whole message (RFC 8419); never over a digest.
    Ed25519,
}

/// What a signature covers: the message itself, or its digest (a message hashed as a stream).
#[derive(Debug, Clone, Copy)]
pub enum Signed<'a> {
    Message(&'a [u8]),
    Digest(&'a [u8]),
}

/// Verifies a signature made by another implementation: RSA with PKCS#1 v1.5 (1,024 to 8,192
/// bits, since the key size is the caller's policy to judge) or PSS, ECDSA on P-256, P-384 or
/// P-521 (DER-encoded), with SHA-1 to SHA-512. False for a combination no provider here has.
pub fn verify_with(raw_public_key: &[u8], key: PublicKeyKind, pss: bool, hash: HashAlg, signed: Signed<'_>, signature: &[u8]) -> bool {
    use aws_lc_rs::signature as s;
    use HashAlg::*;
    use PublicKeyKind::*;
    let alg: &'static dyn s::VerificationAlgorithm = match (key, pss, hash) {
        (Rsa, false, Sha1) => &s::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY,
        (Rsa, false, Sha256) => &s::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
        (Rsa, false, Sha384) => &s::RSA_PKCS1_2048_8192_SHA384,
        (Rsa, false, Sha512) => &s::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY,
        (Rsa, true, Sha256) => &s::RSA_PSS_2048_8192_SHA256,
        (Rsa, true, Sha384) => &s::RSA_PSS_2048_8192_SHA384,
        (Rsa, true, Sha512) => &s::RSA_PSS_2048_8192_SHA512,
        (EcP256, false, Sha1) => &s::ECDSA_P256_SHA1_ASN1,
        (EcP256, false, Sha256) => &s::ECDSA_P256_SHA256_ASN1,
        (EcP256, false, Sha384) => &s::ECDSA_P256_SHA384_ASN1,
        (EcP256, false, Sha512) => &s::ECDSA_P256_SHA512_ASN1,
        (EcP384, false, Sha256) => &s::ECDSA_P384_SHA256_ASN1,
        (EcP384, false, Sha384) => &s::ECDSA_P384_SHA384_ASN1,
        (EcP384, false, Sha512) => &s::ECDSA_P384_SHA512_ASN1,
        (EcP521, false, Sha1) => &s::ECDSA_P521_SHA1_ASN1,
        (EcP521, false, Sha256) => &s::ECDSA_P521_SHA256_ASN1,
        (EcP521, false, Sha384) => &s::ECDSA_P521_SHA384_ASN1,
        (EcP521, false, Sha512) => &s::ECDSA_P521_SHA512_ASN1,
        (Ed25519, false, _) if matches!(signed, Signed::Message(_)) => &s::ED25519,
        _ => return false,
    };
    let key = s::UnparsedPublicKey::new(alg, raw_public_key);
    match signed {
        Signed::Message(m) => key.verify(m, signature).is_ok(),
        Signed::Digest(d) => match aws_lc_rs::digest::Digest::import_less_safe(d, hash.aws()) {
            Ok(d) => key.verify_digest(&d, signature).is_ok(),
            Err(_) => false,
        },
    }
}

/// Converts an ECDSA signature from the raw r‖s form (what PKCS#11 returns) to DER.
pub fn ecdsa_raw_to_der(raw: &[u8]) -> Vec<u8> {
    fn int(bytes: &[u8]) -> Vec<u8> {
        let mut b: Vec<u8> = bytes.iter().copied().skip_while(|x| *x == 0).collect();
        if b.is_empty() || b[0] & 0x80 != 0 {
            b.insert(0, 0);
        }
        let mut v = vec![0x02, b.len() as u8];
        v.extend(b);
        v
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    let body: Vec<u8> = [int(r), int(s)].concat();
    let mut out = vec![0x30, body.len() as u8];
    out.extend(body);
    out
}

/// Fills `b` with random bytes from the operating system's generator (via aws-lc-rs).
pub fn random_bytes(b: &mut [u8]) {
    use aws_lc_rs::rand::SecureRandom;
    aws_lc_rs::rand::SystemRandom::new().fill(b).expect("the system random generator works");
}

/// SHA-1, for key identifiers and OCSP CertIDs only (never for signatures).
pub fn sha1(data: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, data).as_ref().to_vec()
}

/// HMAC-SHA-256 (the local agent authenticates its paired server's requests with it).
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let k = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key);
    aws_lc_rs::hmac::sign(&k, msg).as_ref().to_vec()
}

/// Checks an HMAC-SHA-256 tag in constant time.
pub fn hmac_sha256_verify(key: &[u8], msg: &[u8], tag: &[u8]) -> bool {
    let k = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key);
    aws_lc_rs::hmac::verify(&k, msg, tag).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_never_print() {
        let p = Pin::new("123456");
        assert_eq!(format!("{p:?}"), "Pin(***)");
        assert!(Pin::new("12").check_form().is_err());
        assert!(Pin::new("1234").check_form().is_ok());
    }

    #[test]
    fn ecdsa_raw_to_der_cases() {
        // r = 0x0001 drops its leading zero; s = 0x8002 needs one to stay positive.
        assert_eq!(ecdsa_raw_to_der(&[0, 1, 0x80, 2]), vec![0x30, 0x08, 0x02, 0x01, 0x01, 0x02, 0x03, 0x00, 0x80, 0x02]);
        assert_eq!(ecdsa_raw_to_der(&[0, 0, 0, 0]), vec![0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00]);
    }
}
