//! BER as signing tools in the field write it — Adobe and many Java signers stream CMS with
//! indefinite lengths and constructed strings — read into the DER that the strict `der`
//! decoders take. This is the one module where kyso accepts BER: [`to_der`] normalises an
//! element, [`Tlv`] walks one as received (so that signed attributes are verified over their
//! bytes exactly as the signer encoded them, never re-encoded). Depth and size are bounded.

use crate::{PkiError, PkiResult};

/// Nesting deeper than this is refused (CMS needs about 12 levels).
pub const MAX_DEPTH: usize = 64;

fn err(m: &str) -> PkiError {
    PkiError::Der(format!("BER: {m}"))
}

/// One element as received: its identifier octets, its contents (without an end-of-contents
/// marker) and the whole encoding.
#[derive(Debug, Clone, Copy)]
pub struct Tlv<'a> {
    /// The identifier octets (one, or several for tag numbers ≥ 31).
    pub tag: &'a [u8],
    pub contents: &'a [u8],
    /// The whole element, header and (for indefinite lengths) the end-of-contents included.
    pub raw: &'a [u8],
    pub indefinite: bool,
}

impl<'a> Tlv<'a> {
    /// Reads the element at the start of `input`; what follows it is left alone.
    pub fn parse(input: &'a [u8]) -> PkiResult<Tlv<'a>> {
        Self::parse_at(input, 0)
    }

    fn parse_at(input: &'a [u8], depth: usize) -> PkiResult<Tlv<'a>> {
        if depth > MAX_DEPTH {
            return Err(err("lồng nhau quá sâu"));
        }
        let first = *input.first().ok_or_else(|| err("dữ liệu rỗng"))?;
        let mut pos = 1;
        if first & 0x1f == 0x1f {
            loop {
                let b = *input.get(pos).ok_or_else(|| err("thẻ bị cắt cụt"))?;
                pos += 1;
                if b & 0x80 == 0 {
                    break;
                }
                if pos > 6 {
                    return Err(err("số hiệu thẻ quá lớn"));
                }
            }
        }
        let tag = &input[..pos];
        let constructed = first & 0x20 != 0;
        let l = *input.get(pos).ok_or_else(|| err("độ dài bị cắt cụt"))?;
        pos += 1;
        if l == 0x80 {
            if !constructed {
                return Err(err("độ dài không xác định cho kiểu nguyên thủy"));
            }
            // Indefinite: children until the end-of-contents octets 00 00.
            let start = pos;
            loop {
                let rest = input.get(pos..).ok_or_else(|| err("thiếu dấu kết thúc"))?;
                if rest.starts_with(&[0, 0]) {
                    return Ok(Tlv { tag, contents: &input[start..pos], raw: &input[..pos + 2], indefinite: true });
                }
                let child = Self::parse_at(rest, depth + 1)?;
                pos += child.raw.len();
            }
        }
        let len = if l & 0x80 == 0 {
            usize::from(l)
        } else {
            let n = usize::from(l & 0x7f);
            if n > 4 {
                return Err(err("độ dài quá lớn"));
            }
            let bytes = input.get(pos..pos + n).ok_or_else(|| err("độ dài bị cắt cụt"))?;
            pos += n;
            bytes.iter().fold(0usize, |a, b| (a << 8) | usize::from(*b))
        };
        let end = pos.checked_add(len).ok_or_else(|| err("độ dài tràn số"))?;
        let contents = input.get(pos..end).ok_or_else(|| err("dữ liệu bị cắt cụt"))?;
        Ok(Tlv { tag, contents, raw: &input[..end], indefinite: false })
    }

    pub fn is_constructed(&self) -> bool {
        self.tag[0] & 0x20 != 0
    }

    /// The first identifier octet (class, constructed bit, low tag number).
    pub fn tag_byte(&self) -> u8 {
        self.tag[0]
    }

    /// The elements inside a constructed element.
    pub fn children(&self) -> PkiResult<Vec<Tlv<'a>>> {
        let mut out = Vec::new();
        let mut rest = self.contents;
        while !rest.is_empty() {
            let c = Self::parse_at(rest, 1)?;
            rest = &rest[c.raw.len()..];
            out.push(c);
        }
        Ok(out)
    }

    /// The bytes of a string type, joining the segments of a constructed (BER) string.
    pub fn string_bytes(&self) -> PkiResult<Vec<u8>> {
        if !self.is_constructed() {
            return Ok(self.contents.to_vec());
        }
        let mut out = Vec::new();
        for c in self.children()? {
            out.extend(c.string_bytes()?);
        }
        Ok(out)
    }

    /// This element in DER form.
    pub fn to_der(&self) -> PkiResult<Vec<u8>> {
        let mut out = Vec::with_capacity(self.raw.len());
        write_der(self, &mut out, 0)?;
        Ok(out)
    }
}

/// The length of the element at the start of `bytes` (PDF signatures are padded with zeros).
pub fn element_len(bytes: &[u8]) -> PkiResult<usize> {
    Ok(Tlv::parse(bytes)?.raw.len())
}

/// The element at the start of `bytes` in DER form: definite, minimal lengths; the segments of
/// constructed universal strings joined; BOOLEAN true as FF. The order of SET elements is
/// kept (signatures may cover it as written).
pub fn to_der(bytes: &[u8]) -> PkiResult<Vec<u8>> {
    Tlv::parse(bytes)?.to_der()
}

/// A DER length.
pub fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// Universal string types that DER requires in primitive form.
fn is_universal_string(tag: u8) -> bool {
    matches!(tag & 0x1f, 3 | 4 | 12 | 18 | 19 | 20 | 22 | 26 | 27 | 28 | 30) && tag & 0xc0 == 0
}

fn write_der(t: &Tlv<'_>, out: &mut Vec<u8>, depth: usize) -> PkiResult<()> {
    if depth > MAX_DEPTH {
        return Err(err("lồng nhau quá sâu"));
    }
    let first = t.tag[0];
    if t.is_constructed() && is_universal_string(first) {
        let bytes = if first & 0x1f == 3 { bit_string_bytes(t)? } else { t.string_bytes()? };
        out.push(first & !0x20);
        out.extend_from_slice(&t.tag[1..]);
        push_len(out, bytes.len());
        out.extend(bytes);
        return Ok(());
    }
    out.extend_from_slice(t.tag);
    if !t.is_constructed() {
        if first == 0x01 && t.contents.len() == 1 && t.contents[0] != 0 {
            push_len(out, 1);
            out.push(0xff);
            return Ok(());
        }
        push_len(out, t.contents.len());
        out.extend_from_slice(t.contents);
        return Ok(());
    }
    let mut inner = Vec::with_capacity(t.contents.len());
    for c in t.children()? {
        write_der(&c, &mut inner, depth + 1)?;
    }
    push_len(out, inner.len());
    out.extend(inner);
    Ok(())
}

/// A constructed BIT STRING's segments joined: only the last may have unused bits.
fn bit_string_bytes(t: &Tlv<'_>) -> PkiResult<Vec<u8>> {
    let parts = t.children()?;
    let mut out = vec![0u8];
    for (i, p) in parts.iter().enumerate() {
        let b = p.string_bytes()?;
        let (unused, rest) = b.split_first().ok_or_else(|| err("đoạn BIT STRING rỗng"))?;
        if *unused != 0 && i + 1 != parts.len() {
            return Err(err("đoạn BIT STRING giữa có bit thừa"));
        }
        out[0] = *unused;
        out.extend_from_slice(rest);
    }
    Ok(out)
}

/// A UTCTime or GeneralizedTime element as the field writes it: GeneralizedTime may carry
/// fractional seconds (`20190115151241.584Z`), which are dropped; a time without `Z` (local
/// time, which DER forbids) is refused.
pub fn time_of(der: &[u8]) -> PkiResult<chrono::DateTime<chrono::Utc>> {
    let t = Tlv::parse(der)?;
    let s = std::str::from_utf8(t.contents).map_err(|_| err("thời điểm không phải ASCII"))?;
    let (digits, full_year) = match t.tag_byte() {
        0x17 => (s, false),
        0x18 => (s, true),
        _ => return Err(err("cần UTCTime hoặc GeneralizedTime")),
    };
    let body = digits.strip_suffix('Z').ok_or_else(|| err("thời điểm không ở múi giờ UTC (thiếu Z)"))?;
    let body = body.split_once(['.', ',']).map_or(body, |(whole, frac)| if frac.chars().all(|c| c.is_ascii_digit()) { whole } else { "x" });
    if !body.chars().all(|c| c.is_ascii_digit()) {
        return Err(err("thời điểm có ký tự lạ"));
    }
    let (year, rest) = if full_year {
        (body.get(..4).and_then(|y| y.parse::<i32>().ok()).ok_or_else(|| err("năm không hợp lệ"))?, &body[4.min(body.len())..])
    } else {
        let yy: i32 = body.get(..2).and_then(|y| y.parse().ok()).ok_or_else(|| err("năm không hợp lệ"))?;
        (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &body[2.min(body.len())..])
    };
    if rest.len() != 10 && rest.len() != 8 {
        return Err(err("thời điểm không đủ ngày giờ"));
    }
    let n = |i: usize| rest.get(i..i + 2).and_then(|p| p.parse::<u32>().ok()).unwrap_or(0);
    chrono::NaiveDate::from_ymd_opt(year, n(0), n(2))
        .and_then(|d| d.and_hms_opt(n(4), n(6), if rest.len() == 10 { n(8) } else { 0 }))
        .map(|d| d.and_utc())
        .ok_or_else(|| err("ngày giờ không tồn tại"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indefinite_lengths_and_constructed_strings_become_der() {
        // SEQUENCE (indefinite) { OCTET STRING constructed (indefinite) { 'ab', 'c' }, BOOLEAN 01 }
        let ber = [0x30, 0x80, 0x24, 0x80, 0x04, 0x02, b'a', b'b', 0x04, 0x01, b'c', 0, 0, 0x01, 0x01, 0x01, 0, 0, 0xde, 0xad];
        let t = Tlv::parse(&ber).unwrap();
        assert!(t.indefinite);
        assert_eq!(t.raw.len(), 18, "the padding after the element is not part of it");
        assert_eq!(to_der(&ber).unwrap(), [0x30, 0x08, 0x04, 0x03, b'a', b'b', b'c', 0x01, 0x01, 0xff]);
    }

    #[test]
    fn non_minimal_lengths_are_normalised_and_set_order_is_kept() {
        let ber = [0x31, 0x82, 0x00, 0x06, 0x02, 0x01, 0x09, 0x02, 0x01, 0x01];
        assert_eq!(to_der(&ber).unwrap(), [0x31, 0x06, 0x02, 0x01, 0x09, 0x02, 0x01, 0x01]);
    }

    #[test]
    fn times_with_fractions_and_two_digit_years() {
        let g = |s: &str| [&[0x18, s.len() as u8][..], s.as_bytes()].concat();
        let u = |s: &str| [&[0x17, s.len() as u8][..], s.as_bytes()].concat();
        for (der, want) in [
            (g("20190115151241.584Z"), Some("2019-01-15T15:12:41Z")),
            (g("20190115151241Z"), Some("2019-01-15T15:12:41Z")),
            (u("190115151241Z"), Some("2019-01-15T15:12:41Z")),
            (u("990115151241Z"), Some("1999-01-15T15:12:41Z")),
            (g("20190115151241"), None),
            (g("20190231151241Z"), None),
            (g("2019011515124.5Z"), None),
        ] {
            let got = time_of(&der).ok().map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
            assert_eq!(got.as_deref(), want, "{der:?}");
        }
    }

    #[test]
    fn hostile_input_is_refused_not_panicked_on() {
        let deep: Vec<u8> = std::iter::repeat_n([0x30u8, 0x80], 200).flatten().collect();
        for bad in [&[][..], &[0x30], &[0x30, 0x85, 1, 1, 1, 1, 1], &[0x04, 0x80, 0, 0], &[0x30, 0x05, 0x01], &[0x1f, 0xff, 0xff], &deep] {
            assert!(to_der(bad).is_err(), "{bad:?}");
        }
    }
}
