//! The domain logic shared by every backend: record layout, CAS, indexes, cascades, counters.
//!
//! It sees the engine only through the [`Kv`] trait, which is what keeps redb and sled behaving
//! identically (the conformance suite checks it) and keeps engine knowledge in two small files.

mod dict;
mod tasks;
mod tree;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::keys::{self, Key, KeyReader};
use crate::kv::{Kv, KvRead, KvWrite};
use crate::lease::Leases;
use crate::model::{
    DeviceId, DeviceMeta, FaultRecord, ParamTree, TaskRecord, TreeScope, Versioned, normalize_mac,
};
use crate::store::{DeviceStore, Expect, Index, Op, Outcome};
use crate::{StoreError, codec};

pub(crate) use dict::Dict;
use tasks::{delete_task, put_task, read_task, task_ids_of};

/// Counter holding the number of devices with metadata, so `count` is O(1).
const DEVICES: &str = "devices";
/// The layout version of derived data; a store below [`LAYOUT`] is brought up to it at open.
const LAYOUT_COUNTER: &str = "layout";
/// 1: the last-inform index exists.
const LAYOUT: u64 = 1;

/// A [`DeviceStore`] over any [`Kv`] engine.
pub(crate) struct Engine<K> {
    pub(crate) kv: K,
    leases: Leases,
    dict: Dict,
}

/// How device metadata is stored: the revision travels with the record so CAS needs one read.
#[derive(Serialize, Deserialize)]
struct MetaRecord<M> {
    revision: u64,
    meta: M,
}

impl<K: Kv> Engine<K> {
    /// Opens a store, first building any derived data an older layout lacks (indexes added
    /// since it was written), in one transaction.
    pub(crate) fn open(kv: K) -> Result<Self, StoreError> {
        let engine = Self::new(kv);
        if engine.kv.read(|r| counter(r, LAYOUT_COUNTER))? < LAYOUT {
            let n = engine.kv.write(|w| {
                let n = reindex_informs(w)?;
                bump_counter(w, LAYOUT_COUNTER, |_| LAYOUT)?;
                Ok(n)
            })?;
            if n > 0 {
                tracing::info!(devices = n, "built the last-inform index of an older store");
            }
        }
        Ok(engine)
    }

    /// Removes the last-inform index and the layout mark, as a store written before them was.
    #[cfg(test)]
    pub(crate) fn forget_inform_index(&self) -> Result<(), StoreError> {
        self.kv.write(|w| {
            let index = Key::new(keys::INDEX).byte(Index::LastInform.tag());
            let records = Key::new(keys::INFORM_HOUR);
            delete_prefix(w, &index)?;
            delete_prefix(w, &records)?;
            w.delete(Key::new(keys::COUNTER).str(LAYOUT_COUNTER).bytes())
        })
    }

    pub(crate) fn new(kv: K) -> Self {
        Self {
            kv,
            leases: Leases::default(),
            dict: Dict::default(),
        }
    }

    fn apply_one(
        &self,
        w: &mut dyn KvWrite,
        dict: &mut dict::DictTxn<'_>,
        op: Op,
    ) -> Result<Outcome, StoreError> {
        let done = Outcome::Done {
            revision: None,
            task_id: None,
        };
        match op {
            Op::PutDevice { meta, expect } => put_device(w, meta, expect),
            Op::UpdateTree {
                id,
                set,
                remove_subtrees,
            } => {
                let model = read_meta(w, &id)?
                    .map(|m| m.value.model_key())
                    .unwrap_or_default();
                tree::update(w, dict, &id, &model, set, remove_subtrees)?;
                Ok(done)
            }
            Op::ClearTree { id } => {
                tree::clear(w, &id)?;
                Ok(done)
            }
            Op::PutDoc {
                collection,
                name,
                body,
            } => {
                w.put(
                    Key::new(keys::DOC).str(&collection).str(&name).bytes(),
                    &body,
                )?;
                Ok(done)
            }
            Op::DeleteDoc { collection, name } => {
                w.delete(Key::new(keys::DOC).str(&collection).str(&name).bytes())?;
                Ok(done)
            }
            Op::NoteInform { id, at_ms } => {
                note_inform(w, &id, at_ms)?;
                Ok(done)
            }
            Op::DeleteDevice { id } => {
                delete_device(w, &id)?;
                Ok(done)
            }
            Op::PutTask(task) => put_task(w, task),
            Op::DeleteTask(id) => {
                delete_task(w, id)?;
                Ok(Outcome::Done {
                    revision: None,
                    task_id: Some(id),
                })
            }
            Op::PutFault(fault) => {
                let key = Key::new(keys::FAULT).dev(&fault.device).str(&fault.channel);
                w.put(key.bytes(), &codec::encode(&fault)?)?;
                Ok(done)
            }
            Op::DeleteFault { device, channel } => {
                w.delete(Key::new(keys::FAULT).dev(&device).str(&channel).bytes())?;
                Ok(done)
            }
        }
    }
}

impl<K: Kv> DeviceStore for Engine<K> {
    fn get(&self, id: &DeviceId) -> Result<Option<Versioned<DeviceMeta>>, StoreError> {
        self.kv.read(|r| read_meta(r, id))
    }

    fn get_tree(&self, id: &DeviceId) -> Result<ParamTree, StoreError> {
        self.kv.read(|r| tree::read(r, &self.dict, id))
    }

    fn get_tree_scoped(&self, id: &DeviceId, scope: &TreeScope) -> Result<ParamTree, StoreError> {
        self.kv
            .read(|r| tree::read_scoped(r, &self.dict, id, scope))
    }

    fn apply(&self, ops: Vec<Op>) -> Result<Vec<Outcome>, StoreError> {
        let n = ops.len();
        let mut dict = self.dict.begin();
        let outcomes = self.kv.write(|w| {
            ops.into_iter()
                .map(|op| self.apply_one(w, &mut dict, op))
                .collect::<Result<Vec<_>, _>>()
        })?;
        // Only now is the transaction durable, so only now may its new path ids enter the cache.
        dict.commit();
        tracing::trace!(ops = n, "applied batch");
        Ok(outcomes)
    }

    fn scan_index(&self, index: Index, key: &str) -> Result<Vec<DeviceId>, StoreError> {
        let key = index_value(index, key);
        let prefix = Key::new(keys::INDEX).byte(index.tag()).str(&key);
        let pairs = self
            .kv
            .read(|r| r.range(prefix.bytes(), &prefix.prefix_end(), usize::MAX))?;
        pairs
            .iter()
            .map(|(k, _)| {
                let mut r = KeyReader::new(k, keys::INDEX)?;
                r.byte()?;
                r.str()?;
                r.dev()
            })
            .collect()
    }

    fn scan_informed(
        &self,
        from_ms: Option<i64>,
        to_ms: Option<i64>,
    ) -> Result<Vec<DeviceId>, StoreError> {
        let base = Key::new(keys::INDEX).byte(Index::LastInform.tag());
        let start = base.clone().u64(hour(from_ms.unwrap_or(0)));
        let end = match to_ms {
            Some(t) => base.u64(hour(t)).prefix_end(),
            None => base.prefix_end(),
        };
        let pairs = self.kv.read(|r| r.range(start.bytes(), &end, usize::MAX))?;
        pairs
            .iter()
            .map(|(k, _)| {
                let mut r = KeyReader::new(k, keys::INDEX)?;
                r.byte()?;
                r.u64()?;
                r.dev()
            })
            .collect()
    }

    fn scan(&self, after: Option<&DeviceId>, limit: usize) -> Result<Vec<DeviceId>, StoreError> {
        let space = Key::new(keys::META);
        // Appending a zero byte gives the smallest key after `after`'s own key.
        let start = after.map_or_else(|| space.clone(), |a| Key::new(keys::META).dev(a).byte(0));
        let pairs = self
            .kv
            .read(|r| r.range(start.bytes(), &space.prefix_end(), limit))?;
        pairs
            .iter()
            .map(|(k, _)| KeyReader::new(k, keys::META)?.dev())
            .collect()
    }

    fn count(&self) -> Result<u64, StoreError> {
        self.kv.read(|r| counter(r, DEVICES))
    }

    fn task(&self, id: u64) -> Result<Option<TaskRecord>, StoreError> {
        self.kv.read(|r| read_task(r, id))
    }

    fn tasks(&self, device: Option<&DeviceId>) -> Result<Vec<TaskRecord>, StoreError> {
        self.kv.read(|r| match device {
            None => {
                let space = Key::new(keys::TASK);
                let pairs = r.range(space.bytes(), &space.prefix_end(), usize::MAX)?;
                pairs
                    .iter()
                    .map(|(k, v)| codec::decode(v, &|| format!("task key {k:02x?}")))
                    .collect()
            }
            Some(dev) => task_ids_of(r, dev)?
                .into_iter()
                .map(|id| {
                    read_task(r, id)?.ok_or_else(|| {
                        StoreError::Corrupt(format!("task {id} indexed but missing"))
                    })
                })
                .collect(),
        })
    }

    fn faults(&self, device: Option<&DeviceId>) -> Result<Vec<FaultRecord>, StoreError> {
        let prefix = match device {
            Some(dev) => Key::new(keys::FAULT).dev(dev),
            None => Key::new(keys::FAULT),
        };
        let pairs = self
            .kv
            .read(|r| r.range(prefix.bytes(), &prefix.prefix_end(), usize::MAX))?;
        pairs
            .iter()
            .map(|(k, v)| codec::decode(v, &|| format!("fault key {k:02x?}")))
            .collect()
    }

    fn docs(&self, collection: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let prefix = Key::new(keys::DOC).str(collection);
        let pairs = self
            .kv
            .read(|r| r.range(prefix.bytes(), &prefix.prefix_end(), usize::MAX))?;
        pairs
            .into_iter()
            .map(|(k, v)| {
                let mut r = KeyReader::new(&k, keys::DOC)?;
                r.str()?;
                Ok((r.str()?, v))
            })
            .collect()
    }

    fn doc(&self, collection: &str, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.kv
            .read(|r| r.get(Key::new(keys::DOC).str(collection).str(name).bytes()))
    }

    fn try_lease(
        &self,
        id: &DeviceId,
        owner: u64,
        now_ms: i64,
        ttl_ms: i64,
    ) -> Result<bool, StoreError> {
        Ok(self.leases.try_lease(id, owner, now_ms, ttl_ms))
    }

    fn release(&self, id: &DeviceId, owner: u64) -> Result<(), StoreError> {
        self.leases.release(id, owner);
        Ok(())
    }
}

fn read_meta(r: &dyn KvRead, id: &DeviceId) -> Result<Option<Versioned<DeviceMeta>>, StoreError> {
    let Some(bytes) = r.get(Key::new(keys::META).dev(id).bytes())? else {
        return Ok(None);
    };
    let mut rec: MetaRecord<DeviceMeta> = codec::decode(&bytes, &|| format!("device {id}"))?;
    if let Some(at) = noted_inform(r, id)? {
        rec.meta.last_inform_ms = rec.meta.last_inform_ms.max(at);
    }
    Ok(Some(Versioned {
        value: rec.meta,
        revision: rec.revision,
    }))
}

/// The time recorded by the last [`Op::NoteInform`] of a device.
fn noted_inform(r: &dyn KvRead, id: &DeviceId) -> Result<Option<i64>, StoreError> {
    r.get(Key::new(keys::INFORMED).dev(id).bytes())?
        .map(|b| keys::decode_u64(&b).map(|n| n as i64))
        .transpose()
}

/// Records a last-inform time beside a known device's metadata. The metadata is only checked for
/// existence, not read, so this stays two small B-tree operations.
fn note_inform(w: &mut dyn KvWrite, id: &DeviceId, at_ms: i64) -> Result<(), StoreError> {
    if w.contains(Key::new(keys::META).dev(id).bytes())? {
        w.put(
            Key::new(keys::INFORMED).dev(id).bytes(),
            &(at_ms as u64).to_be_bytes(),
        )?;
        let meta_ms = inform_record(w, id)?.map_or(i64::MIN, |(m, _)| m);
        file_inform_hour(w, id, meta_ms, Some(at_ms))?;
    }
    Ok(())
}

/// Width of a last-inform index bucket: an hour, so a device informing every few minutes moves
/// in the index about once an hour, and a query over days reads whole buckets.
const INFORM_BUCKET_MS: i64 = 3_600_000;

/// The last-inform index bucket of a time.
fn hour(ms: i64) -> u64 {
    (ms.max(0) / INFORM_BUCKET_MS) as u64
}

fn inform_index_key(hour: u64, id: &DeviceId) -> Key {
    Key::new(keys::INDEX)
        .byte(Index::LastInform.tag())
        .u64(hour)
        .dev(id)
}

/// A device's `INFORM_HOUR` record: the metadata's own last-inform time (so a noted time can
/// be compared with it without decoding the metadata) and the hour it is filed under.
fn inform_record(r: &dyn KvRead, id: &DeviceId) -> Result<Option<(i64, u64)>, StoreError> {
    let Some(b) = r.get(Key::new(keys::INFORM_HOUR).dev(id).bytes())? else {
        return Ok(None);
    };
    match b.as_slice() {
        [m @ .., _, _, _, _, _, _, _, _] if m.len() == 8 => Ok(Some((
            keys::decode_u64(m)? as i64,
            keys::decode_u64(&b[8..])?,
        ))),
        _ => Err(StoreError::Corrupt(format!("inform hour of {id}"))),
    }
}

/// Files a device in the last-inform index under the hour of its effective last-inform time,
/// the later of `meta_ms` (its metadata's) and `noted_ms` (its last [`Op::NoteInform`]). Reads
/// one small record; moves the index entry only when the hour changes.
fn file_inform_hour(
    w: &mut dyn KvWrite,
    id: &DeviceId,
    meta_ms: i64,
    noted_ms: Option<i64>,
) -> Result<(), StoreError> {
    let new = hour(noted_ms.map_or(meta_ms, |n| n.max(meta_ms)));
    let old = inform_record(w, id)?;
    if old == Some((meta_ms, new)) {
        return Ok(());
    }
    match old {
        Some((_, h)) if h == new => {}
        _ => {
            if let Some((_, h)) = old {
                w.delete(inform_index_key(h, id).bytes())?;
            }
            w.put(inform_index_key(new, id).bytes(), &[])?;
        }
    }
    put_inform_record(w, id, meta_ms, new)
}

/// Files a device that has no last-inform record yet (just created).
fn new_inform_hour(w: &mut dyn KvWrite, id: &DeviceId, meta_ms: i64) -> Result<(), StoreError> {
    let h = hour(meta_ms);
    w.put(inform_index_key(h, id).bytes(), &[])?;
    put_inform_record(w, id, meta_ms, h)
}

fn put_inform_record(
    w: &mut dyn KvWrite,
    id: &DeviceId,
    meta_ms: i64,
    hour: u64,
) -> Result<(), StoreError> {
    let mut record = (meta_ms as u64).to_be_bytes().to_vec();
    record.extend_from_slice(&hour.to_be_bytes());
    w.put(Key::new(keys::INFORM_HOUR).dev(id).bytes(), &record)
}

/// Files every device in the last-inform index (a store written before the index existed);
/// returns how many. Idempotent.
pub(crate) fn reindex_informs(w: &mut dyn KvWrite) -> Result<u64, StoreError> {
    let space = Key::new(keys::META);
    let metas = w.range(space.bytes(), &space.prefix_end(), usize::MAX)?;
    let mut n = 0;
    for (k, bytes) in metas {
        let id = KeyReader::new(&k, keys::META)?.dev()?;
        let rec: MetaRecord<DeviceMeta> = codec::decode(&bytes, &|| format!("device {id}"))?;
        let noted = noted_inform(w, &id)?;
        file_inform_hour(w, &id, rec.meta.last_inform_ms, noted)?;
        n += 1;
    }
    Ok(n)
}

fn put_device(
    w: &mut dyn KvWrite,
    meta: DeviceMeta,
    expect: Expect,
) -> Result<Outcome, StoreError> {
    let old = read_meta(w, &meta.id)?;
    let current = old.as_ref().map(|o| o.revision);
    let ok = match expect {
        Expect::Absent => current.is_none(),
        Expect::Revision(r) => current == Some(r),
        Expect::Any => true,
    };
    if !ok {
        return Ok(Outcome::Conflict { current });
    }
    // A periodic Inform changes no indexed field: skip building and diffing the key sets.
    if !old
        .as_ref()
        .is_some_and(|o| same_index_fields(&o.value, &meta))
    {
        let old_keys = old
            .as_ref()
            .map(|o| index_keys(&o.value))
            .unwrap_or_default();
        let new_keys = index_keys(&meta);
        for stale in old_keys.difference(&new_keys) {
            w.delete(stale)?;
        }
        for fresh in new_keys.difference(&old_keys) {
            w.put(fresh, &[])?;
        }
    }
    let revision = current.map_or(1, |r| r + 1);
    let key = Key::new(keys::META).dev(&meta.id);
    w.put(
        key.bytes(),
        &codec::encode(&MetaRecord {
            revision,
            meta: &meta,
        })?,
    )?;
    if old.is_none() {
        bump_counter(w, DEVICES, |n| n + 1)?;
        // A new device has no noted time and no index entry yet: file it without reading.
        new_inform_hour(w, &meta.id, meta.last_inform_ms)?;
    } else if inform_record(w, &meta.id)?.is_none_or(|(m, _)| m != meta.last_inform_ms) {
        // Only a changed metadata time can move the device in the index.
        let noted = noted_inform(w, &meta.id)?;
        file_inform_hour(w, &meta.id, meta.last_inform_ms, noted)?;
    }
    Ok(Outcome::Done {
        revision: Some(revision),
        task_id: None,
    })
}

fn delete_device(w: &mut dyn KvWrite, id: &DeviceId) -> Result<(), StoreError> {
    if let Some(old) = read_meta(w, id)? {
        for key in index_keys(&old.value) {
            w.delete(&key)?;
        }
        w.delete(Key::new(keys::META).dev(id).bytes())?;
        w.delete(Key::new(keys::INFORMED).dev(id).bytes())?;
        if let Some((_, h)) = inform_record(w, id)? {
            w.delete(inform_index_key(h, id).bytes())?;
            w.delete(Key::new(keys::INFORM_HOUR).dev(id).bytes())?;
        }
        bump_counter(w, DEVICES, |n| n.saturating_sub(1))?;
    }
    tree::clear(w, id)?;
    for task in task_ids_of(w, id)? {
        delete_task(w, task)?;
    }
    delete_prefix(w, &Key::new(keys::FAULT).dev(id))
}

/// True when two records of the same device imply the same index keys.
fn same_index_fields(a: &DeviceMeta, b: &DeviceMeta) -> bool {
    a.identity.serial_number == b.identity.serial_number
        && a.identity.oui == b.identity.oui
        && a.identity.product_class == b.identity.product_class
        && a.macs == b.macs
        && a.tags == b.tags
}

/// Every index key a metadata record implies; diffing two of these sets keeps indexes exact.
fn index_keys(meta: &DeviceMeta) -> BTreeSet<Vec<u8>> {
    let mut entries: Vec<(Index, String)> = Vec::new();
    if !meta.identity.serial_number.is_empty() {
        entries.push((Index::Serial, meta.identity.serial_number.clone()));
    }
    entries.extend(
        meta.macs
            .iter()
            .map(|m| (Index::Mac, index_value(Index::Mac, m))),
    );
    if !(meta.identity.oui.is_empty() && meta.identity.product_class.is_empty()) {
        entries.push((Index::Model, meta.model_key()));
    }
    if !meta.identity.product_class.is_empty() {
        entries.push((Index::ProductClass, meta.identity.product_class.clone()));
    }
    entries.extend(meta.tags.iter().map(|t| (Index::Tag, t.clone())));
    entries
        .into_iter()
        .map(|(index, value)| {
            Key::new(keys::INDEX)
                .byte(index.tag())
                .str(&value)
                .dev(&meta.id)
                .bytes()
                .to_vec()
        })
        .collect()
}

/// MACs are indexed and looked up in normal form, so any accepted spelling finds the device.
fn index_value(index: Index, key: &str) -> String {
    match index {
        Index::Mac => normalize_mac(key).unwrap_or_else(|| key.to_owned()),
        _ => key.to_owned(),
    }
}

pub(super) fn counter(r: &dyn KvRead, name: &str) -> Result<u64, StoreError> {
    r.get(Key::new(keys::COUNTER).str(name).bytes())?
        .map_or(Ok(0), |b| keys::decode_u64(&b))
}

pub(super) fn bump_counter(
    w: &mut dyn KvWrite,
    name: &str,
    f: impl FnOnce(u64) -> u64,
) -> Result<(), StoreError> {
    let next = f(counter(w, name)?);
    w.put(
        Key::new(keys::COUNTER).str(name).bytes(),
        &next.to_be_bytes(),
    )
}

/// Deletes every key that starts with `prefix`.
fn delete_prefix(w: &mut dyn KvWrite, prefix: &Key) -> Result<(), StoreError> {
    for (key, _) in w.range(prefix.bytes(), &prefix.prefix_end(), usize::MAX)? {
        w.delete(&key)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DeviceStore, Identity};

    /// A store written before the last-inform index existed is indexed when it is opened.
    #[test]
    fn an_older_store_gets_its_last_inform_index_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.redb");
        let ids: Vec<DeviceId> = (0..3)
            .map(|i| DeviceId::parse(&format!("A-B-{i}")).unwrap())
            .collect();
        {
            let store = crate::open_redb(&path).unwrap();
            for (i, id) in ids.iter().enumerate() {
                let mut meta = DeviceMeta::new(id.clone(), Identity::default());
                meta.last_inform_ms = 1_000_000_000 + i as i64 * INFORM_BUCKET_MS;
                store
                    .apply(vec![Op::PutDevice {
                        meta,
                        expect: Expect::Absent,
                    }])
                    .unwrap();
            }
            assert_eq!(store.scan_informed(None, None).unwrap().len(), 3);
            // Take the store back to the layout before the index.
            store
                .forget_inform_index_for_tests()
                .expect("forget the index");
            assert!(store.scan_informed(None, None).unwrap().is_empty());
        }
        let store = crate::open_redb(&path).unwrap();
        let mut all = store.scan_informed(None, None).unwrap();
        all.sort();
        assert_eq!(all, ids);
        let middle = 1_000_000_000 + INFORM_BUCKET_MS;
        assert_eq!(
            store.scan_informed(Some(middle), Some(middle)).unwrap(),
            vec![ids[1].clone()]
        );
    }
}
