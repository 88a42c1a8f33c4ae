//! The message store, opened through sqlx on one of its backends (`backend.rs`): an SQLite file (the default) or
//! PostgreSQL. Schema in `migrations/<backend>/`.
//!
//! The store is the only place a message becomes durable. Everything downstream (deleting it from the SIM,
//! publishing it on the hub) happens only after [`Store::insert_message`] returned, so a crash at any point
//! either loses nothing or re-reads a message that the `(modem, pdu_sha256)` constraint then ignores.

use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use sha2::{Digest, Sha256};
use simrelay_protocol::{CodeAlternative, CodeOrigin, Indication, Message, MessageContent};
use sqlx::Row;

mod added_modems;
pub(crate) mod backend;
mod calls;
mod claims;
mod conversations;
mod copy;
mod corrections;
pub(crate) mod deliveries;
mod devices;
mod modem_ids;
pub(crate) mod postgres;
mod provider_sent;
mod retention;
mod search;
mod sent;
pub mod settings;
mod signal;
mod sqlite;
#[cfg(test)]
pub(crate) mod testing;
mod waiting;

pub(crate) use backend::on_db;
use backend::StoreRow;

pub use added_modems::AddedModem;
pub use calls::MAX_CALL_PAGE;
pub use claims::Claim;
pub use conversations::{ConversationCursor, ConversationList, ThreadCursor, ThreadEntries};
pub use copy::CopyReport;
pub(crate) use corrections::fields_of as code_fields;
pub use corrections::{Chosen, CodeCorrection};
pub use devices::{DevicesImport, PairingPut};
pub use provider_sent::PartStatus;
pub use retention::{Retention, RetentionReport};
pub use search::{Found, MessageQuery, Order};
pub use simrelay_protocol::{SendStatus, SentMessage};

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database file could not be opened or created.
    #[error("cannot open the message database {path}: {source}; check that its directory exists and is writable, or pick another file with --db")]
    Open {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: sqlx::Error,
    },
    /// The PostgreSQL server could not be reached, or refused us.
    #[error("cannot connect to the PostgreSQL database {url}: {source}; check that it runs and that the URL's host, port, user, password and database are right, or pick an SQLite file with --db")]
    Connect {
        /// The URL, without its password.
        url: String,
        /// What the server (or the network) said.
        #[source]
        source: sqlx::Error,
    },
    /// Applying the schema migrations failed.
    #[error("cannot update the schema of the message database: {0}; if this file was written by a newer SimRelay, use that version or another --db file")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// `simrelay copy-db` was pointed at a store that already holds messages.
    #[error("the target database already holds messages; copy into a new, empty database (or SQLite file)")]
    NotEmpty,
    /// A query failed.
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
    /// A stored row could not be turned back into a message (the file was edited by hand?).
    #[error("message {id} in the database is damaged: {reason}")]
    Corrupt {
        /// Id of the damaged row.
        id: i64,
        /// What is wrong with it.
        reason: String,
    },
    /// A stored code correction could not be read back; remove it (`DELETE /api/corrections/...`) and set it again.
    #[error("the code correction for sender {sender:?} is damaged ({reason}); remove it and set it again")]
    CorruptCorrection {
        /// The sender it is for.
        sender: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// A decoded (or undecodable) message ready to be committed. `Default` is an empty one at the Unix epoch, for
/// building one field by field.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewMessage {
    /// Id of the modem it came from.
    pub modem: String,
    /// Sender address.
    pub sender: String,
    /// Decoded text (for an undecodable PDU: a short note; the raw PDU is kept).
    pub text: String,
    /// Extracted verification code.
    pub code: Option<String>,
    /// Byte range of the code in `text`.
    pub code_span: Option<[usize; 2]>,
    /// How clearly the text presents the code (0..1, three decimals).
    pub confidence: Option<f64>,
    /// The site an origin-bound code is for.
    pub origin: Option<CodeOrigin>,
    /// Other plausible codes, best first.
    pub alternatives: Vec<CodeAlternative>,
    /// SMS service-centre timestamp.
    pub sent_at: DateTime<FixedOffset>,
    /// Text encoding name (`gsm7`, `ucs2`, ...).
    pub encoding: Option<String>,
    /// Why the PDU did not decode, if it did not.
    pub decode_error: Option<String>,
    /// True for a multipart message delivered without all its parts.
    pub incomplete: bool,
    /// The raw PDUs this message came from, in part order (one for a single-part SMS).
    pub pdus: Vec<Vec<u8>>,
    /// Further raw PDUs that belong with it but do not identify it: repeated part numbers whose content
    /// differed (two messages colliding on a concatenation reference). Kept, never dropped.
    pub extra_pdus: Vec<Vec<u8>>,
    /// What it is when not plain text for the inbox (binary data, WAP push, text for an application port).
    pub content: Option<MessageContent>,
    /// A class 0 (flash) message.
    pub flash: bool,
    /// Message-waiting indications it carries; committing it applies them to its modem's waiting state.
    pub indications: Vec<Indication>,
    /// The PDU ended before its user data did.
    pub truncated: bool,
}

/// Where one part of a multipart message stands after [`Store::insert_part`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartInserted {
    /// First time seen: now stored, waiting for its siblings.
    New,
    /// Already stored and still waiting for its siblings.
    Pending,
    /// Already part of a committed message (a re-read after a crash, or a modem reporting it twice).
    Committed,
}

/// The multipart key of a part, as in the concatenation header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartKey {
    /// Reference shared by the parts.
    pub reference: u16,
    /// Number of parts announced.
    pub total: u8,
    /// This part's number, from 1.
    pub seq: u8,
}

/// The outcome of [`Store::insert_message`].
#[derive(Debug, Clone, PartialEq)]
pub enum Inserted {
    /// The message was new and is now committed.
    New(Box<Message>),
    /// The same raw PDU(s) from the same modem were already stored; nothing changed.
    Duplicate,
}

/// Handle to the message store; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) db: Db,
}

/// The open backend; store code reaches it through [`on_db!`].
#[derive(Debug, Clone)]
pub(crate) enum Db {
    /// An SQLite file.
    Sqlite(sqlite::Sqlite),
    /// A PostgreSQL database, possibly shared by several nodes.
    Postgres(postgres::Postgres),
}

/// Where the store lives, as `--db` (or `db` in the config file) names it: a `postgres://` or
/// `postgresql://` URL selects PostgreSQL, anything else is an SQLite file.
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    /// An SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL.
    Postgres(String),
}

impl Location {
    /// What `db` names.
    pub fn of(db: &Path) -> Location {
        match db.to_str() {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Location::Postgres(url.to_owned())
            }
            _ => Location::Sqlite(db.to_path_buf()),
        }
    }
}

/// Shown without a URL's password, so logs and errors never carry it.
impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Sqlite(path) => write!(f, "{}", path.display()),
            Location::Postgres(url) => f.write_str(&redacted(url)),
        }
    }
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Location({self})")
    }
}

/// `url` with its password replaced by `***` (and nothing shown of an URL that does not parse).
fn redacted(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            // Options such as `?password=` stay out too.
            parsed.set_query(None);
            parsed.to_string()
        }
        Err(_) => "(a PostgreSQL URL that does not parse)".to_owned(),
    }
}

/// Columns of `messages` in the order [`message_from_row`] reads them.
pub(crate) const MESSAGE_COLUMNS: &str =
    "id, modem, sender, text, code, code_start, code_end, sent_at, received_at, \
     encoding, decode_error, incomplete, code_confidence, code_origin, code_origin_embedded, code_alternatives, \
     content, flash, truncated, indications";

impl Store {
    /// Opens (creating if needed) the SQLite database at `path` and brings its schema up to date.
    pub async fn open(path: &Path) -> Result<Store, StoreError> {
        Ok(Store {
            db: Db::Sqlite(sqlite::Sqlite::open(path).await?),
        })
    }

    /// Opens the store at `location` (an SQLite file is created if needed; a PostgreSQL database must exist)
    /// and brings its schema up to date, as the node named `node` (see [`Store::node`]).
    pub async fn open_node(location: &Location, node: &str) -> Result<Store, StoreError> {
        Ok(Store {
            db: match location {
                Location::Sqlite(path) => Db::Sqlite(sqlite::Sqlite::open(path).await?),
                Location::Postgres(url) => Db::Postgres(postgres::Postgres::open(url, node).await?),
            },
        })
    }

    /// The cluster side of a PostgreSQL store (what nodes sharing it tell one another); `None` on SQLite.
    pub(crate) fn cluster(&self) -> Option<postgres::cluster::Cluster> {
        match &self.db {
            Db::Sqlite(_) => None,
            Db::Postgres(db) => Some(db.cluster()),
        }
    }

    /// This node's name in a cluster (`""` on SQLite, which is always one node).
    pub fn node(&self) -> &str {
        on_db!(self, db => db.node())
    }

    /// Which backend this store is on: `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        match &self.db {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// Commits a message and its raw PDUs in one transaction; a repeat of an already stored PDU is a no-op.
    pub async fn insert_message(&self, new: &NewMessage) -> Result<Inserted, StoreError> {
        let mut inserted = self.insert_messages(std::slice::from_ref(new)).await?;
        Ok(inserted.pop().unwrap_or(Inserted::Duplicate))
    }

    /// Commits several messages in one transaction, one outcome per message in order. Ingest uses it when
    /// messages queue up faster than one commit each: a commit costs far more than a row (see the SQLite
    /// ceiling in BENCHMARKS.md), so a burst is stored at the batched rate while a lone message still gets
    /// its own commit at once. The rows go in with one multi-row statement per table, because each statement
    /// is a round trip to the database.
    pub async fn insert_messages(&self, news: &[NewMessage]) -> Result<Vec<Inserted>, StoreError> {
        if news.is_empty() {
            return Ok(Vec::new());
        }
        let received_at = now_utc();
        let keys: Vec<String> = news.iter().map(|new| dedup_key(&new.pdus)).collect();
        let (outcomes, news) = on_db!(self, db => {
            let mut tx = db.begin().await?;
            // The user's word about a sender's codes decides over the extractor's: read in the same transaction,
            // so a correction set a moment ago (on this node or another) applies.
            let mut select = db.builder(
                "SELECT sender, kind, code_kind, code_len, created_at FROM code_corrections WHERE sender IN (",
            );
            let mut senders = select.separated(", ");
            for sender in news.iter().map(|n| n.sender.as_str()).collect::<std::collections::BTreeSet<_>>() {
                senders.push_bind(sender);
            }
            senders.push_unseparated(")");
            let mut corrections = std::collections::HashMap::new();
            for row in select.build().fetch_all(&mut *tx).await? {
                match corrections::from_row(&row) {
                    Ok(c) => {
                        corrections.insert(c.sender, c.correction);
                    }
                    Err(e) => tracing::warn!(error = %e, "a code correction is damaged and not applied"),
                }
            }
            let news: Vec<std::borrow::Cow<'_, NewMessage>> = news
                .iter()
                .map(|new| match corrections.get(&new.sender) {
                    Some(correction) => {
                        std::borrow::Cow::Owned(corrections::apply(new.clone(), correction))
                    }
                    None => std::borrow::Cow::Borrowed(new),
                })
                .collect();
            let mut insert = db.builder(
                 "INSERT INTO messages (modem, sender, text, code, code_start, code_end, sent_at, received_at, \
                 encoding, decode_error, incomplete, pdu_sha256, code_confidence, code_origin, \
                 code_origin_embedded, code_alternatives, content, flash, truncated, indications) ",
            );
            insert.push_values(news.iter().zip(&keys), |mut row, (new, key)| {
                let (code_start, code_end) = match new.code_span {
                    Some([start, end]) => (Some(to_i64(start)), Some(to_i64(end))),
                    None => (None, None),
                };
                row.push_bind(&new.modem)
                    .push_bind(&new.sender)
                    .push_bind(&new.text)
                    .push_bind(&new.code)
                    .push_bind(code_start)
                    .push_bind(code_end)
                    .push_bind(new.sent_at.to_rfc3339_opts(SecondsFormat::AutoSi, false))
                    .push_bind(db.time(received_at))
                    .push_bind(&new.encoding)
                    .push_bind(&new.decode_error)
                    .push_bind(new.incomplete)
                    .push_bind(key)
                    .push_bind(new.confidence)
                    .push_bind(new.origin.as_ref().map(|o| o.host.clone()))
                    .push_bind(new.origin.as_ref().and_then(|o| o.embedded.clone()))
                    .push_bind(alternatives_json(&new.alternatives))
                    .push_bind(content_json(new.content.as_ref()))
                    .push_bind(new.flash)
                    .push_bind(new.truncated)
                    .push_bind(indications_json(&new.indications));
            });
            insert.push(" ON CONFLICT (modem, pdu_sha256) DO NOTHING RETURNING id, modem, pdu_sha256");
            // RETURNING gives the new rows in no promised order; a key repeated within the batch is new only once.
            let mut ids: std::collections::HashMap<(String, String), i64> = insert
                .build()
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|row| Ok(((row.try_get(1)?, row.try_get(2)?), row.try_get(0)?)))
                .collect::<Result<_, sqlx::Error>>()?;
            let outcomes: Vec<Option<i64>> = news
                .iter()
                .zip(&keys)
                .map(|(new, key)| ids.remove(&(new.modem.clone(), key.clone())))
                .collect();
            // Indications take effect with the message that carried them, in arrival order; a duplicate (a
            // re-read) is not new and so cannot bring back what a later message cleared.
            for (new, _) in news.iter().zip(&outcomes).filter(|(_, id)| id.is_some()) {
                for indication in &new.indications {
                    let (query, count) = waiting::apply(indication);
                    let query = sqlx::query(query).bind(&new.modem).bind(waiting::kind_name(indication.kind));
                    let query = match count {
                        Some(count) => query.bind(count).bind(db.time(received_at)),
                        None => query,
                    };
                    query.execute(&mut *tx).await?;
                }
            }

            let pdus: Vec<(i64, &NewMessage, &Vec<u8>)> = news
                .iter()
                .map(AsRef::as_ref)
                .zip(&outcomes)
                .filter_map(|(new, id)| Some((id.as_ref().copied()?, new)))
                .flat_map(|(id, new)| {
                    new.pdus
                        .iter()
                        .chain(&new.extra_pdus)
                        .map(move |pdu| (id, new, pdu))
                })
                .collect();
            if !pdus.is_empty() {
                let mut insert =
                    db.builder("INSERT INTO pdus (message_id, modem, sha256, raw, received_at) ");
                insert.push_values(&pdus, |mut row, (id, new, pdu)| {
                    row.push_bind(*id)
                        .push_bind(&new.modem)
                        .push_bind(sha256_hex(pdu))
                        .push_bind(pdu.as_slice())
                        .push_bind(db.time(received_at));
                });
                // A part that waited in `pdus` for its siblings is adopted by the message instead of duplicated.
                insert.push(
                    " ON CONFLICT (modem, sha256) DO UPDATE SET message_id = excluded.message_id",
                );
                insert.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
            (outcomes, news)
        });

        Ok(news
            .iter()
            .zip(outcomes)
            .map(|(new, id)| match id {
                Some(id) => Inserted::New(Box::new(Message {
                    id,
                    modem: new.modem.clone(),
                    sender: new.sender.clone(),
                    text: new.text.clone(),
                    code: new.code.clone(),
                    code_span: new.code_span,
                    sent_at: new.sent_at,
                    received_at: received_at.fixed_offset(),
                    encoding: new.encoding.clone(),
                    decode_error: new.decode_error.clone(),
                    incomplete: new.incomplete,
                    confidence: new.confidence,
                    origin: new.origin.clone(),
                    alternatives: new.alternatives.clone(),
                    content: new.content.clone(),
                    flash: new.flash,
                    indications: new.indications.clone(),
                    truncated: new.truncated,
                })),
                None => Inserted::Duplicate,
            })
            .collect())
    }

    /// Stores one part of a multipart message until its siblings arrive (so a set survives a restart and
    /// the SIM slot can be freed at once).
    pub async fn insert_part(
        &self,
        modem: &str,
        raw: &[u8],
        sender: &str,
        key: PartKey,
    ) -> Result<PartInserted, StoreError> {
        let sha = sha256_hex(raw);
        let message_id: Option<Option<i64>> = on_db!(self, db => {
            let inserted = sqlx::query(
                "INSERT INTO pdus (modem, sha256, raw, received_at, sender, concat_ref, concat_total, concat_seq) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (modem, sha256) DO NOTHING",
            )
            .bind(modem)
            .bind(&sha)
            .bind(raw)
            .bind(db.time(now_utc()))
            .bind(sender)
            .bind(i64::from(key.reference))
            .bind(i64::from(key.total))
            .bind(i64::from(key.seq))
            .execute(db.writer())
            .await?
            .rows_affected();
            if inserted == 1 {
                None
            } else {
                Some(
                    sqlx::query_scalar("SELECT message_id FROM pdus WHERE modem = $1 AND sha256 = $2")
                        .bind(modem)
                        .bind(&sha)
                        .fetch_one(db.reader())
                        .await?,
                )
            }
        });
        Ok(match message_id {
            None => PartInserted::New,
            Some(Some(_)) => PartInserted::Committed,
            Some(None) => PartInserted::Pending,
        })
    }

    /// Raw PDUs of every stored part of `modem` still waiting for its siblings, oldest first.
    pub async fn pending_parts(&self, modem: &str) -> Result<Vec<Vec<u8>>, StoreError> {
        on_db!(self, db => Ok(sqlx::query_scalar(
            "SELECT raw FROM pdus WHERE modem = $1 AND message_id IS NULL ORDER BY id",
        )
        .bind(modem)
        .fetch_all(db.reader())
        .await?))
    }

    /// The newest `limit` messages, newest first.
    pub async fn recent(&self, limit: u32) -> Result<Vec<Message>, StoreError> {
        on_db!(self, db => {
            let rows = sqlx::query(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages ORDER BY id DESC LIMIT $1"
            ))
            .bind(i64::from(limit))
            .fetch_all(db.reader())
            .await?;
            rows.iter().map(message_from_row).collect()
        })
    }

    /// One message by id.
    pub async fn get(&self, id: i64) -> Result<Option<Message>, StoreError> {
        on_db!(self, db => {
            let row = sqlx::query(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = $1"
            ))
            .bind(id)
            .fetch_optional(db.reader())
            .await?;
            row.as_ref().map(message_from_row).transpose()
        })
    }

    /// The raw PDUs of a message, in part order.
    pub async fn raw_pdus(&self, message_id: i64) -> Result<Vec<Vec<u8>>, StoreError> {
        on_db!(self, db => Ok(sqlx::query_scalar(
            "SELECT raw FROM pdus WHERE message_id = $1 ORDER BY COALESCE(concat_seq, 0), id",
        )
        .bind(message_id)
        .fetch_all(db.reader())
        .await?))
    }

    /// Deletes a message and its raw PDUs; returns whether it existed.
    pub async fn delete(&self, id: i64) -> Result<bool, StoreError> {
        on_db!(self, db => {
            let result = sqlx::query("DELETE FROM messages WHERE id = $1")
                .bind(id)
                .execute(db.writer())
                .await?;
            Ok(result.rows_affected() > 0)
        })
    }

    /// The largest message id (0 when empty): "everything up to now" for `after=` cursors.
    pub async fn max_id(&self) -> Result<i64, StoreError> {
        on_db!(self, db => Ok(
            sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM messages")
                .fetch_one(db.reader())
                .await?,
        ))
    }

    /// Number of stored messages.
    pub async fn count(&self) -> Result<i64, StoreError> {
        on_db!(self, db => Ok(sqlx::query_scalar("SELECT COUNT(*) FROM messages")
            .fetch_one(db.reader())
            .await?))
    }

    /// Closes the connections, waiting for in-flight queries.
    pub async fn close(&self) {
        match &self.db {
            Db::Sqlite(db) => db.close().await,
            Db::Postgres(db) => db.close().await,
        }
    }
}

/// Now, in UTC, truncated to what the database keeps (microseconds), so the returned message equals a re-read.
fn now_utc() -> DateTime<Utc> {
    let now = Utc::now();
    let micros = now.timestamp_micros();
    DateTime::from_timestamp_micros(micros).unwrap_or(now)
}

/// SQLite integers are i64; a byte offset in an SMS never comes near the limit, so saturating is only a guard.
fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Lower-case hex SHA-256 of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The dedup key of a message: the hash of its single PDU, or the hash of its parts' hashes in order.
fn dedup_key(pdus: &[Vec<u8>]) -> String {
    match pdus {
        [single] => sha256_hex(single),
        parts => {
            let mut hasher = Sha256::new();
            for part in parts {
                hasher.update(Sha256::digest(part));
            }
            hex::encode(hasher.finalize())
        }
    }
}

/// The `code_alternatives` column: JSON `[{"code", "start", "end", "confidence"}]`, NULL when there are none.
pub(crate) fn alternatives_json(alternatives: &[CodeAlternative]) -> Option<String> {
    if alternatives.is_empty() {
        return None;
    }
    let list: Vec<serde_json::Value> = alternatives
        .iter()
        .map(|a| {
            serde_json::json!({"code": a.code, "start": a.span[0], "end": a.span[1], "confidence": a.confidence})
        })
        .collect();
    Some(serde_json::Value::Array(list).to_string())
}

/// The alternatives stored by [`alternatives_json`]; entries that do not parse are left out.
pub(crate) fn alternatives_from_json(json: Option<&str>) -> Vec<CodeAlternative> {
    let Some(Ok(serde_json::Value::Array(list))) = json.map(serde_json::from_str) else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|a| {
            Some(CodeAlternative {
                code: a["code"].as_str()?.to_owned(),
                span: [
                    usize::try_from(a["start"].as_u64()?).ok()?,
                    usize::try_from(a["end"].as_u64()?).ok()?,
                ],
                confidence: a["confidence"].as_f64()?,
            })
        })
        .collect()
}

/// A message from a row with [`MESSAGE_COLUMNS`], on any backend.
pub(crate) fn message_from_row<R>(row: &R) -> Result<Message, StoreError>
where
    R: StoreRow,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    i64: backend::Column<R::Database>,
    String: backend::Column<R::Database>,
    bool: backend::Column<R::Database>,
    f64: backend::Column<R::Database>,
{
    let id: i64 = row.try_get("id")?;
    let corrupt = |reason: String| StoreError::Corrupt { id, reason };
    let sent_at: String = row.try_get("sent_at")?;
    let sent_at = DateTime::parse_from_rfc3339(&sent_at)
        .map_err(|e| corrupt(format!("sent_at {sent_at:?}: {e}")))?;
    let code_start: Option<i64> = row.try_get("code_start")?;
    let code_end: Option<i64> = row.try_get("code_end")?;
    let code_span = match (code_start, code_end) {
        (Some(start), Some(end)) => {
            let start = usize::try_from(start).map_err(|e| corrupt(format!("code_start: {e}")))?;
            let end = usize::try_from(end).map_err(|e| corrupt(format!("code_end: {e}")))?;
            Some([start, end])
        }
        _ => None,
    };
    Ok(Message {
        id,
        modem: row.try_get("modem")?,
        sender: row.try_get("sender")?,
        text: row.try_get("text")?,
        code: row.try_get("code")?,
        code_span,
        sent_at,
        received_at: row.time("received_at")?,
        encoding: row.try_get("encoding")?,
        decode_error: row.try_get("decode_error")?,
        incomplete: row.try_get("incomplete")?,
        content: row
            .try_get::<Option<String>, _>("content")?
            .map(|json| serde_json::from_str(&json))
            .transpose()
            .map_err(|e| corrupt(format!("content: {e}")))?,
        flash: row.try_get("flash")?,
        truncated: row.try_get("truncated")?,
        indications: row
            .try_get::<Option<String>, _>("indications")?
            .map(|json| serde_json::from_str(&json))
            .transpose()
            .map_err(|e| corrupt(format!("indications: {e}")))?
            .unwrap_or_default(),
        confidence: row.try_get("code_confidence")?,
        origin: match row.try_get::<Option<String>, _>("code_origin")? {
            Some(host) => Some(CodeOrigin {
                host,
                embedded: row.try_get("code_origin_embedded")?,
            }),
            None => None,
        },
        alternatives: alternatives_from_json(
            row.try_get::<Option<String>, _>("code_alternatives")?
                .as_deref(),
        ),
    })
}

/// The `content` column: the JSON of the API's [`MessageContent`], NULL for plain text.
fn content_json(content: Option<&MessageContent>) -> Option<String> {
    content.and_then(|c| serde_json::to_string(c).ok())
}

/// The `indications` column: the JSON array of the API's [`Indication`]s, NULL when there are none.
fn indications_json(indications: &[Indication]) -> Option<String> {
    if indications.is_empty() {
        return None;
    }
    serde_json::to_string(indications).ok()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::store::testing::stores;

    pub(crate) fn sample(pdu: &[u8]) -> NewMessage {
        NewMessage {
            code: Some("123456".into()),
            code_span: Some([13, 19]),
            encoding: Some("gsm7".into()),
            ..crate::store::testing::received("m1", "+491701234567", "Your code is 123456", pdu)
        }
    }

    #[tokio::test]
    async fn a_batch_commits_in_order_and_dedups_within_itself_and_against_the_store() {
        for store in stores().await {
            let first = store.insert_message(&sample(b"a")).await.expect("insert");
            assert!(matches!(first, Inserted::New(_)));
            let batch = [sample(b"b"), sample(b"a"), sample(b"c"), sample(b"b")];
            let outcome = store.insert_messages(&batch).await.expect("batch");
            let ids: Vec<Option<i64>> = outcome
                .iter()
                .map(|o| match o {
                    Inserted::New(m) => Some(m.id),
                    Inserted::Duplicate => None,
                })
                .collect();
            assert!(
                matches!(ids.as_slice(), [Some(b), None, Some(c), None] if b < c),
                "{ids:?} on {}",
                store.backend
            );
            assert_eq!(store.count().await.expect("count"), 3);
            assert!(store.insert_messages(&[]).await.expect("empty").is_empty());
        }
    }

    #[tokio::test]
    async fn parts_wait_then_are_adopted_by_their_message() {
        for store in stores().await {
            let key = |seq| PartKey {
                reference: 7,
                total: 2,
                seq,
            };
            let sender = "+4911";
            let part = |raw: &'static [u8], seq| store.insert_part("m1", raw, sender, key(seq));
            assert_eq!(part(b"p1", 1).await.expect("part"), PartInserted::New);
            assert_eq!(part(b"p1", 1).await.expect("part"), PartInserted::Pending);
            assert_eq!(part(b"p2", 2).await.expect("part"), PartInserted::New);
            assert_eq!(
                store.pending_parts("m1").await.expect("pending"),
                vec![b"p1".to_vec(), b"p2".to_vec()]
            );
            assert!(store.pending_parts("m2").await.expect("pending").is_empty());

            let mut message = sample(b"p1");
            message.pdus = vec![b"p1".to_vec(), b"p2".to_vec()];
            let Inserted::New(m) = store.insert_message(&message).await.expect("insert") else {
                panic!("new message expected on {}", store.backend);
            };
            assert!(store.pending_parts("m1").await.expect("pending").is_empty());
            assert_eq!(
                store.raw_pdus(m.id).await.expect("pdus"),
                vec![b"p1".to_vec(), b"p2".to_vec()]
            );
            assert_eq!(part(b"p2", 2).await.expect("part"), PartInserted::Committed);
        }
    }

    #[tokio::test]
    async fn insert_then_read_back_is_identical_and_duplicates_are_ignored() {
        for store in stores().await {
            let Inserted::New(first) = store
                .insert_message(&sample(b"\x00\x01"))
                .await
                .expect("insert")
            else {
                panic!("first insert must be new on {}", store.backend);
            };
            assert_eq!(
                store
                    .insert_message(&sample(b"\x00\x01"))
                    .await
                    .expect("insert"),
                Inserted::Duplicate
            );
            // Same PDU on another modem is another message.
            let mut other = sample(b"\x00\x01");
            other.modem = "m2".into();
            assert!(matches!(
                store.insert_message(&other).await.expect("insert"),
                Inserted::New(_)
            ));
            assert_eq!(store.count().await.expect("count"), 2);
            // Greater, not first + 1: a PostgreSQL sequence is not rolled back by a conflict.
            assert!(store.max_id().await.expect("max") > first.id);
            assert_eq!(
                store.get(first.id).await.expect("get"),
                Some(*first.clone()),
                "{}",
                store.backend
            );
            assert_eq!(
                store.raw_pdus(first.id).await.expect("pdus"),
                vec![b"\x00\x01".to_vec()]
            );
            let recent = store.recent(10).await.expect("recent");
            assert_eq!(recent.len(), 2);
            assert!(recent[0].id > recent[1].id, "newest first");
            assert_eq!(recent[1].sent_at.to_rfc3339(), "2026-11-22T10:00:00+01:00");
        }
    }

    #[test]
    fn a_url_selects_postgres_and_is_shown_without_its_password() {
        let pg = Location::of(Path::new(
            "postgres://relay:s3cret@db.lan:5433/simrelay?sslmode=require",
        ));
        assert!(matches!(&pg, Location::Postgres(url) if url.contains("s3cret")));
        assert_eq!(pg.to_string(), "postgres://relay:***@db.lan:5433/simrelay");
        assert!(!format!("{pg:?}").contains("s3cret"));
        assert!(matches!(
            Location::of(Path::new("postgresql:///simrelay")),
            Location::Postgres(_)
        ));
        for file in ["simrelay.db", "/var/lib/simrelay/postgres.db", "postgres"] {
            assert_eq!(Location::of(Path::new(file)), Location::Sqlite(file.into()));
        }
    }

    #[test]
    fn multipart_key_depends_on_part_order() {
        let a = vec![b"a".to_vec(), b"b".to_vec()];
        let b = vec![b"b".to_vec(), b"a".to_vec()];
        assert_ne!(dedup_key(&a), dedup_key(&b));
        assert_eq!(dedup_key(&[b"x".to_vec()]), sha256_hex(b"x"));
    }
}
