//! Path interning: one dictionary per data model (`<OUI>-<ProductClass>`).
//!
//! Devices of one model share almost all paths, so storing each path once per model and a small
//! integer per device is what gets a fully refreshed tree under the size target. Entries are
//! append-only (never changed or deleted), which is what makes an in-memory cache safe: once an
//! entry is committed it is true forever.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use crate::StoreError;
use crate::keys::{self, Key};
use crate::kv::{KvRead, KvWrite};

/// One model's dictionary in memory.
#[derive(Debug, Default)]
struct ModelDict {
    ids: HashMap<String, u32>,
    paths: HashMap<u32, String>,
}

impl ModelDict {
    fn add(&mut self, path: &str, id: u32) {
        self.ids.insert(path.to_owned(), id);
        self.paths.insert(id, path.to_owned());
    }
}

/// A cache of committed dictionary entries, shared by readers and the writer.
#[derive(Debug, Default)]
pub(crate) struct Dict {
    models: Mutex<HashMap<String, ModelDict>>,
}

impl Dict {
    /// Starts the dictionary side of a write transaction.
    pub(crate) fn begin(&self) -> DictTxn<'_> {
        DictTxn {
            dict: self,
            fresh: HashMap::new(),
            next: HashMap::new(),
        }
    }

    /// The path for `id` in `model`, from the cache or else from committed storage.
    pub(crate) fn path(&self, r: &dyn KvRead, model: &str, id: u32) -> Result<String, StoreError> {
        if let Some(path) = self.lock().get(model).and_then(|m| m.paths.get(&id)) {
            return Ok(path.clone());
        }
        let bytes = r
            .get(Key::new(keys::DICT_REV).str(model).u32(id).bytes())?
            .ok_or_else(|| {
                StoreError::Corrupt(format!("path id {id} missing from dictionary {model:?}"))
            })?;
        let path = String::from_utf8(bytes)
            .map_err(|_| StoreError::Corrupt(format!("path id {id} of {model:?} is not UTF-8")))?;
        self.remember(model, &path, id);
        Ok(path)
    }

    fn cached_id(&self, model: &str, path: &str) -> Option<u32> {
        self.lock()
            .get(model)
            .and_then(|m| m.ids.get(path).copied())
    }

    fn remember(&self, model: &str, path: &str, id: u32) {
        self.lock()
            .entry(model.to_owned())
            .or_default()
            .add(path, id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, ModelDict>> {
        // The map is only ever extended with committed entries, so a panic elsewhere cannot have
        // left it inconsistent.
        self.models.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Dictionary entries created by the current write transaction, kept out of the shared cache
/// until the transaction commits: an aborted transaction's ids are reused by the next one.
pub(crate) struct DictTxn<'a> {
    dict: &'a Dict,
    fresh: HashMap<String, ModelDict>,
    next: HashMap<String, u32>,
}

impl DictTxn<'_> {
    /// The id of `path` in `model`, allocating and storing one if the path is new.
    pub(crate) fn id(
        &mut self,
        w: &mut dyn KvWrite,
        model: &str,
        path: &str,
    ) -> Result<u32, StoreError> {
        if let Some(&id) = self.fresh.get(model).and_then(|m| m.ids.get(path)) {
            return Ok(id);
        }
        if let Some(id) = self.dict.cached_id(model, path) {
            return Ok(id);
        }
        let fwd = Key::new(keys::DICT).str(model).str(path);
        if let Some(bytes) = w.get(fwd.bytes())? {
            // Not in `fresh`, so this entry was committed by an earlier transaction.
            let id = u32::from_be_bytes(
                bytes
                    .try_into()
                    .map_err(|_| StoreError::Corrupt(format!("dictionary entry {path:?}")))?,
            );
            self.dict.remember(model, path, id);
            return Ok(id);
        }
        let counter = Key::new(keys::COUNTER).str("dict").str(model);
        let id = match self.next.get(model) {
            Some(&id) => id,
            None => match w.get(counter.bytes())? {
                Some(b) => u32::try_from(keys::decode_u64(&b)?)
                    .map_err(|_| StoreError::Corrupt(format!("dictionary counter of {model:?}")))?,
                None => 0,
            },
        };
        let next = id
            .checked_add(1)
            .ok_or_else(|| StoreError::Encode(format!("dictionary {model:?} is full")))?;
        w.put(fwd.bytes(), &id.to_be_bytes())?;
        w.put(
            Key::new(keys::DICT_REV).str(model).u32(id).bytes(),
            path.as_bytes(),
        )?;
        w.put(counter.bytes(), &u64::from(next).to_be_bytes())?;
        self.next.insert(model.to_owned(), next);
        self.fresh
            .entry(model.to_owned())
            .or_default()
            .add(path, id);
        Ok(id)
    }

    /// The path of `id`, seeing this transaction's own new entries first.
    pub(crate) fn path(&self, r: &dyn KvRead, model: &str, id: u32) -> Result<String, StoreError> {
        match self.fresh.get(model).and_then(|m| m.paths.get(&id)) {
            Some(path) => Ok(path.clone()),
            None => self.dict.path(r, model, id),
        }
    }

    /// Publishes this transaction's entries to the cache; call only after a durable commit.
    pub(crate) fn commit(self) {
        let mut models = self.dict.lock();
        for (model, fresh) in self.fresh {
            let cached = models.entry(model).or_default();
            for (path, id) in fresh.ids {
                cached.add(&path, id);
            }
        }
    }
}
