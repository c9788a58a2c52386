//! `kyso backup` and `kyso restore` (issue 11, finding 12): how a province survives a lost
//! disk. A backup is one file: a consistent snapshot of the database (SQLite `VACUUM INTO`,
//! taken while the server runs; `pg_dump` for PostgreSQL), the configuration, the sealing key,
//! the sealed software tokens and the document files, encrypted under a passphrase (Argon2id,
//! then AES-256-GCM in 1 MiB chunks, each bound to its place and the last one marked, so that
//! a reordered, altered or cut file is refused). A restore goes into an empty data directory
//! (and, for PostgreSQL, an empty database).

use crate::cli::Cli;
use crate::deployment::{env, open_service};
use crate::error::{env_err, CliError, CliResult};
use base64::{engine::general_purpose::STANDARD as B64, Engine};
use chrono::{DateTime, Utc};
use kyso_token::soft::Kdf;
use kyso_token::{Pin, Zeroizing};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const MAGIC: &[u8; 8] = b"KYSOBAK1";
const CHUNK: usize = 1 << 20;
/// The top-level entries a backup takes from the data directory, besides the database.
const ENTRIES: &[&str] = &["kyso.toml", "kyso.key", "tokens", "files"];

#[derive(serde::Serialize, serde::Deserialize)]
struct Envelope {
    kdf: Kdf,
    salt: String,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Manifest {
    format: String,
    created_at: DateTime<Utc>,
    /// "sqlite" (entry `kyso.db`) or "postgres" (entry `postgres.dump`, pg_dump's custom format).
    database: String,
    entries: Vec<(String, u64)>,
}

fn io(what: &str, p: &Path, e: std::io::Error) -> CliError {
    env_err(format!("{what} {}: {e}", p.display()))
}

fn passphrase(confirm: bool) -> CliResult<Pin> {
    let p = crate::tokens::pin("KYSO_BACKUP_PASSPHRASE", "Mật khẩu của bản sao lưu")?;
    if confirm && p.expose().chars().count() < 12 {
        return Err(kyso_core::DomainError::invalid("passphrase", "mật khẩu của bản sao lưu phải có ít nhất 12 ký tự").into());
    }
    Ok(p)
}

/// Writes the plain stream in sealed chunks.
struct Sealer<W: Write> {
    out: W,
    key: Zeroizing<[u8; 32]>,
    buf: Vec<u8>,
    index: u64,
}

fn chunk_aad(index: u64, last: bool) -> Vec<u8> {
    format!("kyso-backup/1/{index}/{}", u8::from(last)).into_bytes()
}

impl<W: Write> Sealer<W> {
    fn put(&mut self, mut data: &[u8]) -> CliResult<()> {
        while !data.is_empty() {
            let take = (CHUNK - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.buf.len() == CHUNK {
                self.emit(false)?;
            }
        }
        Ok(())
    }
    fn emit(&mut self, last: bool) -> CliResult<()> {
        let sealed = kyso_token::soft::seal(&self.key, &chunk_aad(self.index, last), &self.buf).map_err(crate::tokens::token_err)?;
        self.out.write_all(&(sealed.len() as u32).to_be_bytes()).map_err(|e| env_err(e.to_string()))?;
        self.out.write_all(sealed.as_bytes()).map_err(|e| env_err(e.to_string()))?;
        self.buf.clear();
        self.index += 1;
        Ok(())
    }
    fn finish(mut self) -> CliResult<W> {
        self.emit(true)?;
        Ok(self.out)
    }
}

/// Reads the plain stream back, refusing a wrong passphrase, an altered chunk or a cut file.
struct Opener<R: Read> {
    input: R,
    key: Zeroizing<[u8; 32]>,
    plain: Vec<u8>,
    at: usize,
    index: u64,
    done: bool,
}

impl<R: Read> Read for Opener<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.plain.len() {
            if self.done {
                return Ok(0);
            }
            let mut len = [0u8; 4];
            self.input.read_exact(&mut len).map_err(|_| std::io::Error::other("bản sao lưu bị cắt cụt (thiếu phần cuối)"))?;
            let len = u32::from_be_bytes(len) as usize;
            if len > 2 * CHUNK + 1024 {
                return Err(std::io::Error::other("bản sao lưu hỏng (độ dài khối không hợp lệ)"));
            }
            let mut sealed = vec![0u8; len];
            self.input.read_exact(&mut sealed).map_err(|_| std::io::Error::other("bản sao lưu bị cắt cụt"))?;
            let sealed = String::from_utf8(sealed).map_err(|_| std::io::Error::other("bản sao lưu hỏng"))?;
            let (plain, last) = match kyso_token::soft::open(&self.key, &chunk_aad(self.index, false), &sealed) {
                Some(p) => (p, false),
                None => match kyso_token::soft::open(&self.key, &chunk_aad(self.index, true), &sealed) {
                    Some(p) => (p, true),
                    None => return Err(std::io::Error::other("sai mật khẩu, hoặc bản sao lưu đã bị sửa")),
                },
            };
            self.plain = plain.to_vec();
            self.at = 0;
            self.index += 1;
            self.done = last;
        }
        let n = out.len().min(self.plain.len() - self.at);
        out[..n].copy_from_slice(&self.plain[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Every file under `rel` in `root`, as paths relative to `root`.
fn files_under(root: &Path, rel: &Path, out: &mut Vec<PathBuf>) -> CliResult<()> {
    let p = root.join(rel);
    let meta = match std::fs::symlink_metadata(&p) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io("không đọc được", &p, e)),
    };
    if meta.is_dir() {
        let mut names: Vec<_> = std::fs::read_dir(&p).map_err(|e| io("không đọc được", &p, e))?.flatten().map(|e| e.file_name()).collect();
        names.sort();
        for n in names {
            files_under(root, &rel.join(n), out)?;
        }
    } else if meta.is_file() {
        out.push(rel.to_path_buf());
    }
    Ok(())
}

pub fn backup(cli: &Cli, out: &Path, now: DateTime<Utc>) -> CliResult<ExitCode> {
    let e = env(cli)?;
    let svc = open_service(cli)?;
    let actor = svc.local_operator(&cli.actor)?;
    let pass = passphrase(true)?;
    let is_pg = e.db_url.starts_with("postgres");
    // The right first, recorded in the log the backup then carries.
    svc.record_backup(&actor, serde_json::json!({"file": out.file_name().map(|n| n.to_string_lossy().into_owned())}), now)?;
    let scratch = tempfile::Builder::new()
        .prefix(".kyso-backup")
        .tempdir_in(out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")))
        .map_err(|e| env_err(format!("không tạo được thư mục tạm cạnh {}: {e}", out.display())))?;
    let (db_entry, db_file) = if is_pg {
        let f = scratch.path().join("postgres.dump");
        let (mut c, url) = pg_command("pg_dump", &e.db_url);
        let st = c
            .args(["--format=custom", "--no-owner", "--file"])
            .arg(&f)
            .arg(&url)
            .status()
            .map_err(|err| env_err(format!("không chạy được pg_dump (cài gói postgresql-client cùng phiên bản máy chủ): {err}")))?;
        if !st.success() {
            return Err(env_err("pg_dump thất bại; xem thông báo ở trên"));
        }
        ("postgres.dump", f)
    } else {
        let f = scratch.path().join("kyso.db");
        svc.snapshot_database(&actor, &f)?;
        ("kyso.db", f)
    };
    let mut rels = Vec::new();
    for name in ENTRIES {
        files_under(&cli.data, Path::new(name), &mut rels)?;
    }
    let mut entries = vec![(db_entry.to_string(), std::fs::metadata(&db_file).map_err(|e| io("không đọc được", &db_file, e))?.len())];
    for r in &rels {
        let p = cli.data.join(r);
        entries.push((r.to_string_lossy().into_owned(), std::fs::metadata(&p).map_err(|e| io("không đọc được", &p, e))?.len()));
    }
    let manifest =
        Manifest { format: "kyso-backup/1".into(), created_at: now, database: if is_pg { "postgres" } else { "sqlite" }.into(), entries };
    // The envelope, then the sealed stream: manifest length, manifest, each entry's bytes.
    let kdf = Kdf::STANDARD;
    let mut salt = [0u8; 16];
    kyso_token::random_bytes(&mut salt);
    let key = kdf.derive(&pass, &salt).map_err(crate::tokens::token_err)?;
    let partial = out.with_extension("partial");
    let f = std::fs::File::create(&partial).map_err(|e| io("không tạo được", &partial, e))?;
    let mut w = std::io::BufWriter::new(f);
    let env_json = serde_json::to_vec(&Envelope { kdf, salt: B64.encode(salt) }).expect("serialisable");
    w.write_all(MAGIC)
        .and_then(|_| w.write_all(&(env_json.len() as u32).to_be_bytes()))
        .and_then(|_| w.write_all(&env_json))
        .map_err(|e| io("không ghi được", &partial, e))?;
    let mut s = Sealer { out: w, key, buf: Vec::with_capacity(CHUNK), index: 0 };
    let man = serde_json::to_vec(&manifest).expect("serialisable");
    s.put(&(man.len() as u32).to_be_bytes())?;
    s.put(&man)?;
    let sources = std::iter::once(db_file.clone()).chain(rels.iter().map(|r| cli.data.join(r)));
    for (path, (name, size)) in sources.zip(&manifest.entries) {
        let mut f = std::fs::File::open(&path).map_err(|e| io("không đọc được", &path, e))?;
        let mut left = *size;
        let mut buf = vec![0u8; 64 * 1024];
        while left > 0 {
            let n = f.read(&mut buf[..(left.min(64 * 1024)) as usize]).map_err(|e| io("không đọc được", &path, e))?;
            if n == 0 {
                return Err(env_err(format!("{name} ngắn đi trong khi sao lưu; hãy chạy lại")));
            }
            s.put(&buf[..n])?;
            left -= n as u64;
        }
    }
    let mut w = s.finish()?;
    w.flush().map_err(|e| io("không ghi được", &partial, e))?;
    w.into_inner().map_err(|e| env_err(e.to_string()))?.sync_all().map_err(|e| io("không ghi được", &partial, e))?;
    std::fs::rename(&partial, out).map_err(|e| io("không đổi tên được", &partial, e))?;
    let n = manifest.entries.len();
    if cli.json {
        crate::output::json(&serde_json::json!({"file": out, "entries": n, "database": manifest.database}));
    } else {
        println!(
            "Đã sao lưu hệ thống ra {} ({n} tệp, cơ sở dữ liệu {}). Giữ mật khẩu riêng, cất bản sao lưu ngoài máy chủ.",
            out.display(),
            manifest.database
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The Argon2id cost a backup may ask for: more would only be a hostile file's way to exhaust
/// memory or time once the passphrase is typed.
fn kdf_within_bounds(k: Kdf) -> bool {
    match k {
        Kdf::Argon2id { m_kib, t, p } => (8..=1 << 20).contains(&m_kib) && (1..=10).contains(&t) && (1..=8).contains(&p),
        Kdf::Pbkdf2Sha256 { iterations } => (1..=10_000_000).contains(&iterations),
    }
}

/// A PostgreSQL URL without its password, and the password, for `PGPASSWORD`: a command line
/// is visible to every user of the machine.
fn without_password(url: &str) -> (String, Option<String>) {
    let Some((scheme, rest)) = url.split_once("://") else { return (url.to_string(), None) };
    let (auth, host) = match rest.split_once('@') {
        Some(x) => x,
        None => return (url.to_string(), None),
    };
    match auth.split_once(':') {
        Some((user, pass)) => (format!("{scheme}://{user}@{host}"), Some(pass.to_string())),
        None => (url.to_string(), None),
    }
}

fn pg_command(tool: &str, url: &str) -> (std::process::Command, String) {
    let (url, pass) = without_password(url);
    let mut c = std::process::Command::new(tool);
    if let Some(p) = pass {
        c.env("PGPASSWORD", p);
    }
    (c, url)
}

pub fn restore(cli: &Cli, file: &Path) -> CliResult<ExitCode> {
    // Only into a directory that holds nothing, and that is the owner's alone.
    if cli.data.exists() {
        let busy = std::fs::read_dir(&cli.data).map_err(|e| io("không đọc được", &cli.data, e))?.next().is_some();
        if busy {
            return Err(env_err(format!("{} không trống; khôi phục vào một thư mục dữ liệu trống (hoặc chưa có)", cli.data.display())));
        }
    }
    let mut f = std::io::BufReader::new(kyso_pdf::file::open_regular(file).map_err(|e| io("không đọc được", file, e))?);
    let mut magic = [0u8; 8];
    let mut len = [0u8; 4];
    f.read_exact(&mut magic).map_err(|_| env_err(format!("{} không phải bản sao lưu của kyso", file.display())))?;
    if &magic != MAGIC {
        return Err(kyso_core::DomainError::invalid("file", format!("{} không phải bản sao lưu của kyso", file.display())).into());
    }
    f.read_exact(&mut len).map_err(|_| env_err("bản sao lưu hỏng"))?;
    let mut env_json = vec![0u8; (u32::from_be_bytes(len) as usize).min(4096)];
    f.read_exact(&mut env_json).map_err(|_| env_err("bản sao lưu hỏng"))?;
    let envelope: Envelope = serde_json::from_slice(&env_json).map_err(|e| env_err(format!("bản sao lưu hỏng: {e}")))?;
    if !kdf_within_bounds(envelope.kdf) {
        return Err(kyso_core::DomainError::invalid("file", "bản sao lưu đòi tham số giải mã quá lớn; tệp không do kyso tạo").into());
    }
    let salt = B64.decode(&envelope.salt).map_err(|_| env_err("bản sao lưu hỏng"))?;
    // For PostgreSQL, the target database is checked before anything is written.
    let db_url = env(cli)?.db_url;
    let pass = passphrase(false)?;
    let key = envelope.kdf.derive(&pass, &salt).map_err(crate::tokens::token_err)?;
    let mut r = Opener { input: f, key, plain: Vec::new(), at: 0, index: 0, done: false };
    let read_err = |e: std::io::Error| kyso_core::DomainError::invalid("file", e.to_string());
    r.read_exact(&mut len).map_err(read_err)?;
    let mut man = vec![0u8; (u32::from_be_bytes(len) as usize).min(64 << 20)];
    r.read_exact(&mut man).map_err(read_err)?;
    let manifest: Manifest = serde_json::from_slice(&man).map_err(|e| env_err(format!("bản sao lưu hỏng: {e}")))?;
    let mut names = std::collections::HashSet::new();
    for (name, _) in &manifest.entries {
        let rel = Path::new(name);
        if rel.is_absolute() || rel.components().any(|c| !matches!(c, std::path::Component::Normal(_))) || !names.insert(name.as_str()) {
            return Err(env_err(format!("bản sao lưu có đường dẫn không hợp lệ hoặc lặp lại '{name}'")));
        }
    }
    let is_pg = manifest.database == "postgres";
    if is_pg {
        if !db_url.starts_with("postgres") {
            return Err(env_err("bản sao lưu là của PostgreSQL: chỉ rõ cơ sở dữ liệu trống để khôi phục vào (--db postgres://…)"));
        }
        if kyso_service::Service::is_initialised(&kyso_store::Db::open(&db_url)?)? {
            return Err(env_err(format!(
                "cơ sở dữ liệu {} đã có dữ liệu; khôi phục vào một cơ sở dữ liệu trống",
                without_password(&db_url).0
            )));
        }
    }
    // Everything goes into a fresh 0700 directory beside the target, renamed into place at the
    // end: a refusal half-way leaves the target as it was, and no file is opened through a
    // link someone planted.
    let parent = cli.data.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| io("không tạo được", parent, e))?;
    let staging = tempfile::Builder::new()
        .prefix(".kyso-restore")
        .tempdir_in(parent)
        .map_err(|e| io("không tạo được thư mục tạm trong", parent, e))?;
    let mut pg_dump = None;
    for (name, size) in &manifest.entries {
        let target = if name == "postgres.dump" { staging.path().join(".postgres.dump") } else { staging.path().join(name) };
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir).map_err(|e| io("không tạo được", dir, e))?;
        }
        let mut out =
            std::fs::OpenOptions::new().write(true).create_new(true).open(&target).map_err(|e| io("không ghi được", &target, e))?;
        let copied = std::io::copy(&mut (&mut r).take(*size), &mut out).map_err(read_err)?;
        if copied != *size {
            return Err(env_err(format!("bản sao lưu bị cắt cụt ở {name}")));
        }
        if name == "postgres.dump" {
            pg_dump = Some(target);
        }
    }
    // The stream ends where the manifest says, and the file where the stream does.
    let mut rest = Vec::new();
    r.read_to_end(&mut rest).map_err(read_err)?;
    let mut tail = [0u8; 1];
    if !rest.is_empty() || r.input.read(&mut tail).map_err(|e| io("không đọc được", file, e))? != 0 {
        return Err(kyso_core::DomainError::invalid("file", "bản sao lưu có dữ liệu thừa sau phần cuối; tệp đã bị sửa").into());
    }
    if let Some(dump) = &pg_dump {
        let (mut c, url) = pg_command("pg_restore", &db_url);
        let st = c
            .args(["--no-owner", "--clean", "--if-exists", "--dbname"])
            .arg(&url)
            .arg(dump)
            .status()
            .map_err(|e| env_err(format!("không chạy được pg_restore: {e}")))?;
        if !st.success() {
            return Err(env_err("pg_restore thất bại; xem thông báo ở trên"));
        }
        let _ = std::fs::remove_file(dump);
    }
    let staged = staging.keep();
    if cli.data.exists() {
        std::fs::remove_dir(&cli.data).map_err(|e| io("không thay được thư mục trống", &cli.data, e))?;
    }
    std::fs::rename(&staged, &cli.data).map_err(|e| io("không đưa được dữ liệu khôi phục vào", &cli.data, e))?;
    if cli.json {
        crate::output::json(
            &serde_json::json!({"restored": manifest.entries.len(), "created_at": manifest.created_at, "database": manifest.database}),
        );
    } else {
        println!(
            "Đã khôi phục {} tệp từ bản sao lưu lúc {} vào {}; chạy 'kyso audit verify' để kiểm tra.",
            manifest.entries.len(),
            kyso_pdf::decree30::iso_time(manifest.created_at),
            cli.data.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
