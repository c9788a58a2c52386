//! Reading a CMS SignedData (RFC 5652) as the field writes it: BER or DER, signed attributes
//! kept exactly as received (the signature covers those bytes, whatever their order), each
//! attribute with its values, certificates and CRLs as DER. Nothing here is trusted; `cms`
//! verifies.

use crate::ber::{self, Tlv};
use crate::{oids, PkiError, PkiResult};
use der::asn1::ObjectIdentifier;
use der::Decode;
use spki::AlgorithmIdentifierOwned;

/// One attribute: its type and each value in DER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    pub oid: ObjectIdentifier,
    pub values: Vec<Vec<u8>>,
}

/// The signed attributes as received, for verifying, and as read.
#[derive(Debug, Clone)]
pub struct SignedAttrs {
    /// The SET OF as the signer encoded it, with its [0] tag changed to SET: what is signed.
    pub as_received: Vec<u8>,
    pub attrs: Vec<Attr>,
}

impl SignedAttrs {
    /// The encodings a signer may have signed: as received first, then the DER encoding
    /// (definite lengths, elements sorted), which some signers sign while writing another.
    pub fn candidates(&self) -> Vec<Vec<u8>> {
        let mut out = vec![self.as_received.clone()];
        if let Ok(t) = Tlv::parse(&self.as_received) {
            if let Ok(mut parts) = t.children().and_then(|c| c.iter().map(|p| p.to_der()).collect::<PkiResult<Vec<_>>>()) {
                let in_order = set_of(&parts);
                parts.sort();
                for v in [in_order, set_of(&parts)] {
                    if !out.contains(&v) {
                        out.push(v);
                    }
                }
            }
        }
        out
    }
}

fn set_of(parts: &[Vec<u8>]) -> Vec<u8> {
    let body: Vec<u8> = parts.concat();
    let mut v = vec![0x31];
    ber::push_len(&mut v, body.len());
    v.extend(body);
    v
}

/// How a SignerInfo names its certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignerId {
    /// The issuer's Name (DER) and the serial number's content octets.
    IssuerSerial {
        issuer: Vec<u8>,
        serial: Vec<u8>,
    },
    SubjectKeyId(Vec<u8>),
}

#[derive(Debug, Clone)]
pub struct SignerInfoView {
    pub sid: SignerId,
    pub digest_alg: ObjectIdentifier,
    pub signed_attrs: Option<SignedAttrs>,
    pub signature_alg: AlgorithmIdentifierOwned,
    pub signature: Vec<u8>,
    pub unsigned_attrs: Vec<Attr>,
}

impl SignerInfoView {
    /// The values of the signed attributes of type `oid` (several when it is repeated).
    pub fn signed(&self, oid: ObjectIdentifier) -> Vec<&Attr> {
        self.signed_attrs.iter().flat_map(|s| s.attrs.iter()).filter(|a| a.oid == oid).collect()
    }
    pub fn unsigned(&self, oid: ObjectIdentifier) -> Vec<&Attr> {
        self.unsigned_attrs.iter().filter(|a| a.oid == oid).collect()
    }
}

#[derive(Debug, Clone)]
pub struct SignedDataView {
    pub econtent_type: ObjectIdentifier,
    /// The encapsulated content's octets (joined when a BER writer split them).
    pub econtent: Option<Vec<u8>>,
    pub certificates: Vec<Vec<u8>>,
    pub crls: Vec<Vec<u8>>,
    pub signers: Vec<SignerInfoView>,
}

fn invalid(m: impl Into<String>) -> PkiError {
    PkiError::Invalid(m.into())
}

fn oid_of(t: &Tlv<'_>) -> PkiResult<ObjectIdentifier> {
    if t.tag_byte() != 0x06 {
        return Err(invalid("cần một định danh đối tượng (OID)"));
    }
    ObjectIdentifier::from_bytes(t.contents).map_err(|e| invalid(format!("OID không hợp lệ: {e}")))
}

fn algorithm(t: &Tlv<'_>) -> PkiResult<AlgorithmIdentifierOwned> {
    Ok(AlgorithmIdentifierOwned::from_der(&t.to_der()?)?)
}

fn attributes(set: &Tlv<'_>) -> PkiResult<Vec<Attr>> {
    let mut out = Vec::new();
    for a in set.children()? {
        let parts = a.children()?;
        let [oid, values] = parts.as_slice() else { return Err(invalid("thuộc tính CMS không đúng cấu trúc")) };
        let values = values.children()?.iter().map(|v| v.to_der()).collect::<PkiResult<Vec<_>>>()?;
        out.push(Attr { oid: oid_of(oid)?, values });
    }
    Ok(out)
}

/// Reads a ContentInfo holding a SignedData.
pub fn read(content_info: &[u8]) -> PkiResult<SignedDataView> {
    let ci = Tlv::parse(content_info)?;
    let parts = ci.children()?;
    let (Some(ct), Some(explicit)) = (parts.first(), parts.get(1)) else { return Err(invalid("ContentInfo không đúng cấu trúc")) };
    if oid_of(ct)? != oids::SIGNED_DATA {
        return Err(invalid("không phải SignedData"));
    }
    let sd = explicit.children()?.into_iter().next().ok_or_else(|| invalid("SignedData rỗng"))?;
    let fields = sd.children()?;
    // version, digestAlgorithms, encapContentInfo, [0] certificates, [1] crls, signerInfos
    let encap = fields.get(2).ok_or_else(|| invalid("SignedData thiếu encapContentInfo"))?;
    let encap_parts = encap.children()?;
    let econtent_type = oid_of(encap_parts.first().ok_or_else(|| invalid("encapContentInfo rỗng"))?)?;
    let econtent = match encap_parts.get(1) {
        Some(explicit) => match explicit.children()?.first() {
            Some(octets) => Some(octets.string_bytes()?),
            None => None,
        },
        None => None,
    };
    let mut view = SignedDataView { econtent_type, econtent, certificates: vec![], crls: vec![], signers: vec![] };
    let mut signer_infos = None;
    for f in &fields[3..] {
        match f.tag_byte() {
            0xa0 => {
                for c in f.children()?.iter().filter(|c| c.tag_byte() == 0x30) {
                    view.certificates.push(c.to_der()?);
                }
            }
            0xa1 => {
                for c in f.children()?.iter().filter(|c| c.tag_byte() == 0x30) {
                    view.crls.push(c.to_der()?);
                }
            }
            0x31 => signer_infos = Some(*f),
            _ => return Err(invalid("SignedData có phần tử không mong đợi")),
        }
    }
    for si in signer_infos.ok_or_else(|| invalid("SignedData thiếu signerInfos"))?.children()? {
        view.signers.push(signer_info(&si)?);
    }
    Ok(view)
}

fn signer_info(si: &Tlv<'_>) -> PkiResult<SignerInfoView> {
    let f = si.children()?;
    let bad = || invalid("SignerInfo không đúng cấu trúc");
    let sid = match f.get(1).ok_or_else(bad)? {
        t if t.tag_byte() == 0x30 => {
            let p = t.children()?;
            let (Some(issuer), Some(serial)) = (p.first(), p.get(1)) else { return Err(bad()) };
            SignerId::IssuerSerial { issuer: issuer.to_der()?, serial: serial.contents.to_vec() }
        }
        t if t.tag_byte() == 0x80 || t.tag_byte() == 0xa0 => SignerId::SubjectKeyId(t.string_bytes()?),
        _ => return Err(bad()),
    };
    let digest_alg = algorithm(f.get(2).ok_or_else(bad)?)?.oid;
    let mut i = 3;
    let signed_attrs = match f.get(i) {
        Some(t) if t.tag_byte() == 0xa0 => {
            i += 1;
            let mut as_received = vec![0x31];
            ber::push_len(&mut as_received, t.contents.len());
            as_received.extend_from_slice(t.contents);
            Some(SignedAttrs { as_received, attrs: attributes(t)? })
        }
        _ => None,
    };
    let signature_alg = algorithm(f.get(i).ok_or_else(bad)?)?;
    let sig = f.get(i + 1).ok_or_else(bad)?;
    if sig.tag_byte() & 0x1f != 0x04 {
        return Err(bad());
    }
    let signature = sig.string_bytes()?;
    let unsigned_attrs = match f.get(i + 2) {
        Some(t) if t.tag_byte() == 0xa1 => attributes(t)?,
        _ => vec![],
    };
    Ok(SignerInfoView { sid, digest_alg, signed_attrs, signature_alg, signature, unsigned_attrs })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_keep_the_received_order_first() {
        // [0] { SEQ{oid 2.5.4.3, SET{}} , SEQ{oid 1.2, SET{}} } — not in DER order.
        let a = [0x30, 0x07, 0x06, 0x03, 0x55, 0x04, 0x03, 0x31, 0x00];
        let b = [0x30, 0x05, 0x06, 0x01, 0x2a, 0x31, 0x00];
        let set = SignedAttrs { as_received: [&[0x31, 16][..], &a, &b].concat(), attrs: vec![] };
        let c = set.candidates();
        assert_eq!(c[0], set.as_received);
        assert_eq!(c.len(), 2, "the received order is already DER");
        assert_eq!(c[1], [&[0x31, 16][..], &b, &a].concat());
    }
}
