//! Per-device leases, held in memory.
//!
//! Both embedded engines are single-process (redb takes a file lock; sled locks its directory),
//! so every ACS worker that can reach the store lives in this process and an in-memory table is
//! the whole truth. Persisting leases would only add an fsync per session start and stale leases
//! after a crash. A shared multi-node backend (Postgres) would need leases in the database.
//! Times come from the store's [`crate::Clock`], read by the embedded adapter on each call.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use crate::model::DeviceId;

/// Who holds which device's lease, and until when.
#[derive(Debug, Default)]
pub(crate) struct Leases {
    held: Mutex<HashMap<DeviceId, (u64, i64)>>,
}

impl Leases {
    /// Grants the lease if it is free, expired, or already `owner`'s (which extends it).
    pub(crate) fn try_lease(&self, id: &DeviceId, owner: u64, now_ms: i64, ttl_ms: i64) -> bool {
        // A poisoned lock only means another thread panicked mid-update of a plain map; the map
        // itself is still consistent, so keep going rather than cascading the panic.
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(&(holder, until)) = held.get(id)
            && holder != owner
            && until > now_ms
        {
            return false;
        }
        held.insert(id.clone(), (owner, now_ms.saturating_add(ttl_ms)));
        true
    }

    /// Drops the lease if `owner` holds it.
    pub(crate) fn release(&self, id: &DeviceId, owner: u64) {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        if held.get(id).is_some_and(|&(holder, _)| holder == owner) {
            held.remove(id);
        }
    }
}
