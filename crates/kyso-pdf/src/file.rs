//! PDFs on disk, for files too large to hold twice. The file is mapped for parsing (only the
//! pages holding the cross-reference sections and the few objects a signer needs are ever
//! read), hashed with ordinary reads, and copied to the output in the kernel; the update is
//! appended and the result renamed into place, so a failure leaves no half-written output and
//! the input is never modified.

use crate::sign::{self, FieldSpec};
use crate::{cms_signature, Level, PdfError, PdfResult, SignerInfo, Tsa};
use kyso_token::HashAlg;
use std::fs::File;
use std::io::Write;
use std::path::Path;

/// A read-only view of a file's bytes.
pub struct Mapped {
    map: Option<memmap2::Mmap>,
}

fn io_err(what: &str, p: &Path, e: std::io::Error) -> PdfError {
    PdfError::Invalid(format!("{what} {}: {e}", p.display()))
}

/// Opens `path` for reading if it is a regular file. A FIFO, a device or a directory is refused
/// before it is opened: opening a FIFO blocks until someone writes to it.
pub fn open_regular(path: &Path) -> std::io::Result<File> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "không phải tệp thông thường (có thể là thư mục, ống dẫn FIFO hay thiết bị); chỉ nhận tệp",
        ));
    }
    File::open(path)
}

/// Reads a regular file whole (see [`open_regular`]).
pub fn read_regular(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut f = open_regular(path)?;
    let mut v = Vec::new();
    std::io::Read::read_to_end(&mut f, &mut v)?;
    Ok(v)
}

impl Mapped {
    pub fn open(path: &Path) -> PdfResult<Self> {
        let f = open_regular(path).map_err(|e| io_err("không mở được", path, e))?;
        let len = f.metadata().map_err(|e| io_err("không đọc được", path, e))?.len();
        if len == 0 {
            return Ok(Mapped { map: None });
        }
        Ok(Mapped { map: Some(map_readonly(&f).map_err(|e| io_err("không đọc được", path, e))?) })
    }
    pub fn bytes(&self) -> &[u8] {
        self.map.as_deref().unwrap_or_default()
    }
}

#[allow(unsafe_code)]
fn map_readonly(f: &File) -> std::io::Result<memmap2::Mmap> {
    // SAFETY: the mapping is read-only and private to this process. kyso never writes to a
    // file it has mapped: signed output goes to a new file that is renamed into place, and
    // the file store never rewrites a version. Another process truncating the file meanwhile
    // could raise SIGBUS (a crash, not wrong data); the input would still be untouched.
    unsafe { memmap2::Mmap::map(f) }
}

/// Signs `input` into `output` (PAdES B-B or B-T), streaming: memory stays small whatever the
/// file's size. `output` must differ from `input`.
pub fn sign_file(input: &Path, output: &Path, spec: &FieldSpec, who: &SignerInfo<'_>, level: Level, tsa: Option<Tsa<'_>>) -> PdfResult<()> {
    let mapped = Mapped::open(input)?;
    let prepared = sign::prepare(mapped.bytes(), spec)?;
    let mut f = File::open(input).map_err(|e| io_err("không mở được", input, e))?;
    let digest = prepared.digest_from(&mut f, HashAlg::Sha256)?;
    let cms = cms_signature(digest, who, level, tsa)?;
    let base_len = prepared.base_len;
    let update = prepared.finish_update(&cms)?;
    write_appended(input, base_len, &update, output)
}

/// Writes `input` (which must still be `base_len` bytes) followed by `update` to `output`,
/// through a temporary file renamed into place.
pub fn write_appended(input: &Path, base_len: usize, update: &[u8], output: &Path) -> PdfResult<()> {
    let dir = output.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = output.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.kyso-tmp"));
    let result = (|| {
        let mut src = File::open(input).map_err(|e| io_err("không mở được", input, e))?;
        let mut out = File::create(&tmp).map_err(|e| io_err("không tạo được", &tmp, e))?;
        let copied = std::io::copy(&mut src, &mut out).map_err(|e| io_err("không chép được", input, e))?;
        if copied != base_len as u64 {
            return Err(PdfError::Invalid("tệp gốc đã thay đổi trong khi ký; hãy ký lại".into()));
        }
        out.write_all(update).map_err(|e| io_err("không ghi được", &tmp, e))?;
        out.sync_all().map_err(|e| io_err("không ghi được", &tmp, e))?;
        std::fs::rename(&tmp, output).map_err(|e| io_err("không ghi được", output, e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
