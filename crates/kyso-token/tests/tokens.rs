//! The same suite against the software token and SoftHSM2.

use kyso_token::pkcs11::{Pkcs11Token, SOFTHSM2_MODULE};
use kyso_token::soft::{Kdf, SoftToken};
use kyso_token::*;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

const MAX: u32 = 3;
static N: AtomicUsize = AtomicUsize::new(0);

/// A directory for this process: SoftHSM2's configuration and token store, soft tokens.
fn workdir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("softhsm")).unwrap();
        let conf = d.path().join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!("directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n", d.path().join("softhsm").display()),
        )
        .unwrap();
        // Set before the module is first loaded; every test goes through here first.
        std::env::set_var("SOFTHSM2_CONF", &conf);
        d
    })
    .path()
}

/// Through kyso-testkit: false when SoftHSM2 is missing, a failure when
/// KYSO_TEST_REQUIRE_SOFTHSM=1.
fn softhsm_available() -> bool {
    kyso_testkit::softhsm_module().is_some()
}

#[test]
fn the_test_kit_looks_for_softhsm2_where_kyso_token_loads_it() {
    assert_eq!(kyso_testkit::SOFTHSM2_MODULE, SOFTHSM2_MODULE);
}

/// A fresh token of each kind, with user PIN 1234 and SO PIN 87654321.
fn tokens() -> Vec<(&'static str, Box<dyn Token>)> {
    let dir = workdir();
    let n = N.fetch_add(1, Ordering::SeqCst);
    let label = format!("t{}-{n}", std::process::id());
    let mut v: Vec<(&'static str, Box<dyn Token>)> = vec![(
        "software",
        Box::new(SoftToken::create(&dir.join("soft"), &label, &Pin::new("1234"), &Pin::new("87654321"), MAX, 1000).unwrap()),
    )];
    if softhsm_available() {
        let m = PathBuf::from(SOFTHSM2_MODULE);
        Pkcs11Token::init(&m, &label, &Pin::new("87654321"), &Pin::new("1234")).unwrap();
        v.push(("softhsm2", Box::new(Pkcs11Token::open(&m, &label, &dir.join("state"), MAX).unwrap())));
    }
    v
}

/// The BIT STRING content of a DER SubjectPublicKeyInfo.
fn raw_key(spki: &[u8]) -> Vec<u8> {
    fn tlv(b: &[u8]) -> (u8, &[u8], &[u8]) {
        let tag = b[0];
        let (len, hdr) = if b[1] < 0x80 {
            (b[1] as usize, 2)
        } else {
            let k = (b[1] & 0x7f) as usize;
            (b[2..2 + k].iter().fold(0usize, |a, x| a << 8 | *x as usize), 2 + k)
        };
        (tag, &b[hdr..hdr + len], &b[hdr + len..])
    }
    let (_, seq, _) = tlv(spki);
    let (_, _alg, rest) = tlv(seq);
    let (tag, bits, _) = tlv(rest);
    assert_eq!(tag, 0x03);
    bits[1..].to_vec()
}

#[test]
fn keys_are_generated_on_the_token_and_sign_with_every_scheme() {
    let schemes = [
        SignatureScheme::RsaPkcs1Sha256,
        SignatureScheme::RsaPkcs1Sha384,
        SignatureScheme::RsaPkcs1Sha512,
        SignatureScheme::RsaPssSha256,
        SignatureScheme::RsaPssSha384,
        SignatureScheme::RsaPssSha512,
        SignatureScheme::EcdsaP256Sha256,
    ];
    for (kind, t) in tokens() {
        let s = t.login(&Pin::new("1234")).unwrap();
        for alg in KeyAlgorithm::ALL {
            let label = format!("key-{}", alg.code());
            let signer = s.generate_key(&label, alg).unwrap();
            assert!(matches!(s.generate_key(&label, alg), Err(TokenError::KeyExists(_))), "{kind}");
            let again = s.signer(&label).unwrap();
            assert_eq!(again.public_key_spki(), signer.public_key_spki(), "{kind} {alg:?}: the same key is found again");
            assert_eq!(again.key_algorithm(), alg);
            let raw = raw_key(signer.public_key_spki());
            for scheme in schemes {
                let r = again.sign(scheme, b"van ban can ky");
                if scheme.fits(alg) {
                    let sig = r.unwrap_or_else(|e| panic!("{kind} {alg:?} {scheme:?}: {e}"));
                    assert!(verify(&raw, alg, scheme, b"van ban can ky", &sig), "{kind} {alg:?} {scheme:?}");
                    assert!(!verify(&raw, alg, scheme, b"van ban da sua", &sig), "{kind} {alg:?} {scheme:?} rejects another message");
                } else {
                    assert!(matches!(r, Err(TokenError::SchemeMismatch { .. })), "{kind} {alg:?} {scheme:?}");
                }
            }
        }
        let mut labels: Vec<String> = s.keys().unwrap().into_iter().map(|k| k.label).collect();
        labels.sort();
        assert_eq!(labels, ["key-ec-p256", "key-rsa-2048", "key-rsa-3072"], "{kind}");
        assert!(matches!(s.signer("khong-co"), Err(TokenError::KeyNotFound(_))));
        // A certificate goes beside its key (replacing an older one), and only beside a key.
        // (The bytes need not be a real certificate for the token.)
        let subject = b"\x30\x0d\x31\x0b\x30\x09\x06\x03\x55\x04\x03\x0c\x02An";
        s.store_certificate("key-ec-p256", b"old certificate", subject).unwrap();
        s.store_certificate("key-ec-p256", b"certificate bytes", subject).unwrap();
        assert_eq!(t.certificates().unwrap(), vec![("key-ec-p256".to_string(), b"certificate bytes".to_vec())], "{kind}");
        assert!(matches!(s.store_certificate("khong-co", b"x", subject), Err(TokenError::KeyNotFound(_))), "{kind}");
    }
}

#[test]
fn wrong_pins_count_down_lock_and_the_so_unlocks() {
    for (kind, t) in tokens() {
        let s = t.login(&Pin::new("1234")).unwrap();
        s.generate_key("k", KeyAlgorithm::EcP256).unwrap();
        drop(s);
        // A right PIN resets the counter.
        assert!(matches!(t.login(&Pin::new("0000")).err(), Some(TokenError::WrongPin { retries_left: 2 })), "{kind}");
        t.login(&Pin::new("1234")).unwrap();
        assert_eq!(t.info().unwrap().retries_left, MAX);
        for left in (1..MAX).rev() {
            match t.login(&Pin::new("0000")) {
                Err(TokenError::WrongPin { retries_left }) => assert_eq!(retries_left, left, "{kind}"),
                other => panic!("{kind}: {:?}", other.err()),
            }
        }
        assert!(matches!(t.login(&Pin::new("0000")).err(), Some(TokenError::Locked)), "{kind}");
        assert!(matches!(t.login(&Pin::new("1234")).err(), Some(TokenError::Locked)), "{kind}: locked even with the right PIN");
        assert!(t.info().unwrap().locked);
        assert!(matches!(t.unlock(&Pin::new("11111111"), &Pin::new("5678")), Err(TokenError::WrongSoPin)), "{kind}");
        t.unlock(&Pin::new("87654321"), &Pin::new("5678")).unwrap();
        let info = t.info().unwrap();
        assert_eq!((info.locked, info.retries_left), (false, MAX), "{kind}");
        // The keys survive the restore.
        let s = t.login(&Pin::new("5678")).unwrap();
        s.signer("k").unwrap().sign(SignatureScheme::EcdsaP256Sha256, b"x").unwrap();
        drop(s);
        t.change_pin(&Pin::new("5678"), &Pin::new("24680")).unwrap();
        assert!(t.login(&Pin::new("5678")).is_err());
        t.login(&Pin::new("24680")).unwrap();
        assert!(matches!(t.change_pin(&Pin::new("24680"), &Pin::new("1")), Err(TokenError::BadPinForm(_))));
    }
}

/// Issue 11, finding 8: the software token's SO PIN had no retry counter, so its PIN could be
/// guessed through `unlock` without end; and the demo's tokens used 5,000 PBKDF2 iterations.
/// Now the SO PIN has a counter of its own (a hardware token keeps its own), and a new token
/// records Argon2id at OWASP's cost unless it is made for training.
#[test]
fn the_so_pin_has_its_own_counter_and_new_tokens_use_argon2id() {
    let dir = workdir().join("so-counter");
    let t = SoftToken::create(&dir, "so", &Pin::new("1234"), &Pin::new("87654321"), 3, Kdf::TRAINING).unwrap();
    for want in ["wrong_so_pin", "wrong_so_pin", "so_locked"] {
        assert_eq!(t.unlock(&Pin::new("00000000"), &Pin::new("5678")).unwrap_err().code(), want);
    }
    // Locked for good: the right SO PIN no longer unlocks; the user PIN still works.
    assert_eq!(t.unlock(&Pin::new("87654321"), &Pin::new("5678")).unwrap_err().code(), "so_locked");
    t.login(&Pin::new("1234")).unwrap();
    // A right SO PIN before the end resets its counter.
    let t = SoftToken::create(&dir, "so2", &Pin::new("1234"), &Pin::new("87654321"), 3, Kdf::TRAINING).unwrap();
    for _ in 0..2 {
        assert!(t.unlock(&Pin::new("00000000"), &Pin::new("5678")).is_err());
    }
    t.unlock(&Pin::new("87654321"), &Pin::new("5678")).unwrap();
    for _ in 0..2 {
        assert_eq!(t.unlock(&Pin::new("00000000"), &Pin::new("5678")).unwrap_err().code(), "wrong_so_pin");
    }
    // The costs: the standard meets OWASP's Argon2id minimum; training does not, and says so.
    assert!(Kdf::STANDARD.meets_standard() && !Kdf::TRAINING.meets_standard());
    assert!(Kdf::from(600_000).meets_standard() && !Kdf::from(5_000).meets_standard());
    let t = SoftToken::create(&dir, "std", &Pin::new("1234"), &Pin::new("87654321"), 3, Kdf::STANDARD).unwrap();
    t.login(&Pin::new("1234")).unwrap();
    let text = std::fs::read_to_string(dir.join("std.token.json")).unwrap();
    assert!(text.contains("\"alg\": \"argon2id\"") && text.contains("\"m_kib\": 19456"), "{text}");
    // A token written before the KDF was recorded (PBKDF2, its iteration count) still opens.
    let t = SoftToken::create(&dir, "old", &Pin::new("1234"), &Pin::new("87654321"), 3, 1000).unwrap();
    let text = std::fs::read_to_string(dir.join("old.token.json")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let o = v.as_object_mut().unwrap();
    o.remove("kdf");
    o.remove("so_retries_left");
    o.insert("kdf_iterations".into(), 1000.into());
    std::fs::write(dir.join("old.token.json"), serde_json::to_string(&v).unwrap()).unwrap();
    t.login(&Pin::new("1234")).unwrap();
    t.unlock(&Pin::new("87654321"), &Pin::new("5678")).unwrap();
}

#[test]
fn the_software_token_keeps_no_pin_and_no_plain_key() {
    let dir = workdir().join("plain");
    let t = SoftToken::create(&dir, "kiemtra", &Pin::new("PIN-bi-mat-9"), &Pin::new("SO-bi-mat-9"), 5, 1000).unwrap();
    let s = t.login(&Pin::new("PIN-bi-mat-9")).unwrap();
    s.generate_key("rsa", KeyAlgorithm::Rsa2048).unwrap();
    let text = std::fs::read_to_string(dir.join("kiemtra.token.json")).unwrap();
    assert!(!text.contains("PIN-bi-mat-9") && !text.contains("SO-bi-mat-9"));
    // A PKCS#8 RSA key in base64 starts with "MII"; only the public key may appear.
    assert_eq!(text.matches("\"MII").count(), 1, "only the public key is in clear");
    // Altering the sealed key is detected, not silently used.
    let tampered = text.replacen("\"private\": \"", "\"private\": \"AAAA", 1);
    std::fs::write(dir.join("kiemtra.token.json"), tampered).unwrap();
    let s = SoftToken::open(&dir, "kiemtra").unwrap().login(&Pin::new("PIN-bi-mat-9")).unwrap();
    assert!(matches!(s.signer("rsa"), Err(TokenError::Device(_))));
}

#[test]
fn pkcs11_private_keys_are_sensitive_and_not_extractable() {
    if !softhsm_available() {
        return;
    }
    use cryptoki::object::{Attribute, AttributeType, ObjectClass};
    let dir = workdir();
    let label = format!("x{}", std::process::id());
    let m = PathBuf::from(SOFTHSM2_MODULE);
    Pkcs11Token::init(&m, &label, &Pin::new("87654321"), &Pin::new("1234")).unwrap();
    let t = Pkcs11Token::open(&m, &label, &dir.join("state"), MAX).unwrap();
    t.login(&Pin::new("1234")).unwrap().generate_key("ca", KeyAlgorithm::Rsa2048).unwrap();
    // Look at the object with a plain cryptoki session.
    let ctx = cryptoki::context::Pkcs11::new(&m).unwrap();
    let _ = ctx.initialize(cryptoki::context::CInitializeArgs::new(cryptoki::context::CInitializeFlags::OS_LOCKING_OK));
    let slot = ctx.get_slots_with_token().unwrap().into_iter().find(|s| ctx.get_token_info(*s).unwrap().label() == label).unwrap();
    let s = ctx.open_ro_session(slot).unwrap();
    s.login(cryptoki::session::UserType::User, Some(&cryptoki::types::AuthPin::from("1234"))).unwrap();
    let key = s.find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY), Attribute::Label(b"ca".to_vec())]).unwrap()[0];
    let attrs = s.get_attributes(key, &[AttributeType::Sensitive, AttributeType::Extractable]).unwrap();
    assert!(attrs.contains(&Attribute::Sensitive(true)) && attrs.contains(&Attribute::Extractable(false)), "{attrs:?}");
}
