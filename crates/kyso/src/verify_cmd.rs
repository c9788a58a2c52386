//! `kyso cert verify`: one certificate path, RFC 5280 style.

use crate::cli::{CertVerifyArgs, Cli};
use crate::deployment::{open_service, parse_time};
use crate::error::CliError;
use chrono::{DateTime, Utc};
use kyso_pki::path::{self, LeafUsage, PathInput, Revocation};
use std::process::ExitCode;

fn env_fail(message: String) -> CliError {
    CliError { code: "environment", message, rows: vec![], hint: None, exit: 2 }
}

/// A CMS SignedData (DER or PEM): its content type, id-signedData (1.2.840.113549.1.7.2),
/// opens the structure.
fn looks_like_cms(bytes: &[u8]) -> bool {
    const SIGNED_DATA: &[u8] = &[0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];
    kyso_pki::der_or_pem(bytes)
        .is_ok_and(|d| d.first() == Some(&0x30) && d[..d.len().min(24)].windows(SIGNED_DATA.len()).any(|w| w == SIGNED_DATA))
}

fn certs_in(p: &std::path::Path) -> Result<Vec<Vec<u8>>, CliError> {
    let b = kyso_pdf::file::read_regular(p).map_err(|e| env_fail(format!("không đọc được {}: {e}", p.display())))?;
    path::certificates_in(&b).map_err(|e| CliError::from(kyso_core::DomainError::invalid("cert", format!("{}: {e}", p.display()))))
}

use kyso_pki::cert::subject_text as subject;

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
        let b = kyso_pdf::file::read_regular(c).map_err(|e| env_fail(format!("không đọc được {}: {e}", c.display())))?;
        crls.push(kyso_pki::der_or_pem(&b).map_err(|e| CliError::from(kyso_core::DomainError::invalid("crl", e.to_string())))?);
    }
    // A path check holds the certificates to the strict RFC 5280 profile as well.
    let result = path::validate_with(
        &PathInput { leaf: &leaf, intermediates: &intermediates, anchors: &anchors, at, eku, usage: LeafUsage::Any },
        &path::PathOptions { max_depth: a.max_depth, strict_profile: true },
    );
    let (valid, mut reasons, chain) = match result {
        Ok(p) => (true, Vec::new(), p.chain),
        Err(e) => (false, vec![e.message().to_string()], vec![leaf.clone()]),
    };
    // Revocation from the CRLs given, for every certificate below the anchor.
    let mut revocation = Vec::new();
    let mut revoked = false;
    if valid && !crls.is_empty() {
        for pair in chain.windows(2) {
            let checked = path::revocation_checked(&pair[0], &pair[1], &crls, &[]);
            let r = checked.status;
            if let Revocation::Revoked { at: when, .. } = &r {
                if *when <= at {
                    revoked = true;
                    reasons.push(format!("chứng thư '{}' đã bị thu hồi từ {}", subject(&pair[0]), kyso_pdf::decree30::iso_time(*when)));
                }
            }
            // CRLs of the issuer were given but none could be used: no status to rely on.
            if r == Revocation::Unknown && !checked.unusable.is_empty() {
                revoked = true;
                reasons.extend(checked.unusable);
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
                Revocation::Good { source, produced, .. } => {
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

/// The trust anchors, intermediates and CRLs a verification uses: the files given, else the
/// deployment's built-in CA (its root trusted, its issuing CA and latest CRL known).
/// Trust anchors, intermediates and CRLs, as DER.
struct TrustMaterial {
    anchors: Vec<Vec<u8>>,
    intermediates: Vec<Vec<u8>>,
    crls: Vec<Vec<u8>>,
}

/// Certificates, DER.
pub(crate) type Certs = Vec<Vec<u8>>;

/// Trusted roots from files given on the command line, refusing a look-alike of a pinned
/// government root, plus the government Root CA G2 and its issuing CA when the deployment
/// trusts them (`trust_government_g2` in kyso.toml).
pub(crate) fn given_trust(cli: &Cli, files: &[Vec<u8>]) -> Result<(Certs, Certs), CliError> {
    let mut anchors = Vec::new();
    for f in files {
        let certs =
            kyso_pki::path::certificates_in(f).map_err(|e| CliError::from(kyso_core::DomainError::invalid("trust", e.to_string())))?;
        for c in &certs {
            kyso_verify::trust_data::check_pinned(c).map_err(|e| CliError::from(kyso_core::DomainError::invalid("trust", e)))?;
        }
        anchors.extend(certs);
    }
    let mut intermediates = Vec::new();
    if crate::deployment::env(cli)?.config.trust_government_g2 {
        let (root, ca) = kyso_verify::trust_data::government_g2();
        anchors.push(root);
        intermediates.push(ca);
    }
    Ok((anchors, intermediates))
}

fn trust_material(cli: &Cli, a: &crate::cli::VerifyArgs) -> Result<TrustMaterial, CliError> {
    let mut files = Vec::new();
    for t in &a.trust {
        files.push(kyso_pdf::file::read_regular(t).map_err(|e| env_fail(format!("không đọc được {}: {e}", t.display())))?);
    }
    let (mut anchors, mut intermediates) = given_trust(cli, &files)?;
    for c in &a.chain {
        intermediates.extend(certs_in(c)?);
    }
    let mut crls = Vec::new();
    for c in &a.crl {
        let b = kyso_pdf::file::read_regular(c).map_err(|e| env_fail(format!("không đọc được {}: {e}", c.display())))?;
        crls.push(kyso_pki::der_or_pem(&b).map_err(|e| CliError::from(kyso_core::DomainError::invalid("crl", e.to_string())))?);
    }
    if let Ok(svc) = open_service(cli) {
        for a in &anchors {
            svc.check_trust_anchor(a)?;
        }
        // The deployment's trust store (with the built-in CA's root), unless --trust names the
        // roots to judge by for this one check.
        if a.trust.is_empty() {
            anchors.extend(svc.trusted_anchors()?);
        }
        if let Ok(certs) = svc.ca_certs() {
            intermediates.push(certs.issuing.clone());
            if let Ok(Some(crl)) = svc.latest_crl(false) {
                crls.push(crl);
            }
            if let Ok(Some(crl)) = svc.root_crl() {
                crls.push(crl);
            }
        }
    }
    if anchors.is_empty() {
        return Err(CliError::from(kyso_core::DomainError::invalid(
            "trust",
            "chưa có chứng thư gốc tin cậy: chỉ rõ --trust GỐC.pem (ví dụ chứng thư Root CA chuyên dùng Chính phủ G2)",
        )));
    }
    Ok(TrustMaterial { anchors, intermediates, crls })
}

pub fn verify(cli: &Cli, a: &crate::cli::VerifyArgs, now: DateTime<Utc>) -> Result<ExitCode, CliError> {
    let TrustMaterial { anchors, intermediates, crls } = trust_material(cli, a)?;
    let at = match &a.at {
        Some(t) => parse_time("at", t)?,
        None => now,
    };
    let fetch = |url: &str| crate::http::get(url).ok();
    let policy = kyso_verify::Policy {
        anchors,
        intermediates,
        crls,
        ocsps: vec![],
        at,
        fetch: if a.offline { None } else { Some(&fetch) },
        revocation: if a.soft_fail { kyso_verify::RevocationMode::SoftFail } else { kyso_verify::RevocationMode::Require },
    };
    let name = a.file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mapped = kyso_pdf::file::Mapped::open(&a.file).map_err(|e| env_fail(e.to_string()))?;
    let bytes = mapped.bytes();
    let report = if bytes.starts_with(b"%PDF-") {
        kyso_verify::validate_pdf(&name, bytes, &policy)
    } else {
        // Neither a PDF nor a detached signature: bad input (exit 1), not a broken environment.
        if !looks_like_cms(bytes) {
            return Err(kyso_core::DomainError::invalid(
                "file",
                format!("{name} không phải tệp PDF, cũng không phải chữ ký số tách rời (CMS/PKCS#7, .p7s)"),
            )
            .into());
        }
        let content = a.content.clone().unwrap_or_else(|| a.file.with_extension(""));
        let mut h = kyso_pdf::sign::Hasher::new(kyso_token::HashAlg::Sha256);
        let mut f = kyso_pdf::file::open_regular(&content)
            .map_err(|e| env_fail(format!("không mở được nội dung được ký {}: {e} (chỉ rõ --content)", content.display())))?;
        let size = f.metadata().map(|m| m.len()).unwrap_or(0);
        h.update_from(&mut f).map_err(|e| env_fail(e.to_string()))?;
        let sha = hex::encode(h.finish());
        let digest_for = |alg: kyso_token::HashAlg| -> Vec<u8> {
            let mut h = kyso_pdf::sign::Hasher::new(alg);
            if let Ok(mut f) = kyso_pdf::file::open_regular(&content) {
                let _ = h.update_from(&mut f);
            }
            h.finish()
        };
        let file = content.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        kyso_verify::validate_cms(&name, bytes, kyso_verify::ContentFile { file, sha256: sha, size }, &digest_for, &policy)
    };
    if let Some(p) = &a.html {
        std::fs::write(p, kyso_verify::report::html(&report)).map_err(|e| env_fail(format!("không ghi được {}: {e}", p.display())))?;
    }
    if let Some(p) = &a.pdf {
        let pdf = kyso_verify::report::pdf(&report).map_err(|e| env_fail(e.to_string()))?;
        std::fs::write(p, pdf).map_err(|e| env_fail(format!("không ghi được {}: {e}", p.display())))?;
    }
    if cli.json {
        crate::output::json(&report);
    } else {
        print!("{}", kyso_verify::report::text(&report));
    }
    Ok(ExitCode::from(report.indication.exit_code()))
}
