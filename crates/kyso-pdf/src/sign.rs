//! PAdES signing as an append-only incremental update: earlier bytes are never rewritten, so
//! every earlier signature stays valid. The update adds the signature dictionary (with fixed
//! placeholders for /ByteRange and /Contents), the signature field and its widget, the
//! changed page and form, and a cross-reference section of the same kind as the file's.

use crate::object::{get, write, Dict, Obj, Ref};
use crate::reader::PdfDoc;
use crate::{PdfError, PdfResult};
use chrono::{DateTime, Utc};
use kyso_token::HashAlg;

/// Bytes reserved for the CMS signature (B-T tokens and chains fit comfortably).
pub const DEFAULT_CONTENTS: usize = 24 * 1024;

/// Where and how the signature goes.
#[derive(Debug, Clone)]
pub struct FieldSpec {
    /// 1-based page number.
    pub page: usize,
    pub name: String,
    pub placement: Placement,
    /// The appearance, for visible signatures.
    pub appearance: Option<crate::appearance::Appearance>,
    pub reason: Option<String>,
    pub location: Option<String>,
    pub signing_time: DateTime<Utc>,
    pub contents_size: usize,
    /// `/ETSI.CAdES.detached` for PAdES signatures, `/ETSI.RFC3161` for document time-stamps.
    pub sub_filter: &'static str,
    /// Text fields to fill in the same update, e.g. the register number and date that the
    /// records clerk writes before applying the agency signature. Verifiers see this as form
    /// filling, which earlier signatures allow.
    pub fills: Vec<Fill>,
}

/// A value for an existing text field (see `form::add_text_fields`).
#[derive(Debug, Clone)]
pub struct Fill {
    /// The field's full name.
    pub field: String,
    pub value: String,
    /// Font size in points.
    pub size: f64,
}

/// Where the widget goes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Placement {
    Invisible,
    /// [x1 y1 x2 y2] in points from the page's lower left.
    Rect([f64; 4]),
    /// The top-right corner of the page, `margin` points in, at the appearance's size.
    TopRight {
        margin: f64,
    },
}

/// The page's MediaBox, inherited from the page tree if needed.
fn media_box(doc: &PdfDoc<'_>, page: &Dict) -> PdfResult<[f64; 4]> {
    let mut node = page.clone();
    for _ in 0..64 {
        if let Some(b) = get(&node, "MediaBox").map(|b| doc.resolve(b)).transpose()? {
            let v: Vec<f64> = b
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| match x {
                            Obj::Int(i) => Some(*i as f64),
                            Obj::Real(r) => Some(*r),
                            _ => None,
                        })
                        .collect()
                })
                .unwrap_or_default();
            if v.len() == 4 {
                return Ok([v[0], v[1], v[2], v[3]]);
            }
        }
        match get(&node, "Parent").and_then(Obj::as_ref) {
            Some(p) => node = doc.get(p)?.as_dict().cloned().unwrap_or_default(),
            None => break,
        }
    }
    Ok([0.0, 0.0, 595.0, 842.0])
}

/// A prepared update: the bytes to append to the original file (with placeholders), and
/// where /Contents is. The original is not copied, so a large file is never held twice.
pub struct Prepared {
    /// Length of the original file; the update follows it.
    pub base_len: usize,
    /// The incremental update (a leading newline if the original lacks one, the new objects,
    /// the cross-reference section and trailer).
    pub update: Vec<u8>,
    /// Offsets in the whole output of `<` and just after `>` of /Contents.
    pub contents: (usize, usize),
}

/// The incremental hash (kept here under its old path for callers).
pub use kyso_token::Hasher;

impl Prepared {
    /// The /ByteRange.
    pub fn byte_range(&self) -> [usize; 4] {
        let total = self.base_len + self.update.len();
        [0, self.contents.0, self.contents.1, total - self.contents.1]
    }
    /// The parts of the update that the signature covers.
    fn signed_update(&self) -> (&[u8], &[u8]) {
        let (a, b) = (self.contents.0 - self.base_len, self.contents.1 - self.base_len);
        (&self.update[..a], &self.update[b..])
    }
    /// The digest of the signed ranges, given the original bytes.
    pub fn digest(&self, base: &[u8], h: HashAlg) -> Vec<u8> {
        let mut d = Hasher::new(h);
        d.update(base);
        let (x, y) = self.signed_update();
        d.update(x);
        d.update(y);
        d.finish()
    }
    /// The digest of the signed ranges, streaming the original from `base`.
    pub fn digest_from(&self, base: &mut dyn std::io::Read, h: HashAlg) -> PdfResult<Vec<u8>> {
        let mut d = Hasher::new(h);
        let n = d.update_from(base).map_err(|e| PdfError::Invalid(format!("không đọc được tệp gốc: {e}")))?;
        if n != self.base_len as u64 {
            return Err(PdfError::Invalid("tệp gốc đã thay đổi kể từ khi chuẩn bị ký; hãy chuẩn bị lại".into()));
        }
        let (x, y) = self.signed_update();
        d.update(x);
        d.update(y);
        Ok(d.finish())
    }
    /// Writes the signature into /Contents and returns the completed update.
    pub fn finish_update(mut self, cms_der: &[u8]) -> PdfResult<Vec<u8>> {
        let (a, b) = (self.contents.0 - self.base_len, self.contents.1 - self.base_len);
        let room = b - a - 2;
        let hex = hex::encode_upper(cms_der);
        if hex.len() > room {
            return Err(PdfError::Invalid(format!("chữ ký ({} byte) lớn hơn chỗ dành sẵn ({} byte)", cms_der.len(), room / 2)));
        }
        self.update[a + 1..a + 1 + hex.len()].copy_from_slice(hex.as_bytes());
        Ok(self.update)
    }
    /// Writes the signature into /Contents and returns the whole signed file.
    pub fn finish(self, base: &[u8], cms_der: &[u8]) -> PdfResult<Vec<u8>> {
        if base.len() != self.base_len {
            return Err(PdfError::Invalid("tệp gốc đã thay đổi kể từ khi chuẩn bị ký; hãy chuẩn bị lại".into()));
        }
        let update = self.finish_update(cms_der)?;
        let mut out = Vec::with_capacity(base.len() + update.len());
        out.extend_from_slice(base);
        out.extend_from_slice(&update);
        Ok(out)
    }
}

fn pdf_date(t: DateTime<Utc>) -> String {
    let vn = t.with_timezone(&chrono::FixedOffset::east_opt(7 * 3600).expect("offset"));
    format!("D:{}+07'00'", vn.format("%Y%m%d%H%M%S"))
}

/// Text for a PDF text string: UTF-16BE with BOM (Vietnamese needs it).
pub fn text_string(s: &str) -> Obj {
    let mut b = vec![0xfe, 0xff];
    for u in s.encode_utf16() {
        b.extend_from_slice(&u.to_be_bytes());
    }
    Obj::Str(b)
}

/// The DocMDP permission of a certified document (1: no changes, 2: form filling and
/// signing, 3: also annotations), if it is certified.
pub fn docmdp_permission(doc: &PdfDoc<'_>) -> PdfResult<Option<i64>> {
    let cat = doc.catalog()?;
    let Some(perms) = get(&cat, "Perms").map(|p| doc.resolve(p)).transpose()? else { return Ok(None) };
    let Some(sig) = perms.as_dict().and_then(|p| get(p, "DocMDP")).map(|s| doc.resolve(s)).transpose()? else { return Ok(None) };
    let refs = sig.as_dict().and_then(|d| get(d, "Reference")).map(|r| doc.resolve(r)).transpose()?;
    for r in refs.as_ref().and_then(Obj::as_array).into_iter().flatten() {
        let r = doc.resolve(r)?;
        if let Some(params) = r.as_dict().and_then(|d| get(d, "TransformParams")).map(|p| doc.resolve(p)).transpose()? {
            return Ok(Some(params.as_dict().and_then(|p| get(p, "P")).and_then(Obj::as_int).unwrap_or(2)));
        }
    }
    Ok(Some(2))
}

/// The names of the form's fields (to keep a new name unique).
fn field_names(doc: &PdfDoc<'_>, acro: &Dict) -> PdfResult<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let fields = get(acro, "Fields").map(|f| doc.resolve(f)).transpose()?;
    for f in fields.as_ref().and_then(Obj::as_array).into_iter().flatten().take(10_000) {
        if let Some(Obj::Str(t)) = doc.resolve(f)?.as_dict().and_then(|d| get(d, "T")) {
            out.push(t.clone());
        }
    }
    Ok(out)
}

/// Builds the incremental update with placeholders.
pub fn prepare(input: &[u8], spec: &FieldSpec) -> PdfResult<Prepared> {
    let doc = PdfDoc::open(input)?;
    if docmdp_permission(&doc)? == Some(1) {
        return Err(PdfError::Refused("tài liệu đã được chứng nhận (DocMDP P=1) không cho phép thay đổi, kể cả thêm chữ ký".into()));
    }
    let pages = doc.pages()?;
    let page_ref = *pages
        .get(spec.page.wrapping_sub(1))
        .ok_or_else(|| PdfError::Invalid(format!("tài liệu có {} trang, không có trang {}", pages.len(), spec.page)))?;
    let mut page = doc.get(page_ref)?.as_dict().cloned().ok_or_else(|| PdfError::Malformed("trang không phải từ điển".into()))?;
    let mut catalog = doc.catalog()?;
    let mut next = doc.size();
    let mut alloc = || {
        let r = (next, 0u16);
        next += 1;
        r
    };
    let sig_ref = alloc();
    let widget_ref = alloc();
    let ap_ref = spec.appearance.as_ref().map(|_| alloc());
    let ap_objects: Vec<Ref> = spec.appearance.iter().flat_map(|a| a.objects.iter()).map(|_| alloc()).collect();
    let mut objects: Vec<(Ref, Obj)> = Vec::new();

    // The form.
    let (acro_ref, mut acro) = match get(&catalog, "AcroForm") {
        Some(Obj::Ref(r)) => (Some(*r), doc.get(*r)?.as_dict().cloned().unwrap_or_default()),
        Some(Obj::Dict(d)) => (None, d.clone()),
        _ => (None, Dict::new()),
    };
    let name = text_string(&spec.name);
    let Obj::Str(name_bytes) = &name else { unreachable!("text_string makes a string") };
    if field_names(&doc, &acro)?.iter().any(|n| n == name_bytes || String::from_utf8_lossy(n) == spec.name) {
        return Err(PdfError::Invalid(format!("đã có trường '{}' trong tài liệu", spec.name)));
    }
    let mut fields = match get(&acro, "Fields").map(|f| doc.resolve(f)).transpose()? {
        Some(Obj::Array(a)) => a,
        _ => vec![],
    };
    fields.push(Obj::Ref(widget_ref));
    acro.insert(b"Fields".to_vec(), Obj::Array(fields));
    acro.insert(b"SigFlags".to_vec(), Obj::Int(3));
    match acro_ref {
        Some(r) => objects.push((r, Obj::Dict(acro))),
        None => {
            let r = alloc();
            objects.push((r, Obj::Dict(acro)));
            catalog.insert(b"AcroForm".to_vec(), Obj::Ref(r));
            objects.push((doc.root_ref(), Obj::Dict(catalog)));
        }
    }

    // The widget (merged with its field).
    let rect = match (spec.placement, &spec.appearance) {
        (Placement::Invisible, _) => [0.0; 4],
        (Placement::Rect(r), _) => r,
        (Placement::TopRight { margin }, Some(a)) => {
            let b = media_box(&doc, &page)?;
            [b[2] - margin - a.width, b[3] - margin - a.height, b[2] - margin, b[3] - margin]
        }
        (Placement::TopRight { .. }, None) => return Err(PdfError::Invalid("chữ ký hiển thị cần hình thức thể hiện".into())),
    };
    let mut w = Dict::new();
    w.insert(b"Type".to_vec(), Obj::name("Annot"));
    w.insert(b"Subtype".to_vec(), Obj::name("Widget"));
    w.insert(b"FT".to_vec(), Obj::name("Sig"));
    w.insert(b"T".to_vec(), name.clone());
    w.insert(b"V".to_vec(), Obj::Ref(sig_ref));
    w.insert(b"F".to_vec(), Obj::Int(132)); // print, locked
    w.insert(b"P".to_vec(), Obj::Ref(page_ref));
    w.insert(b"Rect".to_vec(), Obj::Array(rect.iter().map(|v| Obj::Real(*v)).collect()));
    if let (Some(r), Some(a)) = (ap_ref, &spec.appearance) {
        let mut ap = Dict::new();
        ap.insert(b"N".to_vec(), Obj::Ref(r));
        w.insert(b"AP".to_vec(), Obj::Dict(ap));
        let (d, content) = &a.form;
        objects.push((r, crate::appearance::relocate(&Obj::Stream(d.clone(), content.clone()), &ap_objects)));
        for (o, real) in a.objects.iter().zip(&ap_objects) {
            objects.push((*real, crate::appearance::relocate(o, &ap_objects)));
        }
    }
    objects.push((widget_ref, Obj::Dict(w)));

    // The page's annotations.
    match get(&page, "Annots") {
        Some(Obj::Ref(ar)) => {
            let mut a = doc.get(*ar)?.as_array().cloned().unwrap_or_default();
            a.push(Obj::Ref(widget_ref));
            objects.push((*ar, Obj::Array(a)));
        }
        other => {
            let mut a = other.and_then(Obj::as_array).cloned().unwrap_or_default();
            a.push(Obj::Ref(widget_ref));
            page.insert(b"Annots".to_vec(), Obj::Array(a));
            objects.push((page_ref, Obj::Dict(page)));
        }
    }

    // Filled text fields: the value and a new appearance.
    for f in &spec.fills {
        let (fref, mut fd, ft) = crate::form::find_field(&doc, &f.field)?
            .ok_or_else(|| PdfError::Invalid(format!("tài liệu không có trường '{}' để ghi '{}'", f.field, f.value)))?;
        if ft.as_deref() != Some(b"Tx") {
            return Err(PdfError::Invalid(format!("trường '{}' không phải trường văn bản", f.field)));
        }
        let rect: Vec<f64> =
            get(&fd, "Rect").and_then(Obj::as_array).map(|a| a.iter().map(crate::form::number).collect()).unwrap_or_default();
        if rect.len() != 4 {
            return Err(PdfError::Invalid(format!("trường '{}' không có vị trí (Rect)", f.field)));
        }
        let (w, h) = ((rect[2] - rect[0]).abs(), (rect[3] - rect[1]).abs());
        let line =
            crate::appearance::Line { text: f.value.clone(), x: 1.0, y: (h - f.size * 0.7) / 2.0, size: f.size, color: [0.0, 0.0, 0.0] };
        let ap = crate::appearance::compose(w, h, &[], &[line])?;
        let ap_ref = alloc();
        let locals: Vec<Ref> = ap.objects.iter().map(|_| alloc()).collect();
        let (d, content) = &ap.form;
        objects.push((ap_ref, crate::appearance::relocate(&Obj::Stream(d.clone(), content.clone()), &locals)));
        for (o, real) in ap.objects.iter().zip(&locals) {
            objects.push((*real, crate::appearance::relocate(o, &locals)));
        }
        let mut apd = Dict::new();
        apd.insert(b"N".to_vec(), Obj::Ref(ap_ref));
        fd.insert(b"AP".to_vec(), Obj::Dict(apd));
        fd.insert(b"V".to_vec(), text_string(&f.value));
        objects.push((fref, Obj::Dict(fd)));
    }

    // Write the new revision after the original bytes, which stay untouched. Offsets in
    // `out` are relative to the update; `base` turns them into file offsets.
    let base = input.len();
    let mut out = Vec::new();
    if !input.ends_with(b"\n") {
        out.push(b'\n');
    }
    let mut offsets: Vec<(u32, u16, usize)> = Vec::new();
    // The signature dictionary, written by hand for its fixed placeholders.
    offsets.push((sig_ref.0, sig_ref.1, base + out.len()));
    out.extend_from_slice(
        // A document time-stamp (B-LTA) is a /DocTimeStamp; a signature is a /Sig.
        format!(
            "{} {} obj\n<</Type/{}/Filter/Adobe.PPKLite/SubFilter/{}/ByteRange ",
            sig_ref.0,
            sig_ref.1,
            if spec.sub_filter == "ETSI.RFC3161" { "DocTimeStamp" } else { "Sig" },
            spec.sub_filter
        )
        .as_bytes(),
    );
    let br_at = out.len();
    out.extend_from_slice(format!("[0 {:>10} {:>10} {:>10}]", 0, 0, 0).as_bytes());
    let br_len = out.len() - br_at;
    out.extend_from_slice(b"/Contents ");
    let lt = out.len();
    out.push(b'<');
    out.extend(std::iter::repeat_n(b'0', spec.contents_size * 2));
    out.push(b'>');
    let gt = out.len();
    let mut tail = Dict::new();
    if spec.sub_filter != "ETSI.RFC3161" {
        tail.insert(b"M".to_vec(), Obj::Str(pdf_date(spec.signing_time).into_bytes()));
        if let Some(r) = &spec.reason {
            tail.insert(b"Reason".to_vec(), text_string(r));
        }
        if let Some(l) = &spec.location {
            tail.insert(b"Location".to_vec(), text_string(l));
        }
    }
    for (k, v) in &tail {
        write(&Obj::Name(k.clone()), &mut out);
        out.push(b' ');
        write(v, &mut out);
    }
    out.extend_from_slice(b">>\nendobj\n");
    write_objects(&objects, base, &mut out, &mut offsets);
    write_xref(&doc, base, &mut out, &mut offsets, next)?;

    let c = out.len() - gt;
    let (lt, gt) = (base + lt, base + gt);
    let br = format!("[0 {lt} {gt} {c}]");
    if br.len() > br_len {
        return Err(PdfError::Limit("tệp quá lớn cho /ByteRange".into()));
    }
    out[br_at..br_at + br_len].copy_from_slice(format!("{br:<br_len$}").as_bytes());
    Ok(Prepared { base_len: base, update: out, contents: (lt, gt) })
}

/// Writes `objects` to the update `out`, noting their file offsets (`base` + position).
pub(crate) fn write_objects(objects: &[(Ref, Obj)], base: usize, out: &mut Vec<u8>, offsets: &mut Vec<(u32, u16, usize)>) {
    for (r, o) in objects {
        offsets.push((r.0, r.1, base + out.len()));
        out.extend_from_slice(format!("{} {} obj\n", r.0, r.1).as_bytes());
        write(o, out);
        out.extend_from_slice(b"\nendobj\n");
    }
}

/// Writes the cross-reference section and trailer of an update that starts at file offset
/// `base`.
pub(crate) fn write_xref(
    doc: &PdfDoc<'_>,
    base: usize,
    out: &mut Vec<u8>,
    offsets: &mut Vec<(u32, u16, usize)>,
    next: u32,
) -> PdfResult<()> {
    offsets.sort_by_key(|o| o.0);
    let mut trailer = Dict::new();
    trailer.insert(b"Root".to_vec(), Obj::Ref(doc.root_ref()));
    trailer.insert(b"Prev".to_vec(), Obj::Int(doc.startxref as i64));
    for k in ["Info", "ID"] {
        if let Some(v) = get(&doc.trailer, k) {
            trailer.insert(k.as_bytes().to_vec(), v.clone());
        }
    }
    if doc.xref_stream {
        // A cross-reference stream, like the file's: W [1 4 2], one entry per object.
        let xref_num = next;
        let here = base + out.len();
        offsets.push((xref_num, 0, here));
        let mut data = Vec::new();
        let mut index = Vec::new();
        for (n, g, off) in offsets.iter() {
            data.push(1u8);
            data.extend_from_slice(&(*off as u32).to_be_bytes());
            data.extend_from_slice(&g.to_be_bytes());
            index.push(Obj::Int(i64::from(*n)));
            index.push(Obj::Int(1));
        }
        trailer.insert(b"Type".to_vec(), Obj::name("XRef"));
        trailer.insert(b"Size".to_vec(), Obj::Int(i64::from(xref_num) + 1));
        trailer.insert(b"W".to_vec(), Obj::Array(vec![Obj::Int(1), Obj::Int(4), Obj::Int(2)]));
        trailer.insert(b"Index".to_vec(), Obj::Array(index));
        out.extend_from_slice(format!("{xref_num} 0 obj\n").as_bytes());
        write(&Obj::Stream(trailer, data), out);
        out.extend_from_slice(format!("\nendobj\nstartxref\n{here}\n%%EOF\n").as_bytes());
    } else {
        let here = base + out.len();
        out.extend_from_slice(b"xref\n");
        for (n, g, off) in offsets.iter() {
            out.extend_from_slice(format!("{n} 1\n{off:010} {g:05} n\r\n").as_bytes());
        }
        trailer.insert(b"Size".to_vec(), Obj::Int(i64::from(next)));
        out.extend_from_slice(b"trailer\n");
        write(&Obj::Dict(trailer), out);
        out.extend_from_slice(format!("\nstartxref\n{here}\n%%EOF\n").as_bytes());
    }
    Ok(())
}
