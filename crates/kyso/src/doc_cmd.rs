//! `kyso doc` (documents, signing, the outgoing register) and `kyso agent` (the local signing
//! agent and pairing with it).

use crate::cli::{AgentCmd, Cli, DocCmd, DocSignArgs, TokenSel};
use crate::deployment::{env, open_service};
use crate::error::CliError;
use crate::output::{json, table};
use crate::tokens::{self, token_err, TokenRef};
use base64::Engine;
use chrono::{DateTime, Utc};
use kyso_core::document::PersonalStep;
use kyso_pdf::Level;
use kyso_server::agent::{AgentInfo, CertificatesRequest, SignRequest};
use kyso_service::{NewDocument, Service, SignatureOptions};
use std::process::ExitCode;
use std::sync::Arc;

type Res<T> = Result<T, CliError>;
/// A time-stamp authority as a boxed function (a URL or the built-in TSA).
type BoxedTsa<'a> = Box<dyn Fn(&[u8]) -> Result<Vec<u8>, String> + 'a>;

fn b64(d: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(d)
}
fn unb64(s: &str) -> Res<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(s).map_err(|e| fail("agent", format!("dữ liệu base64 không hợp lệ: {e}")))
}
fn fail(code: &'static str, message: String) -> CliError {
    CliError { code, message, rows: vec![], hint: None, exit: 1 }
}
fn env_fail(message: String) -> CliError {
    CliError { code: "environment", message, rows: vec![], hint: None, exit: 2 }
}

fn read(p: &std::path::Path) -> Res<Vec<u8>> {
    kyso_pdf::file::read_regular(p).map_err(|e| env_fail(format!("không đọc được {}: {e}", p.display())))
}

pub fn doc(cli: &Cli, c: &DocCmd, now: DateTime<Utc>) -> Res<ExitCode> {
    let svc = open_service(cli)?;
    let actor = svc.local_operator(&cli.actor)?;
    match c {
        DocCmd::Add(a) => {
            let d = svc.create_document(
                &actor,
                &NewDocument {
                    agency_code: a.agency.clone(),
                    kind: a.kind.clone(),
                    title: a.title.clone(),
                    file_name: a.file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                    symbol: a.symbol.clone(),
                    competent_cid: a.signer.clone(),
                    parent_id: a.parent,
                },
                &a.file,
                now,
            )?;
            if cli.json {
                json(&d);
            } else {
                println!("Đã đăng ký văn bản số {} ({}): {}", d.id, d.kind.label_vi(), d.title);
            }
        }
        DocCmd::List { agency, limit } => {
            let docs = svc.list_documents(&actor, agency.as_deref(), *limit)?;
            if cli.json {
                json(&docs);
            } else {
                let rows: Vec<Vec<String>> = docs
                    .iter()
                    .map(|d| {
                        vec![
                            d.id.to_string(),
                            d.kind.label_vi().into(),
                            d.status.label_vi().into(),
                            d.number.clone().unwrap_or_default(),
                            d.title.clone(),
                        ]
                    })
                    .collect();
                table(&["ID", "Loại", "Trạng thái", "Số, ký hiệu", "Trích yếu"], &rows);
            }
        }
        DocCmd::Show { id } => {
            let (d, sigs) = svc.document(&actor, *id)?;
            if cli.json {
                json(&serde_json::json!({"document": d, "signatures": sigs}));
            } else {
                println!("Văn bản {}: {} ({}, {})", d.id, d.title, d.kind.label_vi(), d.status.label_vi());
                if let Some(n) = &d.number {
                    println!("Số, ký hiệu: {n}, ngày {}", d.issued_on.map(|x| x.format("%d/%m/%Y").to_string()).unwrap_or_default());
                }
                println!("Tệp: {} ({} byte, SHA-256 {})", d.file_name, d.size, d.sha256);
                let rows: Vec<Vec<String>> = sigs
                    .iter()
                    .map(|s| {
                        vec![
                            s.seq.to_string(),
                            s.role.label_vi().into(),
                            s.step.map(|x| x.label_vi().to_string()).unwrap_or_default(),
                            s.field.clone(),
                            s.serial.clone().unwrap_or_default(),
                            kyso_pdf::decree30::iso_time(s.signed_at),
                        ]
                    })
                    .collect();
                table(&["#", "Chữ ký", "Bước", "Trường", "Chứng thư", "Thời điểm"], &rows);
            }
        }
        DocCmd::Export { id, out } => {
            let d = svc.export_document(&actor, *id, out)?;
            if cli.json {
                json(&serde_json::json!({"id": d.id, "out": out, "sha256": d.sha256}));
            } else {
                println!("Đã ghi văn bản {} vào {}", d.id, out.display());
            }
        }
        DocCmd::Register { agency, year, copies } => {
            let kind = if *copies { "copy" } else { "issued" };
            let lines = svc.outgoing_register(&actor, agency, *year, kind)?;
            if cli.json {
                json(&lines);
            } else {
                let rows: Vec<Vec<String>> = lines
                    .iter()
                    .map(|l| {
                        vec![
                            l.number.clone(),
                            l.issued_on.format("%d/%m/%Y").to_string(),
                            l.title.clone(),
                            l.signer_name.clone(),
                            l.recipients.clone(),
                        ]
                    })
                    .collect();
                let head = if *copies { "Số bản sao" } else { "Số, ký hiệu" };
                table(&[head, "Ngày", "Trích yếu", "Người ký", "Nơi nhận"], &rows);
            }
        }
        DocCmd::SignatureImage { citizen_id, png } => {
            svc.set_signature_image(&actor, citizen_id, &read(png)?, now)?;
            println!("Đã lưu hình chữ ký của cán bộ {citizen_id}.");
        }
        DocCmd::SealImage { agency, png, mm } => {
            svc.set_seal_image(&actor, agency, &read(png)?, *mm, now)?;
            println!("Đã lưu hình con dấu của {agency} (đường kính {mm} mm).");
        }
        DocCmd::Sign(a) => return sign(cli, &svc, a, now),
        DocCmd::Receive { file, agency, sender, source, title, number, date, accept_sender_mismatch, trust, offline, keep } => {
            let files = trust.iter().map(|t| read(t)).collect::<Result<Vec<_>, _>>()?;
            let (anchors, intermediates) = crate::verify_cmd::given_trust(cli, &files)?;
            let fetch = |url: &str| crate::http::get(url).ok();
            let with = kyso_service::VerifyWith { anchors, intermediates, crls: vec![], fetch: if *offline { None } else { Some(&fetch) } };
            let inc = kyso_service::Incoming {
                agency_code: agency.clone(),
                sender: sender.clone(),
                source: source.clone(),
                title: title.clone(),
                doc_number: number.clone(),
                doc_date: date.clone(),
                accept_sender_mismatch: *accept_sender_mismatch,
            };
            let r = svc.receive_document(&actor, &inc, file, &with, now)?;
            let refused = r.entry.status == kyso_core::document::IncomingStatus::Refused;
            let deleted = refused && !keep && std::fs::remove_file(file).is_ok();
            if cli.json {
                json(&serde_json::json!({"entry": r.entry, "report": r.report, "deleted": deleted}));
            } else {
                print!("{}", kyso_verify::report::text(&r.report));
                match r.entry.seq {
                    Some(n) => {
                        println!(
                            "Đã vào sổ văn bản đến số {n:02} ngày {}.",
                            r.entry.received_at.with_timezone(&kyso_core::value::vn_offset()).format("%d/%m/%Y")
                        );
                        for w in &r.entry.warnings {
                            println!("Cảnh báo (đã chấp nhận khi vào sổ): {w}");
                        }
                    }
                    None => println!(
                        "Văn bản bị từ chối; đã lập thông báo cho {} kèm lý do.{}",
                        r.entry.sender,
                        if deleted {
                            format!(
                                " Đã xóa {} khỏi nơi tiếp nhận (còn lưu mã băm SHA-256 {} và kết quả kiểm tra).",
                                file.display(),
                                r.entry.sha256
                            )
                        } else {
                            String::new()
                        }
                    ),
                }
            }
            if refused {
                return Ok(ExitCode::from(r.report.indication.exit_code()));
            }
        }
        DocCmd::Incoming { agency, year } => {
            let lines = svc.incoming_register(&actor, agency, *year)?;
            if cli.json {
                json(&lines);
            } else {
                let rows: Vec<Vec<String>> = lines
                    .iter()
                    .map(|l| {
                        let own = match (&l.doc_number, l.doc_date) {
                            (Some(n), Some(d)) => format!("{n}, {}", d.format("%d/%m/%Y")),
                            (Some(n), None) => n.clone(),
                            (None, Some(d)) => d.format("%d/%m/%Y").to_string(),
                            (None, None) => String::new(),
                        };
                        vec![
                            l.seq.map(|n| format!("{n:02}")).unwrap_or_else(|| "—".into()),
                            l.received_at.with_timezone(&kyso_core::value::vn_offset()).format("%d/%m/%Y %H:%M").to_string(),
                            l.sender.clone(),
                            own,
                            l.title.clone(),
                            l.signers.join("; "),
                            l.status.label_vi().to_string(),
                            if l.warnings.is_empty() {
                                l.indication.clone()
                            } else {
                                format!("{} — cảnh báo: {}", l.indication, l.warnings.join("; "))
                            },
                        ]
                    })
                    .collect();
                table(
                    &["Số đến", "Ngày đến", "Nơi gửi", "Số, ký hiệu, ngày", "Trích yếu", "Người ký", "Tình trạng", "Kết quả kiểm tra"],
                    &rows,
                );
            }
        }
        DocCmd::Notice { id, out } => {
            let (n, pdf) = svc.notification_pdf(&actor, *id)?;
            std::fs::write(out, pdf)
                .map_err(|e| kyso_core::DomainError::invalid("out", format!("không ghi được {}: {e}", out.display())))?;
            if cli.json {
                json(&serde_json::json!({"notification": n, "file": out}));
            } else {
                println!("Đã ghi thông báo gửi {} ra {}.", n.recipient, out.display());
            }
        }
        DocCmd::Notifications { agency, all } => {
            let list = svc.notifications(&actor, agency, *all)?;
            if cli.json {
                json(&list);
            } else {
                for n in &list {
                    println!("[{}] Gửi: {}\nTiêu đề: {}\n{}\n", n.id, n.recipient, n.subject, n.body);
                }
                if list.is_empty() {
                    println!("Không có thông báo nào đang chờ gửi.");
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_rect(s: &str) -> Res<(usize, [f64; 4])> {
    let v: Vec<&str> = s.split(',').map(str::trim).collect();
    let bad = || {
        CliError::from(kyso_core::DomainError::invalid("rect", format!("'{s}' không hợp lệ; viết TRANG,X1,Y1,X2,Y2 (điểm, gốc dưới trái)")))
    };
    if v.len() != 5 {
        return Err(bad());
    }
    let page: usize = v[0].parse().map_err(|_| bad())?;
    let mut r = [0.0; 4];
    for (i, x) in v[1..].iter().enumerate() {
        r[i] = x.parse().map_err(|_| bad())?;
    }
    if page == 0 || r[2] <= r[0] || r[3] <= r[1] {
        return Err(bad());
    }
    Ok((page, r))
}

fn options(a: &DocSignArgs, cert: Vec<u8>) -> Res<SignatureOptions> {
    let personal = match (&a.step, a.seal) {
        (Some(s), false) => Some(kyso_core::registry::parse_coded("step", s, PersonalStep::parse, PersonalStep::ALL, PersonalStep::code)?),
        (None, true) => None,
        _ => {
            return Err(kyso_core::DomainError::invalid(
                "step",
                "chọn --step approve|check_content|check_format (ký cá nhân) hoặc --seal (chữ ký của cơ quan)",
            )
            .into())
        }
    };
    let level = match a.level.to_lowercase().as_str() {
        "b" | "b-b" => Level::B,
        "t" | "b-t" => Level::T,
        other => return Err(kyso_core::DomainError::invalid("level", format!("'{other}' không hợp lệ; chọn b hoặc t")).into()),
    };
    if level == Level::T && a.tsa.is_none() {
        return Err(kyso_core::DomainError::invalid("tsa", "mức B-T cần --tsa (địa chỉ http:// hoặc builtin)").into());
    }
    let mut o = SignatureOptions::new(personal, cert);
    o.anchor = a.anchor.clone();
    o.rect = a.rect.as_deref().map(parse_rect).transpose()?;
    o.invisible = a.invisible;
    o.copy_type = a.copy_type.clone();
    o.paper_number = a.paper_number.clone();
    o.recipients = a.recipients.clone();
    o.level = level;
    o.reason = a.reason.clone();
    o.location = a.location.clone();
    Ok(o)
}

/// The newest certificate that is valid now, among `(label, der)`.
fn newest_valid(certs: &[(String, Vec<u8>)], now: DateTime<Utc>) -> Option<Vec<u8>> {
    certs
        .iter()
        .filter_map(|(_, der)| kyso_pki::cert::parse(der).ok().map(|(_, i)| (i, der)))
        .filter(|(i, _)| i.not_before <= now && now <= i.not_after)
        .max_by_key(|(i, _)| i.not_before)
        .map(|(_, d)| d.clone())
}

fn with_tsa<T>(
    cli: &Cli,
    svc: &Service,
    tsa: Option<&str>,
    now: DateTime<Utc>,
    f: impl FnOnce(Option<kyso_pdf::Tsa<'_>>) -> Res<T>,
) -> Res<T> {
    match tsa {
        None => f(None),
        Some("builtin") => {
            let e = env(cli)?;
            let actor = svc.local_operator(&cli.actor)?;
            svc.check_ca_permission(&actor, kyso_core::authz::Permission::OperateCaServices, "ts.stamp", now)?;
            let session = tokens::ca_session(&cli.data, &e.config, svc.profile().pin_retry_limit)?;
            let tsa = move |req: &[u8]| svc.timestamp(&actor, req, &*session, now).map_err(|e| e.to_string());
            f(Some(&tsa))
        }
        Some(url) => {
            let url = url.to_string();
            let tsa: BoxedTsa<'_> = Box::new(move |req: &[u8]| crate::http::post(&url, "application/timestamp-query", req));
            f(Some(&*tsa))
        }
    }
}

fn sign(cli: &Cli, svc: &Service, a: &DocSignArgs, now: DateTime<Utc>) -> Res<ExitCode> {
    let actor = svc.local_operator(&cli.actor)?;
    let doc = match &a.agent {
        Some(url) => {
            let url = url.trim_end_matches('/');
            let (agent_id, secret) = paired_agent(svc, &actor, url)?;
            let server = svc.deployment_id(now)?;
            let certs = match &a.cert {
                Some(p) => vec![("".to_string(), kyso_pki::der_or_pem(&read(p)?).map_err(|e| fail("pki", e.to_string()))?)],
                None => {
                    let r = CertificatesRequest::new(&server, &secret, now);
                    let v = crate::http::post_json(&format!("{url}/certificates"), &serde_json::to_value(&r).expect("serialisable"))
                        .map_err(|e| fail("agent", e))?;
                    let items: Vec<kyso_server::agent::CertificateItem> =
                        serde_json::from_value(v).map_err(|e| fail("agent", e.to_string()))?;
                    items.into_iter().map(|i| Ok((i.label, unb64(&i.cert)?))).collect::<Res<Vec<_>>>()?
                }
            };
            let cert = newest_valid(&certs, now)
                .ok_or_else(|| fail("not_found", format!("tác tử {agent_id} không có chứng thư số nào còn hiệu lực")))?;
            let o = options(a, cert.clone())?;
            let prepared = svc.prepare_signature(&actor, a.id, &o, now)?;
            let req = SignRequest {
                server,
                session: prepared.session.clone(),
                document_title: prepared.document_title.clone(),
                file_name: prepared.file_name.clone(),
                signer: prepared.signer.clone(),
                signed_attrs: b64(&prepared.signed_attrs),
                scheme: prepared.scheme.clone(),
                ts: 0,
                nonce: String::new(),
                mac: String::new(),
            }
            .seal(&secret, now);
            if !cli.json {
                println!("Đã gửi yêu cầu ký tới tác tử {url}; người ký xác nhận và nhập PIN trên máy của mình…");
            }
            let v =
                crate::http::post_json_coded(&format!("{url}/sign"), &serde_json::to_value(&req).expect("serialisable")).map_err(|e| {
                    // The agent saw the token lock: the registry learns it, as from kyso's own token
                    // operations, so that the restore request can be filed.
                    if e.code.as_deref() == Some("token_locked") {
                        if let Ok((_, info)) = kyso_pki::cert::parse(&cert) {
                            tokens::report_locked(cli, &info.serial_hex, now);
                        }
                    }
                    fail("agent", e.message)
                })?;
            let resp: kyso_server::agent::SignResponse = serde_json::from_value(v).map_err(|e| fail("agent", e.to_string()))?;
            let signature = unb64(&resp.signature)?;
            with_tsa(cli, svc, a.tsa.as_deref(), now, |tsa| Ok(svc.complete_signature(&actor, &prepared.session, &signature, tsa, now)?))?
        }
        None => {
            let label = a.label.clone().ok_or_else(|| {
                CliError::from(kyso_core::DomainError::invalid(
                    "label",
                    "cần --label THIẾT_BỊ (ký trên thiết bị cắm vào máy này) hoặc --agent URL",
                ))
            })?;
            let sel = TokenSel { label: label.clone(), pkcs11: a.pkcs11.clone() };
            let r = match &sel.pkcs11 {
                Some(m) => TokenRef::Pkcs11 { module: m.clone(), label: sel.label.clone() },
                None => TokenRef::Software { label: sel.label.clone() },
            };
            let token = tokens::open(&cli.data, &r, svc.profile().pin_retry_limit)?;
            let session = match token.login(&tokens::pin("KYSO_PIN", &format!("Mã PIN của thiết bị '{label}'"))?) {
                Ok(s) => s,
                Err(e) => {
                    if matches!(e, kyso_token::TokenError::Locked) {
                        // The certificates on a token are readable without its PIN.
                        for (_, der) in token.certificates().unwrap_or_default() {
                            if let Ok((_, info)) = kyso_pki::cert::parse(&der) {
                                tokens::report_locked(cli, &info.serial_hex, now);
                            }
                        }
                    }
                    return Err(token_err(e));
                }
            };
            let on_token = token.certificates().map_err(token_err)?;
            let cert = match &a.cert {
                Some(p) => kyso_pki::der_or_pem(&read(p)?).map_err(|e| fail("pki", e.to_string()))?,
                None => newest_valid(&on_token, now).ok_or_else(|| {
                    fail("not_found", format!("thiết bị '{label}' không có chứng thư số nào còn hiệu lực; chỉ rõ --cert"))
                })?,
            };
            let (_, info) = kyso_pki::cert::parse(&cert).map_err(|e| fail("pki", e.to_string()))?;
            // The key whose public key the certificate carries.
            let mut signer = None;
            for k in session.keys().map_err(token_err)? {
                let s = session.signer(&k.label).map_err(token_err)?;
                if s.public_key_spki() == info.spki_der {
                    signer = Some(s);
                    break;
                }
            }
            let signer: Arc<dyn kyso_token::Signer> = match signer {
                Some(s) => s,
                // No matching key: sign with the first one, and let the service refuse it
                // clearly (a certificate that does not match the key).
                None => {
                    let first = session
                        .keys()
                        .map_err(token_err)?
                        .into_iter()
                        .next()
                        .ok_or_else(|| fail("not_found", format!("thiết bị '{label}' không có khóa nào")))?;
                    session.signer(&first.label).map_err(token_err)?
                }
            };
            let o = options(a, cert)?;
            with_tsa(cli, svc, a.tsa.as_deref(), now, |tsa| Ok(svc.sign_document(&actor, a.id, &o, &*signer, tsa, now)?))?
        }
    };
    if cli.json {
        json(&doc);
    } else {
        print!("Đã ký văn bản {} ({}).", doc.id, doc.status.label_vi());
        if let Some(n) = &doc.number {
            print!(" Số, ký hiệu: {n}.");
        }
        println!();
    }
    Ok(ExitCode::SUCCESS)
}

/// The agent at `url` and the secret this deployment shares with it.
fn paired_agent(svc: &Service, actor: &kyso_service::Principal, url: &str) -> Res<(String, Vec<u8>)> {
    let info: AgentInfo = serde_json::from_value(crate::http::get_json(&format!("{url}/")).map_err(|e| fail("agent", e))?)
        .map_err(|e| fail("agent", e.to_string()))?;
    let secret = svc.agent_secret(actor, &info.agent_id)?.ok_or_else(|| CliError {
        code: "forbidden",
        message: format!("máy chủ chưa được ghép nối với tác tử {} tại {url}", info.agent_id),
        rows: vec![],
        hint: Some(format!("chạy 'kyso agent pair --agent {url} --code MÃ' với mã tác tử hiển thị")),
        exit: 1,
    })?;
    Ok((info.agent_id, secret))
}

pub fn agent(cli: &Cli, c: &AgentCmd, now: DateTime<Utc>) -> Res<ExitCode> {
    match c {
        AgentCmd::Pair { agent, code } => {
            let svc = open_service(cli)?;
            let actor = svc.local_operator(&cli.actor)?;
            // Before the agent spends its one-time code.
            svc.check_may_pair_agent(&actor)?;
            let url = agent.trim_end_matches('/');
            let info: AgentInfo = serde_json::from_value(crate::http::get_json(&format!("{url}/")).map_err(|e| fail("agent", e))?)
                .map_err(|e| fail("agent", e.to_string()))?;
            let mut secret = [0u8; 32];
            kyso_token::random_bytes(&mut secret);
            let req = kyso_server::agent::PairRequest {
                server: svc.deployment_id(now)?,
                server_name: format!("kyso – {}", svc.profile().province),
                code: code.clone(),
                secret: b64(&secret),
            };
            crate::http::post_json(&format!("{url}/pair"), &serde_json::to_value(&req).expect("serialisable"))
                .map_err(|e| fail("agent", e))?;
            svc.save_agent_pairing(&actor, &info.agent_id, &secret, now)?;
            if cli.json {
                json(&serde_json::json!({"agent_id": info.agent_id, "paired": true}));
            } else {
                println!("Đã ghép nối với tác tử {} (thiết bị '{}').", info.agent_id, info.token);
            }
            Ok(ExitCode::SUCCESS)
        }
        AgentCmd::Serve { token, listen, pinentry, session } => {
            let r = match &token.pkcs11 {
                Some(m) => TokenRef::Pkcs11 { module: m.clone(), label: token.label.clone() },
                None => TokenRef::Software { label: token.label.clone() },
            };
            let tok: Arc<dyn kyso_token::Token> = Arc::from(tokens::open(&cli.data, &r, 10)?);
            // Certificates are public: read without the PIN, which is asked for each signature.
            let certs: Vec<(String, Vec<u8>, String)> = tok
                .certificates()
                .map_err(token_err)?
                .into_iter()
                .map(|(l, der)| {
                    let subject = kyso_pki::cert::parse(&der).map(|(_, i)| i.subject.to_string()).unwrap_or_default();
                    (l, der, subject)
                })
                .collect();
            // The holder types the PIN here (or in a pinentry window), each time: never from the
            // environment, where any program that starts the agent could put it.
            let program = pinentry.clone();
            let ask: kyso_server::agent::AskPin = Arc::new(move |prompt: &str| match &program {
                Some(p) => tokens::pinentry(p, prompt),
                None => tokens::terminal_pin(prompt),
            });
            let show: kyso_server::agent::Show = Arc::new(|m: &str| println!("{m}"));
            let clock: kyso_server::Clock = Arc::new(move || crate::clock::now().unwrap_or(now));
            let agent = kyso_server::agent::Agent::new(
                tok,
                &token.label,
                certs.clone(),
                cli.data.join("agent").join("agent.json"),
                ask,
                show,
                clock,
            )
            .map_err(|e| env_fail(e.to_string()))?;
            if let Some(s) = session {
                let bad = || env_fail(format!("--session '{s}' không hợp lệ; viết SỐ_CHỮ_KÝ,SỐ_PHÚT, ví dụ 10,30"));
                let (n, m) = s.split_once(',').ok_or_else(bad)?;
                let (n, m): (u32, i64) = (n.trim().parse().map_err(|_| bad())?, m.trim().parse().map_err(|_| bad())?);
                let (left, until) = agent.open_session(n, m).map_err(|e| fail("agent", e.message))?;
                println!(
                    "Đã mở phiên ký: tối đa {left} chữ ký đến {} mà không hỏi lại mã PIN.",
                    until.with_timezone(&chrono::FixedOffset::east_opt(7 * 3600).expect("UTC+7")).format("%H:%M %d/%m/%Y")
                );
            }
            let code = agent.new_pairing_code();
            let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| env_fail(e.to_string()))?;
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind(listen.as_str())
                    .await
                    .map_err(|e| env_fail(format!("không nghe được trên {listen}: {e}")))?;
                let addr = listener.local_addr().map_err(|e| env_fail(e.to_string()))?;
                println!(
                    "Tác tử ký số kyso {} đang chạy tại http://{addr} (thiết bị '{}', {} chứng thư).",
                    agent.agent_id,
                    token.label,
                    certs.len()
                );
                println!("Mã ghép nối (hiệu lực {} phút): {code}", kyso_server::agent::PAIRING_MINUTES);
                use std::io::Write;
                let _ = std::io::stdout().flush();
                kyso_server::agent::serve(Arc::new(agent), listener).await.map_err(|e| env_fail(e.to_string()))
            })?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
