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
        // RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }
        #[derive(der::Sequence)]
        struct RsaPub<'a> {
            n: der::asn1::UintRef<'a>,
            e: der::asn1::UintRef<'a>,
        }
        let k = RsaPub::from_der(&raw)?;
        let bits = k.n.as_bytes().len() * 8 - k.n.as_bytes().first().map(|b| b.leading_zeros() as usize).unwrap_or(0);
        let e = k.e.as_bytes().iter().fold(0u64, |a, b| a.saturating_mul(256).saturating_add(u64::from(*b)));
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
