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
}
