//! The PostgreSQL backend: one connection pool (PostgreSQL runs writers side by side), `tsvector` + GIN for
//! text search (`fts.rs`). Schema: `migrations/postgres/`. Several SimRelay nodes may share the database.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, FixedOffset, Utc};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{QueryBuilder, Row, Transaction};

use super::backend::{Backend, StoreRow};
use super::search::TextMatch;
use super::StoreError;

pub(crate) mod cluster;
pub(crate) mod fts;

/// Connections per node: ingest's group commits, the API's reads and the cluster's listener share them.
const MAX_CONNECTIONS: u32 = 16;

/// How long a query waits for a free connection (or for a new one, while the server is away) before failing.
/// Ingest then leaves the messages on the SIM and reads them again later.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// The PostgreSQL backend; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Postgres {
    pool: PgPool,
    /// This node's name (its connections' `application_name` is `simrelay:<node>`).
    node: std::sync::Arc<str>,
}

impl Postgres {
    /// Connects to the database at `url` and brings its schema up to date (nodes starting together take turns:
    /// sqlx holds an advisory lock while it migrates).
    pub(crate) async fn open(url: &str, node: &str) -> Result<Postgres, StoreError> {
        let connect_err = |source| StoreError::Connect {
            url: super::redacted(url),
            source,
        };
        let options = PgConnectOptions::from_str(url)
            .map_err(connect_err)?
            .application_name(&format!("simrelay:{node}"));
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(connect_err)?;
        sqlx::migrate!("../../migrations/postgres")
            .run(&pool)
            .await?;
        let ctype: String = sqlx::query_scalar("SHOW lc_ctype").fetch_one(&pool).await?;
        if matches!(ctype.as_str(), "C" | "POSIX") {
            tracing::warn!(%ctype, "the database's LC_CTYPE folds only ASCII letters to lower case, so a \
                search for a word in another script must match its case; create the database with a UTF-8 \
                locale (docs/SCALING.md)");
        }
        Ok(Postgres {
            pool,
            node: node.into(),
        })
    }

    /// The cluster side of this store (notifications, modem statuses of every node).
    pub(crate) fn cluster(&self) -> cluster::Cluster {
        cluster::Cluster::new(self.clone())
    }

    /// Closes the pool, waiting for in-flight queries.
    pub(crate) async fn close(&self) {
        self.pool.close().await;
    }
}

impl Backend for Postgres {
    type Db = sqlx::Postgres;
    type Time = DateTime<Utc>;

    fn reader(&self) -> &PgPool {
        &self.pool
    }

    fn writer(&self) -> &PgPool {
        &self.pool
    }

    async fn begin(&self) -> Result<Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        self.pool.begin().await
    }

    fn time(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        t
    }

    fn node(&self) -> &str {
        &self.node
    }

    // Read by the notifying triggers (migration 0017); `SET LOCAL` ends with the transaction.
    const QUIET: Option<&'static str> = Some("SET LOCAL simrelay.quiet = 'on'");

    const SKIP_LOCKED: &'static str = " FOR NO KEY UPDATE SKIP LOCKED";

    fn resequence(&self, table: &str) -> Option<String> {
        Some(format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'),              GREATEST((SELECT MAX(id) FROM {table}), 1))"
        ))
    }

    fn builder<'a>(&self, init: &str) -> QueryBuilder<'a, sqlx::Postgres> {
        QueryBuilder::new(init)
    }

    async fn text_match(
        &self,
        _conn: &mut sqlx::PgConnection,
        input: &str,
    ) -> Result<Option<TextMatch>, StoreError> {
        Ok(fts::text_match(input))
    }
}

impl StoreRow for PgRow {
    fn time(&self, column: &str) -> Result<DateTime<FixedOffset>, StoreError> {
        let t: DateTime<Utc> = self.try_get(column)?;
        Ok(t.fixed_offset())
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use crate::store::testing::cluster::Cluster;
    use crate::store::tests::sample;
    use crate::store::{Inserted, Location, Store};

    /// A commit while the server is down fails (so ingest keeps the message on the SIM); once it is back,
    /// the same store reconnects by itself and nothing committed before is lost.
    #[tokio::test]
    async fn the_store_reconnects_when_the_server_comes_back() {
        let cluster = Cluster::private();
        let db = cluster.create_database();
        let store = Store::open_node(&Location::Postgres(cluster.url(&db)), "a")
            .await
            .expect("open");
        assert!(matches!(
            store.insert_message(&sample(b"before")).await,
            Ok(Inserted::New(_))
        ));
        cluster.kill().expect("kill the server");
        assert!(
            store.insert_message(&sample(b"while down")).await.is_err(),
            "a commit without a server must fail, never pretend"
        );
        cluster.restart().expect("restart the server");
        let start = Instant::now();
        let after = loop {
            match store.insert_message(&sample(b"while down")).await {
                Ok(inserted) => break inserted,
                Err(e) if start.elapsed() < Duration::from_secs(60) => {
                    eprintln!("not yet: {e}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("the store did not reconnect: {e}"),
            }
        };
        assert!(matches!(after, Inserted::New(_)));
        assert_eq!(store.count().await.expect("count"), 2);
        store.close().await;
    }
}
