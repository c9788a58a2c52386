//! Report figures for a period and an agency subtree, computed from counts of audit events
//! (flows) and of certificates valid at the end of the period (stocks), as the province
//! profile defines them.

use crate::error::{DomainError, DomainResult};
use crate::profile::{FigureSource, ProvinceProfile};
use chrono::{Datelike, NaiveDate};
use serde::Serialize;

/// A reporting period: a half-year ("2026-H1") or a year ("2026").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Period {
    Half { year: i32, half: u8 },
    Year { year: i32 },
}

impl Period {
    pub fn parse(s: &str) -> DomainResult<Self> {
        let t = s.trim().to_uppercase();
        let bad = || DomainError::invalid("period", format!("kỳ báo cáo '{s}' không hợp lệ: viết 2026-H1, 2026-H2 hoặc 2026"));
        let year_of = |y: &str| y.parse::<i32>().ok().filter(|y| (2000..=2100).contains(y));
        match t.split_once("-H") {
            Some((y, h)) => {
                let year = year_of(y).ok_or_else(bad)?;
                match h {
                    "1" => Ok(Period::Half { year, half: 1 }),
                    "2" => Ok(Period::Half { year, half: 2 }),
                    _ => Err(bad()),
                }
            }
            None => Ok(Period::Year { year: year_of(&t).ok_or_else(bad)? }),
        }
    }
    /// First day of the period.
    pub fn start(self) -> NaiveDate {
        match self {
            Period::Half { year, half: 2 } => NaiveDate::from_ymd_opt(year, 7, 1),
            Period::Half { year, .. } | Period::Year { year } => NaiveDate::from_ymd_opt(year, 1, 1),
        }
        .expect("valid date")
    }
    /// First day after the period.
    pub fn end_exclusive(self) -> NaiveDate {
        match self {
            Period::Half { year, half: 1 } => NaiveDate::from_ymd_opt(year, 7, 1),
            Period::Half { year, .. } | Period::Year { year } => NaiveDate::from_ymd_opt(year + 1, 1, 1),
        }
        .expect("valid date")
    }
    pub fn code(self) -> String {
        match self {
            Period::Half { year, half } => format!("{year}-H{half}"),
            Period::Year { year } => format!("{year}"),
        }
    }
    pub fn label_vi(self) -> String {
        match self {
            Period::Half { year, half: 1 } => format!("06 tháng đầu năm {year}"),
            Period::Half { year, .. } => format!("06 tháng cuối năm {year}"),
            Period::Year { year } => format!("năm {year}"),
        }
    }
    /// The day the report is due under the profile, if the profile sets one for this kind.
    pub fn due(self, profile: &ProvinceProfile) -> Option<NaiveDate> {
        let (year, mmdd) = match self {
            Period::Half { year, half: 1 } => (year, profile.reports.half_year_due.as_deref()?),
            Period::Half { year, .. } => (year, profile.reports.annual_due.as_str()),
            Period::Year { year } => (year, profile.reports.annual_due.as_str()),
        };
        let (m, d) = mmdd.split_once('-')?;
        NaiveDate::from_ymd_opt(year, m.parse().ok()?, d.parse().ok()?)
    }
}

/// A count of events with the same action, subject and class, from the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventCount {
    pub action: String,
    pub subject: String,
    pub class: Option<String>,
    pub count: u64,
}

/// Valid certificates at the end of the period, by class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StockCount {
    pub org: u64,
    pub personal: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FigureRow {
    pub key: String,
    pub label: String,
    /// Organisation column (None when the figure is not split).
    pub org: Option<u64>,
    pub personal: Option<u64>,
    pub total: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub profile: String,
    pub province: String,
    pub period: String,
    pub period_label: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub agency_code: String,
    pub agency_name: String,
    pub due: Option<NaiveDate>,
    pub recipient: String,
    pub figures: Vec<FigureRow>,
}

/// Turns raw counts into the profile's figures.
pub fn figures(profile: &ProvinceProfile, events: &[EventCount], stock: StockCount) -> Vec<FigureRow> {
    profile
        .reports
        .figures
        .iter()
        .map(|f| {
            let (org, personal) = match f.source {
                FigureSource::ValidCertificates => (stock.org, stock.personal),
                FigureSource::Events => {
                    let mut org = 0;
                    let mut personal = 0;
                    for e in events.iter().filter(|e| f.actions.contains(&e.action) && f.subjects.contains(&e.subject)) {
                        match e.class.as_deref() {
                            Some("personal") => personal += e.count,
                            _ => org += e.count,
                        }
                    }
                    (org, personal)
                }
            };
            FigureRow {
                key: f.key.clone(),
                label: f.label.clone(),
                org: f.split.then_some(org),
                personal: f.split.then_some(personal),
                total: org + personal,
            }
        })
        .collect()
}

/// The years a half-year or year covers, for callers that iterate.
pub fn year_of(d: NaiveDate) -> i32 {
    d.year()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods() {
        let cases =
            [("2026-H1", "2026-01-01", "2026-07-01"), ("2026-h2", "2026-07-01", "2027-01-01"), ("2026", "2026-01-01", "2027-01-01")];
        for (s, a, b) in cases {
            let p = Period::parse(s).unwrap();
            assert_eq!(p.start().to_string(), a);
            assert_eq!(p.end_exclusive().to_string(), b);
        }
        for bad in ["2026-H3", "26", "H1", "2026-1", ""] {
            assert!(Period::parse(bad).is_err(), "{bad}");
        }
        let bn = ProvinceProfile::builtin("bac-ninh-2023").unwrap();
        assert_eq!(Period::parse("2026-H1").unwrap().due(&bn).unwrap().to_string(), "2026-05-15");
        assert_eq!(Period::parse("2026").unwrap().due(&bn).unwrap().to_string(), "2026-11-15");
    }

    #[test]
    fn figures_follow_the_profile() {
        let bn = ProvinceProfile::builtin("bac-ninh-2023").unwrap();
        let ev = |a: &str, s: &str, c: &str, n| EventCount { action: a.into(), subject: s.into(), class: Some(c.into()), count: n };
        let events = vec![
            ev("request.completed", "new_individual", "personal", 7),
            ev("request.completed", "new_organisation", "org", 2),
            ev("request.completed", "new_device", "org", 1),
            ev("request.sent_to_ca", "revoke", "personal", 3),
            ev("request.completed", "revoke", "personal", 3), // not a Bắc Ninh figure
            ev("request.sent_to_ca", "renew", "org", 4),
        ];
        let rows = figures(&bn, &events, StockCount::default());
        let get = |k: &str| rows.iter().find(|r| r.key == k).unwrap().clone();
        assert_eq!((get("new").org, get("new").personal), (Some(3), Some(7)));
        assert_eq!(get("revocation_requests").total, 3);
        assert_eq!(get("renewal_requests").org, Some(4));
        assert_eq!(get("information_changes").total, 0);
        assert_eq!(get("documents_signed").org, None);
    }
}
