//! `kyso cert verify`: one certificate path, RFC 5280 style.

use crate::cli::{CertVerifyArgs, Cli};
use crate::commands::{open_service, parse_time, CliError};
use chrono::{DateTime, Utc};
use kyso_pki::path::{self, LeafUsage, PathInput, Revocation};
use std::process::ExitCode;

fn env_fail(message: String) -> CliError {
    CliError { code: "environment", message, rows: vec![], hint: None, exit: 2 }
}

fn certs_in(p: &std::path::Path) -> Result<Vec<Vec<u8>>, CliError> {
    let b = std::fs::read(p).map_err(|e| env_fail(format!("không đọc được {}: {e}", p.display())))?;
    path::certificates_in(&b).map_err(|e| CliError::from(kyso_core::DomainError::invalid("cert", format!("{}: {e}", p.display()))))
}

fn subject(der: &[u8]) -> String {
    kyso_pki::cert::parse(der).map(|(_, i)| i.subject.to_string()).unwrap_or_default()
}

pub fn cert_verify(cli: &Cli, a: &CertVerifyArgs, now: DateTime<Utc>) -> Result<ExitCode, CliError> {
    let leaf = certs_in(&a.cert)?
        .into_iter()
        .next()
        .ok_or_else(|| CliError::from(kyso_core::DomainError::invalid("cert", "tệp không có chứng thư")))?;
    let mut intermediates = Vec::new();
    for c in &a.chain {
        intermediates.extend(certs_in(c)?);
    }
    let mut anchors = Vec::new();
    for t in &a.trust {
        anchors.extend(certs_in(t)?);
    }
    if anchors.is_empty() {
        // The deployment's built-in CA: its root is the anchor, its issuing CA an intermediate.
        let svc = open_service(cli).map_err(|_| {
            CliError::from(kyso_core::DomainError::invalid(
                "trust",
                "chưa có chứng thư gốc tin cậy: chỉ rõ --trust GỐC.pem (hoặc dùng trong một hệ thống có CA tích hợp)",
            ))
        })?;
        let certs = svc.ca_certs()?;
        anchors.push(certs.root);
        intermediates.push(certs.issuing);
    }
    let at = match &a.at {
        Some(t) => parse_time("at", t)?,
        None => now,
    };
    let eku = a
        .eku
        .as_deref()
        .map(|s| {
            s.parse::<const_oid::ObjectIdentifier>().map_err(|_| {
                CliError::from(kyso_core::DomainError::invalid("eku", format!("'{s}' không phải OID (ví dụ 1.3.6.1.5.5.7.3.4)")))
            })
        })
        .transpose()?;
    let mut crls = Vec::new();
    for c in &a.crl {
        let b = std::fs::read(c).map_err(|e| env_fail(format!("không đọc được {}: {e}", c.display())))?;
        crls.push(kyso_pki::der_or_pem(&b).map_err(|e| CliError::from(kyso_core::DomainError::invalid("crl", e.to_string())))?);
    }
    let result =
        path::validate(&PathInput { leaf: &leaf, intermediates: &intermediates, anchors: &anchors, at, eku, usage: LeafUsage::Any });
    let (valid, mut reasons, chain) = match result {
        Ok(p) => (true, Vec::new(), p.chain),
        Err(e) => (false, vec![e.message().to_string()], vec![leaf.clone()]),
    };
    // Revocation from the CRLs given, for every certificate below the anchor.
    let mut revocation = Vec::new();
    let mut revoked = false;
    if valid && !crls.is_empty() {
        for pair in chain.windows(2) {
            let r = path::revocation(&pair[0], &pair[1], &crls, &[]);
            if let Revocation::Revoked { at: when, .. } = &r {
                if *when <= at {
                    revoked = true;
                    reasons.push(format!("chứng thư '{}' đã bị thu hồi từ {}", subject(&pair[0]), kyso_pdf::decree30::iso_time(*when)));
                }
            }
            revocation.push((subject(&pair[0]), r));
        }
    }
    let ok = valid && !revoked;
    if cli.json {
        crate::output::json(&serde_json::json!({
            "valid": ok,
            "at": at,
            "chain": chain.iter().map(|c| subject(c)).collect::<Vec<_>>(),
            "revocation": revocation.iter().map(|(s, r)| serde_json::json!({"subject": s, "result": r})).collect::<Vec<_>>(),
            "reasons": reasons,
        }));
    } else {
        let when = kyso_pdf::decree30::iso_time(at);
        if ok {
            println!("Đường dẫn chứng thư HỢP LỆ tại {when}:");
        } else {
            println!("Đường dẫn chứng thư KHÔNG HỢP LỆ tại {when}:");
        }
        for c in &chain {
            println!("  {}", subject(c));
        }
        for (s, r) in &revocation {
            let said = match r {
                Revocation::Good { source, produced } => {
                    format!("chưa bị thu hồi ({source} lúc {})", kyso_pdf::decree30::iso_time(*produced))
                }
                Revocation::Revoked { at, .. } => format!("bị thu hồi lúc {}", kyso_pdf::decree30::iso_time(*at)),
                Revocation::Unknown => "không có thông tin thu hồi trong các CRL đã cho".into(),
            };
            println!("  Thu hồi: {s}: {said}");
        }
        for r in &reasons {
            println!("  Lý do: {r}");
        }
    }
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
