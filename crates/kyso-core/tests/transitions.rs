//! The request state machine, exhaustively: every kind × state × action × role.

use chrono::{TimeZone, Utc};
use kyso_core::authz::{Actor, Grant, Role};
use kyso_core::profile::Route;
use kyso_core::registry::*;
use kyso_core::request::*;
use kyso_core::DomainError;
use proptest::prelude::*;

// The tree: province /1/ → CQQLTT agency /1/2/ → its unit /1/2/3/; another legal entity /1/4/.
const MANAGING: AgencyId = AgencyId(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Manager,
    Staff,
    Officer,
    OtherOfficer,
    Clerk,
    SubscriberSelf,
    Creator,
    Auditor,
}
const EVERYONE: [Who; 8] =
    [Who::Manager, Who::Staff, Who::Officer, Who::OtherOfficer, Who::Clerk, Who::SubscriberSelf, Who::Creator, Who::Auditor];

fn actor(w: Who) -> Actor {
    let g = |role, id: i64, path: &str| Grant { role, agency_id: AgencyId(id), agency_path: path.into() };
    let (uid, person, grants) = match w {
        Who::Manager => (1, None, vec![g(Role::ProvincialManager, 1, "/1/")]),
        Who::Staff => (2, None, vec![g(Role::ItStaff, 1, "/1/")]),
        Who::Officer => (3, Some(30), vec![g(Role::AgencyOfficer, 2, "/1/2/")]),
        Who::OtherOfficer => (4, Some(40), vec![g(Role::AgencyOfficer, 4, "/1/4/")]),
        Who::Clerk => (5, Some(50), vec![g(Role::RecordsClerk, 2, "/1/2/")]),
        Who::SubscriberSelf => (6, Some(60), vec![g(Role::Subscriber, 3, "/1/2/3/")]),
        Who::Creator => (7, None, vec![g(Role::Subscriber, 3, "/1/2/3/")]),
        Who::Auditor => (8, None, vec![g(Role::Auditor, 1, "/1/")]),
    };
    Actor { user_id: UserId(uid), login: format!("{w:?}"), person_id: person.map(PersonId), grants }
}

fn request(kind: RequestKind, state: RequestState) -> Request {
    let t = Utc.with_ymd_and_hms(2026, 3, 2, 2, 0, 0).unwrap();
    Request {
        id: RequestId(1),
        kind,
        state,
        subscriber_id: SubscriberId(1),
        certificate_id: None,
        device_id: None,
        managing_agency_id: MANAGING,
        details: RequestDetails::New { validity_months: 12 },
        created_by: UserId(7),
        created_at: t,
        updated_at: t,
        batch_id: None,
        rejection_reason: None,
    }
}

fn subscriber_kind(kind: RequestKind) -> SubscriberKind {
    match kind {
        RequestKind::NewOrganisation => SubscriberKind::Organisation,
        RequestKind::NewDevice => SubscriberKind::Device,
        _ => SubscriberKind::Individual,
    }
}

/// The expected table: which roles may take which action from which state, and the state
/// reached. Everything not listed must be refused.
fn allowed(state: RequestState, action: Action, route: Route, sub: SubscriberKind) -> (Vec<Who>, Option<RequestState>) {
    use Action::*;
    use RequestState::*;
    use Who::*;
    let individual = sub == SubscriberKind::Individual;
    let direct = route == Route::Direct;
    // Only the subscriber for themself, the CQQLTT officer and whoever filed it (issue 10: not
    // the records clerk, not a colleague).
    let mut submitters = vec![Officer, Creator];
    if individual {
        submitters.push(SubscriberSelf);
    }
    let mut cancellers = vec![Officer, Creator];
    if individual {
        cancellers.push(SubscriberSelf);
    }
    match (state, action) {
        (Draft, Submit) => (submitters, Some(Submitted)),
        (Submitted, Confirm) => (vec![Officer], Some(Confirmed)),
        (Confirmed, Check) if !direct => (vec![Manager], Some(Checked)),
        (Confirmed, SendToCa) if direct => (vec![Officer], Some(SentToCa)),
        (Checked, SendToCa) => (vec![Manager, Staff], Some(SentToCa)),
        (SentToCa, Complete) => (if direct { vec![Manager, Staff, Officer] } else { vec![Manager, Staff] }, Some(Completed)),
        (Submitted, Reject) => (vec![Officer], Some(Rejected)),
        (Confirmed | Checked, Reject) => (if direct { vec![Manager, Officer] } else { vec![Manager] }, Some(Rejected)),
        (SentToCa, Reject) => (if direct { vec![Manager, Staff, Officer] } else { vec![Manager, Staff] }, Some(Rejected)),
        (Draft | Submitted, Cancel) => (cancellers, Some(Cancelled)),
        _ => (vec![], None),
    }
}

#[test]
fn every_kind_state_action_and_role() {
    let mut checked = 0;
    for route in [Route::Direct, Route::ViaManager] {
        for &kind in RequestKind::ALL {
            let sub = subscriber_kind(kind);
            for &state in RequestState::ALL {
                for &action in Action::ALL {
                    let (who, to) = allowed(state, action, route, sub);
                    for w in EVERYONE {
                        let q = request(kind, state);
                        let parties = Parties {
                            subscriber_agency_path: "/1/2/3/",
                            subscriber_person: Some(PersonId(60)).filter(|_| sub == SubscriberKind::Individual),
                            subscriber_kind: sub,
                            route,
                        };
                        let got = next_state(&q, action, &actor(w), &parties);
                        match (who.contains(&w), to, &got) {
                            (true, Some(to), Ok(s)) => assert_eq!(*s, to),
                            // A step nobody may take from this state is a state error…
                            (false, None, Err(DomainError::Transition { .. })) => {}
                            // …and a step others may take is a permission error.
                            (false, Some(_), Err(DomainError::Forbidden { .. })) => {}
                            _ => panic!(
                                "{route:?} {kind:?} {state:?} {action:?} by {w:?}: got {got:?}, expected {:?}",
                                who.contains(&w).then_some(to)
                            ),
                        }
                        checked += 1;
                    }
                }
            }
        }
    }
    assert_eq!(checked, 2 * 7 * 8 * 7 * 8);
}

#[test]
fn final_states_accept_nothing() {
    for s in [RequestState::Completed, RequestState::Rejected, RequestState::Cancelled] {
        for &a in Action::ALL {
            let parties = Parties {
                subscriber_agency_path: "/1/2/3/",
                subscriber_person: None,
                subscriber_kind: SubscriberKind::Organisation,
                route: Route::Direct,
            };
            let e = next_state(&request(RequestKind::Renew, s), a, &actor(Who::Manager), &parties).unwrap_err();
            assert!(matches!(e, DomainError::Transition { .. }), "{s:?} {a:?}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// No sequence of actions by anyone completes a request that the CQQLTT never confirmed.
    #[test]
    fn nothing_completes_without_the_cqqltt(
        steps in prop::collection::vec((0usize..8, 0usize..7), 0..40),
        kind_i in 0usize..7,
        via_manager in any::<bool>(),
    ) {
        let kind = RequestKind::ALL[kind_i];
        let sub = subscriber_kind(kind);
        let route = if via_manager { Route::ViaManager } else { Route::Direct };
        let parties = Parties { subscriber_agency_path: "/1/2/3/", subscriber_person: Some(PersonId(60)).filter(|_| sub == SubscriberKind::Individual), subscriber_kind: sub, route };
        let mut q = request(kind, RequestState::Draft);
        let mut confirmed_by_cqqltt = false;
        for (w, a) in steps {
            let who = actor(EVERYONE[w]);
            let action = Action::ALL[a];
            if let Ok(to) = next_state(&q, action, &who, &parties) {
                if action == Action::Confirm {
                    prop_assert!(who.has_role_at(Role::AgencyOfficer, MANAGING));
                    confirmed_by_cqqltt = true;
                }
                q.state = to;
            }
            if q.state == RequestState::Completed {
                prop_assert!(confirmed_by_cqqltt);
            }
        }
    }
}
