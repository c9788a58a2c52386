//! Identity rules as data and pure functions: what a password must be, which roles need a
//! second factor, how long sessions live, and how failed logins slow down (issue 12).

use crate::authz::Role;
use crate::{DomainError, DomainResult};
use chrono::Duration;

/// The shortest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// The longest, so that hashing a submitted password has a bounded cost.
pub const MAX_PASSWORD_CHARS: usize = 256;

/// Checks a new password: 12 to 256 characters, and neither the login nor the citizen ID in it
/// (compared without case).
pub fn check_password(password: &str, login: &str, citizen_id: Option<&str>) -> DomainResult<()> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(DomainError::invalid("password", format!("mật khẩu phải có ít nhất {MIN_PASSWORD_CHARS} ký tự (mật khẩu này có {n})")));
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(DomainError::invalid("password", format!("mật khẩu không được dài quá {MAX_PASSWORD_CHARS} ký tự")));
    }
    let lower = password.to_lowercase();
    if !login.trim().is_empty() && lower.contains(&login.trim().to_lowercase()) {
        return Err(DomainError::invalid("password", "mật khẩu không được chứa tên đăng nhập"));
    }
    if let Some(cid) = citizen_id.map(str::trim).filter(|c| !c.is_empty()) {
        if password.contains(cid) {
            return Err(DomainError::invalid("password", "mật khẩu không được chứa số căn cước công dân"));
        }
    }
    if password.chars().all(|c| password.starts_with(c)) {
        return Err(DomainError::invalid("password", "mật khẩu không được chỉ gồm một ký tự lặp lại"));
    }
    Ok(())
}

/// The roles whose holders must log in with two factors: they can change the registry of the
/// whole province or read all of it.
pub const SECOND_FACTOR_ROLES: &[Role] = &[Role::ProvincialManager, Role::ItStaff, Role::Auditor];

pub fn needs_second_factor(roles: impl IntoIterator<Item = Role>) -> bool {
    roles.into_iter().any(|r| SECOND_FACTOR_ROLES.contains(&r))
}

/// How long sessions and API tokens live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// A session not used for this long ends.
    pub idle: Duration,
    /// A session ends this long after login, used or not.
    pub absolute: Duration,
    /// The longest an API token may be made for.
    pub max_token: Duration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        SessionPolicy { idle: Duration::minutes(30), absolute: Duration::hours(12), max_token: Duration::days(365) }
    }
}

/// Failed logins allowed for one account from one address before each further attempt there
/// must wait.
pub const FREE_FAILURES: i64 = 5;
/// Failed logins allowed for one account from all addresses together: a guesser spread over
/// many addresses is slowed too. Until it is spent, failures from one address slow only that
/// address; past it every address waits.
pub const FREE_FAILURES_PER_ACCOUNT: i64 = 50;
/// Failed logins allowed from one client address before its attempts must wait: more than for
/// an account, because an agency's whole office may reach the server through one NAT address.
pub const FREE_FAILURES_PER_ADDRESS: i64 = 20;
/// The longest wait between attempts.
pub const MAX_LOGIN_DELAY_SECS: i64 = 15 * 60;

/// How long after the last failure the next attempt must wait, given the failures so far:
/// none for the first five, then 2, 4, 8, … seconds up to 15 minutes. A wait, not a lock, so
/// that nobody can lock the manager out by guessing.
pub fn login_delay(failures: i64) -> Duration {
    delay_after(failures, FREE_FAILURES)
}

/// The same for a client address, after [`FREE_FAILURES_PER_ADDRESS`].
pub fn address_delay(failures: i64) -> Duration {
    delay_after(failures, FREE_FAILURES_PER_ADDRESS)
}

/// The wait after `failures` when `free` are allowed: none, then 2 s doubling to 15 minutes.
pub fn delay_after(failures: i64, free: i64) -> Duration {
    if failures < free {
        return Duration::zero();
    }
    let exp = (failures - free + 1).min(20) as u32;
    Duration::seconds((1i64 << exp).min(MAX_LOGIN_DELAY_SECS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_rules() {
        let cases = [
            ("ngắn quá", "nva", None, false),
            ("Mùa thu Hà Nội 2026", "nva", None, true),
            ("nguyenvana-2026-ok", "nguyenvana", None, false),
            ("NguyenVanA-2026-ok", "nguyenvana", None, false),
            ("mk-001234567890-x", "nva", Some("001234567890"), false),
            ("aaaaaaaaaaaaaaaa", "nva", None, false),
            ("mười hai ký tự", "nva", None, true),
        ];
        for (pw, login, cid, ok) in cases {
            assert_eq!(check_password(pw, login, cid).is_ok(), ok, "{pw}");
        }
        assert!(check_password(&"x1".repeat(200), "nva", None).is_err());
    }

    #[test]
    fn logins_slow_down_after_five_failures_up_to_fifteen_minutes() {
        let cases = [(0, 0), (4, 0), (5, 2), (6, 4), (9, 32), (14, 900), (1000, 900)];
        for (n, secs) in cases {
            assert_eq!(login_delay(n).num_seconds(), secs, "{n} failures");
        }
        assert_eq!(address_delay(19).num_seconds(), 0);
        assert_eq!(address_delay(20).num_seconds(), 2);
    }

    #[test]
    fn second_factor_roles() {
        assert!(needs_second_factor([Role::Subscriber, Role::ItStaff]));
        assert!(!needs_second_factor([Role::Subscriber, Role::RecordsClerk, Role::AgencyOfficer]));
    }
}

/// Personal data (Decree 13/2023/NĐ-CP): the citizen ID, date of birth and phone of an
/// official, shown in full only to those who need them for certificate work, masked for
/// everyone else who reads the registry.
pub mod personal {
    use crate::authz::{Actor, Permission};
    use crate::registry::{AgencyId, Person, PersonId, PositionKind};
    use crate::value::Gender;
    use serde::Serialize;

    /// A person as one reader sees them.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize)]
    pub struct PersonRecord {
        pub id: PersonId,
        pub full_name: String,
        pub citizen_id: String,
        pub date_of_birth: String,
        pub gender: Gender,
        pub position: String,
        pub position_kind: PositionKind,
        pub title: String,
        pub agency_id: AgencyId,
        pub email: String,
        pub phone: Option<String>,
        /// True when the citizen ID, date of birth and phone are masked for this reader.
        pub masked: bool,
    }

    /// Whether `actor` sees `person`'s personal data in full: the person themself, and those
    /// who manage persons over the person's agency (the provincial manager, IT staff, the
    /// CQQLTT officer), who need the citizen ID for dossiers and certificate subjects.
    /// Records clerks and auditors read the registry masked.
    pub fn sees_in_full(actor: &Actor, person: &Person, agency_path: &str) -> bool {
        actor.person_id == Some(person.id) || actor.may(Permission::ManagePersons, agency_path)
    }

    /// Keeps the first and the last three characters.
    fn mask(s: &str) -> String {
        let c: Vec<char> = s.chars().collect();
        if c.len() <= 6 {
            return "*".repeat(c.len());
        }
        let keep = 3;
        c[..keep].iter().chain(std::iter::repeat_n(&'*', c.len() - 2 * keep)).chain(&c[c.len() - keep..]).collect()
    }

    pub fn record(person: &Person, full: bool) -> PersonRecord {
        let dob = person.date_of_birth.format("%Y-%m-%d").to_string();
        PersonRecord {
            id: person.id,
            full_name: person.full_name.to_string(),
            citizen_id: if full { person.citizen_id.to_string() } else { mask(person.citizen_id.as_str()) },
            // Masked, only the year stays (enough to tell two namesakes apart).
            date_of_birth: if full { dob } else { format!("{}-**-**", &dob[..4]) },
            gender: person.gender,
            position: person.position.clone(),
            position_kind: person.position_kind,
            title: person.title.clone(),
            agency_id: person.agency_id,
            email: person.email.to_string(),
            phone: person.phone.as_ref().map(|p| if full { p.to_string() } else { mask(p.as_str()) }),
            masked: !full,
        }
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn masks_keep_three_each_side() {
            assert_eq!(super::mask("027080000001"), "027******001");
            assert_eq!(super::mask("0912345678"), "091****678");
            assert_eq!(super::mask("12345"), "*****");
        }
    }
}
