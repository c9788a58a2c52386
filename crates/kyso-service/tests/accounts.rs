//! Accounts, logins, sessions and API tokens through the service, on SQLite and PostgreSQL.

mod support;

use chrono::Duration;
use kyso_core::authz::{AuthMethod, Role};
use kyso_service::*;
use support::*;

fn each(f: impl Fn(&World)) {
    for b in backends() {
        let w = world(b, "bac-ninh-2023");
        f(&w);
        w.audit_ok();
    }
}

fn client() -> ClientInfo {
    ClientInfo { address: "203.0.113.7".into(), user_agent: Some("test".into()) }
}

fn auth_code<T: std::fmt::Debug>(r: ServiceResult<T>) -> String {
    match r {
        Err(e) => e.code().to_string(),
        Ok(v) => panic!("expected a refusal, got {v:?}"),
    }
}

const PW: &str = "Mật khẩu tạm thời 2026";
const NEW_PW: &str = "Hoa sen nở giữa hồ 2026";

fn login<'a>(
    w: &World,
    login: &'a str,
    password: &'a str,
    second: Option<&'a str>,
    c: &'a ClientInfo,
    at: chrono::DateTime<chrono::Utc>,
) -> ServiceResult<LoginOutcome> {
    w.svc.login_with_password(&PasswordLogin { login, password, second_factor: second, client: c }, at)
}

/// A subscriber with a lasting password logs in with it alone; the session acts as them.
#[test]
fn a_password_login_opens_a_session_that_acts_as_the_account() {
    each(|w| {
        let op = w.actor("admin");
        w.svc.set_password(&op, "self", PW, false, t0()).unwrap();
        let c = client();
        let out = login(w, "self", PW, None, &c, t0()).unwrap();
        assert_eq!(out.pending, None);
        let s = w.svc.session(&out.session.id, t0() + Duration::minutes(1)).unwrap();
        let p = s.principal().unwrap();
        assert_eq!(p.login, "self");
        assert_eq!(p.method(), AuthMethod::Password);
        assert_eq!(w.svc.me(p, t0()).unwrap().login, "self");
        // Idle for 30 minutes ends it; so does logout.
        assert_eq!(auth_code(w.svc.session(&out.session.id, t0() + Duration::minutes(32))), "session_ended");
        let out2 = login(w, "self", PW, None, &c, t0() + Duration::hours(1)).unwrap();
        assert_ne!(out2.session.id, out.session.id, "a new id at every login");
        let s2 = w.svc.session(&out2.session.id, t0() + Duration::hours(1)).unwrap();
        w.svc.logout(&s2, t0() + Duration::hours(1)).unwrap();
        assert_eq!(auth_code(w.svc.session(&out2.session.id, t0() + Duration::hours(1))), "session_ended");
    });
}

#[test]
fn wrong_passwords_and_unknown_logins_look_alike_and_slow_down_after_five() {
    each(|w| {
        let op = w.actor("admin");
        w.svc.set_password(&op, "self", PW, false, t0()).unwrap();
        let c = client();
        let unknown = auth_code(login(w, "khong-co", PW, None, &c, t0()));
        let wrong = auth_code(login(w, "self", "sai mật khẩu rồi nhé", None, &c, t0()));
        assert_eq!(unknown, "bad_credentials");
        assert_eq!(wrong, "bad_credentials");
        let other = ClientInfo { address: "198.51.100.9".into(), user_agent: None };
        for _ in 0..5 {
            assert_eq!(auth_code(login(w, "self", "sai mật khẩu rồi nhé", None, &other, t0())), "bad_credentials");
        }
        // Five failures for the account from that address: the next attempt there waits, even
        // with the right password, and is not counted.
        assert_eq!(auth_code(login(w, "self", PW, None, &other, t0())), "throttled");
        assert_eq!(auth_code(login(w, "self", PW, None, &other, t0() + Duration::seconds(1))), "throttled");
        // The owner elsewhere is not kept waiting by it (regression: a victim locked out).
        let owner = ClientInfo { address: "192.0.2.1".into(), user_agent: None };
        assert!(login(w, "self", PW, None, &owner, t0()).is_ok());
        // After the delay the right password works there too and clears the count.
        assert!(login(w, "self", PW, None, &other, t0() + Duration::seconds(3)).is_ok());
        assert!(login(w, "self", PW, None, &other, t0() + Duration::seconds(3)).is_ok());
    });
}

/// Regression (review of issue 12): a success did not clear the address count for others, so
/// a password sprayer logging into their own account now and then was never slowed.
#[test]
fn a_success_does_not_clear_the_address_count() {
    each(|w| {
        let op = w.actor("admin");
        for login in ["self", "cb.a"] {
            w.svc.set_password(&op, login, PW, false, t0()).unwrap();
        }
        let c = client();
        let mut refused = false;
        for i in 0..30 {
            // A guess at a different account each time (spraying, so no account's own count
            // grows), then the sprayer's own successful login.
            let r = login(w, &format!("nv{i}"), "đoán mật khẩu phổ biến", None, &c, t0());
            if auth_code(r) == "throttled" {
                refused = true;
                assert!(i >= 20, "slowed after {i} failures");
                break;
            }
            match login(w, "self", PW, None, &c, t0()) {
                Ok(_) => {}
                Err(e) => {
                    assert_eq!((e.code(), i >= 19), ("throttled", true), "after {i} failures");
                    refused = true;
                    break;
                }
            }
        }
        assert!(refused, "the address was never slowed");
    });
}

/// Regression (CI, a loaded machine): each HTTP login reads the clock before it waits for the
/// database, so attempts reach the counter out of order. A failure whose count calls for no
/// wait must not make an attempt whose clock was read a moment earlier look throttled.
#[test]
fn attempts_counted_out_of_clock_order_are_not_throttled() {
    each(|w| {
        let op = w.actor("admin");
        w.svc.set_password(&op, "self", PW, false, t0()).unwrap();
        let c = client();
        let later = t0() + Duration::milliseconds(1500);
        let cases: &[(&str, &str, chrono::DateTime<chrono::Utc>, &str)] = &[
            ("a failure read late", "sai mật khẩu rồi nhé", later, "bad_credentials"),
            ("a success read late", PW, later, "ok"),
            ("a success read earlier", PW, t0(), "ok"),
            ("a failure read earlier", "sai mật khẩu rồi nhé", t0(), "bad_credentials"),
            ("a success read earliest", PW, t0() - Duration::milliseconds(900), "ok"),
        ];
        for (what, password, at, want) in cases {
            let got = match login(w, "self", password, None, &c, *at) {
                Ok(_) => "ok".to_string(),
                Err(e) => e.code().to_string(),
            };
            assert_eq!(&got, want, "{what}");
        }
    });
}

#[test]
fn the_manager_must_change_a_temporary_password_then_enrol_totp_then_use_it() {
    each(|w| {
        let op = w.actor("admin");
        w.svc.set_password(&op, "qltb", PW, true, t0()).unwrap();
        let c = client();
        let out = login(w, "qltb", PW, None, &c, t0()).unwrap();
        assert_eq!(out.pending, Some(Pending::ChangePassword));
        assert!(out.principal.is_none());
        let s = w.svc.session(&out.session.id, t0()).unwrap();
        assert_eq!(auth_code(s.principal()), "password_change_required");
        // The new password is checked against the rules.
        for (bad, code) in [("ngắn", "invalid"), ("qltb-mat-khau-dai", "invalid")] {
            assert_eq!(auth_code(w.svc.change_password(&s, PW, bad, t0())), code, "{bad}");
        }
        assert_eq!(auth_code(w.svc.change_password(&s, "không phải mật khẩu cũ", NEW_PW, t0())), "invalid");
        w.svc.change_password(&s, PW, NEW_PW, t0()).unwrap();
        let s = w.svc.session(&out.session.id, t0()).unwrap();
        assert_eq!(s.pending, Some(Pending::EnrolTotp));
        assert_eq!(auth_code(s.principal()), "totp_enrolment_required");
        let e = w.svc.begin_totp(&s, t0()).unwrap();
        assert!(e.uri.starts_with("otpauth://totp/kyso:qltb?secret="));
        assert_eq!(auth_code(w.svc.confirm_totp(&s, "000000", t0())), "bad_second_factor");
        let codes = w.svc.confirm_totp(&s, &totp_code(&e.secret_base32, t0()).unwrap(), t0()).unwrap();
        assert_eq!(codes.len(), 10);
        let s = w.svc.session(&out.session.id, t0()).unwrap();
        assert_eq!(s.principal().unwrap().login, "qltb");

        // Later logins need the code; the same code twice is a replay.
        let t1 = t0() + Duration::minutes(5);
        assert_eq!(auth_code(login(w, "qltb", NEW_PW, None, &c, t1)), "second_factor_required");
        let code = totp_code(&e.secret_base32, t1).unwrap();
        let ok = login(w, "qltb", NEW_PW, Some(&code), &c, t1).unwrap();
        assert_eq!(ok.principal.unwrap().method(), AuthMethod::PasswordTotp);
        assert_eq!(auth_code(login(w, "qltb", NEW_PW, Some(&code), &c, t1)), "bad_second_factor");
        // A recovery code works once.
        let rc = login(w, "qltb", NEW_PW, Some(&codes[0]), &c, t1).unwrap();
        assert_eq!(rc.principal.unwrap().method(), AuthMethod::RecoveryCode);
        assert_eq!(auth_code(login(w, "qltb", NEW_PW, Some(&codes[0]), &c, t1)), "bad_second_factor");
    });
}

#[test]
fn who_may_reset_credentials_and_grant_the_manager_role() {
    each(|w| {
        let op = w.actor("admin");
        for login in ["cntt", "qltb", "self", "cb.a"] {
            w.svc.set_password(&op, login, PW, false, t0()).unwrap();
        }
        // IT staff as a logged-in user (not the local operator): through a real session.
        let cntt = {
            let s = login(w, "cntt", PW, None, &client(), t0()).unwrap();
            assert_eq!(s.pending, Some(Pending::EnrolTotp));
            let s = w.svc.session(&s.session.id, t0()).unwrap();
            let e = w.svc.begin_totp(&s, t0()).unwrap();
            w.svc.confirm_totp(&s, &totp_code(&e.secret_base32, t0()).unwrap(), t0()).unwrap();
            login(
                w,
                "cntt",
                PW,
                Some(&totp_code(&e.secret_base32, t0() + Duration::minutes(1)).unwrap()),
                &client(),
                t0() + Duration::minutes(1),
            )
            .unwrap()
            .principal
            .unwrap()
        };
        let t = t0() + Duration::minutes(2);
        let cases: Vec<(&str, ServiceResult<()>, &str)> = vec![
            ("IT staff resets an official's password", w.svc.set_password(&cntt, "self", NEW_PW, true, t), "ok"),
            ("IT staff resets the manager's password", w.svc.set_password(&cntt, "qltb", NEW_PW, true, t), "forbidden"),
            ("IT staff sets a lasting password", w.svc.set_password(&cntt, "cb.a", NEW_PW, false, t), "forbidden"),
            ("IT staff resets their own", w.svc.set_password(&cntt, "cntt", NEW_PW, true, t), "forbidden"),
            ("IT staff grants the manager role", w.svc.grant(&cntt, "cb.a", "provincial_manager", "UBND-T", t), "forbidden"),
            ("IT staff grants themself a role", w.svc.grant(&cntt, "cntt", "auditor", "UBND-T", t), "forbidden"),
            ("IT staff grants an auditor", w.svc.grant(&cntt, "cb.a", "auditor", "UBND-T", t), "ok"),
            ("the local operator makes a manager", w.svc.grant(&op, "cb.b", "provincial_manager", "UBND-T", t), "ok"),
        ];
        for (what, r, want) in cases {
            let got = match r {
                Ok(()) => "ok".to_string(),
                Err(e) => e.code().to_string(),
            };
            assert_eq!(got, want, "{what}");
        }
    });
}

#[test]
fn api_tokens_carry_only_their_roles_and_stop_when_revoked() {
    each(|w| {
        let op = w.actor("admin");
        w.svc.grant(&op, "cb.a", "records_clerk", "SO-A", t0()).unwrap();
        w.svc.set_password(&op, "cb.a", PW, false, t0()).unwrap();
        let p = login(w, "cb.a", PW, None, &client(), t0()).unwrap().principal.unwrap();
        let t = t0() + Duration::minutes(1);
        assert_eq!(auth_code(w.svc.create_api_token(&p, "x", &[Role::ItStaff], t + Duration::days(1), t)), "forbidden");
        assert_eq!(auth_code(w.svc.create_api_token(&p, "x", &[Role::RecordsClerk], t + Duration::days(400), t)), "invalid");
        let tok = w.svc.create_api_token(&p, "kịch bản văn thư", &[Role::RecordsClerk], t + Duration::days(30), t).unwrap();
        assert!(tok.secret.starts_with(&format!("kyso_{}_", tok.id)));
        let tp = w.svc.api_token_principal(&tok.secret, t).unwrap();
        assert_eq!(tp.method(), AuthMethod::ApiToken);
        let carried: Vec<Role> = tp.grants.iter().map(|g| g.role).collect();
        assert_eq!(carried, vec![Role::RecordsClerk]);
        // What the role allows works through the token.
        assert!(w.svc.list_documents(&tp, Some("SO-A"), 10).is_ok());
        // The officer's own role is not in the token: reading persons is refused through it.
        assert!(w.svc.list_persons(&p, Some("SO-A"), 10, t).is_ok());
        assert_eq!(
            auth_code(w.svc.add_person(&tp, &person("Người Mới", "027099000099", "1999-01-01", "nam", "specialist", "SO-A"), t)),
            "forbidden"
        );
        assert_eq!(auth_code(w.svc.create_api_token(&tp, "y", &[Role::RecordsClerk], t + Duration::days(1), t)), "forbidden");
        assert_eq!(auth_code(w.svc.api_token_principal("kyso_1_khong-phai", t)), "bad_token");
        w.svc.revoke_api_token(&p, tok.id, t).unwrap();
        assert_eq!(auth_code(w.svc.api_token_principal(&tok.secret, t)), "bad_token");
        assert!(w.svc.api_tokens(&p).unwrap()[0].revoked);
    });
}

#[test]
fn disabling_an_account_and_logging_out_everywhere_end_its_sessions() {
    each(|w| {
        let op = w.actor("admin");
        w.svc.set_password(&op, "self", PW, false, t0()).unwrap();
        let a = login(w, "self", PW, None, &client(), t0()).unwrap();
        let b = login(w, "self", PW, None, &client(), t0()).unwrap();
        let n = w.svc.logout_everywhere(a.principal.as_ref().unwrap(), t0()).unwrap();
        assert_eq!(n, 2);
        assert_eq!(auth_code(w.svc.session(&b.session.id, t0())), "session_ended");
        let c = login(w, "self", PW, None, &client(), t0()).unwrap();
        w.svc.disable_user(&op, "self", t0()).unwrap();
        assert_eq!(auth_code(w.svc.session(&c.session.id, t0())), "session_ended");
        assert_eq!(auth_code(login(w, "self", PW, None, &client(), t0())), "bad_credentials");
    });
}

fn new_request(sub: &kyso_core::registry::Subscriber) -> NewRequestInput {
    NewRequestInput {
        kind: kyso_core::request::RequestKind::new_for(sub.kind),
        subscriber: sub.id,
        certificate_serial: None,
        device_serial: None,
        details: kyso_core::request::RequestDetails::New { validity_months: 36 },
    }
}

/// Separation of duties on requests through the service: the filer does not confirm, nobody
/// confirms for their own certificate, and the confirmer does not issue (the check step's
/// rules are in `kyso_core::duties`' table test).
#[test]
fn one_person_does_not_file_confirm_and_issue_the_same_request() {
    use kyso_core::request::Action;
    each(|w| {
        let op = w.actor("admin");
        // cb.a2 also holds IT staff's role, and the leader ("self") is made an officer too,
        // so that only the duty rules stand between them and the step.
        w.svc.grant(&op, "cb.a2", "it_staff", "UBND-T", t0()).unwrap();
        w.svc.grant(&op, "self", "agency_officer", "SO-A", t0()).unwrap();
        let (a, a2, me) = (w.actor("cb.a"), w.actor("cb.a2"), w.actor("self"));
        let q = w.svc.create_request(&a, &new_request(&w.organisation), t0()).unwrap();
        w.svc.transition(&a, q.id, Action::Submit, None, t0()).unwrap();
        let own = w.svc.create_request(&me, &new_request(&w.individual), t0()).unwrap();
        w.svc.transition(&me, own.id, Action::Submit, None, t0()).unwrap();
        let code = |r: ServiceResult<kyso_core::request::Request>| r.map(|_| "ok".to_string()).unwrap_or_else(|e| e.code().to_string());
        let issued = CompletionInput::Issued {
            serial: "SOD1".into(),
            subject: "CN=Sở A,C=VN".into(),
            issuer: "CN=Test CA".into(),
            not_before: t0(),
            not_after: t0() + Duration::days(700),
            device_serial: None,
        };
        let cases: Vec<(&str, String, &str)> = vec![
            ("the filer confirms", code(w.svc.transition(&a, q.id, Action::Confirm, None, t0())), "forbidden"),
            (
                "one confirms a request for their own certificate",
                code(w.svc.transition(&me, own.id, Action::Confirm, None, t0())),
                "forbidden",
            ),
            ("another officer confirms", code(w.svc.transition(&a2, q.id, Action::Confirm, None, t0())), "ok"),
            ("another officer confirms the leader's", code(w.svc.transition(&a, own.id, Action::Confirm, None, t0())), "ok"),
        ];
        for (what, got, want) in &cases {
            assert_eq!(got, want, "{what}");
        }
        // Bắc Ninh sends directly; then the confirmer (also IT staff) may not issue.
        w.svc.send_to_ca(&a, &[q.id], t0()).unwrap();
        assert_eq!(code(w.svc.complete_request(&a2, q.id, &issued, t0())), "forbidden", "the confirmer issues");
        assert_eq!(code(w.svc.complete_request(&w.actor("cntt"), q.id, &issued, t0())), "ok", "IT staff issue");
    });
}

/// Decree 13/2023: the citizen ID, birth date and phone are shown in full only to those who
/// manage persons there and to the person themself; a full read of another's record is audited.
#[test]
fn personal_data_is_masked_for_readers_who_do_not_need_it() {
    each(|w| {
        let cid = w.leader.citizen_id.to_string();
        let cases = [("vt.a", true, false), ("kt", true, false), ("cb.a", false, true), ("qltb", false, true), ("self", false, false)];
        for (login, masked, audited) in cases {
            let before = w.svc.audit_tail(&w.actor("kt"), 1).unwrap()[0].seq;
            let r = w.svc.person(&w.actor(login), &cid, t0()).unwrap();
            assert_eq!(r.masked, masked, "{login}");
            if masked {
                assert_eq!(r.citizen_id, format!("{}******{}", &cid[..3], &cid[9..]), "{login}");
                assert!(r.date_of_birth.ends_with("-**-**"), "{login}: {}", r.date_of_birth);
            } else {
                assert_eq!(r.citizen_id, cid, "{login}");
            }
            let tail = w.svc.audit_tail(&w.actor("kt"), 1).unwrap();
            let logged = tail[0].seq > before && tail[0].action == "person.read_full" && tail[0].actor == login;
            assert_eq!(logged, audited, "{login}: audited");
        }
        let listed = w.svc.list_persons(&w.actor("vt.a"), Some("SO-A"), 100, t0()).unwrap();
        assert!(listed.iter().all(|p| p.masked || p.citizen_id == w.svc.me(&w.actor("vt.a"), t0()).unwrap().person.unwrap().citizen_id));
    });
}

/// Regression (review of issue 12): starting a new TOTP enrolment switched the TOTP in force
/// off until confirmation, so the password alone logged in; and a password-only session could
/// replace the TOTP.
#[test]
fn the_totp_in_force_stays_until_a_new_one_is_confirmed() {
    each(|w| {
        let op = w.actor("admin");
        w.svc.set_password(&op, "self", PW, false, t0()).unwrap();
        let c = client();
        let first = login(w, "self", PW, None, &c, t0()).unwrap();
        let s = w.svc.session(&first.session.id, t0()).unwrap();
        let e = w.svc.begin_totp(&s, t0()).unwrap();
        w.svc.confirm_totp(&s, &totp_code(&e.secret_base32, t0()).unwrap(), t0()).unwrap();
        // A password-only login is now impossible, so no password-only session can begin again.
        let t1 = t0() + Duration::minutes(2);
        assert_eq!(auth_code(login(w, "self", PW, None, &c, t1)), "second_factor_required");
        // The enrolment session itself proved the code; it may start a replacement, and the old
        // TOTP stays in force until the new one is confirmed.
        let s = w.svc.session(&first.session.id, t1).unwrap();
        let new = w.svc.begin_totp(&s, t1).unwrap();
        assert_eq!(auth_code(login(w, "self", PW, None, &c, t1)), "second_factor_required");
        assert!(login(w, "self", PW, Some(&totp_code(&e.secret_base32, t1).unwrap()), &c, t1).is_ok());
        // Confirming the new one retires the old.
        let t2 = t1 + Duration::minutes(2);
        w.svc.confirm_totp(&s, &totp_code(&new.secret_base32, t2).unwrap(), t2).unwrap();
        let t3 = t2 + Duration::minutes(2);
        assert_eq!(auth_code(login(w, "self", PW, Some(&totp_code(&e.secret_base32, t3).unwrap()), &c, t3)), "bad_second_factor");
        assert!(login(w, "self", PW, Some(&totp_code(&new.secret_base32, t3).unwrap()), &c, t3).is_ok());
    });
}

/// Regression (review of issue 12): credentials changed, but other sessions and API tokens
/// went on working.
#[test]
fn changing_or_resetting_credentials_ends_other_sessions_and_tokens() {
    each(|w| {
        let op = w.actor("admin");
        w.svc.set_password(&op, "cb.a", PW, false, t0()).unwrap();
        let c = client();
        let a = login(w, "cb.a", PW, None, &c, t0()).unwrap();
        let b = login(w, "cb.a", PW, None, &c, t0()).unwrap();
        let p = a.principal.clone().unwrap();
        let tok = w.svc.create_api_token(&p, "t", &[Role::AgencyOfficer], t0() + Duration::days(1), t0()).unwrap();
        let sa = w.svc.session(&a.session.id, t0()).unwrap();
        w.svc.change_password(&sa, PW, NEW_PW, t0()).unwrap();
        assert!(w.svc.session(&a.session.id, t0()).is_ok(), "the session that changed it goes on");
        assert_eq!(auth_code(w.svc.session(&b.session.id, t0())), "session_ended");
        w.svc.set_password(&op, "cb.a", PW, true, t0()).unwrap();
        assert_eq!(auth_code(w.svc.api_token_principal(&tok.secret, t0())), "bad_token");
    });
}

/// Regression (review of issue 12): duties compared logins, so one person's second account
/// could confirm what their first filed, and a token grew with the account's later grants.
#[test]
fn one_person_s_two_accounts_are_one_person() {
    use kyso_core::request::Action;
    each(|w| {
        let op = w.actor("admin");
        let cid = w.svc.me(&w.actor("cb.a"), t0()).unwrap().person.unwrap().citizen_id;
        w.svc.add_user(&op, "cb.a.second", Some(&cid), t0()).unwrap();
        w.svc.grant(&op, "cb.a.second", "agency_officer", "SO-A", t0()).unwrap();
        let a = w.actor("cb.a");
        // Nor may one grant a role to one's own second account.
        w.svc.grant(&op, "cb.a", "it_staff", "UBND-T", t0()).unwrap();
        let a = w.svc.local_operator("cb.a").unwrap_or(a);
        assert_eq!(w.svc.grant(&a, "cb.a.second", "records_clerk", "SO-A", t0()).map_err(|e| e.code()).err(), Some("forbidden"));
        let q = w.svc.create_request(&a, &new_request(&w.organisation), t0()).unwrap();
        w.svc.transition(&a, q.id, Action::Submit, None, t0()).unwrap();
        let r = w.svc.transition(&w.actor("cb.a.second"), q.id, Action::Confirm, None, t0());
        assert_eq!(r.map_err(|e| e.code()).err(), Some("forbidden"));
        // A token keeps the grants it was made with.
        w.svc.set_password(&op, "vt.a", PW, false, t0()).unwrap();
        let p = login(w, "vt.a", PW, None, &client(), t0()).unwrap().principal.unwrap();
        let tok = w.svc.create_api_token(&p, "t", &[Role::RecordsClerk], t0() + Duration::days(1), t0()).unwrap();
        w.svc.grant(&op, "vt.a", "records_clerk", "SO-B", t0()).unwrap();
        let tp = w.svc.api_token_principal(&tok.secret, t0()).unwrap();
        assert_eq!(tp.grants.len(), 1, "{:?}", tp.grants);
    });
}

/// The session cache (a checked session reused for a second) never hides a change made in
/// this process: a logout, a disabled account, a role taken back are seen at once.
#[test]
fn the_session_cache_never_hides_a_local_change() {
    each(|w| {
        let op = w.actor("admin");
        for login in ["self", "cb.a2"] {
            w.svc.set_password(&op, login, PW, false, t0()).unwrap();
        }
        let c = client();
        let ms = |n| t0() + Duration::milliseconds(n);
        // Logout.
        let out = login(w, "self", PW, None, &c, t0()).unwrap();
        let s = w.svc.session(&out.session.id, ms(100)).unwrap();
        assert!(w.svc.session(&out.session.id, ms(200)).is_ok(), "reused within the second");
        w.svc.logout(&s, ms(300)).unwrap();
        assert_eq!(auth_code(w.svc.session(&out.session.id, ms(400))), "session_ended", "logout");
        // A disabled account.
        let out = login(w, "self", PW, None, &c, ms(500)).unwrap();
        w.svc.session(&out.session.id, ms(600)).unwrap();
        w.svc.disable_user(&op, "self", ms(700)).unwrap();
        assert_eq!(auth_code(w.svc.session(&out.session.id, ms(800))), "session_ended", "disabled");
        // A role taken back.
        let out = login(w, "cb.a2", PW, None, &c, ms(900)).unwrap();
        let before = w.svc.session(&out.session.id, ms(1000)).unwrap();
        assert_eq!(before.principal().unwrap().grants.len(), 1);
        w.svc.revoke_role(&op, "cb.a2", "agency_officer", "SO-A", ms(1100)).unwrap();
        let after = w.svc.session(&out.session.id, ms(1200)).unwrap();
        assert!(after.principal().unwrap().grants.is_empty(), "the role is gone at once");
    });
}
