//! Distinguished names: the government profile's CN, OU (possibly several), O, L, C, written
//! as UTF8String (Vietnamese) with C as PrintableString.

use crate::{oids, PkiError, PkiResult};
use der::asn1::{Any, SetOfVec};
use der::{Decode, Encode, Tag};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attr {
    C,
    L,
    O,
    OU,
    CN,
    Title,
    SerialNumber,
    Uid,
}

impl Attr {
    fn key(self) -> &'static str {
        match self {
            Attr::C => "C",
            Attr::L => "L",
            Attr::O => "O",
            Attr::OU => "OU",
            Attr::CN => "CN",
            Attr::Title => "T",
            Attr::SerialNumber => "SERIALNUMBER",
            Attr::Uid => "UID",
        }
    }
    fn oid(self) -> const_oid::ObjectIdentifier {
        match self {
            Attr::C => oids::C,
            Attr::L => oids::L,
            Attr::O => oids::O,
            Attr::OU => oids::OU,
            Attr::CN => oids::CN,
            Attr::Title => oids::TITLE,
            Attr::SerialNumber => oids::SERIAL_NUMBER,
            Attr::Uid => oids::UID,
        }
    }
    fn from_key(k: &str) -> Option<Self> {
        [Attr::C, Attr::L, Attr::O, Attr::OU, Attr::CN, Attr::Title, Attr::SerialNumber, Attr::Uid]
            .into_iter()
            .find(|a| a.key().eq_ignore_ascii_case(k.trim()) || (k.trim().eq_ignore_ascii_case("TITLE") && *a == Attr::Title))
    }
    fn from_oid(o: &const_oid::ObjectIdentifier) -> Option<Self> {
        [Attr::C, Attr::L, Attr::O, Attr::OU, Attr::CN, Attr::Title, Attr::SerialNumber, Attr::Uid].into_iter().find(|a| a.oid() == *o)
    }
}

/// A distinguished name as an ordered list, most general first (C, L, O, OU…, CN).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DistinguishedName(pub Vec<(Attr, String)>);

impl DistinguishedName {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn push(mut self, a: Attr, v: impl Into<String>) -> Self {
        let v = v.into();
        if !v.trim().is_empty() {
            self.0.push((a, v.trim().to_string()));
        }
        self
    }
    pub fn get(&self, a: Attr) -> Option<&str> {
        self.0.iter().find(|(k, _)| *k == a).map(|(_, v)| v.as_str())
    }
    pub fn all(&self, a: Attr) -> Vec<&str> {
        self.0.iter().filter(|(k, _)| *k == a).map(|(_, v)| v.as_str()).collect()
    }

    /// Parses "CN=…,OU=…,O=…,L=…,C=VN" (RFC 4514 order, most specific first; `\,` escapes a
    /// comma).
    pub fn parse(s: &str) -> PkiResult<Self> {
        let mut parts = Vec::new();
        let mut cur = String::new();
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    if let Some(n) = chars.next() {
                        cur.push(n);
                    }
                }
                ',' => parts.push(std::mem::take(&mut cur)),
                c => cur.push(c),
            }
        }
        parts.push(cur);
        let mut out = Vec::new();
        for p in parts.iter().filter(|p| !p.trim().is_empty()) {
            let (k, v) = p.split_once('=').ok_or_else(|| PkiError::Invalid(format!("thành phần '{p}' của tên phân biệt thiếu dấu '='")))?;
            let a =
                Attr::from_key(k).ok_or_else(|| PkiError::Invalid(format!("thuộc tính '{k}' không được hỗ trợ trong tên phân biệt")))?;
            out.push((a, v.trim().to_string()));
        }
        out.reverse();
        if out.is_empty() {
            return Err(PkiError::Invalid("tên phân biệt trống".into()));
        }
        Ok(DistinguishedName(out))
    }

    pub fn to_name(&self) -> PkiResult<Name> {
        let mut rdns = Vec::new();
        for (a, v) in &self.0 {
            let value = match a {
                Attr::C => {
                    if v.len() != 2 || !v.chars().all(|c| c.is_ascii_uppercase()) {
                        return Err(PkiError::Invalid(format!("mã quốc gia '{v}' phải gồm 2 chữ cái in hoa (VN)")));
                    }
                    Any::new(Tag::PrintableString, v.as_bytes())?
                }
                Attr::SerialNumber => Any::new(Tag::PrintableString, v.as_bytes())?,
                _ => Any::new(Tag::Utf8String, v.as_bytes())?,
            };
            let atv = AttributeTypeAndValue { oid: a.oid(), value };
            rdns.push(RelativeDistinguishedName(SetOfVec::try_from(vec![atv])?));
        }
        Ok(RdnSequence(rdns))
    }

    pub fn from_name(n: &Name) -> Self {
        let mut v = Vec::new();
        for rdn in n.0.iter() {
            for atv in rdn.0.iter() {
                if let Some(a) = Attr::from_oid(&atv.oid) {
                    v.push((a, String::from_utf8_lossy(atv.value.value()).into_owned()));
                }
            }
        }
        DistinguishedName(v)
    }

    pub fn from_der(der_bytes: &[u8]) -> PkiResult<Self> {
        Ok(Self::from_name(&Name::from_der(der_bytes)?))
    }

    pub fn to_der(&self) -> PkiResult<Vec<u8>> {
        Ok(self.to_name()?.to_der()?)
    }
}

impl std::fmt::Display for DistinguishedName {
    /// RFC 4514 order: most specific first.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().rev().map(|(a, v)| format!("{}={}", a.key(), v.replace(',', "\\,"))).collect();
        f.write_str(&parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_print_and_encode_round_trip() {
        let s = "CN=Nguyễn Văn An,OU=Phòng Tổ chức\\, Cán bộ,OU=Sở Nội vụ,O=Ủy ban nhân dân tỉnh Bắc Ninh,L=Bắc Ninh,C=VN";
        let dn = DistinguishedName::parse(s).unwrap();
        assert_eq!(dn.get(Attr::C), Some("VN"));
        assert_eq!(dn.all(Attr::OU), vec!["Sở Nội vụ", "Phòng Tổ chức, Cán bộ"]);
        assert_eq!(dn.to_string(), s);
        let back = DistinguishedName::from_der(&dn.to_der().unwrap()).unwrap();
        assert_eq!(back, dn);
        assert!(DistinguishedName::parse("CN=x,C=Viet Nam").unwrap().to_name().is_err());
        assert!(DistinguishedName::parse("XYZ=1").is_err());
        assert!(DistinguishedName::parse("").is_err());
    }
}
