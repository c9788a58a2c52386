//! The built-in software token: one JSON file per token under a directory.
//!
//! Keys are PKCS#8 documents sealed with AES-256-GCM under a random data key; the data key
//! is sealed twice, under a key derived from the user PIN and from the SO PIN (Argon2id,
//! 19 MiB and 2 passes as OWASP recommends; the parameters are recorded in the file, and a
//! training token may use a lower cost), so that the security officer can set a new user PIN
//! without touching the keys. A wrong user PIN counts down a retry counter kept in the file; at
//! zero the token locks. A wrong SO PIN counts down a counter of its own; at zero the token
//! can no longer be unlocked. Every change is written to a temporary file and renamed, under
//! an exclusive file lock.
//!
//! Limits, stated plainly: whoever can read the file can copy it and guess PINs offline (each
//! guess costs one Argon2id derivation), and whoever can write it can reset both counters and
//! the lock flag; the counters bind only this program. The software token is the embedded
//! default for self-contained deployments, tests and training; production keys belong on
//! PKCS#11 hardware, whose counters the chip enforces.

use crate::*;
use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair as _, RsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use base64::{engine::general_purpose::STANDARD as B64, Engine};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};

const FORMAT: &str = "kyso-soft-token/1";

/// How a PIN becomes the key that seals the data key; recorded in the token file.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(tag = "alg", rename_all = "kebab-case")]
pub enum Kdf {
    /// Argon2id with memory in KiB, passes and lanes.
    Argon2id { m_kib: u32, t: u32, p: u32 },
    /// PBKDF2-HMAC-SHA256 (tokens made before Argon2id, and tests).
    Pbkdf2Sha256 { iterations: u32 },
}

impl Kdf {
    /// OWASP's Argon2id minimum: 19 MiB, 2 passes, 1 lane.
    pub const STANDARD: Kdf = Kdf::Argon2id { m_kib: 19 * 1024, t: 2, p: 1 };
    /// For training deployments and tests: the same function at a cost that keeps them fast,
    /// recorded in the file; weak against offline guessing, as a training token may be.
    pub const TRAINING: Kdf = Kdf::Argon2id { m_kib: 64, t: 1, p: 1 };

    /// Whether the cost meets the standard (Argon2id ≥ 19 MiB and 2 passes, or PBKDF2 ≥ 600,000
    /// iterations).
    pub fn meets_standard(self) -> bool {
        match self {
            Kdf::Argon2id { m_kib, t, .. } => m_kib >= 19 * 1024 && t >= 2,
            Kdf::Pbkdf2Sha256 { iterations } => iterations >= 600_000,
        }
    }

    /// The 32-byte key for `pin` and `salt` (also a backup's key from its passphrase).
    pub fn derive(self, pin: &Pin, salt: &[u8]) -> Result<Zeroizing<[u8; 32]>, TokenError> {
        let mut out = Zeroizing::new([0u8; 32]);
        match self {
            Kdf::Argon2id { m_kib, t, p } => {
                let params = argon2::Params::new(m_kib, t, p, Some(32))
                    .map_err(|e| TokenError::Device(format!("tham số Argon2id không hợp lệ: {e}")))?;
                argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
                    .hash_password_into(pin.expose().as_bytes(), salt, &mut *out)
                    .map_err(|e| TokenError::Device(format!("Argon2id: {e}")))?;
            }
            Kdf::Pbkdf2Sha256 { iterations } => {
                let it = NonZeroU32::new(iterations.max(1)).expect("at least one iteration");
                aws_lc_rs::pbkdf2::derive(aws_lc_rs::pbkdf2::PBKDF2_HMAC_SHA256, it, salt, pin.expose().as_bytes(), &mut *out);
            }
        }
        Ok(out)
    }
}

/// Tests and old call sites name a PBKDF2 iteration count.
impl From<u32> for Kdf {
    fn from(iterations: u32) -> Self {
        Kdf::Pbkdf2Sha256 { iterations }
    }
}

#[derive(Serialize, Deserialize, Clone)]
struct Sealed {
    salt: String,
    /// nonce ‖ ciphertext ‖ tag of the data key.
    sealed: String,
}

#[derive(Serialize, Deserialize, Clone)]
struct StoredKey {
    label: String,
    algorithm: KeyAlgorithm,
    public_spki: String,
    /// nonce ‖ ciphertext ‖ tag of the PKCS#8 private key, sealed under the data key with the
    /// label as associated data.
    private: String,
}

#[derive(Serialize, Deserialize, Clone)]
struct TokenFile {
    format: String,
    label: String,
    serial: String,
    max_retries: u32,
    retries_left: u32,
    locked: bool,
    /// The PBKDF2 iterations of a token made before `kdf` was recorded.
    #[serde(default)]
    kdf_iterations: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kdf: Option<Kdf>,
    /// Wrong SO PINs left before the token can no longer be unlocked (absent in older files:
    /// the full count).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    so_retries_left: Option<u32>,
    user: Sealed,
    so: Sealed,
    keys: Vec<StoredKey>,
    /// Certificates are public: stored in clear, like on a real token.
    #[serde(default)]
    certificates: Vec<StoredCert>,
}

#[derive(Serialize, Deserialize, Clone)]
struct StoredCert {
    label: String,
    der: String,
}

/// A software token stored as `<dir>/<label>.token.json`.
#[derive(Clone, Debug)]
pub struct SoftToken {
    path: PathBuf,
    lock_path: PathBuf,
}

fn rng_bytes<const N: usize>() -> Result<[u8; N], TokenError> {
    let mut b = [0u8; N];
    SystemRandom::new().fill(&mut b).map_err(|_| TokenError::Device("không lấy được số ngẫu nhiên".into()))?;
    Ok(b)
}

impl TokenFile {
    fn kdf(&self) -> Kdf {
        self.kdf.unwrap_or(Kdf::Pbkdf2Sha256 { iterations: self.kdf_iterations })
    }
}

/// Seals `plain` under `key` (AES-256-GCM, a random nonce, `aad` bound): base64 of nonce ‖
/// ciphertext ‖ tag. Also used to keep other secrets sealed at rest (agent pairings).
pub fn seal(key: &[u8; 32], aad: &[u8], plain: &[u8]) -> Result<String, TokenError> {
    let k = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).map_err(|_| TokenError::Device("khóa AES không hợp lệ".into()))?);
    let nonce_bytes = rng_bytes::<NONCE_LEN>()?;
    let mut buf = plain.to_vec();
    k.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce_bytes), Aad::from(aad), &mut buf)
        .map_err(|_| TokenError::Device("mã hóa thất bại".into()))?;
    let mut out = nonce_bytes.to_vec();
    out.extend(buf);
    Ok(B64.encode(out))
}

/// Opens a sealed blob; `None` when the key is wrong or the blob was altered.
pub fn open(key: &[u8; 32], aad: &[u8], sealed_b64: &str) -> Option<Zeroizing<Vec<u8>>> {
    let raw = B64.decode(sealed_b64).ok()?;
    if raw.len() < NONCE_LEN + 16 {
        return None;
    }
    let (n, ct) = raw.split_at(NONCE_LEN);
    let k = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).ok()?);
    let mut buf = Zeroizing::new(ct.to_vec());
    let plain_len = k.open_in_place(Nonce::try_assume_unique_for_key(n).ok()?, Aad::from(aad), &mut buf).ok()?.len();
    buf.truncate(plain_len);
    Some(buf)
}

fn seal_dek(dek: &[u8; 32], pin: &Pin, kdf: Kdf) -> Result<Sealed, TokenError> {
    let salt = rng_bytes::<16>()?;
    let k = kdf.derive(pin, &salt)?;
    Ok(Sealed { salt: B64.encode(salt), sealed: seal(&k, b"kyso-dek", dek)? })
}

fn open_dek(s: &Sealed, pin: &Pin, kdf: Kdf) -> Option<Zeroizing<[u8; 32]>> {
    let salt = B64.decode(&s.salt).ok()?;
    let k = kdf.derive(pin, &salt).ok()?;
    let plain = open(&k, b"kyso-dek", &s.sealed)?;
    let mut dek = Zeroizing::new([0u8; 32]);
    if plain.len() != 32 {
        return None;
    }
    dek.copy_from_slice(&plain);
    Some(dek)
}

fn valid_label(label: &str) -> Result<(), TokenError> {
    if label.is_empty() || label.len() > 64 || !label.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
        return Err(TokenError::Unsupported(format!("nhãn '{label}' chỉ gồm chữ cái không dấu, chữ số, '-', '_', '.' (tối đa 64 ký tự)")));
    }
    Ok(())
}

impl SoftToken {
    fn paths(dir: &Path, label: &str) -> (PathBuf, PathBuf) {
        (dir.join(format!("{label}.token.json")), dir.join(format!("{label}.token.lock")))
    }

    /// Creates a token with its user and SO PINs.
    pub fn create(
        dir: &Path,
        label: &str,
        user_pin: &Pin,
        so_pin: &Pin,
        max_retries: u32,
        kdf: impl Into<Kdf>,
    ) -> Result<Self, TokenError> {
        let kdf = kdf.into();
        valid_label(label)?;
        user_pin.check_form()?;
        so_pin.check_form()?;
        std::fs::create_dir_all(dir)?;
        let (path, lock_path) = Self::paths(dir, label);
        if path.exists() {
            return Err(TokenError::Device(format!("thiết bị '{label}' đã tồn tại")));
        }
        let dek = Zeroizing::new(rng_bytes::<32>()?);
        let file = TokenFile {
            format: FORMAT.into(),
            label: label.into(),
            serial: hex::encode_upper(rng_bytes::<8>()?),
            max_retries: max_retries.max(1),
            retries_left: max_retries.max(1),
            locked: false,
            kdf_iterations: 0,
            kdf: Some(kdf),
            so_retries_left: Some(max_retries.max(1)),
            user: seal_dek(&dek, user_pin, kdf)?,
            so: seal_dek(&dek, so_pin, kdf)?,
            keys: vec![],
            certificates: vec![],
        };
        let t = SoftToken { path, lock_path };
        let _g = t.lock()?;
        t.write(&file)?;
        Ok(t)
    }

    pub fn open(dir: &Path, label: &str) -> Result<Self, TokenError> {
        valid_label(label)?;
        let (path, lock_path) = Self::paths(dir, label);
        if !path.exists() {
            return Err(TokenError::TokenNotFound(label.into()));
        }
        Ok(SoftToken { path, lock_path })
    }

    /// The labels of the tokens in `dir`.
    pub fn list(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".token.json")).map(String::from))
            .collect();
        v.sort();
        v
    }

    fn lock(&self) -> Result<File, TokenError> {
        let f = OpenOptions::new().create(true).truncate(false).write(true).open(&self.lock_path)?;
        f.lock()?;
        Ok(f)
    }

    fn read(&self) -> Result<TokenFile, TokenError> {
        let s = std::fs::read_to_string(&self.path)?;
        let f: TokenFile = serde_json::from_str(&s).map_err(|e| TokenError::Device(format!("tệp thiết bị hỏng: {e}")))?;
        if f.format != FORMAT {
            return Err(TokenError::Device(format!("định dạng thiết bị '{}' không được hỗ trợ", f.format)));
        }
        Ok(f)
    }

    fn write(&self, f: &TokenFile) -> Result<(), TokenError> {
        let tmp = self.path.with_extension("json.tmp");
        {
            let mut out = File::create(&tmp)?;
            out.write_all(serde_json::to_string_pretty(f).expect("serialisable").as_bytes())?;
            out.sync_all()?;
        }
        std::fs::rename(&tmp, &self.path)?;
        if let Some(dir) = self.path.parent() {
            File::open(dir)?.sync_all()?;
        }
        Ok(())
    }

    /// Checks the user PIN against the file under the lock, counting a failure.
    fn check_user_pin(&self, f: &mut TokenFile, pin: &Pin) -> Result<Zeroizing<[u8; 32]>, TokenError> {
        if f.locked {
            return Err(TokenError::Locked);
        }
        match open_dek(&f.user, pin, f.kdf()) {
            Some(dek) => {
                if f.retries_left != f.max_retries {
                    f.retries_left = f.max_retries;
                    self.write(f)?;
                }
                Ok(dek)
            }
            None => {
                f.retries_left = f.retries_left.saturating_sub(1);
                f.locked = f.retries_left == 0;
                self.write(f)?;
                Err(if f.locked { TokenError::Locked } else { TokenError::WrongPin { retries_left: f.retries_left } })
            }
        }
    }
}

impl Token for SoftToken {
    fn info(&self) -> Result<TokenInfo, TokenError> {
        let f = self.read()?;
        Ok(TokenInfo {
            kind: "software",
            label: f.label,
            serial: f.serial,
            max_retries: f.max_retries,
            retries_left: f.retries_left,
            locked: f.locked,
        })
    }

    fn login(&self, pin: &Pin) -> Result<Box<dyn TokenSession>, TokenError> {
        let _g = self.lock()?;
        let mut f = self.read()?;
        let dek = self.check_user_pin(&mut f, pin)?;
        Ok(Box::new(SoftSession { token: self.clone(), dek }))
    }

    fn change_pin(&self, old: &Pin, new: &Pin) -> Result<(), TokenError> {
        new.check_form()?;
        let _g = self.lock()?;
        let mut f = self.read()?;
        let dek = self.check_user_pin(&mut f, old)?;
        f.user = seal_dek(&dek, new, f.kdf())?;
        self.write(&f)
    }

    fn unlock(&self, so_pin: &Pin, new_user_pin: &Pin) -> Result<(), TokenError> {
        new_user_pin.check_form()?;
        let _g = self.lock()?;
        let mut f = self.read()?;
        let so_left = f.so_retries_left.unwrap_or(f.max_retries);
        if so_left == 0 {
            return Err(TokenError::SoLocked);
        }
        let Some(dek) = open_dek(&f.so, so_pin, f.kdf()) else {
            f.so_retries_left = Some(so_left - 1);
            self.write(&f)?;
            return Err(if so_left == 1 { TokenError::SoLocked } else { TokenError::WrongSoPin });
        };
        f.user = seal_dek(&dek, new_user_pin, f.kdf())?;
        f.retries_left = f.max_retries;
        f.so_retries_left = Some(f.max_retries);
        f.locked = false;
        self.write(&f)
    }

    fn certificates(&self) -> Result<Vec<(String, Vec<u8>)>, TokenError> {
        self.read()?
            .certificates
            .iter()
            .map(|c| Ok((c.label.clone(), B64.decode(&c.der).map_err(|e| TokenError::Device(e.to_string()))?)))
            .collect()
    }
}

struct SoftSession {
    token: SoftToken,
    dek: Zeroizing<[u8; 32]>,
}

enum KeyPairInner {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

/// A key of the software token, loaded for signing.
pub struct SoftSigner {
    label: String,
    algorithm: KeyAlgorithm,
    spki: Vec<u8>,
    key: KeyPairInner,
}

fn load(algorithm: KeyAlgorithm, pkcs8: &[u8]) -> Result<KeyPairInner, TokenError> {
    let bad = |e: String| TokenError::Device(format!("khóa lưu trữ hỏng: {e}"));
    Ok(match algorithm {
        KeyAlgorithm::EcP256 => {
            KeyPairInner::Ec(EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8).map_err(|e| bad(e.to_string()))?)
        }
        _ => KeyPairInner::Rsa(RsaKeyPair::from_pkcs8(pkcs8).map_err(|e| bad(e.to_string()))?),
    })
}

impl TokenSession for SoftSession {
    fn generate_key(&self, label: &str, alg: KeyAlgorithm) -> Result<Arc<dyn Signer>, TokenError> {
        valid_label(label)?;
        let _g = self.token.lock()?;
        let mut f = self.token.read()?;
        if f.keys.iter().any(|k| k.label == label) {
            return Err(TokenError::KeyExists(label.into()));
        }
        let fail = |_| TokenError::Device("sinh khóa thất bại".into());
        let (pkcs8, spki): (Zeroizing<Vec<u8>>, Vec<u8>) = match alg {
            KeyAlgorithm::EcP256 => {
                let kp = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).map_err(fail)?;
                let spki = kp.public_key().as_der().map_err(fail)?.as_ref().to_vec();
                (Zeroizing::new(kp.to_pkcs8v1().map_err(fail)?.as_ref().to_vec()), spki)
            }
            KeyAlgorithm::Rsa2048 | KeyAlgorithm::Rsa3072 => {
                let size = if alg == KeyAlgorithm::Rsa2048 { aws_lc_rs::rsa::KeySize::Rsa2048 } else { aws_lc_rs::rsa::KeySize::Rsa3072 };
                let kp = RsaKeyPair::generate(size).map_err(fail)?;
                let spki = kp.public_key().as_der().map_err(fail)?.as_ref().to_vec();
                (Zeroizing::new(AsDer::<aws_lc_rs::encoding::Pkcs8V1Der<'static>>::as_der(&kp).map_err(fail)?.as_ref().to_vec()), spki)
            }
        };
        f.keys.push(StoredKey {
            label: label.into(),
            algorithm: alg,
            public_spki: B64.encode(&spki),
            private: seal(&self.dek, label.as_bytes(), &pkcs8)?,
        });
        self.token.write(&f)?;
        Ok(Arc::new(SoftSigner { label: label.into(), algorithm: alg, spki, key: load(alg, &pkcs8)? }))
    }

    fn signer(&self, label: &str) -> Result<Arc<dyn Signer>, TokenError> {
        let f = self.token.read()?;
        let k = f.keys.iter().find(|k| k.label == label).ok_or_else(|| TokenError::KeyNotFound(label.into()))?;
        let pkcs8 = open(&self.dek, label.as_bytes(), &k.private)
            .ok_or_else(|| TokenError::Device(format!("khóa '{label}' bị hỏng hoặc bị sửa")))?;
        let spki = B64.decode(&k.public_spki).map_err(|e| TokenError::Device(e.to_string()))?;
        Ok(Arc::new(SoftSigner { label: label.into(), algorithm: k.algorithm, spki, key: load(k.algorithm, &pkcs8)? }))
    }

    fn keys(&self) -> Result<Vec<KeyInfo>, TokenError> {
        Ok(self.token.read()?.keys.iter().map(|k| KeyInfo { label: k.label.clone(), algorithm: k.algorithm }).collect())
    }

    fn store_certificate(&self, label: &str, cert_der: &[u8], _subject_der: &[u8]) -> Result<(), TokenError> {
        let _g = self.token.lock()?;
        let mut f = self.token.read()?;
        if !f.keys.iter().any(|k| k.label == label) {
            return Err(TokenError::KeyNotFound(label.into()));
        }
        f.certificates.retain(|c| c.label != label);
        f.certificates.push(StoredCert { label: label.into(), der: B64.encode(cert_der) });
        self.token.write(&f)
    }
}

impl Signer for SoftSigner {
    fn label(&self) -> &str {
        &self.label
    }
    fn key_algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }
    fn public_key_spki(&self) -> &[u8] {
        &self.spki
    }
    fn sign(&self, scheme: SignatureScheme, message: &[u8]) -> Result<Vec<u8>, TokenError> {
        use aws_lc_rs::signature as s;
        if !scheme.fits(self.algorithm) {
            return Err(TokenError::SchemeMismatch { scheme, key: self.algorithm });
        }
        let rng = SystemRandom::new();
        let fail = |_| TokenError::Device("ký thất bại".into());
        match &self.key {
            KeyPairInner::Ec(kp) => Ok(kp.sign(&rng, message).map_err(fail)?.as_ref().to_vec()),
            KeyPairInner::Rsa(kp) => {
                let enc: &'static dyn s::RsaEncoding = match scheme {
                    SignatureScheme::RsaPkcs1Sha256 => &s::RSA_PKCS1_SHA256,
                    SignatureScheme::RsaPkcs1Sha384 => &s::RSA_PKCS1_SHA384,
                    SignatureScheme::RsaPkcs1Sha512 => &s::RSA_PKCS1_SHA512,
                    SignatureScheme::RsaPssSha256 => &s::RSA_PSS_SHA256,
                    SignatureScheme::RsaPssSha384 => &s::RSA_PSS_SHA384,
                    SignatureScheme::RsaPssSha512 => &s::RSA_PSS_SHA512,
                    SignatureScheme::EcdsaP256Sha256 => return Err(TokenError::SchemeMismatch { scheme, key: self.algorithm }),
                };
                let mut sig = vec![0u8; kp.public_modulus_len()];
                kp.sign(enc, &rng, message, &mut sig).map_err(fail)?;
                Ok(sig)
            }
        }
    }
}
