//! What happens to an official during their service (retirement, resignation, death, a new
//! position, a move to another body) and the certificate work each calls for (legal.md R5.4,
//! NĐ 68 Art. 15 and 17): a change of information, or a revocation with the device returned.

use crate::registry::{coded_enum, PositionKind};
use crate::request::{RequestDetails, RequestKind};
use crate::rules::{ChangeField, RevocationReason};

coded_enum!(
    PersonEvent {
        Retired = "retired" / "Nghỉ hưu",
        Resigned = "resigned" / "Thôi việc",
        Deceased = "deceased" / "Từ trần",
        PositionChanged = "position_changed" / "Thay đổi vị trí công tác",
        Moved = "moved" / "Chuyển cơ quan công tác",
    }
);

impl PersonEvent {
    /// The official leaves the service: their accounts are disabled.
    pub fn ends_service(self) -> bool {
        matches!(self, PersonEvent::Retired | PersonEvent::Resigned | PersonEvent::Deceased)
    }
}

/// The facts of an event that decide the request.
#[derive(Debug, Clone, Copy)]
pub struct EventFacts<'a> {
    pub event: PersonEvent,
    /// For a new position: its kind and the title the certificate would carry.
    pub new_position_kind: Option<PositionKind>,
    pub new_title: Option<&'a str>,
    /// For a move: the new body's code.
    pub new_agency_code: Option<&'a str>,
    /// The province's list of positions that may hold a personal certificate (empty: none).
    pub allowed_positions: &'a [PositionKind],
}

/// The request that one valid personal certificate needs after the event, if any.
pub fn proposed_request(f: &EventFacts<'_>) -> Option<(RequestKind, RequestDetails)> {
    let revoke = |reason| Some((RequestKind::Revoke, RequestDetails::Revoke { reason, device_return: true, lost_device_record: None }));
    let change =
        |field, value: &str| Some((RequestKind::ChangeInfo, RequestDetails::ChangeInfo { changes: vec![(field, value.to_string())] }));
    match f.event {
        PersonEvent::Retired | PersonEvent::Resigned => revoke(RevocationReason::RetiredOrLeft),
        PersonEvent::Deceased => revoke(RevocationReason::Deceased),
        PersonEvent::Moved => change(ChangeField::Workplace, f.new_agency_code?),
        PersonEvent::PositionChanged => {
            let fits = f.allowed_positions.is_empty() || f.new_position_kind.is_some_and(|k| f.allowed_positions.contains(&k));
            if !fits {
                return revoke(RevocationReason::PositionChanged);
            }
            change(ChangeField::Title, f.new_title.filter(|t| !t.trim().is_empty())?)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_event_proposes_what_the_law_asks() {
        let facts = |event, kind, title, agency, allowed: &'static [PositionKind]| EventFacts {
            event,
            new_position_kind: kind,
            new_title: title,
            new_agency_code: agency,
            allowed_positions: allowed,
        };
        let revoke = |r| Some((RequestKind::Revoke, RequestDetails::Revoke { reason: r, device_return: true, lost_device_record: None }));
        let change = |f, v: &str| Some((RequestKind::ChangeInfo, RequestDetails::ChangeInfo { changes: vec![(f, v.to_string())] }));
        static ALLOWED: [PositionKind; 2] = [PositionKind::Leader, PositionKind::DeputyLeader];
        let cases = [
            (facts(PersonEvent::Retired, None, None, None, &[]), revoke(RevocationReason::RetiredOrLeft)),
            (facts(PersonEvent::Resigned, None, None, None, &[]), revoke(RevocationReason::RetiredOrLeft)),
            (facts(PersonEvent::Deceased, None, None, None, &[]), revoke(RevocationReason::Deceased)),
            (facts(PersonEvent::Moved, None, None, Some("SO-B"), &[]), change(ChangeField::Workplace, "SO-B")),
            (facts(PersonEvent::Moved, None, None, None, &[]), None),
            (
                facts(PersonEvent::PositionChanged, Some(PositionKind::Specialist), Some("Chuyên viên"), None, &ALLOWED),
                revoke(RevocationReason::PositionChanged),
            ),
            (
                facts(PersonEvent::PositionChanged, Some(PositionKind::DeputyLeader), Some("Phó Giám đốc"), None, &ALLOWED),
                change(ChangeField::Title, "Phó Giám đốc"),
            ),
            (facts(PersonEvent::PositionChanged, Some(PositionKind::Specialist), None, None, &[]), None),
        ];
        for (f, want) in cases {
            assert_eq!(proposed_request(&f), want, "{:?}", f.event);
        }
        assert!(PersonEvent::Deceased.ends_service() && !PersonEvent::Moved.ends_service());
    }
}
