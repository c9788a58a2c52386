//! PKCS#11 tokens through cryptoki: vendor USB tokens and HSMs given the module path, and
//! SoftHSM2 in tests. Keys are generated on the token as sensitive and non-extractable.
//!
//! PIN semantics: the device keeps its own counter and lock (CKR_PIN_LOCKED is reported as
//! [`TokenError::Locked`]). kyso also keeps a counter per token in its state directory with
//! the profile's limit, so the rule holds even for modules that never lock (SoftHSM2).

use crate::*;
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

/// One initialised context per module for the whole process (C_Initialize may run once).
fn module(path: &Path) -> Result<Pkcs11, TokenError> {
    static MODULES: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();
    let mut m = MODULES.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
    if let Some(p) = m.get(path) {
        return Ok(p.clone());
    }
    let p = Pkcs11::new(path).map_err(|e| TokenError::Device(format!("không nạp được thư viện PKCS#11 {}: {e}", path.display())))?;
    match p.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(dev(e)),
    }
    m.insert(path.to_path_buf(), p.clone());
    Ok(p)
}

fn dev(e: CkError) -> TokenError {
    TokenError::Device(e.to_string())
}

fn pin(p: &Pin) -> AuthPin {
    AuthPin::from(p.expose())
}

/// kyso's own count of wrong PINs for a PKCS#11 token.
#[derive(serde::Serialize, serde::Deserialize)]
struct PinState {
    max_retries: u32,
    retries_left: u32,
    locked: bool,
}

/// A PKCS#11 token, found by its label in a module.
#[derive(Clone)]
pub struct Pkcs11Token {
    ctx: Pkcs11,
    slot: Slot,
    label: String,
    serial: String,
    state_path: PathBuf,
    max_retries: u32,
}

impl Pkcs11Token {
    /// Opens the token labelled `label` in `module_path`. `state_dir` holds kyso's PIN
    /// counter for it; `max_retries` is the profile's limit.
    pub fn open(module_path: &Path, label: &str, state_dir: &Path, max_retries: u32) -> Result<Self, TokenError> {
        let ctx = module(module_path)?;
        for slot in ctx.get_slots_with_initialized_token().map_err(dev)? {
            let info = ctx.get_token_info(slot).map_err(dev)?;
            if info.label().trim() == label {
                let serial = info.serial_number().trim().to_string();
                std::fs::create_dir_all(state_dir)?;
                let state_path = state_dir
                    .join(format!("pkcs11-{}.pin-state.json", serial.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>()));
                return Ok(Pkcs11Token { ctx, slot, label: label.into(), serial, state_path, max_retries: max_retries.max(1) });
            }
        }
        Err(TokenError::TokenNotFound(label.into()))
    }

    /// Initialises a new token in the first free slot (SoftHSM2 in tests, a new HSM
    /// partition): sets its SO PIN and user PIN.
    pub fn init(module_path: &Path, label: &str, so_pin: &Pin, user_pin: &Pin) -> Result<(), TokenError> {
        so_pin.check_form()?;
        user_pin.check_form()?;
        let ctx = module(module_path)?;
        let slot = ctx
            .get_all_slots()
            .map_err(dev)?
            .into_iter()
            .find(|s| ctx.get_token_info(*s).map(|i| !i.token_initialized()).unwrap_or(false))
            .ok_or_else(|| TokenError::Device("không còn khe trống để khởi tạo thiết bị".into()))?;
        ctx.init_token(slot, &pin(so_pin), label).map_err(dev)?;
        // Slots may be renumbered after initialisation; find the token by label again.
        let slot = ctx
            .get_slots_with_initialized_token()
            .map_err(dev)?
            .into_iter()
            .find(|s| ctx.get_token_info(*s).map(|i| i.label().trim() == label).unwrap_or(false))
            .ok_or_else(|| TokenError::TokenNotFound(label.into()))?;
        let session = ctx.open_rw_session(slot).map_err(dev)?;
        session.login(UserType::So, Some(&pin(so_pin))).map_err(dev)?;
        session.init_pin(&pin(user_pin)).map_err(dev)?;
        Ok(())
    }

    fn state(&self) -> Result<PinState, TokenError> {
        match std::fs::read_to_string(&self.state_path) {
            Ok(s) => serde_json::from_str(&s).map_err(|e| TokenError::Device(e.to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Ok(PinState { max_retries: self.max_retries, retries_left: self.max_retries, locked: false })
            }
            Err(e) => Err(e.into()),
        }
    }

    fn save(&self, s: &PinState) -> Result<(), TokenError> {
        let tmp = self.state_path.with_extension("tmp");
        std::fs::write(&tmp, serde_json::to_vec(s).expect("serialisable"))?;
        std::fs::rename(tmp, &self.state_path)?;
        Ok(())
    }

    /// Logs `session` in as the user, counting a wrong PIN.
    fn user_login(&self, session: &Session, p: &Pin) -> Result<(), TokenError> {
        let mut st = self.state()?;
        if st.locked {
            return Err(TokenError::Locked);
        }
        match session.login(UserType::User, Some(&pin(p))) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {
                if st.retries_left != st.max_retries {
                    st.retries_left = st.max_retries;
                    self.save(&st)?;
                }
                Ok(())
            }
            Err(CkError::Pkcs11(RvError::PinIncorrect, _)) => {
                st.retries_left = st.retries_left.saturating_sub(1);
                st.locked = st.retries_left == 0;
                self.save(&st)?;
                Err(if st.locked { TokenError::Locked } else { TokenError::WrongPin { retries_left: st.retries_left } })
            }
            Err(CkError::Pkcs11(RvError::PinLocked, _)) => {
                st.locked = true;
                st.retries_left = 0;
                self.save(&st)?;
                Err(TokenError::Locked)
            }
            Err(e) => Err(dev(e)),
        }
    }
}

impl Token for Pkcs11Token {
    fn info(&self) -> Result<TokenInfo, TokenError> {
        let st = self.state()?;
        let device_locked = self.ctx.get_token_info(self.slot).map(|i| i.user_pin_locked()).unwrap_or(false);
        Ok(TokenInfo {
            kind: "pkcs11",
            label: self.label.clone(),
            serial: self.serial.clone(),
            max_retries: st.max_retries,
            retries_left: st.retries_left,
            locked: st.locked || device_locked,
        })
    }

    fn login(&self, p: &Pin) -> Result<Box<dyn TokenSession>, TokenError> {
        let session = self.ctx.open_rw_session(self.slot).map_err(dev)?;
        self.user_login(&session, p)?;
        Ok(Box::new(Pkcs11Session { session: Arc::new(Mutex::new(session)) }))
    }

    fn change_pin(&self, old: &Pin, new: &Pin) -> Result<(), TokenError> {
        new.check_form()?;
        let session = self.ctx.open_rw_session(self.slot).map_err(dev)?;
        self.user_login(&session, old)?;
        session.set_pin(&pin(old), &pin(new)).map_err(dev)
    }

    fn unlock(&self, so_pin: &Pin, new_user_pin: &Pin) -> Result<(), TokenError> {
        new_user_pin.check_form()?;
        let session = self.ctx.open_rw_session(self.slot).map_err(dev)?;
        match session.login(UserType::So, Some(&pin(so_pin))) {
            Ok(()) => {}
            Err(CkError::Pkcs11(RvError::PinIncorrect, _)) => return Err(TokenError::WrongSoPin),
            Err(e) => return Err(dev(e)),
        }
        session.init_pin(&pin(new_user_pin)).map_err(dev)?;
        self.save(&PinState { max_retries: self.max_retries, retries_left: self.max_retries, locked: false })
    }

    fn certificates(&self) -> Result<Vec<(String, Vec<u8>)>, TokenError> {
        // Certificate objects are public: a session without login sees them.
        let s = self.ctx.open_ro_session(self.slot).map_err(dev)?;
        let mut out = Vec::new();
        for h in s.find_objects(&[Attribute::Class(ObjectClass::CERTIFICATE)]).map_err(dev)? {
            let mut label = String::new();
            let mut value = Vec::new();
            for a in s.get_attributes(h, &[AttributeType::Label, AttributeType::Value]).map_err(dev)? {
                match a {
                    Attribute::Label(l) => label = String::from_utf8_lossy(&l).into_owned(),
                    Attribute::Value(v) => value = v,
                    _ => {}
                }
            }
            out.push((label, value));
        }
        Ok(out)
    }
}

struct Pkcs11Session {
    session: Arc<Mutex<Session>>,
}

/// A private key on a PKCS#11 token.
pub struct Pkcs11Signer {
    session: Arc<Mutex<Session>>,
    key: ObjectHandle,
    label: String,
    algorithm: KeyAlgorithm,
    spki: Vec<u8>,
}

// Minimal DER for the public keys the token returns as attributes.
fn der_len(n: usize) -> Vec<u8> {
    if n < 0x80 {
        vec![n as u8]
    } else {
        let b: Vec<u8> = n.to_be_bytes().iter().copied().skip_while(|x| *x == 0).collect();
        let mut v = vec![0x80 | b.len() as u8];
        v.extend(b);
        v
    }
}
fn der(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    v.extend(der_len(body.len()));
    v.extend_from_slice(body);
    v
}
fn der_uint(bytes: &[u8]) -> Vec<u8> {
    let mut b: Vec<u8> = bytes.iter().copied().skip_while(|x| *x == 0).collect();
    if b.is_empty() || b[0] & 0x80 != 0 {
        b.insert(0, 0);
    }
    der(0x02, &b)
}
const OID_RSA: &[u8] = &[0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_EC: &[u8] = &[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

fn spki(alg_id: &[u8], key_bits: &[u8]) -> Vec<u8> {
    let mut bits = vec![0u8];
    bits.extend_from_slice(key_bits);
    der(0x30, &[der(0x30, alg_id), der(0x03, &bits)].concat())
}

fn attr_bytes(session: &Session, key: ObjectHandle, t: AttributeType) -> Result<Vec<u8>, TokenError> {
    for a in session.get_attributes(key, &[t]).map_err(dev)? {
        match a {
            Attribute::Modulus(v) | Attribute::PublicExponent(v) | Attribute::EcPoint(v) => return Ok(v),
            _ => {}
        }
    }
    Err(TokenError::Device(format!("thiết bị không trả về thuộc tính {t:?}")))
}

fn public_spki(session: &Session, public: ObjectHandle, alg: KeyAlgorithm) -> Result<Vec<u8>, TokenError> {
    if alg.is_rsa() {
        let n = attr_bytes(session, public, AttributeType::Modulus)?;
        let e = attr_bytes(session, public, AttributeType::PublicExponent)?;
        let rsa_pub = der(0x30, &[der_uint(&n), der_uint(&e)].concat());
        Ok(spki(&[OID_RSA, &[0x05, 0x00]].concat(), &rsa_pub))
    } else {
        let point = attr_bytes(session, public, AttributeType::EcPoint)?;
        // CKA_EC_POINT is a DER OCTET STRING around the point (some modules give it bare).
        let raw =
            if point.first() == Some(&0x04) && point.len() == 65 { point } else { point.get(2..).map(<[u8]>::to_vec).unwrap_or_default() };
        Ok(spki(&[OID_EC, OID_P256].concat(), &raw))
    }
}

fn key_algorithm(session: &Session, key: ObjectHandle) -> Result<KeyAlgorithm, TokenError> {
    let attrs = session.get_attributes(key, &[AttributeType::KeyType, AttributeType::ModulusBits, AttributeType::Modulus]).map_err(dev)?;
    let mut kt = None;
    let mut bits = 0usize;
    for a in attrs {
        match a {
            Attribute::KeyType(k) => kt = Some(k),
            Attribute::ModulusBits(b) => bits = usize::try_from(u64::from(b)).unwrap_or(0),
            Attribute::Modulus(m) => bits = bits.max(m.iter().skip_while(|x| **x == 0).count() * 8),
            _ => {}
        }
    }
    match kt {
        Some(KeyType::EC) => Ok(KeyAlgorithm::EcP256),
        Some(KeyType::RSA) if bits >= 3072 => Ok(KeyAlgorithm::Rsa3072),
        Some(KeyType::RSA) => Ok(KeyAlgorithm::Rsa2048),
        other => Err(TokenError::Unsupported(format!("loại khóa {other:?}"))),
    }
}

impl Pkcs11Session {
    fn find(&self, session: &Session, class: ObjectClass, label: &str) -> Result<Option<ObjectHandle>, TokenError> {
        Ok(session.find_objects(&[Attribute::Class(class), Attribute::Label(label.as_bytes().to_vec())]).map_err(dev)?.into_iter().next())
    }
}

impl TokenSession for Pkcs11Session {
    fn generate_key(&self, label: &str, alg: KeyAlgorithm) -> Result<Arc<dyn Signer>, TokenError> {
        let s = self.session.lock().unwrap_or_else(|p| p.into_inner());
        if self.find(&s, ObjectClass::PRIVATE_KEY, label)?.is_some() {
            return Err(TokenError::KeyExists(label.into()));
        }
        let id = crate::HashAlg::Sha256.digest(label.as_bytes())[..16].to_vec();
        let common = |v: &mut Vec<Attribute>| {
            v.push(Attribute::Token(true));
            v.push(Attribute::Label(label.as_bytes().to_vec()));
            v.push(Attribute::Id(id.clone()));
        };
        let mut public = vec![Attribute::Verify(true)];
        let mut private = vec![Attribute::Private(true), Attribute::Sensitive(true), Attribute::Extractable(false), Attribute::Sign(true)];
        common(&mut public);
        common(&mut private);
        let mech = match alg {
            KeyAlgorithm::EcP256 => {
                public.push(Attribute::EcParams(OID_P256.to_vec()));
                Mechanism::EccKeyPairGen
            }
            _ => {
                public.push(Attribute::ModulusBits((if alg == KeyAlgorithm::Rsa2048 { 2048u64 } else { 3072 }).into()));
                public.push(Attribute::PublicExponent(vec![1, 0, 1]));
                Mechanism::RsaPkcsKeyPairGen
            }
        };
        let (pub_h, priv_h) = s.generate_key_pair(&mech, &public, &private).map_err(dev)?;
        let spki = public_spki(&s, pub_h, alg)?;
        drop(s);
        Ok(Arc::new(Pkcs11Signer { session: self.session.clone(), key: priv_h, label: label.into(), algorithm: alg, spki }))
    }

    fn signer(&self, label: &str) -> Result<Arc<dyn Signer>, TokenError> {
        let s = self.session.lock().unwrap_or_else(|p| p.into_inner());
        let key = self.find(&s, ObjectClass::PRIVATE_KEY, label)?.ok_or_else(|| TokenError::KeyNotFound(label.into()))?;
        let public =
            self.find(&s, ObjectClass::PUBLIC_KEY, label)?.ok_or_else(|| TokenError::KeyNotFound(format!("{label} (khóa công khai)")))?;
        let algorithm = key_algorithm(&s, public)?;
        let spki = public_spki(&s, public, algorithm)?;
        drop(s);
        Ok(Arc::new(Pkcs11Signer { session: self.session.clone(), key, label: label.into(), algorithm, spki }))
    }

    fn keys(&self) -> Result<Vec<KeyInfo>, TokenError> {
        let s = self.session.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = Vec::new();
        for h in s.find_objects(&[Attribute::Class(ObjectClass::PUBLIC_KEY)]).map_err(dev)? {
            let label = s
                .get_attributes(h, &[AttributeType::Label])
                .map_err(dev)?
                .into_iter()
                .find_map(|a| if let Attribute::Label(l) = a { Some(String::from_utf8_lossy(&l).into_owned()) } else { None })
                .unwrap_or_default();
            out.push(KeyInfo { label, algorithm: key_algorithm(&s, h)? });
        }
        Ok(out)
    }

    fn store_certificate(&self, label: &str, cert_der: &[u8], subject_der: &[u8]) -> Result<(), TokenError> {
        let s = self.session.lock().unwrap_or_else(|p| p.into_inner());
        if self.find(&s, ObjectClass::PRIVATE_KEY, label)?.is_none() {
            return Err(TokenError::KeyNotFound(label.into()));
        }
        if let Some(old) = self.find(&s, ObjectClass::CERTIFICATE, label)? {
            s.destroy_object(old).map_err(dev)?;
        }
        let id = crate::HashAlg::Sha256.digest(label.as_bytes())[..16].to_vec();
        s.create_object(&[
            Attribute::Class(ObjectClass::CERTIFICATE),
            Attribute::CertificateType(cryptoki::object::CertificateType::X_509),
            Attribute::Token(true),
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Id(id),
            Attribute::Subject(subject_der.to_vec()),
            Attribute::Value(cert_der.to_vec()),
        ])
        .map_err(dev)?;
        Ok(())
    }
}

impl Signer for Pkcs11Signer {
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
        if !scheme.fits(self.algorithm) {
            return Err(TokenError::SchemeMismatch { scheme, key: self.algorithm });
        }
        let pss = |h: MechanismType, mgf: PkcsMgfType, len: u64| PkcsPssParams { hash_alg: h, mgf, s_len: len.into() };
        let mech = match scheme {
            SignatureScheme::RsaPkcs1Sha256 => Mechanism::Sha256RsaPkcs,
            SignatureScheme::RsaPkcs1Sha384 => Mechanism::Sha384RsaPkcs,
            SignatureScheme::RsaPkcs1Sha512 => Mechanism::Sha512RsaPkcs,
            SignatureScheme::RsaPssSha256 => Mechanism::Sha256RsaPkcsPss(pss(MechanismType::SHA256, PkcsMgfType::MGF1_SHA256, 32)),
            SignatureScheme::RsaPssSha384 => Mechanism::Sha384RsaPkcsPss(pss(MechanismType::SHA384, PkcsMgfType::MGF1_SHA384, 48)),
            SignatureScheme::RsaPssSha512 => Mechanism::Sha512RsaPkcsPss(pss(MechanismType::SHA512, PkcsMgfType::MGF1_SHA512, 64)),
            // Plain CKM_ECDSA over a host-computed digest: SoftHSM2 and many USB tokens lack
            // CKM_ECDSA_SHA256, and the digest is not secret.
            SignatureScheme::EcdsaP256Sha256 => Mechanism::Ecdsa,
        };
        let data = if scheme == SignatureScheme::EcdsaP256Sha256 { HashAlg::Sha256.digest(message) } else { message.to_vec() };
        let s = self.session.lock().unwrap_or_else(|p| p.into_inner());
        let sig = s.sign(&mech, self.key, &data).map_err(dev)?;
        Ok(if scheme == SignatureScheme::EcdsaP256Sha256 { ecdsa_raw_to_der(&sig) } else { sig })
    }
}

/// Where Debian puts SoftHSM2's module.
pub const SOFTHSM2_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
