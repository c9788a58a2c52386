//! The algorithm policy: until when a hash or key size was strong enough for signatures. A
//! signature made with a weaker one is judged normally when a trusted time-stamp proves it
//! existed before the cut-off; otherwise it is INDETERMINATE /
//! CRYPTO_CONSTRAINTS_FAILURE_NO_POE (EN 319 102-1 §5.2.8). Never a format failure.
//!
//! The dates follow the cut-offs of ETSI TS 119 312 as the EU DSS default validation policy
//! applies them; they are data, checked here against no official Vietnamese text (none sets
//! them), so a deployment that needs others changes this table.

use chrono::{DateTime, NaiveDate, Utc};
use kyso_pki::alg::SignatureFacts;
use kyso_token::{HashAlg, PublicKeyKind};

/// One rule: what it covers, and the last day it was acceptable for signatures.
pub struct Rule {
    pub what: &'static str,
    pub applies: fn(&SignatureFacts) -> bool,
    /// Acceptable for signatures made before this day (UTC).
    pub until: (i32, u32, u32),
}

/// The rules, weakest first.
pub const RULES: &[Rule] = &[
    Rule { what: "SHA-1", applies: |f| f.hash == HashAlg::Sha1, until: (2009, 8, 1) },
    Rule { what: "khóa RSA dưới 1536 bit", applies: |f| f.key == PublicKeyKind::Rsa && f.bits < 1536, until: (2009, 8, 1) },
    Rule { what: "khóa RSA dưới 1900 bit", applies: |f| f.key == PublicKeyKind::Rsa && f.bits < 1900, until: (2016, 8, 1) },
];

/// The first rule `facts` breaks, with its cut-off time.
pub fn weakness(facts: &SignatureFacts) -> Option<(&'static str, DateTime<Utc>)> {
    RULES.iter().find(|r| (r.applies)(facts)).map(|r| {
        let (y, m, d) = r.until;
        let day = NaiveDate::from_ymd_opt(y, m, d).expect("valid policy date");
        (r.what, day.and_hms_opt(0, 0, 0).expect("midnight").and_utc())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_algorithms_have_cut_offs_and_strong_ones_none() {
        let f = |hash, key, bits| SignatureFacts { hash, key, bits, pss: false };
        let cases = [
            (f(HashAlg::Sha1, PublicKeyKind::Rsa, 2048), Some("SHA-1")),
            (f(HashAlg::Sha256, PublicKeyKind::Rsa, 1024), Some("khóa RSA dưới 1536 bit")),
            (f(HashAlg::Sha256, PublicKeyKind::Rsa, 1536), Some("khóa RSA dưới 1900 bit")),
            (f(HashAlg::Sha256, PublicKeyKind::Rsa, 2048), None),
            (f(HashAlg::Sha384, PublicKeyKind::EcP384, 384), None),
        ];
        for (facts, want) in cases {
            assert_eq!(weakness(&facts).map(|w| w.0), want, "{facts:?}");
        }
    }
}
