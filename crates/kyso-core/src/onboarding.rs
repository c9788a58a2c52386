//! Bulk onboarding of what a province already has: which facts of an existing certificate
//! tie it to an official. The matching is in this order, and nothing is guessed: a certificate
//! that matches nobody, or more than one, goes to a review list.

use crate::registry::coded_enum;
use crate::value::{normalize_text, CitizenId};

coded_enum!(
    MatchPath {
        CitizenId = "citizen_id" / "Theo số định danh cá nhân trong chứng thư",
        Email = "email" / "Theo địa chỉ thư điện tử",
        NameAndAgency = "name_and_agency" / "Theo họ tên và cơ quan",
    }
);

/// A 12-digit citizen ID written in subject attributes (serialNumber, UID), with or without a
/// prefix such as "CCCD:" or "CMND:". Whether the government CA writes it there is
/// UNVERIFIED (legal.md §6), so a certificate without one falls through to the other paths.
pub fn citizen_id_in<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<CitizenId> {
    for v in values {
        let digits: Vec<&str> = v.split(|c: char| !c.is_ascii_digit()).filter(|d| d.len() == 12).collect();
        for d in digits {
            if let Ok(c) = CitizenId::parse(d, None, None) {
                return Some(c);
            }
        }
    }
    None
}

/// The same name, ignoring case, spacing and Unicode normal form.
pub fn same_name(a: &str, b: &str) -> bool {
    normalize_text(a).to_lowercase() == normalize_text(b).to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn citizen_ids_are_found_with_or_without_a_prefix() {
        // (attribute values, the ID found)
        let cases: [(&[&str], Option<&str>); 6] = [
            (&["CCCD:027080000001"], Some("027080000001")),
            (&["CMND-027080000001"], Some("027080000001")),
            (&["027080000001"], Some("027080000001")),
            (&["MST:0100109106"], None),
            (&["CCCD:0270800000012"], None),
            (&["999080000001"], None),
        ];
        for (values, want) in cases {
            assert_eq!(citizen_id_in(values.iter().copied()).map(|c| c.to_string()), want.map(str::to_string), "{values:?}");
        }
        assert!(same_name("Nguyễn  Văn An", "nguyễn văn an"));
        assert!(!same_name("Nguyễn Văn An", "Nguyễn Văn Ân"));
    }
}
