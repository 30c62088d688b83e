//! The sled optical history (cargo feature `sled`).

use std::path::Path;

use super::{
    OpticalHistory, OpticalSample, check_capacity, decode_head, decode_sample, encode_sample,
    finish_range, onu_prefix, slot_key,
};
use crate::error::OltError;
use crate::model::{OltId, OnuKey};

fn err(e: impl std::fmt::Display) -> OltError {
    OltError::Store(e.to_string())
}

/// Optical history in a sled database.
#[derive(Debug)]
pub struct SledHistory {
    db: sled::Db,
    heads: sled::Tree,
    samples: sled::Tree,
    capacity: u32,
}

impl SledHistory {
    /// Opens (or creates) the database directory; `capacity` samples are kept per ONU.
    pub fn open(path: &Path, capacity: usize) -> Result<Self, OltError> {
        let capacity = check_capacity(capacity)?;
        let db = sled::open(path).map_err(err)?;
        let heads = db.open_tree("optical_heads").map_err(err)?;
        let samples = db.open_tree("optical_samples").map_err(err)?;
        Ok(Self {
            db,
            heads,
            samples,
            capacity,
        })
    }
}

impl OpticalHistory for SledHistory {
    fn append(&self, olt: &OltId, samples: &[(OnuKey, OpticalSample)]) -> Result<(), OltError> {
        // One writer per OLT (its actor) owns these keys, so read-then-write needs no
        // transaction; the two batches are flushed together.
        let mut heads = sled::Batch::default();
        let mut rows = sled::Batch::default();
        for (onu, s) in samples {
            let prefix = onu_prefix(olt, *onu);
            let seq = match self.heads.get(&prefix).map_err(err)? {
                Some(v) => decode_head(&v)?,
                None => 0,
            };
            let slot = u32::try_from(seq % u64::from(self.capacity)).unwrap_or(0);
            rows.insert(slot_key(&prefix, slot), encode_sample(seq, s).to_vec());
            heads.insert(prefix, (seq + 1).to_be_bytes().to_vec());
        }
        self.samples.apply_batch(rows).map_err(err)?;
        self.heads.apply_batch(heads).map_err(err)?;
        self.db.flush().map_err(err)?;
        Ok(())
    }

    fn range(
        &self,
        olt: &OltId,
        onu: OnuKey,
        from_ms: u64,
        to_ms: u64,
    ) -> Result<Vec<OpticalSample>, OltError> {
        let prefix = onu_prefix(olt, onu);
        let mut v = Vec::new();
        for item in self.samples.scan_prefix(&prefix) {
            let (k, val) = item.map_err(err)?;
            if k.len() == prefix.len() + 4 {
                v.push(decode_sample(&val)?);
            }
        }
        Ok(finish_range(v, from_ms, to_ms))
    }

    fn trim(&self, olt: &OltId, onu: OnuKey, keep: usize) -> Result<(), OltError> {
        let prefix = onu_prefix(olt, onu);
        let Some(head) = self.heads.get(&prefix).map_err(err)? else {
            return Ok(());
        };
        let cut = decode_head(&head)?.saturating_sub(keep as u64);
        let mut batch = sled::Batch::default();
        for item in self.samples.scan_prefix(&prefix) {
            let (k, val) = item.map_err(err)?;
            if k.len() == prefix.len() + 4 && decode_sample(&val)?.0 < cut {
                batch.remove(k);
            }
        }
        self.samples.apply_batch(batch).map_err(err)?;
        self.db.flush().map_err(err)?;
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.capacity as usize
    }
}
