//! Stores for tests: one of each backend, so every store test runs against each. The PostgreSQL one is a
//! database of its own on the test binary's PostgreSQL cluster (`cluster.rs`).

use std::ops::Deref;

use super::{Location, NewMessage, Store};

pub(crate) mod cluster;

/// A store for one test, on one backend, removed when dropped.
pub(crate) struct TestStore {
    /// The store.
    pub(crate) store: Store,
    /// Which backend it is (for failure messages).
    pub(crate) backend: &'static str,
    place: Place,
}

enum Place {
    /// An SQLite file in a temporary directory.
    File(tempfile::TempDir),
    /// A database on the shared test cluster.
    Database(String),
}

impl Deref for TestStore {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.store
    }
}

impl TestStore {
    /// Where the store is.
    pub(crate) fn location(&self) -> Location {
        match &self.place {
            Place::File(dir) => Location::Sqlite(dir.path().join("test.db")),
            Place::Database(name) => Location::Postgres(cluster::Cluster::shared().url(name)),
        }
    }

    /// Another handle on the same database, as a second node (or a restart) would open it.
    pub(crate) async fn open_again(&self) -> Store {
        Store::open_node(&self.location(), "test")
            .await
            .expect("open the store again")
    }

    /// Another handle on the same database as the node named `node` opens it.
    pub(crate) async fn open_node_again(&self, node: &str) -> Store {
        Store::open_node(&self.location(), node)
            .await
            .expect("open the store as another node")
    }

    /// Closes the store and opens the same database again (what a restart does).
    pub(crate) async fn reopen(&mut self) {
        self.store.close().await;
        self.store = self.open_again().await;
    }
}

impl Drop for TestStore {
    fn drop(&mut self) {
        if let Place::Database(name) = &self.place {
            cluster::Cluster::shared().drop_database(name);
        }
    }
}

/// A fresh, empty store on every backend.
pub(crate) async fn stores() -> Vec<TestStore> {
    vec![sqlite().await, postgres().await]
}

/// A fresh SQLite store.
pub(crate) async fn sqlite() -> TestStore {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("test.db"))
        .await
        .expect("open an SQLite store");
    eprintln!("store test on sqlite");
    TestStore {
        store,
        backend: "sqlite",
        place: Place::File(dir),
    }
}

/// A fresh PostgreSQL store (a new database on the test cluster).
pub(crate) async fn postgres() -> TestStore {
    let cluster = cluster::Cluster::shared();
    let name = cluster.create_database();
    let store = Store::open_node(&Location::Postgres(cluster.url(&name)), "test")
        .await
        .expect("open a PostgreSQL store");
    eprintln!("store test on postgres ({name})");
    TestStore {
        store,
        backend: "postgres",
        place: Place::Database(name),
    }
}

/// A received message as store tests need one: from `sender` on `modem`, sent 2026-11-22 10:00 +01:00, no code, and
/// `pdu` its only PDU (distinct PDUs are distinct messages to the dedup key). Tests override fields with `..`.
pub(crate) fn received(
    modem: &str,
    sender: &str,
    text: &str,
    pdu: impl Into<Vec<u8>>,
) -> NewMessage {
    NewMessage {
        modem: modem.into(),
        sender: sender.into(),
        text: text.into(),
        sent_at: chrono::DateTime::parse_from_rfc3339("2026-11-22T10:00:00+01:00")
            .expect("a valid time"),
        pdus: vec![pdu.into()],
        ..NewMessage::default()
    }
}
