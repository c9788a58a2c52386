//! The CLI as scripts use it: the binary, a data directory, exit codes and output.
//!
//! clock-independent: KYSO_NOW fixes kyso's time, and the certificate OpenSSL makes here is refused by name before any date is judged.

use std::path::Path;
use std::process::{Command, Output};

fn kyso(args: &[&str], data: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kyso"))
        .args(args)
        .arg("--data")
        .arg(data)
        .env_remove("KYSO_DB")
        .env_remove("KYSO_USER")
        .env("KYSO_NOW", "2026-11-21T09:00:00+07:00")
        .output()
        .expect("kyso runs")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn demo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let o = kyso(&["demo"], dir.path());
    assert!(o.status.success(), "{}", text(&o));
    dir
}

#[test]
fn demo_then_report_gives_figures_that_match_a_recount() {
    let dir = demo();
    let o = kyso(&["report", "--period", "2026-H1", "--json"], dir.path());
    assert!(o.status.success(), "{}", text(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let fig = |k: &str| r["figures"].as_array().unwrap().iter().find(|f| f["key"] == k).unwrap().clone();
    // Bắc Ninh's half-year runs to its own data cut-off (reports.year_end = 10-14).
    assert_eq!((r["from"].as_str(), r["to"].as_str()), (Some("2025-10-15"), Some("2026-04-14")));
    // Recount from the event table itself, over those days in Vietnamese time.
    let db = rusqlite::Connection::open(dir.path().join("kyso.db")).unwrap();
    let count = |action: &str, subjects: &str, class: &str| -> i64 {
        db.query_row(
            &format!(
                "SELECT COUNT(*) FROM audit_events WHERE action = ?1 AND class = ?2 AND outcome = 'ok' AND subject IN ({subjects})
                 AND at >= strftime('%s', '2025-10-15 00:00:00', '-7 hours') * 1000000
                 AND at < strftime('%s', '2026-04-14 00:00:00', '+1 day', '-7 hours') * 1000000"
            ),
            [action, class],
            |row| row.get(0),
        )
        .unwrap()
    };
    let new = "'new_individual','new_organisation','new_device'";
    let total: i64 = r["figures"].as_array().unwrap().iter().map(|f| f["total"].as_i64().unwrap()).sum();
    assert!(total > 0, "the demo's first half-year has figures");
    assert_eq!(fig("new")["personal"].as_i64().unwrap(), count("request.completed", new, "personal"));
    assert_eq!(fig("new")["org"].as_i64().unwrap(), count("request.completed", new, "org"));
    assert_eq!(fig("revocation_requests")["personal"].as_i64().unwrap(), count("request.sent_to_ca", "'revoke'", "personal"));
    assert_eq!(fig("information_changes")["personal"].as_i64().unwrap(), count("request.completed", "'change_info'", "personal"));
    assert_eq!(fig("renewal_requests")["org"].as_i64().unwrap(), count("request.sent_to_ca", "'renew'", "org"));
    assert!(fig("new")["total"].as_i64().unwrap() > 0);

    // Every request state is present.
    let o = kyso(&["request", "list", "--json"], dir.path());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for state in ["draft", "submitted", "confirmed", "checked", "sent_to_ca", "completed", "rejected", "cancelled"] {
        assert!(v.as_array().unwrap().iter().any(|q| q["state"] == state), "a request in state {state}");
    }
    // The human table and CSV forms work too.
    let o = kyso(&["report", "--period", "2026"], dir.path());
    assert!(text(&o).contains("Số lượng cấp mới"), "{}", text(&o));
    let o = kyso(&["report", "--period", "2026", "--csv"], dir.path());
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("key,label,org,personal,total\n"));

    // A second demo in the same directory says so and duplicates nothing.
    let before = db.query_row("SELECT COUNT(*) FROM audit_events", [], |r| r.get::<_, i64>(0)).unwrap();
    let o = kyso(&["demo"], dir.path());
    assert!(o.status.success());
    assert!(text(&o).contains("đã có dữ liệu"), "{}", text(&o));
    assert_eq!(before, db.query_row("SELECT COUNT(*) FROM audit_events", [], |r| r.get::<_, i64>(0)).unwrap());
}

#[test]
fn one_changed_byte_in_the_sqlite_file_breaks_the_audit_chain_at_that_row() {
    let dir = demo();
    let o = kyso(&["audit", "verify"], dir.path());
    assert!(o.status.success(), "{}", text(&o));
    let path = dir.path().join("kyso.db");
    let seq: i64 = {
        let db = rusqlite::Connection::open(&path).unwrap();
        // Fold the WAL into the file and drop stale copies of pages, so the row's text is
        // stored once.
        db.execute_batch("VACUUM; PRAGMA wal_checkpoint(TRUNCATE);").unwrap();
        db.query_row("SELECT seq FROM audit_events WHERE details LIKE '%\"code\":\"TTRA\"%'", [], |r| r.get(0)).unwrap()
    };
    let original = std::fs::read(&path).unwrap();
    let needle = b"\"code\":\"TTRA\"";
    let hits: Vec<usize> = original.windows(needle.len()).enumerate().filter(|(_, w)| w == needle).map(|(i, _)| i).collect();
    assert!(!hits.is_empty());
    // SQLite may keep a stale copy of a page in free space; changing that copy changes no
    // row. Changing the live row must break the chain exactly there.
    let mut named = false;
    for at in hits {
        let mut bytes = original.clone();
        bytes[at + 9] = b'X'; // TTRA -> XTRA
        std::fs::write(&path, bytes).unwrap();
        let o = kyso(&["audit", "verify", "--json"], dir.path());
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        match o.status.code() {
            Some(3) => {
                assert_eq!(v["broken"]["seq"].as_i64(), Some(seq), "{v}");
                named = true;
            }
            Some(0) => assert!(v["broken"].is_null()),
            other => panic!("{other:?}: {}", text(&o)),
        }
        if named {
            break;
        }
    }
    assert!(named, "the changed row was found");
    let o = kyso(&["audit", "verify"], dir.path());
    assert!(text(&o).contains(&format!("sự kiện số {seq}")), "{}", text(&o));
}

#[test]
fn bad_input_gets_a_clear_error_and_a_failing_exit_code() {
    let dir = demo();
    let d = dir.path();
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "person",
                "add",
                "--name",
                "Lê Văn Tám",
                "--citizen-id",
                "12345",
                "--born",
                "1980-01-01",
                "--gender",
                "nam",
                "--position",
                "Chuyên viên",
                "--agency",
                "SNV",
                "--email",
                "tam@bacninh.gov.vn",
            ],
            "citizen_id",
        ),
        (
            &[
                "person",
                "add",
                "--name",
                "Lê Văn Tám",
                "--citizen-id",
                "027080123456",
                "--born",
                "1980-01-01",
                "--gender",
                "nam",
                "--position",
                "Chuyên viên",
                "--agency",
                "KHONG-CO",
                "--email",
                "tam@bacninh.gov.vn",
            ],
            "KHONG-CO",
        ),
        (&["request", "check", "1"], "không thể thực hiện"),
        (&["report", "--period", "2026-H3"], "period"),
        (&["request", "list", "--as", "khong-ai"], "khong-ai"),
    ];
    for (args, needle) in cases {
        let o = kyso(args, d);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", text(&o));
        assert!(text(&o).contains(needle), "{args:?}: {}", text(&o));
    }
    // A CSV with a broken row is rejected whole, with the line number.
    let csv = d.join("agencies.csv");
    std::fs::write(&csv, "code,name,parent_code,legal_entity,tax_code,budget_code,email,address,valid_from\nP-MOI,Phòng mới,SNV,0,,,,Bắc Ninh,\nP-HONG,Phòng hỏng,KHONG-CO,0,,,,Bắc Ninh,\n").unwrap();
    let o = kyso(&["agency", "import", csv.to_str().unwrap()], d);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("dòng 3"), "{}", text(&o));
    let o = kyso(&["agency", "show", "P-MOI"], d);
    assert_eq!(o.status.code(), Some(1), "the good row was not imported either");
    // A missing data directory is an environment error that says what to do.
    let o = kyso(&["report", "--period", "2026"], &d.join("nowhere"));
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("kyso init"), "{}", text(&o));
}

#[test]
fn a_request_goes_through_the_cli_as_the_roles_would_take_it() {
    let dir = demo();
    let d = dir.path();
    let run = |args: &[&str]| {
        let o = kyso(args, d);
        assert!(o.status.success(), "{args:?}: {}", text(&o));
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap_or(serde_json::Value::Null)
    };
    let subs = run(&["subscriber", "list", "--under", "STP", "--json"]);
    let org = subs.as_array().unwrap().iter().find(|s| s["kind"] == "organisation").unwrap();
    let id = org["id"].as_i64().unwrap().to_string();
    // A new organisation certificate for the Sở Tư pháp: drawn up and submitted by its
    // officer, confirmed by the body that manages it (the province's CQQLTT). The records
    // clerk does not act for the agency (issue 10).
    let q = run(&["request", "new", "--kind", "new", "--subscriber", &id, "--validity-months", "60", "--as", "cqqltt.stp", "--json"]);
    let qid = q["id"].as_i64().unwrap().to_string();
    let o = kyso(&["request", "submit", &qid, "--as", "vanthu.stp"], d);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    run(&["request", "submit", &qid, "--as", "cqqltt.stp"]);
    let o = kyso(&["request", "confirm", &qid, "--as", "khong-co-tai-khoan"], d);
    assert_eq!(o.status.code(), Some(1));
    for other in ["cqqltt.snv", "cqqltt.stp"] {
        let o = kyso(&["request", "confirm", &qid, "--as", other], d);
        assert_eq!(o.status.code(), Some(1), "{other} is not the CQQLTT: {}", text(&o));
        assert!(text(&o).contains("không có quyền"), "{}", text(&o));
    }
    run(&["request", "confirm", &qid, "--as", "cqqltt.ubnd-bn"]);
    run(&["request", "send", &qid, "--as", "cqqltt.ubnd-bn"]);
    run(&[
        "request",
        "complete",
        &qid,
        "--as",
        "cntt",
        "--serial",
        "540300000000000000AB",
        "--subject",
        "CN=Sở Tư pháp,O=Ủy ban nhân dân tỉnh Bắc Ninh,L=Bắc Ninh,C=VN",
        "--issuer",
        "CN=CA phục vụ các cơ quan Nhà nước G2,O=Ban Cơ yếu Chính phủ,C=VN",
        "--not-before",
        "2026-11-21T09:00:00+07:00",
        "--not-after",
        "2031-11-21T09:00:00+07:00",
    ]);
    let c = run(&["cert", "show", "540300000000000000AB", "--json"]);
    assert_eq!(c["status"], "valid");
    let view = run(&["request", "show", &qid, "--json"]);
    let steps: Vec<String> = view["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| format!("{} {} {}", e["action"].as_str().unwrap(), e["actor"].as_str().unwrap(), e["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(
        steps,
        [
            "request.created cqqltt.stp ok",
            "request.submit vanthu.stp denied",
            "request.submitted cqqltt.stp ok",
            "request.confirm cqqltt.snv denied",
            "request.confirm cqqltt.stp denied",
            "request.confirmed cqqltt.ubnd-bn ok",
            "request.sent_to_ca cqqltt.ubnd-bn ok",
            "request.completed cntt ok"
        ]
    );
    let o = kyso(&["audit", "verify"], d);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn killing_the_process_mid_run_leaves_committed_data_whole() {
    // SIGKILL the demo at several points while it commits thousands of transactions.
    for delay_ms in [150u64, 300, 450, 600] {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_kyso"))
            .args(["demo", "--data"])
            .arg(dir.path())
            .env("KYSO_NOW", "2026-11-21T09:00:00+07:00")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        let db_path = dir.path().join("kyso.db");
        if !db_path.exists() {
            continue;
        }
        let db = rusqlite::Connection::open(&db_path).unwrap();
        let ok: String = db.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(ok, "ok", "after {delay_ms} ms");
        let initialised: i64 = db.query_row("SELECT COUNT(*) FROM settings", [], |r| r.get(0)).unwrap_or(0);
        if initialised == 0 {
            continue;
        }
        let o = kyso(&["audit", "verify"], dir.path());
        assert!(o.status.success(), "after {delay_ms} ms: {}", text(&o));
        // Every request's stored state is the one its last audit event recorded: no
        // transition is half applied.
        let mut st = db
            .prepare(
                "SELECT q.id, q.state, (SELECT e.action FROM audit_events e WHERE e.object = 'request:' || q.id AND e.outcome = 'ok' ORDER BY e.seq DESC LIMIT 1)
                 FROM requests q",
            )
            .unwrap();
        let rows: Vec<(i64, String, Option<String>)> =
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect();
        for (id, state, last) in rows {
            let want = if state == "draft" { "request.created".to_string() } else { format!("request.{state}") };
            assert_eq!(last.as_deref(), Some(want.as_str()), "request {id} after {delay_ms} ms");
        }
    }
}

/// The government Root CA G2 is pinned: a certificate that takes its name but not its
/// fingerprint is refused as trust, and the deployment setting that trusts the real one keeps
/// verification working.
#[test]
fn a_look_alike_government_root_is_refused_as_trust() {
    let Some(openssl) = kyso_testkit::system_tool("openssl") else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ok = Command::new(&openssl)
        .current_dir(d)
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "k.pem", "-out", "fake.pem"])
        .args(["-days", "30", "-subj", "/C=VN/O=Ban Cơ yếu Chính phủ/CN=RootCA chuyên dùng Chính phủ G2", "-utf8"])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    std::fs::write(d.join("doc.pdf"), b"%PDF-1.7\n").unwrap();
    let data = d.join("data");
    let o = kyso(&["verify", d.join("doc.pdf").to_str().unwrap(), "--trust", d.join("fake.pem").to_str().unwrap(), "--offline"], &data);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("không khớp"), "{}", text(&o));
    // With the real root trusted by the deployment, a file is judged (here: no signature).
    // (Made as the operator must: the directory and its configuration are the owner's alone.)
    std::os::unix::fs::DirBuilderExt::mode(&mut std::fs::DirBuilder::new(), 0o700).create(&data).unwrap();
    std::fs::write(data.join("kyso.toml"), "trust_government_g2 = true\n").unwrap();
    std::fs::set_permissions(data.join("kyso.toml"), std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let o = kyso(&["verify", d.join("doc.pdf").to_str().unwrap(), "--offline", "--json"], &data);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("\"schema\":\"kyso.verify/1\"") || out.contains("\"schema\": \"kyso.verify/1\""), "{}", text(&o));
}

/// Issue 10: `kyso person list | head -1` panicked with "Broken pipe" (exit 101). A reader
/// that goes away ends the command quietly.
#[test]
fn a_closed_pipe_ends_the_command_quietly() {
    let dir = tempfile::tempdir().unwrap();
    for args in [&["profile", "list"][..], &["profile", "show", "bac-ninh-2023"], &["--help"]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kyso"))
            .args(args)
            .arg("--data")
            .arg(dir.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // The reader goes away before kyso writes anything, as `head` does after its line.
        drop(child.stdout.take());
        let o = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!err.contains("panicked") && !err.contains("Broken pipe"), "{args:?}: {err}");
        assert_eq!(o.status.code(), Some(0), "{args:?}: {err}");
    }
}

/// Issue 11, finding 7: `kyso.db`, the token files and the document files were created 0644.
/// Now the data directory is 0700 and every file in it 0600 whatever the caller's umask (this
/// test runs under the usual 022), and kyso refuses a data directory others can read.
#[test]
fn the_data_directory_is_private_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let parent = tempfile::tempdir().unwrap();
    let data = parent.path().join("data");
    let o = kyso(&["demo"], &data);
    assert!(o.status.success(), "{}", text(&o));
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    let mut files = 0;
    let mut stack = vec![data.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                assert_eq!(mode(&p), 0o700, "{}", p.display());
                stack.push(p);
            } else {
                assert_eq!(mode(&p), 0o600, "{}", p.display());
                files += 1;
            }
        }
    }
    assert!(files > 10, "the database, tokens and documents were looked at ({files})");
    // Opened up by someone: refused, with the fix; closed again: works.
    for (path, open) in [(data.clone(), 0o755), (data.join("kyso.db"), 0o644)] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(open)).unwrap();
        let o = kyso(&["person", "list"], &data);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(text(&o).contains("chmod -R go-rwx"), "{}", text(&o));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(if open == 0o755 { 0o700 } else { 0o600 })).unwrap();
    }
    assert!(kyso(&["person", "list"], &data).status.success());
}
