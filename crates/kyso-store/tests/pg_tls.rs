//! Issue 11, finding 10: PostgreSQL connections had no TLS. `sslmode` is now honoured as libpq
//! spells it. Runs against the TLS-only server scripts/lib.sh starts (`start_tls_postgres`):
//! it rejects connections in clear and presents a certificate for "localhost".

use kyso_store::Db;

#[test]
fn postgres_connections_use_tls_as_sslmode_says() {
    let (Some(url), Some(ca)) = (std::env::var("KYSO_TEST_PG_TLS_URL").ok(), std::env::var("KYSO_TEST_PG_TLS_CA").ok()) else {
        assert!(
            std::env::var("KYSO_TEST_REQUIRE_PG_TLS").as_deref() != Ok("1"),
            "KYSO_TEST_REQUIRE_PG_TLS is set but the TLS server is not"
        );
        return;
    };
    // A CA that did not issue the server's certificate.
    let dir = std::env::temp_dir().join(format!("kyso-pg-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let other = dir.join("other.pem");
    let Some(openssl) = kyso_testkit::system_tool("openssl") else { return };
    let ok = std::process::Command::new(openssl)
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=other"])
        .arg("-keyout")
        .arg(dir.join("other.key"))
        .arg("-out")
        .arg(&other)
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let by_ip = url.replace("localhost", "127.0.0.1");
    let other = other.to_str().unwrap();
    // (case, URL, connects)
    let cases = [
        ("in clear: the server refuses", url.clone(), false),
        ("sslmode=disable: in clear, refused", format!("{url}?sslmode=disable"), false),
        ("require: encrypted, certificate not checked", format!("{url}?sslmode=require"), true),
        ("verify-full with the server's CA", format!("{url}?sslmode=verify-full&sslrootcert={ca}"), true),
        ("verify-full with another CA", format!("{url}?sslmode=verify-full&sslrootcert={other}"), false),
        ("verify-full by IP: the name does not match", format!("{by_ip}?sslmode=verify-full&sslrootcert={ca}"), false),
        ("verify-ca by IP: the chain is enough", format!("{by_ip}?sslmode=verify-ca&sslrootcert={ca}"), true),
        ("verify-ca with another CA", format!("{by_ip}?sslmode=verify-ca&sslrootcert={other}"), false),
        ("an unknown sslmode", format!("{url}?sslmode=sometimes"), false),
    ];
    for (case, u, connects) in cases {
        let r = Db::open(&u).and_then(|db| db.migrate().map(|_| ()));
        assert_eq!(r.is_ok(), connects, "{case}: {:?}", r.err());
    }
    let _ = std::fs::remove_dir_all(&dir);
}
