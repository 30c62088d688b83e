//! The redb backend: the default, crash-safe single-file engine.
//!
//! Everything lives in one `bytes -> bytes` table; the keyspace layout is in `keys`. redb commits
//! with `Durability::Immediate` by default, i.e. the commit is fsync'd before `commit()` returns,
//! which is exactly the durability `DeviceStore::apply` promises.

use std::path::Path;

use redb::{Database, ReadableDatabase, ReadableTable, Table, TableDefinition};

use crate::StoreError;
use crate::engine::Engine;
use crate::kv::{Kv, KvRead, KvWrite, Pairs};

const KV: TableDefinition<'static, &[u8], &[u8]> = TableDefinition::new("kv");

/// The redb engine behind the shared domain logic.
pub(crate) struct RedbKv {
    db: Database,
}

/// A [`crate::DeviceStore`] in a single redb file.
pub struct RedbStore {
    engine: Engine<RedbKv>,
}

/// Opens (creating if needed) a redb store at `path`. Fails if another process has it open.
pub fn open_redb(path: &Path) -> Result<RedbStore, StoreError> {
    let db = Database::create(path).map_err(StoreError::engine)?;
    // Create the table up front so read transactions never meet a missing table.
    let txn = db.begin_write().map_err(StoreError::engine)?;
    txn.open_table(KV).map_err(StoreError::engine)?;
    txn.commit().map_err(StoreError::engine)?;
    tracing::debug!(path = %path.display(), "opened redb store");
    Ok(RedbStore {
        engine: Engine::open(RedbKv { db })?,
    })
}

impl RedbStore {
    /// Test hook: removes the last-inform index, as in a store older than it.
    #[cfg(test)]
    pub(crate) fn forget_inform_index_for_tests(&self) -> Result<(), StoreError> {
        self.engine.forget_inform_index()
    }

    /// Rewrites the file to reclaim free pages (redb grows its file in steps and only shrinks it
    /// in limited cases). Needs exclusive access, hence `&mut self`; returns whether it compacted.
    /// Offline only, so only with the `engine` feature.
    #[cfg(feature = "engine")]
    pub fn compact(&mut self) -> Result<bool, StoreError> {
        self.engine.kv.db.compact().map_err(StoreError::engine)
    }
}

crate::delegate_device_store!(RedbStore);

impl Kv for RedbKv {
    fn read<R>(
        &self,
        f: impl FnOnce(&dyn KvRead) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let txn = self.db.begin_read().map_err(StoreError::engine)?;
        let table = txn.open_table(KV).map_err(StoreError::engine)?;
        f(&ReadView { table })
    }

    fn write<R>(
        &self,
        f: impl FnOnce(&mut dyn KvWrite) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let txn = self.db.begin_write().map_err(StoreError::engine)?;
        let out = {
            let table = txn.open_table(KV).map_err(StoreError::engine)?;
            f(&mut WriteView { table })
        };
        // On error the transaction is dropped, which aborts it: nothing partial is committed.
        let out = out?;
        txn.commit().map_err(StoreError::engine)?;
        Ok(out)
    }
}

struct ReadView {
    table: redb::ReadOnlyTable<&'static [u8], &'static [u8]>,
}

struct WriteView<'txn> {
    table: Table<'txn, &'static [u8], &'static [u8]>,
}

fn get(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    key: &[u8],
) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(table
        .get(key)
        .map_err(StoreError::engine)?
        .map(|v| v.value().to_vec()))
}

fn contains(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    key: &[u8],
) -> Result<bool, StoreError> {
    Ok(table.get(key).map_err(StoreError::engine)?.is_some())
}

fn range(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    start: &[u8],
    end: &[u8],
    limit: usize,
) -> Result<Pairs, StoreError> {
    let mut out = Vec::new();
    for item in table
        .range(start..end)
        .map_err(StoreError::engine)?
        .take(limit)
    {
        let (k, v) = item.map_err(StoreError::engine)?;
        out.push((k.value().to_vec(), v.value().to_vec()));
    }
    Ok(out)
}

fn keys(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    start: &[u8],
    end: &[u8],
) -> Result<Vec<Vec<u8>>, StoreError> {
    let mut out = Vec::new();
    for item in table.range(start..end).map_err(StoreError::engine)? {
        let (k, _) = item.map_err(StoreError::engine)?;
        out.push(k.value().to_vec());
    }
    Ok(out)
}

impl KvRead for ReadView {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        get(&self.table, key)
    }
    fn contains(&self, key: &[u8]) -> Result<bool, StoreError> {
        contains(&self.table, key)
    }
    fn range(&self, start: &[u8], end: &[u8], limit: usize) -> Result<Pairs, StoreError> {
        range(&self.table, start, end, limit)
    }
    fn keys(&self, start: &[u8], end: &[u8]) -> Result<Vec<Vec<u8>>, StoreError> {
        keys(&self.table, start, end)
    }
}

impl KvRead for WriteView<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        get(&self.table, key)
    }
    fn contains(&self, key: &[u8]) -> Result<bool, StoreError> {
        contains(&self.table, key)
    }
    fn range(&self, start: &[u8], end: &[u8], limit: usize) -> Result<Pairs, StoreError> {
        range(&self.table, start, end, limit)
    }
    fn keys(&self, start: &[u8], end: &[u8]) -> Result<Vec<Vec<u8>>, StoreError> {
        keys(&self.table, start, end)
    }
}

impl KvWrite for WriteView<'_> {
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.table.insert(key, value).map_err(StoreError::engine)?;
        Ok(())
    }
    fn delete(&mut self, key: &[u8]) -> Result<(), StoreError> {
        self.table.remove(key).map_err(StoreError::engine)?;
        Ok(())
    }
}
