//! Writing simple text PDFs: drafts of administrative documents laid out as Decree 30/2020
//! Appendix I sets them (for the demo, the tests and training), with real Vietnamese text in
//! the embedded serif font.

use crate::appearance::{compose, relocate, text_width, Line};
use crate::object::{write, Dict, Obj};
use crate::PdfResult;

/// A4 in points.
pub const A4: (f64, f64) = (595.28, 841.89);
const BLACK: [f64; 3] = [0.0, 0.0, 0.0];

/// Writes a PDF with one A4 page per entry of `pages`, each a list of text lines placed in
/// page coordinates. Classic cross-reference table, no compression of the page content.
pub fn text_pdf(pages: &[Vec<Line>]) -> PdfResult<Vec<u8>> {
    let mut objects: Vec<Obj> = vec![Obj::Null, Obj::Null]; // 1: catalog, 2: pages
    let mut kids = Vec::new();
    for lines in pages {
        let ap = compose(A4.0, A4.1, &[], lines)?;
        // Number the form's objects after what is already there.
        let first = objects.len() as u32 + 1;
        let real: Vec<(u32, u16)> = (0..ap.objects.len() as u32).map(|i| (first + i, 0)).collect();
        for o in &ap.objects {
            objects.push(relocate(o, &real));
        }
        let (form_dict, form_content) = &ap.form;
        objects.push(relocate(&Obj::Stream(form_dict.clone(), form_content.clone()), &real));
        let form_ref = (objects.len() as u32, 0);
        let content = b"q /Fm0 Do Q\n".to_vec();
        objects.push(Obj::Stream(Dict::new(), content));
        let content_ref = (objects.len() as u32, 0);
        let mut xo = Dict::new();
        xo.insert(b"Fm0".to_vec(), Obj::Ref(form_ref));
        let mut res = Dict::new();
        res.insert(b"XObject".to_vec(), Obj::Dict(xo));
        let mut page = Dict::new();
        page.insert(b"Type".to_vec(), Obj::name("Page"));
        page.insert(b"Parent".to_vec(), Obj::Ref((2, 0)));
        page.insert(b"MediaBox".to_vec(), Obj::Array(vec![Obj::Int(0), Obj::Int(0), Obj::Real(A4.0), Obj::Real(A4.1)]));
        page.insert(b"Resources".to_vec(), Obj::Dict(res));
        page.insert(b"Contents".to_vec(), Obj::Ref(content_ref));
        objects.push(Obj::Dict(page));
        kids.push(Obj::Ref((objects.len() as u32, 0)));
    }
    let mut catalog = Dict::new();
    catalog.insert(b"Type".to_vec(), Obj::name("Catalog"));
    catalog.insert(b"Pages".to_vec(), Obj::Ref((2, 0)));
    objects[0] = Obj::Dict(catalog);
    let mut pages_dict = Dict::new();
    pages_dict.insert(b"Type".to_vec(), Obj::name("Pages"));
    pages_dict.insert(b"Count".to_vec(), Obj::Int(kids.len() as i64));
    pages_dict.insert(b"Kids".to_vec(), Obj::Array(kids));
    objects[1] = Obj::Dict(pages_dict);

    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        write(o, &mut out);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f\r\n", objects.len() + 1).as_bytes());
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n\r\n").as_bytes());
    }
    // A fixed ID derived from the content keeps drafts reproducible.
    let id = hex::encode(&kyso_token::HashAlg::Sha256.digest(&out)[..16]);
    out.extend_from_slice(
        format!("trailer\n<< /Size {} /Root 1 0 R /ID [<{id}> <{id}>] >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes(),
    );
    Ok(out)
}

/// The parts of an administrative document (NĐ 30/2020 Appendix I, Part I).
#[derive(Debug, Clone)]
pub struct Nd30Draft {
    /// The governing body, upper case ("UBND TỈNH BẮC NINH").
    pub parent_agency: String,
    /// The issuing agency, upper case ("SỞ NỘI VỤ").
    pub agency: String,
    /// The symbol after the number ("QĐ-SNV"); the number itself is left for the clerk.
    pub symbol: String,
    pub place: String,
    pub year: i32,
    /// The kind, upper case ("QUYẾT ĐỊNH"); empty for an official letter (công văn).
    pub kind: String,
    /// Trích yếu.
    pub title: String,
    pub body: Vec<String>,
    /// Title lines of the signer ("KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC"); the last one is the anchor
    /// for the personal signature.
    pub signer_titles: Vec<String>,
    pub signer_name: String,
    pub recipients: Vec<String>,
}

fn centred(text: &str, cx: f64, y: f64, size: f64) -> PdfResult<Line> {
    Ok(Line { text: text.to_string(), x: cx - text_width(text, size)? / 2.0, y, size, color: BLACK })
}

fn at(text: &str, x: f64, y: f64, size: f64) -> Line {
    Line { text: text.to_string(), x, y, size, color: BLACK }
}

impl Nd30Draft {
    /// Lays the draft out on A4 pages (the body wraps onto further pages as needed), with
    /// the number and the day and month left blank for the records clerk.
    pub fn to_pdf(&self) -> PdfResult<Vec<u8>> {
        let (left_cx, right_cx) = (150.0, 400.0);
        let mut page = vec![
            centred(&self.parent_agency, left_cx, 790.0, 12.0)?,
            centred(&self.agency, left_cx, 775.0, 12.0)?,
            centred("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", right_cx, 790.0, 12.0)?,
            centred("Độc lập - Tự do - Hạnh phúc", right_cx, 775.0, 13.0)?,
            centred(&format!("Số:        /{}", self.symbol), left_cx, 745.0, 13.0)?,
            centred(&format!("{}, ngày       tháng       năm {}", self.place, self.year), right_cx, 745.0, 13.0)?,
        ];
        let mut y = 705.0;
        if !self.kind.is_empty() {
            page.push(centred(&self.kind, A4.0 / 2.0, y, 14.0)?);
            y -= 18.0;
        }
        page.push(centred(&self.title, A4.0 / 2.0, y, 14.0)?);
        y -= 36.0;
        let mut pages = Vec::new();
        for para in &self.body {
            for l in wrap(para, 450.0, 13.0)? {
                if y < 100.0 {
                    pages.push(std::mem::take(&mut page));
                    y = 780.0;
                }
                page.push(at(&l, 85.0, y, 13.0));
                y -= 19.0;
            }
        }
        // The signature block needs about 170 points.
        if y < 190.0 {
            pages.push(std::mem::take(&mut page));
            y = 780.0;
        }
        y -= 10.0;
        let block_top = y;
        for t in &self.signer_titles {
            page.push(centred(t, right_cx, y, 13.0)?);
            y -= 16.0;
        }
        // Room for the signature and the seal, then the name.
        y -= 80.0;
        page.push(centred(&self.signer_name, right_cx, y, 13.0)?);
        let mut ry = block_top;
        page.push(at("Nơi nhận:", 60.0, ry, 11.0));
        for r in &self.recipients {
            ry -= 13.0;
            page.push(at(&format!("- {r};"), 60.0, ry, 10.0));
        }
        pages.push(page);
        text_pdf(&pages)
    }
}

/// Splits a paragraph into lines at most `width` points wide.
fn wrap(text: &str, width: f64, size: f64) -> PdfResult<Vec<String>> {
    let mut out = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() { word.to_string() } else { format!("{line} {word}") };
        if !line.is_empty() && text_width(&candidate, size)? > width {
            out.push(std::mem::replace(&mut line, word.to_string()));
        } else {
            line = candidate;
        }
    }
    if !line.is_empty() {
        out.push(line);
    }
    Ok(out)
}
