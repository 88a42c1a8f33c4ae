//! The seam between the store's logic and its databases: one [`Backend`] per database (SQLite in `sqlite/`,
//! PostgreSQL in `postgres/`), and [`on_db!`], which runs a piece of store code on whichever is open.
//!
//! Store code is written once. A method body inside `on_db!(self, db => { ... })` is compiled once per backend
//! with `db` bound to that backend, so it uses sqlx's concrete types (no generic bounds to spell out) while the
//! source stays one. What differs between the databases is named here, on [`Backend`], and nowhere else:
//! the pools, how a write transaction starts, how a point in time is bound and read back, and the few SQL
//! fragments whose spelling differs (full-text search lives in each backend's `fts.rs`).
//!
//! SQL shared by both backends numbers its parameters (`$1`, `$2`): PostgreSQL requires that form and
//! sqlx's SQLite driver accepts it. Upserts (`ON CONFLICT ... DO UPDATE SET x = excluded.x`), `RETURNING`,
//! `COALESCE` and keyset conditions are spelled the same in both.
//!
//! # Adding a store module
//! 1. A migration for each backend: `migrations/sqlite/NNNN_name.sql` and `migrations/postgres/NNNN_name.sql`
//!    (the same number; PostgreSQL types: `BIGINT` for integers read as `i64`, `BOOLEAN`, `BYTEA`, `TIMESTAMPTZ`
//!    for times, `BIGINT GENERATED ALWAYS AS IDENTITY` for ids).
//! 2. `impl Store` in a new `store/<name>.rs`, each method's body in `on_db!(self, db => { ... })`, using
//!    `db.reader()` for reads, `db.writer()` for one-statement writes, `db.begin().await?` for a transaction,
//!    `db.time(t)` to bind a time and `row.time("column")` ([`StoreRow`]) to read one back.
//! 3. Its tests take their stores from [`crate::store::testing::stores`], so they run against every backend.

use chrono::{DateTime, FixedOffset, Utc};
use sqlx::{Database, Pool, QueryBuilder, Transaction};

use super::search::TextMatch;
use super::StoreError;

/// What one database engine provides to the store. Implemented by `sqlite::Sqlite` (and
/// `postgres::Postgres`); store code reaches it through [`on_db!`].
pub(crate) trait Backend {
    /// The sqlx database.
    type Db: Database;
    /// How this backend binds a point in time (SQLite: fixed-width RFC 3339 text in UTC, so text order is time
    /// order; PostgreSQL: `timestamptz`).
    type Time: Send;

    /// Connections for reads; queries run side by side.
    fn reader(&self) -> &Pool<Self::Db>;

    /// The connection(s) for a write that is one autocommitted statement.
    fn writer(&self) -> &Pool<Self::Db>;

    /// Starts a write transaction, waiting for its turn where the database allows one writer at a time.
    fn begin(
        &self,
    ) -> impl std::future::Future<Output = Result<Transaction<'static, Self::Db>, sqlx::Error>> + Send;

    /// `t` as this backend binds a time.
    fn time(&self, t: DateTime<Utc>) -> Self::Time;

    /// This node's name: `""` on SQLite (one node); on PostgreSQL the name every node sharing the database
    /// knows this one by. Rows that belong to a node (its ports' modems) are keyed by it.
    fn node(&self) -> &str;

    /// Appended to a `SELECT` that claims rows for work that must happen once (`... LIMIT n <this>` inside an
    /// `UPDATE ... WHERE id IN (...)` or an `INSERT ... SELECT`): PostgreSQL's `FOR NO KEY UPDATE SKIP LOCKED`,
    /// so nodes sharing the database claim disjoint rows without waiting for one another; nothing on SQLite,
    /// whose single writer already serialises claims. See `store/claims.rs`.
    const SKIP_LOCKED: &'static str;

    /// The statement that moves `table`'s id sequence past its highest id, after rows were written with
    /// their ids (`copy.rs`); `None` where the database does that itself (SQLite's AUTOINCREMENT).
    fn resequence(&self, table: &str) -> Option<String>;

    /// The statement that keeps the rest of a write transaction from notifying the other nodes of the
    /// messages and sent messages it writes (`copy.rs`: copied rows are history, not news); `None` where
    /// nothing is notified (SQLite).
    const QUIET: Option<&'static str>;

    /// A query builder for this backend (its placeholders are `?` in SQLite and `$n` in PostgreSQL; do not mix
    /// `push_bind` with hand-numbered parameters in one statement).
    fn builder<'a>(&self, init: &str) -> QueryBuilder<'a, Self::Db>;

    /// How a text search matches on this backend, for what the user typed (`None`: nothing can match).
    fn text_match(
        &self,
        conn: &mut <Self::Db as Database>::Connection,
        input: &str,
    ) -> impl std::future::Future<Output = Result<Option<TextMatch>, StoreError>> + Send;
}

/// A row of any backend, with the one column kind whose decoding differs: times.
pub(crate) trait StoreRow: sqlx::Row {
    /// The time in `column`, as stored by [`Backend::time`].
    fn time(&self, column: &str) -> Result<DateTime<FixedOffset>, StoreError>;
}

/// Runs `$body` with `$db` bound to the open backend (a `&sqlite::Sqlite`, or a `&postgres::Postgres`).
/// The body is written once and compiled for each backend; see the module documentation.
macro_rules! on_db {
    ($store:expr, $db:ident => $body:expr) => {
        match &$store.db {
            $crate::store::Db::Sqlite($db) => {
                #[allow(unused_imports)]
                use $crate::store::backend::{Backend as _, StoreRow as _};
                $body
            }
            $crate::store::Db::Postgres($db) => {
                #[allow(unused_imports)]
                use $crate::store::backend::{Backend as _, StoreRow as _};
                $body
            }
        }
    };
}
pub(crate) use on_db;

/// A Rust type a column of database `DB` decodes into (and binds from): what shared row decoders such as
/// `message_from_row` name in their bounds.
pub(crate) trait Column<DB: Database>:
    for<'r> sqlx::Decode<'r, DB> + for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>
{
}

impl<DB: Database, T> Column<DB> for T where
    T: for<'r> sqlx::Decode<'r, DB> + for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>
{
}
