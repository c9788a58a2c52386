//! Finding text on a page, to place a signature by an anchor such as the signer's title line
//! ("CHỦ TỊCH"). The page's content stream (and the form XObjects it draws) is interpreted
//! just enough to know where each glyph lands: the graphics and text matrices, fonts with
//! their ToUnicode maps and widths. Everything is bounded.

use crate::object::{get, Dict, Lexer, Obj};
use crate::reader::{decode_stream, PdfDoc};
use crate::{PdfError, PdfResult};
use std::collections::HashMap;
use unicode_normalization::UnicodeNormalization;

/// Operators interpreted per page before giving up.
const MAX_OPS: usize = 2_000_000;
/// Nesting of form XObjects followed.
const MAX_FORM_DEPTH: usize = 4;

/// Where a piece of text was found, in the page's default user space (points).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextHit {
    /// 1-based page number.
    pub page: usize,
    pub x0: f64,
    pub x1: f64,
    /// The baseline.
    pub y: f64,
    /// The font size as drawn.
    pub size: f64,
}

type Matrix = [f64; 6];
const IDENTITY: Matrix = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];

fn mul(a: &Matrix, b: &Matrix) -> Matrix {
    [
        a[0] * b[0] + a[1] * b[2],
        a[0] * b[1] + a[1] * b[3],
        a[2] * b[0] + a[3] * b[2],
        a[2] * b[1] + a[3] * b[3],
        a[4] * b[0] + a[5] * b[2] + b[4],
        a[4] * b[1] + a[5] * b[3] + b[5],
    ]
}

fn num(o: &Obj) -> f64 {
    match o {
        Obj::Int(i) => *i as f64,
        Obj::Real(r) => *r,
        _ => 0.0,
    }
}

/// A font as far as text positions need it.
struct Font {
    two_byte: bool,
    to_unicode: HashMap<u32, String>,
    widths: HashMap<u32, f64>,
    default_width: f64,
}

impl Font {
    fn load(doc: &PdfDoc<'_>, d: &Dict) -> Font {
        let subtype = get(d, "Subtype").and_then(Obj::as_name).unwrap_or_default();
        let two_byte = subtype == b"Type0";
        let mut f =
            Font { two_byte, to_unicode: HashMap::new(), widths: HashMap::new(), default_width: if two_byte { 1000.0 } else { 500.0 } };
        if two_byte {
            let desc =
                get(d, "DescendantFonts").and_then(|x| doc.resolve(x).ok()).and_then(|a| a.as_array().and_then(|a| a.first().cloned()));
            if let Some(Obj::Dict(cid)) = desc.map(|x| doc.resolve(&x).unwrap_or(Obj::Null)) {
                if let Some(dw) = get(&cid, "DW") {
                    f.default_width = num(dw);
                }
                let w = get(&cid, "W").and_then(|x| doc.resolve(x).ok()).and_then(|a| a.as_array().cloned()).unwrap_or_default();
                let mut i = 0;
                while i < w.len() && f.widths.len() < 100_000 {
                    let first = num(&w[i]) as u32;
                    match w.get(i + 1) {
                        Some(Obj::Array(list)) => {
                            for (k, v) in list.iter().enumerate().take(65_536) {
                                f.widths.insert(first + k as u32, num(v));
                            }
                            i += 2;
                        }
                        Some(last) => {
                            let last = (num(last) as u32).min(first.saturating_add(65_536));
                            let v = w.get(i + 2).map(num).unwrap_or(f.default_width);
                            for c in first..=last {
                                f.widths.insert(c, v);
                            }
                            i += 3;
                        }
                        None => break,
                    }
                }
            }
        } else {
            let first = get(d, "FirstChar").and_then(Obj::as_int).unwrap_or(0).max(0) as u32;
            let w = get(d, "Widths").and_then(|x| doc.resolve(x).ok()).and_then(|a| a.as_array().cloned()).unwrap_or_default();
            for (k, v) in w.iter().enumerate().take(256) {
                f.widths.insert(first + k as u32, num(&doc.resolve(v).unwrap_or(Obj::Null)));
            }
        }
        if let Some(Obj::Stream(sd, raw)) = get(d, "ToUnicode").and_then(|x| doc.resolve(x).ok()) {
            if let Ok(data) = decode_stream(&sd, &raw) {
                f.to_unicode = parse_cmap(&data);
            }
        }
        f
    }

    /// The codes of a shown string.
    fn codes(&self, s: &[u8]) -> Vec<u32> {
        if self.two_byte {
            s.chunks(2).map(|c| c.iter().fold(0u32, |a, b| a << 8 | u32::from(*b))).collect()
        } else {
            s.iter().map(|b| u32::from(*b)).collect()
        }
    }

    fn text(&self, code: u32) -> String {
        match self.to_unicode.get(&code) {
            Some(t) => t.clone(),
            // Simple fonts without a map: WinAnsi agrees with Latin-1 on letters and digits.
            None if !self.two_byte => char::from_u32(code).map(String::from).unwrap_or_default(),
            None => String::new(),
        }
    }

    fn width(&self, code: u32) -> f64 {
        self.widths.get(&code).copied().unwrap_or(self.default_width)
    }
}

fn utf16_hex(b: &[u8]) -> String {
    let units: Vec<u16> = b.chunks(2).map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])).collect();
    String::from_utf16_lossy(&units)
}

fn code_of(b: &[u8]) -> u32 {
    b.iter().take(4).fold(0u32, |a, x| a << 8 | u32::from(*x))
}

/// The bfchar and bfrange entries of a ToUnicode CMap.
fn parse_cmap(data: &[u8]) -> HashMap<u32, String> {
    let mut map = HashMap::new();
    let mut lx = Lexer::new(data, 0);
    let mut operands: Vec<Obj> = Vec::new();
    let mut mode = "";
    let mut guard = 0;
    while lx.pos < data.len() && guard < 1_000_000 {
        guard += 1;
        lx.skip_ws();
        let Some(&b) = data.get(lx.pos) else { break };
        if matches!(b, b'<' | b'[' | b'(' | b'/') || b.is_ascii_digit() {
            match lx.object(0) {
                Ok(o) => operands.push(o),
                Err(_) => lx.pos += 1,
            }
            continue;
        }
        let w = lx.word();
        if w.is_empty() {
            lx.pos += 1;
            continue;
        }
        match w {
            b"beginbfchar" => {
                mode = "char";
                operands.clear();
                continue;
            }
            b"beginbfrange" => {
                mode = "range";
                operands.clear();
                continue;
            }
            b"endbfchar" => {
                for pair in operands.chunks(2) {
                    if let [Obj::Str(src), Obj::Str(dst)] = pair {
                        map.insert(code_of(src), utf16_hex(dst));
                    }
                }
                mode = "";
            }
            b"endbfrange" => {
                for t in operands.chunks(3) {
                    if let [Obj::Str(lo), Obj::Str(hi), dst] = t {
                        let (lo, hi) = (code_of(lo), code_of(hi).min(code_of(lo).saturating_add(65_535)));
                        for (k, c) in (lo..=hi).enumerate() {
                            let s = match dst {
                                Obj::Str(d) => {
                                    // The last UTF-16 unit increments along the range.
                                    let mut d = d.clone();
                                    let n = d.len();
                                    if n >= 2 {
                                        let last = u16::from_be_bytes([d[n - 2], d[n - 1]]).wrapping_add(k as u16);
                                        d[n - 2..].copy_from_slice(&last.to_be_bytes());
                                    }
                                    utf16_hex(&d)
                                }
                                Obj::Array(a) => match a.get(k) {
                                    Some(Obj::Str(d)) => utf16_hex(d),
                                    _ => continue,
                                },
                                _ => continue,
                            };
                            map.insert(c, s);
                        }
                    }
                }
                mode = "";
            }
            _ => {}
        }
        if mode.is_empty() {
            operands.clear();
        }
    }
    map
}

/// A glyph as drawn: its text, where it starts and ends, its baseline and size.
#[derive(Debug, Clone)]
struct Glyph {
    text: String,
    x0: f64,
    x1: f64,
    y: f64,
    size: f64,
}

#[derive(Clone)]
struct State {
    ctm: Matrix,
    font: Option<std::rc::Rc<Font>>,
    size: f64,
    char_space: f64,
    word_space: f64,
    scale: f64,
    leading: f64,
    rise: f64,
}

struct Interp<'d, 'a> {
    doc: &'d PdfDoc<'a>,
    glyphs: Vec<Glyph>,
    ops: usize,
    fonts: HashMap<Vec<u8>, std::rc::Rc<Font>>,
}

/// The resources of a page, inherited from the page tree if needed.
fn page_resources(doc: &PdfDoc<'_>, page: &Dict) -> Dict {
    let mut node = page.clone();
    for _ in 0..64 {
        if let Some(r) = get(&node, "Resources").and_then(|r| doc.resolve(r).ok()).and_then(|r| r.as_dict().cloned()) {
            return r;
        }
        match get(&node, "Parent").and_then(|p| doc.resolve(p).ok()) {
            Some(Obj::Dict(p)) => node = p,
            _ => break,
        }
    }
    Dict::new()
}

impl Interp<'_, '_> {
    fn font(&mut self, resources: &Dict, name: &[u8]) -> Option<std::rc::Rc<Font>> {
        let fonts = get(resources, "Font").and_then(|f| self.doc.resolve(f).ok())?;
        let fref = fonts.as_dict()?.get(name)?.clone();
        let key = match &fref {
            Obj::Ref(r) => format!("{} {}", r.0, r.1).into_bytes(),
            _ => [b"inline:".as_slice(), name].concat(),
        };
        if let Some(f) = self.fonts.get(&key) {
            return Some(f.clone());
        }
        let d = self.doc.resolve(&fref).ok()?.as_dict()?.clone();
        let f = std::rc::Rc::new(Font::load(self.doc, &d));
        self.fonts.insert(key, f.clone());
        Some(f)
    }

    fn run(&mut self, content: &[u8], resources: &Dict, ctm: Matrix, depth: usize) -> PdfResult<()> {
        let mut st = State { ctm, font: None, size: 0.0, char_space: 0.0, word_space: 0.0, scale: 1.0, leading: 0.0, rise: 0.0 };
        let mut stack: Vec<State> = Vec::new();
        let (mut tm, mut tlm) = (IDENTITY, IDENTITY);
        let mut operands: Vec<Obj> = Vec::new();
        let mut lx = Lexer::new(content, 0);
        loop {
            lx.skip_ws();
            let Some(&b) = content.get(lx.pos) else { break };
            if matches!(b, b'/' | b'(' | b'<' | b'[' | b'+' | b'-' | b'.') || b.is_ascii_digit() {
                match lx.object(0) {
                    Ok(o) => operands.push(o),
                    Err(_) => lx.pos += 1,
                }
                if operands.len() > 10_000 {
                    operands.clear();
                }
                continue;
            }
            let op = lx.word();
            if op.is_empty() {
                lx.pos += 1;
                continue;
            }
            self.ops += 1;
            if self.ops > MAX_OPS {
                return Err(PdfError::Limit("trang có quá nhiều lệnh vẽ".into()));
            }
            let n = |i: usize| operands.get(i).map(num).unwrap_or(0.0);
            match op {
                b"q" if stack.len() < 256 => stack.push(st.clone()),
                b"Q" => {
                    if let Some(s) = stack.pop() {
                        st = s;
                    }
                }
                b"cm" if operands.len() >= 6 => st.ctm = mul(&[n(0), n(1), n(2), n(3), n(4), n(5)], &st.ctm),
                b"BT" => {
                    tm = IDENTITY;
                    tlm = IDENTITY;
                }
                b"Tf" if operands.len() >= 2 => {
                    if let Some(Obj::Name(name)) = operands.first() {
                        st.font = self.font(resources, name);
                    }
                    st.size = n(1);
                }
                b"Tc" => st.char_space = n(0),
                b"Tw" => st.word_space = n(0),
                b"Tz" => st.scale = n(0) / 100.0,
                b"TL" => st.leading = n(0),
                b"Ts" => st.rise = n(0),
                b"Td" | b"TD" => {
                    if op == b"TD" {
                        st.leading = -n(1);
                    }
                    tlm = mul(&[1.0, 0.0, 0.0, 1.0, n(0), n(1)], &tlm);
                    tm = tlm;
                }
                b"Tm" if operands.len() >= 6 => {
                    tlm = [n(0), n(1), n(2), n(3), n(4), n(5)];
                    tm = tlm;
                }
                b"T*" => {
                    tlm = mul(&[1.0, 0.0, 0.0, 1.0, 0.0, -st.leading], &tlm);
                    tm = tlm;
                }
                b"Tj" | b"'" | b"\"" | b"TJ" => {
                    if op == b"'" || op == b"\"" {
                        if op == b"\"" {
                            st.word_space = n(0);
                            st.char_space = n(1);
                        }
                        tlm = mul(&[1.0, 0.0, 0.0, 1.0, 0.0, -st.leading], &tlm);
                        tm = tlm;
                    }
                    let items: Vec<Obj> = match operands.last() {
                        Some(Obj::Array(a)) if op == b"TJ" => a.clone(),
                        Some(s @ Obj::Str(_)) => vec![s.clone()],
                        _ => vec![],
                    };
                    for item in items {
                        match item {
                            Obj::Str(s) => self.show(&s, &st, &mut tm),
                            other => {
                                let tx = -num(&other) / 1000.0 * st.size * st.scale;
                                tm = mul(&[1.0, 0.0, 0.0, 1.0, tx, 0.0], &tm);
                            }
                        }
                    }
                }
                b"BI" => {
                    // Inline image: skip its data, up to "EI" between white space.
                    let rest = &content[lx.pos..];
                    let id = rest.windows(3).position(|w| w == b"ID " || w == b"ID\n" || w == b"ID\r").map(|p| p + 3).unwrap_or(rest.len());
                    let ei = rest[id..].windows(4).position(|w| is_white(w[0]) && &w[1..3] == b"EI" && is_white(w[3]));
                    lx.pos += ei.map(|p| id + p + 3).unwrap_or(rest.len());
                }
                b"Do" if depth < MAX_FORM_DEPTH => {
                    if let Some(Obj::Name(name)) = operands.first() {
                        let xobj = get(resources, "XObject").and_then(|x| self.doc.resolve(x).ok());
                        let form = xobj.as_ref().and_then(Obj::as_dict).and_then(|x| x.get(name)).and_then(|f| self.doc.resolve(f).ok());
                        if let Some(Obj::Stream(fd, raw)) = form {
                            if get(&fd, "Subtype").and_then(Obj::as_name) == Some(b"Form") {
                                let m = get(&fd, "Matrix")
                                    .and_then(Obj::as_array)
                                    .filter(|a| a.len() == 6)
                                    .map(|a| [num(&a[0]), num(&a[1]), num(&a[2]), num(&a[3]), num(&a[4]), num(&a[5])])
                                    .unwrap_or(IDENTITY);
                                let res = get(&fd, "Resources")
                                    .and_then(|r| self.doc.resolve(r).ok())
                                    .and_then(|r| r.as_dict().cloned())
                                    .unwrap_or_else(|| resources.clone());
                                let data = decode_stream(&fd, &raw)?;
                                self.run(&data, &res, mul(&m, &st.ctm), depth + 1)?;
                            }
                        }
                    }
                }
                _ => {}
            }
            operands.clear();
        }
        Ok(())
    }

    fn show(&mut self, s: &[u8], st: &State, tm: &mut Matrix) {
        let Some(font) = st.font.clone() else { return };
        for code in font.codes(s) {
            let m = mul(tm, &st.ctm);
            let x0 = m[4] + m[2] * st.rise;
            let y = m[5] + m[3] * st.rise;
            let size = st.size * (m[2] * m[2] + m[3] * m[3]).sqrt();
            let space = if !font.two_byte && code == 32 { st.word_space } else { 0.0 };
            let tx = (font.width(code) / 1000.0 * st.size + st.char_space + space) * st.scale;
            *tm = mul(&[1.0, 0.0, 0.0, 1.0, tx, 0.0], tm);
            let m2 = mul(tm, &st.ctm);
            if self.glyphs.len() < 1_000_000 {
                self.glyphs.push(Glyph { text: font.text(code), x0, x1: m2[4], y, size });
            }
        }
    }
}

fn is_white(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t' | b'\x0c' | b'\0')
}

/// The glyphs of page `index` (0-based), in drawing order.
fn glyphs(doc: &PdfDoc<'_>, page_ref: crate::object::Ref) -> PdfResult<Vec<Glyph>> {
    let page = doc.get(page_ref)?.as_dict().cloned().ok_or_else(|| PdfError::Malformed("trang không phải từ điển".into()))?;
    let resources = page_resources(doc, &page);
    let mut content = Vec::new();
    let parts = match get(&page, "Contents").map(|c| doc.resolve(c)).transpose()? {
        Some(Obj::Array(a)) => a,
        Some(other @ Obj::Stream(..)) => vec![other],
        _ => vec![],
    };
    for p in parts.iter().take(10_000) {
        if let Obj::Stream(d, raw) = doc.resolve(p)? {
            content.extend(decode_stream(&d, &raw)?);
            content.push(b'\n');
        }
    }
    let mut it = Interp { doc, glyphs: Vec::new(), ops: 0, fonts: HashMap::new() };
    it.run(&content, &resources, IDENTITY, 0)?;
    Ok(it.glyphs)
}

/// The glyphs of page `page` (1-based).
fn page_glyphs(doc: &PdfDoc<'_>, page: usize) -> PdfResult<Vec<Glyph>> {
    let pages = doc.pages()?;
    let page_ref = *pages
        .get(page.wrapping_sub(1))
        .ok_or_else(|| PdfError::Invalid(format!("tài liệu có {} trang, không có trang {page}", pages.len())))?;
    glyphs(doc, page_ref)
}

/// Glyphs on (nearly) the same baseline, each line left to right, the lines top to bottom.
fn lines_of(gs: &[Glyph]) -> Vec<Vec<&Glyph>> {
    let mut lines: Vec<Vec<&Glyph>> = Vec::new();
    for g in gs {
        match lines.iter_mut().find(|l| (l[0].y - g.y).abs() <= l[0].size.max(g.size) * 0.3) {
            Some(l) => l.push(g),
            None => lines.push(vec![g]),
        }
    }
    for l in &mut lines {
        l.sort_by(|a, b| a.x0.total_cmp(&b.x0));
    }
    lines.sort_by(|a, b| b[0].y.total_cmp(&a[0].y));
    lines
}

/// The text of page `page` (1-based) as runs, top to bottom and left to right: the pieces of a
/// line whose glyphs stand less than twice the font size apart, so that the two columns of a
/// Decree 30 header ("Số: 12/QĐ-UBND" and "Hà Nội, ngày …") come apart. Runs of white space
/// become one space, and a space is put where glyphs stand apart by more than a fifth of the
/// font size. NFC.
pub fn page_runs(doc: &PdfDoc<'_>, page: usize) -> PdfResult<Vec<String>> {
    let gs = page_glyphs(doc, page)?;
    let mut runs = Vec::new();
    for line in lines_of(&gs) {
        let mut run = String::new();
        let mut end: Option<f64> = None;
        for g in line {
            let text: String = g.text.nfc().collect();
            let white = text.trim().is_empty();
            if let Some(e) = end {
                let gap = g.x0 - e;
                if gap > 2.0 * g.size {
                    if !run.trim().is_empty() {
                        runs.push(std::mem::take(&mut run).trim().to_string());
                    }
                    run.clear();
                } else if gap > g.size * 0.2 && !white && !run.ends_with(' ') {
                    run.push(' ');
                }
            }
            if white {
                if !run.is_empty() && !run.ends_with(' ') {
                    run.push(' ');
                }
            } else {
                run.push_str(&text);
            }
            end = Some(g.x1);
        }
        if !run.trim().is_empty() {
            runs.push(run.trim().to_string());
        }
    }
    Ok(runs)
}

/// Every occurrence of `needle` on page `page` (1-based). Matching is exact after NFC,
/// ignoring white space.
pub fn find_on_page(doc: &PdfDoc<'_>, page: usize, needle: &str) -> PdfResult<Vec<TextHit>> {
    let want: Vec<char> = needle.nfc().filter(|c| !c.is_whitespace()).collect();
    if want.is_empty() {
        return Err(PdfError::Invalid("văn bản neo (anchor) rỗng".into()));
    }
    let gs = page_glyphs(doc, page)?;
    let mut hits = Vec::new();
    for line in lines_of(&gs) {
        let chars: Vec<(char, usize)> = line
            .iter()
            .enumerate()
            .flat_map(|(i, g)| g.text.nfc().filter(|c| !c.is_whitespace()).map(move |c| (c, i)).collect::<Vec<_>>())
            .collect();
        if chars.len() < want.len() {
            continue;
        }
        for start in 0..=chars.len() - want.len() {
            if chars[start..start + want.len()].iter().map(|c| c.0).eq(want.iter().copied()) {
                let (a, b) = (line[chars[start].1], line[chars[start + want.len() - 1].1]);
                hits.push(TextHit { page, x0: a.x0.min(b.x0), x1: b.x1.max(a.x1), y: a.y, size: a.size });
            }
        }
    }
    Ok(hits)
}

/// Finds `needle` as a signature anchor: from the last page up, the lowest occurrence on the
/// first page that has one (the signature block closes a document).
pub fn find_text(doc: &PdfDoc<'_>, needle: &str) -> PdfResult<Option<TextHit>> {
    for page in (1..=doc.pages()?.len()).rev() {
        let hits = find_on_page(doc, page, needle)?;
        if let Some(h) = hits.into_iter().min_by(|a, b| a.y.total_cmp(&b.y)) {
            return Ok(Some(h));
        }
    }
    Ok(None)
}

/// The highest occurrence of `needle` on page `page` (a heading such as "Số:").
pub fn find_top(doc: &PdfDoc<'_>, page: usize, needle: &str) -> PdfResult<Option<TextHit>> {
    Ok(find_on_page(doc, page, needle)?.into_iter().max_by(|a, b| a.y.total_cmp(&b.y)))
}

/// The box of a personal signature under an anchor (the title line), between it and the
/// signer's name: `width` × `height` points, centred on the anchor.
pub fn box_below(hit: &TextHit, width: f64, height: f64) -> [f64; 4] {
    let cx = (hit.x0 + hit.x1) / 2.0;
    let top = hit.y - hit.size * 0.6;
    [cx - width / 2.0, top - height, cx + width / 2.0, top]
}
