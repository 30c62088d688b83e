//! The sled 0.34 backend, kept behind the `sled` feature for existing deployments.
//!
//! sled 0.34's transactions cannot range-scan, which the domain logic needs (cascading deletes,
//! subtree removal). So a write stages its changes in an overlay over the live tree, with writers
//! serialised by a mutex, and commits them as one atomic `Batch` followed by `flush()`; sled's own
//! background flush is every 500 ms, which is not the durability `apply` promises. Readers take a
//! read lock that excludes the batch application, so no reader sees half a batch.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::Path;
use std::sync::{Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use crate::StoreError;
use crate::engine::Engine;
use crate::kv::{Kv, KvRead, KvWrite, Pairs};

/// The sled engine behind the shared domain logic.
pub(crate) struct SledKv {
    db: sled::Db,
    /// Serialises writers, as redb does, so staged reads stay valid until the batch lands.
    writer: Mutex<()>,
    /// Held shared by readers and exclusively while a batch is applied.
    visible: RwLock<()>,
}

/// A [`crate::DeviceStore`] in a sled directory.
pub struct SledStore {
    engine: Engine<SledKv>,
}

/// How long `open_sled` waits for a lock still held by a just-dropped handle of this process.
const LOCK_WAIT: Duration = Duration::from_secs(2);

/// Opens (creating if needed) a sled store in the directory `path`.
pub fn open_sled(path: &Path) -> Result<SledStore, StoreError> {
    // No background flusher: every write flushes before returning anyway.
    let config = sled::Config::new().path(path).flush_every_ms(None);
    let started = Instant::now();
    let db = loop {
        match config.open() {
            Ok(db) => break db,
            // sled releases its directory lock only when its IO thread pool drops the last
            // reference, a moment after the last `Db` handle is gone; an immediate reopen in the
            // same process (restart of the store, tests) would otherwise fail spuriously. A lock
            // held by another process is still reported, after `LOCK_WAIT`.
            // sled reports this as `ErrorKind::Other` with a message, hence the string match.
            Err(sled::Error::Io(e)) if is_lock_busy(&e) && started.elapsed() < LOCK_WAIT => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(StoreError::engine(e)),
        }
    };
    tracing::debug!(path = %path.display(), "opened sled store");
    let kv = SledKv {
        db,
        writer: Mutex::new(()),
        visible: RwLock::new(()),
    };
    Ok(SledStore {
        engine: Engine::open(kv)?,
    })
}

fn is_lock_busy(e: &std::io::Error) -> bool {
    e.to_string().contains("could not acquire lock")
}

crate::delegate_device_store!(SledStore);

impl Kv for SledKv {
    fn read<R>(
        &self,
        f: impl FnOnce(&dyn KvRead) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let _visible = self.visible.read().unwrap_or_else(PoisonError::into_inner);
        f(&Staged {
            tree: &self.db,
            overlay: BTreeMap::new(),
        })
    }

    fn write<R>(
        &self,
        f: impl FnOnce(&mut dyn KvWrite) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let mut staged = Staged {
            tree: &self.db,
            overlay: BTreeMap::new(),
        };
        let out = f(&mut staged)?;
        let mut batch = sled::Batch::default();
        for (key, value) in staged.overlay {
            match value {
                Some(v) => batch.insert(key, v),
                None => batch.remove(key),
            }
        }
        {
            let _exclusive = self.visible.write().unwrap_or_else(PoisonError::into_inner);
            self.db.apply_batch(batch).map_err(StoreError::engine)?;
        }
        self.db.flush().map_err(StoreError::engine)?;
        Ok(out)
    }
}

/// The live tree plus uncommitted changes (`None` = deleted).
struct Staged<'a> {
    tree: &'a sled::Tree,
    overlay: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl KvRead for Staged<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        match self.overlay.get(key) {
            Some(staged) => Ok(staged.clone()),
            None => Ok(self
                .tree
                .get(key)
                .map_err(StoreError::engine)?
                .map(|v| v.to_vec())),
        }
    }

    fn range(&self, start: &[u8], end: &[u8], limit: usize) -> Result<Pairs, StoreError> {
        let bounds = (
            Bound::Included(start.to_vec()),
            Bound::Excluded(end.to_vec()),
        );
        let staged = self.overlay.range(bounds.clone());
        // Without staged changes in range (always true for readers) the tree can stop at `limit`.
        let tree_limit = if staged.clone().next().is_none() {
            limit
        } else {
            usize::MAX
        };
        let mut merged = BTreeMap::new();
        for item in self.tree.range(start..end).take(tree_limit) {
            let (k, v) = item.map_err(StoreError::engine)?;
            merged.insert(k.to_vec(), v.to_vec());
        }
        for (k, v) in staged {
            match v {
                Some(v) => merged.insert(k.clone(), v.clone()),
                None => merged.remove(k),
            };
        }
        Ok(merged.into_iter().take(limit).collect())
    }
}

impl KvWrite for Staged<'_> {
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.overlay.insert(key.to_vec(), Some(value.to_vec()));
        Ok(())
    }

    fn delete(&mut self, key: &[u8]) -> Result<(), StoreError> {
        self.overlay.insert(key.to_vec(), None);
        Ok(())
    }
}
