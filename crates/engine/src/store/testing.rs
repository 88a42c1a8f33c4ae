//! Stores for tests: one of each backend, so every store test runs against each.

use std::ops::Deref;

use super::Store;

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
}

impl Deref for TestStore {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.store
    }
}

impl TestStore {
    /// Closes the store and opens the same database again (what a restart does).
    pub(crate) async fn reopen(&mut self) {
        self.store.close().await;
        self.store = match &self.place {
            Place::File(dir) => Store::open(&dir.path().join("test.db"))
                .await
                .expect("reopen the SQLite store"),
        };
    }
}

/// A fresh, empty store on every backend.
pub(crate) async fn stores() -> Vec<TestStore> {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("test.db"))
        .await
        .expect("open an SQLite store");
    vec![TestStore {
        store,
        backend: "sqlite",
        place: Place::File(dir),
    }]
}
