//! Reading a PDF the way a signer needs it: the trailer and cross-reference sections (tables
//! and streams, with /Prev chains), objects by reference (also inside object streams), and the
//! page tree. Every loop and size is bounded.

use crate::crypt::Decryptor;
use crate::object::{get, Dict, Lexer, Obj, Ref};
use crate::{PdfError, PdfResult};
use std::collections::{HashMap, HashSet};
use std::io::Read;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    Free,
    /// Byte offset and generation.
    InUse(usize, u16),
    /// In object stream `stream`, at `index`.
    Compressed(u32, usize),
}

/// Decompressed streams larger than this are refused.
pub const MAX_STREAM: usize = 256 << 20;
/// Cross-reference sections followed before giving up (a loop or thousands of revisions).
pub const MAX_SECTIONS: usize = 10_000;

pub struct PdfDoc<'a> {
    pub data: &'a [u8],
    pub entries: HashMap<u32, Entry>,
    /// The newest trailer (or cross-reference stream dictionary).
    pub trailer: Dict,
    /// Offset of the newest cross-reference section (the `startxref` value).
    pub startxref: usize,
    /// Whether the newest section is a cross-reference stream.
    pub xref_stream: bool,
    /// Offsets of every section, newest first.
    pub sections: Vec<usize>,
    /// Decoded object streams, so that reading many objects of one stream inflates it once.
    objstm: std::sync::Mutex<HashMap<u32, DecodedObjStm>>,
    /// For an encrypted document opened with `read`: the key, and the /Encrypt dictionary's own
    /// object, which is not encrypted.
    crypt: Option<(Decryptor, Option<Ref>)>,
}

/// An object stream's dictionary and decoded bytes, shared.
type DecodedObjStm = std::sync::Arc<(Dict, Vec<u8>)>;

/// Decoded object-stream bytes kept per document.
const OBJSTM_CACHE: usize = 256 << 20;

fn find_last(data: &[u8], needle: &[u8]) -> Option<usize> {
    data.windows(needle.len()).rposition(|w| w == needle)
}

/// How much a compressed stream may grow (zip bombs): this many times its size…
pub const MAX_RATIO: usize = 200;
/// …but always at least this much (small streams of blank images compress very well).
pub const MIN_INFLATE: usize = 8 << 20;

/// The most a stream of `compressed` bytes may inflate to.
pub fn inflate_limit(compressed: usize) -> usize {
    compressed.saturating_mul(MAX_RATIO).clamp(MIN_INFLATE, MAX_STREAM)
}

/// Inflates with a ceiling on the output size.
pub fn inflate(raw: &[u8], limit: usize) -> PdfResult<Vec<u8>> {
    let mut out = Vec::new();
    let mut d = flate2::read::ZlibDecoder::new(raw).take(limit as u64 + 1);
    d.read_to_end(&mut out).map_err(|e| PdfError::Malformed(format!("dữ liệu nén hỏng: {e}")))?;
    if out.len() > limit {
        return Err(PdfError::Limit(format!("luồng giải nén vượt quá {} MB (tỷ lệ nén bất thường)", limit >> 20)));
    }
    Ok(out)
}

/// Undoes PNG predictors (ISO 32000-1 §7.4.4.4) on rows of `columns` bytes.
fn unpredict(data: &[u8], columns: usize) -> PdfResult<Vec<u8>> {
    let row = columns + 1;
    if columns == 0 || !data.len().is_multiple_of(row) {
        return Err(PdfError::Malformed("dữ liệu dự đoán PNG không khớp số cột".into()));
    }
    let mut out: Vec<u8> = Vec::with_capacity(data.len() / row * columns);
    let mut prev = vec![0u8; columns];
    for chunk in data.chunks(row) {
        let (t, line) = (chunk[0], &chunk[1..]);
        let mut cur = vec![0u8; columns];
        for i in 0..columns {
            let left = if i > 0 { cur[i - 1] } else { 0 };
            let up = prev[i];
            let ul = if i > 0 { prev[i - 1] } else { 0 };
            cur[i] = match t {
                0 => line[i],
                1 => line[i].wrapping_add(left),
                2 => line[i].wrapping_add(up),
                3 => line[i].wrapping_add(((u16::from(left) + u16::from(up)) / 2) as u8),
                4 => {
                    let p = i16::from(left) + i16::from(up) - i16::from(ul);
                    let (pa, pb, pc) = ((p - i16::from(left)).abs(), (p - i16::from(up)).abs(), (p - i16::from(ul)).abs());
                    let pred = if pa <= pb && pa <= pc {
                        left
                    } else if pb <= pc {
                        up
                    } else {
                        ul
                    };
                    line[i].wrapping_add(pred)
                }
                _ => return Err(PdfError::Malformed(format!("bộ dự đoán PNG {t} không hợp lệ"))),
            };
        }
        out.extend_from_slice(&cur);
        prev = cur;
    }
    Ok(out)
}

/// The decoded bytes of a stream (FlateDecode, with predictors, or none).
pub fn decode_stream(d: &Dict, raw: &[u8]) -> PdfResult<Vec<u8>> {
    let filter = get(d, "Filter");
    let names: Vec<&[u8]> = match filter {
        None => vec![],
        Some(Obj::Name(n)) => vec![n.as_slice()],
        Some(Obj::Array(a)) => a.iter().filter_map(Obj::as_name).collect(),
        Some(_) => return Err(PdfError::Malformed("/Filter không hợp lệ".into())),
    };
    let mut data = raw.to_vec();
    for n in names {
        match n {
            // Decryption already happened when the object was read (`crypt.rs`); the only crypt
            // filter in use is /Identity.
            b"Crypt" => {}
            b"FlateDecode" => {
                data = inflate(&data, inflate_limit(data.len()))?;
                if let Some(p) = get(d, "DecodeParms").and_then(Obj::as_dict) {
                    let pred = get(p, "Predictor").and_then(Obj::as_int).unwrap_or(1);
                    if pred >= 10 {
                        let cols = get(p, "Columns").and_then(Obj::as_int).unwrap_or(1);
                        if !(1..=1 << 16).contains(&cols) {
                            return Err(PdfError::Malformed(format!("/Columns {cols} của bộ dự đoán PNG không hợp lệ")));
                        }
                        data = unpredict(&data, cols as usize)?;
                    }
                }
            }
            other => return Err(PdfError::Unsupported(format!("bộ lọc {}", String::from_utf8_lossy(other)))),
        }
    }
    Ok(data)
}

impl<'a> PdfDoc<'a> {
    /// Opens a document that kyso may write an update to. An encrypted one is refused: its
    /// update would have to be encrypted too.
    pub fn open(data: &'a [u8]) -> PdfResult<Self> {
        let doc = Self::open_sections(data)?;
        if get(&doc.trailer, "Encrypt").is_some() {
            return Err(PdfError::Encrypted);
        }
        Ok(doc)
    }

    /// Opens a document only to read it (verification). An encrypted one is decrypted with the
    /// empty user password, which is how restricted documents are made.
    pub fn read(data: &'a [u8]) -> PdfResult<Self> {
        let mut doc = Self::open_sections(data)?;
        if let Some(enc) = get(&doc.trailer, "Encrypt").cloned() {
            let encrypt_ref = enc.as_ref();
            let dict = doc.resolve(&enc)?.as_dict().cloned().ok_or_else(|| PdfError::Malformed("/Encrypt không phải từ điển".into()))?;
            let id0 = match get(&doc.trailer, "ID").and_then(Obj::as_array).and_then(|a| a.first()) {
                Some(Obj::Str(s)) => s.clone(),
                _ => Vec::new(),
            };
            doc.crypt = Some((Decryptor::with_empty_password(&dict, &id0)?, encrypt_ref));
        }
        Ok(doc)
    }

    /// Whether the document is encrypted (and was opened with `read`).
    pub fn is_encrypted(&self) -> bool {
        self.crypt.is_some()
    }

    /// Decrypts an object parsed from the file by the caller's own lexer (not one from an
    /// object stream, whose container was decrypted already); other documents get it back.
    pub fn decrypted(&self, r: Ref, obj: Obj) -> PdfResult<Obj> {
        match &self.crypt {
            Some((c, encrypt_ref)) if *encrypt_ref != Some(r) => c.object(r, obj),
            _ => Ok(obj),
        }
    }

    fn open_sections(data: &'a [u8]) -> PdfResult<Self> {
        if !data.starts_with(b"%PDF-") {
            return Err(PdfError::NotPdf);
        }
        let tail_start = data.len().saturating_sub(2048);
        let sx = find_last(&data[tail_start..], b"startxref")
            .map(|p| p + tail_start)
            .ok_or_else(|| PdfError::Malformed("không tìm thấy 'startxref' ở cuối tệp (tệp bị cắt cụt?)".into()))?;
        let mut lx = Lexer::new(data, sx + 9);
        let off = std::str::from_utf8(lx.word())
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
            .ok_or_else(|| PdfError::Malformed("giá trị startxref không hợp lệ".into()))?;
        let mut doc = PdfDoc {
            data,
            entries: HashMap::new(),
            trailer: Dict::new(),
            startxref: off,
            xref_stream: false,
            sections: vec![],
            objstm: Default::default(),
            crypt: None,
        };
        let mut seen = HashSet::new();
        let mut next = Some(off);
        let mut first = true;
        while let Some(o) = next {
            if !seen.insert(o) || doc.sections.len() >= MAX_SECTIONS {
                return Err(PdfError::Malformed("chuỗi bảng tham chiếu chéo lặp vòng hoặc quá dài".into()));
            }
            doc.sections.push(o);
            let (trailer, is_stream) = doc.read_section(o)?;
            if first {
                doc.trailer = trailer.clone();
                doc.xref_stream = is_stream;
                first = false;
            }
            // Hybrid files: a table's trailer may point at an extra xref stream.
            if let Some(x) = get(&trailer, "XRefStm").and_then(Obj::as_int) {
                if seen.insert(x as usize) {
                    doc.read_section(x as usize)?;
                }
            }
            next = get(&trailer, "Prev").and_then(Obj::as_int).map(|p| p as usize);
        }
        if get(&doc.trailer, "Root").and_then(Obj::as_ref).is_none() {
            return Err(PdfError::Malformed("trailer thiếu /Root".into()));
        }
        Ok(doc)
    }

    /// Reads one section; entries already known (from newer sections) win.
    fn read_section(&mut self, off: usize) -> PdfResult<(Dict, bool)> {
        if off >= self.data.len() {
            return Err(PdfError::Malformed(format!("vị trí bảng tham chiếu chéo {off} nằm ngoài tệp")));
        }
        let mut lx = Lexer::new(self.data, off);
        lx.skip_ws();
        if self.data[lx.pos..].starts_with(b"xref") {
            lx.pos += 4;
            loop {
                let save = lx.pos;
                let w = lx.word();
                if w == b"trailer" {
                    break;
                }
                let start = std::str::from_utf8(w).ok().and_then(|s| s.parse::<u32>().ok());
                let count = std::str::from_utf8(lx.word()).ok().and_then(|s| s.parse::<u32>().ok());
                let (Some(start), Some(count)) = (start, count) else {
                    return Err(PdfError::Malformed(format!("bảng tham chiếu chéo hỏng tại byte {save}")));
                };
                for i in 0..count {
                    let o = std::str::from_utf8(lx.word()).ok().and_then(|s| s.parse::<usize>().ok());
                    let g = std::str::from_utf8(lx.word()).ok().and_then(|s| s.parse::<u16>().ok());
                    let t = lx.word();
                    let (Some(o), Some(g)) = (o, g) else {
                        return Err(PdfError::Malformed("dòng của bảng tham chiếu chéo hỏng".into()));
                    };
                    let e = if t == b"n" { Entry::InUse(o, g) } else { Entry::Free };
                    let num = start.checked_add(i).ok_or_else(|| PdfError::Malformed("số đối tượng vượt giới hạn".into()))?;
                    self.entries.entry(num).or_insert(e);
                }
            }
            let t = lx.object(0)?;
            let d = t.as_dict().cloned().ok_or_else(|| PdfError::Malformed("trailer không phải từ điển".into()))?;
            Ok((d, false))
        } else {
            let (_, obj) = lx.indirect(&|o| o.as_int().map(|i| i as usize))?;
            let Obj::Stream(d, raw) = obj else {
                return Err(PdfError::Malformed(format!("không có bảng tham chiếu chéo tại byte {off}")));
            };
            if get(&d, "Type").and_then(Obj::as_name) != Some(b"XRef") {
                return Err(PdfError::Malformed(format!("đối tượng tại byte {off} không phải luồng tham chiếu chéo")));
            }
            let data = decode_stream(&d, &raw)?;
            let w: Vec<usize> = get(&d, "W")
                .and_then(Obj::as_array)
                .map(|a| a.iter().filter_map(Obj::as_int).map(|x| x as usize).collect())
                .unwrap_or_default();
            if w.len() != 3 || w.iter().any(|x| *x > 8) {
                return Err(PdfError::Malformed("/W của luồng tham chiếu chéo không hợp lệ".into()));
            }
            let size = get(&d, "Size").and_then(Obj::as_int).unwrap_or(0);
            let index: Vec<i64> = get(&d, "Index")
                .and_then(Obj::as_array)
                .map(|a| a.iter().filter_map(Obj::as_int).collect())
                .unwrap_or_else(|| vec![0, size]);
            let row = w.iter().sum::<usize>();
            if row == 0 {
                return Err(PdfError::Malformed("/W rỗng".into()));
            }
            let field = |r: &[u8], i: usize| -> u64 {
                let start: usize = w[..i].iter().sum();
                r[start..start + w[i]].iter().fold(0u64, |a, b| a << 8 | u64::from(*b))
            };
            let mut rows = data.chunks_exact(row);
            for pair in index.chunks(2) {
                let (start, count) = (pair[0].max(0) as u32, pair.get(1).copied().unwrap_or(0).max(0) as u32);
                for i in 0..count {
                    let Some(r) = rows.next() else { break };
                    let t = if w[0] == 0 { 1 } else { field(r, 0) };
                    let e = match t {
                        0 => Entry::Free,
                        1 => Entry::InUse(field(r, 1) as usize, field(r, 2) as u16),
                        2 => Entry::Compressed(field(r, 1) as u32, field(r, 2) as usize),
                        _ => continue,
                    };
                    let Some(num) = start.checked_add(i) else { break };
                    self.entries.entry(num).or_insert(e);
                }
            }
            Ok((d, true))
        }
    }

    /// The object `r`, or Null when it does not exist (as the standard says).
    pub fn get(&self, r: Ref) -> PdfResult<Obj> {
        self.get_depth(r, 0)
    }

    fn get_depth(&self, r: Ref, depth: usize) -> PdfResult<Obj> {
        if depth > 8 {
            return Err(PdfError::Malformed("tham chiếu lồng nhau quá sâu".into()));
        }
        match self.entries.get(&r.0) {
            None | Some(Entry::Free) => Ok(Obj::Null),
            Some(Entry::InUse(off, _)) => {
                if *off >= self.data.len() {
                    return Err(PdfError::Malformed(format!("đối tượng {} trỏ ra ngoài tệp", r.0)));
                }
                let mut lx = Lexer::new(self.data, *off);
                let length = |o: &Obj| -> Option<usize> {
                    match o {
                        Obj::Int(i) => Some(*i as usize),
                        Obj::Ref(lr) if lr.0 != r.0 => self.get_depth(*lr, depth + 1).ok().and_then(|x| x.as_int()).map(|i| i as usize),
                        _ => None,
                    }
                };
                let (got, obj) = lx.indirect(&length)?;
                if got.0 != r.0 {
                    return Err(PdfError::Malformed(format!("bảng tham chiếu chéo trỏ sai: cần đối tượng {}, gặp {}", r.0, got.0)));
                }
                self.decrypted(got, obj)
            }
            Some(Entry::Compressed(stream, index)) => {
                let decoded = self.object_stream(*stream, depth)?;
                let (d, data) = (&decoded.0, &decoded.1);
                let n = get(d, "N").and_then(Obj::as_int).unwrap_or(0) as usize;
                let first = get(d, "First").and_then(Obj::as_int).unwrap_or(0) as usize;
                if *index >= n || first > data.len() {
                    return Err(PdfError::Malformed(format!("chỉ mục {index} vượt quá luồng đối tượng {stream}")));
                }
                let mut lx = Lexer::new(data, 0);
                let mut offset = None;
                for i in 0..n {
                    let num = std::str::from_utf8(lx.word()).ok().and_then(|s| s.parse::<u32>().ok());
                    let off = std::str::from_utf8(lx.word()).ok().and_then(|s| s.parse::<usize>().ok());
                    if i == *index {
                        if num != Some(r.0) {
                            return Err(PdfError::Malformed(format!("luồng đối tượng {stream} không chứa đối tượng {}", r.0)));
                        }
                        offset = off;
                        break;
                    }
                }
                let at = offset.and_then(|o| first.checked_add(o)).ok_or_else(|| PdfError::Malformed("luồng đối tượng hỏng".into()))?;
                Lexer::new(data, at).object(0)
            }
        }
    }

    /// The object `r` without a stream's bytes (its dictionary only) and, outside object
    /// streams, with hex strings empty, for walks over the references of a document: a 200 MB
    /// content stream or a signature's /Contents is not copied to learn that it refers to
    /// nothing.
    pub fn get_shallow(&self, r: Ref) -> PdfResult<Obj> {
        match self.entries.get(&r.0) {
            Some(Entry::InUse(off, _)) if *off < self.data.len() => {
                let (got, obj) = Lexer::new(self.data, *off).indirect_head()?;
                if got.0 != r.0 {
                    return Err(PdfError::Malformed(format!("bảng tham chiếu chéo trỏ sai: cần đối tượng {}, gặp {}", r.0, got.0)));
                }
                self.decrypted(got, obj)
            }
            _ => self.get(r),
        }
    }

    /// An object stream's dictionary and decoded bytes, decoded once per document.
    fn object_stream(&self, stream: u32, depth: usize) -> PdfResult<DecodedObjStm> {
        if let Some(hit) = self.objstm.lock().ok().and_then(|c| c.get(&stream).cloned()) {
            return Ok(hit);
        }
        let Obj::Stream(d, raw) = self.get_depth((stream, 0), depth + 1)? else {
            return Err(PdfError::Malformed(format!("luồng đối tượng {stream} không tồn tại")));
        };
        let data = decode_stream(&d, &raw)?;
        let decoded = std::sync::Arc::new((d, data));
        if let Ok(mut cache) = self.objstm.lock() {
            let held: usize = cache.values().map(|v| v.1.len()).sum();
            if held + decoded.1.len() <= OBJSTM_CACHE {
                cache.insert(stream, decoded.clone());
            }
        }
        Ok(decoded)
    }

    /// Follows a reference (once); other objects are returned as they are.
    pub fn resolve(&self, o: &Obj) -> PdfResult<Obj> {
        match o {
            Obj::Ref(r) => self.get(*r),
            other => Ok(other.clone()),
        }
    }

    pub fn root_ref(&self) -> Ref {
        get(&self.trailer, "Root").and_then(Obj::as_ref).expect("checked at open")
    }

    pub fn catalog(&self) -> PdfResult<Dict> {
        self.get(self.root_ref())?.as_dict().cloned().ok_or_else(|| PdfError::Malformed("/Root không phải từ điển".into()))
    }

    /// The highest object number in use, plus one (/Size).
    pub fn size(&self) -> u32 {
        let from_trailer = get(&self.trailer, "Size").and_then(Obj::as_int).unwrap_or(0) as u32;
        from_trailer.max(self.entries.keys().max().map(|m| m + 1).unwrap_or(0))
    }

    /// The pages in order, as references.
    pub fn pages(&self) -> PdfResult<Vec<Ref>> {
        let cat = self.catalog()?;
        let root = get(&cat, "Pages").and_then(Obj::as_ref).ok_or_else(|| PdfError::Malformed("danh mục thiếu /Pages".into()))?;
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut stack = vec![root];
        while let Some(r) = stack.pop() {
            if !seen.insert(r) || seen.len() > 1_000_000 {
                return Err(PdfError::Malformed("cây trang lặp vòng".into()));
            }
            let node = self.get(r)?;
            let d = node.as_dict().ok_or_else(|| PdfError::Malformed(format!("nút trang {} không phải từ điển", r.0)))?;
            match get(d, "Type").and_then(Obj::as_name) {
                Some(b"Pages") => {
                    let kids: Vec<Ref> = get(d, "Kids")
                        .map(|k| self.resolve(k))
                        .transpose()?
                        .and_then(|k| k.as_array().map(|a| a.iter().filter_map(Obj::as_ref).collect()))
                        .unwrap_or_default();
                    stack.extend(kids.into_iter().rev());
                }
                _ => out.push(r),
            }
        }
        Ok(out)
    }
}
