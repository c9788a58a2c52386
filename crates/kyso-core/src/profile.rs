//! Province profiles: who the subscriber manager is, where requests are routed, report
//! deadlines and figures, and the province's extra rules. A deployment picks one.

use crate::registry::PositionKind;
use crate::request::RequestKind;
use crate::rules::RuleOverrides;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How a confirmed request travels to the CA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    /// The provincial subscriber manager checks it, then sends it to the CA.
    ViaManager,
    /// The CQQLTT sends it to the CA itself (the manager may get a copy).
    Direct,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Routing {
    pub default: Route,
    /// Exceptions per request kind code (e.g. `restore_device = "via_manager"`).
    #[serde(default)]
    pub per_kind: BTreeMap<String, Route>,
    /// Who receives a copy of each request (e.g. Bắc Ninh's IT Centre), if anyone.
    #[serde(default)]
    pub copy_to: Option<String>,
}

impl Routing {
    pub fn route_for(&self, kind: RequestKind) -> Route {
        self.per_kind.get(kind.code()).copied().unwrap_or(self.default)
    }
}

/// One figure of a report: either a count of audit events (flows within the period) or a
/// count of certificates valid at the end of the period (a stock).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FigureDef {
    pub key: String,
    pub label: String,
    #[serde(default)]
    pub source: FigureSource,
    /// For event figures: the audit actions counted (e.g. "request.completed").
    #[serde(default)]
    pub actions: Vec<String>,
    /// For event figures: the subjects counted (request kind codes, or "document").
    #[serde(default)]
    pub subjects: Vec<String>,
    /// Split into organisation and personal columns (otherwise one total).
    #[serde(default = "yes")]
    pub split: bool,
    /// Count one class only ("org" or "personal"), as one total.
    #[serde(default)]
    pub class: Option<String>,
}

fn yes() -> bool {
    true
}

fn nd09_year_end() -> String {
    "12-14".into()
}

/// How a subscriber's default direct-managing agency (CQQLTT) is found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ManagingRule {
    /// The nearest legal entity: the official's own body; for an organisation, the legal
    /// entity above it (TT 185 Art. 3).
    #[default]
    NearestLegalEntity,
    /// As above, except that the provincial Office is the CQQLTT of the bodies directly under
    /// the province and of their leaders and deputies (Hà Tĩnh Art. 5.1).
    ProvincialOfficeForProvinceBodies,
}

/// Whether the provincial Office, rather than the nearest legal entity, manages a subscriber
/// under `rule`: an organisation whose agency sits directly under the province, or the leader
/// or a deputy of such a body. Pure: the caller finds the facts in the registry.
pub fn managed_by_provincial_office(
    rule: ManagingRule,
    kind: crate::registry::SubscriberKind,
    position: Option<crate::registry::PositionKind>,
    body_is_under_province: bool,
) -> bool {
    use crate::registry::{PositionKind, SubscriberKind};
    rule == ManagingRule::ProvincialOfficeForProvinceBodies
        && body_is_under_province
        && match kind {
            SubscriberKind::Organisation => true,
            SubscriberKind::Individual => matches!(position, Some(PositionKind::Leader | PositionKind::DeputyLeader)),
            SubscriberKind::Device => false,
        }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FigureSource {
    #[default]
    Events,
    /// Certificates valid at the end of the period.
    ValidCertificates,
    /// A figure kyso cannot count (e.g. the public services that use digital signatures):
    /// the reporting agency gives it.
    Input,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReportRules {
    /// Month and day ("MM-DD") before which the six-monthly report is due, if any.
    pub half_year_due: Option<String>,
    /// Month and day before which the annual report is due.
    pub annual_due: String,
    /// Month and day ("MM-DD") of the last day of the reporting year (the data cut-off):
    /// the year runs from the day after it, the half-year ends six months before it and the
    /// quarters three, six and nine months before it. Default NĐ 09/2019/NĐ-CP Art. 12
    /// (15/12 to 14/12; UNVERIFIED against the text); "12-31" for calendar periods.
    #[serde(default = "nd09_year_end")]
    pub year_end: String,
    pub recipient: String,
    /// Which bodies report to the recipient.
    pub reporters: String,
    pub figures: Vec<FigureDef>,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProvinceProfile {
    pub key: String,
    pub name: String,
    pub province: String,
    pub regulation: String,
    pub effective_from: chrono::NaiveDate,
    /// The provincial subscriber manager (người quản lý thuê bao).
    pub subscriber_manager: String,
    /// The technical unit that runs the certificate database and helps with devices.
    pub technical_unit: String,
    /// Who acts as direct-managing agency (CQQLTT), in the regulation's words.
    pub managing_agencies: String,
    /// The rule that picks a subscriber's default CQQLTT.
    #[serde(default)]
    pub managing_rule: ManagingRule,
    pub routing: Routing,
    pub reports: ReportRules,
    /// Official e-mail domains required for subscribers' addresses; empty = any.
    #[serde(default)]
    pub official_email_domains: Vec<String>,
    /// Position kinds allowed to hold a personal certificate; empty = no provincial list.
    #[serde(default)]
    pub personal_certificate_positions: Vec<PositionKind>,
    /// The org device goes to the records clerk by a written decision (Bắc Giang).
    #[serde(default)]
    pub org_device_to_records_clerk: bool,
    /// A second organisation device is allowed for one-stop centres (Bắc Ninh Art. 9.3).
    #[serde(default)]
    pub second_org_device_for_one_stop: bool,
    /// The built-in CA writes the official's title (chức danh) into the subject as T.
    /// UNVERIFIED for the government CA (legal.md §6); CV 434/2017 lists the title among the
    /// certificate information a change request can alter, so the default is yes.
    #[serde(default = "yes")]
    pub certificate_title: bool,
    /// Where an agency has a single CQQLTT officer, may that officer confirm a request they
    /// filed themself? Only ever when the request then goes through the provincial manager's
    /// check (the four eyes come from the manager). Not in the regulations read so far
    /// (UNVERIFIED): a review of separation of duties, issue 12; default yes.
    #[serde(default = "yes")]
    pub sole_officer_may_confirm_own_filing: bool,
    /// Wrong PINs before a token locks (NĐ 130 Art. 73; the CA's count is UNVERIFIED).
    pub pin_retry_limit: u32,
    #[serde(default)]
    pub rules: RuleOverrides,
    /// Extra rules in words, and what is unverified, for the operator to read.
    #[serde(default)]
    pub notes: Vec<String>,
}

const BUILTIN: &[(&str, &str)] = &[
    ("bac-giang-2020", include_str!("../profiles/bac-giang-2020.toml")),
    ("ha-tinh-2020", include_str!("../profiles/ha-tinh-2020.toml")),
    ("bac-ninh-2023", include_str!("../profiles/bac-ninh-2023.toml")),
    ("thai-binh-2016", include_str!("../profiles/thai-binh-2016.toml")),
    ("national-nd68", include_str!("../profiles/national-nd68.toml")),
];

impl ProvinceProfile {
    pub fn builtin_keys() -> Vec<&'static str> {
        BUILTIN.iter().map(|(k, _)| *k).collect()
    }
    pub fn builtin(key: &str) -> Option<ProvinceProfile> {
        BUILTIN.iter().find(|(k, _)| *k == key).map(|(_, s)| Self::from_toml(s).expect("shipped profile is valid"))
    }
    pub fn from_toml(s: &str) -> Result<Self, String> {
        let p: ProvinceProfile = toml::from_str(s).map_err(|e| e.to_string())?;
        for kind in p.routing.per_kind.keys() {
            if RequestKind::parse(kind).is_none() {
                return Err(format!("profile '{}': routing names unknown request kind '{kind}'", p.key));
            }
        }
        Ok(p)
    }
    pub fn allows_personal_certificate(&self, kind: PositionKind) -> bool {
        self.personal_certificate_positions.is_empty() || self.personal_certificate_positions.contains(&kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_profile_parses() {
        for k in ProvinceProfile::builtin_keys() {
            let p = ProvinceProfile::builtin(k).unwrap();
            assert_eq!(p.key, k);
            assert!(!p.reports.figures.is_empty(), "{k} has figures");
        }
    }

    #[test]
    fn routing_per_profile() {
        let cases = [
            ("bac-giang-2020", RequestKind::RestoreDevice, Route::ViaManager),
            ("bac-giang-2020", RequestKind::NewIndividual, Route::Direct),
            ("ha-tinh-2020", RequestKind::Revoke, Route::Direct),
            ("bac-ninh-2023", RequestKind::Renew, Route::Direct),
            ("bac-ninh-2023", RequestKind::RestoreDevice, Route::ViaManager),
            ("thai-binh-2016", RequestKind::NewOrganisation, Route::ViaManager),
        ];
        for (k, kind, want) in cases {
            assert_eq!(ProvinceProfile::builtin(k).unwrap().routing.route_for(kind), want, "{k} {kind:?}");
        }
    }

    #[test]
    fn thai_binh_eligibility() {
        let tb = ProvinceProfile::builtin("thai-binh-2016").unwrap();
        assert!(tb.allows_personal_certificate(PositionKind::Leader));
        assert!(!tb.allows_personal_certificate(PositionKind::Specialist));
        let bn = ProvinceProfile::builtin("bac-ninh-2023").unwrap();
        assert!(bn.allows_personal_certificate(PositionKind::Specialist));
    }
}
