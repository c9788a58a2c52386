//! Validated values, parsed at the edge ("parse, don't validate"). Each constructor names the
//! field and the rule it enforces in its error.

use crate::error::{DomainError, DomainResult};
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use std::fmt;
use unicode_normalization::UnicodeNormalization;

/// Decodes `%XX` escapes (URL query values, the Assuan protocol); anything else stays as it is.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Text in Unicode NFC with surrounding and repeated inner white space removed. Vietnamese
/// input arrives in both NFC and NFD (macOS, some IMEs); storing NFC keeps search and
/// comparison exact.
pub fn normalize_text(s: &str) -> String {
    let nfc: String = s.nfc().collect();
    nfc.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Upper case as the official forms print names (họ tên in capitals), kept in NFC.
pub fn upper_nfc(s: &str) -> String {
    normalize_text(&s.to_uppercase())
}

/// A non-empty, normalised text of at most `max` characters.
pub fn required_text(field: &'static str, s: &str, max: usize) -> DomainResult<String> {
    let t = normalize_text(s);
    if t.is_empty() {
        return Err(DomainError::invalid(field, "không được để trống"));
    }
    if t.chars().count() > max {
        return Err(DomainError::invalid(field, format!("dài quá {max} ký tự")));
    }
    if t.chars().any(|c| c.is_control()) {
        return Err(DomainError::invalid(field, "chứa ký tự điều khiển"));
    }
    Ok(t)
}

macro_rules! string_newtype {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_newtype!(
    /// A person's full name in NFC, e.g. "Nguyễn Văn An".
    PersonName
);
impl PersonName {
    pub fn parse(s: &str) -> DomainResult<Self> {
        let t = required_text("full_name", s, 100)?;
        if t.chars().any(|c| c.is_ascii_digit()) {
            return Err(DomainError::invalid("full_name", "họ tên không được chứa chữ số"));
        }
        if !t.chars().all(|c| c.is_alphabetic() || c == ' ' || c == '-' || c == '\'') {
            return Err(DomainError::invalid("full_name", "họ tên chỉ gồm chữ cái, dấu cách, '-' và '''"));
        }
        Ok(PersonName(t))
    }
    /// The name as the forms print it (upper case).
    pub fn for_forms(&self) -> String {
        upper_nfc(&self.0)
    }
}

string_newtype!(
    /// A 12-digit citizen identity number (số CCCD / số định danh cá nhân).
    CitizenId
);

/// Province codes of the citizen ID, positions 1–3 (Circular 07/2016/TT-BCA, Appendix).
/// IDs keep the code of the province where the birth was registered, so the pre-2025 codes
/// stay valid after the 2025 merger of provinces.
const CCCD_PROVINCE_CODES: &[u16] = &[
    1, 2, 4, 6, 8, 10, 11, 12, 14, 15, 17, 19, 20, 22, 24, 25, 26, 27, 30, 31, 33, 34, 35, 36, 37, 38, 40, 42, 44, 45, 46, 48, 49, 51, 52,
    54, 56, 58, 60, 62, 64, 66, 67, 68, 70, 72, 74, 75, 77, 79, 80, 82, 83, 84, 86, 87, 89, 91, 92, 93, 94, 95, 96,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    Male,
    Female,
}

impl Gender {
    pub fn parse(s: &str) -> DomainResult<Self> {
        match normalize_text(s).to_lowercase().as_str() {
            "male" | "nam" | "m" => Ok(Gender::Male),
            "female" | "nữ" | "nu" | "f" => Ok(Gender::Female),
            _ => Err(DomainError::invalid("gender", format!("'{s}' không phải giới tính hợp lệ (nam hoặc nữ)"))),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Gender::Male => "male",
            Gender::Female => "female",
        }
    }
    pub fn label_vi(self) -> &'static str {
        match self {
            Gender::Male => "Nam",
            Gender::Female => "Nữ",
        }
    }
}

impl CitizenId {
    /// Checks the form of the number: 12 digits, a known province code, and a century/gender
    /// digit (position 4) and birth year (positions 5–6) consistent with the person.
    pub fn parse(s: &str, birth: Option<NaiveDate>, gender: Option<Gender>) -> DomainResult<Self> {
        let t: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        if t.len() != 12 || !t.chars().all(|c| c.is_ascii_digit()) {
            return Err(DomainError::invalid(
                "citizen_id",
                format!("số CCCD phải gồm đúng 12 chữ số (nhận được '{s}'); hãy nhập lại theo thẻ căn cước"),
            ));
        }
        let digit = |i: usize| u16::from(t.as_bytes()[i] - b'0');
        let province = digit(0) * 100 + digit(1) * 10 + digit(2);
        if !CCCD_PROVINCE_CODES.contains(&province) {
            return Err(DomainError::invalid("citizen_id", format!("mã tỉnh '{:03}' ở 3 chữ số đầu của số CCCD không tồn tại", province)));
        }
        let century_gender = digit(3);
        let year2 = digit(4) * 10 + digit(5);
        if let Some(b) = birth {
            let (century_base, _) = century_of(century_gender);
            let year = century_base + i32::from(year2);
            if year != b.year() {
                return Err(DomainError::invalid(
                    "citizen_id",
                    format!("chữ số 4–6 của số CCCD cho năm sinh {year}, nhưng ngày sinh là năm {}", b.year()),
                ));
            }
        }
        if let Some(g) = gender {
            let (_, g_id) = century_of(century_gender);
            if g != g_id {
                return Err(DomainError::invalid(
                    "citizen_id",
                    format!("chữ số thứ 4 của số CCCD cho giới tính {}, khác với giới tính đã khai", g_id.label_vi()),
                ));
            }
        }
        Ok(CitizenId(t))
    }
}

/// Position 4 of the citizen ID: 0/1 = 20th century male/female, 2/3 = 21st, 4/5 = 22nd,
/// 6/7 = 23rd, 8/9 = 19th... per Circular 07/2016/TT-BCA Art. 7.
fn century_of(d: u16) -> (i32, Gender) {
    let base = match d / 2 {
        0 => 1900,
        1 => 2000,
        2 => 2100,
        3 => 2200,
        _ => 2300,
    };
    (base, if d.is_multiple_of(2) { Gender::Male } else { Gender::Female })
}

string_newtype!(
    /// A Vietnamese tax code (mã số thuế): 10 digits with a check digit, optionally followed by
    /// "-NNN" for a dependent unit.
    TaxCode
);
impl TaxCode {
    pub fn parse(s: &str) -> DomainResult<Self> {
        let t = s.trim();
        let (main, branch) = match t.split_once('-') {
            Some((m, b)) => (m, Some(b)),
            None => (t, None),
        };
        let bad = |msg: String| Err(DomainError::invalid("tax_code", msg));
        if main.len() != 10 || !main.chars().all(|c| c.is_ascii_digit()) {
            return bad(format!("mã số thuế phải gồm 10 chữ số, có thể thêm '-NNN' cho đơn vị phụ thuộc (nhận được '{t}')"));
        }
        if let Some(b) = branch {
            if b.len() != 3 || !b.chars().all(|c| c.is_ascii_digit()) {
                return bad(format!("phần đơn vị phụ thuộc của mã số thuế phải là 3 chữ số (nhận được '{b}')"));
            }
        }
        if tax_check_digit(main) != Some(main.as_bytes()[9] - b'0') {
            return bad(format!("chữ số kiểm tra của mã số thuế '{main}' không đúng; hãy đối chiếu với giấy đăng ký thuế"));
        }
        Ok(TaxCode(t.to_string()))
    }
}

/// The check digit of a 10-digit tax code: 10 − (Σ wᵢ·dᵢ mod 11) with the weights below;
/// a result of 10 means no valid code has these first nine digits.
pub fn tax_check_digit(main: &str) -> Option<u8> {
    const W: [u32; 9] = [31, 29, 23, 19, 17, 13, 7, 5, 3];
    let sum: u32 = main.bytes().take(9).zip(W).map(|(b, w)| u32::from(b - b'0') * w).sum();
    let c = 10 - (sum % 11);
    (c < 10).then_some(c as u8)
}

string_newtype!(
    /// A budget-relation code (mã quan hệ ngân sách): 7 digits.
    BudgetCode
);
impl BudgetCode {
    pub fn parse(s: &str) -> DomainResult<Self> {
        let t = s.trim();
        if t.len() != 7 || !t.chars().all(|c| c.is_ascii_digit()) {
            return Err(DomainError::invalid("budget_code", format!("mã quan hệ ngân sách phải gồm 7 chữ số (nhận được '{t}')")));
        }
        Ok(BudgetCode(t.to_string()))
    }
}

string_newtype!(
    /// An e-mail address, lower-cased.
    Email
);
impl Email {
    pub fn parse(field: &'static str, s: &str) -> DomainResult<Self> {
        let t = s.trim().to_lowercase();
        let ok = match t.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && local.len() <= 64
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains("..")
                    && t.chars().all(|c| c.is_ascii_alphanumeric() || "@._-+".contains(c))
                    && t.matches('@').count() == 1
            }
            None => false,
        };
        if !ok || t.len() > 254 {
            return Err(DomainError::invalid(field, format!("'{s}' không phải địa chỉ thư điện tử hợp lệ")));
        }
        Ok(Email(t))
    }
    pub fn domain(&self) -> &str {
        self.0.split_once('@').map(|(_, d)| d).unwrap_or("")
    }
    /// True when the address belongs to one of `domains` or a subdomain of one.
    pub fn in_domains(&self, domains: &[String]) -> bool {
        let d = self.domain();
        domains.iter().any(|x| d == x || d.ends_with(&format!(".{x}")))
    }
}

string_newtype!(
    /// A Vietnamese phone number, stored as 0XXXXXXXXX (10 digits) or a fixed line with area code.
    Phone
);
impl Phone {
    pub fn parse(s: &str) -> DomainResult<Self> {
        let digits: String = s.chars().filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')')).collect();
        let local = if let Some(rest) = digits.strip_prefix("+84") { format!("0{rest}") } else { digits };
        if !(10..=11).contains(&local.len()) || !local.starts_with('0') || !local.chars().all(|c| c.is_ascii_digit()) {
            return Err(DomainError::invalid(
                "phone",
                format!("'{s}' không phải số điện thoại hợp lệ (10 chữ số, bắt đầu bằng 0 hoặc +84)"),
            ));
        }
        Ok(Phone(local))
    }
}

string_newtype!(
    /// A short agency code, such as "STTTT" or "UBND-TS": upper-case letters, digits, '-', '.'.
    AgencyCode
);
impl AgencyCode {
    pub fn parse(s: &str) -> DomainResult<Self> {
        let t = s.trim().to_uppercase();
        if t.is_empty() || t.len() > 32 || !t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_') {
            return Err(DomainError::invalid(
                "code",
                format!("mã cơ quan '{s}' chỉ được gồm chữ cái không dấu, chữ số, '-', '_' hoặc '.', tối đa 32 ký tự"),
            ));
        }
        Ok(AgencyCode(t))
    }
}

string_newtype!(
    /// A certificate or device serial number, upper-case hexadecimal or alphanumeric.
    Serial
);
impl Serial {
    pub fn parse(field: &'static str, s: &str) -> DomainResult<Self> {
        let t: String = s.trim().chars().filter(|c| *c != ':' && *c != ' ').collect::<String>().to_uppercase();
        if t.is_empty() || t.len() > 64 || !t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(DomainError::invalid(field, format!("số hiệu '{s}' chỉ được gồm chữ số và chữ cái không dấu (tối đa 64 ký tự)")));
        }
        Ok(Serial(t))
    }
}

/// Parses a date written as YYYY-MM-DD or DD/MM/YYYY (the form Vietnamese officials write).
pub fn parse_date(field: &'static str, s: &str) -> DomainResult<NaiveDate> {
    let t = s.trim();
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(t, "%d/%m/%Y"))
        .map_err(|_| DomainError::invalid(field, format!("'{s}' không phải ngày hợp lệ (viết YYYY-MM-DD hoặc DD/MM/YYYY)")))
}

/// Restores a value stored by this program without re-validating it (the store wrote it
/// after parsing). Only for the store's row mapping.
pub trait FromStored: Sized {
    fn from_stored(s: String) -> Self;
}
macro_rules! from_stored {
    ($($t:ident),*) => { $(impl FromStored for $t { fn from_stored(s: String) -> Self { $t(s) } })* };
}
from_stored!(PersonName, CitizenId, TaxCode, BudgetCode, Email, Phone, AgencyCode, Serial);

/// Vietnam's time zone (UTC+07:00, no daylight saving).
pub fn vn_offset() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(7 * 3600).expect("valid offset")
}

/// The calendar day in Vietnam at instant `t`.
pub fn vn_date(t: chrono::DateTime<chrono::Utc>) -> NaiveDate {
    t.with_timezone(&vn_offset()).date_naive()
}

/// The instant a Vietnamese calendar day begins.
pub fn vn_day_start(d: NaiveDate) -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone;
    vn_offset().from_local_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight")).single().expect("fixed offset").with_timezone(&chrono::Utc)
}

/// Vietnamese text folded to ASCII ("Nguyễn Đức" → "Nguyen Duc"), for logins and e-mail
/// local parts.
pub fn ascii_fold(s: &str) -> String {
    s.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .map(|c| match c {
            'đ' => 'd',
            'Đ' => 'D',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_escapes_decode() {
        for (input, want) in [
            ("%2Fetc%2Fkyso%2Fca.pem", "/etc/kyso/ca.pem"),
            ("100%", "100%"),
            ("%zz%4", "%zz%4"),
            ("Ng%C6%B0%E1%BB%9Di", "Người"),
            ("plain", "plain"),
        ] {
            assert_eq!(percent_decode(input), want, "{input}");
        }
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn citizen_id_cases() {
        let cases: &[(&str, Option<&str>, Option<Gender>, bool)] = &[
            ("027085001234", Some("1985-03-02"), Some(Gender::Male), true),
            ("027185001234", Some("1985-03-02"), Some(Gender::Female), true),
            ("027200001234", Some("2000-01-01"), Some(Gender::Male), true),
            ("02708500123", None, None, false),                  // 11 digits
            ("0270850012345", None, None, false),                // 13 digits
            ("02708500123A", None, None, false),                 // letter
            ("003085001234", None, None, false),                 // 003 is not a province code
            ("027085001234", Some("1986-03-02"), None, false),   // year mismatch
            ("027085001234", None, Some(Gender::Female), false), // gender mismatch
            (" 027 085 001 234 ", None, None, true),             // spaces are tolerated
        ];
        for (s, b, g, ok) in cases {
            let r = CitizenId::parse(s, b.map(d), *g);
            assert_eq!(r.is_ok(), *ok, "{s} {b:?} {g:?}: {r:?}");
            if let Err(e) = r {
                assert!(matches!(e, DomainError::Invalid { field: "citizen_id", .. }));
            }
        }
    }

    #[test]
    fn tax_code_cases() {
        // Real published codes of two state-owned enterprises.
        for ok in ["0100112437", "0100109106", "0100109106-001"] {
            assert!(TaxCode::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["0100112438", "010011243", "0100109106-01", "01001091O6", ""] {
            assert!(TaxCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_are_nfc_and_collapsed() {
        let nfd = "Nguye\u{0302}\u{0303}n  Va\u{0306}n   An";
        let n = PersonName::parse(nfd).unwrap();
        assert_eq!(n.as_str(), "Nguyễn Văn An");
        assert_eq!(n.for_forms(), "NGUYỄN VĂN AN");
        assert!(PersonName::parse("Nguyen 2").is_err());
        assert!(PersonName::parse("   ").is_err());
        assert_eq!(ascii_fold("Nguyễn Đức Thắng"), "Nguyen Duc Thang");
    }

    #[test]
    fn email_phone_codes() {
        assert!(Email::parse("email", "An.NV@BacNinh.gov.vn").is_ok());
        assert!(Email::parse("email", "a@x.bacninh.gov.vn").unwrap().in_domains(&["bacninh.gov.vn".into()]));
        for bad in ["a@b", "@b.vn", "a@@b.vn", "a b@c.vn", "a@.vn"] {
            assert!(Email::parse("email", bad).is_err(), "{bad}");
        }
        assert_eq!(Phone::parse("+84 912 345 678").unwrap().as_str(), "0912345678");
        assert!(Phone::parse("12345").is_err());
        assert_eq!(AgencyCode::parse("sttt-bn").unwrap().as_str(), "STTT-BN");
        assert!(AgencyCode::parse("Sở").is_err());
        assert!(BudgetCode::parse("1234567").is_ok());
        assert!(BudgetCode::parse("123456").is_err());
        assert_eq!(parse_date("d", "02/03/1985").unwrap(), d("1985-03-02"));
    }
}
