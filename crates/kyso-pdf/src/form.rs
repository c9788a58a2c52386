//! Form fields: adding read-only text fields to a draft before it is signed (the blanks for
//! the register number and date of Decree 30/2020), and finding fields by name.

use crate::object::{get, Dict, Obj, Ref};
use crate::reader::PdfDoc;
use crate::sign::{text_string, write_objects, write_xref};
use crate::verify::text_of;
use crate::{PdfError, PdfResult};
use std::collections::HashSet;

/// A text field to add.
#[derive(Debug, Clone, PartialEq)]
pub struct TextField {
    pub name: String,
    /// 1-based page number.
    pub page: usize,
    pub rect: [f64; 4],
}

pub fn number(o: &Obj) -> f64 {
    match o {
        Obj::Int(i) => *i as f64,
        Obj::Real(r) => *r,
        _ => 0.0,
    }
}

/// Every terminal field of the form: (full name, reference, merged dictionary with the
/// inherited field type and value).
pub fn fields(doc: &PdfDoc<'_>) -> PdfResult<Vec<(String, Ref, Dict)>> {
    let cat = doc.catalog()?;
    let Some(acro) = get(&cat, "AcroForm").map(|a| doc.resolve(a)).transpose()? else { return Ok(vec![]) };
    let list = acro.as_dict().and_then(|a| get(a, "Fields")).map(|f| doc.resolve(f)).transpose()?;
    // (field, parent's full name, inherited /FT and /V, depth)
    type Pending = (Obj, String, (Option<Obj>, Option<Obj>), usize);
    let mut stack: Vec<Pending> =
        list.as_ref().and_then(Obj::as_array).into_iter().flatten().rev().map(|f| (f.clone(), String::new(), (None, None), 0)).collect();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    while let Some((f, prefix, (inherited_ft, inherited_v), depth)) = stack.pop() {
        if seen.len() >= 10_000 || depth > 32 {
            return Err(PdfError::Limit("cây trường biểu mẫu quá lớn hoặc quá sâu".into()));
        }
        let Obj::Ref(r) = f else { continue };
        if !seen.insert(r) {
            continue;
        }
        let Some(mut d) = doc.get(r)?.as_dict().cloned() else { continue };
        let partial = match get(&d, "T") {
            Some(Obj::Str(t)) => text_of(t),
            _ => String::new(),
        };
        let name = match (prefix.is_empty(), partial.is_empty()) {
            (true, _) => partial,
            (false, true) => prefix.clone(),
            (false, false) => format!("{prefix}.{partial}"),
        };
        let ft = get(&d, "FT").cloned().or(inherited_ft);
        let v = get(&d, "V").cloned().or(inherited_v);
        let kids = get(&d, "Kids").map(|k| doc.resolve(k)).transpose()?;
        let named_kids: Vec<Obj> = kids.as_ref().and_then(Obj::as_array).cloned().unwrap_or_default();
        if named_kids.is_empty() || get(&d, "Subtype").is_some() {
            if let Some(ft) = &ft {
                d.entry(b"FT".to_vec()).or_insert_with(|| ft.clone());
            }
            if let Some(v) = &v {
                d.entry(b"V".to_vec()).or_insert_with(|| v.clone());
            }
            out.push((name.clone(), r, d.clone()));
        }
        for k in named_kids.into_iter().rev() {
            stack.push((k, name.clone(), (ft.clone(), v.clone()), depth + 1));
        }
    }
    Ok(out)
}

/// A field found by name: its reference, its own dictionary and its (inherited) type.
pub type FoundField = (Ref, Dict, Option<Vec<u8>>);

/// The field named `name` (full name): its reference, its own dictionary as stored, and its
/// field type (possibly inherited).
pub fn find_field(doc: &PdfDoc<'_>, name: &str) -> PdfResult<Option<FoundField>> {
    for (n, r, merged) in fields(doc)? {
        if n == name {
            let own = doc.get(r)?.as_dict().cloned().unwrap_or_default();
            let ft = get(&merged, "FT").and_then(Obj::as_name).map(<[u8]>::to_vec);
            return Ok(Some((r, own, ft)));
        }
    }
    Ok(None)
}

/// Adds read-only text fields, empty, as an incremental update (earlier bytes untouched).
/// Names already in the form are refused.
pub fn add_text_fields(input: &[u8], new: &[TextField]) -> PdfResult<Vec<u8>> {
    let update = text_fields_update(input, new)?;
    Ok([input, &update].concat())
}

/// The widget rectangle and 1-based page of the field named `name`.
pub fn field_rect(doc: &PdfDoc<'_>, name: &str) -> PdfResult<Option<(usize, [f64; 4])>> {
    let Some((_, d, _)) = find_field(doc, name)? else { return Ok(None) };
    let r: Vec<f64> = get(&d, "Rect").and_then(Obj::as_array).map(|a| a.iter().map(number).collect()).unwrap_or_default();
    let Some(p) = get(&d, "P").and_then(Obj::as_ref) else { return Ok(None) };
    let page = doc.pages()?.iter().position(|x| *x == p).map(|i| i + 1);
    Ok(match (page, r.len()) {
        (Some(page), 4) => Some((page, [r[0].min(r[2]), r[1].min(r[3]), r[0].max(r[2]), r[1].max(r[3])])),
        _ => None,
    })
}

/// The update that [`add_text_fields`] appends, on its own (for large files).
pub fn text_fields_update(input: &[u8], new: &[TextField]) -> PdfResult<Vec<u8>> {
    let doc = PdfDoc::open(input)?;
    let existing: HashSet<String> = fields(&doc)?.into_iter().map(|f| f.0).collect();
    let pages = doc.pages()?;
    let mut catalog = doc.catalog()?;
    let mut next = doc.size();
    let mut alloc = || {
        let r = (next, 0u16);
        next += 1;
        r
    };
    let mut objects: Vec<(Ref, Obj)> = Vec::new();
    let (acro_ref, mut acro) = match get(&catalog, "AcroForm") {
        Some(Obj::Ref(r)) => (Some(*r), doc.get(*r)?.as_dict().cloned().unwrap_or_default()),
        Some(Obj::Dict(d)) => (None, d.clone()),
        _ => (None, Dict::new()),
    };
    let mut list = match get(&acro, "Fields").map(|f| doc.resolve(f)).transpose()? {
        Some(Obj::Array(a)) => a,
        _ => vec![],
    };
    let mut page_annots: Vec<(Ref, Vec<Obj>)> = Vec::new();
    for f in new {
        if f.name.is_empty() || f.name.contains('.') {
            return Err(PdfError::Invalid(format!("tên trường '{}' không hợp lệ (không được rỗng hay chứa dấu chấm)", f.name)));
        }
        if existing.contains(&f.name) || new.iter().filter(|g| g.name == f.name).count() > 1 {
            return Err(PdfError::Invalid(format!("đã có trường '{}' trong tài liệu", f.name)));
        }
        let page_ref = *pages
            .get(f.page.wrapping_sub(1))
            .ok_or_else(|| PdfError::Invalid(format!("tài liệu có {} trang, không có trang {}", pages.len(), f.page)))?;
        let (w, h) = (f.rect[2] - f.rect[0], f.rect[3] - f.rect[1]);
        let ap_ref = alloc();
        let mut form = Dict::new();
        form.insert(b"Type".to_vec(), Obj::name("XObject"));
        form.insert(b"Subtype".to_vec(), Obj::name("Form"));
        form.insert(b"BBox".to_vec(), Obj::Array(vec![Obj::Int(0), Obj::Int(0), Obj::Real(w), Obj::Real(h)]));
        objects.push((ap_ref, Obj::Stream(form, Vec::new())));
        let wref = alloc();
        let mut d = Dict::new();
        d.insert(b"Type".to_vec(), Obj::name("Annot"));
        d.insert(b"Subtype".to_vec(), Obj::name("Widget"));
        d.insert(b"FT".to_vec(), Obj::name("Tx"));
        d.insert(b"T".to_vec(), text_string(&f.name));
        d.insert(b"Ff".to_vec(), Obj::Int(1)); // read-only: only kyso writes it
        d.insert(b"F".to_vec(), Obj::Int(4)); // print
        d.insert(b"DA".to_vec(), Obj::Str(b"/Helv 0 Tf 0 g".to_vec()));
        d.insert(b"P".to_vec(), Obj::Ref(page_ref));
        d.insert(b"Rect".to_vec(), Obj::Array(f.rect.iter().map(|v| Obj::Real(*v)).collect()));
        let mut ap = Dict::new();
        ap.insert(b"N".to_vec(), Obj::Ref(ap_ref));
        d.insert(b"AP".to_vec(), Obj::Dict(ap));
        objects.push((wref, Obj::Dict(d)));
        list.push(Obj::Ref(wref));
        match page_annots.iter_mut().find(|(p, _)| *p == page_ref) {
            Some((_, a)) => a.push(Obj::Ref(wref)),
            None => page_annots.push((page_ref, vec![Obj::Ref(wref)])),
        }
    }
    acro.insert(b"Fields".to_vec(), Obj::Array(list));
    if get(&acro, "DR").is_none() {
        let mut helv = Dict::new();
        helv.insert(b"Type".to_vec(), Obj::name("Font"));
        helv.insert(b"Subtype".to_vec(), Obj::name("Type1"));
        helv.insert(b"BaseFont".to_vec(), Obj::name("Helvetica"));
        helv.insert(b"Encoding".to_vec(), Obj::name("WinAnsiEncoding"));
        let mut fonts = Dict::new();
        fonts.insert(b"Helv".to_vec(), Obj::Dict(helv));
        let mut dr = Dict::new();
        dr.insert(b"Font".to_vec(), Obj::Dict(fonts));
        acro.insert(b"DR".to_vec(), Obj::Dict(dr));
    }
    match acro_ref {
        Some(r) => objects.push((r, Obj::Dict(acro))),
        None => {
            let r = alloc();
            objects.push((r, Obj::Dict(acro)));
            catalog.insert(b"AcroForm".to_vec(), Obj::Ref(r));
            objects.push((doc.root_ref(), Obj::Dict(catalog)));
        }
    }
    for (pref, added) in page_annots {
        let mut pg = doc.get(pref)?.as_dict().cloned().ok_or_else(|| PdfError::Malformed("trang không phải từ điển".into()))?;
        match get(&pg, "Annots") {
            Some(Obj::Ref(ar)) => {
                let mut a = doc.get(*ar)?.as_array().cloned().unwrap_or_default();
                a.extend(added);
                objects.push((*ar, Obj::Array(a)));
            }
            other => {
                let mut a = other.and_then(Obj::as_array).cloned().unwrap_or_default();
                a.extend(added);
                pg.insert(b"Annots".to_vec(), Obj::Array(a));
                objects.push((pref, Obj::Dict(pg)));
            }
        }
    }
    let mut out = Vec::new();
    if !input.ends_with(b"\n") {
        out.push(b'\n');
    }
    let mut offsets = Vec::new();
    write_objects(&objects, input.len(), &mut out, &mut offsets);
    write_xref(&doc, input.len(), &mut out, &mut offsets, next)?;
    Ok(out)
}
