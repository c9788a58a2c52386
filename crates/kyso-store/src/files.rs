//! The file store: each document's current file, named by document and version. A new
//! version is written to a temporary file, synced and renamed into place before the database
//! records it, so a crash leaves at worst an orphan file, never a half-written one. Files are
//! streamed, never read whole.

use crate::db::{StoreError, StoreResult};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

pub struct FileStore {
    root: PathBuf,
}

fn io(what: &str, p: &Path, e: std::io::Error) -> StoreError {
    StoreError::Files(format!("{what} {}: {e}", p.display()))
}

impl FileStore {
    pub fn open(root: &Path) -> StoreResult<Self> {
        std::fs::create_dir_all(root).map_err(|e| io("không tạo được thư mục", root, e))?;
        Ok(FileStore { root: root.to_path_buf() })
    }

    pub fn path(&self, document: i64, version: i64) -> PathBuf {
        self.root.join(document.to_string()).join(format!("{version}.pdf"))
    }

    pub fn open_file(&self, document: i64, version: i64) -> StoreResult<File> {
        let p = self.path(document, version);
        File::open(&p).map_err(|e| io("không mở được", &p, e))
    }

    /// Writes version `version` of `document` from `parts` read in order, and returns its
    /// SHA-256 (hex) and size.
    pub fn write(&self, document: i64, version: i64, parts: &mut [&mut dyn Read]) -> StoreResult<(String, u64)> {
        let target = self.path(document, version);
        let dir = target.parent().expect("has a parent");
        std::fs::create_dir_all(dir).map_err(|e| io("không tạo được thư mục", dir, e))?;
        let tmp = dir.join(format!(".{version}.pdf.tmp"));
        let mut out = File::create(&tmp).map_err(|e| io("không tạo được", &tmp, e))?;
        let mut h = Sha256::new();
        let mut size = 0u64;
        let mut buf = vec![0u8; 1 << 20];
        for part in parts.iter_mut() {
            loop {
                let n = match part.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(io("không đọc được nguồn của", &target, e)),
                };
                h.update(&buf[..n]);
                out.write_all(&buf[..n]).map_err(|e| io("không ghi được", &tmp, e))?;
                size += n as u64;
            }
        }
        out.sync_all().map_err(|e| io("không ghi được", &tmp, e))?;
        std::fs::rename(&tmp, &target).map_err(|e| io("không đổi tên được", &tmp, e))?;
        Ok((hex::encode(h.finalize()), size))
    }

    /// Writes version `to` as version `from` followed by `update`.
    pub fn append(&self, document: i64, from: i64, to: i64, update: &[u8]) -> StoreResult<(String, u64)> {
        let mut base = self.open_file(document, from)?;
        let mut tail = update;
        self.write(document, to, &mut [&mut base, &mut tail])
    }

    /// Keeps a received document (registered in the incoming register as `id`).
    pub fn write_incoming(&self, id: i64, src: &mut dyn Read) -> StoreResult<(String, u64)> {
        // Incoming documents live beside the drafts, under a negative "document" number.
        self.write(-id, 0, &mut [src])
    }

    pub fn incoming_path(&self, id: i64) -> PathBuf {
        self.path(-id, 0)
    }

    /// Stores a small named asset (a handwritten-signature image, a seal image).
    pub fn put_asset(&self, name: &str, bytes: &[u8]) -> StoreResult<()> {
        let dir = self.root.join("assets");
        std::fs::create_dir_all(&dir).map_err(|e| io("không tạo được thư mục", &dir, e))?;
        let tmp = dir.join(format!(".{name}.tmp"));
        let mut f = File::create(&tmp).map_err(|e| io("không tạo được", &tmp, e))?;
        f.write_all(bytes).and_then(|_| f.sync_all()).map_err(|e| io("không ghi được", &tmp, e))?;
        std::fs::rename(&tmp, dir.join(name)).map_err(|e| io("không ghi được", &tmp, e))
    }

    /// A named asset, or None when it was never stored.
    pub fn asset(&self, name: &str) -> StoreResult<Option<Vec<u8>>> {
        let p = self.root.join("assets").join(name);
        match std::fs::read(&p) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io("không đọc được", &p, e)),
        }
    }

    /// Removes an old version (after the database recorded the new one).
    pub fn remove(&self, document: i64, version: i64) {
        // A leftover old version is harmless; the database names the current one.
        let _ = std::fs::remove_file(self.path(document, version));
    }
}
