//! Trust data shipped with kyso: the Vietnamese government's Root CA G2 ("RootCA chuyên dùng
//! Chính phủ G2") and its issuing CA for state agencies, which officials' certificates chain
//! to. A deployment enables them with a setting (`trust_government_g2` in kyso.toml); the root
//! is pinned by its SHA-256, and a certificate that carries the root's name but not its
//! fingerprint is refused wherever trust is given (`trust/SOURCE.md` says where the copies
//! and the pin come from: two third parties that agree, since ca.gov.vn was not reachable).

use kyso_token::HashAlg;

/// SHA-256 of the Root CA G2 certificate (DER), from `legal.md` §6.
pub const ROOT_G2_SHA256: &str = "f04ba4b459a7c9a1b971ad9b1cb833e695a80c79aea63b174b66a70edfe2fdb8";
/// The root's common name, by which a look-alike is recognised.
pub const ROOT_G2_CN: &str = "RootCA chuyên dùng Chính phủ G2";

const ROOT_G2_PEM: &str = include_str!("../trust/vn-rootca-g2.pem");
const CA_G2_PEM: &str = include_str!("../trust/vn-ca-nha-nuoc-g2.pem");

fn der_of(pem: &str) -> Vec<u8> {
    kyso_pki::der_or_pem(pem.as_bytes()).expect("the shipped certificate is PEM")
}

/// The government trust anchors: the Root CA G2 (checked against its pin) and, as an
/// intermediate, "CA phục vụ các cơ quan Nhà nước G2".
pub fn government_g2() -> (Vec<u8>, Vec<u8>) {
    let root = der_of(ROOT_G2_PEM);
    assert_eq!(hex::encode(HashAlg::Sha256.digest(&root)), ROOT_G2_SHA256, "the shipped Root CA G2 matches its pin");
    (root, der_of(CA_G2_PEM))
}

/// Refuses a certificate offered as trusted that names itself the Root CA G2 but is not it.
pub fn check_pinned(cert_der: &[u8]) -> Result<(), String> {
    let Some(s) = crate::CertSummary::of(cert_der) else { return Ok(()) };
    if s.common_name.trim() == ROOT_G2_CN && hex::encode(HashAlg::Sha256.digest(cert_der)) != ROOT_G2_SHA256 {
        return Err(format!(
            "chứng thư mang tên '{ROOT_G2_CN}' nhưng dấu vân tay SHA-256 không khớp với chứng thư gốc đã biết ({ROOT_G2_SHA256}): không tin cậy"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_root_matches_its_pin_and_a_look_alike_is_refused() {
        let (root, ca) = government_g2();
        assert!(check_pinned(&root).is_ok());
        assert!(check_pinned(&ca).is_ok(), "the issuing CA has another name");
        let s = crate::CertSummary::of(&ca).unwrap();
        assert!(s.issuer.contains(ROOT_G2_CN), "{}", s.issuer);
        // A certificate with the root's name made by anyone else.
        let dir = tempfile::tempdir().unwrap();
        let t =
            kyso_token::soft::SoftToken::create(dir.path(), "t", &kyso_token::Pin::new("1234"), &kyso_token::Pin::new("12345678"), 5, 1000)
                .unwrap();
        use kyso_token::Token;
        let k = t.login(&kyso_token::Pin::new("1234")).unwrap().generate_key("k", kyso_token::KeyAlgorithm::EcP256).unwrap();
        let dn = kyso_pki::name::DistinguishedName::parse(&format!("CN={ROOT_G2_CN},O=Ban Cơ yếu Chính phủ,C=VN")).unwrap();
        let fake = kyso_pki::cert::issue(
            &kyso_pki::cert::CertTemplate {
                profile: kyso_pki::cert::CertProfile::RootCa,
                subject: dn.clone(),
                email: None,
                spki_der: k.public_key_spki().to_vec(),
                serial: kyso_pki::random_serial(),
                not_before: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
                not_after: chrono::DateTime::from_timestamp(1_900_000_000, 0).unwrap(),
                policies: vec![],
                urls: Default::default(),
            },
            &kyso_pki::cert::Issuer {
                name: dn.to_name().unwrap(),
                spki_der: k.public_key_spki().to_vec(),
                signer: &*k,
                scheme: kyso_token::SignatureScheme::EcdsaP256Sha256,
            },
        )
        .unwrap();
        let e = check_pinned(&fake).unwrap_err();
        assert!(e.contains("không khớp"), "{e}");
    }
}
