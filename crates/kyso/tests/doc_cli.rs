//! Documents end to end: the demo's signed samples pass pdfsig, pyHanko, OpenSSL and qpdf;
//! the local agent signs only for its paired server and asks for the PIN on its side. The
//! tools come through kyso-testkit: a missing one skips its checks, or fails under
//! KYSO_TEST_REQUIRE_*.

mod common;

use common::start_agent;
use kyso_testkit::system_tool as tool;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn kyso(args: &[&str], data: &Path, envs: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kyso"));
    c.args(args).arg("--data").arg(data).env_remove("KYSO_DB").env_remove("KYSO_USER").env_remove("KYSO_CA_PIN").env_remove("KYSO_PIN");
    for (k, v) in envs {
        c.env(k, v);
    }
    c.stdin(Stdio::null()).output().expect("kyso runs")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// Runs a tool found by kyso-testkit in `dir`: success and the output.
fn run(dir: &Path, prog: &Path, args: &[&str]) -> (bool, String) {
    let o = Command::new(prog).current_dir(dir).args(args).output().unwrap_or_else(|e| panic!("{}: {e}", prog.display()));
    (o.status.success(), text(&o))
}

/// A demo deployment, made once per test binary run.
fn demo() -> (tempfile::TempDir, serde_json::Value) {
    let d = tempfile::tempdir().unwrap();
    let o = kyso(&["demo", "--json"], d.path(), &[]);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    (d, v)
}

#[test]
fn demo_documents_pass_pdfsig_pyhanko_openssl_and_qpdf() {
    let (d, v) = demo();
    let docs = d.path().join("documents");
    let files = v["documents"].as_array().unwrap();
    assert_eq!(files.len(), 7, "{v}");
    let (qpdf, openssl, hanko) = (tool("qpdf"), tool("openssl"), kyso_testkit::pyhanko());
    let pdfsig = tool("certutil").zip(tool("pdfsig")).map(|(certutil, pdfsig)| {
        std::fs::create_dir_all(docs.join("nss")).unwrap();
        run(&docs, &certutil, &["-N", "-d", "sql:nss", "--empty-password"]);
        let (ok, out) = run(&docs, &certutil, &["-A", "-d", "sql:nss", "-n", "root", "-t", "CT,C,C", "-i", "root.pem"]);
        assert!(ok, "{out}");
        pdfsig
    });
    for f in files {
        let path = PathBuf::from(f["file"].as_str().unwrap());
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let bytes = std::fs::read(&path).unwrap();
        let checks = kyso_pdf::verify::check_signatures(&bytes).unwrap();
        let n = checks.len();
        assert!(checks.iter().all(|c| c.is_intact()), "{name}: {:?}", checks.iter().map(|c| c.summary()).collect::<Vec<_>>());
        if let Some(qpdf) = &qpdf {
            let (ok, out) = run(&docs, qpdf, &["--check", &name]);
            assert!(ok && out.contains("No syntax or stream encoding errors"), "{name}: {out}");
        }
        // The certificates name an OCSP responder that is not running here.
        if let Some(pdfsig) = &pdfsig {
            let (_, out) = run(&docs, pdfsig, &["-no-ocsp", "-nssdir", "sql:nss", &name]);
            assert_eq!(out.matches("Signature is Valid.").count(), n, "{name}: {out}");
            assert_eq!(out.matches("Certificate is Trusted.").count(), n, "{name}: {out}");
            assert!(out.contains("Total document signed"), "{name}: {out}");
        }
        if let Some(hanko) = &hanko {
            let (ok, out) = run(
                &docs,
                hanko,
                &["sign", "validate", "--pretty-print", "--trust", "root.pem", "--trust-replace", "--no-revocation-check", &name],
            );
            assert!(ok, "{name}: {out}");
            assert_eq!(out.matches("The signature is judged VALID.").count(), n, "{name}: {out}");
            assert_eq!(out.matches("All modifications relate to signing and form filling operations").count(), n - 1, "{name}: {out}");
        }
        // Each CMS on its own, with OpenSSL, over the bytes its /ByteRange covers.
        let Some(openssl) = &openssl else { continue };
        let tmp = tempfile::tempdir().unwrap();
        for (i, c) in checks.iter().enumerate() {
            let [_, a, b, len] = c.byte_range;
            let content = [&bytes[..a], &bytes[b..b + len]].concat();
            let hex: Vec<u8> = bytes[a + 1..b - 1].to_vec();
            let der = hex_decode(&hex);
            let der = kyso_pki::cms::der_prefix(&der).unwrap().to_vec();
            std::fs::write(tmp.path().join(format!("s{i}.der")), der).unwrap();
            std::fs::write(tmp.path().join(format!("c{i}.bin")), content).unwrap();
            std::fs::copy(docs.join("root.pem"), tmp.path().join("root.pem")).unwrap();
            let (ok, out) = run(
                tmp.path(),
                openssl,
                &[
                    "cms",
                    "-verify",
                    "-binary",
                    "-inform",
                    "DER",
                    "-in",
                    &format!("s{i}.der"),
                    "-content",
                    &format!("c{i}.bin"),
                    "-CAfile",
                    "root.pem",
                    "-purpose",
                    "any",
                    "-out",
                    "/dev/null",
                ],
            );
            assert!(ok && out.contains("Verification successful"), "{name} #{i}: {out}");
        }
    }
    // The register and the report figure.
    let o = kyso(&["doc", "register", "--agency", "SNV", "--year", &chrono_year(), "--json", "--as", "vanthu.snv"], d.path(), &[]);
    assert!(o.status.success(), "{}", text(&o));
    let lines: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let numbers: Vec<&str> = lines.as_array().unwrap().iter().map(|l| l["number"].as_str().unwrap()).collect();
    assert!(numbers.contains(&"215/SNV-VP") && numbers.iter().any(|n| n.ends_with("/QĐ-SNV")), "{numbers:?}");
}

fn chrono_year() -> String {
    #[allow(clippy::disallowed_methods)]
    let now = chrono::Utc::now();
    now.format("%Y").to_string()
}

fn hex_decode(h: &[u8]) -> Vec<u8> {
    let h: Vec<u8> = h.iter().copied().filter(u8::is_ascii_hexdigit).collect();
    h.chunks(2).map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 16).unwrap()).collect()
}

/// Registers `draft` at SNV as an internal document titled `title`, as its records clerk; its id.
fn add_internal(data: &Path, draft: &Path, title: &str) -> String {
    let args =
        ["doc", "add", draft.to_str().unwrap(), "--agency", "SNV", "--kind", "internal", "--title", title, "--json", "--as", "vanthu.snv"];
    let o = kyso(&args, data, &[]);
    assert!(o.status.success(), "{}", text(&o));
    serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()["id"].as_i64().unwrap().to_string()
}

#[test]
fn the_agent_signs_only_for_its_paired_server_and_asks_for_the_pin_locally() {
    let (d, v) = demo();
    let signer = &v["signers"][0];
    let (login, token) = (signer["login"].as_str().unwrap(), signer["token"].as_str().unwrap());
    // A draft minutes, signed by the director through the agent.
    let draft = d.path().join("bien-ban.pdf");
    std::fs::write(&draft, kyso_pdf::draft::text_pdf(&[vec![]]).unwrap()).unwrap();
    let id = add_internal(d.path(), &draft, "Biên bản họp thử nghiệm");
    let agent = start_agent(d.path(), token, Some(&["123456"]), &[]);
    let sign = |url: &str| kyso(&["doc", "sign", &id, "--step", "approve", "--invisible", "--agent", url, "--as", login], d.path(), &[]);
    // Not paired yet: refused, nothing signed.
    let o = sign(&agent.url);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("chưa được ghép nối"), "{}", text(&o));
    // A wrong pairing code is refused; the right one pairs.
    let o = kyso(&["agent", "pair", "--agent", &agent.url, "--code", "000000x", "--as", login], d.path(), &[]);
    assert!(!o.status.success() && text(&o).contains("mã ghép nối không đúng"), "{}", text(&o));
    // Regression (issue 11, finding 6): `save_agent_pairing` checked no permission. An account
    // pairs an agent only for its own person (IT staff's account has none).
    let o = kyso(&["agent", "pair", "--agent", &agent.url, "--code", &agent.code, "--as", "admin"], d.path(), &[]);
    assert!(!o.status.success() && text(&o).contains("chính người ký"), "{}", text(&o));
    let o = kyso(&["agent", "pair", "--agent", &agent.url, "--code", &agent.code, "--as", login], d.path(), &[]);
    assert!(o.status.success(), "{}", text(&o));
    // The pairing secret is kept sealed, not in clear, in the database.
    let db = std::fs::read(d.path().join("kyso.db")).unwrap();
    assert!(!String::from_utf8_lossy(&db).contains("BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc"));
    // Another official cannot sign through this agent.
    let o = kyso(
        &[
            "doc",
            "sign",
            &id,
            "--step",
            "approve",
            "--invisible",
            "--agent",
            &agent.url,
            "--as",
            v["signers"][1]["login"].as_str().unwrap(),
        ],
        d.path(),
        &[],
    );
    assert!(!o.status.success() && text(&o).contains("cán bộ khác"), "{}", text(&o));
    let o = sign(&agent.url);
    assert!(o.status.success(), "{}", text(&o));
    // The holder saw what was signed.
    let seen: Vec<String> = agent.lines.try_iter().collect();
    let seen = seen.join("\n");
    assert!(seen.contains("Biên bản họp thử nghiệm") && seen.contains("Chứng thư trên thiết bị") && seen.contains("Đã ký"), "{seen}");
    let o = kyso(&["doc", "show", &id, "--json", "--as", "vanthu.snv"], d.path(), &[]);
    let shown: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(shown["signatures"].as_array().unwrap().len(), 1, "{shown}");
    drop(agent);

    // The specialist's agent, whose holder types a wrong PIN: refused, the document unchanged.
    let checker = &v["signers"][2];
    let agent = start_agent(d.path(), checker["token"].as_str().unwrap(), Some(&["999999"; 14]), &[]);
    let o =
        kyso(&["agent", "pair", "--agent", &agent.url, "--code", &agent.code, "--as", checker["login"].as_str().unwrap()], d.path(), &[]);
    assert!(o.status.success(), "{}", text(&o));
    let id2 = add_internal(d.path(), &draft, "Biên bản thứ hai");
    let o = kyso(
        &["doc", "sign", &id2, "--step", "check_content", "--invisible", "--agent", &agent.url, "--as", checker["login"].as_str().unwrap()],
        d.path(),
        &[],
    );
    assert!(!o.status.success(), "{}", text(&o));
    let o2 = kyso(&["doc", "show", &id2, "--json", "--as", "vanthu.snv"], d.path(), &[]);
    let shown: serde_json::Value = serde_json::from_slice(&o2.stdout).unwrap();
    assert_eq!((shown["signatures"].as_array().unwrap().len(), shown["document"]["version"].as_i64()), (0, Some(1)), "{shown}");
    assert!(text(&o).contains("PIN"), "{}", text(&o));
    // Issue 10: more wrong PINs lock the token; the lock the agent sees reaches the registry,
    // so that the restore request can be filed at once.
    let serial = checker["token"].as_str().unwrap();
    let status = || {
        let o = kyso(&["device", "show", serial, "--json", "--as", "cntt"], d.path(), &[]);
        assert!(o.status.success(), "{}", text(&o));
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()["status"].as_str().unwrap_or_default().to_string()
    };
    assert_ne!(status(), "locked");
    let mut locked = None;
    for attempt in 0..12 {
        let o = kyso(
            &[
                "doc",
                "sign",
                &id2,
                "--step",
                "check_content",
                "--invisible",
                "--agent",
                &agent.url,
                "--as",
                checker["login"].as_str().unwrap(),
            ],
            d.path(),
            &[],
        );
        assert!(!o.status.success(), "{}", text(&o));
        if text(&o).contains("đã ghi nhận vào hệ thống") {
            locked = Some(attempt);
            break;
        }
    }
    assert!(locked.is_some(), "the token locks within the retry limit");
    assert_eq!(status(), "locked");
}

#[test]
fn kyso_doc_signs_on_a_local_token_and_refuses_bad_input() {
    let (d, v) = demo();
    let signer = &v["signers"][0];
    let (login, token) = (signer["login"].as_str().unwrap(), signer["token"].as_str().unwrap());
    let clerk = &v["signers"][3];
    let draft = d.path().join("bien-ban.pdf");
    std::fs::write(&draft, kyso_pdf::draft::text_pdf(&[vec![]]).unwrap()).unwrap();
    let add = |kind: &str| {
        let o = kyso(
            &[
                "doc",
                "add",
                draft.to_str().unwrap(),
                "--agency",
                "SNV",
                "--kind",
                kind,
                "--title",
                "Văn bản thử",
                "--json",
                "--as",
                "vanthu.snv",
            ],
            d.path(),
            &[],
        );
        assert!(o.status.success(), "{}", text(&o));
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()["id"].as_i64().unwrap().to_string()
    };
    let id = add("internal");
    // (case, args, env PIN, expected message part)
    let cases: Vec<(&str, Vec<&str>, &str, &str)> = vec![
        ("wrong PIN", vec!["--step", "approve", "--invisible", "--label", token], "000000", "PIN"),
        ("no step", vec!["--invisible", "--label", token], "123456", "--step"),
        ("anchor not found", vec!["--step", "approve", "--anchor", "CHỦ TỊCH NƯỚC", "--label", token], "123456", "không tìm thấy"),
        ("agency seal by a leader", vec!["--seal", "--label", token], "123456", "văn thư"),
    ];
    for (name, extra, pin, expect) in cases {
        let mut args = vec!["doc", "sign", id.as_str()];
        args.extend(extra);
        args.extend(["--as", login]);
        let o = kyso(&args, d.path(), &[("KYSO_PIN", pin)]);
        assert!(!o.status.success(), "{name}: {}", text(&o));
        assert!(text(&o).contains(expect), "{name}: {}", text(&o));
    }
    let o = kyso(
        &["doc", "sign", &id, "--step", "approve", "--invisible", "--label", token, "--as", login],
        d.path(),
        &[("KYSO_PIN", "123456")],
    );
    assert!(o.status.success(), "{}", text(&o));
    // The clerk's copy with its token: SAO Y.
    let copy = add("copy");
    let o = kyso(
        &["doc", "sign", &copy, "--seal", "--copy-type", "SAO Y", "--label", clerk["token"].as_str().unwrap(), "--as", "vanthu.snv"],
        d.path(),
        &[("KYSO_PIN", "123456")],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("/SY"), "{}", text(&o));
    // A file that is not a PDF is refused and left as it was.
    let bad = d.path().join("bad.pdf");
    std::fs::write(&bad, b"not a pdf").unwrap();
    let o = kyso(
        &["doc", "add", bad.to_str().unwrap(), "--agency", "SNV", "--kind", "internal", "--title", "x", "--as", "vanthu.snv"],
        d.path(),
        &[],
    );
    assert!(!o.status.success() && text(&o).contains("PDF"), "{}", text(&o));
    assert_eq!(std::fs::read(&bad).unwrap(), b"not a pdf");
    // `kyso sign --level lta` on a sample: B-T, then the DSS, then a document time-stamp.
    let tokfile: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.path().join("tokens").join(format!("{token}.token.json"))).unwrap()).unwrap();
    let der = base64_decode(tokfile["certificates"].as_array().unwrap().last().unwrap()["der"].as_str().unwrap());
    std::fs::write(d.path().join("c.der"), der).unwrap();
    let out = d.path().join("lta.pdf");
    let sample = d.path().join("documents").join("04-ban-sao-y-tu-van-ban-giay.pdf");
    let o = kyso(
        &[
            "sign",
            sample.to_str().unwrap(),
            "--label",
            token,
            "--cert",
            d.path().join("c.der").to_str().unwrap(),
            "--level",
            "lta",
            "--tsa",
            "builtin",
            "--field",
            "Ký thêm",
            "--out",
            out.to_str().unwrap(),
        ],
        d.path(),
        &[("KYSO_PIN", "123456"), ("KYSO_CA_PIN", "12345678")],
    );
    assert!(o.status.success(), "{}", text(&o));
    let checks = kyso_pdf::verify::check_signatures(&std::fs::read(&out).unwrap()).unwrap();
    let kinds: Vec<_> = checks.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        [kyso_pdf::verify::SigKind::Signature, kyso_pdf::verify::SigKind::Signature, kyso_pdf::verify::SigKind::DocTimeStamp]
    );
    assert!(checks.iter().all(|c| c.is_intact()), "{:?}", checks.iter().map(|c| c.summary()).collect::<Vec<_>>());
    assert!(checks[1].timestamp.is_some(), "B-T");
    let o = kyso(&["audit", "verify"], d.path(), &[]);
    assert!(o.status.success(), "{}", text(&o));
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

#[test]
fn kyso_verify_reports_and_exits_by_indication() {
    let (d, v) = demo();
    let docs = d.path().join("documents");
    let sample = PathBuf::from(v["documents"][1]["file"].as_str().unwrap());
    // Passed: exit 0, with the JSON, HTML and PDF reports.
    let html = d.path().join("r.html");
    let pdf = d.path().join("r.pdf");
    let o = kyso(
        &["verify", sample.to_str().unwrap(), "--offline", "--json", "--html", html.to_str().unwrap(), "--pdf", pdf.to_str().unwrap()],
        d.path(),
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["schema"], "kyso.verify/1", "{r}");
    assert_eq!(r["indication"], "TOTAL-PASSED", "{r}");
    assert_eq!(r["signatures"].as_array().unwrap().len(), 3);
    assert!(r["signatures"][0]["signer"]["common_name"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(std::fs::read_to_string(&html).unwrap().contains("HỢP LỆ"));
    if let Some(pdftotext) = tool("pdftotext") {
        let (ok, out) = run(d.path(), &pdftotext, &[pdf.to_str().unwrap(), "-"]);
        assert!(ok && out.contains("KẾT QUẢ KIỂM TRA CHỮ KÝ SỐ") && out.contains("Người ký"), "{out}");
    }
    // Failed: a byte of the signed content changed; exit 1 and the reason in Vietnamese.
    let mut bytes = std::fs::read(&sample).unwrap();
    let at = bytes.windows(4).position(|w| w == b"/Fm0").unwrap();
    bytes[at + 3] = b'9';
    let changed = d.path().join("changed.pdf");
    std::fs::write(&changed, &bytes).unwrap();
    let o = kyso(&["verify", changed.to_str().unwrap(), "--offline"], d.path(), &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("nội dung đã bị thay đổi sau khi ký"), "{}", text(&o));
    // Indeterminate: another root is trusted instead of the demo's.
    if let Some(openssl) = tool("openssl") {
        let other = d.path().join("other-root.pem");
        let (ok, out) = run(
            d.path(),
            &openssl,
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                "k.pem",
                "-out",
                other.to_str().unwrap(),
                "-days",
                "30",
                "-subj",
                "/CN=Khac/C=VN",
            ],
        );
        assert!(ok, "{out}");
        let o = kyso(&["verify", sample.to_str().unwrap(), "--offline", "--trust", other.to_str().unwrap(), "--json"], d.path(), &[]);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(r["sub_indication"], "NO_CERTIFICATE_CHAIN_FOUND", "{r}");
    }
    // Regression (issue 11, finding 10): a file that is neither a PDF nor a detached signature
    // exited 2 (an environment failure); it is bad input, exit 1, and the message says so.
    let junk = d.path().join("junk.p7s");
    std::fs::write(&junk, b"junk").unwrap();
    let o = kyso(&["verify", junk.to_str().unwrap(), "--offline"], d.path(), &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("không phải tệp PDF"), "{}", text(&o));
    // Regression (issue 11, finding 10): `verify` and `doc add` blocked on a FIFO. Only regular
    // files are opened; the refusal comes at once.
    let fifo = d.path().join("pipe.pdf");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    for args in [
        vec!["verify", fifo.to_str().unwrap(), "--offline"],
        vec!["doc", "add", fifo.to_str().unwrap(), "--agency", "SNV", "--kind", "internal", "--title", "Ống", "--as", "vanthu.snv"],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kyso"))
            .args(&args)
            .arg("--data")
            .arg(d.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if started.elapsed() > std::time::Duration::from_secs(20) {
                let _ = child.kill();
                panic!("{args:?} blocked on a FIFO");
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        let mut err = String::new();
        std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
        assert!(!status.success() && err.contains("không phải tệp thông thường"), "{args:?}: {err}");
    }
    let _ = docs;
}

#[test]
fn kyso_cert_verify_checks_paths_and_revocation() {
    let (d, _) = demo();
    let x = d.path().join("export");
    let o = kyso(&["ca", "export", "--out", x.to_str().unwrap()], d.path(), &[]);
    assert!(o.status.success(), "{}", text(&o));
    let crl = x.join("crl.pem");
    let certs: Vec<PathBuf> = std::fs::read_dir(&x)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("cert-"))
        .collect();
    // Some exported certificates are revoked in the CA's CRL, some are good.
    let mut seen = (0, 0);
    for c in certs.iter().take(60) {
        let o = kyso(&["cert", "verify", c.to_str().unwrap(), "--crl", crl.to_str().unwrap(), "--json"], d.path(), &[]);
        let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", text(&o)));
        match o.status.code() {
            Some(0) => {
                assert_eq!(r["valid"], true);
                seen.0 += 1;
            }
            Some(1) => {
                assert!(
                    r["reasons"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|x| x.as_str().unwrap().contains("thu hồi") || x.as_str().unwrap().contains("hết hạn")),
                    "{r}"
                );
                seen.1 += 1;
            }
            other => panic!("{other:?}: {}", text(&o)),
        }
    }
    assert!(seen.0 > 0 && seen.1 > 0, "{seen:?}");
    // A required purpose the certificate lacks.
    let good = certs.iter().find(|c| kyso(&["cert", "verify", c.to_str().unwrap()], d.path(), &[]).status.success()).unwrap();
    let o = kyso(&["cert", "verify", good.to_str().unwrap(), "--eku", "1.3.6.1.5.5.7.3.3"], d.path(), &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("EKU"), "{}", text(&o));
}

/// Regression (issue 11, finding 6): an agent started with `KYSO_PIN` in its environment signed
/// an arbitrary digest with no interaction. The agent asks its holder, on its terminal or
/// through a pinentry program, and a session the holder opens is bounded.
#[test]
fn the_agent_never_takes_the_pin_from_its_environment() {
    let (d, v) = demo();
    let signer = &v["signers"][0];
    let (login, token) = (signer["login"].as_str().unwrap(), signer["token"].as_str().unwrap());
    let draft = d.path().join("bien-ban.pdf");
    std::fs::write(&draft, kyso_pdf::draft::text_pdf(&[vec![]]).unwrap()).unwrap();
    let sign =
        |id: &str, url: &str| kyso(&["doc", "sign", id, "--step", "approve", "--invisible", "--agent", url, "--as", login], d.path(), &[]);
    // KYSO_PIN set, no terminal: nothing is signed.
    let agent = start_agent(d.path(), token, None, &[]);
    assert!(kyso(&["agent", "pair", "--agent", &agent.url, "--code", &agent.code, "--as", login], d.path(), &[]).status.success());
    let id = add_internal(d.path(), &draft, "Biên bản");
    let o = sign(&id, &agent.url);
    assert!(!o.status.success() && text(&o).contains("không có cửa sổ dòng lệnh"), "{}", text(&o));
    drop(agent);
    // A pinentry program asked once for a session of one signature.
    let tools = tempfile::tempdir().unwrap();
    let fake = tools.path().join("pinentry");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho 'OK ready'\nwhile IFS= read -r line; do\n  case \"$line\" in\n    GETPIN*) echo 'D 123456'; echo OK;;\n    BYE*) echo OK; exit 0;;\n    *) echo OK;;\n  esac\ndone\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let agent = start_agent(d.path(), token, None, &["--pinentry", fake.to_str().unwrap(), "--session", "1,10"]);
    assert!(kyso(&["agent", "pair", "--agent", &agent.url, "--code", &agent.code, "--as", login], d.path(), &[]).status.success());
    let o = sign(&id, &agent.url);
    assert!(o.status.success(), "{}", text(&o));
    let seen: String = agent.lines.try_iter().collect::<Vec<_>>().join("\n");
    assert!(seen.contains("trong phiên ký: còn 0 chữ ký"), "{seen}");
}
