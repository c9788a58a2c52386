//! The connection, transactions, and a small value/row layer so that each query is written
//! once for both dialects. SQL uses `$1`-style placeholders; for SQLite they become `?1`.

use std::collections::HashMap;
use std::error::Error as StdError;
use std::sync::Mutex;

/// A storage failure. Constraint violations are told apart so that the service can say
/// "already exists" instead of "database error".
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("vi phạm ràng buộc dữ liệu: {0}")]
    Constraint(String),
    #[error("lỗi cơ sở dữ liệu: {0}")]
    Database(String),
    #[error("dữ liệu lưu trữ không đọc được: {0}")]
    Corrupt(String),
    #[error("lỗi giả lập để kiểm thử (fault injection) ở câu lệnh thứ {0}")]
    InjectedFault(usize),
    #[error("lỗi kho tệp: {0}")]
    Files(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match &e {
            rusqlite::Error::SqliteFailure(f, msg) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
                StoreError::Constraint(msg.clone().unwrap_or_else(|| e.to_string()))
            }
            _ => StoreError::Database(e.to_string()),
        }
    }
}

impl From<postgres::Error> for StoreError {
    fn from(e: postgres::Error) -> Self {
        match e.code() {
            Some(c) if c.code().starts_with("23") => {
                StoreError::Constraint(e.as_db_error().map(|d| d.message().to_string()).unwrap_or_else(|| e.to_string()))
            }
            _ => StoreError::Database(e.as_db_error().map(|d| d.to_string()).unwrap_or_else(|| e.to_string())),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A parameter or column value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
    Bool(bool),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map(Into::into).unwrap_or(Value::Null)
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, Value as V};
        Ok(match self {
            Value::Null => ToSqlOutput::Owned(V::Null),
            Value::Int(i) => ToSqlOutput::Owned(V::Integer(*i)),
            Value::Text(s) => ToSqlOutput::Borrowed(rusqlite::types::ValueRef::Text(s.as_bytes())),
            Value::Bool(b) => ToSqlOutput::Owned(V::Integer(i64::from(*b))),
        })
    }
}

impl postgres::types::ToSql for Value {
    fn to_sql(
        &self,
        ty: &postgres::types::Type,
        out: &mut bytes::BytesMut,
    ) -> Result<postgres::types::IsNull, Box<dyn StdError + Sync + Send>> {
        use postgres::types::{IsNull, Type};
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(i) if *ty == Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
            Value::Int(i) if *ty == Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
            Value::Int(i) => i.to_sql(ty, out),
            Value::Text(s) => s.as_str().to_sql(ty, out),
            Value::Bool(b) => b.to_sql(ty, out),
        }
    }
    fn accepts(_ty: &postgres::types::Type) -> bool {
        true
    }
    postgres::types::to_sql_checked!();
}

/// One result row, read by column position.
#[derive(Debug, Clone)]
pub struct Row(pub Vec<Value>);

impl Row {
    fn at(&self, i: usize) -> StoreResult<&Value> {
        self.0.get(i).ok_or_else(|| StoreError::Corrupt(format!("column {i} missing")))
    }
    pub fn int(&self, i: usize) -> StoreResult<i64> {
        match self.at(i)? {
            Value::Int(v) => Ok(*v),
            Value::Bool(b) => Ok(i64::from(*b)),
            v => Err(StoreError::Corrupt(format!("column {i}: expected an integer, found {v:?}"))),
        }
    }
    pub fn opt_int(&self, i: usize) -> StoreResult<Option<i64>> {
        match self.at(i)? {
            Value::Null => Ok(None),
            _ => self.int(i).map(Some),
        }
    }
    pub fn text(&self, i: usize) -> StoreResult<String> {
        match self.at(i)? {
            Value::Text(s) => Ok(s.clone()),
            v => Err(StoreError::Corrupt(format!("column {i}: expected text, found {v:?}"))),
        }
    }
    pub fn opt_text(&self, i: usize) -> StoreResult<Option<String>> {
        match self.at(i)? {
            Value::Null => Ok(None),
            _ => self.text(i).map(Some),
        }
    }
    pub fn bool(&self, i: usize) -> StoreResult<bool> {
        match self.at(i)? {
            Value::Bool(b) => Ok(*b),
            Value::Int(v) => Ok(*v != 0),
            v => Err(StoreError::Corrupt(format!("column {i}: expected a boolean, found {v:?}"))),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

struct PgConn {
    client: postgres::Client,
    statements: HashMap<String, postgres::Statement>,
}

enum Backend {
    Sqlite(Mutex<rusqlite::Connection>),
    Postgres(Box<Mutex<PgConn>>),
}

/// A database: SQLite (one file, WAL) or PostgreSQL. Connections are serialised behind a
/// mutex; a server runs several `Db`s or processes for parallelism.
pub struct Db {
    backend: Backend,
    /// Committed write transactions of this process, so that a cache of reads can tell that
    /// nothing changed here since it read.
    writes: std::sync::atomic::AtomicU64,
    #[cfg(feature = "fault-injection")]
    fault_after: std::sync::atomic::AtomicUsize,
}

enum TxInner<'a> {
    Sqlite(rusqlite::Transaction<'a>),
    Pg(postgres::Transaction<'a>, &'a mut HashMap<String, postgres::Statement>),
}

/// A transaction. Every method runs inside it; it commits only when the closure given to
/// [`Db::write`] returns `Ok`.
pub struct Tx<'a> {
    inner: TxInner<'a>,
    statements: usize,
    fault_after: usize,
}

fn sqlite_sql(sql: &str) -> String {
    // `$1` → `?1`: SQLite reads `?NNN` as the NNN-th parameter.
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(|n| n.is_ascii_digit()) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

fn pg_row(r: &postgres::Row) -> StoreResult<Row> {
    use postgres::types::Type;
    let mut v = Vec::with_capacity(r.len());
    for (i, col) in r.columns().iter().enumerate() {
        let t = col.type_();
        let val = if *t == Type::INT8 {
            r.try_get::<_, Option<i64>>(i)?.map(Value::Int)
        } else if *t == Type::INT4 {
            r.try_get::<_, Option<i32>>(i)?.map(|x| Value::Int(x.into()))
        } else if *t == Type::INT2 {
            r.try_get::<_, Option<i16>>(i)?.map(|x| Value::Int(x.into()))
        } else if *t == Type::BOOL {
            r.try_get::<_, Option<bool>>(i)?.map(Value::Bool)
        } else if *t == Type::TEXT || *t == Type::VARCHAR || *t == Type::NAME || *t == Type::BPCHAR {
            r.try_get::<_, Option<String>>(i)?.map(Value::Text)
        } else {
            return Err(StoreError::Corrupt(format!("unsupported column type {t} for '{}'", col.name())));
        };
        v.push(val.unwrap_or(Value::Null));
    }
    Ok(Row(v))
}

fn sqlite_row(r: &rusqlite::Row<'_>, n: usize) -> rusqlite::Result<Row> {
    use rusqlite::types::ValueRef;
    let mut v = Vec::with_capacity(n);
    for i in 0..n {
        v.push(match r.get_ref(i)? {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(x) => Value::Int(x),
            ValueRef::Real(x) => Value::Int(x as i64),
            ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
            ValueRef::Blob(_) => return Err(rusqlite::Error::InvalidColumnType(i, "blob".into(), rusqlite::types::Type::Blob)),
        });
    }
    Ok(Row(v))
}

impl<'a> Tx<'a> {
    pub fn dialect(&self) -> Dialect {
        match self.inner {
            TxInner::Sqlite(_) => Dialect::Sqlite,
            TxInner::Pg(..) => Dialect::Postgres,
        }
    }

    fn tick(&mut self) -> StoreResult<()> {
        self.statements += 1;
        if self.fault_after != 0 && self.statements >= self.fault_after {
            return Err(StoreError::InjectedFault(self.statements));
        }
        Ok(())
    }

    /// Runs a statement and returns the number of rows it changed.
    pub fn exec(&mut self, sql: &str, params: &[Value]) -> StoreResult<u64> {
        self.tick()?;
        match &mut self.inner {
            TxInner::Sqlite(tx) => {
                let mut st = tx.prepare_cached(&sqlite_sql(sql))?;
                Ok(st.execute(rusqlite::params_from_iter(params.iter()))? as u64)
            }
            TxInner::Pg(tx, cache) => {
                let st = pg_statement(tx, cache, sql)?;
                let p: Vec<&(dyn postgres::types::ToSql + Sync)> = params.iter().map(|v| v as _).collect();
                Ok(tx.execute(&st, &p)?)
            }
        }
    }

    /// Runs a query and returns all rows.
    pub fn query(&mut self, sql: &str, params: &[Value]) -> StoreResult<Vec<Row>> {
        self.tick()?;
        match &mut self.inner {
            TxInner::Sqlite(tx) => {
                let mut st = tx.prepare_cached(&sqlite_sql(sql))?;
                let n = st.column_count();
                let rows = st.query_map(rusqlite::params_from_iter(params.iter()), |r| sqlite_row(r, n))?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            }
            TxInner::Pg(tx, cache) => {
                let st = pg_statement(tx, cache, sql)?;
                let p: Vec<&(dyn postgres::types::ToSql + Sync)> = params.iter().map(|v| v as _).collect();
                tx.query(&st, &p)?.iter().map(pg_row).collect()
            }
        }
    }

    pub fn query_opt(&mut self, sql: &str, params: &[Value]) -> StoreResult<Option<Row>> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    pub fn query_one(&mut self, sql: &str, params: &[Value]) -> StoreResult<Row> {
        self.query_opt(sql, params)?.ok_or_else(|| StoreError::Corrupt(format!("no row for: {sql}")))
    }

    fn commit(self) -> StoreResult<()> {
        match self.inner {
            TxInner::Sqlite(tx) => Ok(tx.commit()?),
            TxInner::Pg(tx, _) => Ok(tx.commit()?),
        }
    }
}

fn pg_statement(
    tx: &mut postgres::Transaction<'_>,
    cache: &mut HashMap<String, postgres::Statement>,
    sql: &str,
) -> StoreResult<postgres::Statement> {
    if let Some(s) = cache.get(sql) {
        return Ok(s.clone());
    }
    let s = tx.prepare(sql)?;
    cache.insert(sql.to_string(), s.clone());
    Ok(s)
}

impl Db {
    fn from_backend(backend: Backend) -> Self {
        Db {
            backend,
            writes: std::sync::atomic::AtomicU64::new(0),
            #[cfg(feature = "fault-injection")]
            fault_after: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// Opens (creating if needed) a SQLite file in WAL mode with full durability.
    pub fn open_sqlite(path: &std::path::Path) -> StoreResult<Self> {
        let conn = rusqlite::Connection::open(path)?;
        Self::setup_sqlite(conn, true)
    }

    /// A private in-memory SQLite database (tests).
    pub fn open_sqlite_memory() -> StoreResult<Self> {
        Self::setup_sqlite(rusqlite::Connection::open_in_memory()?, false)
    }

    fn setup_sqlite(conn: rusqlite::Connection, wal: bool) -> StoreResult<Self> {
        if wal {
            let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
            if mode.to_lowercase() != "wal" {
                return Err(StoreError::Database(format!("SQLite refused WAL mode (got {mode})")));
            }
        }
        // FULL: a committed transaction survives a power cut, not only a process crash.
        conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;")?;
        conn.set_prepared_statement_cache_capacity(128);
        Ok(Self::from_backend(Backend::Sqlite(Mutex::new(conn))))
    }

    /// Connects to PostgreSQL. With `schema`, creates it if needed and works inside it (the
    /// tests use one schema each).
    pub fn open_postgres(url: &str, schema: Option<&str>) -> StoreResult<Self> {
        let (url, mode, root) = crate::pg_tls::split(url)?;
        let mut client = match mode {
            crate::pg_tls::SslMode::Plain => postgres::Client::connect(&url, postgres::NoTls)?,
            _ => postgres::Client::connect(&url, crate::pg_tls::connector(mode, root.as_deref())?)?,
        };
        client.batch_execute("SET client_min_messages = WARNING")?;
        if let Some(s) = schema {
            if !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(StoreError::Database(format!("invalid schema name '{s}'")));
            }
            client.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {s}; SET search_path TO {s}"))?;
        }
        Ok(Self::from_backend(Backend::Postgres(Box::new(Mutex::new(PgConn { client, statements: HashMap::new() })))))
    }

    /// Opens what `url` names: `postgres://…` or `postgresql://…`, else a SQLite file path
    /// (optionally `sqlite://path`).
    pub fn open(url: &str) -> StoreResult<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::open_postgres(url, None)
        } else {
            Self::open_sqlite(std::path::Path::new(url.strip_prefix("sqlite://").unwrap_or(url)))
        }
    }

    pub fn dialect(&self) -> Dialect {
        match self.backend {
            Backend::Sqlite(_) => Dialect::Sqlite,
            Backend::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Makes the N-th statement of every later transaction fail (0 turns it off).
    #[cfg(feature = "fault-injection")]
    pub fn inject_fault_after(&self, statements: usize) {
        self.fault_after.store(statements, std::sync::atomic::Ordering::SeqCst);
    }

    fn fault_after(&self) -> usize {
        #[cfg(feature = "fault-injection")]
        {
            self.fault_after.load(std::sync::atomic::Ordering::SeqCst)
        }
        #[cfg(not(feature = "fault-injection"))]
        {
            0
        }
    }

    /// Runs `f` in one transaction: committed if it returns `Ok`, rolled back otherwise (also
    /// when it panics or the process dies before the commit).
    pub fn write<T, E: From<StoreError>>(&self, f: impl FnOnce(&mut Tx<'_>) -> Result<T, E>) -> Result<T, E> {
        let fault_after = self.fault_after();
        match &self.backend {
            Backend::Sqlite(m) => {
                let mut conn = m.lock().unwrap_or_else(|p| p.into_inner());
                // IMMEDIATE takes the write lock up front, so two writers never deadlock.
                let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(StoreError::from)?;
                let mut t = Tx { inner: TxInner::Sqlite(tx), statements: 0, fault_after };
                let v = f(&mut t)?;
                t.commit()?;
                self.writes.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Ok(v)
            }
            Backend::Postgres(m) => {
                let mut guard = m.lock().unwrap_or_else(|p| p.into_inner());
                let PgConn { client, statements } = &mut *guard;
                let tx = client.transaction().map_err(StoreError::from)?;
                let mut t = Tx { inner: TxInner::Pg(tx, statements), statements: 0, fault_after };
                let v = f(&mut t)?;
                t.commit()?;
                self.writes.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Ok(v)
            }
        }
    }

    /// How many write transactions this process has committed.
    pub fn write_count(&self) -> u64 {
        self.writes.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Runs `f` in a transaction that is always rolled back (reads).
    pub fn read<T, E: From<StoreError>>(&self, f: impl FnOnce(&mut Tx<'_>) -> Result<T, E>) -> Result<T, E> {
        match &self.backend {
            Backend::Sqlite(m) => {
                let mut conn = m.lock().unwrap_or_else(|p| p.into_inner());
                let tx = conn.transaction().map_err(StoreError::from)?;
                let mut t = Tx { inner: TxInner::Sqlite(tx), statements: 0, fault_after: 0 };
                f(&mut t)
            }
            Backend::Postgres(m) => {
                let mut guard = m.lock().unwrap_or_else(|p| p.into_inner());
                let PgConn { client, statements } = &mut *guard;
                let tx = client.build_transaction().read_only(true).start().map_err(StoreError::from)?;
                let mut t = Tx { inner: TxInner::Pg(tx, statements), statements: 0, fault_after: 0 };
                f(&mut t)
            }
        }
    }

    /// Writes a consistent copy of a SQLite database to `path` (`VACUUM INTO`: one read
    /// transaction, so writers may go on meanwhile). PostgreSQL is copied with pg_dump instead.
    pub fn snapshot_sqlite(&self, path: &std::path::Path) -> StoreResult<()> {
        match &self.backend {
            Backend::Sqlite(m) => {
                let target = path.to_str().ok_or_else(|| StoreError::Database("đường dẫn bản sao không phải UTF-8".into()))?;
                m.lock().unwrap_or_else(|p| p.into_inner()).execute("VACUUM INTO ?1", [target])?;
                Ok(())
            }
            Backend::Postgres(_) => Err(StoreError::Database("cơ sở dữ liệu PostgreSQL được sao lưu bằng pg_dump".into())),
        }
    }

    /// Runs a script of several statements outside the value layer (migrations, bench set-up).
    pub fn batch(&self, sql: &str) -> StoreResult<()> {
        match &self.backend {
            Backend::Sqlite(m) => Ok(m.lock().unwrap_or_else(|p| p.into_inner()).execute_batch(sql)?),
            Backend::Postgres(m) => Ok(m.lock().unwrap_or_else(|p| p.into_inner()).client.batch_execute(sql)?),
        }
    }
}
