//! Reading encrypted PDFs: the standard security handler (ISO 32000-2 §7.6.4), revisions 2 to 6,
//! with the empty user password. That is how a "restricted" document is made: it opens without
//! a password and carries permission flags, and a validator must read it to check its
//! signatures. kyso only decrypts; it never writes into an encrypted document (`PdfDoc::open`
//! refuses one), because an incremental update would have to be encrypted with the same key.

use crate::object::{get, Dict, Obj, Ref};
use crate::{PdfError, PdfResult};
use aes::cipher::{block_padding::NoPadding, block_padding::Pkcs7, BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use md5::{Digest as _, Md5};
use sha2::{Digest as _, Sha256, Sha384, Sha512};

/// The padding string of Algorithm 2 (§7.6.4.3.2).
const PAD: [u8; 32] = [
    0x28, 0xBF, 0x4E, 0x5E, 0x4E, 0x75, 0x8A, 0x41, 0x64, 0x00, 0x4E, 0x56, 0xFF, 0xFA, 0x01, 0x08, 0x2E, 0x2E, 0x00, 0xB6, 0xD0, 0x68,
    0x3E, 0x80, 0x2F, 0x0C, 0xA9, 0xFE, 0x64, 0x53, 0x69, 0x7A,
];

/// How strings or streams are encrypted (a crypt filter's /CFM).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Identity,
    Rc4,
    /// AES-CBC with the IV in the first 16 bytes; AESV2 (per-object key) or AESV3 (file key).
    Aes {
        per_object_key: bool,
    },
}

/// The file key and the methods of one encrypted document.
#[derive(Debug, Clone)]
pub struct Decryptor {
    key: Vec<u8>,
    strings: Method,
    streams: Method,
    encrypt_metadata: bool,
}

fn md5(parts: &[&[u8]]) -> [u8; 16] {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// RC4, written here because the handler's key length is known only at run time (40 to 128
/// bits), while the RustCrypto `rc4` crate fixes it in the type.
fn rc4(key: &[u8], data: &mut [u8]) {
    let mut s: [u8; 256] = std::array::from_fn(|i| i as u8);
    let mut j = 0u8;
    for i in 0..256 {
        j = j.wrapping_add(s[i]).wrapping_add(key[i % key.len()]);
        s.swap(i, j as usize);
    }
    let (mut i, mut j) = (0u8, 0u8);
    for b in data.iter_mut() {
        i = i.wrapping_add(1);
        j = j.wrapping_add(s[i as usize]);
        s.swap(i as usize, j as usize);
        *b ^= s[s[i as usize].wrapping_add(s[j as usize]) as usize];
    }
}

fn bad(what: &str) -> PdfError {
    PdfError::Malformed(format!("từ điển mã hóa /Encrypt: {what}"))
}

/// CBC decryption with cipher `C`, with PKCS#7 padding removed or kept.
fn cbc_decrypt<C>(key: &[u8], iv: &[u8], body: &[u8], padded: bool) -> Option<Vec<u8>>
where
    C: aes::cipher::BlockCipher + aes::cipher::BlockDecryptMut + aes::cipher::KeyInit,
{
    let d = cbc::Decryptor::<C>::new_from_slices(key, iv).ok()?;
    if padded {
        d.decrypt_padded_vec_mut::<Pkcs7>(body).ok()
    } else {
        d.decrypt_padded_vec_mut::<NoPadding>(body).ok()
    }
}

/// AES-CBC decryption of `data` (IV first). Strings and streams end with PKCS#7 padding; a
/// producer that got the padding wrong still gets its bytes, as other readers allow.
fn aes_decrypt(key: &[u8], data: &[u8]) -> PdfResult<Vec<u8>> {
    if data.is_empty() {
        return Ok(Vec::new());
    }
    if data.len() < 16 || !data.len().is_multiple_of(16) {
        return Err(PdfError::Malformed(format!("dữ liệu mã hóa AES dài {} byte, không phải bội của 16", data.len())));
    }
    let (iv, body) = data.split_at(16);
    let run = |padded: bool| -> Option<Vec<u8>> {
        match key.len() {
            16 => cbc_decrypt::<aes::Aes128>(key, iv, body, padded),
            32 => cbc_decrypt::<aes::Aes256>(key, iv, body, padded),
            _ => None,
        }
    };
    run(true).or_else(|| run(false)).ok_or_else(|| bad("khóa AES không hợp lệ"))
}

/// Algorithm 2.B (ISO 32000-2 §7.6.4.3.4): the hash of revision 6.
fn hash_2b(password: &[u8], salt: &[u8], udata: &[u8]) -> Vec<u8> {
    let mut k: Vec<u8> = Sha256::new().chain_update(password).chain_update(salt).chain_update(udata).finalize().to_vec();
    let mut round = 0u32;
    loop {
        let mut k1 = Vec::with_capacity(64 * (password.len() + k.len() + udata.len()));
        for _ in 0..64 {
            k1.extend_from_slice(password);
            k1.extend_from_slice(&k);
            k1.extend_from_slice(udata);
        }
        let e = cbc::Encryptor::<aes::Aes128>::new_from_slices(&k[..16], &k[16..32])
            .expect("16-byte key and IV")
            .encrypt_padded_vec_mut::<NoPadding>(&k1);
        let selector = e[..16].iter().map(|b| u32::from(*b)).sum::<u32>() % 3;
        k = match selector {
            0 => Sha256::digest(&e).to_vec(),
            1 => Sha384::digest(&e).to_vec(),
            _ => Sha512::digest(&e).to_vec(),
        };
        round += 1;
        if round >= 64 && u32::from(*e.last().expect("64 copies are never empty")) <= round - 32 {
            break;
        }
    }
    k.truncate(32);
    k
}

fn bytes<'d>(d: &'d Dict, key: &str) -> PdfResult<&'d [u8]> {
    match get(d, key) {
        Some(Obj::Str(s)) => Ok(s),
        _ => Err(bad(&format!("thiếu /{key}"))),
    }
}

impl Decryptor {
    /// The decryptor for `encrypt` (the resolved /Encrypt dictionary) and the first string of
    /// the trailer's /ID, with the empty user password. A document that needs a password to
    /// open is refused with `PdfError::PasswordRequired`.
    pub fn with_empty_password(encrypt: &Dict, id0: &[u8]) -> PdfResult<Self> {
        let filter = get(encrypt, "Filter").and_then(Obj::as_name).unwrap_or(b"");
        if filter != b"Standard" {
            return Err(PdfError::Unsupported(format!("bộ mã hóa /{} (chỉ hỗ trợ /Standard)", String::from_utf8_lossy(filter))));
        }
        let v = get(encrypt, "V").and_then(Obj::as_int).unwrap_or(0);
        let r = get(encrypt, "R").and_then(Obj::as_int).ok_or_else(|| bad("thiếu /R"))?;
        let o = bytes(encrypt, "O")?;
        let u = bytes(encrypt, "U")?;
        let p = get(encrypt, "P").and_then(Obj::as_int).ok_or_else(|| bad("thiếu /P"))? as i32;
        // /EncryptMetadata exists from V 4 on; before, metadata is always encrypted.
        let encrypt_metadata = v < 4 || !matches!(get(encrypt, "EncryptMetadata"), Some(Obj::Bool(false)));
        let (strings, streams) = match v {
            1 | 2 => (Method::Rc4, Method::Rc4),
            4 | 5 => {
                let cf = get(encrypt, "CF").and_then(Obj::as_dict);
                let method = |key: &str| -> PdfResult<Method> {
                    let name = get(encrypt, key).and_then(Obj::as_name).unwrap_or(b"Identity");
                    if name == b"Identity" {
                        return Ok(Method::Identity);
                    }
                    let filter = cf.and_then(|cf| get(cf, &String::from_utf8_lossy(name))).and_then(Obj::as_dict);
                    match filter.and_then(|f| get(f, "CFM")).and_then(Obj::as_name) {
                        Some(b"V2") => Ok(Method::Rc4),
                        Some(b"AESV2") => Ok(Method::Aes { per_object_key: true }),
                        Some(b"AESV3") => Ok(Method::Aes { per_object_key: false }),
                        Some(b"None") | None => Ok(Method::Identity),
                        Some(other) => Err(PdfError::Unsupported(format!("bộ lọc mã hóa /{}", String::from_utf8_lossy(other)))),
                    }
                };
                (method("StrF")?, method("StmF")?)
            }
            other => return Err(PdfError::Unsupported(format!("mã hóa PDF phiên bản /V {other}"))),
        };
        let key = match r {
            2..=4 => {
                // Key length in bytes: 40 bits for V 1 and R 2; /Length (default 40, ISO 32000-2
                // §7.6.2 Table 20) for V 2 and 3; 128 bits for V 4 unless /Length says otherwise.
                let bits = match v {
                    1 => 40,
                    4 => get(encrypt, "Length").and_then(Obj::as_int).unwrap_or(128),
                    _ => get(encrypt, "Length").and_then(Obj::as_int).unwrap_or(40),
                };
                let n = if r == 2 { 5 } else { (bits / 8).clamp(5, 16) as usize };
                if o.len() < 32 || u.len() < 32 {
                    return Err(bad("/O hoặc /U ngắn hơn 32 byte"));
                }
                let metadata: &[u8] = if r >= 4 && !encrypt_metadata { &[0xFF; 4] } else { &[] };
                let mut hash = md5(&[&PAD, &o[..32], &p.to_le_bytes(), id0, metadata]);
                if r >= 3 {
                    for _ in 0..50 {
                        hash = md5(&[&hash[..n]]);
                    }
                }
                let key = hash[..n].to_vec();
                // Algorithms 4 and 5: the empty password is the user password when /U matches.
                let matches = if r == 2 {
                    let mut check = PAD;
                    rc4(&key, &mut check);
                    check[..] == u[..32]
                } else {
                    let mut check = md5(&[&PAD, id0]);
                    rc4(&key, &mut check);
                    for i in 1..=19u8 {
                        let k: Vec<u8> = key.iter().map(|b| b ^ i).collect();
                        rc4(&k, &mut check);
                    }
                    check[..] == u[..16]
                };
                if !matches {
                    return Err(PdfError::PasswordRequired);
                }
                key
            }
            5 | 6 => {
                let ue = bytes(encrypt, "UE")?;
                if u.len() < 48 || ue.len() < 32 {
                    return Err(bad("/U ngắn hơn 48 byte hoặc /UE ngắn hơn 32 byte"));
                }
                let hash = |salt: &[u8]| -> Vec<u8> {
                    if r == 6 {
                        hash_2b(b"", salt, b"")
                    } else {
                        Sha256::digest(salt).to_vec()
                    }
                };
                if hash(&u[32..40]) != u[..32] {
                    return Err(PdfError::PasswordRequired);
                }
                let intermediate = hash(&u[40..48]);
                cbc::Decryptor::<aes::Aes256>::new_from_slices(&intermediate, &[0u8; 16])
                    .expect("32-byte key")
                    .decrypt_padded_vec_mut::<NoPadding>(&ue[..32])
                    .map_err(|_| bad("/UE không giải mã được"))?
            }
            other => return Err(PdfError::Unsupported(format!("mã hóa PDF bản sửa đổi /R {other}"))),
        };
        Ok(Decryptor { key, strings, streams, encrypt_metadata })
    }

    /// The key of one object (Algorithm 1), or the file key for AESV3.
    fn object_key(&self, r: Ref, method: Method) -> Vec<u8> {
        if method == (Method::Aes { per_object_key: false }) {
            return self.key.clone();
        }
        let num = r.0.to_le_bytes();
        let gen = r.1.to_le_bytes();
        let salt: &[u8] = if matches!(method, Method::Aes { .. }) { b"sAlT" } else { b"" };
        let hash = md5(&[&self.key, &num[..3], &gen[..2], salt]);
        hash[..(self.key.len() + 5).min(16)].to_vec()
    }

    fn decrypt(&self, r: Ref, method: Method, data: &[u8]) -> PdfResult<Vec<u8>> {
        match method {
            Method::Identity => Ok(data.to_vec()),
            Method::Rc4 => {
                let mut out = data.to_vec();
                rc4(&self.object_key(r, method), &mut out);
                Ok(out)
            }
            Method::Aes { .. } => aes_decrypt(&self.object_key(r, method), data),
        }
    }

    /// Object `r` as read from the file, decrypted: its strings and, for a stream, its bytes.
    /// Left as they are, as the standard says: cross-reference streams, metadata streams when
    /// /EncryptMetadata is false, streams with their own /Crypt filter (only /Identity exists in
    /// practice), and the /Contents of a signature dictionary (ISO 32000-2 §7.6.2), which must
    /// be readable without the key to be checked.
    pub fn object(&self, r: Ref, obj: Obj) -> PdfResult<Obj> {
        match obj {
            // A cross-reference stream is never encrypted, its dictionary included.
            Obj::Stream(d, data) if get(&d, "Type").and_then(Obj::as_name) == Some(b"XRef") => Ok(Obj::Stream(d, data)),
            Obj::Stream(d, data) => {
                let kind = get(&d, "Type").and_then(Obj::as_name);
                let own_filter = match get(&d, "Filter") {
                    Some(Obj::Name(n)) => n == b"Crypt",
                    Some(Obj::Array(a)) => a.iter().any(|f| f.as_name() == Some(b"Crypt")),
                    _ => false,
                };
                let plain = (kind == Some(b"Metadata") && !self.encrypt_metadata) || own_filter;
                let d = self.dict(r, d, 0)?;
                let data = if plain || data.is_empty() { data } else { self.decrypt(r, self.streams, &data)? };
                Ok(Obj::Stream(d, data))
            }
            other => self.value(r, other, 0),
        }
    }

    fn dict(&self, r: Ref, d: Dict, depth: usize) -> PdfResult<Dict> {
        let signature = d.contains_key(b"ByteRange".as_slice());
        d.into_iter().map(|(k, v)| if signature && k == b"Contents" { Ok((k, v)) } else { Ok((k, self.value(r, v, depth + 1)?)) }).collect()
    }

    fn value(&self, r: Ref, o: Obj, depth: usize) -> PdfResult<Obj> {
        // The lexer already bounds nesting; this is a second guard for hand-built objects.
        if depth > 256 {
            return Err(PdfError::Limit("đối tượng lồng nhau quá sâu".into()));
        }
        Ok(match o {
            Obj::Str(s) => Obj::Str(self.decrypt(r, self.strings, &s)?),
            Obj::Array(a) => Obj::Array(a.into_iter().map(|x| self.value(r, x, depth + 1)).collect::<PdfResult<_>>()?),
            Obj::Dict(d) => Obj::Dict(self.dict(r, d, depth)?),
            other => other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rc4_matches_the_published_test_vector() {
        // RFC 6229 does not give this one; it is the classic "Key"/"Plaintext" pair.
        let mut data = *b"Plaintext";
        rc4(b"Key", &mut data);
        assert_eq!(hex::encode(data), "bbf316e8d940af0ad3");
    }
}
