//! Reports for people, in Vietnamese: plain text (the CLI), HTML and PDF. The same lines feed
//! all three, so they say the same thing.

use crate::{Indication, Report, SignatureReport, TimeSource};
use kyso_pki::path::Revocation;

fn t(x: chrono::DateTime<chrono::Utc>) -> String {
    kyso_pdf::decree30::iso_time(x)
}

fn verdict(i: Indication, sub: Option<crate::SubIndication>) -> String {
    let code = i.code();
    match sub {
        Some(s) => format!("{} ({code} / {}: {})", i.label_vi(), s.code(), s.label_vi()),
        None => format!("{} ({code})", i.label_vi()),
    }
}

/// One line of a report: its text and its level (0 heading, 1 item, 2 detail).
pub struct Line {
    pub level: u8,
    pub text: String,
}

fn signer_line(s: &SignatureReport) -> String {
    match &s.signer {
        Some(c) => {
            let mut parts = vec![c.common_name.clone()];
            if let Some(t) = &c.title {
                parts.push(t.clone());
            }
            parts.extend(c.units.iter().cloned());
            if let Some(o) = &c.organisation {
                parts.push(o.clone());
            }
            format!("{} (chứng thư số {}, do {} cấp)", parts.join(", "), c.serial, c.issuer)
        }
        None => "không xác định".into(),
    }
}

/// The report as lines.
pub fn lines(r: &Report) -> Vec<Line> {
    let mut out = Vec::new();
    let mut push = |level: u8, text: String| out.push(Line { level, text });
    push(0, "KẾT QUẢ KIỂM TRA CHỮ KÝ SỐ".into());
    match &r.content {
        Some(c) => {
            push(1, format!("Tệp chữ ký: {} ({} byte; SHA-256 {})", r.file, r.size, r.sha256));
            push(1, format!("Tệp được ký: {} ({} byte; SHA-256 {})", c.file, c.size, c.sha256));
        }
        None => push(1, format!("Tệp: {} ({} byte; SHA-256 {})", r.file, r.size, r.sha256)),
    }
    push(1, format!("Thời điểm kiểm tra: {}", t(r.validation_time)));
    push(1, format!("Kết luận: {}", verdict(r.indication, r.sub_indication)));
    for n in &r.notes {
        push(1, format!("Lưu ý: {n}"));
    }
    for s in &r.signatures {
        let what = if s.kind == "document_timestamp" { "Dấu thời gian tài liệu" } else { "Chữ ký" };
        push(0, format!("{what} {}: \"{}\" — {}", s.id, s.field, verdict(s.indication, s.sub_indication)));
        if s.kind == "document_timestamp" {
            push(1, format!("Tổ chức cấp dấu thời gian: {}", s.timestamp_authority.clone().unwrap_or_else(|| "không xác định".into())));
        } else {
            push(1, format!("Người ký: {}", signer_line(s)));
        }
        let time = match (s.signing_time, s.signing_time_source) {
            (Some(x), src) => format!("{} ({})", t(x), src.label_vi()),
            (None, _) => "không có".into(),
        };
        push(1, format!("Thời điểm ký: {time}"));
        if let (Some(c), TimeSource::SignatureTimestamp | TimeSource::DocumentTimestamp) = (s.claimed_time, s.signing_time_source) {
            push(2, format!("Thời điểm do phần mềm ký ghi: {}", t(c)));
        }
        if let Some(tsa) = s.timestamp_authority.as_ref().filter(|_| s.kind != "document_timestamp") {
            push(2, format!("Dấu thời gian do: {tsa}"));
        }
        let integrity = if !s.intact {
            "KHÔNG toàn vẹn: nội dung hoặc chữ ký bị sửa".to_string()
        } else if s.covers_whole_file {
            "toàn vẹn; chữ ký bao phủ toàn bộ tệp".to_string()
        } else {
            format!("phần được ký toàn vẹn (byte 0–{}); có {} phiên bản sau", s.byte_range[2] + s.byte_range[3], s.later_revisions.len())
        };
        push(1, format!("Tính toàn vẹn: {integrity}"));
        if let Some(p) = s.certification {
            push(2, format!("Chữ ký chứng nhận tài liệu (DocMDP mức {p})"));
        }
        if !s.chain.is_empty() {
            push(1, format!("Chuỗi chứng thư: {}", s.chain.join(" → ")));
        }
        match &s.trust_anchor {
            Some(a) => push(2, format!("Gốc tin cậy: {a}")),
            None => push(2, "Không tới được chứng thư gốc tin cậy".into()),
        }
        for rv in &s.revocation {
            let said = match &rv.status {
                Revocation::Good { source, produced, .. } => format!("chưa bị thu hồi (theo {source} lập lúc {})", t(*produced)),
                Revocation::Revoked { source, at, .. } => format!("BỊ THU HỒI lúc {} (theo {source})", t(*at)),
                Revocation::Unknown => "không có thông tin thu hồi".into(),
            };
            push(2, format!("Thu hồi – {}: {said}", rv.subject));
        }
        for lr in &s.later_revisions {
            let what: Vec<String> = lr.changes.iter().map(|c| c.what.clone()).collect();
            push(2, format!("Phiên bản sau số {}: {}", lr.revision + 1, what.join("; ")));
        }
        for d in &s.disallowed_changes {
            push(2, format!("Thay đổi không được phép: {d}"));
        }
        for m in &s.messages {
            push(2, m.clone());
        }
        if let Some(x) = &s.reason {
            push(2, format!("Lý do ký: {x}"));
        }
    }
    out
}

/// Plain text, for the terminal.
pub fn text(r: &Report) -> String {
    let mut s = String::new();
    for l in lines(r) {
        let indent = "  ".repeat(usize::from(l.level));
        s.push_str(&format!("{indent}{}\n", l.text));
    }
    s
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A self-contained HTML page (UTF-8, lang vi).
pub fn html(r: &Report) -> String {
    let color = match r.indication {
        Indication::TotalPassed => "#1a7f37",
        Indication::TotalFailed => "#cf222e",
        Indication::Indeterminate => "#9a6700",
    };
    let mut body = String::new();
    for l in lines(r) {
        match l.level {
            0 => body.push_str(&format!("<h2>{}</h2>\n", escape(&l.text))),
            1 => body.push_str(&format!("<p>{}</p>\n", escape(&l.text))),
            _ => body.push_str(&format!("<p class=\"d\">{}</p>\n", escape(&l.text))),
        }
    }
    format!(
        "<!doctype html>\n<html lang=\"vi\"><head><meta charset=\"utf-8\"><title>Kết quả kiểm tra chữ ký số – {}</title>\n<style>body{{font-family:'Times New Roman',serif;max-width:60em;margin:2em auto}}h2{{margin-top:1.5em}}p.d{{margin-left:2em;color:#333}}.v{{color:{color};font-weight:bold}}</style></head>\n<body>\n<p class=\"v\">{}</p>\n{body}</body></html>\n",
        escape(&r.file),
        escape(r.indication.label_vi())
    )
}

fn wrap(text: &str, width: f64, size: f64) -> Vec<String> {
    let mut out = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() { word.to_string() } else { format!("{line} {word}") };
        let w = kyso_pdf::appearance::text_width(&candidate, size).unwrap_or(f64::MAX);
        if !line.is_empty() && w > width {
            out.push(std::mem::replace(&mut line, word.to_string()));
        } else {
            line = candidate;
        }
    }
    if !line.is_empty() {
        out.push(line);
    }
    out
}

/// The report as a PDF (A4, real Vietnamese text).
pub fn pdf(r: &Report) -> Result<Vec<u8>, kyso_pdf::PdfError> {
    use kyso_pdf::appearance::Line as L;
    let mut pages: Vec<Vec<L>> = vec![vec![]];
    let mut y = 800.0;
    for l in lines(r) {
        let (size, x) = match l.level {
            0 => (13.0, 50.0),
            1 => (11.0, 60.0),
            _ => (10.0, 80.0),
        };
        if l.level == 0 {
            y -= 8.0;
        }
        // Characters the embedded font lacks are replaced rather than dropped silently.
        let text: String =
            l.text.chars().map(|c| if kyso_pdf::appearance::text_width(&c.to_string(), size).is_ok() { c } else { '?' }).collect();
        for part in wrap(&text, 545.0 - x, size) {
            if y < 50.0 {
                pages.push(vec![]);
                y = 800.0;
            }
            pages.last_mut().expect("a page").push(L { text: part, x, y, size, color: [0.0, 0.0, 0.0] });
            y -= size * 1.35;
        }
    }
    kyso_pdf::draft::text_pdf(&pages)
}
