//! Report figures for a period and an agency subtree, computed from counts of audit events
//! (flows) and of certificates valid at the end of the period (stocks), as the province
//! profile defines them.

use crate::error::{DomainError, DomainResult};
use crate::profile::{FigureSource, ProvinceProfile, ReportRules};
use chrono::{Datelike, Months, NaiveDate};
use serde::Serialize;
use std::collections::BTreeMap;

/// A reporting period: a half-year ("2026-H1"), a year ("2026"), a quarter ("2026-Q1"), or
/// the dates of an ad-hoc report ("2026-01-05..2026-02-20", báo cáo đột xuất). Named periods
/// take their dates from the profile's data cut-off ([`ReportRules::year_end`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Period {
    Half { year: i32, half: u8 },
    Year { year: i32 },
    Quarter { year: i32, quarter: u8 },
    Range { from: NaiveDate, to: NaiveDate },
}

impl Period {
    pub fn parse(s: &str) -> DomainResult<Self> {
        let t = s.trim().to_uppercase();
        let bad = || {
            DomainError::invalid(
                "period",
                format!("kỳ báo cáo '{s}' không hợp lệ: viết 2026-H1, 2026-H2, 2026-Q1…Q4, 2026, hoặc từ ngày..đến ngày (2026-01-05..2026-02-20)"),
            )
        };
        let year_of = |y: &str| y.parse::<i32>().ok().filter(|y| (2000..=2100).contains(y));
        if let Some((a, b)) = t.split_once("..") {
            let day = |x: &str| NaiveDate::parse_from_str(x.trim(), "%Y-%m-%d").ok().filter(|d| (2000..=2100).contains(&d.year()));
            let (from, to) = (day(a).ok_or_else(bad)?, day(b).ok_or_else(bad)?);
            if from > to || (to - from).num_days() > 5 * 366 {
                return Err(DomainError::invalid(
                    "period",
                    format!("kỳ báo cáo từ {from} đến {to}: ngày đầu phải trước ngày cuối, tối đa 5 năm"),
                ));
            }
            return Ok(Period::Range { from, to });
        }
        if let Some((y, h)) = t.split_once("-H") {
            let year = year_of(y).ok_or_else(bad)?;
            return match h {
                "1" => Ok(Period::Half { year, half: 1 }),
                "2" => Ok(Period::Half { year, half: 2 }),
                _ => Err(bad()),
            };
        }
        if let Some((y, q)) = t.split_once("-Q") {
            let year = year_of(y).ok_or_else(bad)?;
            let quarter = q.parse::<u8>().ok().filter(|q| (1..=4).contains(q)).ok_or_else(bad)?;
            return Ok(Period::Quarter { year, quarter });
        }
        Ok(Period::Year { year: year_of(&t).ok_or_else(bad)? })
    }

    /// The first and the last day the period covers, under the profile's cut-off.
    pub fn bounds(self, rules: &ReportRules) -> (NaiveDate, NaiveDate) {
        // A cut-off that is not a day of the year (a hand-edited profile) falls back to NĐ 09's.
        let (m, d) = rules
            .year_end
            .split_once('-')
            .and_then(|(m, d)| Some((m.parse().ok()?, d.parse().ok()?)))
            .filter(|(m, d): &(u32, u32)| NaiveDate::from_ymd_opt(2001, *m, (*d).min(28)).is_some() && (1..=31).contains(d))
            .unwrap_or((12, 14));
        let year_end = |y: i32| NaiveDate::from_ymd_opt(y, m, d).or_else(|| NaiveDate::from_ymd_opt(y, m, 28)).expect("valid cut-off");
        // The last day of the block ending `months` before the year's cut-off.
        let end_before = |y: i32, months: u32| year_end(y).checked_sub_months(Months::new(months)).expect("date in range");
        let day_after = |x: NaiveDate| x.succ_opt().expect("date in range");
        match self {
            Period::Range { from, to } => (from, to),
            Period::Year { year } => (day_after(year_end(year - 1)), year_end(year)),
            Period::Half { year, half: 1 } => (day_after(year_end(year - 1)), end_before(year, 6)),
            Period::Half { year, .. } => (day_after(end_before(year, 6)), year_end(year)),
            Period::Quarter { year, quarter } => {
                let back = 3 * u32::from(4 - quarter);
                let start = if quarter == 1 { year_end(year - 1) } else { end_before(year, back + 3) };
                (day_after(start), end_before(year, back))
            }
        }
    }

    pub fn code(self) -> String {
        match self {
            Period::Half { year, half } => format!("{year}-H{half}"),
            Period::Year { year } => format!("{year}"),
            Period::Quarter { year, quarter } => format!("{year}-Q{quarter}"),
            Period::Range { from, to } => format!("{from}..{to}"),
        }
    }
    pub fn label_vi(self) -> String {
        match self {
            Period::Half { year, half: 1 } => format!("06 tháng đầu năm {year}"),
            Period::Half { year, .. } => format!("06 tháng cuối năm {year}"),
            Period::Year { year } => format!("năm {year}"),
            Period::Quarter { year, quarter } => format!("quý {} năm {year}", ["I", "II", "III", "IV"][usize::from(quarter - 1)]),
            Period::Range { from, to } => format!("đột xuất, từ {} đến {}", from.format("%d/%m/%Y"), to.format("%d/%m/%Y")),
        }
    }
    /// The day the report is due under the profile, if the profile sets one for this kind.
    pub fn due(self, profile: &ProvinceProfile) -> Option<NaiveDate> {
        let (year, mmdd) = match self {
            Period::Half { year, half: 1 } => (year, profile.reports.half_year_due.as_deref()?),
            Period::Half { year, .. } | Period::Year { year } => (year, profile.reports.annual_due.as_str()),
            Period::Quarter { .. } | Period::Range { .. } => return None,
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
    /// A figure the reporting agency must give and has not given (its total reads 0).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub missing_input: bool,
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

/// Turns raw counts, and the figures the agency gives (`inputs`, by key), into the
/// profile's figures.
pub fn figures(profile: &ProvinceProfile, events: &[EventCount], stock: StockCount, inputs: &BTreeMap<String, u64>) -> Vec<FigureRow> {
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
                FigureSource::Input => (inputs.get(&f.key).copied().unwrap_or(0), 0),
            };
            let missing_input = f.source == FigureSource::Input && !inputs.contains_key(&f.key);
            let (org, personal) = match f.class.as_deref() {
                Some("org") => (org, 0),
                Some("personal") => (0, personal),
                _ => (org, personal),
            };
            let split = f.split && f.class.is_none() && f.source != FigureSource::Input;
            FigureRow {
                key: f.key.clone(),
                label: f.label.clone(),
                org: split.then_some(org),
                personal: split.then_some(personal),
                total: org + personal,
                missing_input,
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
    fn periods_follow_the_profile_cut_off() {
        let mut rules = ProvinceProfile::builtin("ha-tinh-2020").unwrap().reports;
        // (cut-off, period, first day, last day)
        let cases = [
            ("12-14", "2026-H1", "2025-12-15", "2026-06-14"),
            ("12-14", "2026-h2", "2026-06-15", "2026-12-14"),
            ("12-14", "2026", "2025-12-15", "2026-12-14"),
            ("12-14", "2026-Q1", "2025-12-15", "2026-03-14"),
            ("12-14", "2026-Q2", "2026-03-15", "2026-06-14"),
            ("12-14", "2026-Q4", "2026-09-15", "2026-12-14"),
            ("12-31", "2026-H1", "2026-01-01", "2026-06-30"),
            ("12-31", "2026-Q3", "2026-07-01", "2026-09-30"),
            ("12-31", "2026", "2026-01-01", "2026-12-31"),
            ("10-14", "2026-H1", "2025-10-15", "2026-04-14"),
            ("12-14", "2026-01-05..2026-02-20", "2026-01-05", "2026-02-20"),
            // A cut-off that is no day of the year falls back to NĐ 09's.
            ("13-40", "2026", "2025-12-15", "2026-12-14"),
            ("02-30", "2026", "2025-03-01", "2026-02-28"),
        ];
        for (cut, p, a, b) in cases {
            rules.year_end = cut.into();
            let (from, to) = Period::parse(p).unwrap().bounds(&rules);
            assert_eq!((from.to_string(), to.to_string()), (a.to_string(), b.to_string()), "{cut} {p}");
        }
        for bad in ["2026-H3", "26", "H1", "2026-1", "", "2026-Q5", "2026-03-01..2026-02-01", "2026-01-01..x"] {
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
        let rows = figures(&bn, &events, StockCount::default(), &BTreeMap::new());
        let get = |k: &str| rows.iter().find(|r| r.key == k).unwrap().clone();
        assert_eq!((get("new").org, get("new").personal), (Some(3), Some(7)));
        assert_eq!(get("revocation_requests").total, 3);
        assert_eq!(get("renewal_requests").org, Some(4));
        assert_eq!(get("information_changes").total, 0);
        assert_eq!(get("documents_signed").org, None);
        // The public services figure is given by the agency; until it is, the report says so.
        assert!(get("public_services").missing_input);
        let given = figures(&bn, &events, StockCount::default(), &[("public_services".to_string(), 12)].into());
        let row = given.iter().find(|r| r.key == "public_services").unwrap();
        assert_eq!((row.total, row.missing_input), (12, false));
    }
}
