//! The revisions of a PDF and what each incremental update changed, object by object,
//! classified as signing, validation data, form filling, annotations or other changes. Which
//! classes a signature allows after it depends on the document's DocMDP level and on FieldMDP
//! locks; the classes themselves do not. This is what resists the shadow attacks (an overlay
//! removed, an object redefined, a font replaced: all "other") and the certification attacks
//! (annotations that change what is shown, signature fields that draw over the content).

use crate::object::{get, Dict, Obj, Ref};
use crate::reader::{Entry, PdfDoc};
use crate::verify::text_of;
use crate::PdfResult;
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// Revisions examined before giving up (each is a parse of the cross-reference chain).
pub const MAX_REVISIONS: usize = 1_000;
/// Objects of one update examined (per kind: deleted, redefined, annotations, fields) before
/// the rest is one "other" change: it bounds the memory a hostile update can take, and what
/// is not analysed is never allowed.
pub const MAX_CHANGED: usize = 20_000;

/// The change that stands for everything past [`MAX_CHANGED`].
fn too_many(what: &str, n: usize) -> Change {
    Change::new(ChangeClass::Other, format!("phiên bản có {n} {what}, quá {MAX_CHANGED}: phần sau không được phân tích"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeClass {
    /// A signature or document time-stamp, its field and appearance.
    Signing,
    /// Validation data (the DSS).
    Validation,
    /// A value written into a form field that was empty.
    FormFilling,
    /// An annotation (comment, stamp, drawing…).
    Annotation,
    /// Anything else: redefined objects, content, fonts, new fields, removed annotations.
    Other,
}

impl ChangeClass {
    pub fn label_vi(self) -> &'static str {
        match self {
            ChangeClass::Signing => "thêm chữ ký, dấu thời gian",
            ChangeClass::Validation => "thêm dữ liệu kiểm tra (DSS)",
            ChangeClass::FormFilling => "điền biểu mẫu",
            ChangeClass::Annotation => "thêm chú thích",
            ChangeClass::Other => "thay đổi khác",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub class: ChangeClass,
    /// In Vietnamese.
    pub what: String,
    /// For form filling: the field's full name.
    pub field: Option<String>,
    /// For an added annotation: its subtype.
    pub subtype: Option<String>,
    /// For an added signature or annotation: whether it draws something on the page.
    pub visible: bool,
    /// For a signature: whether its field was added by this update (not pre-existing).
    pub new_field: bool,
    /// For a signature: whether it is a document time-stamp.
    pub doc_timestamp: bool,
    /// For a signature field: whether the update gives it a value (a signature to verify).
    pub signed: bool,
    /// The document's metadata (/Info, /Metadata, the catalog's /Version or /Extensions)
    /// updated by a signing revision, as signing tools do.
    pub metadata: bool,
    /// For form filling of a field that already had a value (permitted where the field is not
    /// locked, but what the signer saw changes): the old and the new value.
    pub old_value: Option<String>,
    pub new_value: Option<String>,
}

impl Change {
    fn new(class: ChangeClass, what: impl Into<String>) -> Self {
        Change {
            class,
            what: what.into(),
            field: None,
            subtype: None,
            visible: false,
            new_field: false,
            doc_timestamp: false,
            signed: false,
            metadata: false,
            old_value: None,
            new_value: None,
        }
    }
    /// A filled field's value replaced.
    pub fn is_refill(&self) -> bool {
        self.class == ChangeClass::FormFilling && self.old_value.is_some()
    }
}

/// A field value as text, for the report.
fn value_text(doc: &PdfDoc<'_>, v: Option<&Obj>) -> String {
    match v.map(|v| doc.resolve(v)) {
        Some(Ok(Obj::Str(s))) => text_of(&s),
        Some(Ok(Obj::Name(n))) => format!("/{}", String::from_utf8_lossy(&n)),
        Some(Ok(Obj::Int(i))) => i.to_string(),
        Some(Ok(other)) => format!("{other:?}").chars().take(80).collect(),
        _ => String::new(),
    }
}

fn is_doc_timestamp(doc: &PdfDoc<'_>, field: &Dict) -> bool {
    // Shallow: only /Type is wanted, not the signature's /Contents.
    let shallow = |v: &Obj| match v {
        Obj::Ref(r) => doc.get_shallow(*r).ok(),
        other => Some(other.clone()),
    };
    get(field, "V").and_then(shallow).as_ref().and_then(Obj::as_dict).and_then(|d| get(d, "Type")).and_then(Obj::as_name)
        == Some(b"DocTimeStamp")
}

/// One revision: where it ends and what it changed from the one before.
#[derive(Debug, Clone, Serialize)]
pub struct Revision {
    pub index: usize,
    pub end: usize,
    pub changes: Vec<Change>,
}

/// The ends of the revisions of `data` (after each `%%EOF` that closes a readable revision).
pub fn revision_ends(data: &[u8]) -> Vec<usize> {
    scan_revisions(data).0
}

/// The revision ends, and whether the scan gave up before the end of the file.
fn scan_revisions(data: &[u8]) -> (Vec<usize>, bool) {
    let mut ends = Vec::new();
    let mut from = 0;
    let mut tried = 0;
    while let Some(p) = find(&data[from..], b"%%EOF") {
        // Markers that close no readable revision are tried a bounded number of times too.
        tried += 1;
        if tried > 4 * MAX_REVISIONS {
            return (ends, true);
        }
        let mut end = from + p + 5;
        while end < data.len() && matches!(data[end], b'\r' | b'\n') && end - (from + p + 5) < 2 {
            end += 1;
        }
        if PdfDoc::read(&data[..end]).is_ok() {
            ends.push(end);
            if ends.len() >= MAX_REVISIONS {
                return (ends, true);
            }
        }
        from += p + 5;
    }
    // An update after the last %%EOF that readers still follow (startxref points into it):
    // it is the document as shown, so it is a revision too.
    if ends.len() < MAX_REVISIONS {
        if let Ok(full) = PdfDoc::read(data) {
            if ends.last().is_none_or(|e| full.startxref >= *e) {
                ends.push(data.len());
            }
        }
    }
    (ends, false)
}

/// Whether a revision ends with `%%EOF` (and at most two end-of-line bytes).
fn terminated(rev: &[u8]) -> bool {
    let t = rev.len().saturating_sub(7);
    find(&rev[t..], b"%%EOF").is_some()
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    memchr::memmem::find(h, n)
}

/// Every revision with its changes. Past [`MAX_REVISIONS`], the rest of the file is one
/// "revision" whose change is that it was not analysed (so it is never allowed).
pub fn revisions(data: &[u8]) -> PdfResult<Vec<Revision>> {
    let (ends, truncated) = scan_revisions(data);
    let mut out = Vec::new();
    let mut prev: Option<PdfDoc<'_>> = None;
    let walked = WalkCache::default();
    for (i, end) in ends.iter().enumerate() {
        let cur = PdfDoc::read(&data[..*end])?;
        let mut changes = match &prev {
            Some(p) => diff(p, &cur, &walked),
            None => vec![],
        };
        if i > 0 && !terminated(&data[..*end]) {
            changes.push(Change::new(ChangeClass::Other, "phần cập nhật cuối tệp không kết thúc bằng %%EOF"));
        }
        out.push(Revision { index: i, end: *end, changes });
        prev = Some(cur);
    }
    if truncated {
        out.push(Revision {
            index: out.len(),
            end: data.len(),
            changes: vec![Change::new(
                ChangeClass::Other,
                format!("tệp có hơn {MAX_REVISIONS} phiên bản (hoặc dấu %%EOF); các phiên bản sau không được phân tích"),
            )],
        });
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Catalog,
    AcroForm,
    Page,
    Dss,
    AnnotArray,
    /// A terminal form field that is not a signature field; `true` when it had a value.
    Field(bool),
    /// A signature field; `true` when it was signed.
    SigField(bool),
    /// The document information dictionary (trailer /Info) or the XMP metadata stream.
    Metadata,
}

/// Equal, or the same text written in another encoding (a writer may re-encode a UTF-16 name
/// in PDFDocEncoding when it saves an object again).
fn same(a: Option<&Obj>, b: Option<&Obj>) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => same_obj(x, y),
        _ => a == b,
    }
}

/// Equal as a reader sees them: numbers by value (`612` and `612.0` are one width), text in
/// any encoding, arrays and dictionaries element by element.
fn same_obj(a: &Obj, b: &Obj) -> bool {
    match (a, b) {
        (Obj::Str(x), Obj::Str(y)) => x == y || text_of(x) == text_of(y),
        (Obj::Int(_) | Obj::Real(_), Obj::Int(_) | Obj::Real(_)) => crate::form::number(a) == crate::form::number(b),
        (Obj::Array(x), Obj::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_obj(p, q)),
        (Obj::Dict(x), Obj::Dict(y)) => x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same_obj(v, w))),
        _ => a == b,
    }
}

fn is_empty_value(v: Option<&Obj>) -> bool {
    match v {
        None | Some(Obj::Null) => true,
        Some(Obj::Str(s)) => s.is_empty() || s == &[0xfe, 0xff],
        Some(Obj::Name(n)) => n == b"Off",
        _ => false,
    }
}

fn has_appearance(doc: &PdfDoc<'_>, d: &Dict) -> bool {
    let rect: Vec<f64> = get(d, "Rect").and_then(Obj::as_array).map(|a| a.iter().map(crate::form::number).collect()).unwrap_or_default();
    let area = if rect.len() == 4 { ((rect[2] - rect[0]) * (rect[3] - rect[1])).abs() } else { 0.0 };
    let drawn = match get(d, "AP")
        .and_then(|a| doc.resolve(a).ok())
        .as_ref()
        .and_then(Obj::as_dict)
        .and_then(|a| get(a, "N"))
        .map(|n| doc.resolve(n))
    {
        Some(Ok(Obj::Stream(_, raw))) => !raw.trim_ascii().is_empty(),
        Some(Ok(Obj::Dict(states))) => !states.is_empty(),
        _ => false,
    };
    area > 1.0 && drawn && get(d, "F").and_then(Obj::as_int).is_none_or(|f| f & 2 == 0)
}

fn roles(doc: &PdfDoc<'_>) -> (HashMap<u32, Role>, HashMap<u32, String>) {
    let mut roles = HashMap::new();
    let mut names = HashMap::new();
    roles.insert(doc.root_ref().0, Role::Catalog);
    let cat = doc.catalog().unwrap_or_default();
    for (k, r) in [("AcroForm", Role::AcroForm), ("DSS", Role::Dss), ("Metadata", Role::Metadata), ("Extensions", Role::Metadata)] {
        if let Some(x) = get(&cat, k).and_then(Obj::as_ref) {
            roles.insert(x.0, r);
        }
    }
    if let Some(x) = get(&doc.trailer, "Info").and_then(Obj::as_ref) {
        roles.entry(x.0).or_insert(Role::Metadata);
    }
    for p in doc.pages().unwrap_or_default() {
        roles.insert(p.0, Role::Page);
        if let Some(Obj::Ref(a)) = doc.get(p).ok().as_ref().and_then(Obj::as_dict).and_then(|d| get(d, "Annots")) {
            roles.insert(a.0, Role::AnnotArray);
        }
    }
    for (name, r, merged) in crate::form::fields(doc).unwrap_or_default() {
        // `merged` carries the field's value even when this object is a separate widget.
        let role = if get(&merged, "FT").and_then(Obj::as_name) == Some(b"Sig") {
            Role::SigField(get(&merged, "V").is_some())
        } else {
            Role::Field(!is_empty_value(get(&merged, "V")))
        };
        roles.insert(r.0, role);
        names.insert(r.0, name);
    }
    (roles, names)
}

/// Objects visited by a reachability walk before giving up (then every changed object
/// without a role is "other", which is the safe answer).
const MAX_REACH: usize = 2_000_000;

/// Every reference inside `o` (dictionaries, arrays, stream dictionaries), appended to `out`.
fn refs(o: &Obj, out: &mut Vec<Ref>) {
    match o {
        Obj::Ref(r) => out.push(*r),
        Obj::Array(a) => a.iter().for_each(|x| refs(x, out)),
        Obj::Dict(d) | Obj::Stream(d, _) => d.values().for_each(|x| refs(x, out)),
        _ => {}
    }
}

/// The references inside each object already walked, by the object's byte offset and number.
/// The revisions of one file share its bytes, so an object read at the same offset under the
/// same number is the same object in every revision, and each is parsed once however many
/// revisions reach it. Only objects that were read are kept: an offset that a shorter revision
/// could not read (it pointed past that revision's end, or at another object) is read again.
#[derive(Default)]
pub struct WalkCache(std::cell::RefCell<HashMap<(usize, Ref), Vec<Ref>>>);

/// A walk from `roots` through every reference (dictionaries, arrays, stream dictionaries),
/// not entering `skip`: the objects reached, and how many references point at each. None
/// past [`MAX_REACH`].
fn walk(doc: &PdfDoc<'_>, roots: &[Obj], skip: &HashSet<u32>, cache: &WalkCache) -> Option<(HashSet<u32>, HashMap<u32, usize>)> {
    let mut seen = HashSet::new();
    let mut counts: HashMap<u32, usize> = HashMap::new();
    let mut stack = Vec::new();
    roots.iter().for_each(|r| refs(r, &mut stack));
    while let Some(r) = stack.pop() {
        if skip.contains(&r.0) {
            continue;
        }
        *counts.entry(r.0).or_default() += 1;
        if !seen.insert(r.0) {
            continue;
        }
        if seen.len() > MAX_REACH {
            return None;
        }
        match doc.entries.get(&r.0) {
            Some(Entry::InUse(off, _)) => {
                let key = (*off, r);
                if let Some(known) = cache.0.borrow().get(&key) {
                    stack.extend_from_slice(known);
                    continue;
                }
                if let Ok(o) = doc.get_shallow(r) {
                    let mut found = Vec::new();
                    refs(&o, &mut found);
                    stack.extend_from_slice(&found);
                    cache.0.borrow_mut().insert(key, found);
                }
            }
            _ => {
                if let Ok(o) = doc.get_shallow(r) {
                    refs(&o, &mut stack);
                }
            }
        }
    }
    Some((seen, counts))
}

/// When a field's appearance changes, an old appearance object (the /AP dictionary or its
/// /N stream, when indirect) that the signed revision also reaches from elsewhere: its number.
fn shared_appearance(prev: &PdfDoc<'_>, od: &Dict, nd: &Dict, counts: Option<&HashMap<u32, usize>>) -> Option<u32> {
    if same(od.get(b"AP".as_slice()), nd.get(b"AP".as_slice())) {
        return None;
    }
    let ap = get(od, "AP")?;
    let mut old: Vec<u32> = ap.as_ref().map(|r| r.0).into_iter().collect();
    if let Some(n) = prev.resolve(ap).ok().as_ref().and_then(Obj::as_dict).and_then(|d| get(d, "N")).and_then(Obj::as_ref) {
        old.push(n.0);
    }
    if old.is_empty() {
        return None;
    }
    // Past the walk's limit nothing is known to be exclusive.
    let Some(counts) = counts else { return old.into_iter().next() };
    // The /AP dictionary is referenced once by the field; its /N once by the dictionary.
    old.into_iter().find(|n| counts.get(n).copied().unwrap_or(0) > 1)
}

/// The appearance objects (the /AP dictionary and its /N stream, when indirect) that belong to
/// one field alone and that this update signs or fills: a signer or a form filler may redraw
/// them in place. Object number → (field name, class of the change).
fn own_appearances(
    prev: &PdfDoc<'_>,
    cur: &PdfDoc<'_>,
    roles: &HashMap<u32, Role>,
    names: &HashMap<u32, String>,
    counts: Option<&HashMap<u32, usize>>,
) -> HashMap<u32, (String, ChangeClass)> {
    let mut out = HashMap::new();
    let Some(counts) = counts else { return out };
    // The field values after the update, through the same walker (a widget's value is often
    // its parent's).
    let now: HashMap<u32, Option<Obj>> =
        crate::form::fields(cur).unwrap_or_default().into_iter().map(|(_, r, merged)| (r.0, get(&merged, "V").cloned())).collect();
    let before: HashMap<u32, Option<Obj>> =
        crate::form::fields(prev).unwrap_or_default().into_iter().map(|(_, r, merged)| (r.0, get(&merged, "V").cloned())).collect();
    for (num, role) in roles {
        let value_now = now.get(num).cloned().flatten();
        let class = match role {
            Role::SigField(false) if value_now.is_some() => ChangeClass::Signing,
            Role::Field(_) if !same(before.get(num).and_then(Option::as_ref), value_now.as_ref()) => ChangeClass::FormFilling,
            _ => continue,
        };
        let Some(widget) = prev.get((*num, 0)).ok().and_then(|o| o.as_dict().cloned()) else { continue };
        let Some(ap) = get(&widget, "AP") else { continue };
        // Exclusive all the way: a shared /AP dictionary shares its stream too.
        if ap.as_ref().is_some_and(|r| counts.get(&r.0) != Some(&1)) {
            continue;
        }
        let mut mine: Vec<u32> = ap.as_ref().map(|r| r.0).into_iter().collect();
        if let Some(n) = prev.resolve(ap).ok().as_ref().and_then(Obj::as_dict).and_then(|d| get(d, "N")).and_then(Obj::as_ref) {
            mine.push(n.0);
        }
        for m in mine.into_iter().filter(|m| counts.get(m) == Some(&1) && !roles.contains_key(m)) {
            out.insert(m, (names.get(num).cloned().unwrap_or_default(), class));
        }
    }
    out
}

/// What the signed revision shows, and what only its DSS holds.
struct Reach {
    /// Reachable from the trailer without entering the DSS.
    content: Option<HashSet<u32>>,
    /// Reachable from the DSS (and not from the content).
    dss_only: HashSet<u32>,
    /// How many references point at each object (None past [`MAX_REACH`]).
    counts: Option<HashMap<u32, usize>>,
}

fn reach_of(doc: &PdfDoc<'_>, cache: &WalkCache) -> Reach {
    let cat = doc.catalog().unwrap_or_default();
    let dss = get(&cat, "DSS").cloned();
    let mut catalog_without_dss = cat.clone();
    catalog_without_dss.remove(b"DSS".as_slice());
    let mut trailer = doc.trailer.clone();
    trailer.remove(b"Root".as_slice());
    trailer.remove(b"Prev".as_slice());
    let root = doc.root_ref().0;
    let skip: HashSet<u32> = [root].into();
    let Some((mut content, mut counts)) = walk(doc, &[Obj::Dict(catalog_without_dss), Obj::Dict(trailer)], &skip, cache) else {
        return Reach { content: None, dss_only: HashSet::new(), counts: None };
    };
    content.insert(root);
    let mut dss_only = HashSet::new();
    if let Some((only, more)) = dss.and_then(|d| walk(doc, &[d], &content, cache)) {
        dss_only = only;
        for (n, c) in more {
            *counts.entry(n).or_default() += c;
        }
    }
    Reach { content: Some(content), dss_only, counts: Some(counts) }
}

/// What the update from `prev` to `cur` changed; `walked` is shared by the revisions of a file.
pub fn diff(prev: &PdfDoc<'_>, cur: &PdfDoc<'_>, walked: &WalkCache) -> Vec<Change> {
    let mut out = Vec::new();
    if cur.root_ref() != prev.root_ref() {
        return vec![Change::new(ChangeClass::Other, "danh mục gốc (/Root) của tài liệu bị thay thế")];
    }
    // How every string and stream is decrypted: an update that changes the encryption
    // dictionary or the first file identifier changes what every object says without
    // redefining any of them.
    let first_id = |d: &PdfDoc<'_>| get(&d.trailer, "ID").and_then(Obj::as_array).and_then(|a| a.first()).cloned();
    if (get(&prev.trailer, "Encrypt").is_some() || get(&cur.trailer, "Encrypt").is_some())
        && (get(&prev.trailer, "Encrypt") != get(&cur.trailer, "Encrypt") || first_id(prev) != first_id(cur))
    {
        out.push(Change::new(ChangeClass::Other, "phần cập nhật thay đổi cách mã hóa tài liệu (/Encrypt hoặc /ID của trailer)"));
    }
    let (roles, names) = roles(prev);
    let mut added_annots: Vec<Obj> = Vec::new();
    let mut added_fields: Vec<Obj> = Vec::new();
    let mut changed: HashSet<u32> =
        cur.entries.iter().filter(|(n, e)| prev.entries.get(n) != Some(e) && !matches!(e, Entry::Free)).map(|(n, _)| *n).collect();
    // An object stream redefined under its old number changes every object inside it, though
    // their cross-reference entries stay the same.
    let inside_changed: Vec<u32> =
        cur.entries.iter().filter(|(_, e)| matches!(e, Entry::Compressed(s, _) if changed.contains(s))).map(|(n, _)| *n).collect();
    changed.extend(inside_changed);
    let mut changed: Vec<u32> = changed.into_iter().collect();
    changed.sort_unstable();
    // Objects freed by the update, or dropped from the cross-reference chain: a deletion of
    // something that was there (an overlay, a content stream, an appearance).
    let mut gone: Vec<u32> = prev
        .entries
        .iter()
        .filter(|(n, e)| matches!(e, Entry::InUse(..) | Entry::Compressed(..)) && matches!(cur.entries.get(n), None | Some(Entry::Free)))
        .map(|(n, _)| *n)
        .collect();
    gone.sort_unstable();
    if gone.len() > MAX_CHANGED {
        out.push(too_many("đối tượng bị xóa", gone.len()));
    }
    for n in gone.into_iter().take(MAX_CHANGED) {
        let bookkeeping = matches!(prev.get((n, 0)), Ok(Obj::Stream(d, _)) if matches!(get(&d, "Type").and_then(Obj::as_name), Some(b"XRef" | b"ObjStm")));
        if !bookkeeping {
            out.push(Change::new(ChangeClass::Other, format!("đối tượng {n} bị xóa")));
        }
    }
    let mut reached: Option<Reach> = None;
    let mut own_ap: Option<HashMap<u32, (String, ChangeClass)>> = None;
    let mut metadata: Vec<Change> = Vec::new();
    if changed.len() > MAX_CHANGED {
        out.push(too_many("đối tượng thay đổi", changed.len()));
    }
    for num in changed.into_iter().take(MAX_CHANGED) {
        if !matches!(prev.entries.get(&num), Some(Entry::InUse(..) | Entry::Compressed(..))) {
            // A new object is judged where it is used, unless the signed revision already
            // referred to it (as null): defining it now changes what was signed.
            let r = reached.get_or_insert_with(|| reach_of(prev, walked));
            if r.content.as_ref().is_none_or(|c| c.contains(&num)) && !r.dss_only.contains(&num) {
                out.push(Change::new(
                    ChangeClass::Other,
                    format!("đối tượng {num} được phiên bản đã ký tham chiếu (khi đó chưa có) nay được định nghĩa"),
                ));
            }
            continue;
        }
        let (old, new) = match (prev.get((num, 0)), cur.get((num, 0))) {
            (Ok(o), Ok(n)) => (o, n),
            _ => {
                out.push(Change::new(ChangeClass::Other, format!("đối tượng {num} không đọc được")));
                continue;
            }
        };
        if old == new || matches!(&old, Obj::Stream(d, _) if matches!(get(d, "Type").and_then(Obj::as_name), Some(b"XRef" | b"ObjStm"))) {
            continue;
        }
        let Some(role) = roles.get(&num).copied() else {
            // Validation data that only the DSS reaches (its arrays, VRI, the certificates,
            // CRLs and OCSP responses) may be rewritten by whoever adds to it.
            let r = reached.get_or_insert_with(|| reach_of(prev, walked));
            let own = own_ap.get_or_insert_with(|| own_appearances(prev, cur, &roles, &names, r.counts.as_ref()));
            if r.dss_only.contains(&num) && r.content.as_ref().is_some_and(|c| !c.contains(&num)) {
                out.push(Change::new(ChangeClass::Validation, format!("cập nhật dữ liệu kiểm tra trong DSS (đối tượng {num})")));
            } else if let Some((name, class)) = own.get(&num) {
                let what = if *class == ChangeClass::Signing {
                    format!("vẽ lại hình thể hiện riêng của trường chữ ký '{name}' khi ký")
                } else {
                    format!("vẽ lại hình thể hiện riêng của trường '{name}' khi điền")
                };
                out.push(Change { field: Some(name.clone()), ..Change::new(*class, what) })
            } else {
                out.push(Change::new(ChangeClass::Other, format!("đối tượng {num} đã có bị định nghĩa lại")));
            }
            continue;
        };
        if role == Role::Metadata
            && reached.get_or_insert_with(|| reach_of(prev, walked)).counts.as_ref().is_none_or(|c| c.get(&num).copied().unwrap_or(0) > 1)
        {
            // Metadata that something else also uses (a page, a form) is content.
            out.push(Change::new(
                ChangeClass::Other,
                format!("đối tượng {num} (thông tin tài liệu, dùng chung với nơi khác) bị định nghĩa lại"),
            ));
            continue;
        }
        if role == Role::Metadata {
            metadata.push(Change {
                metadata: true,
                ..Change::new(ChangeClass::Signing, format!("cập nhật thông tin tài liệu (đối tượng {num})"))
            });
            continue;
        }
        if role == Role::AnnotArray {
            match (old.as_array(), new.as_array()) {
                (Some(o), Some(n)) if n.starts_with(o) => added_annots.extend(n[o.len()..].iter().cloned()),
                _ => {
                    out.push(Change::new(ChangeClass::Other, format!("danh sách chú thích (đối tượng {num}) bị xóa bớt hoặc sắp xếp lại")))
                }
            }
            continue;
        }
        let (Some(od), Some(nd)) = (old.as_dict(), new.as_dict()) else {
            out.push(Change::new(ChangeClass::Other, format!("đối tượng {num} đổi kiểu")));
            continue;
        };
        let keys: HashSet<&Vec<u8>> = od.keys().chain(nd.keys()).collect();
        let mut other_keys: Vec<String> = Vec::new();
        for k in keys {
            if same(od.get(k), nd.get(k)) {
                continue;
            }
            let key = String::from_utf8_lossy(k).into_owned();
            let ok = match role {
                Role::Catalog => {
                    let meta = matches!(key.as_str(), "Version" | "Extensions" | "Metadata");
                    if meta {
                        metadata.push(Change {
                            metadata: true,
                            ..Change::new(ChangeClass::Signing, format!("cập nhật /{key} của danh mục tài liệu"))
                        });
                    }
                    meta || matches!(key.as_str(), "AcroForm" | "DSS")
                }
                // NeedAppearances makes readers redraw fields (signed ones too); XFA replaces
                // the form: neither is signing.
                Role::AcroForm => matches!(key.as_str(), "Fields" | "SigFlags" | "DR" | "DA"),
                Role::Page => key == "Annots",
                Role::Dss => true,
                Role::Field(_) | Role::SigField(true) => matches!(key.as_str(), "V" | "AP" | "AS"),
                // A signer may also set the print and visibility flags of the field it signs.
                Role::SigField(false) => matches!(key.as_str(), "V" | "AP" | "AS" | "F"),
                Role::AnnotArray | Role::Metadata => false,
            };
            if !ok {
                other_keys.push(key);
            }
        }
        if !other_keys.is_empty() {
            out.push(Change::new(
                ChangeClass::Other,
                format!(
                    "khóa {} của đối tượng {num} bị thay đổi",
                    other_keys.iter().map(|k| format!("/{k}")).collect::<Vec<_>>().join(", ")
                ),
            ));
            continue;
        }
        match role {
            Role::Catalog => {
                if od.get(b"DSS".as_slice()) != nd.get(b"DSS".as_slice()) {
                    out.push(Change::new(ChangeClass::Validation, "thêm kho dữ liệu kiểm tra (DSS)"));
                }
                if od.get(b"AcroForm".as_slice()) != nd.get(b"AcroForm".as_slice()) {
                    // A new or replaced form dictionary: judged like an edit of the old one.
                    let resolve = |doc: &PdfDoc<'_>, d: &Dict| {
                        get(d, "AcroForm").and_then(|a| doc.resolve(a).ok()).and_then(|a| a.as_dict().cloned()).unwrap_or_default()
                    };
                    acroform_change(prev, &resolve(prev, od), cur, &resolve(cur, nd), &mut out, &mut added_fields);
                }
            }
            Role::Dss => out.push(Change::new(ChangeClass::Validation, "cập nhật kho dữ liệu kiểm tra (DSS)")),
            Role::AcroForm => acroform_change(prev, od, cur, nd, &mut out, &mut added_fields),
            Role::Page => {
                let oa =
                    get(od, "Annots").map(|a| prev.resolve(a).unwrap_or(Obj::Null)).and_then(|a| a.as_array().cloned()).unwrap_or_default();
                let na =
                    get(nd, "Annots").map(|a| cur.resolve(a).unwrap_or(Obj::Null)).and_then(|a| a.as_array().cloned()).unwrap_or_default();
                if na.starts_with(&oa) {
                    added_annots.extend(na[oa.len()..].iter().cloned());
                } else {
                    out.push(Change::new(ChangeClass::Other, format!("chú thích của trang (đối tượng {num}) bị xóa hoặc sắp xếp lại")));
                }
            }
            Role::Field(had_value) => {
                let name = names.get(&num).cloned().unwrap_or_default();
                let value_changed = !same(od.get(b"V".as_slice()), nd.get(b"V".as_slice()));
                if had_value && value_changed {
                    // ISO 32000 lets an unlocked field be filled again, but what the signer saw
                    // changes: the validator names the old and the new value.
                    let (old_value, new_value) = (value_text(prev, od.get(b"V".as_slice())), value_text(cur, nd.get(b"V".as_slice())));
                    out.push(Change {
                        field: Some(name.clone()),
                        old_value: Some(old_value.clone()),
                        new_value: Some(new_value.clone()),
                        ..Change::new(
                            ChangeClass::FormFilling,
                            format!("giá trị đã điền của trường '{name}' bị thay từ '{old_value}' thành '{new_value}'"),
                        )
                    });
                } else if had_value {
                    // Its appearance redrawn over the same value: what is shown is replaced.
                    out.push(Change {
                        field: Some(name.clone()),
                        ..Change::new(ChangeClass::Other, format!("hình thể hiện của trường đã điền '{name}' bị vẽ lại"))
                    });
                } else {
                    out.push(Change {
                        field: Some(name.clone()),
                        ..Change::new(ChangeClass::FormFilling, format!("điền trường '{name}'"))
                    });
                }
            }
            Role::SigField(was_signed) => {
                let name = names.get(&num).cloned().unwrap_or_default();
                if was_signed {
                    // A signed field keeps its signature and its appearance.
                    out.push(Change::new(ChangeClass::Other, format!("chữ ký hoặc hình thể hiện của trường đã ký '{name}' bị thay")));
                } else if let Some(shared) =
                    shared_appearance(prev, od, nd, reached.get_or_insert_with(|| reach_of(prev, walked)).counts.as_ref())
                {
                    // Signing gives the field a new appearance; but an old appearance object that
                    // other parts of the document also use is a way to change them in passing.
                    out.push(Change::new(
                        ChangeClass::Other,
                        format!("hình thể hiện cũ của trường chữ ký '{name}' (đối tượng {shared}) còn được dùng ở nơi khác trong tài liệu"),
                    ));
                } else {
                    out.push(Change {
                        field: Some(name.clone()),
                        visible: has_appearance(cur, nd),
                        doc_timestamp: is_doc_timestamp(cur, nd),
                        signed: get(nd, "V").is_some(),
                        ..Change::new(ChangeClass::Signing, format!("ký vào trường có sẵn '{name}'"))
                    });
                }
            }
            Role::AnnotArray | Role::Metadata => {}
        }
    }
    let mut seen_widgets: HashSet<Ref> = HashSet::new();
    let mut cur_form: Option<HashMap<u32, (String, Dict)>> = None;
    if added_annots.len() > MAX_CHANGED {
        out.push(too_many("chú thích được thêm", added_annots.len()));
    }
    for a in added_annots.iter().take(MAX_CHANGED) {
        let aref = a.as_ref();
        let d = cur.resolve(a).ok().and_then(|o| o.as_dict().cloned()).unwrap_or_default();
        let subtype = get(&d, "Subtype").and_then(Obj::as_name).map(|n| String::from_utf8_lossy(n).into_owned()).unwrap_or_default();
        if subtype == "Widget" {
            if let Some(r) = aref {
                seen_widgets.insert(r);
            }
            let form = cur_form.get_or_insert_with(|| {
                crate::form::fields(cur).unwrap_or_default().into_iter().map(|(name, r, merged)| (r.0, (name, merged))).collect()
            });
            out.push(widget_change(cur, &d, aref, form));
        } else {
            out.push(Change {
                subtype: Some(subtype.clone()),
                visible: has_appearance(cur, &d),
                ..Change::new(ChangeClass::Annotation, format!("thêm chú thích /{subtype}"))
            });
        }
    }
    // Fields added without a widget on a page.
    if added_fields.len() > MAX_CHANGED {
        out.push(too_many("trường được thêm", added_fields.len()));
    }
    for f in added_fields.iter().take(MAX_CHANGED) {
        if f.as_ref().is_some_and(|r| seen_widgets.contains(&r)) {
            continue;
        }
        let d = cur.resolve(f).ok().and_then(|o| o.as_dict().cloned()).unwrap_or_default();
        let kids_seen =
            get(&d, "Kids").and_then(Obj::as_array).is_some_and(|k| k.iter().filter_map(Obj::as_ref).all(|r| seen_widgets.contains(&r)));
        if kids_seen && get(&d, "Kids").is_some() {
            continue;
        }
        let is_sig = get(&d, "FT").and_then(Obj::as_name) == Some(b"Sig");
        if is_sig {
            let name = match get(&d, "T") {
                Some(Obj::Str(t)) => text_of(t),
                _ => String::new(),
            };
            out.push(Change {
                field: Some(name.clone()),
                visible: has_appearance(cur, &d),
                new_field: true,
                doc_timestamp: is_doc_timestamp(cur, &d),
                signed: get(&d, "V").is_some(),
                ..Change::new(ChangeClass::Signing, format!("thêm trường chữ ký '{name}'"))
            });
        } else {
            out.push(Change::new(ChangeClass::Other, "thêm trường biểu mẫu mới"));
        }
    }
    // Every writer updates the metadata (/ModDate, /Producer) as it saves: it goes with the
    // signing, validation data, form filling or annotation saved alongside it; alone it is an
    // edit. Whether it lands in the same second as the previous save is luck, so it must not
    // decide the result.
    let signs = out.iter().any(|c| c.class == ChangeClass::Signing && c.signed);
    let accompanied = [ChangeClass::FormFilling, ChangeClass::Annotation, ChangeClass::Validation]
        .into_iter()
        .find(|class| out.iter().any(|c| c.class == *class));
    for mut m in metadata {
        if let (false, Some(class)) = (signs, accompanied) {
            m.class = class;
        } else if !signs {
            m.class = ChangeClass::Other;
            m.what = format!("{} mà không kèm chữ ký", m.what);
        }
        out.push(m);
    }
    out
}

/// An edit of the form dictionary: fields may only be appended (they are judged where they
/// are added); besides them only /SigFlags, /DR and /DA may change.
fn acroform_change(prev: &PdfDoc<'_>, od: &Dict, cur: &PdfDoc<'_>, nd: &Dict, out: &mut Vec<Change>, added_fields: &mut Vec<Obj>) {
    let keys: HashSet<&Vec<u8>> = od.keys().chain(nd.keys()).collect();
    let mut other: Vec<String> = keys
        .into_iter()
        .filter(|k| !matches!(k.as_slice(), b"Fields" | b"SigFlags" | b"DR" | b"DA") && !same(od.get(*k), nd.get(*k)))
        .map(|k| format!("/{}", String::from_utf8_lossy(k)))
        .collect();
    if !other.is_empty() {
        other.sort();
        out.push(Change::new(ChangeClass::Other, format!("khóa {} của biểu mẫu (AcroForm) bị thay đổi", other.join(", "))));
    }
    let of = get(od, "Fields").map(|f| prev.resolve(f).unwrap_or(Obj::Null)).and_then(|f| f.as_array().cloned()).unwrap_or_default();
    let nf = get(nd, "Fields").map(|f| cur.resolve(f).unwrap_or(Obj::Null)).and_then(|f| f.as_array().cloned()).unwrap_or_default();
    if nf.starts_with(&of) {
        added_fields.extend(nf[of.len()..].iter().cloned());
    } else {
        out.push(Change::new(ChangeClass::Other, "trường biểu mẫu bị xóa hoặc sắp xếp lại"));
    }
}

/// A widget added to a page: a signature being made, or something else.
fn widget_change(doc: &PdfDoc<'_>, d: &Dict, widget: Option<Ref>, form: &HashMap<u32, (String, Dict)>) -> Change {
    // The field as the form walker sees it (a widget merged with the field that lists it in
    // /Kids, with inherited /FT and /V), else the widget itself or its parent.
    let (name, field) = match widget.and_then(|r| form.get(&r.0)) {
        Some((name, merged)) => (name.clone(), merged.clone()),
        None => {
            let field = if get(d, "FT").is_some() || get(d, "Parent").is_none() {
                d.clone()
            } else {
                get(d, "Parent").and_then(|p| doc.resolve(p).ok()).and_then(|p| p.as_dict().cloned()).unwrap_or_default()
            };
            let name = match get(&field, "T") {
                Some(Obj::Str(t)) => text_of(t),
                _ => String::new(),
            };
            (name, field)
        }
    };
    let is_sig = get(&field, "FT").and_then(Obj::as_name) == Some(b"Sig");
    let visible = has_appearance(doc, d);
    if !is_sig {
        return Change {
            field: Some(name.clone()), visible, ..Change::new(ChangeClass::Other, format!("thêm trường biểu mẫu '{name}'"))
        };
    }
    let signed = get(&field, "V").is_some();
    if !signed && visible {
        return Change {
            field: Some(name.clone()),
            visible,
            ..Change::new(ChangeClass::Other, format!("thêm trường chữ ký trống '{name}' có hình vẽ đè lên trang"))
        };
    }
    Change {
        field: Some(name.clone()),
        visible,
        new_field: true,
        doc_timestamp: is_doc_timestamp(doc, &field),
        signed,
        ..Change::new(ChangeClass::Signing, format!("thêm chữ ký '{name}'"))
    }
}

/// What a FieldMDP lock covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", content = "fields", rename_all = "snake_case")]
pub enum FieldLock {
    All,
    Include(Vec<String>),
    Exclude(Vec<String>),
}

impl FieldLock {
    pub fn locks(&self, field: &str) -> bool {
        match self {
            FieldLock::All => true,
            FieldLock::Include(f) => f.iter().any(|x| x == field),
            FieldLock::Exclude(f) => !f.iter().any(|x| x == field),
        }
    }
}

/// The changes among `changes` that the document's certification level (`docmdp`: 1, 2 or 3,
/// None when not certified) and the FieldMDP `locks` of the earlier signatures do not allow.
pub fn disallowed<'a>(changes: impl IntoIterator<Item = &'a Change>, docmdp: Option<i64>, locks: &[FieldLock]) -> Vec<String> {
    judge(changes, docmdp, locks).into_iter().map(|(_, why)| why).collect()
}

/// Like [`disallowed`], with the position of each disallowed change among `changes`.
pub fn judge<'a>(changes: impl IntoIterator<Item = &'a Change>, docmdp: Option<i64>, locks: &[FieldLock]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, c) in changes.into_iter().enumerate() {
        let locked = c.field.as_deref().is_some_and(|f| locks.iter().any(|l| l.locks(f)));
        let bad = match c.class {
            ChangeClass::Validation => false,
            ChangeClass::Other => true,
            // P1 allows nothing but validation data and document time-stamps.
            _ if docmdp == Some(1) => !(c.class == ChangeClass::Signing && (c.doc_timestamp || c.metadata) && !c.visible),
            // A new field that draws over a certified document (the sneaky signature attack).
            ChangeClass::Signing => docmdp.is_some() && c.visible && c.new_field,
            // The metadata saved with a fill or an annotation is judged with it.
            ChangeClass::FormFilling | ChangeClass::Annotation if c.metadata => false,
            ChangeClass::FormFilling => locked,
            // Approval signatures and P2 allow no annotations; P3 allows notes that draw nothing
            // over the page.
            ChangeClass::Annotation => !(docmdp == Some(3) && matches!(c.subtype.as_deref(), Some("Text" | "Popup")) && !c.visible),
        };
        if bad {
            let why = match (c.class, docmdp) {
                (ChangeClass::Signing, Some(1)) | (ChangeClass::FormFilling, Some(1)) | (ChangeClass::Annotation, Some(1)) => {
                    " (tài liệu được chứng nhận không cho phép thay đổi)"
                }
                (ChangeClass::Signing, Some(_)) => " (chữ ký mới vẽ lên tài liệu đã chứng nhận)",
                (ChangeClass::FormFilling, _) => " (trường đã bị khóa bởi chữ ký trước)",
                (ChangeClass::Annotation, _) => " (chữ ký không cho phép thêm chú thích)",
                _ => "",
            };
            out.push((i, format!("{}{why}", c.what)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Review of issue 9: the walk cache kept "no references" for an offset that an earlier,
    /// shorter revision could not read (its cross-reference entry pointed past its end). A later
    /// revision that defined the object there then looked as if it referred to nothing, so what
    /// it reached could pass for validation data.
    #[test]
    fn an_offset_an_earlier_revision_could_not_read_is_read_again() {
        let mut pdf = b"%PDF-1.7\n".to_vec();
        let o1 = pdf.len();
        pdf.extend_from_slice(b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R /X 5 0 R >>\nendobj\n");
        let o2 = pdf.len();
        pdf.extend_from_slice(b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n");
        // The first revision's table already names object 5 at an offset past its own end.
        let table = |entries: &[(u32, usize)]| {
            let mut t = String::from("xref\n0 1\n0000000000 65535 f \n");
            for (n, off) in entries {
                t.push_str(&format!("{n} 1\n{off:010} 00000 n \n"));
            }
            t
        };
        let first_xref = pdf.len();
        let head_len = first_xref + table(&[(1, o1), (2, o2), (5, 0)]).len();
        let trailer = format!("trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n{first_xref}\n%%EOF\n");
        let x = head_len + trailer.len();
        pdf.extend_from_slice(table(&[(1, o1), (2, o2), (5, x)]).as_bytes());
        pdf.extend_from_slice(trailer.as_bytes());
        let end_first = pdf.len();
        assert_eq!(end_first, x);
        pdf.extend_from_slice(b"5 0 obj\n<< /R 7 0 R >>\nendobj\n");
        let second_xref = pdf.len();
        pdf.extend_from_slice(table(&[(5, x)]).as_bytes());
        pdf.extend_from_slice(
            format!("trailer\n<< /Size 8 /Root 1 0 R /Prev {first_xref} >>\nstartxref\n{second_xref}\n%%EOF\n").as_bytes(),
        );

        let first = PdfDoc::read(&pdf[..end_first]).unwrap();
        let full = PdfDoc::read(&pdf).unwrap();
        let cache = WalkCache::default();
        let roots = [Obj::Ref(first.root_ref())];
        let (in_first, _) = walk(&first, &roots, &HashSet::new(), &cache).unwrap();
        assert!(!in_first.contains(&7), "object 5 cannot be read in the first revision");
        let (in_full, _) = walk(&full, &roots, &HashSet::new(), &cache).unwrap();
        assert!(in_full.contains(&7), "object 5, read in the full file, reaches 7: {in_full:?}");
    }
}
