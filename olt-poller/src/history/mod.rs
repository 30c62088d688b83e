//! The optical-history store: a bounded ring of samples per ONU, for trend plots.
//!
//! The domain trait [`OpticalHistory`] is all the rest of the crate sees; `redb` (default) and
//! `sled` (cargo feature `sled`) implement it, and one conformance suite runs against both.
//! Layout (both engines): a head table `ONU → next sequence number` and a sample table
//! `ONU ‖ slot → sample`, where `slot = seq % capacity`: an append overwrites the oldest slot in
//! O(1), without scanning the ONU's history.

mod redb_backend;
#[cfg(feature = "sled")]
mod sled_backend;

pub use redb_backend::RedbHistory;
#[cfg(feature = "sled")]
pub use sled_backend::SledHistory;

use crate::error::OltError;
use crate::model::{Dbm, OltId, OnuKey};

/// One optical sample of one ONU.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct OpticalSample {
    /// When it was polled (Unix milliseconds).
    pub at_ms: u64,
    /// ONU receive level.
    pub rx_dbm: Option<Dbm>,
    /// ONU transmit level.
    pub tx_dbm: Option<Dbm>,
    /// Level received at the OLT.
    pub olt_rx_dbm: Option<Dbm>,
}

/// Bounded optical history per ONU.
pub trait OpticalHistory: Send + Sync {
    /// Appends one sample per listed ONU, atomically; each ONU keeps at most
    /// [`capacity`](Self::capacity) samples, the oldest dropped first.
    fn append(&self, olt: &OltId, samples: &[(OnuKey, OpticalSample)]) -> Result<(), OltError>;
    /// Samples of one ONU with `from_ms <= at_ms <= to_ms`, oldest first.
    fn range(
        &self,
        olt: &OltId,
        onu: OnuKey,
        from_ms: u64,
        to_ms: u64,
    ) -> Result<Vec<OpticalSample>, OltError>;
    /// Keeps only the newest `keep` samples of one ONU.
    fn trim(&self, olt: &OltId, onu: OnuKey, keep: usize) -> Result<(), OltError>;
    /// Samples kept per ONU.
    fn capacity(&self) -> usize;
}

/// `len(olt) ‖ olt ‖ ifIndex ‖ onuId`, big-endian, so one ONU's keys are one contiguous range.
pub(crate) fn onu_prefix(olt: &OltId, onu: OnuKey) -> Vec<u8> {
    let name = olt.as_str().as_bytes();
    let mut k = Vec::with_capacity(name.len() + 9);
    // OltId::new caps names at 128 bytes, so the length fits one byte.
    k.push(u8::try_from(name.len()).unwrap_or(u8::MAX));
    k.extend_from_slice(name);
    k.extend_from_slice(&onu.if_index.to_be_bytes());
    k.extend_from_slice(&onu.onu_id.to_be_bytes());
    k
}

pub(crate) fn slot_key(prefix: &[u8], slot: u32) -> Vec<u8> {
    let mut k = prefix.to_vec();
    k.extend_from_slice(&slot.to_be_bytes());
    k
}

const NONE: i32 = i32::MIN;
pub(crate) const SAMPLE_LEN: usize = 28;

fn milli(d: Option<Dbm>) -> i32 {
    #[allow(clippy::cast_possible_truncation)] // Levels are within ±100 dBm.
    d.map_or(NONE, |d| (d.0 * 1000.0).round() as i32)
}

fn from_milli(v: i32) -> Option<Dbm> {
    (v != NONE).then(|| Dbm(f64::from(v) / 1000.0))
}

/// `seq ‖ at_ms ‖ rx ‖ tx ‖ olt_rx` (milli-dBm, i32::MIN = none).
pub(crate) fn encode_sample(seq: u64, s: &OpticalSample) -> [u8; SAMPLE_LEN] {
    let mut b = [0u8; SAMPLE_LEN];
    b[0..8].copy_from_slice(&seq.to_be_bytes());
    b[8..16].copy_from_slice(&s.at_ms.to_be_bytes());
    b[16..20].copy_from_slice(&milli(s.rx_dbm).to_be_bytes());
    b[20..24].copy_from_slice(&milli(s.tx_dbm).to_be_bytes());
    b[24..28].copy_from_slice(&milli(s.olt_rx_dbm).to_be_bytes());
    b
}

pub(crate) fn decode_sample(b: &[u8]) -> Result<(u64, OpticalSample), OltError> {
    let b: &[u8; SAMPLE_LEN] = b
        .try_into()
        .map_err(|_| OltError::Store(format!("sample of {} bytes", b.len())))?;
    let u64_at = |i: usize| u64::from_be_bytes(b[i..i + 8].try_into().unwrap_or_default());
    let i32_at = |i: usize| i32::from_be_bytes(b[i..i + 4].try_into().unwrap_or_default());
    Ok((
        u64_at(0),
        OpticalSample {
            at_ms: u64_at(8),
            rx_dbm: from_milli(i32_at(16)),
            tx_dbm: from_milli(i32_at(20)),
            olt_rx_dbm: from_milli(i32_at(24)),
        },
    ))
}

#[cfg_attr(not(feature = "sled"), allow(dead_code))]
pub(crate) fn decode_head(b: &[u8]) -> Result<u64, OltError> {
    Ok(u64::from_be_bytes(
        b.try_into()
            .map_err(|_| OltError::Store("bad head".into()))?,
    ))
}

/// Sorts scanned `(seq, sample)` pairs oldest first and filters by time.
pub(crate) fn finish_range(
    mut v: Vec<(u64, OpticalSample)>,
    from_ms: u64,
    to_ms: u64,
) -> Vec<OpticalSample> {
    v.sort_by_key(|(seq, _)| *seq);
    v.into_iter()
        .map(|(_, s)| s)
        .filter(|s| (from_ms..=to_ms).contains(&s.at_ms))
        .collect()
}

pub(crate) fn check_capacity(capacity: usize) -> Result<u32, OltError> {
    u32::try_from(capacity)
        .ok()
        .filter(|c| *c > 0)
        .ok_or_else(|| OltError::Config(format!("history capacity {capacity} out of range")))
}
