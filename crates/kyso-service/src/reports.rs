//! Report figures for a period and an agency subtree.

use crate::*;
use kyso_core::authz::Permission;
use kyso_core::profile::FigureSource;
use kyso_core::report::{figures, Period, Report};
use kyso_core::value::vn_day_start;
use std::collections::BTreeMap;

impl Service {
    /// The province profile's figures for `period` over `agency_code`'s subtree (default:
    /// the whole province, or the actor's own scope when they report for one agency).
    pub fn report(&self, actor: &Principal, period: &str, agency_code: Option<&str>) -> ServiceResult<Report> {
        self.report_with_inputs(actor, period, agency_code, &BTreeMap::new())
    }

    /// As [`Service::report`], with the figures the agency gives itself (by figure key), such
    /// as the number of public services that use digital signatures.
    pub fn report_with_inputs(
        &self,
        actor: &Principal,
        period: &str,
        agency_code: Option<&str>,
        inputs: &BTreeMap<String, u64>,
    ) -> ServiceResult<Report> {
        let period = Period::parse(period)?;
        // The period's dates come from the profile in force at its end (a profile change moves
        // the cut-off): first under the current profile, then under the one of that day.
        let (_, end_now) = period.bounds(&self.profile().reports);
        let p = self.profile_on(end_now);
        for key in inputs.keys() {
            if !p.reports.figures.iter().any(|f| &f.key == key && f.source == FigureSource::Input) {
                let known: Vec<&str> =
                    p.reports.figures.iter().filter(|f| f.source == FigureSource::Input).map(|f| f.key.as_str()).collect();
                return Err(DomainError::invalid(
                    "input",
                    format!("chỉ tiêu '{key}' không phải số liệu do cơ quan tự nhập; các chỉ tiêu nhập được: {}", known.join(", ")),
                )
                .into());
            }
        }
        self.db.read(|tx| {
            let root = tx.root_agency()?.ok_or(ServiceError::NotInitialised)?;
            let agency = match agency_code {
                Some(c) => agency_by_code(tx, c)?,
                None if actor.may(Permission::ViewReports, &root.path) => root,
                // An agency officer's report covers their own scope.
                None => match actor.scopes(Permission::ViewReports).first() {
                    Some(path) => tx.agencies_under(path)?.into_iter().next().ok_or(ServiceError::NotInitialised)?,
                    None => root,
                },
            };
            require(actor, Permission::ViewReports, &agency)?;
            let (first, last) = period.bounds(&p.reports);
            let from = vn_day_start(first);
            let to = vn_day_start(last.succ_opt().expect("date in range"));
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
                from: first,
                to: last,
                agency_code: agency.code.to_string(),
                agency_name: agency.name.clone(),
                due: period.due(p),
                recipient: p.reports.recipient.clone(),
                figures: figures(p, &events, stock, inputs),
            })
        })
    }
}
