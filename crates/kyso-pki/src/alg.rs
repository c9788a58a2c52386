//! Signature algorithm identifiers, both ways, and public-key checks.

use crate::{oids, PkiError, PkiResult};
use der::asn1::{AnyRef, ObjectIdentifier};
use der::{Decode, Encode};
use kyso_token::{KeyAlgorithm, SignatureScheme};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoRef};

fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    if body.len() < 0x80 {
        v.push(body.len() as u8);
    } else {
        v.push(0x81);
        v.push(body.len() as u8);
    }
    v.extend_from_slice(body);
    v
}

fn hash_alg_id(h: ObjectIdentifier) -> Vec<u8> {
    tlv(0x30, &[h.to_der().expect("oid"), vec![0x05, 0x00]].concat())
}

/// RSASSA-PSS-params with MGF1 over the same hash and a salt as long as the hash.
fn pss_params(h: ObjectIdentifier, salt: u8) -> Vec<u8> {
    let hash = tlv(0xa0, &hash_alg_id(h));
    let mgf = tlv(0xa1, &tlv(0x30, &[oids::MGF1.to_der().expect("oid"), hash_alg_id(h)].concat()));
    let salt = tlv(0xa2, &[0x02, 0x01, salt]);
    tlv(0x30, &[hash, mgf, salt].concat())
}

/// The AlgorithmIdentifier of a signature scheme.
pub fn algorithm_identifier(s: SignatureScheme) -> AlgorithmIdentifierOwned {
    use SignatureScheme::*;
    let null = || Some(der::Any::from(AnyRef::NULL));
    let pss = |h, salt| Some(der::Any::from_der(&pss_params(h, salt)).expect("valid PSS parameters"));
    let (oid, parameters) = match s {
        RsaPkcs1Sha256 => (oids::SHA256_WITH_RSA, null()),
        RsaPkcs1Sha384 => (oids::SHA384_WITH_RSA, null()),
        RsaPkcs1Sha512 => (oids::SHA512_WITH_RSA, null()),
        RsaPssSha256 => (oids::RSASSA_PSS, pss(oids::SHA256, 32)),
        RsaPssSha384 => (oids::RSASSA_PSS, pss(oids::SHA384, 48)),
        RsaPssSha512 => (oids::RSASSA_PSS, pss(oids::SHA512, 64)),
        EcdsaP256Sha256 => (oids::ECDSA_SHA256, None),
    };
    AlgorithmIdentifierOwned { oid, parameters }
}

/// The signature scheme an AlgorithmIdentifier names, if kyso accepts it. SHA-1 and other
/// weak algorithms give an error that says so.
pub fn scheme_of(a: &AlgorithmIdentifierOwned) -> PkiResult<SignatureScheme> {
    use SignatureScheme::*;
    match a.oid {
        o if o == oids::SHA256_WITH_RSA => Ok(RsaPkcs1Sha256),
        o if o == oids::SHA384_WITH_RSA => Ok(RsaPkcs1Sha384),
        o if o == oids::SHA512_WITH_RSA => Ok(RsaPkcs1Sha512),
        o if o == oids::ECDSA_SHA256 => Ok(EcdsaP256Sha256),
        o if o == oids::RSASSA_PSS => {
            let p = a.parameters.as_ref().map(|p| p.to_der()).transpose()?.unwrap_or_default();
            let has = |h: ObjectIdentifier| p.windows(h.as_bytes().len()).any(|w| w == h.as_bytes());
            if has(oids::SHA512) {
                Ok(RsaPssSha512)
            } else if has(oids::SHA384) {
                Ok(RsaPssSha384)
            } else if has(oids::SHA256) {
                Ok(RsaPssSha256)
            } else {
                Err(PkiError::Unsupported("RSASSA-PSS với hàm băm mặc định SHA-1 (quá yếu)".into()))
            }
        }
        o if o == oids::SHA1_WITH_RSA => Err(PkiError::Unsupported("sha1WithRSAEncryption: SHA-1 quá yếu cho chữ ký mới".into())),
        o => Err(PkiError::Unsupported(format!("thuật toán chữ ký {o}"))),
    }
}

/// The modulus size in bits and the public exponent of a PKCS#1 RSAPublicKey
/// (`SEQUENCE { modulus INTEGER, publicExponent INTEGER }`).
fn rsa_public(raw: &[u8]) -> PkiResult<(usize, u64)> {
    #[derive(der::Sequence)]
    struct RsaPub<'a> {
        n: der::asn1::UintRef<'a>,
        e: der::asn1::UintRef<'a>,
    }
    let k = RsaPub::from_der(raw)?;
    let bits = k.n.as_bytes().len() * 8 - k.n.as_bytes().first().map(|b| b.leading_zeros() as usize).unwrap_or(0);
    let e = k.e.as_bytes().iter().fold(0u64, |a, b| a.saturating_mul(256).saturating_add(u64::from(*b)));
    Ok((bits, e))
}

/// What a public key is, with its size in bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyFacts {
    pub algorithm: Option<KeyAlgorithm>,
    pub bits: usize,
    pub is_rsa: bool,
}

/// Reads a SubjectPublicKeyInfo: the algorithm, the key size, and the raw key for verifying.
pub fn key_facts(spki_der: &[u8]) -> PkiResult<(KeyFacts, Vec<u8>)> {
    let spki = SubjectPublicKeyInfoRef::from_der(spki_der)?;
    let raw = spki.subject_public_key.raw_bytes().to_vec();
    if spki.algorithm.oid == oids::RSA_ENCRYPTION {
        let (bits, e) = rsa_public(&raw)?;
        if e < 65537 || e.is_multiple_of(2) {
            return Err(PkiError::WeakKey(format!("số mũ công khai RSA {e} không an toàn (cần 65537)")));
        }
        let algorithm = match bits {
            2048 => Some(KeyAlgorithm::Rsa2048),
            3072 => Some(KeyAlgorithm::Rsa3072),
            _ => None,
        };
        Ok((KeyFacts { algorithm, bits, is_rsa: true }, raw))
    } else if spki.algorithm.oid == oids::EC_PUBLIC_KEY {
        let curve = spki.algorithm.parameters.map(|p| p.decode_as::<ObjectIdentifier>()).transpose()?;
        if curve != Some(oids::P256) {
            return Err(PkiError::WeakKey(format!("đường cong elliptic {curve:?} không được hỗ trợ (chỉ P-256)")));
        }
        Ok((KeyFacts { algorithm: Some(KeyAlgorithm::EcP256), bits: 256, is_rsa: false }, raw))
    } else {
        Err(PkiError::Unsupported(format!("loại khóa công khai {}", spki.algorithm.oid)))
    }
}

/// Refuses keys below the legal minimum (TT 15/2025: RSA ≥ 2048, ECDSA ≥ 256).
pub fn check_key_strength(spki_der: &[u8]) -> PkiResult<KeyFacts> {
    let (f, _) = key_facts(spki_der)?;
    if f.is_rsa && f.bits < 2048 {
        return Err(PkiError::WeakKey(format!("khóa RSA {} bit quá yếu; tối thiểu 2048 bit", f.bits)));
    }
    if f.is_rsa && f.bits > 8192 {
        return Err(PkiError::WeakKey(format!("khóa RSA {} bit vượt quá giới hạn 8192 bit", f.bits)));
    }
    Ok(f)
}

/// Verifies `signature` over `message` with the key in `spki_der` and the algorithm `alg`.
pub fn verify_signature(spki_der: &[u8], alg: &AlgorithmIdentifierOwned, message: &[u8], signature: &[u8]) -> PkiResult<()> {
    let scheme = scheme_of(alg)?;
    let (facts, raw) = key_facts(spki_der)?;
    let key = match (facts.is_rsa, facts.algorithm) {
        (false, _) => KeyAlgorithm::EcP256,
        (true, Some(a)) => a,
        (true, None) => KeyAlgorithm::Rsa2048, // any RSA size: aws-lc checks 2048..8192
    };
    if kyso_token::verify(&raw, key, scheme, message, signature) {
        Ok(())
    } else {
        Err(PkiError::BadSignature("chữ ký không khớp với khóa công khai".into()))
    }
}

/// The hash an OID names, among those a verifier meets (SHA-1 included, to report it).
pub fn hash_of_oid(oid: &ObjectIdentifier) -> Option<kyso_token::HashAlg> {
    use kyso_token::HashAlg;
    match *oid {
        o if o == oids::SHA1 => Some(HashAlg::Sha1),
        o if o == oids::SHA256 => Some(HashAlg::Sha256),
        o if o == oids::SHA384 => Some(HashAlg::Sha384),
        o if o == oids::SHA512 => Some(HashAlg::Sha512),
        _ => None,
    }
}

/// What a verified signature was made with, for the validator's algorithm policy to judge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignatureFacts {
    pub hash: kyso_token::HashAlg,
    pub key: kyso_token::PublicKeyKind,
    pub bits: usize,
    pub pss: bool,
}

impl SignatureFacts {
    /// "RSA 2048 bit, SHA-256" for messages.
    pub fn describe(&self) -> String {
        use kyso_token::PublicKeyKind::*;
        let key = match self.key {
            Rsa if self.pss => format!("RSA-PSS {} bit", self.bits),
            Rsa => format!("RSA {} bit", self.bits),
            EcP256 => "ECDSA P-256".into(),
            EcP384 => "ECDSA P-384".into(),
            EcP521 => "ECDSA P-521".into(),
            Ed25519 => "Ed25519".into(),
        };
        format!("{key}, {}", self.hash.name())
    }
}

/// The key of a certificate made elsewhere: RSA of any size, or ECDSA on P-256, P-384, P-521.
pub fn foreign_key(spki_der: &[u8]) -> PkiResult<(kyso_token::PublicKeyKind, usize, Vec<u8>)> {
    use kyso_token::PublicKeyKind;
    let spki = SubjectPublicKeyInfoRef::from_der(spki_der)?;
    let raw = spki.subject_public_key.raw_bytes().to_vec();
    if spki.algorithm.oid == oids::RSA_ENCRYPTION || spki.algorithm.oid == oids::RSASSA_PSS {
        let (bits, _) = rsa_public(&raw)?;
        // aws-lc wants the PKCS#1 RSAPublicKey; an RSASSA-PSS SPKI carries the same.
        return Ok((PublicKeyKind::Rsa, bits, raw));
    }
    if spki.algorithm.oid == oids::EC_PUBLIC_KEY {
        let curve = spki.algorithm.parameters.map(|p| p.decode_as::<ObjectIdentifier>()).transpose()?;
        return match curve {
            Some(c) if c == oids::P256 => Ok((PublicKeyKind::EcP256, 256, raw)),
            Some(c) if c == oids::P384 => Ok((PublicKeyKind::EcP384, 384, raw)),
            Some(c) if c == oids::P521 => Ok((PublicKeyKind::EcP521, 521, raw)),
            Some(c) if c.to_string().starts_with(oids::BRAINPOOL_PREFIX) => {
                Err(PkiError::Unsupported(format!("đường cong brainpool {c} chưa được bộ mật mã của kyso hỗ trợ")))
            }
            c => Err(PkiError::Unsupported(format!("đường cong elliptic {c:?}"))),
        };
    }
    if spki.algorithm.oid == oids::ED25519 {
        return Ok((PublicKeyKind::Ed25519, 256, raw));
    }
    if spki.algorithm.oid == oids::ED448 {
        return Err(PkiError::Unsupported("khóa Ed448 chưa được bộ mật mã của kyso hỗ trợ".into()));
    }
    Err(PkiError::Unsupported(format!("loại khóa công khai {}", spki.algorithm.oid)))
}

/// The hash of RSASSA-PSS parameters (SHA-1 when absent, as RFC 4055 defaults).
fn pss_hash(a: &AlgorithmIdentifierOwned) -> PkiResult<kyso_token::HashAlg> {
    use kyso_token::HashAlg;
    let p = a.parameters.as_ref().map(|p| p.to_der()).transpose()?.unwrap_or_default();
    // RSASSA-PSS-params ::= SEQUENCE { hashAlgorithm [0] AlgorithmIdentifier DEFAULT sha1, … }
    let t = crate::ber::Tlv::parse(&p).ok();
    let first = t.and_then(|t| t.children().ok()).and_then(|c| c.into_iter().next());
    match first {
        Some(h) if h.tag_byte() == 0xa0 => {
            let alg = h.children()?.into_iter().next().ok_or_else(|| PkiError::Der("tham số RSASSA-PSS rỗng".into()))?;
            let alg = AlgorithmIdentifierOwned::from_der(&alg.to_der()?)?;
            hash_of_oid(&alg.oid).ok_or_else(|| PkiError::Unsupported(format!("hàm băm {} trong RSASSA-PSS", alg.oid)))
        }
        _ => Ok(HashAlg::Sha1),
    }
}

/// Verifies a signature made elsewhere, over `signed` (the message, or its digest with the
/// hash the algorithm names), with the wider set of algorithms found in the field. Key sizes
/// and weak hashes are not judged here: the facts returned are, by the caller's policy.
/// `digest_hint` is the hash a bare `rsaEncryption` (or `id-ecPublicKey`) identifier implies:
/// the SignerInfo's digest algorithm.
pub fn verify_foreign(
    spki_der: &[u8],
    alg: &AlgorithmIdentifierOwned,
    digest_hint: kyso_token::HashAlg,
    signed: kyso_token::Signed<'_>,
    signature: &[u8],
) -> PkiResult<SignatureFacts> {
    use kyso_token::{HashAlg, PublicKeyKind};
    let (key, bits, raw) = foreign_key(spki_der)?;
    let is_rsa = key == PublicKeyKind::Rsa;
    let (hash, pss, wants_rsa) = match alg.oid {
        o if o == oids::RSA_ENCRYPTION => (digest_hint, false, true),
        o if o == oids::SHA1_WITH_RSA => (HashAlg::Sha1, false, true),
        o if o == oids::SHA256_WITH_RSA => (HashAlg::Sha256, false, true),
        o if o == oids::SHA384_WITH_RSA => (HashAlg::Sha384, false, true),
        o if o == oids::SHA512_WITH_RSA => (HashAlg::Sha512, false, true),
        o if o == oids::RSASSA_PSS => (pss_hash(alg)?, true, true),
        o if o == oids::EC_PUBLIC_KEY => (digest_hint, false, false),
        o if o == oids::ECDSA_SHA1 => (HashAlg::Sha1, false, false),
        o if o == oids::ECDSA_SHA256 => (HashAlg::Sha256, false, false),
        o if o == oids::ECDSA_SHA384 => (HashAlg::Sha384, false, false),
        o if o == oids::ECDSA_SHA512 => (HashAlg::Sha512, false, false),
        // EdDSA signs the message itself; the digest algorithm only names the message digest.
        o if o == oids::ED25519 && key == PublicKeyKind::Ed25519 => (digest_hint, false, false),
        o if o == oids::MD5_WITH_RSA => return Err(PkiError::Unsupported("md5WithRSAEncryption: MD5 đã bị phá, không dùng được".into())),
        o if o == oids::SHA224_WITH_RSA => return Err(PkiError::Unsupported("sha224WithRSAEncryption".into())),
        o => return Err(PkiError::Unsupported(format!("thuật toán chữ ký {o}"))),
    };
    if wants_rsa != is_rsa {
        return Err(PkiError::BadSignature("thuật toán chữ ký không hợp với loại khóa của chứng thư".into()));
    }
    if let kyso_token::Signed::Digest(d) = signed {
        if d.len() != hash.output_len() {
            return Err(PkiError::BadSignature(format!("giá trị băm không phải {}", hash.name())));
        }
    }
    let facts = SignatureFacts { hash, key, bits, pss };
    if is_rsa && !(1024..=8192).contains(&bits) {
        return Err(PkiError::WeakKey(format!("khóa RSA {bits} bit nằm ngoài khoảng kiểm tra được (1024–8192 bit)")));
    }
    if is_rsa && pss && bits < 2048 {
        return Err(PkiError::WeakKey(format!("khóa RSA-PSS {bits} bit quá yếu")));
    }
    if kyso_token::verify_with(&raw, key, pss, hash, signed, signature) {
        Ok(facts)
    } else if is_rsa && hash == HashAlg::Sha384 && bits < 2048 {
        Err(PkiError::WeakKey(format!("khóa RSA {bits} bit với SHA-384 không kiểm tra được")))
    } else {
        Err(PkiError::BadSignature("chữ ký không khớp với khóa công khai".into()))
    }
}

/// A bare PKCS#1 v1.5 signature over data that `digest_of` hashes (adbe.x509.rsa_sha1): the
/// hash is whichever the signature's DigestInfo names, so each is tried.
pub fn verify_pkcs1_any_hash(
    spki_der: &[u8],
    digest_of: &dyn Fn(kyso_token::HashAlg) -> Vec<u8>,
    signature: &[u8],
) -> PkiResult<SignatureFacts> {
    use kyso_token::HashAlg;
    let rsa = AlgorithmIdentifierOwned { oid: oids::RSA_ENCRYPTION, parameters: None };
    let mut last = PkiError::BadSignature("chữ ký không khớp với khóa công khai".into());
    for h in [HashAlg::Sha1, HashAlg::Sha256, HashAlg::Sha384, HashAlg::Sha512] {
        let d = digest_of(h);
        match verify_foreign(spki_der, &rsa, h, kyso_token::Signed::Digest(&d), signature) {
            Ok(f) => return Ok(f),
            Err(e @ PkiError::BadSignature(_)) => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}
