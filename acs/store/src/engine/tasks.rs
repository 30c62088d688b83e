//! Task records and their per-device index.
//!
//! Tasks are keyed by id alone (so `task(id)` is one read) and indexed by `(device, id)` so one
//! device's queue is a key range rather than a scan of every task.

use crate::keys::{self, Key, KeyReader};
use crate::kv::{KvRead, KvWrite};
use crate::model::{DeviceId, TaskRecord};
use crate::store::Outcome;
use crate::{StoreError, codec};

use super::{bump_counter, counter};

/// Counter holding the highest task id ever used.
const TASKS: &str = "tasks";

pub(super) fn put_task(w: &mut dyn KvWrite, mut task: TaskRecord) -> Result<Outcome, StoreError> {
    let highest = counter(w, TASKS)?;
    if task.id == 0 {
        task.id = highest
            .checked_add(1)
            .ok_or_else(|| StoreError::Corrupt("task counter exhausted".into()))?;
    }
    // Explicit ids also raise the counter, so an allocated id can never collide with one.
    if task.id > highest {
        bump_counter(w, TASKS, |_| task.id)?;
    }
    if let Some(old) = read_task(w, task.id)?
        && old.device != task.device
    {
        w.delete(
            Key::new(keys::TASK_BY_DEVICE)
                .dev(&old.device)
                .u64(task.id)
                .bytes(),
        )?;
    }
    w.put(
        Key::new(keys::TASK).u64(task.id).bytes(),
        &codec::encode(&task)?,
    )?;
    w.put(
        Key::new(keys::TASK_BY_DEVICE)
            .dev(&task.device)
            .u64(task.id)
            .bytes(),
        &[],
    )?;
    Ok(Outcome::Done {
        revision: None,
        task_id: Some(task.id),
    })
}

pub(super) fn delete_task(w: &mut dyn KvWrite, id: u64) -> Result<(), StoreError> {
    if let Some(old) = read_task(w, id)? {
        w.delete(
            Key::new(keys::TASK_BY_DEVICE)
                .dev(&old.device)
                .u64(id)
                .bytes(),
        )?;
        w.delete(Key::new(keys::TASK).u64(id).bytes())?;
    }
    Ok(())
}

pub(super) fn read_task(r: &dyn KvRead, id: u64) -> Result<Option<TaskRecord>, StoreError> {
    r.get(Key::new(keys::TASK).u64(id).bytes())?
        .map(|bytes| codec::decode(&bytes, &|| format!("task {id}")))
        .transpose()
}

pub(super) fn task_ids_of(r: &dyn KvRead, dev: &DeviceId) -> Result<Vec<u64>, StoreError> {
    let prefix = Key::new(keys::TASK_BY_DEVICE).dev(dev);
    let pairs = r.range(prefix.bytes(), &prefix.prefix_end(), usize::MAX)?;
    pairs
        .iter()
        .map(|(k, _)| {
            let mut r = KeyReader::new(k, keys::TASK_BY_DEVICE)?;
            r.str()?;
            r.u64()
        })
        .collect()
}
