//! Path interning: one dictionary per data model (`<OUI>-<ProductClass>`).
//!
//! Devices of one model share almost all paths, so storing each path once per model and a small
//! integer per device is what gets a fully refreshed tree under the size target. On disk a model's
//! dictionary is `(model, id) -> path` with ids dense from 0 and a counter holding the next id;
//! entries are append-only (never changed or deleted).
//!
//! Memory holds, per model, a complete copy of ids `0..len` in both directions. Append-only makes
//! that safe: once an entry is committed it is true forever, so a copy only ever needs extending,
//! from storage (`sync`) or with a transaction's new entries after its commit. Being complete is
//! what lets a writer treat "not in memory" as "new" without a storage read per path, and lets one
//! snapshot (an `Arc`, taken under a lock held only for the clone) serve a whole batch of lookups.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex, PoisonError};

use crate::StoreError;
use crate::keys::{self, Key};
use crate::kv::{KvRead, KvWrite};
use crate::model::TreeScope;

/// A hash map with [`FxHasher`], for short string keys hashed millions of times per second.
pub(crate) type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// The Firefox/rustc hash: a rotate, xor and multiply per word. Not DoS-resistant, which is fine
/// for paths a device reported into its own model's dictionary; several times faster than SipHash
/// on 40-byte paths.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, mut bytes: &[u8]) {
        while let Some((word, rest)) = bytes.split_first_chunk::<8>() {
            self.add(u64::from_le_bytes(*word));
            bytes = rest;
        }
        let mut tail = [0u8; 8];
        tail[..bytes.len()].copy_from_slice(bytes);
        self.add(u64::from_le_bytes(tail) ^ ((bytes.len() as u64) << 59));
    }
    fn write_u8(&mut self, b: u8) {
        self.add(u64::from(b));
    }
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
    fn finish(&self) -> u64 {
        // The multiply mixes best into the high bits; the table indexes with the low ones.
        self.0.rotate_left(26)
    }
}

/// One model's committed entries `0..paths.len()`.
#[derive(Debug, Default, Clone)]
pub(crate) struct ModelDict {
    ids: FxMap<Arc<str>, u32>,
    paths: Vec<Arc<str>>,
}

impl ModelDict {
    /// The path of `id`, if committed and loaded.
    pub(crate) fn path(&self, id: u32) -> Option<&str> {
        self.paths.get(id as usize).map(|p| &**p)
    }

    fn len(&self) -> u32 {
        self.paths.len() as u32
    }

    /// Appends entries `first..` (skipping any already present; a gap is left for `sync`).
    fn extend(&mut self, first: u32, paths: impl IntoIterator<Item = Arc<str>>) {
        for (id, path) in (first..).zip(paths) {
            if id == self.len() {
                self.ids.insert(path.clone(), id);
                self.paths.push(path);
            }
        }
    }
}

/// The shared, committed-only cache of every model's dictionary.
#[derive(Debug, Default)]
pub(crate) struct Dict {
    models: Mutex<FxMap<String, Arc<ModelDict>>>,
    /// The ids scoped reads select, by model and scope key, each with the number of the model's
    /// ids it was computed over (the dictionary only grows, so a selection only needs extending).
    selections: Mutex<FxMap<(String, String), Selection>>,
}

/// The ids a scope selects among a model's first `.0` ids.
type Selection = (u32, Arc<IdSet>);

/// Most cached selections; past it the cache starts again (a fleet has a few models and a few
/// sets of scripts, so this is only reached when the scripts keep changing).
const MAX_SELECTIONS: usize = 4096;

impl Dict {
    /// Starts the dictionary side of a write transaction.
    pub(crate) fn begin(&self) -> DictTxn<'_> {
        DictTxn {
            dict: self,
            models: Vec::new(),
        }
    }

    /// A snapshot of `model` holding at least its first `need` ids, loading missing committed
    /// entries from `r` (which must see them committed).
    pub(crate) fn snapshot(
        &self,
        r: &dyn KvRead,
        model: &str,
        need: u32,
    ) -> Result<Arc<ModelDict>, StoreError> {
        let have = self.lock().get(model).cloned().unwrap_or_default();
        if have.len() >= need {
            return Ok(have);
        }
        let first = have.len();
        let start = Key::new(keys::DICT).str(model).u32(first);
        let end = Key::new(keys::DICT).str(model).u32(need);
        let pairs = r.range(start.bytes(), end.bytes(), usize::MAX)?;
        let mut loaded = Vec::with_capacity(pairs.len());
        for (i, (key, path)) in pairs.into_iter().enumerate() {
            let id = first + i as u32;
            let path = String::from_utf8(path)
                .ok()
                .filter(|_| key.ends_with(&id.to_be_bytes()));
            let path = path.ok_or_else(|| {
                StoreError::Corrupt(format!("dictionary {model:?}: entry {id} missing or bad"))
            })?;
            loaded.push(Arc::<str>::from(path));
        }
        if first + (loaded.len() as u32) < need {
            return Err(StoreError::Corrupt(format!(
                "dictionary {model:?}: entries below {need} missing"
            )));
        }
        let mut models = self.lock();
        let cached = models.entry(model.to_owned()).or_default();
        Arc::make_mut(cached).extend(first, loaded);
        Ok(cached.clone())
    }

    /// The ids of `names` (a snapshot of `model`) that `scope` selects.
    pub(crate) fn selection(
        &self,
        model: &str,
        names: &ModelDict,
        scope: &TreeScope,
    ) -> Arc<IdSet> {
        let key = (model.to_owned(), scope.key());
        let cached = self
            .selections
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            .cloned();
        let (from, mut set) = match cached {
            Some((upto, set)) if upto >= names.len() => return set,
            Some((upto, set)) => (upto, IdSet::clone(&set)),
            None => (0, IdSet::default()),
        };
        for id in from..names.len() {
            if names.path(id).is_some_and(|p| scope.selects(p)) {
                set.insert(id);
            }
        }
        let set = Arc::new(set);
        let mut cache = self
            .selections
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= MAX_SELECTIONS {
            cache.clear();
        }
        cache.insert(key, (names.len(), set.clone()));
        set
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FxMap<String, Arc<ModelDict>>> {
        // The map only ever holds committed entries, so a panic elsewhere cannot have left it
        // inconsistent.
        self.models.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The model's next id, as committed (or as written so far by the current transaction).
pub(crate) fn stored_len(r: &dyn KvRead, model: &str) -> Result<u32, StoreError> {
    match r.get(counter_key(model).bytes())? {
        Some(b) => u32::try_from(keys::decode_u64(&b)?)
            .map_err(|_| StoreError::Corrupt(format!("dictionary counter of {model:?}"))),
        None => Ok(0),
    }
}

fn counter_key(model: &str) -> Key {
    Key::new(keys::COUNTER).str("dict").str(model)
}

/// The dictionary side of one write transaction: committed snapshots plus the entries this
/// transaction created, which reach the shared cache only once it is durable (an aborted
/// transaction's ids are reused by the next one).
pub(crate) struct DictTxn<'a> {
    dict: &'a Dict,
    models: Vec<Names>,
}

impl DictTxn<'_> {
    /// The names of `model` as this transaction sees them.
    pub(crate) fn model(
        &mut self,
        w: &mut dyn KvWrite,
        model: &str,
    ) -> Result<&mut Names, StoreError> {
        let pos = match self.models.iter().position(|m| m.model == model) {
            Some(pos) => pos,
            None => {
                let committed = stored_len(w, model)?;
                let base = self.dict.snapshot(w, model, committed)?;
                if base.len() != committed {
                    return Err(StoreError::Corrupt(format!(
                        "dictionary {model:?}: {} entries cached, {committed} stored",
                        base.len()
                    )));
                }
                self.models.push(Names {
                    model: model.to_owned(),
                    base,
                    fresh: FxMap::default(),
                    fresh_paths: Vec::new(),
                });
                self.models.len() - 1
            }
        };
        Ok(&mut self.models[pos])
    }

    /// Publishes this transaction's entries to the cache; call only after a durable commit.
    pub(crate) fn commit(self) {
        let mut models = self.dict.lock();
        for names in self.models {
            if names.fresh_paths.is_empty() {
                continue;
            }
            let first = names.base.len();
            let cached = models.entry(names.model).or_default();
            let paths = names.fresh_paths.into_iter().map(Arc::<str>::from);
            Arc::make_mut(cached).extend(first, paths);
        }
    }
}

/// One model's dictionary within a write transaction.
pub(crate) struct Names {
    model: String,
    base: Arc<ModelDict>,
    fresh: FxMap<Box<str>, u32>,
    fresh_paths: Vec<Box<str>>,
}

impl Names {
    /// Number of ids (committed and new): every id is below it.
    pub(crate) fn len(&self) -> u32 {
        self.base.len() + self.fresh_paths.len() as u32
    }

    /// The path of `id`.
    pub(crate) fn path(&self, id: u32) -> Option<&str> {
        match id.checked_sub(self.base.len()) {
            None => self.base.path(id),
            Some(i) => self.fresh_paths.get(i as usize).map(|p| &**p),
        }
    }

    /// The ids of `paths`, in order, allocating and storing ids for new paths.
    pub(crate) fn ids<'p>(
        &mut self,
        w: &mut dyn KvWrite,
        paths: impl Iterator<Item = &'p str>,
    ) -> Result<Vec<u32>, StoreError> {
        let mut out = Vec::with_capacity(paths.size_hint().0);
        let before = self.len();
        // Devices of a model report their paths in the same order, and ids were handed out in
        // the first device's order, so the next id is usually the right one: comparing one
        // string is cheaper than hashing it.
        let mut guess = 0u32;
        for path in paths {
            let id = match self.base.path(guess) {
                Some(p) if p == path => guess,
                _ => match self.base.ids.get(path).or_else(|| self.fresh.get(path)) {
                    Some(&id) => id,
                    None => self.allocate(w, path)?,
                },
            };
            out.push(id);
            guess = id.wrapping_add(1);
        }
        if self.len() != before {
            w.put(
                counter_key(&self.model).bytes(),
                &u64::from(self.len()).to_be_bytes(),
            )?;
        }
        Ok(out)
    }

    fn allocate(&mut self, w: &mut dyn KvWrite, path: &str) -> Result<u32, StoreError> {
        let id = self.len();
        if id == u32::MAX {
            return Err(StoreError::Encode(format!(
                "dictionary {:?} is full",
                self.model
            )));
        }
        w.put(
            Key::new(keys::DICT).str(&self.model).u32(id).bytes(),
            path.as_bytes(),
        )?;
        self.fresh.insert(path.into(), id);
        self.fresh_paths.push(path.into());
        Ok(id)
    }

    /// Every id whose path is `prefix` or below it (all ids for an empty prefix), as a bitmap.
    pub(crate) fn under(&self, prefix: &str, into: &mut IdSet) {
        let fresh = self.fresh_paths.iter().map(|p| &**p);
        for (id, path) in (0..).zip(self.base.paths.iter().map(|p| &**p).chain(fresh)) {
            if path.starts_with(prefix) && crate::model::tree_in_subtree(path, prefix) {
                into.insert(id);
            }
        }
    }
}

/// A set of path ids.
#[derive(Debug, Default, Clone)]
pub(crate) struct IdSet(Vec<u64>);

impl IdSet {
    pub(crate) fn insert(&mut self, id: u32) {
        let (word, bit) = (id as usize / 64, id % 64);
        if word >= self.0.len() {
            self.0.resize(word + 1, 0);
        }
        self.0[word] |= 1 << bit;
    }

    pub(crate) fn contains(&self, id: u32) -> bool {
        self.0
            .get(id as usize / 64)
            .is_some_and(|w| w & (1 << (id % 64)) != 0)
    }

    /// Whether any id in `lo..hi` is in the set.
    pub(crate) fn any_in(&self, lo: u64, hi: u64) -> bool {
        let hi = hi.min(self.0.len() as u64 * 64);
        (lo..hi).any(|id| self.contains(id as u32))
    }
}
