//! The redb optical history (the default engine).

use std::path::Path;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::{
    OpticalHistory, OpticalSample, check_capacity, decode_sample, encode_sample, finish_range,
    onu_prefix, slot_key,
};
use crate::error::OltError;
use crate::model::{OltId, OnuKey};

const HEADS: TableDefinition<&[u8], u64> = TableDefinition::new("optical_heads");
const SAMPLES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("optical_samples");

fn err(e: impl std::fmt::Display) -> OltError {
    OltError::Store(e.to_string())
}

/// Optical history in a redb file.
#[derive(Debug)]
pub struct RedbHistory {
    db: Database,
    capacity: u32,
}

impl RedbHistory {
    /// Opens (or creates) the file; `capacity` samples are kept per ONU.
    pub fn open(path: &Path, capacity: usize) -> Result<Self, OltError> {
        let capacity = check_capacity(capacity)?;
        let db = Database::create(path).map_err(err)?;
        let w = db.begin_write().map_err(err)?;
        w.open_table(HEADS).map_err(err)?;
        w.open_table(SAMPLES).map_err(err)?;
        w.commit().map_err(err)?;
        Ok(Self { db, capacity })
    }
}

impl OpticalHistory for RedbHistory {
    fn append(&self, olt: &OltId, samples: &[(OnuKey, OpticalSample)]) -> Result<(), OltError> {
        let w = self.db.begin_write().map_err(err)?;
        {
            let mut heads = w.open_table(HEADS).map_err(err)?;
            let mut table = w.open_table(SAMPLES).map_err(err)?;
            for (onu, s) in samples {
                let prefix = onu_prefix(olt, *onu);
                let seq = heads
                    .get(prefix.as_slice())
                    .map_err(err)?
                    .map_or(0, |g| g.value());
                let slot = u32::try_from(seq % u64::from(self.capacity)).unwrap_or(0);
                table
                    .insert(
                        slot_key(&prefix, slot).as_slice(),
                        encode_sample(seq, s).as_slice(),
                    )
                    .map_err(err)?;
                heads.insert(prefix.as_slice(), seq + 1).map_err(err)?;
            }
        }
        w.commit().map_err(err)
    }

    fn range(
        &self,
        olt: &OltId,
        onu: OnuKey,
        from_ms: u64,
        to_ms: u64,
    ) -> Result<Vec<OpticalSample>, OltError> {
        let prefix = onu_prefix(olt, onu);
        let r = self.db.begin_read().map_err(err)?;
        let table = r.open_table(SAMPLES).map_err(err)?;
        let lo = slot_key(&prefix, 0);
        let hi = slot_key(&prefix, u32::MAX);
        let mut v = Vec::new();
        for item in table.range(lo.as_slice()..=hi.as_slice()).map_err(err)? {
            let (_, val) = item.map_err(err)?;
            v.push(decode_sample(val.value())?);
        }
        Ok(finish_range(v, from_ms, to_ms))
    }

    fn trim(&self, olt: &OltId, onu: OnuKey, keep: usize) -> Result<(), OltError> {
        let prefix = onu_prefix(olt, onu);
        let w = self.db.begin_write().map_err(err)?;
        {
            let heads = w.open_table(HEADS).map_err(err)?;
            let Some(head) = heads
                .get(prefix.as_slice())
                .map_err(err)?
                .map(|g| g.value())
            else {
                return Ok(());
            };
            let cut = head.saturating_sub(keep as u64);
            let mut table = w.open_table(SAMPLES).map_err(err)?;
            let lo = slot_key(&prefix, 0);
            let hi = slot_key(&prefix, u32::MAX);
            let mut doomed = Vec::new();
            for item in table.range(lo.as_slice()..=hi.as_slice()).map_err(err)? {
                let (k, val) = item.map_err(err)?;
                if decode_sample(val.value())?.0 < cut {
                    doomed.push(k.value().to_vec());
                }
            }
            for k in doomed {
                table.remove(k.as_slice()).map_err(err)?;
            }
        }
        w.commit().map_err(err)
    }

    fn capacity(&self) -> usize {
        self.capacity as usize
    }
}
