//! The built-in CA end to end: what `kyso demo` issues passes pkilint and OpenSSL, and a
//! running `kyso serve` answers OpenSSL's OCSP client and time-stamp checks. The tools come
//! through kyso-testkit: a missing one skips its checks, or fails under KYSO_TEST_REQUIRE_*.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

fn kyso(args: &[&str], data: &Path, envs: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kyso"));
    c.args(args).arg("--data").arg(data).env_remove("KYSO_DB").env_remove("KYSO_USER").env_remove("KYSO_CA_PIN");
    for (k, v) in envs {
        c.env(k, v);
    }
    c.stdin(Stdio::null()).output().expect("kyso runs")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn pkilint(tool: &str, file: &Path) -> Option<String> {
    let bin = kyso_testkit::pkilint(tool)?;
    let extra: &[&str] = if tool == "lint_crl" { &["-t", "CRL", "-p", "PKIX"] } else { &[] };
    let o = Command::new(bin).args(["lint", "-s", "WARNING"]).args(extra).arg(file).output().unwrap();
    Some(text(&o).trim().to_string())
}

/// OpenSSL, or None when it is not installed and not required.
fn openssl_bin() -> Option<PathBuf> {
    kyso_testkit::system_tool("openssl")
}

/// Runs OpenSSL, for a test that has checked `openssl_bin()` first.
fn openssl(dir: &Path, args: &[&str]) -> (bool, String) {
    let bin = openssl_bin().expect("the test checks openssl_bin() before it runs OpenSSL");
    let o = Command::new(bin).current_dir(dir).args(args).output().unwrap();
    (o.status.success(), text(&o))
}

struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(data: &Path) -> (Server, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_kyso"))
        .args(["serve", "--listen", &addr, "--refresh-secs", "1", "--data"])
        .arg(data)
        .env("KYSO_CA_PIN", "12345678")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server(child);
    for _ in 0..100 {
        if std::net::TcpStream::connect(&addr).is_ok() {
            return (server, format!("http://{addr}"));
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("kyso serve did not start on {addr}");
}

#[test]
fn demo_certificates_crl_ocsp_and_time_stamps_pass_pkilint_and_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = kyso(&["demo"], d, &[]);
    assert!(o.status.success(), "{}", text(&o));
    let export = d.join("export");
    let o = kyso(&["ca", "export", "--out", export.to_str().unwrap()], d, &[]);
    assert!(o.status.success(), "{}", text(&o));
    let certs: Vec<PathBuf> = std::fs::read_dir(&export)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("cert-"))
        .collect();
    assert!(certs.len() > 30, "the demo issued real certificates: {}", certs.len());
    for f in certs.iter().chain(["root.pem", "issuing-ca.pem", "ocsp-responder.pem", "tsa.pem"].map(|n| export.join(n)).iter()) {
        if let Some(findings) = pkilint("lint_pkix_cert", f) {
            assert_eq!(findings, "", "{}", f.display());
        }
    }
    if let Some(findings) = pkilint("lint_crl", &export.join("crl.pem")) {
        assert_eq!(findings, "", "CRL");
    }
    if openssl_bin().is_none() {
        return;
    }
    // Every certificate verifies with -crl_check except those on the CRL and those that have
    // expired (expired certificates leave the CRL, RFC 5280 3.3).
    let chain = [std::fs::read(export.join("root.pem")).unwrap(), std::fs::read(export.join("issuing-ca.pem")).unwrap()].concat();
    std::fs::write(export.join("chain.pem"), chain).unwrap();
    let (_, crl_text) = openssl(&export, &["crl", "-in", "crl.pem", "-noout", "-text"]);
    let mut revoked = Vec::new();
    let mut valid = Vec::new();
    for f in &certs {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let (ok, out) = openssl(&export, &["verify", "-crl_check", "-CAfile", "chain.pem", "-CRLfile", "crl.pem", &name]);
        if ok {
            valid.push(name.clone());
        }
        if !ok && !out.contains("certificate has expired") {
            assert!(out.contains("certificate revoked"), "{name}: {out}");
            revoked.push(name.trim_start_matches("cert-").trim_end_matches(".pem").to_string());
        }
    }
    assert!(!revoked.is_empty(), "the demo revoked some certificates");
    for serial in &revoked {
        assert!(crl_text.contains(serial), "{serial} is on the CRL");
    }

    // A running responder: OpenSSL's own client, good and revoked.
    let (_server, url) = serve(d);
    // "Good" must be a certificate that verified: an expired one may also have been revoked
    // (OpenSSL reports the expiry first), and OCSP rightly says so.
    let good = valid.first().expect("the demo leaves valid certificates").clone();
    let bad = format!("cert-{}.pem", revoked[0]);
    for (cert, word) in [(good.as_str(), "good"), (bad.as_str(), "revoked")] {
        let (ok, out) = openssl(
            &export,
            &[
                "ocsp",
                "-issuer",
                "issuing-ca.pem",
                "-cert",
                cert,
                "-url",
                &format!("{url}/ocsp"),
                "-CAfile",
                "chain.pem",
                "-no_nonce",
                "-respout",
                "resp.der",
            ],
        );
        assert!(ok && out.contains("Response verify OK") && out.contains(&format!("{cert}: {word}")), "{word}: {out}");
        if let Some(f) = pkilint("lint_ocsp_response", &export.join("resp.der")) {
            assert_eq!(f, "", "OCSP response for a {word} certificate");
        }
    }
    // With a nonce the responder signs on demand and echoes it.
    let (ok, out) =
        openssl(&export, &["ocsp", "-issuer", "issuing-ca.pem", "-cert", &good, "-url", &format!("{url}/ocsp"), "-CAfile", "chain.pem"]);
    assert!(ok && out.contains("Response verify OK"), "{out}");
    // The CRL is served too.
    let (ok, out) = openssl(&export, &["crl", "-in", "crl.pem", "-CAfile", "issuing-ca.pem", "-noout"]);
    assert!(ok && out.contains("verify OK"), "{out}");
    // A time-stamp over HTTP verifies with openssl ts.
    std::fs::write(export.join("doc.txt"), "Công văn số 12/UBND-VP").unwrap();
    let o = kyso(
        &[
            "ts",
            "stamp",
            export.join("doc.txt").to_str().unwrap(),
            "--url",
            &format!("{url}/tsa"),
            "--out",
            export.join("doc.tsr").to_str().unwrap(),
        ],
        d,
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    let (ok, out) =
        openssl(&export, &["ts", "-verify", "-data", "doc.txt", "-in", "doc.tsr", "-CAfile", "root.pem", "-untrusted", "issuing-ca.pem"]);
    assert!(ok && out.contains("Verification: OK"), "{out}");
}

#[test]
fn wrong_pins_and_locked_tokens_are_refused_with_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(kyso(&["demo"], d, &[]).status.success());
    // Regression (issue 11, finding 4): CA commands opened the CA token before the role check,
    // so any account could use up the CA PIN's retries. Now refused before any PIN is tried.
    // Regression (issue 12 review): after only the IT Centre could run the built-in CA, the
    // CLI still let a provincial manager reach the PIN prompt of `ca init`, `ca issue`,
    // `ca revoke`; `ca submit` asked for it with no check at all.
    let cases: &[(&[&str], &str)] = &[
        (&["ca", "crl"], "vanthu.snv"),
        (&["ca", "ocsp-refresh"], "vanthu.snv"),
        (&["ca", "revoke", "1"], "vanthu.snv"),
        (&["ca", "init"], "vanthu.snv"),
        (&["ca", "init"], "qltb"),
        (&["ca", "revoke", "1"], "qltb"),
        (&["ca", "submit", "--batch", "1"], "qltb"),
    ];
    for (args, login) in cases {
        let mut args = args.to_vec();
        args.extend(["--as", login]);
        let o = kyso(&args, d, &[("KYSO_CA_PIN", "0000")]);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", text(&o));
        assert!(text(&o).contains("không được") && !text(&o).contains("PIN"), "{args:?}: {}", text(&o));
    }
    let stamped = d.join("stamp-me.txt");
    std::fs::write(&stamped, b"x").unwrap();
    let o = kyso(&["ts", "stamp", stamped.to_str().unwrap(), "--as", "vanthu.snv"], d, &[("KYSO_CA_PIN", "0000")]);
    assert!(!o.status.success() && text(&o).contains("không được"), "{}", text(&o));
    // The first wrong PIN of an operator who may: the counter is untouched by the refusals.
    let o = kyso(&["ca", "crl"], d, &[("KYSO_CA_PIN", "0000")]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("sai mã PIN; còn 9 lần"), "{}", text(&o));
    // Without a PIN and without a terminal, the CLI says how to give one.
    let o = kyso(&["ca", "crl"], d, &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("KYSO_CA_PIN"), "{}", text(&o));
    // The demo's locked device really is locked.
    let o = kyso(&["device", "list", "--json"], d, &[]);
    let devices: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let locked = devices.as_array().unwrap().iter().find(|v| v["status"] == "locked").expect("a locked device")["serial"]
        .as_str()
        .unwrap()
        .to_string();
    let o = kyso(&["token", "keys", "--label", &locked], d, &[("KYSO_PIN", "123456")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("đã bị khóa"), "{}", text(&o));
    let o = kyso(&["token", "unlock", "--label", &locked], d, &[("KYSO_SO_PIN", "87654321"), ("KYSO_NEW_PIN", "654321")]);
    assert!(o.status.success(), "{}", text(&o));
    let o = kyso(&["token", "keys", "--label", &locked], d, &[("KYSO_PIN", "654321")]);
    assert!(o.status.success(), "{}", text(&o));
}

/// A minimal one-page PDF.
fn tiny_pdf() -> Vec<u8> {
    let body = "%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>\nendobj\n";
    let xref = body.len();
    format!("{body}xref\n0 4\n0000000000 65535 f \n0000000009 00000 n \n0000000058 00000 n \n0000000115 00000 n \ntrailer\n<< /Size 4 /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n").into_bytes()
}

#[test]
fn kyso_sign_signs_pdfs_and_files_on_a_demo_token_and_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(kyso(&["demo"], d, &[]).status.success());
    let x = d.join("x");
    assert!(kyso(&["ca", "export", "--out", x.to_str().unwrap()], d, &[]).status.success());
    // A valid certificate issued by the CA whose device token is in the data directory.
    let certs: serde_json::Value = serde_json::from_slice(&kyso(&["cert", "list", "--json"], d, &[]).stdout).unwrap();
    let devices: serde_json::Value = serde_json::from_slice(&kyso(&["device", "list", "--json"], d, &[]).stdout).unwrap();
    let (serial, token) = certs
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "valid" && x.join(format!("cert-{}.pem", c["serial"].as_str().unwrap())).exists())
        .find_map(|c| {
            let dev = devices.as_array().unwrap().iter().find(|v| v["id"] == c["device_id"])?;
            let label = dev["serial"].as_str()?.to_string();
            d.join("tokens").join(format!("{label}.token.json")).exists().then(|| (c["serial"].as_str().unwrap().to_string(), label))
        })
        .expect("a valid CA-issued certificate on a demo token");
    let cert = x.join(format!("cert-{serial}.pem"));
    let (cert, chain) = (cert.to_str().unwrap(), x.join("issuing-ca.pem"));
    std::fs::write(d.join("doc.pdf"), tiny_pdf()).unwrap();
    let doc = d.join("doc.pdf");
    let pin = [("KYSO_PIN", "123456"), ("KYSO_CA_PIN", "12345678")];
    let o = kyso(
        &[
            "sign",
            doc.to_str().unwrap(),
            "--label",
            &token,
            "--cert",
            cert,
            "--chain",
            chain.to_str().unwrap(),
            "--level",
            "t",
            "--tsa",
            "builtin",
            "--reason",
            "Ký ban hành",
        ],
        d,
        &pin,
    );
    assert!(o.status.success(), "{}", text(&o));
    let signed = d.join("doc-signed.pdf");
    assert_eq!(std::fs::read(&doc).unwrap(), tiny_pdf(), "the input is untouched");
    if let Some(hanko) = kyso_testkit::pyhanko() {
        let o = Command::new(&hanko)
            .args(["sign", "validate", "--trust"])
            .arg(x.join("root.pem"))
            .args(["--trust-replace", "--no-revocation-check"])
            .arg(&signed)
            .output()
            .unwrap();
        assert!(text(&o).contains("INTACT:TRUSTED") && text(&o).contains("TIMESTAMP_TOKEN<INTACT:TRUSTED>"), "{}", text(&o));
    }
    // Detached CMS for any file.
    std::fs::write(d.join("note.txt"), "Giấy mời họp").unwrap();
    let o = kyso(
        &[
            "sign",
            d.join("note.txt").to_str().unwrap(),
            "--detached",
            "--label",
            &token,
            "--cert",
            cert,
            "--chain",
            chain.to_str().unwrap(),
        ],
        d,
        &pin,
    );
    assert!(o.status.success(), "{}", text(&o));
    std::fs::write(x.join("chain.pem"), [std::fs::read(x.join("root.pem")).unwrap(), std::fs::read(&chain).unwrap()].concat()).unwrap();
    if openssl_bin().is_some() {
        let (ok, out) = openssl(
            d,
            &[
                "cms",
                "-verify",
                "-binary",
                "-inform",
                "DER",
                "-in",
                "note.txt.p7s",
                "-content",
                "note.txt",
                "-CAfile",
                x.join("chain.pem").to_str().unwrap(),
                "-purpose",
                "any",
                "-out",
                "/dev/null",
            ],
        );
        assert!(ok, "{out}");
    }
    // Regression (issue 11, finding 10): the detached signature's report showed the .p7s as
    // "0 byte" with the content's hash. Now both files are named, each with its size and hash.
    let o = kyso(&["verify", d.join("note.txt.p7s").to_str().unwrap(), "--offline", "--json"], d, &[]);
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
    let p7s = std::fs::read(d.join("note.txt.p7s")).unwrap();
    assert_eq!(r["size"].as_u64(), Some(p7s.len() as u64), "{}", text(&o));
    assert_eq!(r["sha256"].as_str(), Some(hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&p7s)).as_str()));
    assert_eq!((r["content"]["file"].as_str(), r["content"]["size"].as_u64()), (Some("note.txt"), Some("Giấy mời họp".len() as u64)));
    assert_eq!(
        r["content"]["sha256"].as_str(),
        Some(hex::encode(<sha2::Sha256 as sha2::Digest>::digest("Giấy mời họp".as_bytes())).as_str())
    );
    // Bad input: each refused with a clear message, the input untouched.
    let encrypted = String::from_utf8(tiny_pdf()).unwrap().replace("/Root 1 0 R", "/Root 1 0 R /Encrypt << /Filter /Standard >>");
    std::fs::write(d.join("enc.pdf"), &encrypted).unwrap();
    std::fs::write(d.join("broken.pdf"), &tiny_pdf()[..200]).unwrap();
    let (root, enc, broken) = (x.join("root.pem"), d.join("enc.pdf"), d.join("broken.pdf"));
    let (root, enc, broken) = (root.to_str().unwrap(), enc.to_str().unwrap(), broken.to_str().unwrap());
    type Case<'a> = (Vec<&'a str>, &'a [(&'a str, &'a str)], &'a str);
    let cases: Vec<Case<'_>> = vec![
        (vec!["sign", doc.to_str().unwrap(), "--label", &token, "--cert", cert], &[("KYSO_PIN", "000000")], "sai mã PIN"),
        (vec!["sign", doc.to_str().unwrap(), "--label", &token, "--cert", root], &pin[..1], "không có khóa nào khớp"),
        (vec!["sign", enc, "--label", &token, "--cert", cert], &pin[..1], "mã hóa"),
        (vec!["sign", broken, "--label", &token, "--cert", cert], &pin[..1], "hỏng"),
    ];
    for (args, envs, needle) in cases {
        let input = std::fs::read(args[1]).unwrap();
        let o = kyso(&args, d, envs);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", text(&o));
        assert!(text(&o).contains(needle), "{args:?}: {}", text(&o));
        assert_eq!(std::fs::read(args[1]).unwrap(), input, "{args:?}: input untouched");
    }
    // Issue 10: wrong PINs until the token locks; the registry learns it by itself, so the
    // restore request can be filed without anyone changing the device's status by hand.
    let sign_wrong = || kyso(&["sign", doc.to_str().unwrap(), "--label", &token, "--cert", cert], d, &[("KYSO_PIN", "000000")]);
    let mut said = String::new();
    for _ in 0..20 {
        said = text(&sign_wrong());
        if said.contains("đã bị khóa") {
            break;
        }
    }
    assert!(said.contains("đã ghi nhận vào hệ thống"), "{said}");
    let o = kyso(&["device", "show", &token, "--json"], d, &[]);
    let dev: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(dev["status"], "locked", "{}", text(&o));
}

/// Issue 11, finding 3: `KYSO_NOW=<a past date> kyso ts stamp` made a back-dated time-stamp
/// that openssl accepts. Only a training deployment (`init --training`, `demo`) runs on a
/// fixed clock; a production one refuses to start with it, names its built-in CA as the
/// province's, and never trusts a training CA.
#[test]
fn a_fixed_clock_is_only_for_training_deployments() {
    let dir = tempfile::tempdir().unwrap();
    let (prod, train) = (dir.path().join("prod"), dir.path().join("train"));
    let tax = (100_000_000u64..)
        .map(|n| format!("{n:09}0"))
        .find_map(|t| kyso_core::value::tax_check_digit(&t).map(|c| format!("{}{c}", &t[..9])))
        .unwrap();
    let init = ["init", "--profile", "bac-ninh-2023", "--code", "UBND-BN", "--name", "Ủy ban nhân dân tỉnh Bắc Ninh", "--tax-code", &tax];
    let past = ("KYSO_NOW", "2020-01-01T09:00:00+07:00");
    let pins = [("KYSO_CA_PIN", "12345678"), ("KYSO_CA_SO_PIN", "87654321")];
    // Production: refused with a fixed clock before anything is made.
    let o = kyso(&init, &prod, &[past]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("KYSO_NOW") && !prod.join("kyso.db").exists(), "{}", text(&o));
    let o = kyso(&init, &prod, &[]);
    assert!(o.status.success(), "{}", text(&o));
    let o = kyso(&["ca", "init"], &prod, &pins);
    assert!(o.status.success(), "{}", text(&o));
    let o = kyso(&["ca", "show", "--json"], &prod, &[]);
    let shown = text(&o);
    assert!(shown.contains("Root CA nội bộ - Bắc Ninh") && !shown.contains("thử nghiệm"), "{shown}");
    // The back-dated time-stamp of the finding, and any other command, on a fixed clock.
    let file = dir.path().join("x.txt");
    std::fs::write(&file, b"x").unwrap();
    for args in [vec!["ts", "stamp", file.to_str().unwrap()], vec!["ca", "crl"], vec!["person", "list"]] {
        let o = kyso(&args, &prod, &[past, pins[0]]);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(text(&o).contains("KYSO_NOW"), "{args:?}: {}", text(&o));
    }
    assert!(!file.with_extension("txt.tsr").exists());
    // A training deployment accepts it, and its CA says it is a test.
    let mut t = init.to_vec();
    t.push("--training");
    assert!(kyso(&t, &train, &[past]).status.success());
    assert!(kyso(&["ca", "init"], &train, &[past, pins[0], pins[1]]).status.success());
    let o = kyso(&["ts", "stamp", file.to_str().unwrap()], &train, &[past, pins[0]]);
    assert!(o.status.success(), "{}", text(&o));
    let o = kyso(&["ca", "export", "--out", dir.path().join("x").to_str().unwrap()], &train, &[past]);
    assert!(o.status.success(), "{}", text(&o));
    // The production deployment does not trust the training CA's root.
    let root = dir.path().join("x").join("root.pem");
    let pdf = dir.path().join("a.pdf");
    std::fs::write(&pdf, tiny_pdf()).unwrap();
    let o = kyso(&["verify", pdf.to_str().unwrap(), "--trust", root.to_str().unwrap(), "--offline"], &prod, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("đào tạo, thử nghiệm"), "{}", text(&o));
}

/// Issue 11, finding 2: one trust store per deployment, kept by IT staff with `kyso trust
/// add|list|remove`, each change audited.
#[test]
fn the_trust_store_is_kept_by_it_staff_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(kyso(&["demo"], d, &[]).status.success());
    let x = d.join("x");
    assert!(kyso(&["ca", "export", "--out", x.to_str().unwrap()], d, &[]).status.success());
    let issuing = x.join("issuing-ca.pem");
    let list = || -> serde_json::Value { serde_json::from_slice(&kyso(&["trust", "list", "--json"], d, &[]).stdout).unwrap() };
    assert_eq!(list().as_array().unwrap().len(), 1, "the built-in root only");
    let o = kyso(&["trust", "add", issuing.to_str().unwrap(), "--note", "thử", "--as", "vanthu.snv"], d, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let o = kyso(&["trust", "add", issuing.to_str().unwrap(), "--note", "CA cấp của hệ thống", "--json"], d, &[]);
    assert!(o.status.success(), "{}", text(&o));
    let id = serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()["id"].as_i64().unwrap();
    assert_eq!(list().as_array().unwrap().len(), 2);
    assert_eq!(kyso(&["trust", "remove", "0"], d, &[]).status.code(), Some(1), "the built-in root stays");
    assert!(kyso(&["trust", "remove", &id.to_string()], d, &[]).status.success());
    assert_eq!(list().as_array().unwrap().len(), 1);
    let o = kyso(&["audit", "tail", "--limit", "20", "--json", "--as", "admin"], d, &[]);
    let log = text(&o);
    assert!(log.contains("trust.added") && log.contains("trust.removed") && log.contains("trust.add"), "{log}");
}

/// Issue 11, finding 9: checkpoints of the audit head, made on demand and exported as files
/// outside the database, are what `kyso audit verify --checkpoints` checks against.
#[test]
fn audit_checkpoints_are_exported_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(kyso(&["demo"], d, &[]).status.success());
    let out = dir.path().join("neo");
    let o = kyso(&["audit", "checkpoint", "--out", out.to_str().unwrap()], d, &[("KYSO_CA_PIN", "12345678")]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 1);
    let o = kyso(&["audit", "verify", "--checkpoints", out.to_str().unwrap(), "--json"], d, &[]);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["anchored_seq"].as_i64().unwrap() > 100 && v["not_anchored"].as_i64() == Some(2), "{v}");
    // A file that is not a checkpoint is refused with its name.
    std::fs::write(out.join("x.json"), "{}").unwrap();
    let o = kyso(&["audit", "verify", "--checkpoints", out.to_str().unwrap()], d, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("x.json"), "{}", text(&o));
}

/// Issue 11, finding 12: a backup taken while `kyso serve` runs, the original destroyed, the
/// backup restored: the audit chain is whole, a signed document still verifies, the CA still
/// signs and the server still answers OCSP.
#[test]
fn a_backup_taken_while_serving_restores_a_working_deployment() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("data");
    assert!(kyso(&["demo"], &d, &[]).status.success());
    let sample = std::fs::read_dir(d.join("documents"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "pdf"))
        .unwrap();
    std::fs::copy(&sample, dir.path().join("sample.pdf")).unwrap();
    let backup = dir.path().join("tinh.kysobak");
    let pass = ("KYSO_BACKUP_PASSPHRASE", "mật khẩu sao lưu 2026");
    let (server, _) = serve(&d);
    let o = kyso(&["backup", "--out", backup.to_str().unwrap()], &d, &[("KYSO_BACKUP_PASSPHRASE", "ngan")]);
    assert_eq!(o.status.code(), Some(1), "a short passphrase: {}", text(&o));
    let o = kyso(&["backup", "--out", backup.to_str().unwrap(), "--as", "vanthu.snv"], &d, &[pass]);
    assert_eq!(o.status.code(), Some(1), "only IT staff: {}", text(&o));
    let o = kyso(&["backup", "--out", backup.to_str().unwrap()], &d, &[pass]);
    assert!(o.status.success(), "{}", text(&o));
    drop(server);
    // The disk is lost.
    std::fs::remove_dir_all(&d).unwrap();
    let o = kyso(&["restore", backup.to_str().unwrap()], &d, &[("KYSO_BACKUP_PASSPHRASE", "sai mật khẩu rồi")]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("sai mật khẩu") && !d.exists(), "{}", text(&o));
    // A cut file is refused.
    let bytes = std::fs::read(&backup).unwrap();
    std::fs::write(dir.path().join("cut.kysobak"), &bytes[..bytes.len() - 100]).unwrap();
    let cut = kyso(&["restore", dir.path().join("cut.kysobak").to_str().unwrap()], &dir.path().join("cut"), &[pass]);
    assert!(!cut.status.success() && text(&cut).contains("cắt cụt"), "{}", text(&cut));
    // Bytes after the end are refused too (review of issue 11), leaving nothing behind.
    std::fs::write(dir.path().join("long.kysobak"), [&bytes[..], b"more"].concat()).unwrap();
    let long = kyso(&["restore", dir.path().join("long.kysobak").to_str().unwrap()], &dir.path().join("long"), &[pass]);
    assert!(!long.status.success() && text(&long).contains("dữ liệu thừa") && !dir.path().join("long").exists(), "{}", text(&long));
    // Restored into an existing empty directory that others could read: it ends up 0700.
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir(&d).unwrap();
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
    let o = kyso(&["restore", backup.to_str().unwrap()], &d, &[pass]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(std::fs::metadata(&d).unwrap().permissions().mode() & 0o777, 0o700);
    let o = kyso(&["restore", backup.to_str().unwrap()], &d, &[pass]);
    assert!(!o.status.success() && text(&o).contains("không trống"), "not over a deployment: {}", text(&o));
    // Whole, and working.
    let o = kyso(&["audit", "verify"], &d, &[]);
    assert!(o.status.success(), "{}", text(&o));
    let o = kyso(&["verify", dir.path().join("sample.pdf").to_str().unwrap(), "--offline"], &d, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = kyso(&["ca", "crl", "--out", dir.path().join("crl.pem").to_str().unwrap()], &d, &[("KYSO_CA_PIN", "12345678")]);
    assert!(o.status.success(), "{}", text(&o));
    let export = dir.path().join("x");
    assert!(kyso(&["ca", "export", "--out", export.to_str().unwrap()], &d, &[]).status.success());
    std::fs::write(
        export.join("chain.pem"),
        [std::fs::read(export.join("root.pem")).unwrap(), std::fs::read(export.join("issuing-ca.pem")).unwrap()].concat(),
    )
    .unwrap();
    let (_server, url) = serve(&d);
    let cert = std::fs::read_dir(&export)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| n.starts_with("cert-"))
        .unwrap();
    let (ok, out) =
        openssl(&export, &["ocsp", "-issuer", "issuing-ca.pem", "-cert", &cert, "-url", &format!("{url}/ocsp"), "-CAfile", "chain.pem"]);
    assert!(ok && out.contains("Response verify OK"), "{out}");
}

/// Issue 11, finding 12, on PostgreSQL: the database goes through pg_dump into the backup and
/// pg_restore into an empty database.
#[test]
fn a_postgres_deployment_is_backed_up_with_pg_dump_and_restored() {
    let Some(base) = std::env::var("KYSO_TEST_PG_URL").ok().filter(|s| !s.is_empty()) else {
        assert!(!kyso_testkit::require("KYSO_TEST_REQUIRE_PG"), "KYSO_TEST_REQUIRE_PG is set but KYSO_TEST_PG_URL is not");
        return;
    };
    let (Some(_), Some(_), Some(psql)) =
        (kyso_testkit::system_tool("pg_dump"), kyso_testkit::system_tool("pg_restore"), kyso_testkit::system_tool("psql"))
    else {
        assert!(!kyso_testkit::require("KYSO_TEST_REQUIRE_PG_TOOLS"), "pg_dump, pg_restore and psql are required");
        return;
    };
    let db_url = |name: &str| format!("{}/{name}", base.rsplit_once('/').unwrap().0);
    // A name of its own: the process id and a random tag (tests run in parallel).
    let mut tag = [0u8; 4];
    kyso_token::random_bytes(&mut tag);
    let suffix = format!("{}_{}", std::process::id(), hex::encode(tag));
    let (src, dst) = (format!("kyso_bak_src_{suffix}"), format!("kyso_bak_dst_{suffix}"));
    for name in [&src, &dst] {
        assert!(Command::new(&psql).arg(&base).args(["-qc", &format!("CREATE DATABASE {name}")]).status().unwrap().success());
    }
    let dir = tempfile::tempdir().unwrap();
    let (d, r) = (dir.path().join("data"), dir.path().join("restored"));
    let pass = ("KYSO_BACKUP_PASSPHRASE", "mật khẩu sao lưu 2026");
    let o = kyso(&["demo", "--db", &db_url(&src)], &d, &[]);
    assert!(o.status.success(), "{}", text(&o));
    let backup = dir.path().join("pg.kysobak");
    let o = kyso(&["backup", "--out", backup.to_str().unwrap(), "--db", &db_url(&src)], &d, &[pass]);
    assert!(o.status.success(), "{}", text(&o));
    let o = kyso(&["restore", backup.to_str().unwrap(), "--db", &db_url(&dst)], &r, &[pass]);
    assert!(o.status.success(), "{}", text(&o));
    let o = kyso(&["audit", "verify", "--db", &db_url(&dst)], &r, &[]);
    assert!(o.status.success(), "{}", text(&o));
    let o = kyso(
        &["ca", "crl", "--db", &db_url(&dst), "--out", dir.path().join("crl.pem").to_str().unwrap()],
        &r,
        &[("KYSO_CA_PIN", "12345678")],
    );
    assert!(o.status.success(), "{}", text(&o));
    for name in [&src, &dst] {
        let _ = Command::new(&psql).arg(&base).args(["-qc", &format!("DROP DATABASE {name} WITH (FORCE)")]).status();
    }
}

/// Issue 11, finding 12: `kyso ca init --root-token` puts the root key on a token of its own,
/// taken offline once the issuing CA is made; it is needed again only for the root's CRL.
#[test]
fn the_root_key_lives_on_its_own_token_taken_offline() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("data");
    let tax = (100_000_000u64..)
        .map(|n| format!("{n:09}0"))
        .find_map(|t| kyso_core::value::tax_check_digit(&t).map(|c| format!("{}{c}", &t[..9])))
        .unwrap();
    let init = [
        "init",
        "--profile",
        "bac-ninh-2023",
        "--code",
        "UBND-BN",
        "--name",
        "Ủy ban nhân dân tỉnh Bắc Ninh",
        "--tax-code",
        &tax,
        "--training",
    ];
    assert!(kyso(&init, &d, &[]).status.success());
    let pins =
        [("KYSO_CA_PIN", "12345678"), ("KYSO_CA_SO_PIN", "87654321"), ("KYSO_ROOT_PIN", "24681357"), ("KYSO_ROOT_SO_PIN", "13572468")];
    let o = kyso(&["ca", "init", "--root-token", "goc-ngoai-tuyen"], &d, &pins);
    assert!(o.status.success(), "{}", text(&o));
    let keys = |label: &str, pin: &str| text(&kyso(&["token", "keys", "--label", label], &d, &[("KYSO_PIN", pin)]));
    let (ca, root) = (keys("kyso-ca", "12345678"), keys("goc-ngoai-tuyen", "24681357"));
    assert!(!ca.contains("kyso-root") && ca.contains("kyso-issuing"), "{ca}");
    assert!(root.contains("kyso-root") && !root.contains("kyso-issuing"), "{root}");
    // Daily work needs only the CA token.
    let o = kyso(&["ca", "crl", "--out", dir.path().join("crl.pem").to_str().unwrap()], &d, &pins[..1]);
    assert!(o.status.success(), "{}", text(&o));
    // The yearly root CRL: with the root token, not with another.
    let o = kyso(&["ca", "root-crl", "--root-token", "kyso-ca"], &d, &[("KYSO_ROOT_PIN", "12345678")]);
    assert!(!o.status.success() && text(&o).contains("CA gốc"), "{}", text(&o));
    let o = kyso(&["ca", "root-crl", "--root-token", "goc-ngoai-tuyen"], &d, &pins[2..3]);
    assert!(o.status.success(), "{}", text(&o));
    let export = dir.path().join("x");
    assert!(kyso(&["ca", "export", "--out", export.to_str().unwrap()], &d, &[]).status.success());
    let (ok, out) = openssl(&export, &["verify", "-CAfile", "root.pem", "issuing-ca.pem"]);
    assert!(ok && out.contains("OK"), "{out}");
}
