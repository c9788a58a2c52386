//! CMS as other signing tools write it (issue 9): each case rewrites a signature made here the
//! way a tool in the field would, signs the rewritten attributes again where the tool would
//! have signed them, and checks what `cms::verify` says. Named after the causes found in
//! foreign documents.

mod support;

use kyso_pki::ber::{push_len, Tlv};
use kyso_pki::cms::{self, SignRequest};
use kyso_pki::{oids, PkiError};
use kyso_token::*;
use support::*;

fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    push_len(&mut v, body.len());
    v.extend_from_slice(body);
    v
}

/// The same element with every constructed part (but `keep`) re-encoded with indefinite
/// lengths, as streaming BER writers do.
fn indefinite(t: &Tlv<'_>, keep: &[u8]) -> Vec<u8> {
    if !t.is_constructed() || t.raw == keep {
        return t.raw.to_vec();
    }
    let mut out = t.tag.to_vec();
    out.push(0x80);
    for c in t.children().unwrap() {
        out.extend(indefinite(&c, keep));
    }
    out.extend([0, 0]);
    out
}

struct Made {
    cms: Vec<u8>,
    content: Vec<u8>,
    cert: Vec<u8>,
    key: std::sync::Arc<dyn Signer>,
    _ca: Ca,
}

fn made() -> Made {
    let alg = KeyAlgorithm::EcP256;
    let ca = hierarchy(alg);
    let (cert, key) = ca.leaf(alg, kyso_pki::CertProfile::Individual, "signer", "Nguyễn Văn Ký");
    let content = "Công văn số 12/UBND-VP".as_bytes().to_vec();
    let r = SignRequest {
        content_type: oids::CT_DATA,
        econtent: None,
        content_digest: HashAlg::Sha256.digest(&content),
        digest: HashAlg::Sha256,
        signer_cert: &cert,
        chain: &[],
        extra_signed: vec![],
    };
    let cms = cms::sign(&r, &*key, alg.default_scheme()).unwrap();
    Made { cms, content, cert, key, _ca: ca }
}

impl Made {
    fn verify(&self, cms_der: &[u8]) -> Result<cms::VerifiedCms, PkiError> {
        let content = self.content.clone();
        cms::verify(cms_der, Some(&move |h: HashAlg| h.digest(&content)))
    }

    /// The signed attributes (each attribute's DER) of the signature.
    fn attrs(&self) -> Vec<Vec<u8>> {
        let (_, si) = self.signer_info();
        let attrs = si.children().unwrap().into_iter().find(|c| c.tag_byte() == 0xa0).unwrap();
        attrs.children().unwrap().iter().map(|a| a.raw.to_vec()).collect()
    }

    fn signer_info(&self) -> (Vec<Tlv<'_>>, Tlv<'_>) {
        let ci = Tlv::parse(&self.cms).unwrap();
        let sd = ci.children().unwrap()[1].children().unwrap()[0];
        let fields = sd.children().unwrap();
        let si = fields.last().unwrap().children().unwrap()[0];
        (fields, si)
    }

    /// The signature with `attrs` (in this order) as its signed attributes, signed over
    /// `signed_form` of them (the received encoding, unless a tool signed another).
    fn with_attrs(&self, attrs: &[Vec<u8>], signed_form: Option<Vec<u8>>) -> Vec<u8> {
        let body: Vec<u8> = attrs.concat();
        let signed = signed_form.unwrap_or_else(|| tlv(0x31, &body));
        let sig = self.key.sign(SignatureScheme::EcdsaP256Sha256, &signed).unwrap();
        let (fields, si) = self.signer_info();
        let parts = si.children().unwrap();
        let mut new_si = Vec::new();
        for p in &parts {
            match p.tag_byte() {
                0xa0 => new_si.extend(tlv(0xa0, &body)),
                0x04 => new_si.extend(tlv(0x04, &sig)),
                _ => new_si.extend_from_slice(p.raw),
            }
        }
        let new_si = tlv(0x30, &new_si);
        let mut sd = Vec::new();
        for f in &fields[..fields.len() - 1] {
            sd.extend_from_slice(f.raw);
        }
        sd.extend(tlv(0x31, &new_si));
        let ci = Tlv::parse(&self.cms).unwrap().children().unwrap();
        tlv(0x30, &[ci[0].raw.to_vec(), tlv(0xa0, &tlv(0x30, &sd))].concat())
    }

    fn replace_attr(&self, oid: const_oid::ObjectIdentifier, new: Vec<u8>) -> Vec<Vec<u8>> {
        self.attrs().into_iter().map(|a| if attr_oid(&a) == oid { new.clone() } else { a }).collect()
    }
}

fn attr_oid(a: &[u8]) -> const_oid::ObjectIdentifier {
    let t = Tlv::parse(a).unwrap();
    const_oid::ObjectIdentifier::from_bytes(t.children().unwrap()[0].contents).unwrap()
}

fn oid_der(o: const_oid::ObjectIdentifier) -> Vec<u8> {
    tlv(0x06, o.as_bytes())
}

fn attribute(o: const_oid::ObjectIdentifier, value: Vec<u8>) -> Vec<u8> {
    tlv(0x30, &[oid_der(o), tlv(0x31, &value)].concat())
}

/// ESS signing-certificate (v1, SHA-1) or v2 with an explicit hash algorithm.
fn ess(cert: &[u8], v2_hash: Option<HashAlg>) -> Vec<u8> {
    let id = match v2_hash {
        None => tlv(0x30, &tlv(0x04, &HashAlg::Sha1.digest(cert))),
        Some(h) => {
            let alg = tlv(
                0x30,
                &oid_der(match h {
                    HashAlg::Sha384 => oids::SHA384,
                    HashAlg::Sha512 => oids::SHA512,
                    _ => oids::SHA256,
                }),
            );
            tlv(0x30, &[alg, tlv(0x04, &h.digest(cert))].concat())
        }
    };
    let value = tlv(0x30, &tlv(0x30, &id));
    attribute(if v2_hash.is_some() { oids::ATTR_SIGNING_CERTIFICATE_V2 } else { oids::ATTR_SIGNING_CERTIFICATE }, value)
}

#[test]
fn ber_cms_with_indefinite_lengths_verifies() {
    let m = made();
    assert!(m.verify(&m.cms).is_ok());
    // Everything indefinite but the signed attributes, which were DER when signed.
    let (_, si) = m.signer_info();
    let attrs = si.children().unwrap().into_iter().find(|c| c.tag_byte() == 0xa0).unwrap();
    let ber = indefinite(&Tlv::parse(&m.cms).unwrap(), attrs.raw);
    assert_ne!(ber, m.cms);
    let padded = [ber.clone(), vec![0; 64]].concat();
    assert_eq!(cms::der_prefix(&padded).unwrap(), ber.as_slice(), "the BER element is measured, padding left out");
    let v = m.verify(&ber).unwrap();
    assert_eq!(v.signer_cert, m.cert);
    assert_eq!(v.signing_certificate, Some(true));
}

#[test]
fn non_der_attribute_order_is_verified_as_received() {
    let m = made();
    let mut attrs = m.attrs();
    attrs.reverse();
    let cms = m.with_attrs(&attrs, None);
    assert!(m.verify(&cms).is_ok(), "signed over the received order");
    // A signer that signed the DER (sorted) form but wrote another order also verifies.
    let mut sorted = attrs.clone();
    sorted.sort();
    let cms = m.with_attrs(&attrs, Some(tlv(0x31, &sorted.concat())));
    assert!(m.verify(&cms).is_ok(), "signed over the DER order");
    // A signature over neither fails as a signature, not as a format error.
    let cms = m.with_attrs(&attrs, Some(b"something else".to_vec()));
    assert!(matches!(m.verify(&cms), Err(PkiError::BadSignature(_))));
}

#[test]
fn ess_signing_certificate_v1_and_explicit_hash_v2_name_the_signer() {
    let m = made();
    let cases: Vec<(&str, Vec<u8>, Option<u8>)> = vec![
        ("ESS v1 (SHA-1)", ess(&m.cert, None), Some(1)),
        ("ESS v2 with explicit SHA-256", ess(&m.cert, Some(HashAlg::Sha256)), Some(2)),
        ("ESS v2 with SHA-384", ess(&m.cert, Some(HashAlg::Sha384)), Some(2)),
        ("ESS v2 with SHA-512", ess(&m.cert, Some(HashAlg::Sha512)), Some(2)),
    ];
    for (case, attr, version) in cases {
        let attrs = m.replace_attr(oids::ATTR_SIGNING_CERTIFICATE_V2, attr);
        let v = m.verify(&m.with_attrs(&attrs, None)).unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!((v.signing_certificate, v.signing_certificate_version), (Some(true), version), "{case}");
    }
    // One naming another certificate says so.
    let other = ess(b"another certificate", Some(HashAlg::Sha384));
    let v = m.verify(&m.with_attrs(&m.replace_attr(oids::ATTR_SIGNING_CERTIFICATE_V2, other), None)).unwrap();
    assert_eq!(v.signing_certificate, Some(false));
}

#[test]
fn repeated_signed_attributes_are_named() {
    let m = made();
    let mut attrs = m.attrs();
    let md = attrs.iter().find(|a| attr_oid(a) == oids::ATTR_MESSAGE_DIGEST).unwrap().clone();
    attrs.push(md.clone());
    let e = m.verify(&m.with_attrs(&attrs, None)).unwrap_err().to_string();
    assert!(e.contains("message-digest") && e.contains("2 lần"), "{e}");
    // Two values in one attribute.
    let t = Tlv::parse(&md).unwrap();
    let value = t.children().unwrap()[1].children().unwrap()[0].raw.to_vec();
    let two = tlv(0x30, &[oid_der(oids::ATTR_MESSAGE_DIGEST), tlv(0x31, &[value.clone(), value].concat())].concat());
    let e = m.verify(&m.with_attrs(&m.replace_attr(oids::ATTR_MESSAGE_DIGEST, two), None)).unwrap_err().to_string();
    assert!(e.contains("message-digest") && e.contains("2 giá trị"), "{e}");
}

#[test]
fn signing_time_is_read_with_its_fractions() {
    let m = made();
    let mut attrs = m.attrs();
    attrs.push(attribute(oids::ATTR_SIGNING_TIME, tlv(0x18, b"20190115151241.584Z")));
    let v = m.verify(&m.with_attrs(&attrs, None)).unwrap();
    assert_eq!(v.signing_time.unwrap().to_rfc3339(), "2019-01-15T15:12:41+00:00");
}
