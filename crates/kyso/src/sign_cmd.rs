//! `kyso sign`: a PDF (PAdES B-B/B-T) or any file (detached CAdES) signed with a key on a
//! local token. The input file is never modified.

use crate::cli::{Cli, SignArgs, TokenSel};
use crate::deployment::{env, open_service};
use crate::error::CliError;
use crate::tokens::{self, token_err, TokenRef};
use chrono::{DateTime, Utc};
use kyso_pdf::{FieldSpec, Level, PdfError, SignerInfo, DEFAULT_CONTENTS};
use sha2::Digest;
use std::io::Read;
use std::process::ExitCode;

/// A time-stamp authority as a boxed function (a URL or the built-in TSA).
type BoxedTsa<'a> = Box<dyn Fn(&[u8]) -> Result<Vec<u8>, String> + 'a>;

fn fail(code: &'static str, msg: String, exit: u8) -> CliError {
    CliError { code, message: msg, rows: vec![], hint: None, exit }
}

fn pdf_err(e: PdfError) -> CliError {
    match e {
        PdfError::Token(t) => token_err(t),
        other => fail("pdf", other.to_string(), 1),
    }
}

fn read(p: &std::path::Path) -> Result<Vec<u8>, CliError> {
    kyso_pdf::file::read_regular(p).map_err(|e| fail("environment", format!("không đọc được {}: {e}", p.display()), 2))
}

fn token_ref(t: &TokenSel) -> TokenRef {
    match &t.pkcs11 {
        Some(m) => TokenRef::Pkcs11 { module: m.clone(), label: t.label.clone() },
        None => TokenRef::Software { label: t.label.clone() },
    }
}

fn refuse_same(input: &std::path::Path, out: &std::path::Path) -> Result<(), CliError> {
    let same = out == input || std::fs::canonicalize(out).ok().is_some_and(|o| std::fs::canonicalize(input).ok() == Some(o));
    if same {
        return Err(kyso_core::DomainError::invalid("out", "tệp kết quả phải khác tệp gốc (tệp gốc không bị sửa)").into());
    }
    Ok(())
}

/// The certificates of a signature and of its time-stamp, with a CRL for each certificate
/// that has an issuer: the built-in CA's own latest CRL, else fetched from the certificate's
/// distribution points. What cannot be found is said on stderr (the signature stays B-T+DSS).
fn validation_data(svc: Option<&kyso_service::Service>, cms: &[u8]) -> kyso_pdf::ltv::ValidationData {
    let mut certs = kyso_pki::cms::certificates_of(cms).unwrap_or_default();
    if let Ok(Some(token)) = kyso_pki::cms::signature_time_stamp_token(cms) {
        certs.extend(kyso_pki::cms::certificates_of(&token).unwrap_or_default());
    }
    let builtin = svc.and_then(|s| s.ca_certs().ok());
    if let Some(b) = &builtin {
        certs.push(b.root.clone());
        certs.push(b.issuing.clone());
    }
    certs.sort();
    certs.dedup();
    let mut crls: Vec<Vec<u8>> = Vec::new();
    for c in &certs {
        let Ok((_, info)) = kyso_pki::cert::parse(c) else { continue };
        if info.subject_der == info.issuer_der {
            continue;
        }
        let from_builtin = builtin.as_ref().and_then(|b| {
            let (_, issuing) = kyso_pki::cert::parse(&b.issuing).ok()?;
            let (_, root) = kyso_pki::cert::parse(&b.root).ok()?;
            if issuing.subject_der == info.issuer_der {
                svc?.latest_crl(false).ok().flatten()
            } else if root.subject_der == info.issuer_der {
                svc?.root_crl().ok().flatten()
            } else {
                None
            }
        });
        match from_builtin {
            Some(crl) => crls.push(crl),
            None => {
                let urls = kyso_pki::cert::crl_urls(c).unwrap_or_default();
                let fetched = urls.iter().find_map(|u| crate::http::get(u).ok());
                match fetched {
                    Some(crl) => crls.push(crl),
                    None => eprintln!(
                        "Cảnh báo: không có danh sách thu hồi cho '{}' (B-LT thiếu dữ liệu thu hồi của chứng thư này)",
                        info.subject
                    ),
                }
            }
        }
    }
    crls.sort();
    crls.dedup();
    kyso_pdf::ltv::ValidationData { certs, crls, ocsps: vec![] }
}

pub fn sign(cli: &Cli, a: &SignArgs, now: DateTime<Utc>) -> Result<ExitCode, CliError> {
    // B-LT and B-LTA start as B-T, then add the DSS (and the document time-stamp).
    let (level, lt, lta) = match a.level.to_lowercase().as_str() {
        "b" | "b-b" => (Level::B, false, false),
        "t" | "b-t" => (Level::T, false, false),
        "lt" | "b-lt" => (Level::T, true, false),
        "lta" | "b-lta" => (Level::T, true, true),
        other => return Err(kyso_core::DomainError::invalid("level", format!("'{other}' không hợp lệ; chọn b, t, lt hoặc lta")).into()),
    };
    if (lt || lta) && a.detached {
        return Err(kyso_core::DomainError::invalid("level", "B-LT, B-LTA chỉ dành cho PDF; chữ ký tách rời dùng b hoặc t").into());
    }
    if level == Level::T && a.tsa.is_none() {
        return Err(kyso_core::DomainError::invalid("tsa", "mức B-T cần --tsa (địa chỉ http:// hoặc builtin)").into());
    }
    let cert = kyso_pki::der_or_pem(&read(&a.cert)?).map_err(|e| fail("pki", e.to_string(), 1))?;
    let mut chain = Vec::new();
    for c in &a.chain {
        chain.push(kyso_pki::der_or_pem(&read(c)?).map_err(|e| fail("pki", e.to_string(), 1))?);
    }
    // A certificate that the registry knows to be revoked cannot sign.
    let (_, info) = kyso_pki::cert::parse(&cert).map_err(|e| fail("pki", e.to_string(), 1))?;
    if let Ok(svc) = open_service(cli) {
        if let Ok(actor) = svc.local_operator(&cli.actor) {
            if let Ok(rec) = svc.certificate(&actor, &info.serial_hex) {
                if rec.revoked_at.is_some_and(|t| t <= now) {
                    return Err(fail("revoked", format!("chứng thư số {} đã bị thu hồi; không được dùng để ký", info.serial_hex), 1));
                }
            }
        }
    }
    let limit = open_service(cli).map(|s| s.profile().pin_retry_limit).unwrap_or(10);
    let token = tokens::open(&cli.data, &token_ref(&a.token), limit)?;
    let session = match token.login(&tokens::pin("KYSO_PIN", &format!("Mã PIN của thiết bị '{}'", a.token.label))?) {
        Ok(s) => s,
        Err(e) => {
            if matches!(e, kyso_token::TokenError::Locked) {
                tokens::report_locked(cli, &info.serial_hex, now);
            }
            return Err(token_err(e));
        }
    };
    let signer = match &a.key {
        Some(k) => session.signer(k).map_err(token_err)?,
        None => {
            let mut found = None;
            for k in session.keys().map_err(token_err)? {
                let s = session.signer(&k.label).map_err(token_err)?;
                if s.public_key_spki() == info.spki_der {
                    found = Some(s);
                    break;
                }
            }
            found.ok_or_else(|| {
                fail("not_found", format!("thiết bị '{}' không có khóa nào khớp với chứng thư của {}", a.token.label, info.subject), 1)
            })?
        }
    };
    let who = SignerInfo { signer: &*signer, cert: &cert, chain: &chain };
    kyso_pdf::check_signer(&who, now).map_err(pdf_err)?;

    let ca_session;
    let svc_for_tsa;
    let tsa_fn: Option<BoxedTsa<'_>> = match a.tsa.as_deref() {
        None => None,
        Some("builtin") => {
            let e = env(cli)?;
            svc_for_tsa = open_service(cli)?;
            let actor = svc_for_tsa.local_operator(&cli.actor)?;
            svc_for_tsa.check_ca_permission(&actor, kyso_core::authz::Permission::OperateCaServices, "ts.stamp", now)?;
            ca_session = tokens::ca_session(&cli.data, &e.config, svc_for_tsa.profile().pin_retry_limit)?;
            let (svc, s) = (&svc_for_tsa, &ca_session);
            Some(Box::new(move |req: &[u8]| svc.timestamp(&actor, req, &**s, now).map_err(|e| e.to_string())))
        }
        Some(url) => {
            let url = url.to_string();
            Some(Box::new(move |req: &[u8]| crate::http::post(&url, "application/timestamp-query", req)))
        }
    };
    let tsa = tsa_fn.as_deref();
    let out_path = if a.detached {
        // Hash as a stream: the file is not held twice.
        let mut h = sha2::Sha256::new();
        let mut f = std::fs::File::open(&a.file).map_err(|e| fail("environment", e.to_string(), 2))?;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = f.read(&mut buf).map_err(|e| fail("environment", e.to_string(), 2))?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
        let cms = kyso_pdf::cms_signature(h.finalize().to_vec(), &who, level, tsa).map_err(pdf_err)?;
        let out_path = a.out.clone().unwrap_or_else(|| {
            a.file.with_extension(format!("{}p7s", a.file.extension().map(|x| format!("{}.", x.to_string_lossy())).unwrap_or_default()))
        });
        refuse_same(&a.file, &out_path)?;
        std::fs::write(&out_path, cms).map_err(|e| fail("environment", format!("không ghi được {}: {e}", out_path.display()), 2))?;
        out_path
    } else {
        let spec = FieldSpec {
            page: a.page,
            name: a.field.clone(),
            placement: kyso_pdf::Placement::Invisible,
            appearance: None,
            reason: a.reason.clone(),
            location: a.location.clone(),
            signing_time: now,
            contents_size: DEFAULT_CONTENTS,
            sub_filter: "ETSI.CAdES.detached",
            fills: vec![],
        };
        let default = a
            .file
            .with_file_name(format!("{}-signed.pdf", a.file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()));
        let out_path = a.out.clone().unwrap_or(default);
        refuse_same(&a.file, &out_path)?;
        // Streamed: a large file is mapped for parsing, hashed by reads and copied in the kernel.
        kyso_pdf::file::sign_file(&a.file, &out_path, &spec, &who, level, tsa).map_err(pdf_err)?;
        if lt {
            let tsa = tsa.expect("B-T has a TSA");
            let signed = read(&out_path)?;
            let checks = kyso_pdf::verify::check_signatures(&signed).map_err(pdf_err)?;
            let last = checks.last().ok_or_else(|| fail("pdf", "không thấy chữ ký vừa ký".into(), 1))?;
            let svc = open_service(cli).ok();
            let vd = validation_data(svc.as_ref(), &last.cms);
            let mut out = kyso_pdf::ltv::add_dss(&signed, &vd).map_err(pdf_err)?;
            if lta {
                out = kyso_pdf::ltv::add_document_timestamp(&out, tsa, "Dấu thời gian tài liệu").map_err(pdf_err)?;
            }
            std::fs::write(&out_path, out).map_err(|e| fail("environment", format!("không ghi được {}: {e}", out_path.display()), 2))?;
        }
        out_path
    };
    if cli.json {
        crate::output::json(&serde_json::json!({"out": out_path, "signer": info.subject.to_string(), "detached": a.detached}));
    } else {
        println!("Đã ký {} bằng chứng thư của {} → {}", a.file.display(), info.subject, out_path.display());
    }
    Ok(ExitCode::SUCCESS)
}
