//! What the benchmarks share: a valid tax code per seed and a province bootstrapped on the
//! Bắc Ninh profile with the root "UBND".
#![allow(dead_code)]

use chrono::{DateTime, Utc};
use kyso_core::calendar::WorkCalendar;
use kyso_core::registry::AgencyInput;
use kyso_service::{Bootstrap, Service};
use kyso_store::Db;

/// A ten-digit tax code with a valid check digit, different for each seed.
pub fn tax(seed: u64) -> String {
    let mut n = 100_000_000 + seed * 13;
    loop {
        let nine = format!("{n:09}");
        if let Some(c) = kyso_core::value::tax_check_digit(&format!("{nine}0")) {
            return format!("{nine}{c}");
        }
        n += 1;
    }
}

/// A new deployment on `db` with the province root "UBND" and the account "admin".
pub fn province(db: Db, at: DateTime<Utc>) -> Service {
    let boot = Bootstrap {
        profile_key: "bac-ninh-2023".into(),
        root: AgencyInput {
            code: "UBND".into(),
            name: "Ủy ban nhân dân tỉnh".into(),
            legal_entity: true,
            tax_code: Some(tax(0)),
            address: "x".into(),
            ..Default::default()
        },
        admin_login: "admin".into(),
        training: true,
    };
    Service::init(db, WorkCalendar::builtin(), &boot, at).unwrap()
}
