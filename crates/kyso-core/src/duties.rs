//! Separation of duties on a certification request (issue 12): the four-eyes rules between
//! filing, confirming (CQQLTT), checking (provincial manager) and issuing (the CA operator),
//! as one pure check over who did the earlier steps.

use crate::profile::Route;
use crate::registry::PersonId;
use crate::request::Action;
use crate::{DomainError, DomainResult};

/// An account that did a step, and the person behind it (compared too: one person's two
/// accounts are one person).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepActor {
    pub login: String,
    pub person: Option<PersonId>,
}

/// Who did a request's earlier steps (from its audit events). Whoever drafted it and whoever
/// submitted it both count as filing it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepActors {
    pub filed_by: Vec<StepActor>,
    pub confirmed_by: Option<StepActor>,
    pub checked_by: Option<StepActor>,
}

/// The facts the check needs besides the history.
#[derive(Debug, Clone, Copy)]
pub struct DutyFacts<'a> {
    pub actor_login: &'a str,
    pub actor_person: Option<PersonId>,
    /// The individual subscriber's person (None for organisations and devices).
    pub subscriber_person: Option<PersonId>,
    pub route: Route,
    /// The managing agency has exactly one CQQLTT officer.
    pub sole_officer: bool,
    /// The profile's `sole_officer_may_confirm_own_filing`.
    pub sole_officer_may_confirm_own_filing: bool,
}

/// Checks that `action` by this actor keeps the duties apart:
/// - nobody confirms, checks or issues a request for their own certificate (filing one's own
///   request stays allowed);
/// - the filer does not confirm, except a sole CQQLTT officer when the request then goes
///   through the provincial manager's check and the profile allows it;
/// - the confirmer neither checks nor issues.
pub fn check_separation(action: Action, steps: &StepActors, f: &DutyFacts<'_>) -> DomainResult<()> {
    let is_me = |a: &StepActor| a.login == f.actor_login || (a.person.is_some() && a.person == f.actor_person);
    let refuse = |m: &str| Err(DomainError::forbidden(format!("phân tách nhiệm vụ: {m}")));
    if matches!(action, Action::Confirm | Action::Check | Action::Complete)
        && f.actor_person.is_some()
        && f.actor_person == f.subscriber_person
    {
        return refuse("không xác nhận, kiểm tra hay cấp chứng thư cho yêu cầu về chứng thư số của chính mình");
    }
    match action {
        Action::Confirm if steps.filed_by.iter().any(is_me) => {
            let allowed = f.sole_officer && f.route == Route::ViaManager && f.sole_officer_may_confirm_own_filing;
            if !allowed {
                return refuse(
                    "người lập yêu cầu không tự xác nhận; chỉ cơ quan có một cán bộ CQQLTT mới được, khi yêu cầu còn qua người quản lý thuê bao cấp tỉnh kiểm tra",
                );
            }
        }
        Action::Check if steps.confirmed_by.as_ref().is_some_and(is_me) => return refuse("người đã xác nhận yêu cầu không tự kiểm tra"),
        Action::Complete if steps.confirmed_by.as_ref().is_some_and(is_me) => {
            return refuse("người đã xác nhận yêu cầu không tự cấp chứng thư số")
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_duties_stay_apart() {
        let who = |l: &str, p: Option<i64>| StepActor { login: l.into(), person: p.map(PersonId) };
        let steps = StepActors { filed_by: vec![who("a", Some(1))], confirmed_by: Some(who("b", Some(2))), checked_by: None };
        let facts = |login: &'static str, person: Option<i64>, route: Route, sole: bool| DutyFacts {
            actor_login: login,
            actor_person: person.map(PersonId),
            subscriber_person: Some(PersonId(9)),
            route,
            sole_officer: sole,
            sole_officer_may_confirm_own_filing: true,
        };
        use Route::*;
        let cases = [
            ("the filer confirms", Action::Confirm, facts("a", None, Direct, false), false),
            ("the filer confirms, sole officer, direct route", Action::Confirm, facts("a", None, Direct, true), false),
            ("the filer confirms, sole officer, via the manager", Action::Confirm, facts("a", None, ViaManager, true), true),
            ("another officer confirms", Action::Confirm, facts("c", None, Direct, false), true),
            ("the confirmer checks", Action::Check, facts("b", None, ViaManager, false), false),
            ("the manager checks", Action::Check, facts("m", None, ViaManager, false), true),
            ("the confirmer issues", Action::Complete, facts("b", None, Direct, false), false),
            ("IT staff issue", Action::Complete, facts("it", None, Direct, false), true),
            ("one confirms their own certificate", Action::Confirm, facts("c", Some(9), Direct, false), false),
            ("one checks their own certificate", Action::Check, facts("m", Some(9), ViaManager, false), false),
            ("one issues their own certificate", Action::Complete, facts("it", Some(9), Direct, false), false),
            ("one files their own request", Action::Submit, facts("a", Some(9), Direct, false), true),
            ("the filer's second account confirms", Action::Confirm, facts("a2", Some(1), Direct, false), false),
            ("the confirmer's second account issues", Action::Complete, facts("b2", Some(2), Direct, false), false),
        ];
        for (what, action, f, ok) in cases {
            assert_eq!(check_separation(action, &steps, &f).is_ok(), ok, "{what}");
        }
    }
}
