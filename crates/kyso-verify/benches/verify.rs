//! Validation benchmark (not a test; `scripts/bench-verify.sh` runs it beside pyHanko and
//! pdfsig). Modes:
//!   prepare DIR   a test CA (root.pem, ca.pem, crl.der, root-crl.der) and signed files:
//!                 p1-s1.pdf (1 page, 1 signature), p100-s5.pdf (100 pages, 5 signatures),
//!                 s20.pdf (20 sequential signatures), big.pdf (200 MB, 1 signature)
//!   inproc DIR    validations per second of the three small files, in process
//!   big DIR       one validation of big.pdf: time and peak RSS
use chrono::{Duration, Utc};
use kyso_pdf::{FieldSpec, Level, SignerInfo, DEFAULT_CONTENTS};
use kyso_pki::cert::{self, CertProfile, CertTemplate, Issuer, Urls};
use kyso_pki::crl::{self, CrlParams};
use kyso_pki::name::DistinguishedName;
use kyso_token::soft::SoftToken;
use kyso_token::*;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// Counts heap bytes in use and their peak (the file itself is mapped, not allocated).
struct Counting;
static IN_USE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static PEAK: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

#[allow(unsafe_code)]
// SAFETY: forwards every call to the system allocator unchanged; only counts sizes.
unsafe impl std::alloc::GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: std::alloc::Layout) -> *mut u8 {
        use std::sync::atomic::Ordering::Relaxed;
        let now = IN_USE.fetch_add(l.size(), Relaxed) + l.size();
        PEAK.fetch_max(now, Relaxed);
        std::alloc::System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: std::alloc::Layout) {
        IN_USE.fetch_sub(l.size(), std::sync::atomic::Ordering::Relaxed);
        std::alloc::System.dealloc(p, l)
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

#[allow(clippy::disallowed_methods)]
fn now() -> chrono::DateTime<Utc> {
    Utc::now()
}

fn dn(s: &str) -> DistinguishedName {
    DistinguishedName::parse(s).unwrap()
}

fn issue(p: CertProfile, subject: &str, spki: &[u8], by: &Arc<dyn Signer>, by_name: &str) -> Vec<u8> {
    cert::issue(
        &CertTemplate {
            profile: p,
            subject: dn(subject),
            email: None,
            spki_der: spki.to_vec(),
            serial: kyso_pki::random_serial(),
            not_before: now() - Duration::days(1),
            not_after: now() + Duration::days(365),
            policies: vec![],
            urls: Urls::default(),
        },
        &Issuer {
            name: dn(by_name).to_name().unwrap(),
            spki_der: by.public_key_spki().to_vec(),
            signer: &**by,
            scheme: by.key_algorithm().default_scheme(),
        },
    )
    .unwrap()
}

fn crl_of(issuer: &[u8], key: &Arc<dyn Signer>) -> Vec<u8> {
    let (_, i) = cert::parse(issuer).unwrap();
    crl::build(
        &CrlParams {
            issuer: i.subject.to_name().unwrap(),
            issuer_spki: &i.spki_der,
            number: 1,
            delta_of: None,
            this_update: now() - Duration::minutes(5),
            next_update: now() + Duration::days(1),
            entries: &[],
        },
        &**key,
        key.key_algorithm().default_scheme(),
    )
    .unwrap()
}

fn spec(name: &str) -> FieldSpec {
    FieldSpec {
        page: 1,
        name: name.into(),
        placement: kyso_pdf::Placement::Invisible,
        appearance: None,
        reason: None,
        location: None,
        signing_time: now(),
        contents_size: DEFAULT_CONTENTS,
        sub_filter: "ETSI.CAdES.detached",
        fills: vec![],
    }
}

fn pages(n: usize) -> Vec<u8> {
    let lines = |p: usize| -> Vec<kyso_pdf::appearance::Line> {
        (0..30)
            .map(|i| kyso_pdf::appearance::Line {
                text: format!("Trang {p}, dòng {i}: nội dung văn bản hành chính."),
                x: 72.0,
                y: 780.0 - 20.0 * i as f64,
                size: 11.0,
                color: [0.0; 3],
            })
            .collect()
    };
    kyso_pdf::draft::text_pdf(&(0..n).map(lines).collect::<Vec<_>>()).unwrap()
}

fn prepare(dir: &Path) {
    let tmp = tempfile::tempdir().unwrap();
    let t = SoftToken::create(tmp.path(), "b", &Pin::new("1234"), &Pin::new("12345678"), 5, 1000).unwrap();
    let s = t.login(&Pin::new("1234")).unwrap();
    let root_key = s.generate_key("root", KeyAlgorithm::Rsa2048).unwrap();
    let ca_key = s.generate_key("ca", KeyAlgorithm::Rsa2048).unwrap();
    let root = issue(CertProfile::RootCa, "CN=Root đo hiệu năng,C=VN", root_key.public_key_spki(), &root_key, "CN=Root đo hiệu năng,C=VN");
    let ca = issue(CertProfile::IssuingCa, "CN=CA đo hiệu năng,C=VN", ca_key.public_key_spki(), &root_key, "CN=Root đo hiệu năng,C=VN");
    let signers: Vec<(Vec<u8>, Arc<dyn Signer>)> = (0..20)
        .map(|i| {
            let k = s.generate_key(&format!("s{i}"), KeyAlgorithm::Rsa2048).unwrap();
            (issue(CertProfile::Individual, &format!("CN=Người ký {i},C=VN"), k.public_key_spki(), &ca_key, "CN=CA đo hiệu năng,C=VN"), k)
        })
        .collect();
    let chain = vec![ca.clone()];
    let sign_n = |pdf: Vec<u8>, n: usize| -> Vec<u8> {
        let mut pdf = pdf;
        for (i, (c, k)) in signers.iter().take(n).enumerate() {
            pdf = kyso_pdf::sign_pades(
                &pdf,
                &spec(&format!("Chữ ký {}", i + 1)),
                &SignerInfo { signer: &**k, cert: c, chain: &chain },
                Level::B,
                None,
            )
            .unwrap();
        }
        pdf
    };
    std::fs::write(dir.join("p1-s1.pdf"), sign_n(pages(1), 1)).unwrap();
    std::fs::write(dir.join("p100-s5.pdf"), sign_n(pages(100), 5)).unwrap();
    std::fs::write(dir.join("s20.pdf"), sign_n(pages(1), 20)).unwrap();
    std::fs::write(dir.join("root.pem"), kyso_pki::pem("CERTIFICATE", &root)).unwrap();
    std::fs::write(dir.join("ca.pem"), kyso_pki::pem("CERTIFICATE", &ca)).unwrap();
    std::fs::write(dir.join("crl.der"), crl_of(&ca, &ca_key)).unwrap();
    std::fs::write(dir.join("root-crl.der"), crl_of(&root, &root_key)).unwrap();
    // The big file: a 200 MB incompressible image on one page, signed by streaming.
    if dir.join("big-unsigned.pdf").exists() {
        let (c, k) = &signers[0];
        kyso_pdf::file::sign_file(
            &dir.join("big-unsigned.pdf"),
            &dir.join("big.pdf"),
            &spec("Chữ ký"),
            &SignerInfo { signer: &**k, cert: c, chain: &chain },
            Level::B,
            None,
        )
        .unwrap();
    }
}

fn policy(dir: &Path) -> kyso_verify::Policy<'static> {
    let read_pem = |f: &str| kyso_pki::der_or_pem(&std::fs::read(dir.join(f)).unwrap()).unwrap();
    kyso_verify::Policy {
        anchors: vec![read_pem("root.pem")],
        intermediates: vec![read_pem("ca.pem")],
        crls: vec![std::fs::read(dir.join("crl.der")).unwrap(), std::fs::read(dir.join("root-crl.der")).unwrap()],
        ocsps: vec![],
        at: now(),
        fetch: None,
        revocation: kyso_verify::RevocationMode::Require,
    }
}

fn inproc(dir: &Path) {
    let p = policy(dir);
    for name in ["p1-s1", "p100-s5", "s20"] {
        let data = std::fs::read(dir.join(format!("{name}.pdf"))).unwrap();
        let r = kyso_verify::validate_pdf(name, &data, &p);
        assert_eq!(r.indication, kyso_verify::Indication::TotalPassed, "{}", kyso_verify::report::text(&r));
        let start = Instant::now();
        let mut n = 0u32;
        while start.elapsed().as_secs_f64() < 3.0 {
            std::hint::black_box(kyso_verify::validate_pdf(name, &data, &p));
            n += 1;
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "kyso {name}: {:.1} validations/s ({:.2} ms each, {} signatures)",
            f64::from(n) / secs,
            1000.0 * secs / f64::from(n),
            r.signatures.len()
        );
    }
}

fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

fn big(dir: &Path) {
    let p = policy(dir);
    PEAK.store(IN_USE.load(std::sync::atomic::Ordering::Relaxed), std::sync::atomic::Ordering::Relaxed);
    let start = Instant::now();
    let mapped = kyso_pdf::file::Mapped::open(&dir.join("big.pdf")).unwrap();
    let r = kyso_verify::validate_pdf("big.pdf", mapped.bytes(), &p);
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(r.indication, kyso_verify::Indication::TotalPassed, "{}", kyso_verify::report::text(&r));
    println!(
        "kyso big: {secs:.3} s, peak heap {} MB, peak RSS {} MB (the RSS includes the file's read-only mapping)",
        PEAK.load(std::sync::atomic::Ordering::Relaxed) >> 20,
        peak_rss_kb() / 1024
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    match args.as_slice() {
        [m, d] if m == "prepare" => prepare(Path::new(d)),
        [m, d] if m == "inproc" => inproc(Path::new(d)),
        [m, d] if m == "big" => big(Path::new(d)),
        _ => eprintln!("usage: verify prepare|inproc|big DIR"),
    }
}
