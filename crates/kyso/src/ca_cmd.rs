//! Commands for tokens, the built-in CA, time-stamps and the HTTP server.

use crate::cli::*;
use crate::deployment::{env, open_service};
use crate::error::CliError;
use crate::tokens::{self, token_err, TokenRef};
use crate::{clock, config, output};
use chrono::{DateTime, Utc};
use kyso_core::authz::Permission;
use kyso_core::registry::RequestId;
use kyso_pki::pem;
use kyso_service::CompletionInput;
use kyso_service::{CaConfig, Service};
use kyso_token::pkcs11::Pkcs11Token;
use kyso_token::soft::SoftToken;
use kyso_token::{KeyAlgorithm, Token};
use std::process::ExitCode;
use std::sync::Arc;

type CliResult<T> = Result<T, CliError>;

fn invalid(field: &'static str, msg: impl Into<String>) -> CliError {
    kyso_core::DomainError::invalid(field, msg).into()
}

fn io(e: std::io::Error, what: &str) -> CliError {
    CliError { code: "environment", message: format!("{what}: {e}"), rows: vec![], hint: None, exit: 2 }
}

fn token_ref(t: &TokenSel) -> TokenRef {
    match &t.pkcs11 {
        Some(m) => TokenRef::Pkcs11 { module: m.clone(), label: t.label.clone() },
        None => TokenRef::Software { label: t.label.clone() },
    }
}

/// The wrong-PIN limit: the deployment's profile when there is one, else 10.
fn retry_limit(cli: &Cli) -> u32 {
    open_service(cli).map(|s| s.profile().pin_retry_limit).unwrap_or(10)
}

/// A token made beside a training deployment may use the training cost; any other the standard.
fn token_kdf(cli: &Cli) -> kyso_token::soft::Kdf {
    tokens::kdf_for(open_service(cli).is_ok_and(|s| s.is_training()))
}

fn write_or_print(out: &Option<std::path::PathBuf>, text: &str) -> CliResult<()> {
    match out {
        Some(p) => std::fs::write(p, text).map_err(|e| io(e, &p.display().to_string())),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

pub fn token(cli: &Cli, c: &TokenCmd) -> CliResult<ExitCode> {
    let limit = retry_limit(cli);
    let open = |t: &TokenSel| tokens::open(&cli.data, &token_ref(t), limit);
    let done = |v: serde_json::Value, msg: String| {
        if cli.json {
            output::json(&v);
        } else {
            println!("{msg}");
        }
        Ok(ExitCode::SUCCESS)
    };
    match c {
        TokenCmd::Create(t) => {
            let user = tokens::pin("KYSO_PIN", "Mã PIN người dùng mới")?;
            let so = tokens::pin("KYSO_SO_PIN", "Mã PIN quản trị (SO) mới")?;
            match &t.pkcs11 {
                Some(m) => Pkcs11Token::init(m, &t.label, &so, &user).map_err(token_err)?,
                None => {
                    SoftToken::create(&tokens::tokens_dir(&cli.data), &t.label, &user, &so, limit, token_kdf(cli)).map_err(token_err)?;
                }
            }
            done(
                serde_json::json!({"label": t.label}),
                format!("Đã tạo thiết bị lưu khóa '{}' (khóa sau {limit} lần nhập sai mã PIN).", t.label),
            )
        }
        TokenCmd::Info(t) => {
            let i = open(t)?.info().map_err(token_err)?;
            done(
                serde_json::to_value(&i).expect("serialisable"),
                format!(
                    "{} ({}), số hiệu {}: còn {}/{} lần thử mã PIN{}",
                    i.label,
                    i.kind,
                    i.serial,
                    i.retries_left,
                    i.max_retries,
                    if i.locked { " — ĐÃ BỊ KHÓA" } else { "" }
                ),
            )
        }
        TokenCmd::Keygen { token, key, alg } => {
            let a = KeyAlgorithm::parse(alg)
                .ok_or_else(|| invalid("alg", format!("'{alg}' không hợp lệ; chọn ec-p256, rsa-2048 hoặc rsa-3072")))?;
            let s = open(token)?.login(&tokens::pin("KYSO_PIN", "Mã PIN")?).map_err(token_err)?;
            s.generate_key(key, a).map_err(token_err)?;
            done(
                serde_json::json!({"label": token.label, "key": key, "algorithm": a.code()}),
                format!("Đã sinh cặp khóa '{key}' ({}) trên thiết bị '{}'.", a.code(), token.label),
            )
        }
        TokenCmd::Csr { token, key, subject, out } => {
            let s = open(token)?.login(&tokens::pin("KYSO_PIN", "Mã PIN")?).map_err(token_err)?;
            let signer = s.signer(key).map_err(token_err)?;
            let dn = kyso_pki::name::DistinguishedName::parse(subject).map_err(|e| invalid("subject", e.to_string()))?;
            let der =
                kyso_pki::csr::build(&dn, &*signer, signer.key_algorithm().default_scheme()).map_err(|e| invalid("csr", e.to_string()))?;
            write_or_print(out, &pem("CERTIFICATE REQUEST", &der))?;
            Ok(ExitCode::SUCCESS)
        }
        TokenCmd::Keys(t) => {
            let s = open(t)?.login(&tokens::pin("KYSO_PIN", "Mã PIN")?).map_err(token_err)?;
            let keys = s.keys().map_err(token_err)?;
            done(
                serde_json::to_value(&keys).expect("serialisable"),
                keys.iter().map(|k| format!("{} ({})", k.label, k.algorithm.code())).collect::<Vec<_>>().join("\n"),
            )
        }
        TokenCmd::ChangePin(t) => {
            let old = tokens::pin("KYSO_PIN", "Mã PIN hiện tại")?;
            let new = tokens::pin("KYSO_NEW_PIN", "Mã PIN mới")?;
            open(t)?.change_pin(&old, &new).map_err(token_err)?;
            done(serde_json::json!({"label": t.label}), "Đã đổi mã PIN.".into())
        }
        TokenCmd::Unlock(t) => {
            let so = tokens::pin("KYSO_SO_PIN", "Mã PIN quản trị (SO)")?;
            let new = tokens::pin("KYSO_NEW_PIN", "Mã PIN người dùng mới")?;
            open(t)?.unlock(&so, &new).map_err(token_err)?;
            done(serde_json::json!({"label": t.label}), "Đã mở khóa thiết bị và đặt mã PIN mới.".into())
        }
    }
}

pub fn ca(cli: &Cli, c: &CaCmd, now: DateTime<Utc>) -> CliResult<ExitCode> {
    let e = env(cli)?;
    let svc = open_service(cli)?;
    let actor = svc.local_operator(&cli.actor)?;
    let limit = svc.profile().pin_retry_limit;
    let session_fn = || tokens::ca_session(&cli.data, &e.config, limit);
    let session = session_fn;
    let print = |v: serde_json::Value, msg: String| {
        if cli.json {
            output::json(&v);
        } else {
            println!("{msg}");
        }
        Ok(ExitCode::SUCCESS)
    };
    match c {
        CaCmd::Init { algorithm, base_url, root_token, root_pkcs11 } => {
            let alg = KeyAlgorithm::parse(algorithm)
                .ok_or_else(|| invalid("algorithm", format!("'{algorithm}' không hợp lệ; chọn ec-p256, rsa-2048 hoặc rsa-3072")))?;
            svc.check_ca_permission(&actor, Permission::AdministerCa, "ca.init", now)?;
            tokens::ensure_ca_token(&cli.data, &e.config, limit, tokens::kdf_for(svc.is_training()))?;
            let s = session()?;
            // A training deployment's CA says so in its names; a production one is the province's.
            let names = if svc.is_training() {
                CaConfig::demo(base_url)
            } else {
                let root = svc.root_agency(&actor)?;
                CaConfig::production(base_url, &svc.profile().province, &root.name)
            };
            let cfg = CaConfig { key_algorithm: alg, ..names };
            let root = match root_token {
                Some(l) => {
                    let r = token_ref(&TokenSel { label: l.clone(), pkcs11: root_pkcs11.clone() });
                    Some(tokens::root_session(&cli.data, &r, limit, tokens::kdf_for(svc.is_training()), true)?)
                }
                None => None,
            };
            let certs = svc.ca_init_with_root(&actor, &cfg, &*s, root.as_deref(), now)?;
            svc.ca_crl(&actor, &*s, false, now)?;
            print(
                serde_json::json!({"root": cfg.root_name, "issuing": cfg.issuing_name, "base_url": cfg.base_url}),
                format!(
                    "Đã khởi tạo tổ chức chứng thực:\n  {}\n  {}\nCRL, OCSP và dấu thời gian tại {} (chạy 'kyso serve').",
                    cfg.root_name, cfg.issuing_name, certs.config.base_url
                ),
            )
        }
        CaCmd::RootCrl { root_token, root_pkcs11 } => {
            svc.check_ca_permission(&actor, Permission::AdministerCa, "ca.root_crl", now)?;
            let r = token_ref(&TokenSel { label: root_token.clone(), pkcs11: root_pkcs11.clone() });
            let root = tokens::root_session(&cli.data, &r, limit, tokens::kdf_for(svc.is_training()), false)?;
            let der = svc.ca_root_crl(&actor, &*root, now)?;
            print(
                serde_json::json!({"root_crl_bytes": der.len()}),
                "Đã ký CRL mới của CA gốc (hiệu lực 365 ngày); cất thiết bị CA gốc ngoại tuyến.".into(),
            )
        }
        CaCmd::Show => {
            let certs = svc.ca_certs()?;
            let names: Vec<String> = [&certs.root, &certs.issuing, &certs.ocsp, &certs.tsa]
                .iter()
                .filter_map(|d| kyso_pki::cert::parse(d).ok())
                .map(|(_, i)| format!("{} (số hiệu {}, đến {})", i.subject, i.serial_hex, i.not_after.format("%d/%m/%Y")))
                .collect();
            print(serde_json::json!({"config": certs.config, "certificates": names}), names.join("\n"))
        }
        CaCmd::Issue { request, csr, device, out } => {
            let bytes = std::fs::read(csr).map_err(|e| io(e, &csr.display().to_string()))?;
            svc.check_ca_permission(&actor, Permission::AdministerCa, "ca.issue", now)?;
            let s = session()?;
            let (_, der) = svc.ca_issue(&actor, RequestId(*request), &bytes, device.as_deref(), &*s, now)?;
            write_or_print(out, &pem("CERTIFICATE", &der))?;
            Ok(ExitCode::SUCCESS)
        }
        CaCmd::Revoke { request } => {
            svc.check_ca_permission(&actor, Permission::AdministerCa, "ca.revoke", now)?;
            let s = session()?;
            let q = svc.ca_revoke(&actor, RequestId(*request), &*s, now)?;
            print(serde_json::to_value(&q).expect("serialisable"), format!("Đã thu hồi theo yêu cầu số {}.", q.id))
        }
        CaCmd::Restore { request } => restore(cli, &svc, &actor, RequestId(*request), now),
        CaCmd::Crl { delta, out } => {
            svc.check_ca_permission(&actor, Permission::OperateCaServices, "ca.crl", now)?;
            let s = session()?;
            let der = svc.ca_crl(&actor, &*s, *delta, now)?;
            let text = pem("X509 CRL", &der);
            match out {
                Some(_) => write_or_print(out, &text)?,
                None if !cli.json => print!("{text}"),
                None => output::json(&serde_json::json!({"crl_pem": text})),
            }
            Ok(ExitCode::SUCCESS)
        }
        CaCmd::OcspRefresh => {
            svc.check_ca_permission(&actor, Permission::OperateCaServices, "ca.ocsp_refresh", now)?;
            let s = session()?;
            let n = svc.ca_refresh_ocsp(&actor, &*s, now)?;
            print(serde_json::json!({"responses": n}), format!("Đã tạo lại {n} phản hồi OCSP."))
        }
        CaCmd::Export { out } => export(&svc, out, cli.json),
        CaCmd::Submit { batch, external, out } => {
            let batch = kyso_core::registry::BatchId(*batch);
            let session;
            let connector: Box<dyn kyso_service::CaConnector + '_> = if *external {
                Box::new(kyso_service::FileExchangeCa)
            } else {
                // Refused before the CA's PIN is asked, so that nobody else spends its tries.
                svc.check_ca_permission(&actor, Permission::AdministerCa, "ca.submit", now)?;
                session = session_fn()?;
                Box::new(kyso_service::BuiltInCa { session: &*session })
            };
            match connector.submit(&svc, &actor, batch, now)? {
                kyso_service::Submission::Package(items) => {
                    let out = out.as_ref().ok_or_else(|| invalid("out", "cần --out DIR cho tổ chức chứng thực bên ngoài"))?;
                    std::fs::create_dir_all(out).map_err(|e| io(e, &out.display().to_string()))?;
                    // One row per request with named columns, and one folder per request with
                    // its CSR and its dossier, so that the package can be signed and sent.
                    let mut csv = csv::Writer::from_writer(Vec::new());
                    for (i, it) in items.iter().enumerate() {
                        let folder = format!("yeu-cau-{}", it.request.id);
                        let dir = out.join(&folder);
                        std::fs::create_dir_all(&dir).map_err(|e| io(e, &folder))?;
                        let csr_file = match kyso_service::csr_pem(it) {
                            Some(text) => {
                                std::fs::write(dir.join("csr.pem"), text).map_err(|e| io(e, &format!("{folder}/csr.pem")))?;
                                format!("{folder}/csr.pem")
                            }
                            None => String::new(),
                        };
                        let mut fields = it.dossier();
                        fields.push(("Thư mục hồ sơ", folder.clone()));
                        fields.push(("Tệp CSR", csr_file));
                        let dossier: serde_json::Map<String, serde_json::Value> =
                            fields.iter().map(|(k, v)| (k.to_string(), serde_json::Value::from(v.as_str()))).collect();
                        let json = serde_json::to_string_pretty(&dossier).expect("serialisable");
                        std::fs::write(dir.join("ho-so.json"), json).map_err(|e| io(e, &format!("{folder}/ho-so.json")))?;
                        if i == 0 {
                            csv.write_record(fields.iter().map(|(k, _)| *k)).map_err(|e| invalid("out", e.to_string()))?;
                        }
                        csv.write_record(fields.iter().map(|(_, v)| v.as_str())).map_err(|e| invalid("out", e.to_string()))?;
                    }
                    let csv = csv.into_inner().map_err(|e| invalid("out", e.to_string()))?;
                    std::fs::write(out.join("requests.csv"), csv).map_err(|e| io(e, "requests.csv"))?;
                    print(
                        serde_json::json!({"batch": batch, "requests": items.len(), "out": out}),
                        format!("Đã ghi lô {batch} ({} yêu cầu) cho tổ chức chứng thực bên ngoài vào {}.", items.len(), out.display()),
                    )
                }
                kyso_service::Submission::Done { completed, waiting } => {
                    let msg = std::iter::once(format!("CA tích hợp đã xử lý {} yêu cầu của lô {batch}.", completed.len()))
                        .chain(waiting.iter().map(|(q, why)| format!("  yêu cầu số {} chưa xử lý: {why}", q.id)))
                        .collect::<Vec<_>>()
                        .join("\n");
                    print(
                        serde_json::json!({"completed": completed, "waiting": waiting.iter().map(|(q, w)| serde_json::json!({"request": q.id, "reason": w})).collect::<Vec<_>>()}),
                        msg,
                    )
                }
            }
        }
        CaCmd::Import { files } => {
            let mut inputs = Vec::new();
            for f in files {
                inputs.push((
                    f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                    std::fs::read(f).map_err(|e| io(e, &f.display().to_string()))?,
                ));
            }
            let r = svc.import_from_ca(&actor, &inputs, now)?;
            print(
                serde_json::to_value(&r).expect("serialisable"),
                format!("Đã nhập {} chứng thư số và {} thu hồi từ CRL.", r.issued.len(), r.revoked),
            )
        }
    }
}

fn export(svc: &Service, out: &std::path::Path, json: bool) -> CliResult<ExitCode> {
    std::fs::create_dir_all(out).map_err(|e| io(e, &out.display().to_string()))?;
    let certs = svc.ca_certs()?;
    let w = |name: &str, text: String| std::fs::write(out.join(name), text).map_err(|e| io(e, name));
    w("root.pem", pem("CERTIFICATE", &certs.root))?;
    w("issuing-ca.pem", pem("CERTIFICATE", &certs.issuing))?;
    w("ocsp-responder.pem", pem("CERTIFICATE", &certs.ocsp))?;
    w("tsa.pem", pem("CERTIFICATE", &certs.tsa))?;
    let mut n = 0;
    for der in svc.issued_certificates()? {
        let (_, info) = kyso_pki::cert::parse(&der).map_err(|e| invalid("certificate", e.to_string()))?;
        w(&format!("cert-{}.pem", info.serial_hex), pem("CERTIFICATE", &der))?;
        n += 1;
    }
    if let Some(crl) = svc.latest_crl(false)? {
        w("crl.pem", pem("X509 CRL", &crl))?;
    }
    if json {
        output::json(&serde_json::json!({"out": out, "certificates": n}));
    } else {
        println!("Đã ghi chứng thư CA, {n} chứng thư đã cấp và CRL hiện hành vào {}.", out.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Restores a locked device: the CA's SO unlocks the device's software token and sets the
/// new user PIN, then the request is completed.
fn restore(cli: &Cli, svc: &Service, actor: &kyso_service::Principal, id: RequestId, now: DateTime<Utc>) -> CliResult<ExitCode> {
    let view = svc.request(actor, id)?;
    let dev = view.device.ok_or_else(|| invalid("device", "yêu cầu khôi phục không gắn thiết bị"))?;
    // The right to complete it before any PIN is tried on the token.
    svc.check_ca_permission(actor, Permission::ManageCertificates, "ca.restore", now)?;
    // A software token of the same serial is unlocked here; a physical token is unlocked by
    // the CA's own tool, and the operator records the result.
    if let Ok(t) = SoftToken::open(&tokens::tokens_dir(&cli.data), dev.serial.as_str()) {
        let so = tokens::pin("KYSO_SO_PIN", "Mã PIN quản trị (SO) của thiết bị")?;
        let new = tokens::pin("KYSO_NEW_PIN", "Mã PIN mới cho người dùng")?;
        t.unlock(&so, &new).map_err(token_err)?;
    }
    let q = svc.complete_request(actor, id, &CompletionInput::Restored, now)?;
    if cli.json {
        output::json(&q);
    } else {
        println!("Đã khôi phục thiết bị {} (yêu cầu số {}).", dev.serial, q.id);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn trust(cli: &Cli, c: &TrustCmd, now: DateTime<Utc>) -> CliResult<ExitCode> {
    let svc = open_service(cli)?;
    let actor = svc.local_operator(&cli.actor)?;
    match c {
        TrustCmd::Add { file, note } => {
            let bytes = kyso_pdf::file::read_regular(file).map_err(|e| io(e, &file.display().to_string()))?;
            let a = svc.trust_add(&actor, &bytes, note, now)?;
            if cli.json {
                output::json(&a);
            } else {
                println!("Đã thêm vào kho tin cậy (số {}): {}\n  SHA-256 {}", a.id, a.subject, a.sha256);
            }
        }
        TrustCmd::List => {
            let list = svc.trust_list(&actor)?;
            if cli.json {
                output::json(&list);
            } else {
                let rows: Vec<Vec<String>> = list
                    .iter()
                    .map(|a| {
                        vec![
                            a.id.to_string(),
                            a.subject.clone(),
                            a.note.clone(),
                            a.added_by.clone(),
                            a.added_at.format("%d/%m/%Y").to_string(),
                        ]
                    })
                    .collect();
                output::table(&["Số", "Chứng thư CA", "Nguồn", "Người thêm", "Ngày thêm"], &rows);
            }
        }
        TrustCmd::Remove { id } => {
            svc.trust_remove(&actor, *id, now)?;
            if cli.json {
                output::json(&serde_json::json!({"removed": id}));
            } else {
                println!("Đã gỡ chứng thư số {id} khỏi kho tin cậy.");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn ts(cli: &Cli, c: &TsCmd, now: DateTime<Utc>) -> CliResult<ExitCode> {
    let TsCmd::Stamp { file, url, out } = c;
    let data = std::fs::read(file).map_err(|e| io(e, &file.display().to_string()))?;
    let digest = kyso_token::HashAlg::Sha256.digest(&data);
    let mut nonce = [0u8; 8];
    kyso_token::random_bytes(&mut nonce);
    nonce[0] &= 0x7f;
    let req = kyso_pki::tsp::request(kyso_token::HashAlg::Sha256, &digest, Some(&nonce)).map_err(|e| invalid("request", e.to_string()))?;
    let resp = match url {
        Some(u) => crate::http::post(u, "application/timestamp-query", &req).map_err(|m| CliError {
            code: "network",
            message: m,
            rows: vec![],
            hint: None,
            exit: 2,
        })?,
        None => {
            let e = env(cli)?;
            let svc = open_service(cli)?;
            let actor = svc.local_operator(&cli.actor)?;
            svc.check_ca_permission(&actor, Permission::OperateCaServices, "ts.stamp", now)?;
            let s = tokens::ca_session(&cli.data, &e.config, svc.profile().pin_retry_limit)?;
            svc.timestamp(&actor, &req, &*s, now)?
        }
    };
    kyso_pki::tsp::token_of(&resp).map_err(|e| invalid("response", e.to_string()))?;
    let path = out.clone().unwrap_or_else(|| {
        file.with_extension(format!("{}tsr", file.extension().map(|x| format!("{}.", x.to_string_lossy())).unwrap_or_default()))
    });
    std::fs::write(&path, &resp).map_err(|e| io(e, &path.display().to_string()))?;
    if cli.json {
        output::json(&serde_json::json!({"file": file, "response": path}));
    } else {
        println!("Đã cấp dấu thời gian cho {} → {}", file.display(), path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Logs go to stderr, or to `file` (appended, owner-only), as `tracing` lines with the
/// request id; `KYSO_LOG` (an env-filter such as `info` or `kyso_server=debug`) sets the level.
fn init_logging(file: Option<&std::path::Path>) -> CliResult<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("KYSO_LOG").unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    let r = match file {
        Some(p) => {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map_err(|e| io(e, &format!("không mở được tệp nhật ký {}", p.display())))?;
            builder.with_ansi(false).with_writer(std::sync::Mutex::new(f)).try_init()
        }
        None => builder.with_writer(std::io::stderr).try_init(),
    };
    // Already set (a second server in one process, as in tests): keep the first.
    let _ = r;
    Ok(())
}

pub fn serve(cli: &Cli, a: &ServeArgs) -> CliResult<ExitCode> {
    let e = env(cli)?;
    let mut svc = open_service(cli)?;
    if let (Some(issuer), Some(client_id)) = (&a.oidc_issuer, &a.oidc_client_id) {
        let secret = std::env::var("KYSO_OIDC_CLIENT_SECRET").ok().filter(|s| !s.is_empty());
        let mut config = kyso_service::OidcConfig::new(issuer, client_id, secret);
        config.citizen_id_claim = a.oidc_citizen_id_claim.clone();
        config.mfa_acr = a.oidc_mfa_acr.clone();
        svc.set_oidc(config, crate::http::oidc_client(a.oidc_ca_file.as_deref()).map_err(|m| invalid("oidc", m))?)?;
    }
    // Certificates of other CAs (the government CA's) are checked against the CRLs at their
    // distribution points.
    svc.set_revocation_fetch(std::sync::Arc::new(crate::http::fetch_crl));
    let session = if a.no_ca_token { None } else { Some(tokens::ca_session(&cli.data, &e.config, svc.profile().pin_retry_limit)?) };
    let index = svc.ocsp_index()?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| io(e, "tokio"))?;
    let clock: kyso_server::Clock = Arc::new(|| clock::now().unwrap_or_default());
    init_logging(a.log_file.as_deref())?;
    let web = kyso_server::web::WebConfig {
        secure_cookies: true,
        trusted_proxies: a.trusted_proxies.clone(),
        public_origins: a.public_origins.iter().map(|o| o.trim_end_matches('/').to_string()).collect(),
    };
    let tls = match (&a.tls_cert, &a.tls_key) {
        (Some(c), Some(k)) => {
            let read = |p: &std::path::Path| std::fs::read(p).map_err(|e| io(e, &p.display().to_string()));
            Some(kyso_server::listen::tls_config(&read(c)?, &read(k)?).map_err(|m| invalid("tls", m))?)
        }
        _ => None,
    };
    let mut state = kyso_server::AppState { svc, session, ocsp: std::sync::RwLock::new(index), clock, web, tls: tls.is_some() };
    let r = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(&a.listen).await.map_err(|e| io(e, &format!("không mở được cổng {}", a.listen)))?;
        // A development server on loopback speaks plain HTTP, where a Secure cookie would not
        // come back; anywhere else TLS is in front (a proxy) and the cookie is Secure.
        let loopback = listener.local_addr().is_ok_and(|l| l.ip().is_loopback());
        state.web.secure_cookies = !loopback || tls.is_some();
        let scheme = if tls.is_some() { "https" } else { "http" };
        if state.web.public_origins.is_empty() {
            match listener.local_addr() {
                Ok(l) if loopback => {
                    state.web.public_origins = vec![format!("{scheme}://127.0.0.1:{}", l.port()), format!("{scheme}://localhost:{}", l.port())]
                }
                _ => eprintln!(
                    "kyso serve: chưa khai báo --public-origin; đăng nhập bằng chứng thư số và đăng nhập một lần sẽ bị từ chối cho đến khi khai báo"
                ),
            }
        }
        let state = Arc::new(state);
        eprintln!(
            "kyso serve: {}://{} (đăng nhập /auth/login, API /api/v1/me; CRL /crl/issuing.crl, OCSP /ocsp, TSA /tsa, chứng thư CA /ca/root.crt)",
            if tls.is_some() { "https" } else { "http" },
            a.listen
        );
        let served = kyso_server::serve(state.clone(), listener, std::time::Duration::from_secs(a.refresh_secs), tls).await;
        Ok::<_, CliError>((served, state))
    })?;
    let (served, state) = r;
    // The runtime goes first, so that the last reference to the service (and its PostgreSQL
    // connection, whose drop blocks) is dropped here, outside it.
    drop(rt);
    drop(state);
    served.map_err(|e| io(e, "máy chủ"))?;
    let _ = config::CONFIG_FILE;
    Ok(ExitCode::SUCCESS)
}
