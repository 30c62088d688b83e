//! Session outcomes and latency statistics of a fleet run.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

/// What one CPE session did, as seen by the CPE.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionReport {
    /// Event codes of the Inform (`0 BOOTSTRAP`, `M Reboot`, …).
    pub events: Vec<String>,
    /// Names of the RPCs the ACS sent, in order (`GetParameterValues`, …).
    pub acs_requests: Vec<String>,
    /// Fault codes the CPE answered with, in order.
    pub faults: Vec<u32>,
    /// Names of the requests the CPE sent after its Inform (`TransferComplete`, …), in order.
    pub cpe_requests: Vec<String>,
    /// Whether an ACS message of the session set HoldRequests.
    pub held: bool,
    /// Whether the session ended with 204 (rather than an empty 200).
    pub ended_204: bool,
    /// Wall-clock time from the first connect to the end of the session.
    pub latency: Duration,
}

/// The summary printed as one JSON line when `cpe-sim` exits.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct FleetReport {
    /// Sessions that ended cleanly.
    pub sessions_ok: u64,
    /// Sessions that failed (network, HTTP, auth, protocol, retry requested).
    pub sessions_failed: u64,
    /// Median latency of successful sessions, in milliseconds.
    pub p50_ms: f64,
    /// 99th-percentile latency of successful sessions, in milliseconds.
    pub p99_ms: f64,
    /// Slowest successful session, in milliseconds.
    pub max_ms: f64,
    /// Number of virtual CPEs.
    pub cpes: usize,
    /// CPEs that completed at least one session.
    pub cpes_contacted: usize,
    /// CPEs that completed at least one session (the fleet's own count, not the ACS's).
    pub cpes_done: usize,
    /// Seconds since the fleet started.
    pub elapsed_s: f64,
    /// Failed sessions by cause.
    pub failures: BTreeMap<String, u64>,
    /// Connection requests accepted.
    pub connection_requests: u64,
    /// Connection requests refused (bad credentials, busy, unknown CPE).
    pub connection_requests_refused: u64,
}

/// Latency samples kept at most; beyond this, reservoir sampling keeps the percentiles honest
/// without unbounded memory.
const MAX_SAMPLES: usize = 1 << 20;

/// Running counters of a fleet.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) ok: u64,
    pub(crate) failed: u64,
    latencies_us: Vec<u32>,
    pub(crate) failures: BTreeMap<String, u64>,
    pub(crate) cr_ok: u64,
    pub(crate) cr_refused: u64,
}

impl Stats {
    /// Records a successful session's latency.
    pub(crate) fn record_ok(&mut self, latency: Duration) {
        self.ok += 1;
        let us = u32::try_from(latency.as_micros()).unwrap_or(u32::MAX);
        if self.latencies_us.len() < MAX_SAMPLES {
            self.latencies_us.push(us);
        } else {
            let slot = rand::random_range(0..self.ok);
            if let Some(s) = self.latencies_us.get_mut(slot as usize) {
                *s = us;
            }
        }
    }

    /// Records a failed session under its cause.
    pub(crate) fn record_failed(&mut self, cause: &str) {
        self.failed += 1;
        *self.failures.entry(cause.to_owned()).or_default() += 1;
    }

    /// The summary so far.
    pub(crate) fn report(&self, cpes: usize, contacted: usize, elapsed: Duration) -> FleetReport {
        let mut sorted = self.latencies_us.clone();
        sorted.sort_unstable();
        FleetReport {
            sessions_ok: self.ok,
            sessions_failed: self.failed,
            p50_ms: percentile_ms(&sorted, 0.50),
            p99_ms: percentile_ms(&sorted, 0.99),
            max_ms: sorted.last().map_or(0.0, |&u| f64::from(u) / 1000.0),
            cpes,
            cpes_contacted: contacted,
            cpes_done: 0,
            elapsed_s: elapsed.as_secs_f64(),
            failures: self.failures.clone(),
            connection_requests: self.cr_ok,
            connection_requests_refused: self.cr_refused,
        }
    }
}

/// Nearest-rank percentile of sorted microsecond samples, in milliseconds (0 when empty).
fn percentile_ms(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    let i = rank.clamp(1, sorted.len()) - 1;
    f64::from(sorted[i]) / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let mut s = Stats::default();
        for ms in 1..=100u64 {
            s.record_ok(Duration::from_millis(ms));
        }
        s.record_failed("timeout");
        let r = s.report(3, 2, Duration::from_secs(1));
        assert_eq!((r.p50_ms, r.p99_ms, r.max_ms), (50.0, 99.0, 100.0));
        assert_eq!((r.sessions_ok, r.sessions_failed), (100, 1));
        assert_eq!(r.failures.get("timeout"), Some(&1));
        assert_eq!(percentile_ms(&[], 0.5), 0.0);
        let line = serde_json::to_string(&r).unwrap();
        assert!(line.starts_with("{\"sessions_ok\":100,\"sessions_failed\":1,\"p50_ms\":50.0"));
    }
}
