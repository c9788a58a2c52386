//! Visible signature appearances: a Form XObject with real text (a subset of an embedded
//! TrueType font with Vietnamese glyphs, and a ToUnicode map so that text extraction gives
//! the exact words) and PNG images (the handwritten signature, the seal) with transparency.

use crate::object::{Dict, Obj};
use crate::{PdfError, PdfResult};
use std::collections::BTreeMap;
use std::io::Write;

/// Liberation Serif (SIL OFL 1.1): metric-compatible with Times New Roman, with the
/// Vietnamese letters. Licence: fonts/LICENSE-LiberationSerif.txt.
pub static SERIF: &[u8] = include_bytes!("../fonts/LiberationSerif-Regular.ttf");

/// References at or above this number point into `Appearance::objects` (local numbering that
/// the signer replaces with real object numbers).
pub const LOCAL_BASE: u32 = 0x7000_0000;

/// A Form XObject and the objects it uses.
#[derive(Debug, Clone)]
pub struct Appearance {
    pub width: f64,
    pub height: f64,
    pub form: (Dict, Vec<u8>),
    pub objects: Vec<Obj>,
}

/// One line of text at (x, y) from the lower left of the box, in points.
#[derive(Debug, Clone)]
pub struct Line {
    pub text: String,
    pub x: f64,
    pub y: f64,
    pub size: f64,
    /// RGB in 0..1.
    pub color: [f64; 3],
}

/// A PNG placed at (x, y) with size (w, h) in points.
#[derive(Debug, Clone)]
pub struct Picture {
    pub png: Vec<u8>,
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

fn local(i: usize) -> Obj {
    Obj::Ref((LOCAL_BASE + i as u32, 0))
}

fn flate(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("writing to memory");
    e.finish().expect("writing to memory")
}

fn d(pairs: Vec<(&str, Obj)>) -> Dict {
    pairs.into_iter().map(|(k, v)| (k.as_bytes().to_vec(), v)).collect()
}

fn num(v: f64) -> Obj {
    Obj::Real(v)
}

/// A decoded image: width, height, 8-bit RGB pixels and an optional alpha channel.
pub struct Raster {
    pub width: u32,
    pub height: u32,
    pub rgb: Vec<u8>,
    pub alpha: Option<Vec<u8>>,
}

/// Decodes a PNG into 8-bit RGB and an optional alpha channel. Anything that is not a PNG is
/// refused with a message that says so.
pub fn decode_png(bytes: &[u8]) -> PdfResult<Raster> {
    if !bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Err(PdfError::Invalid("ảnh chữ ký/con dấu phải là tệp PNG (nền trong suốt)".into()));
    }
    let mut dec = png::Decoder::new(std::io::Cursor::new(bytes));
    dec.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut r = dec.read_info().map_err(|e| PdfError::Invalid(format!("tệp PNG hỏng: {e}")))?;
    let (w, h) = (r.info().width, r.info().height);
    if u64::from(w) * u64::from(h) > 40_000_000 {
        return Err(PdfError::Limit("ảnh PNG quá lớn".into()));
    }
    let mut buf = vec![0; r.output_buffer_size().ok_or_else(|| PdfError::Limit("ảnh PNG quá lớn".into()))?];
    let info = r.next_frame(&mut buf).map_err(|e| PdfError::Invalid(format!("tệp PNG hỏng: {e}")))?;
    let px = &buf[..info.buffer_size()];
    let (rgb, alpha) = match info.color_type {
        png::ColorType::Rgb => (px.to_vec(), None),
        png::ColorType::Rgba => (px.chunks(4).flat_map(|c| [c[0], c[1], c[2]]).collect(), Some(px.chunks(4).map(|c| c[3]).collect())),
        png::ColorType::Grayscale => (px.iter().flat_map(|g| [*g, *g, *g]).collect(), None),
        png::ColorType::GrayscaleAlpha => {
            (px.chunks(2).flat_map(|c| [c[0], c[0], c[0]]).collect(), Some(px.chunks(2).map(|c| c[1]).collect()))
        }
        png::ColorType::Indexed => return Err(PdfError::Invalid("ảnh PNG bảng màu chưa được mở rộng".into())),
    };
    Ok(Raster { width: w, height: h, rgb, alpha })
}

/// Builds the appearance: pictures first (under the text), then the lines.
pub fn compose(width: f64, height: f64, pictures: &[Picture], lines: &[Line]) -> PdfResult<Appearance> {
    let mut objects: Vec<Obj> = Vec::new();
    let mut content = String::new();
    let mut xobjects = Dict::new();
    for (i, p) in pictures.iter().enumerate() {
        let Raster { width: w, height: h, rgb, alpha } = decode_png(&p.png)?;
        let mut img = d(vec![
            ("Type", Obj::name("XObject")),
            ("Subtype", Obj::name("Image")),
            ("Width", Obj::Int(i64::from(w))),
            ("Height", Obj::Int(i64::from(h))),
            ("ColorSpace", Obj::name("DeviceRGB")),
            ("BitsPerComponent", Obj::Int(8)),
            ("Filter", Obj::name("FlateDecode")),
        ]);
        if let Some(a) = alpha {
            let mask = d(vec![
                ("Type", Obj::name("XObject")),
                ("Subtype", Obj::name("Image")),
                ("Width", Obj::Int(i64::from(w))),
                ("Height", Obj::Int(i64::from(h))),
                ("ColorSpace", Obj::name("DeviceGray")),
                ("BitsPerComponent", Obj::Int(8)),
                ("Filter", Obj::name("FlateDecode")),
            ]);
            objects.push(Obj::Stream(mask, flate(&a)));
            img.insert(b"SMask".to_vec(), local(objects.len() - 1));
        }
        objects.push(Obj::Stream(img, flate(&rgb)));
        let name = format!("Im{i}");
        xobjects.insert(name.as_bytes().to_vec(), local(objects.len() - 1));
        content.push_str(&format!("q {:.3} 0 0 {:.3} {:.3} {:.3} cm /{name} Do Q\n", p.w, p.h, p.x, p.y));
    }
    let mut resources = Dict::new();
    if !lines.is_empty() {
        let font = Font::new(SERIF)?;
        let mut used = font.start();
        let mut text_ops = String::new();
        for l in lines {
            let hex = used.encode(&l.text)?;
            text_ops.push_str(&format!(
                "BT {:.3} {:.3} {:.3} rg /F1 {:.2} Tf {:.3} {:.3} Td <{hex}> Tj ET\n",
                l.color[0], l.color[1], l.color[2], l.size, l.x, l.y
            ));
        }
        let font_ref = used.finish(&mut objects)?;
        content.push_str(&text_ops);
        resources.insert(b"Font".to_vec(), Obj::Dict(d(vec![("F1", font_ref)])));
    }
    if !xobjects.is_empty() {
        resources.insert(b"XObject".to_vec(), Obj::Dict(xobjects));
    }
    let form = d(vec![
        ("Type", Obj::name("XObject")),
        ("Subtype", Obj::name("Form")),
        ("BBox", Obj::Array(vec![num(0.0), num(0.0), num(width), num(height)])),
        ("Resources", Obj::Dict(resources)),
    ]);
    Ok(Appearance { width, height, form: (form, content.into_bytes()), objects })
}

/// Width in points of `text` at `size` in the serif font (for layout).
pub fn text_width(text: &str, size: f64) -> PdfResult<f64> {
    let f = Font::new(SERIF)?;
    let face = f.face()?;
    let mut w = 0.0;
    for ch in text.chars() {
        let g = face.glyph(ch).ok_or_else(|| PdfError::Invalid(format!("phông chữ thiếu ký tự '{ch}'")))?;
        w += face.advance(g) / face.upem();
    }
    Ok(w * size)
}

struct Font {
    data: &'static [u8],
}

struct UsedGlyphs<'a> {
    font: &'a Font,
    remap: subsetter::GlyphRemapper,
    /// New glyph id → (advance in 1/1000 em, the text it stands for).
    glyphs: BTreeMap<u16, (f64, String)>,
}

/// What layout needs of a font face: its character map, advances and global metrics, in font
/// units (skrifa, the maintained successor of ttf-parser).
struct Face<'a> {
    charmap: skrifa::charmap::Charmap<'a>,
    advances: skrifa::metrics::GlyphMetrics<'a>,
    metrics: skrifa::metrics::Metrics,
}

impl Face<'_> {
    fn glyph(&self, ch: char) -> Option<u16> {
        self.charmap.map(ch).and_then(|g| u16::try_from(g.to_u32()).ok()).filter(|g| *g != 0)
    }
    fn advance(&self, glyph: u16) -> f64 {
        f64::from(self.advances.advance_width(skrifa::GlyphId::new(u32::from(glyph))).unwrap_or(0.0))
    }
    fn upem(&self) -> f64 {
        f64::from(self.metrics.units_per_em)
    }
}

impl Font {
    fn new(data: &'static [u8]) -> PdfResult<Self> {
        skrifa::FontRef::new(data).map_err(|e| PdfError::Invalid(format!("phông chữ hỏng: {e}")))?;
        Ok(Font { data })
    }
    fn face(&self) -> PdfResult<Face<'static>> {
        use skrifa::instance::{LocationRef, Size};
        use skrifa::MetadataProvider;
        let f = skrifa::FontRef::new(self.data).map_err(|e| PdfError::Invalid(format!("phông chữ hỏng: {e}")))?;
        Ok(Face {
            charmap: f.charmap(),
            advances: f.glyph_metrics(Size::unscaled(), LocationRef::default()),
            metrics: f.metrics(Size::unscaled(), LocationRef::default()),
        })
    }
    fn start(&self) -> UsedGlyphs<'_> {
        let mut remap = subsetter::GlyphRemapper::new();
        remap.remap(0); // .notdef stays glyph 0
        UsedGlyphs { font: self, remap, glyphs: BTreeMap::new() }
    }
}

impl UsedGlyphs<'_> {
    /// The hex string of 2-byte glyph ids (Identity-H) for `text`.
    fn encode(&mut self, text: &str) -> PdfResult<String> {
        let face = self.font.face()?;
        let upem = face.upem();
        let mut out = String::new();
        for ch in text.chars() {
            let g = face.glyph(ch).ok_or_else(|| PdfError::Invalid(format!("phông chữ thiếu ký tự '{ch}' (U+{:04X})", ch as u32)))?;
            let new = self.remap.remap(g);
            let adv = face.advance(g) * 1000.0 / upem;
            self.glyphs.entry(new).or_insert((adv, ch.to_string()));
            out.push_str(&format!("{new:04X}"));
        }
        Ok(out)
    }

    /// Adds the font objects (subset file, descriptor, CID font, ToUnicode, Type0) and returns
    /// the (local) reference of the Type0 font.
    fn finish(self, objects: &mut Vec<Obj>) -> PdfResult<Obj> {
        let face = self.font.face()?;
        let upem = face.upem();
        let scale = |v: f32| f64::from(v) * 1000.0 / upem;
        let subset = subsetter::subset(self.font.data, 0, &self.remap)
            .map_err(|e| PdfError::Invalid(format!("không tách được phông chữ: {e:?}")))?;
        let tag = "KYSOAA";
        let base = format!("{tag}+LiberationSerif");
        let mut ff = d(vec![("Filter", Obj::name("FlateDecode")), ("Length1", Obj::Int(subset.len() as i64))]);
        ff.remove(b"Length".as_slice());
        objects.push(Obj::Stream(ff, flate(&subset)));
        let file = local(objects.len() - 1);
        let m = &face.metrics;
        let bbox = m.bounds.unwrap_or_default();
        objects.push(Obj::Dict(d(vec![
            ("Type", Obj::name("FontDescriptor")),
            ("FontName", Obj::Name(base.as_bytes().to_vec())),
            ("Flags", Obj::Int(34)),
            ("FontBBox", Obj::Array(vec![num(scale(bbox.x_min)), num(scale(bbox.y_min)), num(scale(bbox.x_max)), num(scale(bbox.y_max))])),
            ("ItalicAngle", Obj::Int(0)),
            ("Ascent", num(scale(m.ascent))),
            ("Descent", num(scale(m.descent))),
            ("CapHeight", num(scale(m.cap_height.unwrap_or(m.ascent)))),
            ("StemV", Obj::Int(80)),
            ("FontFile2", file),
        ])));
        let descriptor = local(objects.len() - 1);
        let mut widths = Vec::new();
        for (gid, (adv, _)) in &self.glyphs {
            widths.push(Obj::Int(i64::from(*gid)));
            widths.push(Obj::Array(vec![num(*adv)]));
        }
        objects.push(Obj::Dict(d(vec![
            ("Type", Obj::name("Font")),
            ("Subtype", Obj::name("CIDFontType2")),
            ("BaseFont", Obj::Name(base.as_bytes().to_vec())),
            (
                "CIDSystemInfo",
                Obj::Dict(d(vec![
                    ("Registry", Obj::Str(b"Adobe".to_vec())),
                    ("Ordering", Obj::Str(b"Identity".to_vec())),
                    ("Supplement", Obj::Int(0)),
                ])),
            ),
            ("FontDescriptor", descriptor),
            ("CIDToGIDMap", Obj::name("Identity")),
            ("W", Obj::Array(widths)),
        ])));
        let cid_font = local(objects.len() - 1);
        let mut cmap = String::from(
            "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
        );
        let entries: Vec<_> = self.glyphs.iter().collect();
        for chunk in entries.chunks(100) {
            cmap.push_str(&format!("{} beginbfchar\n", chunk.len()));
            for (gid, (_, text)) in chunk {
                let utf16: String = text.encode_utf16().map(|u| format!("{u:04X}")).collect();
                cmap.push_str(&format!("<{gid:04X}> <{utf16}>\n"));
            }
            cmap.push_str("endbfchar\n");
        }
        cmap.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
        objects.push(Obj::Stream(d(vec![("Filter", Obj::name("FlateDecode"))]), flate(cmap.as_bytes())));
        let to_unicode = local(objects.len() - 1);
        objects.push(Obj::Dict(d(vec![
            ("Type", Obj::name("Font")),
            ("Subtype", Obj::name("Type0")),
            ("BaseFont", Obj::Name(base.as_bytes().to_vec())),
            ("Encoding", Obj::name("Identity-H")),
            ("DescendantFonts", Obj::Array(vec![cid_font])),
            ("ToUnicode", to_unicode),
        ])));
        Ok(local(objects.len() - 1))
    }
}

/// Replaces local references (see [`LOCAL_BASE`]) with the real ones.
pub fn relocate(o: &Obj, real: &[(u32, u16)]) -> Obj {
    match o {
        Obj::Ref((n, _)) if *n >= LOCAL_BASE => Obj::Ref(real[(*n - LOCAL_BASE) as usize]),
        Obj::Array(a) => Obj::Array(a.iter().map(|x| relocate(x, real)).collect()),
        Obj::Dict(dd) => Obj::Dict(dd.iter().map(|(k, v)| (k.clone(), relocate(v, real))).collect()),
        Obj::Stream(dd, raw) => Obj::Stream(dd.iter().map(|(k, v)| (k.clone(), relocate(v, real))).collect(), raw.clone()),
        other => other.clone(),
    }
}
