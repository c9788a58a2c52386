//! The rules of the law as data: one [`RuleSet`] per legal regime, each with the dates it is
//! in force, read from `rules/regimes.toml`. A province profile may override values that the
//! law leaves unverified.

use crate::error::{DomainError, DomainResult};
use crate::registry::{coded_enum, SubscriberKind};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The procedure rules of one legal regime.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct RuleSet {
    pub key: String,
    pub name: String,
    pub effective_from: NaiveDate,
    #[serde(default)]
    pub effective_to: Option<NaiveDate>,
    pub max_validity_months: u32,
    pub renewal_max_count: u32,
    pub renewal_min_days_left: i64,
    pub renewal_max_extension_months: u32,
    pub change_min_days_left: i64,
    pub change_keeps_expiry: bool,
    pub device_return_working_days: u32,
    pub lost_device_record_form: String,
    /// Per request kind: the form the subscriber fills and the one the CQQLTT sends.
    pub forms: BTreeMap<String, [String; 2]>,
}

/// Values a province profile may set over the national regime (for rules the law leaves
/// unverified). Absent fields keep the regime's value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleOverrides {
    pub max_validity_months: Option<u32>,
    pub renewal_max_count: Option<u32>,
    pub renewal_min_days_left: Option<i64>,
    pub renewal_max_extension_months: Option<u32>,
    pub change_min_days_left: Option<i64>,
    pub device_return_working_days: Option<u32>,
}

impl RuleSet {
    pub fn in_force_on(&self, day: NaiveDate) -> bool {
        self.effective_from <= day && self.effective_to.is_none_or(|t| day <= t)
    }
    pub fn with(mut self, o: &RuleOverrides) -> Self {
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = o.$f { self.$f = v; } )* };
        }
        set!(
            max_validity_months,
            renewal_max_count,
            renewal_min_days_left,
            renewal_max_extension_months,
            change_min_days_left,
            device_return_working_days
        );
        self
    }
    pub fn forms_for(&self, kind_key: &str) -> Option<&[String; 2]> {
        self.forms.get(kind_key)
    }
}

#[derive(Debug, Deserialize)]
struct RegimeFile {
    regime: Vec<RuleSet>,
}

/// All regimes, oldest first.
#[derive(Debug, Clone)]
pub struct Regimes(Vec<RuleSet>);

impl Regimes {
    /// The regimes shipped with kyso.
    pub fn builtin() -> Self {
        Self::from_toml(include_str!("../rules/regimes.toml")).expect("the shipped regimes.toml is valid")
    }
    pub fn from_toml(s: &str) -> Result<Self, String> {
        let f: RegimeFile = toml::from_str(s).map_err(|e| e.to_string())?;
        let mut v = f.regime;
        v.sort_by_key(|r| r.effective_from);
        for w in v.windows(2) {
            match w[0].effective_to {
                Some(end) if end < w[1].effective_from => {}
                _ => return Err(format!("regimes '{}' and '{}' overlap or leave the first open-ended", w[0].key, w[1].key)),
            }
        }
        Ok(Regimes(v))
    }
    /// The rules in force on `day`, or an error for a day before any regime.
    pub fn on(&self, day: NaiveDate) -> DomainResult<&RuleSet> {
        self.0.iter().find(|r| r.in_force_on(day)).ok_or_else(|| {
            DomainError::rule("regime", format!("không có văn bản quy phạm nào điều chỉnh ngày {day} trong dữ liệu quy định"))
        })
    }
    pub fn all(&self) -> &[RuleSet] {
        &self.0
    }
}

coded_enum!(
    /// Why a certificate is revoked. Which reasons apply depends on the subscriber kind
    /// (TT 08/2016 Art. 18 and NĐ 68 Art. 17, used as the working model for NĐ 130 Art. 68).
    RevocationReason {
        KeyCompromise = "key_compromise" / "Khóa bí mật bị lộ hoặc nghi bị lộ",
        DeviceLost = "device_lost" / "Thiết bị lưu khóa bí mật bị thất lạc",
        DeviceDamaged = "device_damaged" / "Thiết bị lưu khóa bí mật bị hư hỏng hoặc không an toàn",
        AuthorityRequest = "authority_request" / "Theo yêu cầu bằng văn bản của cơ quan tiến hành tố tụng, cơ quan công an",
        ManagingAgencyRequest = "managing_agency_request" / "Theo yêu cầu bằng văn bản của cơ quan, tổ chức quản lý trực tiếp",
        PositionChanged = "position_changed" / "Thay đổi vị trí công tác, không còn phù hợp với chứng thư số",
        RetiredOrLeft = "retired_or_left" / "Nghỉ hưu, thôi việc",
        Deceased = "deceased" / "Từ trần",
        Dissolved = "dissolved" / "Cơ quan, tổ chức giải thể, chia tách, sáp nhập",
        CeasedOperation = "ceased_operation" / "Thiết bị, dịch vụ, phần mềm ngừng hoạt động",
        Superseded = "superseded" / "Được thay thế bởi chứng thư số mới (gia hạn, thay đổi thông tin)",
    }
);

impl RevocationReason {
    /// Whether a subscriber of `kind` may request revocation for this reason.
    pub fn applies_to(self, kind: SubscriberKind) -> bool {
        use RevocationReason::*;
        match self {
            KeyCompromise | DeviceLost | DeviceDamaged | AuthorityRequest | ManagingAgencyRequest => true,
            PositionChanged | RetiredOrLeft | Deceased => kind == SubscriberKind::Individual,
            Dissolved => kind == SubscriberKind::Organisation,
            CeasedOperation => kind == SubscriberKind::Device,
            // Set by the system when a renewal or change replaces a certificate.
            Superseded => false,
        }
    }
    pub fn allowed_for(kind: SubscriberKind) -> Vec<RevocationReason> {
        Self::ALL.iter().copied().filter(|r| r.applies_to(kind)).collect()
    }
    /// The reason kyso records for a CRL entry of an external CA.
    pub fn from_rfc5280(code: u8) -> Self {
        use RevocationReason::*;
        match code {
            1 => KeyCompromise,
            3 => PositionChanged,
            4 => Superseded,
            5 => CeasedOperation,
            _ => ManagingAgencyRequest,
        }
    }
    /// The RFC 5280 CRLReason code the CA writes for this reason.
    pub fn rfc5280_code(self) -> u8 {
        use RevocationReason::*;
        match self {
            KeyCompromise | DeviceLost => 1,
            PositionChanged => 3,
            Superseded => 4,
            RetiredOrLeft | Deceased | Dissolved | CeasedOperation | DeviceDamaged => 5,
            AuthorityRequest | ManagingAgencyRequest => 0,
        }
    }
}

coded_enum!(
    /// Certificate information that a change-of-information request may alter (CV 434/CTSBMTT
    /// 2017; NĐ 68 Art. 15).
    ChangeField {
        Name = "name" / "Tên thuê bao",
        Title = "title" / "Chức danh",
        Workplace = "workplace" / "Nơi công tác / tổ chức cấp trên",
        Email = "email" / "Địa chỉ thư điện tử",
        TaxCode = "tax_code" / "Mã số thuế",
        Address = "address" / "Địa chỉ hoạt động",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn regime_by_date() {
        let r = Regimes::builtin();
        let cases = [
            ("2018-11-14", None),
            ("2018-11-15", Some("nd130-tt185")),
            ("2024-08-14", Some("nd130-tt185")),
            ("2024-08-15", Some("nd68")),
            ("2026-11-21", Some("nd68")),
        ];
        for (day, want) in cases {
            assert_eq!(r.on(d(day)).ok().map(|x| x.key.as_str()), want, "{day}");
        }
    }

    #[test]
    fn overlapping_regimes_are_refused() {
        let bad = include_str!("../rules/regimes.toml").replace("effective_to = \"2024-08-14\"", "effective_to = \"2024-09-01\"");
        assert!(Regimes::from_toml(&bad).is_err());
    }

    #[test]
    fn revocation_reasons_by_kind() {
        use RevocationReason::*;
        let cases = [
            (RetiredOrLeft, SubscriberKind::Individual, true),
            (RetiredOrLeft, SubscriberKind::Organisation, false),
            (Dissolved, SubscriberKind::Organisation, true),
            (Dissolved, SubscriberKind::Individual, false),
            (CeasedOperation, SubscriberKind::Device, true),
            (DeviceLost, SubscriberKind::Device, true),
            (Superseded, SubscriberKind::Individual, false),
        ];
        for (r, k, ok) in cases {
            assert_eq!(r.applies_to(k), ok, "{r} {k}");
        }
    }
}
