//! The sandbox's world, in one SQLite database (`sandbox.db` in the sandbox directory).
//!
//! Crash-safe and shared: WAL journal with `synchronous=FULL`, every request one `BEGIN
//! IMMEDIATE` transaction (so two servers on the same directory take turns, waiting on SQLite's
//! busy timeout rather than failing), nothing written outside a transaction.
//!
//! Each table holds one kind of record as a JSON document plus the columns it is looked up by
//! (`id`, `account`, `parent`); `seq` orders them by creation. Events have their own table, whose
//! integer ids are the `/updates` cursor.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde_json::Value;

use super::clock;

/// The database file in a sandbox directory.
pub const DB_FILE: &str = "sandbox.db";

/// The record tables, all with the same columns.
pub const TABLES: &[&str] = &[
    "accounts",
    "tokens",
    "claims",
    "jobs",
    "proposals",
    "conversations",
    "messages",
    "contracts",
    "milestones",
    "approvals",
    "ledger",
    "top_ups",
    "invoices",
    "webhooks",
    "deliveries",
    "team_invites",
    "schedule",
];

/// The default seed of a new world.
pub const DEFAULT_SEED: u64 = 1;

pub struct Store {
    conn: Mutex<Connection>,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

fn schema(conn: &Connection) -> rusqlite::Result<()> {
    let mut sql = String::from(
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
         CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY AUTOINCREMENT,
             account TEXT NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL);
         CREATE INDEX IF NOT EXISTS events_account ON events (account, id);",
    );
    for table in TABLES {
        sql.push_str(&format!(
            "CREATE TABLE IF NOT EXISTS {table} (seq INTEGER PRIMARY KEY AUTOINCREMENT,
                 id TEXT NOT NULL UNIQUE, account TEXT, parent TEXT, data TEXT NOT NULL);
             CREATE INDEX IF NOT EXISTS {table}_account ON {table} (account, seq);
             CREATE INDEX IF NOT EXISTS {table}_parent ON {table} (parent, seq);"
        ));
    }
    conn.execute_batch(&sql)
}

impl Store {
    /// Opens (creating when absent) the world in `dir`. A new world gets `seed` (default 1); an
    /// existing one keeps its own.
    pub fn open(dir: &Path, seed: Option<u64>) -> Result<Store, String> {
        create_private_dir(dir)
            .map_err(|e| format!("cannot create the sandbox directory {}: {e}", dir.display()))?;
        let path = dir.join(DB_FILE);
        let shown = path.display().to_string();
        let fail = |e: rusqlite::Error| format!("cannot open the sandbox world {shown}: {e}");
        let conn = Connection::open(&path).map_err(fail)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(fail)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(fail)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(fail)?;
        let store = Store {
            conn: Mutex::new(conn),
            path,
        };
        store
            .init(seed.unwrap_or(DEFAULT_SEED), false)
            .map_err(fail)?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Creates the tables and, in a new world, the seed and the marketplace. With `wipe`, drops
    /// everything first (`sandbox reset`), in one transaction: a server using the same directory
    /// sees the old world or the new one.
    fn init(&self, seed: u64, wipe: bool) -> rusqlite::Result<()> {
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if wipe {
            for table in TABLES.iter().chain(&["meta", "events"]) {
                tx.execute_batch(&format!("DROP TABLE IF EXISTS {table};"))?;
            }
            tx.execute("DELETE FROM sqlite_sequence", []).ok();
        }
        schema(&tx)?;
        let fresh: Option<String> = tx
            .query_row("SELECT value FROM meta WHERE key = 'seed'", [], |r| {
                r.get(0)
            })
            .optional()?;
        if fresh.is_none() {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('seed', ?1), ('clock_offset_ms', '0'), \
                 ('counter', '0'), ('created_at', ?2)",
                params![seed.to_string(), clock::wall_ms().to_string()],
            )?;
            let mut t = Tx::new(&tx)?;
            super::world::create(&mut t)?;
        }
        tx.commit()
    }

    /// Starts the world over with `seed`.
    pub fn reset(&self, seed: u64) -> rusqlite::Result<()> {
        self.init(seed, true)
    }

    /// Runs `f` in one immediate transaction. It is committed unless `f` fails with an error
    /// that asks for a rollback (a database failure), so refusals that wrote nothing are cheap
    /// and bookkeeping done before them (a token's last use) stays.
    pub fn tx<T, E>(&self, f: impl FnOnce(&mut Tx) -> Result<T, E>) -> Result<T, E>
    where
        E: From<rusqlite::Error> + Rollback,
    {
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut t = Tx::new(&tx)?;
        let result = f(&mut t);
        match &result {
            Err(e) if e.rollback() => {
                drop(tx);
            }
            _ => tx.commit()?,
        }
        result
    }
}

/// Whether an error must undo the transaction's writes.
pub trait Rollback {
    fn rollback(&self) -> bool;
}

impl Rollback for rusqlite::Error {
    fn rollback(&self) -> bool {
        true
    }
}

/// One transaction on the world.
pub struct Tx<'c> {
    conn: &'c Connection,
    /// Sandbox time for this transaction, fixed at its start.
    pub now: i64,
    pub seed: u64,
}

impl<'c> Tx<'c> {
    fn new(conn: &'c Connection) -> rusqlite::Result<Tx<'c>> {
        let mut t = Tx {
            conn,
            now: 0,
            seed: 0,
        };
        t.seed = t
            .meta("seed")?
            .and_then(|s| s.parse().ok())
            .unwrap_or(DEFAULT_SEED);
        let offset: i64 = t
            .meta("clock_offset_ms")?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        t.now = clock::wall_ms() + offset;
        Ok(t)
    }

    pub fn meta(&self, key: &str) -> rusqlite::Result<Option<String>> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
    }

    pub fn set_meta(&self, key: &str, value: &str) -> rusqlite::Result<()> {
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) \
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    /// Moves sandbox time forward by `ms` (this transaction's `now` too).
    pub fn advance_clock(&mut self, ms: i64) -> rusqlite::Result<()> {
        let offset: i64 = self
            .meta("clock_offset_ms")?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        self.set_meta("clock_offset_ms", &(offset + ms).to_string())?;
        self.now += ms;
        Ok(())
    }

    /// A new id, `<prefix>_<10 characters>`: the same sequence of calls in a world with the same
    /// seed gives the same ids.
    pub fn new_id(&self, prefix: &str) -> rusqlite::Result<String> {
        let n: u64 = self
            .meta("counter")?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
            + 1;
        self.set_meta("counter", &n.to_string())?;
        Ok(format!("{prefix}_{}", id_chars(self.seed, n)))
    }

    /// A number from the world's deterministic stream for `(purpose, n)`.
    pub fn roll(&self, purpose: &str, n: u64) -> u64 {
        super::world::mix(self.seed ^ fnv(purpose), n)
    }

    pub fn get(&self, table: &str, id: &str) -> rusqlite::Result<Option<Value>> {
        check_table(table);
        self.conn
            .query_row(
                &format!("SELECT data FROM {table} WHERE id = ?1"),
                [id],
                |r| r.get::<_, String>(0),
            )
            .optional()
            .map(|o| o.and_then(|text| serde_json::from_str(&text).ok()))
    }

    /// Inserts or replaces the record `id` (keeping its place in creation order).
    pub fn put(
        &self,
        table: &str,
        id: &str,
        account: Option<&str>,
        parent: Option<&str>,
        data: &Value,
    ) -> rusqlite::Result<()> {
        check_table(table);
        self.conn.execute(
            &format!(
                "INSERT INTO {table} (id, account, parent, data) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT(id) DO UPDATE SET data = excluded.data"
            ),
            params![id, account, parent, data.to_string()],
        )?;
        Ok(())
    }

    /// Replaces the data of an existing record.
    pub fn save(&self, table: &str, id: &str, data: &Value) -> rusqlite::Result<()> {
        check_table(table);
        self.conn.execute(
            &format!("UPDATE {table} SET data = ?2 WHERE id = ?1"),
            params![id, data.to_string()],
        )?;
        Ok(())
    }

    pub fn delete(&self, table: &str, id: &str) -> rusqlite::Result<()> {
        check_table(table);
        self.conn
            .execute(&format!("DELETE FROM {table} WHERE id = ?1"), [id])?;
        Ok(())
    }

    /// Records whose `column` (`account` or `parent`) is `value`, newest first.
    pub fn list(&self, table: &str, column: &str, value: &str) -> rusqlite::Result<Vec<Value>> {
        check_table(table);
        assert!(
            matches!(column, "account" | "parent"),
            "unknown column {column}"
        );
        self.rows(
            &format!("SELECT data FROM {table} WHERE {column} = ?1 ORDER BY seq DESC"),
            [value],
        )
    }

    /// Every record of a table, newest first.
    pub fn all(&self, table: &str) -> rusqlite::Result<Vec<Value>> {
        check_table(table);
        self.rows(&format!("SELECT data FROM {table} ORDER BY seq DESC"), [])
    }

    /// The first record whose JSON field `field` (a top-level key) equals `value`.
    pub fn find(&self, table: &str, field: &str, value: &str) -> rusqlite::Result<Option<Value>> {
        check_table(table);
        Ok(self
            .rows(
                &format!(
                    "SELECT data FROM {table} WHERE json_extract(data, ?1) = ?2 \
                     ORDER BY seq DESC LIMIT 1"
                ),
                [format!("$.{field}"), value.to_owned()],
            )?
            .into_iter()
            .next())
    }

    /// Records whose JSON field `field` (a top-level key) equals `value`, oldest first.
    pub fn having(&self, table: &str, field: &str, value: &str) -> rusqlite::Result<Vec<Value>> {
        check_table(table);
        self.rows(
            &format!("SELECT data FROM {table} WHERE json_extract(data, ?1) = ?2 ORDER BY seq"),
            [format!("$.{field}"), value.to_owned()],
        )
    }

    fn rows<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<Vec<Value>> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt.query_map(params, |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for row in rows {
            if let Ok(v) = serde_json::from_str(&row?) {
                out.push(v);
            }
        }
        Ok(out)
    }

    /// Appends an event; returns its id.
    pub fn insert_event(&self, account: &str, kind: &str, data: &Value) -> rusqlite::Result<i64> {
        self.conn.execute(
            "INSERT INTO events (account, type, data) VALUES (?1, ?2, ?3)",
            params![account, kind, data.to_string()],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Events of `account` after `after`, oldest first, up to `limit`.
    pub fn events_after(
        &self,
        account: &str,
        after: i64,
        limit: usize,
    ) -> rusqlite::Result<Vec<(i64, Value)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, data FROM events WHERE account = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![account, after, limit as i64], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, text) = row?;
            out.push((id, serde_json::from_str(&text).unwrap_or(Value::Null)));
        }
        Ok(out)
    }

    pub fn event(&self, id: i64) -> rusqlite::Result<Option<Value>> {
        self.conn
            .query_row("SELECT data FROM events WHERE id = ?1", [id], |r| {
                r.get::<_, String>(0)
            })
            .optional()
            .map(|o| o.and_then(|t| serde_json::from_str(&t).ok()))
    }

    /// The highest event id so far (0 when none).
    pub fn last_event_id(&self) -> rusqlite::Result<i64> {
        self.conn
            .query_row("SELECT COALESCE(MAX(id), 0) FROM events", [], |r| r.get(0))
    }
}

/// Table names are compile-time constants; anything else is a bug.
fn check_table(table: &str) {
    assert!(TABLES.contains(&table), "unknown table {table}");
}

/// FNV-1a, to turn a purpose name into a stream selector.
pub fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

pub fn id_chars(seed: u64, n: u64) -> String {
    const ALPHABET: &[u8] = b"0123456789abcdefghjkmnpqrstvwxyz";
    let mut x = super::world::mix(seed, n);
    let mut out = String::with_capacity(10);
    for _ in 0..10 {
        out.push(ALPHABET[(x & 31) as usize] as char);
        x >>= 5;
    }
    out
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}
