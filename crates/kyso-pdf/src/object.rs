//! PDF objects (ISO 32000-1 §7.3): a parser with limits, and a writer.

use crate::{PdfError, PdfResult};
use std::collections::BTreeMap;

/// Object reference: (object number, generation).
pub type Ref = (u32, u16);

#[derive(Debug, Clone, PartialEq)]
pub enum Obj {
    Null,
    Bool(bool),
    Int(i64),
    Real(f64),
    Name(Vec<u8>),
    Str(Vec<u8>),
    Array(Vec<Obj>),
    Dict(Dict),
    Ref(Ref),
    /// A stream: its dictionary and its raw (still encoded) bytes.
    Stream(Dict, Vec<u8>),
}

/// A dictionary; keys are names without the slash. Ordered for reproducible output.
pub type Dict = BTreeMap<Vec<u8>, Obj>;

impl Obj {
    pub fn name(s: &str) -> Obj {
        Obj::Name(s.as_bytes().to_vec())
    }
    pub fn as_dict(&self) -> Option<&Dict> {
        match self {
            Obj::Dict(d) | Obj::Stream(d, _) => Some(d),
            _ => None,
        }
    }
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Obj::Int(i) => Some(*i),
            _ => None,
        }
    }
    pub fn as_ref(&self) -> Option<Ref> {
        match self {
            Obj::Ref(r) => Some(*r),
            _ => None,
        }
    }
    pub fn as_name(&self) -> Option<&[u8]> {
        match self {
            Obj::Name(n) => Some(n),
            _ => None,
        }
    }
    pub fn as_array(&self) -> Option<&Vec<Obj>> {
        match self {
            Obj::Array(a) => Some(a),
            _ => None,
        }
    }
}

pub fn get<'a>(d: &'a Dict, key: &str) -> Option<&'a Obj> {
    d.get(key.as_bytes())
}

/// Limits that keep hostile files in bounded time and memory.
pub const MAX_DEPTH: usize = 64;

fn is_white(b: u8) -> bool {
    matches!(b, 0 | 9 | 10 | 12 | 13 | 32)
}
fn is_delim(b: u8) -> bool {
    matches!(b, b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%')
}

/// A cursor over bytes.
pub struct Lexer<'a> {
    pub data: &'a [u8],
    pub pos: usize,
    /// Hex strings are checked but not decoded (they read as empty): for walks that only want
    /// references, where a signature's 30 KB /Contents would otherwise be decoded every time.
    skim: bool,
}

/// The value of each hex digit, 16 for whitespace, 17 for anything else.
const HEX: [u8; 256] = {
    let mut t = [17u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            b'\0' | b'\t' | b'\n' | 0x0C | b'\r' | b' ' => 16,
            _ => 17,
        };
        i += 1;
    }
    t
};

impl<'a> Lexer<'a> {
    pub fn new(data: &'a [u8], pos: usize) -> Self {
        Lexer { data, pos, skim: false }
    }
    fn err(&self, what: &str) -> PdfError {
        PdfError::Malformed(format!("{what} tại byte {}", self.pos))
    }
    pub fn skip_ws(&mut self) {
        while self.pos < self.data.len() {
            let b = self.data[self.pos];
            if is_white(b) {
                self.pos += 1;
            } else if b == b'%' {
                while self.pos < self.data.len() && self.data[self.pos] != b'\n' && self.data[self.pos] != b'\r' {
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }
    fn peek(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }
    /// The next regular token (a keyword or a number).
    pub fn word(&mut self) -> &'a [u8] {
        self.skip_ws();
        let start = self.pos;
        while self.pos < self.data.len() && !is_white(self.data[self.pos]) && !is_delim(self.data[self.pos]) {
            self.pos += 1;
        }
        &self.data[start..self.pos]
    }
    pub fn expect(&mut self, kw: &[u8]) -> PdfResult<()> {
        let w = self.word();
        if w == kw {
            Ok(())
        } else {
            Err(self.err(&format!("cần '{}', gặp '{}'", String::from_utf8_lossy(kw), String::from_utf8_lossy(w))))
        }
    }

    /// Parses one object. References (`n g R`) are recognised.
    pub fn object(&mut self, depth: usize) -> PdfResult<Obj> {
        if depth > MAX_DEPTH {
            return Err(self.err("lồng nhau quá sâu"));
        }
        self.skip_ws();
        let Some(b) = self.peek() else { return Err(self.err("hết dữ liệu")) };
        match b {
            b'/' => {
                self.pos += 1;
                Ok(Obj::Name(self.name_body()))
            }
            b'(' => self.literal_string(),
            b'<' if self.data.get(self.pos + 1) == Some(&b'<') => {
                self.pos += 2;
                let mut d = Dict::new();
                loop {
                    self.skip_ws();
                    match self.peek() {
                        Some(b'>') if self.data.get(self.pos + 1) == Some(&b'>') => {
                            self.pos += 2;
                            break;
                        }
                        Some(b'/') => {
                            self.pos += 1;
                            let k = self.name_body();
                            let v = self.object(depth + 1)?;
                            d.insert(k, v);
                        }
                        _ => return Err(self.err("khóa của từ điển không hợp lệ")),
                    }
                }
                Ok(Obj::Dict(d))
            }
            b'<' => self.hex_string(),
            b'[' => {
                self.pos += 1;
                let mut a = Vec::new();
                loop {
                    self.skip_ws();
                    if self.peek() == Some(b']') {
                        self.pos += 1;
                        break;
                    }
                    if self.peek().is_none() {
                        return Err(self.err("mảng không đóng"));
                    }
                    a.push(self.object(depth + 1)?);
                    if a.len() > 1_000_000 {
                        return Err(self.err("mảng quá lớn"));
                    }
                }
                Ok(Obj::Array(a))
            }
            _ => {
                let w = self.word();
                match w {
                    b"true" => Ok(Obj::Bool(true)),
                    b"false" => Ok(Obj::Bool(false)),
                    b"null" => Ok(Obj::Null),
                    _ => self.number_or_ref(w),
                }
            }
        }
    }

    fn number_or_ref(&mut self, w: &[u8]) -> PdfResult<Obj> {
        let s = std::str::from_utf8(w).map_err(|_| self.err("số không hợp lệ"))?;
        if s.is_empty() {
            return Err(self.err("thiếu đối tượng"));
        }
        if let Ok(n) = s.parse::<i64>() {
            // Look ahead for "g R".
            let save = self.pos;
            let g = self.word();
            if let Ok(gen) = std::str::from_utf8(g).unwrap_or("").parse::<u16>() {
                let r = self.word();
                if r == b"R" && n >= 0 && n <= u32::MAX as i64 {
                    return Ok(Obj::Ref((n as u32, gen)));
                }
            }
            self.pos = save;
            return Ok(Obj::Int(n));
        }
        s.parse::<f64>().map(Obj::Real).map_err(|_| self.err(&format!("từ khóa lạ '{s}'")))
    }

    fn name_body(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some(b) = self.peek() {
            if is_white(b) || is_delim(b) {
                break;
            }
            self.pos += 1;
            if b == b'#' {
                let h = self
                    .data
                    .get(self.pos..self.pos + 2)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                if let Some(v) = h {
                    out.push(v);
                    self.pos += 2;
                    continue;
                }
            }
            out.push(b);
        }
        out
    }

    fn literal_string(&mut self) -> PdfResult<Obj> {
        self.pos += 1;
        let mut out = Vec::new();
        let mut depth = 1;
        while let Some(b) = self.peek() {
            self.pos += 1;
            match b {
                b'\\' => {
                    let Some(e) = self.peek() else { break };
                    self.pos += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'\r' => {
                            if self.peek() == Some(b'\n') {
                                self.pos += 1;
                            }
                        }
                        b'\n' => {}
                        b'0'..=b'7' => {
                            let mut v = u32::from(e - b'0');
                            for _ in 0..2 {
                                match self.peek() {
                                    Some(d @ b'0'..=b'7') => {
                                        v = v * 8 + u32::from(d - b'0');
                                        self.pos += 1;
                                    }
                                    _ => break,
                                }
                            }
                            out.push((v & 0xff) as u8);
                        }
                        other => out.push(other),
                    }
                }
                b'(' => {
                    depth += 1;
                    out.push(b);
                }
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(Obj::Str(out));
                    }
                    out.push(b);
                }
                _ => out.push(b),
            }
        }
        Err(self.err("chuỗi không đóng"))
    }

    fn hex_string(&mut self) -> PdfResult<Obj> {
        self.pos += 1;
        let rest = &self.data[self.pos.min(self.data.len())..];
        // One pass to the first byte that is neither a hex digit nor white space: it must be
        // the closing '>' (scanning for '>' first would re-read the rest of a hostile file for
        // every unclosed string).
        let end = match rest.iter().position(|b| HEX[*b as usize] > 16) {
            Some(i) if rest[i] == b'>' => i,
            Some(i) => {
                self.pos += i;
                return Err(self.err("chuỗi hex không hợp lệ"));
            }
            None => return Err(self.err("chuỗi hex không đóng")),
        };
        let body = &rest[..end];
        self.pos += end + 1;
        if self.skim {
            return Ok(Obj::Str(Vec::new()));
        }
        let mut out = Vec::with_capacity(body.len() / 2 + 1);
        let mut high: Option<u8> = None;
        for v in body.iter().map(|b| HEX[*b as usize]).filter(|v| *v < 16) {
            match high.take() {
                None => high = Some(v),
                Some(h) => out.push(h << 4 | v),
            }
        }
        // An odd last digit is followed by an implied 0.
        if let Some(h) = high {
            out.push(h << 4);
        }
        Ok(Obj::Str(out))
    }

    /// `n g obj` at the cursor.
    fn object_header(&mut self) -> PdfResult<(u32, u16)> {
        let n = self.word();
        let g = self.word();
        let num =
            std::str::from_utf8(n).ok().and_then(|s| s.parse::<u32>().ok()).ok_or_else(|| self.err("số hiệu đối tượng không hợp lệ"))?;
        let gen =
            std::str::from_utf8(g).ok().and_then(|s| s.parse::<u16>().ok()).ok_or_else(|| self.err("thế hệ đối tượng không hợp lệ"))?;
        self.expect(b"obj")?;
        Ok((num, gen))
    }

    /// Parses `n g obj <object>` at the cursor and no further: a stream comes back with its
    /// dictionary and no bytes, and hex strings come back empty (for walks that follow
    /// references and must not copy content).
    pub fn indirect_head(&mut self) -> PdfResult<(Ref, Obj)> {
        let (num, gen) = self.object_header()?;
        self.skim = true;
        let obj = self.object(0);
        self.skim = false;
        let obj = obj?;
        let save = self.pos;
        if self.word() == b"stream" {
            if let Obj::Dict(d) = obj {
                return Ok(((num, gen), Obj::Stream(d, Vec::new())));
            }
        }
        self.pos = save;
        Ok(((num, gen), obj))
    }

    /// Parses `n g obj … endobj` at the cursor; streams get their raw bytes (the length from
    /// `/Length`, resolved by `length` when it is a reference).
    pub fn indirect(&mut self, length: &dyn Fn(&Obj) -> Option<usize>) -> PdfResult<(Ref, Obj)> {
        let (num, gen) = self.object_header()?;
        let obj = self.object(0)?;
        let save = self.pos;
        let kw = self.word();
        if kw == b"stream" {
            let Obj::Dict(d) = obj else { return Err(self.err("stream thiếu từ điển")) };
            // EOL after "stream": CRLF or LF.
            if self.peek() == Some(b'\r') {
                self.pos += 1;
            }
            if self.peek() == Some(b'\n') {
                self.pos += 1;
            }
            let len = d.get(b"Length".as_slice()).and_then(length).ok_or_else(|| self.err("stream thiếu /Length"))?;
            let end = self.pos.checked_add(len).filter(|e| *e <= self.data.len()).ok_or_else(|| self.err("stream vượt quá cuối tệp"))?;
            let raw = self.data[self.pos..end].to_vec();
            self.pos = end;
            self.expect(b"endstream")?;
            return Ok(((num, gen), Obj::Stream(d, raw)));
        }
        self.pos = save;
        Ok(((num, gen), obj))
    }
}

/// Writes an object in PDF syntax.
pub fn write(o: &Obj, out: &mut Vec<u8>) {
    match o {
        Obj::Null => out.extend_from_slice(b"null"),
        Obj::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Obj::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Obj::Real(r) => out.extend_from_slice(format!("{r:.4}").trim_end_matches('0').trim_end_matches('.').as_bytes()),
        Obj::Name(n) => {
            out.push(b'/');
            for &b in n {
                if b.is_ascii_alphanumeric() || b"-_.+*".contains(&b) {
                    out.push(b);
                } else {
                    out.extend_from_slice(format!("#{b:02X}").as_bytes());
                }
            }
        }
        Obj::Str(s) => {
            out.push(b'<');
            out.extend_from_slice(hex::encode_upper(s).as_bytes());
            out.push(b'>');
        }
        Obj::Array(a) => {
            out.push(b'[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                write(x, out);
            }
            out.push(b']');
        }
        Obj::Dict(d) => write_dict(d, out),
        Obj::Ref((n, g)) => out.extend_from_slice(format!("{n} {g} R").as_bytes()),
        Obj::Stream(d, raw) => {
            let mut d = d.clone();
            d.insert(b"Length".to_vec(), Obj::Int(raw.len() as i64));
            write_dict(&d, out);
            out.extend_from_slice(b"\nstream\n");
            out.extend_from_slice(raw);
            out.extend_from_slice(b"\nendstream");
        }
    }
}

fn write_dict(d: &Dict, out: &mut Vec<u8>) {
    out.extend_from_slice(b"<<");
    for (k, v) in d {
        write(&Obj::Name(k.clone()), out);
        out.push(b' ');
        write(v, out);
    }
    out.extend_from_slice(b">>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_write_round_trip() {
        let src = b"<< /Type /Catalog /Pages 2 0 R /A [1 -2 3.5 (a\\(b\\)c) <48656C6C6F> true null /N#20x] /D << /K 7 >> >>";
        let o = Lexer::new(src, 0).object(0).unwrap();
        let d = o.as_dict().unwrap();
        assert_eq!(get(d, "Pages"), Some(&Obj::Ref((2, 0))));
        let a = get(d, "A").unwrap().as_array().unwrap();
        assert_eq!(a[3], Obj::Str(b"a(b)c".to_vec()));
        assert_eq!(a[4], Obj::Str(b"Hello".to_vec()));
        assert_eq!(a[7], Obj::Name(b"N x".to_vec()));
        let mut out = Vec::new();
        write(&o, &mut out);
        assert_eq!(Lexer::new(&out, 0).object(0).unwrap(), o);
    }

    #[test]
    fn hex_strings_decode_as_the_standard_says() {
        let cases: &[(&[u8], Option<&[u8]>)] = &[
            (b"<48656C6C6F>", Some(b"Hello")),
            (b"<48 65\n6c\t6C 6f>", Some(b"Hello")),
            (b"<901FA>", Some(&[0x90, 0x1F, 0xA0])),
            (b"<>", Some(b"")),
            (b"<4G>", None),
            (b"<4142", None),
        ];
        for (src, want) in cases {
            let got = Lexer::new(src, 0).object(0).ok();
            assert_eq!(got, want.map(|w| Obj::Str(w.to_vec())), "{}", String::from_utf8_lossy(src));
        }
        // A shallow read checks a hex string but does not decode it.
        let (r, o) = Lexer::new(b"7 0 obj << /Contents <3082AB> /Type /Sig >> endobj", 0).indirect_head().unwrap();
        assert_eq!(r, (7, 0));
        assert_eq!(get(o.as_dict().unwrap(), "Contents"), Some(&Obj::Str(vec![])));
        assert!(Lexer::new(b"7 0 obj << /Contents <30Z2> >> endobj", 0).indirect_head().is_err());
        // The lexer reads a normal object fully again after a shallow one.
        let mut lx = Lexer::new(b"7 0 obj <01> endobj <02>", 0);
        lx.indirect_head().unwrap();
        lx.word();
        assert_eq!(lx.object(0).unwrap(), Obj::Str(vec![2]));
    }

    #[test]
    fn hostile_input_errors_instead_of_panicking() {
        let deep = "[".repeat(1000);
        for bad in [b"<< /A".as_slice(), b"(unclosed", b"<4G>", deep.as_bytes(), b"", b"<< 1 2 >>"] {
            assert!(Lexer::new(bad, 0).object(0).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
