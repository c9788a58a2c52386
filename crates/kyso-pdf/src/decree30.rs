//! The visible signatures of Decree 30/2020/NĐ-CP Appendix I (and TT 01/2019/TT-BNV for
//! digitised documents): where each goes and what it shows.

use crate::appearance::{compose, text_width, Appearance, Line, Picture};
use crate::form::TextField;
use crate::reader::PdfDoc;
use crate::sign::{Fill, Placement};
use crate::{PdfError, PdfResult};
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Utc};

/// Points per millimetre.
pub const PT_PER_MM: f64 = 72.0 / 25.4;
/// The information text: Times New Roman metrics, upright, 10 pt, black.
pub const TEXT_SIZE: f64 = 10.0;
const BLACK: [f64; 3] = [0.0, 0.0, 0.0];

/// The kinds of copy of a paper document (Part II, section I, clause 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyType {
    SaoY,
    SaoLuc,
    TrichSao,
}

impl CopyType {
    pub fn label(self) -> &'static str {
        match self {
            CopyType::SaoY => "SAO Y",
            CopyType::SaoLuc => "SAO LỤC",
            CopyType::TrichSao => "TRÍCH SAO",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_uppercase().as_str() {
            "SAO Y" | "SAO_Y" | "SAOY" => Some(CopyType::SaoY),
            "SAO LỤC" | "SAO_LUC" | "SAOLUC" | "SAO LUC" => Some(CopyType::SaoLuc),
            "TRÍCH SAO" | "TRICH_SAO" | "TRICHSAO" | "TRICH SAO" => Some(CopyType::TrichSao),
            _ => None,
        }
    }
}

/// What to draw.
#[derive(Debug, Clone)]
pub enum Kind {
    /// (a) The competent signer's handwritten signature (blue PNG, transparent), centred in
    /// the box between the title line and the name.
    Personal {
        signature_png: Vec<u8>,
        rect: [f64; 4],
    },
    /// (b) The agency's signature on an issued document: the red seal at its real size,
    /// over about the left third of the personal signature, with the agency name and time.
    Agency {
        seal_png: Vec<u8>,
        seal_mm: f64,
        personal_rect: [f64; 4],
        agency: String,
    },
    /// (d) An electronic copy made from paper: top right of page 1, no image; the copy type,
    /// the copying agency and the time.
    Copy {
        copy_type: CopyType,
        agency: String,
    },
    /// (e) A digitised document: top right of page 1, the seal at real size, agency and time.
    Digitised {
        seal_png: Vec<u8>,
        seal_mm: f64,
        agency: String,
    },
    /// (c) An attachment signed by the agency: top right of page 1, no image; the document's
    /// number and symbol, and the time.
    Attachment {
        number: String,
    },
    Invisible,
}

/// The signing time as ISO 8601 in Vietnam's time zone, e.g. 2025-07-01T09:30:15+07:00.
pub fn iso_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&FixedOffset::east_opt(7 * 3600).expect("offset")).format("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

fn line(text: &str, x: f64, y: f64) -> Line {
    Line { text: text.to_string(), x, y, size: TEXT_SIZE, color: BLACK }
}

/// Text lines stacked from the top of a box `width` wide, right-aligned when `right`.
fn text_box(lines: &[String], width: f64, top: f64, right: bool) -> PdfResult<Vec<Line>> {
    let lead = TEXT_SIZE * 1.25;
    let mut out = Vec::new();
    for (i, t) in lines.iter().enumerate() {
        let w = text_width(t, TEXT_SIZE)?;
        let x = if right { (width - w).max(0.0) } else { 0.0 };
        out.push(line(t, x, top - lead * (i as f64 + 1.0) + 2.5));
    }
    Ok(out)
}

fn widest(lines: &[String]) -> PdfResult<f64> {
    lines.iter().map(|l| text_width(l, TEXT_SIZE)).try_fold(0.0f64, |m, w| w.map(|w| m.max(w)))
}

/// The page (1-based), placement and appearance for `kind` signed at `time`.
pub fn layout(kind: &Kind, page: usize, time: DateTime<Utc>) -> PdfResult<(usize, Placement, Option<Appearance>)> {
    let when = iso_time(time);
    let margin = 20.0;
    Ok(match kind {
        Kind::Invisible => (page, Placement::Invisible, None),
        Kind::Personal { signature_png, rect } => {
            let (w, h) = (rect[2] - rect[0], rect[3] - rect[1]);
            let img = crate::appearance::decode_png(signature_png)?;
            let (pw, ph) = (img.width, img.height);
            // Fit the image in the box, keeping its proportions, centred.
            let s = (w / f64::from(pw)).min(h / f64::from(ph));
            let (iw, ih) = (f64::from(pw) * s, f64::from(ph) * s);
            let ap = compose(w, h, &[Picture { png: signature_png.clone(), x: (w - iw) / 2.0, y: (h - ih) / 2.0, w: iw, h: ih }], &[])?;
            (page, Placement::Rect(*rect), Some(ap))
        }
        Kind::Agency { seal_png, seal_mm, personal_rect, agency } => {
            let d = seal_mm * PT_PER_MM;
            let pw = personal_rect[2] - personal_rect[0];
            // The seal's right edge reaches a third into the personal signature.
            let x = personal_rect[0] + pw / 3.0 - d;
            let cy = (personal_rect[1] + personal_rect[3]) / 2.0;
            let lines = vec![agency.clone(), when];
            let text_h = 2.0 * TEXT_SIZE * 1.25 + 2.0;
            let w = d.max(widest(&lines)?);
            let rect = [x, cy - d / 2.0 - text_h, x + w, cy + d / 2.0];
            let seal = Picture { png: seal_png.clone(), x: 0.0, y: text_h, w: d, h: d };
            let ap = compose(w, d + text_h, &[seal], &text_box(&lines, w, text_h, false)?)?;
            (page, Placement::Rect(rect), Some(ap))
        }
        Kind::Copy { copy_type, agency } => {
            let lines = vec![copy_type.label().to_string(), agency.clone(), when];
            let w = widest(&lines)? + 2.0;
            let h = 3.0 * TEXT_SIZE * 1.25 + 4.0;
            let ap = compose(w, h, &[], &text_box(&lines, w, h, true)?)?;
            (1, Placement::TopRight { margin }, Some(ap))
        }
        Kind::Digitised { seal_png, seal_mm, agency } => {
            let d = seal_mm * PT_PER_MM;
            let lines = vec![agency.clone(), when];
            let text_h = 2.0 * TEXT_SIZE * 1.25 + 4.0;
            let w = d.max(widest(&lines)? + 2.0);
            let seal = Picture { png: seal_png.clone(), x: w - d, y: text_h, w: d, h: d };
            let ap = compose(w, d + text_h, &[seal], &text_box(&lines, w, text_h, true)?)?;
            (1, Placement::TopRight { margin }, Some(ap))
        }
        Kind::Attachment { number } => {
            let lines = vec![number.clone(), when];
            let w = widest(&lines)? + 2.0;
            let h = 2.0 * TEXT_SIZE * 1.25 + 4.0;
            let ap = compose(w, h, &[], &text_box(&lines, w, h, true)?)?;
            (1, Placement::TopRight { margin }, Some(ap))
        }
    })
}

/// The names of the fields for the register number, day and month.
pub const NUMBER_FIELD: &str = "kyso_so";
pub const DAY_FIELD: &str = "kyso_ngay";
pub const MONTH_FIELD: &str = "kyso_thang";

/// The blank after an anchor on page 1, as a field box.
fn blank_after(hit: &crate::text::TextHit, chars: f64) -> [f64; 4] {
    let x = hit.x1 + hit.size * 0.2;
    let y0 = hit.y - hit.size * 0.3;
    [x, y0, x + hit.size * 0.6 * chars, y0 + hit.size * 1.3]
}

/// Read-only text fields over the blanks after "Số:", "ngày" and "tháng" on page 1 (NĐ
/// 30/2020 Appendix I, items 3 and 4), added to a draft before anyone signs it, so that the
/// records clerk can write the register number and date afterwards as form filling, which
/// the earlier signatures allow.
pub fn number_and_date_fields(doc: &PdfDoc<'_>) -> PdfResult<Vec<TextField>> {
    let find = |needle: &str| -> PdfResult<crate::text::TextHit> {
        crate::text::find_top(doc, 1, needle)?.ok_or_else(|| {
            PdfError::Invalid(format!(
                "không tìm thấy '{needle}' ở trang 1 để dành chỗ ghi số và ngày ban hành; hãy kiểm tra dự thảo theo thể thức Nghị định 30/2020"
            ))
        })
    };
    Ok(vec![
        TextField { name: NUMBER_FIELD.into(), page: 1, rect: blank_after(&find("Số:")?, 3.0) },
        TextField { name: DAY_FIELD.into(), page: 1, rect: blank_after(&find("ngày")?, 2.0) },
        TextField { name: MONTH_FIELD.into(), page: 1, rect: blank_after(&find("tháng")?, 2.0) },
    ])
}

/// The values the records clerk writes into those fields: the number (at least two digits)
/// and the day and month of issue.
pub fn number_and_date_fills(number: u32, issued_on: NaiveDate, size: f64) -> Vec<Fill> {
    vec![
        Fill { field: NUMBER_FIELD.into(), value: format!("{number:02}"), size },
        Fill { field: DAY_FIELD.into(), value: format!("{:02}", issued_on.day()), size },
        Fill { field: MONTH_FIELD.into(), value: format!("{:02}", issued_on.month()), size },
    ]
}

/// The number and symbol and the date of issue a document shows in its header (NĐ 30/2020
/// Appendix I, items 3 and 4), where they can be read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Header {
    /// "12/QĐ-UBND".
    pub number: Option<String>,
    pub date: Option<NaiveDate>,
}

/// Runs of page 1 searched for the header: it opens the document, and the body below may cite
/// other documents' numbers and dates.
const HEADER_RUNS: usize = 40;

/// Reads the header of a received document from the text of page 1 and, for a document kyso
/// issued, from the number, day and month the records clerk wrote into its fields.
pub fn read_header(doc: &PdfDoc<'_>) -> PdfResult<Header> {
    let runs = crate::text::page_runs(doc, 1)?;
    let mut filled: [Option<String>; 3] = [None, None, None];
    for (name, _, d) in crate::form::fields(doc).unwrap_or_default() {
        let slot = [NUMBER_FIELD, DAY_FIELD, MONTH_FIELD].iter().position(|f| *f == name);
        if let (Some(i), Some(crate::object::Obj::Str(v))) = (slot, crate::object::get(&d, "V")) {
            filled[i] = Some(crate::verify::text_of(v));
        }
    }
    Ok(parse_header(&runs, [filled[0].as_deref(), filled[1].as_deref(), filled[2].as_deref()]))
}

/// The header in `runs` (the text of page 1, top to bottom), with `filled` the number, day and
/// month written into a kyso draft's blanks, which its text leaves empty.
pub fn parse_header(runs: &[String], filled: [Option<&str>; 3]) -> Header {
    let runs = &runs[..runs.len().min(HEADER_RUNS)];
    let number = runs.iter().find_map(|r| {
        let rest = r.strip_prefix("Số")?.trim_start().strip_prefix(':')?;
        let rest: String = rest.chars().filter(|c| !c.is_whitespace()).collect();
        let n = match (filled[0].map(str::trim), rest.starts_with('/')) {
            (Some(f), true) if !f.is_empty() => format!("{f}{rest}"),
            _ => rest,
        };
        n.starts_with(|c: char| c.is_ascii_digit()).then_some(n)
    });
    // The header's date line is "Place, ngày … tháng … năm …" (or begins with "ngày"); a
    // document cited in the body ("Nghị định số 30/2020/NĐ-CP ngày 05 tháng 3 năm 2020") is
    // not it. Only the first such line counts: a blank one gives no date.
    let date_line = runs.iter().find(|r| {
        r.split_once("ngày").is_some_and(|(before, after)| {
            (before.trim().is_empty() || before.trim_end().ends_with(',')) && after.contains("tháng") && after.contains("năm")
        })
    });
    let date = date_line.and_then(|r| {
        let (_, after) = r.split_once("ngày")?;
        let (day, after) = after.split_once("tháng")?;
        let (month, after) = after.split_once("năm")?;
        let digits = |s: &str| -> Option<u32> {
            let d: String = s.trim().chars().take_while(char::is_ascii_digit).collect();
            d.parse().ok()
        };
        let day = digits(day).or_else(|| filled[1].and_then(digits))?;
        let month = digits(month).or_else(|| filled[2].and_then(digits))?;
        let year = digits(after)?;
        NaiveDate::from_ymd_opt(year as i32, month, day)
    });
    Header { number, date }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn times_are_iso_8601_in_vietnam() {
        let t = Utc.with_ymd_and_hms(2025, 7, 1, 2, 30, 15).unwrap();
        assert_eq!(iso_time(t), "2025-07-01T09:30:15+07:00");
        assert_eq!(CopyType::parse("sao lục"), Some(CopyType::SaoLuc));
        assert_eq!(CopyType::parse("trich_sao"), Some(CopyType::TrichSao));
    }

    #[test]
    fn the_header_gives_the_number_and_date_where_it_shows_them() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d);
        // (case, runs of page 1, filled number/day/month, number, date)
        type Case<'a> = (&'a str, &'a [&'a str], [Option<&'a str>; 3], Option<&'a str>, Option<NaiveDate>);
        let cases: &[Case<'_>] = &[
            (
                "printed in full",
                &["UBND TỈNH BẮC NINH", "Số: 123/QĐ-UBND", "Bắc Ninh, ngày 05 tháng 3 năm 2026"],
                [None, None, None],
                Some("123/QĐ-UBND"),
                d(2026, 3, 5),
            ),
            (
                "spaced colon and number",
                &["Số : 45 / UBND-VP", "Hà Tĩnh, ngày 5 tháng 11 năm 2025"],
                [None, None, None],
                Some("45/UBND-VP"),
                d(2025, 11, 5),
            ),
            (
                "a kyso draft the clerk filled",
                &["SỞ NỘI VỤ", "Số: /QĐ-SNV", "Bắc Giang, ngày tháng năm 2026"],
                [Some("07"), Some("09"), Some("04")],
                Some("07/QĐ-SNV"),
                d(2026, 4, 9),
            ),
            ("a draft not yet numbered", &["Số: /QĐ-SNV", "Bắc Giang, ngày tháng năm 2026"], [None, None, None], None, None),
            ("no such date", &["Số: 1/TB-UBND", "ngày 31 tháng 2 năm 2026"], [None, None, None], Some("1/TB-UBND"), None),
            ("no header at all", &["Biên bản họp", "Nội dung"], [None, None, None], None, None),
            (
                "a blank date and a document cited in the body",
                &["Số: /QĐ-SNV", "Bắc Giang, ngày tháng năm 2026", "Căn cứ Nghị định số 30/2020/NĐ-CP ngày 05 tháng 3 năm 2020;"],
                [None, None, None],
                None,
                None,
            ),
        ];
        for (case, runs, filled, number, date) in cases {
            let runs: Vec<String> = runs.iter().map(|r| r.to_string()).collect();
            let h = parse_header(&runs, *filled);
            assert_eq!(h.number.as_deref(), *number, "{case}");
            assert_eq!(h.date, *date, "{case}");
        }
    }
}
