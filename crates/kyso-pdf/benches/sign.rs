//! Signing benchmark (not a test; `scripts/bench-sign.sh` runs it beside pyHanko and
//! sha256sum). Modes:
//!   prepare DIR      write 1-page and 100-page drafts and a 200 MB PDF into DIR
//!   small DIR        PAdES B-B signatures per second on the 1- and 100-page drafts
//!                    (software token, RSA-2048), in memory
//!   big DIR          sign DIR/big.pdf into DIR/big-signed.pdf as `kyso sign` does (mapped
//!                    parse, streamed hash, kernel copy); prints the time and peak RSS
use chrono::{Duration, Utc};
use kyso_pdf::{FieldSpec, Level, SignerInfo, DEFAULT_CONTENTS};
use kyso_pki::cert::{self, CertProfile, CertTemplate, Issuer, Urls};
use kyso_pki::name::DistinguishedName;
use kyso_token::soft::SoftToken;
use kyso_token::*;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

#[allow(clippy::disallowed_methods)]
fn now() -> chrono::DateTime<Utc> {
    Utc::now()
}

fn signer(dir: &Path) -> (Arc<dyn Signer>, Vec<u8>) {
    let t = SoftToken::create(dir, "bench", &Pin::new("123456"), &Pin::new("87654321"), 5, 1000).unwrap();
    let s = t.login(&Pin::new("123456")).unwrap();
    let key = s.generate_key("k", KeyAlgorithm::Rsa2048).unwrap();
    let dn = DistinguishedName::parse("CN=Nguyễn Văn An,O=Sở Nội vụ,C=VN").unwrap();
    let tpl = CertTemplate {
        profile: CertProfile::Individual,
        subject: dn.clone(),
        email: None,
        spki_der: key.public_key_spki().to_vec(),
        serial: kyso_pki::random_serial(),
        not_before: now() - Duration::days(1),
        not_after: now() + Duration::days(365),
        policies: vec![],
        urls: Urls::default(),
    };
    let c = cert::issue(
        &tpl,
        &Issuer {
            name: dn.to_name().unwrap(),
            spki_der: key.public_key_spki().to_vec(),
            signer: &*key,
            scheme: SignatureScheme::RsaPkcs1Sha256,
        },
    )
    .unwrap();
    (key, c)
}

fn spec() -> FieldSpec {
    FieldSpec {
        page: 1,
        name: "Chữ ký".into(),
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

fn lines(n: usize) -> Vec<kyso_pdf::appearance::Line> {
    (0..n)
        .map(|i| kyso_pdf::appearance::Line {
            text: format!("Dòng {i}: văn bản hành chính thử nghiệm chữ ký số."),
            x: 72.0,
            y: 780.0 - 18.0 * i as f64,
            size: 12.0,
            color: [0.0; 3],
        })
        .collect()
}

/// The big file's page: the image over the whole page.
const DRAW: &str = "q 595 0 0 842 0 0 cm /Im0 Do Q";

fn prepare(dir: &Path) {
    std::fs::write(dir.join("p1.pdf"), kyso_pdf::draft::text_pdf(&[lines(40)]).unwrap()).unwrap();
    let pages: Vec<_> = (0..100).map(|_| lines(40)).collect();
    std::fs::write(dir.join("p100.pdf"), kyso_pdf::draft::text_pdf(&pages).unwrap()).unwrap();
    // 200 MB: one page drawing an incompressible image, written as a stream.
    let mb: usize = std::env::var("KYSO_BENCH_BIG_MB").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    let size = mb << 20;
    let side = ((size / 3) as f64).sqrt() as usize;
    let data_len = side * side * 3;
    let mut f = std::io::BufWriter::new(std::fs::File::create(dir.join("big.pdf")).unwrap());
    let mut off = Vec::new();
    let mut pos = 0usize;
    let put = |f: &mut std::io::BufWriter<std::fs::File>, pos: &mut usize, b: &[u8]| {
        f.write_all(b).unwrap();
        *pos += b.len();
    };
    put(&mut f, &mut pos, b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n");
    for (n, body) in [
        (1, "<< /Type /Catalog /Pages 2 0 R >>".to_string()),
        (2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string()),
        (
            3,
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /XObject << /Im0 5 0 R >> >> /Contents 4 0 R >>"
                .to_string(),
        ),
        (4, format!("<< /Length {} >>\nstream\n{DRAW}\nendstream", DRAW.len())),
    ] {
        off.push(pos);
        put(&mut f, &mut pos, format!("{n} 0 obj\n{body}\nendobj\n").as_bytes());
    }
    off.push(pos);
    put(&mut f, &mut pos, format!("5 0 obj\n<< /Type /XObject /Subtype /Image /Width {side} /Height {side} /ColorSpace /DeviceRGB /BitsPerComponent 8 /Length {data_len} >>\nstream\n").as_bytes());
    let mut chunk = vec![0u8; 1 << 20];
    let mut left = data_len;
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    while left > 0 {
        for c in chunk.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let b = x.to_le_bytes();
            c.copy_from_slice(&b[..c.len()]);
        }
        let n = left.min(chunk.len());
        put(&mut f, &mut pos, &chunk[..n]);
        left -= n;
    }
    put(&mut f, &mut pos, b"\nendstream\nendobj\n");
    let xref = pos;
    let mut tail = String::from("xref\n0 6\n0000000000 65535 f\r\n");
    for o in &off {
        tail.push_str(&format!("{o:010} 00000 n\r\n"));
    }
    tail.push_str(&format!("trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"));
    put(&mut f, &mut pos, tail.as_bytes());
    f.flush().unwrap();
}

fn small(dir: &Path) {
    let tmp = tempfile::tempdir().unwrap();
    let (key, cert) = signer(tmp.path());
    let who = SignerInfo { signer: &*key, cert: &cert, chain: &[] };
    for name in ["p1", "p100"] {
        let input = std::fs::read(dir.join(format!("{name}.pdf"))).unwrap();
        // Warm up, then sign for about three seconds.
        let out = kyso_pdf::sign_pades(&input, &spec(), &who, Level::B, None).unwrap();
        std::fs::write(dir.join(format!("{name}-kyso.pdf")), out).unwrap();
        let start = Instant::now();
        let mut n = 0u32;
        while start.elapsed().as_secs_f64() < 3.0 {
            let out = kyso_pdf::sign_pades(&input, &spec(), &who, Level::B, None).unwrap();
            std::hint::black_box(out);
            n += 1;
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "kyso {name}: {:.1} signatures/s ({:.2} ms each, {} bytes)",
            f64::from(n) / secs,
            1000.0 * secs / f64::from(n),
            input.len()
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
    let tmp = tempfile::tempdir().unwrap();
    let (key, cert) = signer(tmp.path());
    let who = SignerInfo { signer: &*key, cert: &cert, chain: &[] };
    let before = peak_rss_kb();
    let start = Instant::now();
    kyso_pdf::file::sign_file(&dir.join("big.pdf"), &dir.join("big-signed.pdf"), &spec(), &who, Level::B, None).unwrap();
    let secs = start.elapsed().as_secs_f64();
    println!("kyso big: {secs:.3} s, peak RSS {} MB (before signing {} MB)", peak_rss_kb() / 1024, before / 1024);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let (mode, dir) = match args.as_slice() {
        [m, d] => (m.as_str(), Path::new(d).to_path_buf()),
        _ => {
            eprintln!("usage: sign prepare|small|big DIR");
            return;
        }
    };
    match mode {
        "prepare" => prepare(&dir),
        "small" => small(&dir),
        "big" => big(&dir),
        other => eprintln!("unknown mode {other}"),
    }
}
