//! The registry and workflow commands: parse arguments into service inputs, call one use case
//! with the acting account, print.

use crate::cli::*;
use crate::config;
use crate::deployment::{env, open_db, open_service, parse_time, FIXED_CLOCK_REFUSED};
use crate::error::{env_err, CliError, CliResult};
use crate::output::{json, opt, table};
use chrono::{DateTime, Utc};
use kyso_core::profile::ProvinceProfile;
use kyso_core::registry::*;
use kyso_core::request::*;
use kyso_core::rules::{ChangeField, RevocationReason};
use kyso_service::{CompletionInput, Handover, NewRequestInput, Service, SubscriberInput};
use std::process::ExitCode;

pub(crate) fn done(cli: &Cli, v: serde_json::Value, human: impl FnOnce()) -> CliResult<ExitCode> {
    if cli.json {
        json(&v);
    } else {
        human();
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn init(cli: &Cli, a: &InitArgs, now: DateTime<Utc>) -> CliResult<ExitCode> {
    if crate::clock::fixed() && !a.training {
        return Err(env_err(FIXED_CLOCK_REFUSED));
    }
    let env = env(cli)?;
    let db = open_db(cli, &env, true)?;
    if Service::is_initialised(&db)? {
        return Err(env_err(format!("thư mục {} đã có một hệ thống được khởi tạo; không khởi tạo lại", cli.data.display())));
    }
    let b = kyso_service::Bootstrap {
        profile_key: a.profile.clone(),
        root: AgencyInput {
            code: a.code.clone(),
            name: a.name.clone(),
            parent_code: None,
            legal_entity: true,
            tax_code: Some(a.tax_code.clone()),
            budget_code: None,
            email: a.email.clone(),
            address: a.address.clone(),
            valid_from: None,
        },
        admin_login: a.admin.clone(),
        training: a.training,
    };
    let svc = Service::init(db, env.calendar, &b, now)?;
    config::write_default(&cli.data).map_err(|e| env_err(e.to_string()))?;
    done(cli, serde_json::json!({"profile": svc.profile().key, "root": a.code, "admin": a.admin}), || {
        println!("Đã khởi tạo hệ thống theo hồ sơ '{}' ({}).", svc.profile().key, svc.profile().name);
        if a.training {
            println!("Đây là hệ thống đào tạo, thử nghiệm (vĩnh viễn): CA tích hợp mang tên thử nghiệm, được dùng KYSO_NOW.");
        }
        println!("Cơ quan gốc: {} — tài khoản quản trị: {}", a.code, a.admin);
    })
}

pub(crate) fn profile(cli: &Cli, c: &ProfileCmd, now: DateTime<Utc>) -> CliResult<ExitCode> {
    match c {
        ProfileCmd::Change { key, on, basis } => {
            let mut svc = open_service(cli)?;
            let actor = svc.local_operator(&cli.actor)?;
            let day = kyso_core::value::parse_date("on", on)?;
            let old = svc.profile().key.clone();
            svc.change_profile(&actor, key, day, basis, now)?;
            done(cli, serde_json::json!({"from": old, "to": key, "effective": day}), || {
                println!("Đã chuyển hệ thống từ hồ sơ '{old}' sang '{key}' từ ngày {}; trước ngày đó giữ hồ sơ cũ.", day.format("%d/%m/%Y"))
            })
        }
        ProfileCmd::List => {
            let ps: Vec<ProvinceProfile> = ProvinceProfile::builtin_keys().into_iter().filter_map(ProvinceProfile::builtin).collect();
            done(cli, serde_json::to_value(&ps).expect("serialisable"), || {
                table(&["Mã hồ sơ", "Tên"], &ps.iter().map(|p| vec![p.key.clone(), p.name.clone()]).collect::<Vec<_>>());
            })
        }
        ProfileCmd::Show { key } => {
            let p = match key {
                Some(k) => ProvinceProfile::builtin(k).ok_or_else(|| kyso_core::DomainError::not_found("hồ sơ tỉnh", k))?,
                None => open_service(cli)?.profile().clone(),
            };
            done(cli, serde_json::to_value(&p).expect("serialisable"), || {
                println!("{} ({})", p.name, p.key);
                println!("Văn bản: {}", p.regulation);
                println!("Người quản lý thuê bao: {}", p.subscriber_manager);
                println!("Đơn vị kỹ thuật: {}", p.technical_unit);
                println!("Cơ quan quản lý trực tiếp: {}", p.managing_agencies);
                let route = |r: kyso_core::profile::Route| match r {
                    kyso_core::profile::Route::Direct => "cơ quan quản lý trực tiếp gửi thẳng tổ chức chứng thực",
                    kyso_core::profile::Route::ViaManager => "qua người quản lý thuê bao cấp tỉnh kiểm tra rồi gửi tổ chức chứng thực",
                };
                println!("Yêu cầu chứng thực: {}.", route(p.routing.default));
                for (kind, r) in &p.routing.per_kind {
                    let k = kyso_core::request::RequestKind::parse(kind).map(|k| k.label_vi()).unwrap_or(kind);
                    println!("  Riêng yêu cầu '{k}': {}.", route(*r));
                }
                let day = |mmdd: &str| mmdd.split_once('-').map(|(m, d)| format!("{d}/{m}")).unwrap_or_else(|| mmdd.to_string());
                println!(
                    "Báo cáo gửi {}: báo cáo 6 tháng {}; báo cáo năm trước ngày {}. Số liệu chốt đến ngày {} hằng năm.",
                    p.reports.recipient,
                    p.reports.half_year_due.as_deref().map(|d| format!("trước ngày {}", day(d))).unwrap_or_else(|| "không quy định".into()),
                    day(&p.reports.annual_due),
                    day(&p.reports.year_end)
                );
                for f in &p.reports.figures {
                    println!("  - {} ({})", f.label, f.key);
                }
                println!("Ghi chú:");
                for n in &p.notes {
                    println!("  * {n}");
                }
            })
        }
    }
}

pub(crate) fn agency(cli: &Cli, c: &AgencyCmd, now: DateTime<Utc>) -> CliResult<ExitCode> {
    let svc = open_service(cli)?;
    let actor = svc.local_operator(&cli.actor)?;
    let show = |v: &[Agency]| {
        table(
            &["Mã", "Tên cơ quan", "Cấp", "Pháp nhân", "Mã số thuế", "Hiệu lực"],
            &v.iter()
                .map(|a| {
                    vec![
                        a.code.to_string(),
                        format!("{}{}", "  ".repeat(a.depth()), a.name),
                        a.depth().to_string(),
                        if a.legal_entity { "có" } else { "không" }.into(),
                        opt(&a.tax_code),
                        format!("{} – {}", a.valid_from, opt(&a.valid_to)),
                    ]
                })
                .collect::<Vec<_>>(),
        )
    };
    match c {
        AgencyCmd::Add(a) => {
            let input = AgencyInput {
                code: a.code.clone(),
                name: a.name.clone(),
                parent_code: Some(a.parent.clone()),
                legal_entity: a.legal_entity,
                tax_code: a.tax_code.clone(),
                budget_code: a.budget_code.clone(),
                email: a.email.clone(),
                address: a.address.clone(),
                valid_from: a.valid_from.clone(),
            };
            let r = svc.add_agency(&actor, &input, now)?;
            done(cli, serde_json::to_value(&r).expect("serialisable"), || {
                println!("Đã thêm cơ quan {} — {} (id {}).", r.code, r.name, r.id)
            })
        }
        AgencyCmd::List { under } => {
            let v = svc.list_agencies(&actor, under.as_deref())?;
            done(cli, serde_json::to_value(&v).expect("serialisable"), || show(&v))
        }
        AgencyCmd::Show { code } => {
            let a = svc.agency(&actor, code)?;
            done(cli, serde_json::to_value(&a).expect("serialisable"), || show(std::slice::from_ref(&a)))
        }
        AgencyCmd::Close { code, on } => {
            let d = kyso_core::value::parse_date("on", on)?;
            let a = svc.close_agency(&actor, code, d, now)?;
            done(cli, serde_json::to_value(&a).expect("serialisable"), || println!("Cơ quan {} hết hiệu lực từ sau ngày {d}.", a.code))
        }
        AgencyCmd::ProvincialOffice { code } => {
            let a = svc.set_provincial_office(&actor, code, now)?;
            done(cli, serde_json::to_value(&a).expect("serialisable"), || {
                println!("Đã chỉ định {} ({}) là Văn phòng của tỉnh, cơ quan quản lý trực tiếp theo quy chế.", a.name, a.code)
            })
        }
        AgencyCmd::Import { file } => {
            let f = std::fs::File::open(file).map_err(|e| env_err(format!("không mở được {}: {e}", file.display())))?;
            let s = svc.import_agencies(&actor, f, now)?;
            done(cli, serde_json::to_value(&s).expect("serialisable"), || println!("Đã nhập {} cơ quan từ {}.", s.imported, file.display()))
        }
    }
}

pub(crate) fn person(cli: &Cli, c: &PersonCmd, now: DateTime<Utc>) -> CliResult<ExitCode> {
    let svc = open_service(cli)?;
    let actor = svc.local_operator(&cli.actor)?;
    // Citizen IDs, birth dates and phones come masked for readers who do not need them.
    let show = |v: &[kyso_core::identity::personal::PersonRecord]| {
        table(
            &["Id", "Họ và tên", "Số CCCD", "Ngày sinh", "Chức vụ", "Thư điện tử"],
            &v.iter()
                .map(|p| {
                    vec![
                        p.id.to_string(),
                        p.full_name.clone(),
                        p.citizen_id.clone(),
                        p.date_of_birth.clone(),
                        p.position.clone(),
                        p.email.to_string(),
                    ]
                })
                .collect::<Vec<_>>(),
        )
    };
    match c {
        PersonCmd::Add(a) => {
            let input = PersonInput {
                full_name: a.name.clone(),
                citizen_id: a.citizen_id.clone(),
                date_of_birth: a.born.clone(),
                gender: a.gender.clone(),
                position: a.position.clone(),
                position_kind: a.position_kind.clone(),
                title: a.title.clone(),
                agency_code: a.agency.clone(),
                email: a.email.clone(),
                phone: a.phone.clone(),
            };
            let p = svc.add_person(&actor, &input, now)?;
            done(cli, serde_json::to_value(&p).expect("serialisable"), || println!("Đã thêm cán bộ {} (id {}).", p.full_name, p.id))
        }
        PersonCmd::List { under, limit } => {
            let v = svc.list_persons(&actor, under.as_deref(), *limit, now)?;
            done(cli, serde_json::to_value(&v).expect("serialisable"), || show(&v))
        }
        PersonCmd::Show { citizen_id } => {
            let p = svc.person(&actor, citizen_id, now)?;
            done(cli, serde_json::to_value(&p).expect("serialisable"), || show(std::slice::from_ref(&p)))
        }
        PersonCmd::Import { file } => {
            let f = std::fs::File::open(file).map_err(|e| env_err(format!("không mở được {}: {e}", file.display())))?;
            let s = svc.import_persons(&actor, f, now)?;
            done(cli, serde_json::to_value(&s).expect("serialisable"), || println!("Đã nhập {} cán bộ từ {}.", s.imported, file.display()))
        }
        PersonCmd::Edit { citizen_id, name, position, position_kind, title, email, phone } => {
            let u = kyso_service::PersonUpdate {
                full_name: name.clone(),
                position: position.clone(),
                position_kind: position_kind.clone(),
                title: title.clone(),
                email: email.clone(),
                phone: phone.clone(),
            };
            let p = svc.update_person(&actor, citizen_id, &u, now)?;
            done(cli, serde_json::to_value(&p).expect("serialisable"), || println!("Đã cập nhật thông tin của {}.", p.full_name))
        }
        PersonCmd::Event { citizen_id, event, on, basis, agency, position, position_kind, title } => {
            let input = kyso_service::PersonEventInput {
                event: event.clone(),
                effective: on.clone(),
                basis: basis.clone(),
                new_position: position.clone(),
                new_position_kind: position_kind.clone(),
                new_title: title.clone(),
                new_agency_code: agency.clone(),
            };
            let o = svc.record_person_event(&actor, citizen_id, &input, now)?;
            done(cli, serde_json::to_value(&o).expect("serialisable"), || {
                println!("Đã ghi nhận sự kiện của {} (số {}).", o.person.full_name, o.event_id);
                for p in &o.proposals {
                    let kind = kyso_core::request::RequestKind::parse(&p.kind).map(|k| k.label_vi()).unwrap_or("");
                    println!("  Đề xuất số {}: {kind} — chờ cán bộ CQQLTT lập yêu cầu ('kyso proposal accept {}').", p.id, p.id);
                }
                for l in &o.disabled_accounts {
                    println!("  Đã khóa tài khoản '{l}'.");
                }
                let role = |r: &str| kyso_core::authz::Role::parse(r).map(|r| r.label_vi()).unwrap_or("");
                for (login, r, agency) in &o.revoked_roles {
                    println!("  Đã thu hồi quyền '{}' tại {agency} của tài khoản '{login}'.", role(r));
                }
                for (login, r, agency) in &o.roles_to_revoke {
                    println!("  Cần thu hồi quyền '{}' tại {agency} của tài khoản '{login}' (người quản lý tài khoản thực hiện).", role(r));
                }
            })
        }
    }
}

pub(crate) fn proposal(cli: &Cli, c: &ProposalCmd, now: DateTime<Utc>) -> CliResult<ExitCode> {
    let svc = open_service(cli)?;
    let actor = svc.local_operator(&cli.actor)?;
    match c {
        ProposalCmd::List { all } => {
            let v = svc.list_proposals(&actor, !*all)?;
            let names = svc.display_names(&actor, &v.iter().map(|p| p.subscriber_id).collect::<Vec<_>>(), &[], &[])?;
            done(cli, serde_json::to_value(&v).expect("serialisable"), || {
                table(
                    &["Số", "Loại yêu cầu", "Thuê bao", "Chứng thư (id)", "Trạng thái", "Yêu cầu đã lập", "Lý do"],
                    &v.iter()
                        .map(|p| {
                            let kind =
                                kyso_core::request::RequestKind::parse(&p.kind).map(|k| k.label_vi().to_string()).unwrap_or_default();
                            let state = match p.state.as_str() {
                                "open" => "chờ xử lý",
                                "accepted" => "đã lập yêu cầu",
                                _ => "đã bỏ qua",
                            };
                            let sub = names
                                .subscribers
                                .get(&p.subscriber_id)
                                .cloned()
                                .unwrap_or_else(|| format!("(thuê bao số {})", p.subscriber_id));
                            vec![
                                p.id.to_string(),
                                kind,
                                sub,
                                p.certificate_id.to_string(),
                                state.into(),
                                opt(&p.request_id),
                                opt(&p.reason),
                            ]
                        })
                        .collect::<Vec<_>>(),
                )
            })
        }
        ProposalCmd::Accept { id } => {
            let (p, q) = svc.decide_proposal(&actor, *id, true, None, now)?;
            done(cli, serde_json::json!({"proposal": p, "request": q}), || {
                println!("Đã lập và gửi yêu cầu số {} theo đề xuất số {id}.", q.as_ref().map(|q| q.id.0).unwrap_or_default())
            })
        }
        ProposalCmd::Dismiss { id, reason } => {
            let (p, _) = svc.decide_proposal(&actor, *id, false, Some(reason), now)?;
            done(cli, serde_json::to_value(&p).expect("serialisable"), || println!("Đã bỏ qua đề xuất số {id}: {reason}"))
        }
    }
}

pub(crate) fn user(cli: &Cli, c: &UserCmd, now: DateTime<Utc>) -> CliResult<ExitCode> {
    let svc = open_service(cli)?;
    let actor = svc.local_operator(&cli.actor)?;
    match c {
        UserCmd::Add { login, citizen_id } => {
            svc.add_user(&actor, login, citizen_id.as_deref(), now)?;
            done(cli, serde_json::json!({"login": login}), || println!("Đã tạo tài khoản {login}."))
        }
        UserCmd::Grant { login, role, agency } => {
            svc.grant(&actor, login, role, agency, now)?;
            done(cli, serde_json::json!({"login": login, "role": role, "agency": agency}), || {
                println!("Đã giao vai trò {role} tại {agency} cho {login}.")
            })
        }
        UserCmd::Disable { login } => {
            svc.disable_user(&actor, login, now)?;
            done(cli, serde_json::json!({"login": login, "disabled": true}), || println!("Đã khóa tài khoản '{login}'."))
        }
        UserCmd::Revoke { login, role, agency } => {
            svc.revoke_role(&actor, login, role, agency, now)?;
            done(cli, serde_json::json!({"login": login, "role": role, "agency": agency}), || {
                println!("Đã thu hồi vai trò '{role}' tại {agency} của tài khoản '{login}'.")
            })
        }
        UserCmd::Password { login, lasting } => {
            let pw = crate::tokens::new_password("KYSO_NEW_PASSWORD", &format!("Mật khẩu mới cho {login}"))?;
            svc.set_password(&actor, login, pw.expose(), !lasting, now)?;
            done(cli, serde_json::json!({"login": login, "temporary": !lasting}), || {
                if *lasting {
                    println!("Đã đặt mật khẩu cho '{login}'.")
                } else {
                    println!("Đã đặt mật khẩu tạm cho '{login}'; người dùng phải đổi ở lần đăng nhập đầu.")
                }
            })
        }
        UserCmd::Reset2fa { login } => {
            svc.reset_second_factor(&actor, login, now)?;
            done(cli, serde_json::json!({"login": login, "second_factor": "reset"}), || {
                println!("Đã xóa TOTP và mã khôi phục của '{login}'; lần đăng nhập sau phải đăng ký lại.")
            })
        }
        UserCmd::List => {
            let v = svc.list_users(&actor)?;
            let rows: Vec<serde_json::Value> = v.iter().map(|(l, r, a)| serde_json::json!({"login": l, "role": r, "agency": a})).collect();
            done(cli, serde_json::Value::Array(rows), || {
                table(
                    &["Tài khoản", "Vai trò", "Tại cơ quan"],
                    &v.iter().map(|(l, r, a)| vec![l.clone(), opt(r), opt(a)]).collect::<Vec<_>>(),
                )
            })
        }
    }
}

pub(crate) fn subscriber(cli: &Cli, c: &SubscriberCmd, now: DateTime<Utc>) -> CliResult<ExitCode> {
    let svc = open_service(cli)?;
    let actor = svc.local_operator(&cli.actor)?;
    let (input, managing) = match c {
        SubscriberCmd::Individual { citizen_id, managing } => (SubscriberInput::Individual { citizen_id: citizen_id.clone() }, managing),
        SubscriberCmd::Organisation { agency, managing } => (SubscriberInput::Organisation { agency_code: agency.clone() }, managing),
        SubscriberCmd::Device { agency, name, email, managing } => {
            (SubscriberInput::Device { agency_code: agency.clone(), name: name.clone(), email: email.clone() }, managing)
        }
        SubscriberCmd::List { under, limit } => {
            let v = svc.list_subscribers(&actor, under.as_deref(), *limit)?;
            let names = svc.display_names(&actor, &[], &v.iter().map(|s| s.managing_agency_id).collect::<Vec<_>>(), &[])?;
            return done(cli, serde_json::to_value(&v).expect("serialisable"), || {
                table(
                    &["Id", "Loại", "Tên", "Thư điện tử", "Cơ quan quản lý trực tiếp"],
                    &v.iter()
                        .map(|s| {
                            vec![
                                s.id.to_string(),
                                s.kind.label_vi().into(),
                                s.display_name.clone(),
                                opt(&s.email),
                                names
                                    .agencies
                                    .get(&s.managing_agency_id)
                                    .cloned()
                                    .unwrap_or_else(|| format!("(cơ quan số {})", s.managing_agency_id)),
                            ]
                        })
                        .collect::<Vec<_>>(),
                )
            });
        }
    };
    let s = svc.add_subscriber(&actor, &input, managing.as_deref(), now)?;
    done(cli, serde_json::to_value(&s).expect("serialisable"), || {
        println!("Đã đăng ký thuê bao {} — {} (id {}).", s.kind.label_vi(), s.display_name, s.id)
    })
}

pub(crate) fn device(cli: &Cli, c: &DeviceCmd, now: DateTime<Utc>) -> CliResult<ExitCode> {
    let svc = open_service(cli)?;
    let actor = svc.local_operator(&cli.actor)?;
    let today = kyso_core::value::vn_date(now);
    let show = |v: &[KeyDevice]| {
        table(
            &["Id", "Số hiệu", "Loại", "Mẫu", "Trạng thái", "Hạn nộp lại"],
            &v.iter()
                .map(|d| {
                    let due = match d.return_due {
                        Some(due) if d.is_overdue(today) => {
                            format!("{} (QUÁ HẠN {} ngày)", due.format("%d/%m/%Y"), (today - due).num_days())
                        }
                        Some(due) => due.format("%d/%m/%Y").to_string(),
                        None => String::new(),
                    };
                    vec![d.id.to_string(), d.serial.to_string(), d.kind.label_vi().into(), d.model.clone(), d.status.label_vi().into(), due]
                })
                .collect::<Vec<_>>(),
        )
    };
    match c {
        DeviceCmd::Add { serial, kind, model, agency } => {
            let d = svc.add_device(
                &actor,
                &kyso_service::DeviceInput {
                    serial: serial.clone(),
                    kind: kind.clone(),
                    model: model.clone(),
                    agency_code: agency.clone(),
                },
                now,
            )?;
            done(cli, serde_json::to_value(&d).expect("serialisable"), || println!("Đã thêm thiết bị {} (id {}).", d.serial, d.id))
        }
        DeviceCmd::List { under, limit, overdue } => {
            let mut v = svc.list_devices(&actor, under.as_deref(), *limit)?;
            if *overdue {
                let today = kyso_core::value::vn_date(now);
                v.retain(|d| d.is_overdue(today));
            }
            done(cli, serde_json::to_value(&v).expect("serialisable"), || show(&v))
        }
        DeviceCmd::Return { serial, to, reason } => {
            let h = svc.return_device(&actor, serial, to, reason, now)?;
            done(cli, serde_json::to_value(&h).expect("serialisable"), || {
                println!("Đã lập biên bản bàn giao số {} ({}): thiết bị {serial} đã được nộp lại.", h.id, h.form)
            })
        }
        DeviceCmd::Show { serial } => {
            let d = svc.device(&actor, serial)?;
            done(cli, serde_json::to_value(&d).expect("serialisable"), || show(std::slice::from_ref(&d)))
        }
        DeviceCmd::Assign { serial, to, organisation, decision } => {
            let d = svc.assign_device(&actor, serial, to, *organisation, decision.as_deref(), now)?;
            done(cli, serde_json::to_value(&d).expect("serialisable"), || println!("Đã phân công thiết bị {}.", d.serial))
        }
        DeviceCmd::Handover { serial, from, to, reason, decision } => {
            let h = svc.hand_over(
                &actor,
                serial,
                &Handover { from_cid: from.as_deref(), to_cid: to, reason, decision: decision.as_deref() },
                now,
            )?;
            done(cli, serde_json::to_value(&h).expect("serialisable"), || {
                println!("Đã lập biên bản bàn giao số {} ({}) cho thiết bị {serial}.", h.id, h.form)
            })
        }
        DeviceCmd::Lost { serial, record } => {
            let filed = svc.report_lost(&actor, serial, record, now)?;
            done(cli, serde_json::to_value(&filed).expect("serialisable"), || {
                println!(
                    "Đã ghi nhận thiết bị {serial} thất lạc; đã lập {} yêu cầu thu hồi: {:?}",
                    filed.len(),
                    filed.iter().map(|q| q.id.0).collect::<Vec<_>>()
                )
            })
        }
        DeviceCmd::History { serial } => {
            let v = svc.handover_records(&actor, serial)?;
            let people: Vec<_> = v.iter().flat_map(|h| h.from_person.into_iter().chain([h.to_person])).collect();
            let names = svc.display_names(&actor, &[], &[], &people)?;
            let name = |p: &kyso_core::registry::PersonId| names.persons.get(p).cloned().unwrap_or_else(|| format!("(cán bộ số {p})"));
            done(cli, serde_json::to_value(&v).expect("serialisable"), || {
                table(
                    &["Số", "Thời điểm", "Mẫu", "Bên giao", "Bên nhận", "Lý do", "Quyết định"],
                    &v.iter()
                        .map(|h| {
                            vec![
                                h.id.to_string(),
                                h.at.with_timezone(&kyso_core::value::vn_offset()).format("%d/%m/%Y %H:%M").to_string(),
                                h.form.clone(),
                                h.from_person.as_ref().map(name).unwrap_or_else(|| "(cơ quan cấp phát)".into()),
                                name(&h.to_person),
                                h.reason.clone(),
                                opt(&h.decision_ref),
                            ]
                        })
                        .collect::<Vec<_>>(),
                )
            })
        }
        DeviceCmd::Status { serial, status } => {
            let d = svc.set_device_status(&actor, serial, status, now)?;
            done(cli, serde_json::to_value(&d).expect("serialisable"), || {
                println!("Thiết bị {} nay ở trạng thái '{}'.", d.serial, d.status.label_vi())
            })
        }
    }
}

pub(crate) fn cert(cli: &Cli, c: &CertCmd, now: DateTime<Utc>) -> CliResult<ExitCode> {
    if let CertCmd::Verify(a) = c {
        return crate::verify_cmd::cert_verify(cli, a, now);
    }
    let svc = open_service(cli)?;
    let actor = svc.local_operator(&cli.actor)?;
    let show = |v: &[CertificateRecord]| {
        table(
            &["Số hiệu", "Chủ thể", "Hiệu lực từ", "Đến", "Còn (ngày)", "Trạng thái"],
            &v.iter()
                .map(|c| {
                    vec![
                        c.serial.to_string(),
                        c.subject.clone(),
                        c.not_before.with_timezone(&kyso_core::value::vn_offset()).format("%d/%m/%Y").to_string(),
                        c.not_after.with_timezone(&kyso_core::value::vn_offset()).format("%d/%m/%Y").to_string(),
                        c.days_left(now).to_string(),
                        c.status_at(now).label_vi().into(),
                    ]
                })
                .collect::<Vec<_>>(),
        )
    };
    let with_status = |v: &[CertificateRecord]| -> serde_json::Value {
        serde_json::Value::Array(
            v.iter()
                .map(|c| {
                    let mut j = serde_json::to_value(c).expect("serialisable");
                    j["status"] = serde_json::json!(c.status_at(now).code());
                    j["days_left"] = serde_json::json!(c.days_left(now));
                    j
                })
                .collect(),
        )
    };
    match c {
        CertCmd::Import { files, list, map } => {
            let mut loaded = Vec::new();
            for f in files {
                let bytes = std::fs::read(f).map_err(|e| env_err(format!("không đọc được {}: {e}", f.display())))?;
                loaded.push((f.display().to_string(), bytes));
            }
            let csv = match list {
                Some(p) => Some(std::fs::read(p).map_err(|e| env_err(format!("không đọc được {}: {e}", p.display())))?),
                None => None,
            };
            let mut columns = std::collections::BTreeMap::new();
            for m in map {
                let Some((field, column)) = m.split_once('=') else {
                    return Err(kyso_core::DomainError::invalid(
                        "map",
                        format!("'{m}' không hợp lệ: viết TRƯỜNG=TÊN_CỘT, ví dụ serial=Số serial"),
                    )
                    .into());
                };
                columns.insert(field.trim().to_string(), column.trim().to_string());
            }
            if files.is_empty() && csv.is_none() {
                return Err(kyso_core::DomainError::invalid("files", "cần tệp chứng thư, hoặc --list DANH_SÁCH.csv").into());
            }
            let l = csv.as_deref().map(|csv| kyso_service::CertificateList { csv, columns });
            let s = svc.import_certificates(&actor, &loaded, l.as_ref(), now)?;
            done(cli, serde_json::to_value(&s).expect("serialisable"), || {
                for (path, n) in &s.matched {
                    let label = kyso_core::onboarding::MatchPath::parse(path).map(|p| p.label_vi()).unwrap_or("");
                    println!("{label}: {n} chứng thư");
                }
                println!("Thuê bao mới lập: {}", s.subscribers_created);
                println!("Đã có trong sổ (bỏ qua): {}", s.already_registered);
                println!("Chờ xem xét (không khớp cán bộ nào): {} — xem 'kyso cert review'", s.for_review);
            })
        }
        CertCmd::Review => {
            let v = svc.certificates_for_review(&actor)?;
            done(cli, serde_json::to_value(&v).expect("serialisable"), || {
                table(
                    &["Số", "Số hiệu", "Chủ thể", "Nguồn", "Lý do"],
                    &v.iter()
                        .map(|r| vec![r.id.to_string(), r.serial.clone(), r.subject.clone(), r.source.clone(), r.reason.clone()])
                        .collect::<Vec<_>>(),
                )
            })
        }
        CertCmd::Add { subscriber, serial, subject, issuer, not_before, not_after, device, renewal_count } => {
            let e = kyso_service::ExistingCertificate {
                subscriber: SubscriberId(*subscriber),
                serial: serial.clone(),
                subject: subject.clone(),
                issuer: issuer.clone(),
                not_before: parse_time("not_before", not_before)?,
                not_after: parse_time("not_after", not_after)?,
                device_serial: device.clone(),
                renewal_count: *renewal_count,
            };
            let c = svc.register_certificate(&actor, &e, now)?;
            done(cli, with_status(std::slice::from_ref(&c))[0].clone(), || show(std::slice::from_ref(&c)))
        }
        CertCmd::List { under, expiring_within, limit } => {
            let v = match expiring_within {
                Some(days) => svc.expiring_certificates(&actor, under.as_deref(), *days, now, *limit)?,
                None => svc.list_certificates(
                    &actor,
                    under.as_deref(),
                    &kyso_store::CertificateFilter { limit: Some(*limit), ..Default::default() },
                )?,
            };
            done(cli, with_status(&v), || show(&v))
        }
        CertCmd::Show { serial } => {
            let c = svc.certificate(&actor, serial)?;
            done(cli, with_status(std::slice::from_ref(&c))[0].clone(), || show(std::slice::from_ref(&c)))
        }
        CertCmd::Verify(_) => unreachable!("handled above"),
    }
}

fn request_details(a: &RequestNewArgs, kind: RequestKind) -> CliResult<RequestDetails> {
    Ok(match kind {
        k if k.is_new() => RequestDetails::New { validity_months: a.validity_months },
        RequestKind::Renew => RequestDetails::Renew { extension_months: a.extension_months },
        RequestKind::ChangeInfo => {
            let mut changes = Vec::new();
            for c in &a.changes {
                let (f, v) = c
                    .split_once('=')
                    .ok_or_else(|| kyso_core::DomainError::invalid("change", format!("'{c}' phải có dạng TRƯỜNG=GIÁ_TRỊ")))?;
                let field = parse_coded("change", f, ChangeField::parse, ChangeField::ALL, ChangeField::code)?;
                changes.push((field, kyso_core::value::normalize_text(v)));
            }
            RequestDetails::ChangeInfo { changes }
        }
        RequestKind::Revoke => {
            let r = a.reason.as_deref().ok_or_else(|| kyso_core::DomainError::invalid("reason", "thu hồi phải ghi lý do (--reason)"))?;
            RequestDetails::Revoke {
                reason: parse_coded("reason", r, RevocationReason::parse, RevocationReason::ALL, RevocationReason::code)?,
                device_return: a.device_return,
                lost_device_record: a.lost_record.clone(),
            }
        }
        _ => RequestDetails::RestoreDevice {
            contact_phone: a.phone.as_deref().map(kyso_core::value::Phone::parse).transpose()?.map(|p| p.to_string()),
        },
    })
}

fn print_request(q: &Request) {
    println!("Yêu cầu số {} — {} — trạng thái: {}", q.id, q.kind.label_vi(), q.state.label_vi());
    if let Some(r) = &q.rejection_reason {
        println!("Lý do từ chối: {r}");
    }
}

pub(crate) fn request(cli: &Cli, c: &RequestCmd, now: DateTime<Utc>) -> CliResult<ExitCode> {
    let svc = open_service(cli)?;
    let actor = svc.local_operator(&cli.actor)?;
    let step = |id: i64, action: Action, reason: Option<&str>| -> CliResult<ExitCode> {
        let q = svc.transition(&actor, RequestId(id), action, reason, now)?;
        done(cli, serde_json::to_value(&q).expect("serialisable"), || print_request(&q))
    };
    match c {
        RequestCmd::New(a) => {
            let sub = svc.subscriber(&actor, SubscriberId(a.subscriber))?;
            let kind = match a.kind.as_str() {
                "new" => RequestKind::new_for(sub.kind),
                "renew" => RequestKind::Renew,
                "change" | "change_info" => RequestKind::ChangeInfo,
                "revoke" => RequestKind::Revoke,
                "restore" | "restore_device" => RequestKind::RestoreDevice,
                other => parse_coded("kind", other, RequestKind::parse, RequestKind::ALL, RequestKind::code)?,
            };
            let input = NewRequestInput {
                kind,
                subscriber: sub.id,
                certificate_serial: a.certificate.clone(),
                device_serial: a.device.clone(),
                details: request_details(a, kind)?,
            };
            let q = svc.create_request(&actor, &input, now)?;
            done(cli, serde_json::to_value(&q).expect("serialisable"), || {
                print_request(&q);
                println!("Bước tiếp theo: kyso request submit {}", q.id);
            })
        }
        RequestCmd::Submit { id } => step(*id, Action::Submit, None),
        RequestCmd::Confirm { id } => step(*id, Action::Confirm, None),
        RequestCmd::Check { id } => step(*id, Action::Check, None),
        RequestCmd::Reject { id, reason } => step(*id, Action::Reject, Some(reason)),
        RequestCmd::Cancel { id } => step(*id, Action::Cancel, None),
        RequestCmd::Csr { id, file } => {
            let bytes = std::fs::read(file).map_err(|e| env_err(format!("không đọc được {}: {e}", file.display())))?;
            svc.attach_csr(&actor, RequestId(*id), &bytes, now)?;
            done(cli, serde_json::json!({"request": id}), || println!("Đã đính kèm CSR vào yêu cầu số {id}."))
        }
        RequestCmd::Send { ids } => {
            let ids: Vec<RequestId> = ids.iter().map(|i| RequestId(*i)).collect();
            let (batch, v) = svc.send_to_ca(&actor, &ids, now)?;
            done(cli, serde_json::json!({"batch": batch, "requests": v}), || {
                println!("Đã gửi lô số {batch} gồm {} yêu cầu tới tổ chức chứng thực.", v.len())
            })
        }
        RequestCmd::Complete(a) => {
            let view = svc.request(&actor, RequestId(a.id))?;
            let input = match view.request.kind {
                RequestKind::Revoke => CompletionInput::Revoked {
                    at: a.revoked_at.as_deref().map(|s| parse_time("revoked_at", s)).transpose()?.unwrap_or(now),
                },
                RequestKind::RestoreDevice => CompletionInput::Restored,
                _ => {
                    let need = |v: &Option<String>, f: &'static str| {
                        v.clone().ok_or_else(|| {
                            CliError::from(kyso_core::DomainError::invalid(
                                f,
                                format!("kết quả cấp chứng thư số phải có --{}", f.replace('_', "-")),
                            ))
                        })
                    };
                    CompletionInput::Issued {
                        serial: need(&a.serial, "serial")?,
                        subject: need(&a.subject, "subject")?,
                        issuer: need(&a.issuer, "issuer")?,
                        not_before: parse_time("not_before", &need(&a.not_before, "not_before")?)?,
                        not_after: parse_time("not_after", &need(&a.not_after, "not_after")?)?,
                        device_serial: a.device.clone(),
                    }
                }
            };
            let q = svc.complete_request(&actor, RequestId(a.id), &input, now)?;
            done(cli, serde_json::to_value(&q).expect("serialisable"), || print_request(&q))
        }
        RequestCmd::List { under, state, limit } => {
            let st = state
                .as_deref()
                .map(|s| parse_coded("state", s, RequestState::parse, RequestState::ALL, RequestState::code))
                .transpose()?;
            let v = svc.list_requests(&actor, under.as_deref(), st, *limit)?;
            let names = svc.display_names(&actor, &v.iter().map(|q| q.subscriber_id).collect::<Vec<_>>(), &[], &[])?;
            done(cli, serde_json::to_value(&v).expect("serialisable"), || {
                table(
                    &["Số", "Loại", "Trạng thái", "Thuê bao", "Cập nhật"],
                    &v.iter()
                        .map(|q| {
                            vec![
                                q.id.to_string(),
                                q.kind.label_vi().into(),
                                q.state.label_vi().into(),
                                names
                                    .subscribers
                                    .get(&q.subscriber_id)
                                    .cloned()
                                    .unwrap_or_else(|| format!("(thuê bao số {})", q.subscriber_id)),
                                q.updated_at.with_timezone(&kyso_core::value::vn_offset()).format("%d/%m/%Y %H:%M").to_string(),
                            ]
                        })
                        .collect::<Vec<_>>(),
                )
            })
        }
        RequestCmd::Show { id } => {
            let v = svc.request(&actor, RequestId(*id))?;
            done(cli, serde_json::to_value(&v).expect("serialisable"), || {
                print_request(&v.request);
                println!("Thuê bao: {} ({}) — CQQLTT: {}", v.subscriber.display_name, v.subscriber.kind.label_vi(), v.managing_agency);
                if let Some([a, b]) = &v.forms {
                    println!("Biểu mẫu: {a} (thuê bao), {b} (CQQLTT)");
                }
                println!("Lịch sử:");
                for e in &v.history {
                    let t = chrono::DateTime::from_timestamp_micros(e.at_micros)
                        .map(|t| t.with_timezone(&kyso_core::value::vn_offset()).format("%d/%m/%Y %H:%M:%S").to_string())
                        .unwrap_or_default();
                    println!("  #{} {t} {} {} [{}]", e.seq, e.actor, e.action, e.outcome);
                }
            })
        }
    }
}

pub(crate) fn report(cli: &Cli, a: &ReportArgs) -> CliResult<ExitCode> {
    let svc = open_service(cli)?;
    let actor = svc.local_operator(&cli.actor)?;
    let period = match (&a.period, &a.from, &a.to) {
        (Some(p), _, _) => p.clone(),
        (None, Some(from), Some(to)) => format!("{from}..{to}"),
        _ => return Err(kyso_core::DomainError::invalid("period", "cần --period, hoặc --from và --to").into()),
    };
    let mut inputs = std::collections::BTreeMap::new();
    for i in &a.inputs {
        let parsed = i.split_once('=').and_then(|(k, v)| Some((k.trim().to_string(), v.trim().parse::<u64>().ok()?)));
        let Some((k, v)) = parsed else {
            return Err(kyso_core::DomainError::invalid(
                "input",
                format!("'{i}' không hợp lệ: viết CHỈ_TIÊU=SỐ, ví dụ public_services=12"),
            )
            .into());
        };
        inputs.insert(k, v);
    }
    let r = svc.report_with_inputs(&actor, &period, a.agency.as_deref(), &inputs)?;
    if cli.json {
        json(&r);
    } else if a.csv {
        let mut w = csv::Writer::from_writer(std::io::stdout());
        let e = |e: csv::Error| env_err(e.to_string());
        w.write_record(["key", "label", "org", "personal", "total"]).map_err(e)?;
        for f in &r.figures {
            w.write_record([f.key.clone(), f.label.clone(), opt(&f.org), opt(&f.personal), f.total.to_string()]).map_err(e)?;
        }
        w.flush().map_err(|x| env_err(x.to_string()))?;
    } else {
        println!("BÁO CÁO TÌNH HÌNH QUẢN LÝ VÀ SỬ DỤNG CHỮ KÝ SỐ, CHỨNG THƯ SỐ CHUYÊN DÙNG");
        println!("Kỳ báo cáo: {} ({} – {})", r.period_label, r.from.format("%d/%m/%Y"), r.to.format("%d/%m/%Y"));
        println!("Phạm vi: {} ({}) — hồ sơ {}", r.agency_name, r.agency_code, r.profile);
        println!(
            "Nơi nhận: {}{}",
            r.recipient,
            r.due.map(|d| format!(" — hạn gửi trước ngày {}", d.format("%d/%m/%Y"))).unwrap_or_default()
        );
        println!();
        table(
            &["STT", "Nội dung", "CTS cơ quan", "CTS cá nhân", "Tổng"],
            &r.figures
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    let total =
                        if f.missing_input { "(chưa nhập: --input ".to_string() + &f.key + "=SỐ)" } else { f.total.to_string() };
                    vec![(i + 1).to_string(), f.label.clone(), opt(&f.org), opt(&f.personal), total]
                })
                .collect::<Vec<_>>(),
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn audit(cli: &Cli, c: &AuditCmd, now: DateTime<Utc>) -> CliResult<ExitCode> {
    let svc = open_service(cli)?;
    let actor = svc.local_operator(&cli.actor)?;
    match c {
        AuditCmd::Checkpoint { out, tsa } => {
            svc.check_ca_permission(&actor, kyso_core::authz::Permission::AnchorAudit, "audit.checkpoint", now)?;
            let cp = match tsa.as_str() {
                "builtin" => {
                    let e = env(cli)?;
                    let session = crate::tokens::ca_session(&cli.data, &e.config, svc.profile().pin_retry_limit)?;
                    let stamp = |req: &[u8]| svc.timestamp(&actor, req, &*session, now).map_err(|e| e.to_string());
                    svc.audit_checkpoint(&actor, &stamp, now)?
                }
                url => svc.audit_checkpoint(&actor, &|req: &[u8]| crate::http::post(url, "application/timestamp-query", req), now)?,
            };
            std::fs::create_dir_all(out).map_err(|e| env_err(format!("không tạo được {}: {e}", out.display())))?;
            let all = svc.audit_checkpoints(&actor)?;
            for c in &all {
                let p = out.join(format!("checkpoint-{:012}.json", c.seq));
                std::fs::write(&p, serde_json::to_vec_pretty(c).expect("serialisable"))
                    .map_err(|e| env_err(format!("không ghi được {}: {e}", p.display())))?;
            }
            done(cli, serde_json::json!({"checkpoint": cp, "exported": all.len()}), || {
                println!("Đã neo nhật ký tại sự kiện số {} (SHA-256 {}).", cp.seq, cp.hash);
                println!("Đã xuất {} điểm neo ra {}; hãy lưu thư mục này ngoài máy chủ cơ sở dữ liệu.", all.len(), out.display());
            })
        }
        AuditCmd::Verify { checkpoints: Some(dir), tsa_root } => {
            let mut files = Vec::new();
            for e in std::fs::read_dir(dir).map_err(|e| env_err(format!("không đọc được {}: {e}", dir.display())))?.flatten() {
                let p = e.path();
                if p.extension().is_some_and(|x| x == "json") {
                    let b = kyso_pdf::file::read_regular(&p).map_err(|e| env_err(format!("không đọc được {}: {e}", p.display())))?;
                    files.push(serde_json::from_slice::<kyso_service::AuditCheckpoint>(&b).map_err(|e| {
                        CliError::from(kyso_core::DomainError::invalid(
                            "checkpoint",
                            format!("{}: không phải điểm neo nhật ký: {e}", p.display()),
                        ))
                    })?);
                }
            }
            files.sort_by_key(|c| c.seq);
            let roots = tsa_root
                .iter()
                .map(|p| {
                    let b = kyso_pdf::file::read_regular(p).map_err(|e| env_err(format!("không đọc được {}: {e}", p.display())))?;
                    kyso_pki::der_or_pem(&b).map_err(|e| CliError::from(kyso_core::DomainError::invalid("tsa_root", e.to_string())))
                })
                .collect::<CliResult<Vec<_>>>()?;
            let v = svc.verify_audit_checkpoints(&actor, &files, (!roots.is_empty()).then_some(roots.as_slice()))?;
            if cli.json {
                json(&v);
            } else {
                match &v.chain.broken {
                    Some(b) => println!("NHẬT KÝ BỊ THAY ĐỔI: chuỗi đứt tại sự kiện số {} — {}", b.seq, b.reason),
                    None => println!("Chuỗi nhật ký liền mạch: {} sự kiện.", v.chain.checked),
                }
                for (_, why) in &v.contradicted {
                    println!("NHẬT KÝ BỊ SỬA SAU KHI NEO: {why}");
                }
                for (seq, why) in &v.invalid {
                    println!("Điểm neo số {seq} không dùng được: {why}");
                }
                println!(
                    "Đã neo đến sự kiện số {} ({} điểm neo); {} sự kiện sau đó chưa được neo.",
                    v.anchored_seq,
                    files.len(),
                    v.not_anchored
                );
            }
            Ok(if v.is_valid() { ExitCode::SUCCESS } else { ExitCode::from(3) })
        }
        AuditCmd::Verify { checkpoints: None, .. } => {
            let v = svc.verify_audit(&actor)?;
            if cli.json {
                json(&v);
            } else if let Some(b) = &v.broken {
                println!("NHẬT KÝ BỊ THAY ĐỔI: chuỗi đứt tại sự kiện số {} — {}", b.seq, b.reason);
                println!("Đã kiểm tra {} sự kiện hợp lệ trước điểm đứt (đầu chuỗi ghi nhận: {}).", v.checked, v.head_seq);
            } else {
                println!("Nhật ký toàn vẹn: {} sự kiện, mọi liên kết băm đều khớp.", v.checked);
            }
            Ok(if v.is_valid() { ExitCode::SUCCESS } else { ExitCode::from(3) })
        }
        AuditCmd::Tail { limit } => {
            let v = svc.audit_tail(&actor, *limit)?;
            done(cli, serde_json::to_value(&v).expect("serialisable"), || {
                for e in &v {
                    let t = chrono::DateTime::from_timestamp_micros(e.at_micros)
                        .map(|t| t.with_timezone(&kyso_core::value::vn_offset()).to_rfc3339())
                        .unwrap_or_default();
                    println!("#{} {t} {} {} {} [{}] {}", e.seq, e.actor, e.action, e.object, e.outcome, e.details);
                }
            })
        }
    }
}
