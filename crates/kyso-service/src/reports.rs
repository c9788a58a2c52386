//! Report figures for a period and an agency subtree.

use crate::*;
use kyso_core::authz::Permission;
use kyso_core::report::{figures, Period, Report};
use kyso_core::value::vn_day_start;

impl Service {
    /// The province profile's figures for `period` over `agency_code`'s subtree (default:
    /// the whole province).
    pub fn report(&self, actor: &Actor, period: &str, agency_code: Option<&str>) -> ServiceResult<Report> {
        let period = Period::parse(period)?;
        self.db().read(|tx| {
            let agency = match agency_code {
                Some(c) => agency_by_code(tx, c)?,
                None => tx.root_agency()?.ok_or(ServiceError::NotInitialised)?,
            };
            require(actor, Permission::ViewReports, &agency)?;
            let from = vn_day_start(period.start());
            let to = vn_day_start(period.end_exclusive());
            let p = self.profile();
            let mut actions: Vec<String> = p.reports.figures.iter().flat_map(|f| f.actions.iter().cloned()).collect();
            actions.sort();
            actions.dedup();
            let events = tx.figure_counts(from, to, &agency.path, &actions)?;
            // Stocks are taken at the last second of the period.
            let stock = tx.valid_certificate_counts(to - chrono::Duration::seconds(1), &agency.path)?;
            Ok(Report {
                profile: p.key.clone(),
                province: p.province.clone(),
                period: period.code(),
                period_label: period.label_vi(),
                from: period.start(),
                to: period.end_exclusive().pred_opt().expect("date in range"),
                agency_code: agency.code.to_string(),
                agency_name: agency.name.clone(),
                due: period.due(p),
                recipient: p.reports.recipient.clone(),
                figures: figures(p, &events, stock),
            })
        })
    }
}
