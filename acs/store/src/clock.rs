//! The store's clock: the one source of time for leases.
//!
//! A lease is only meaningful if every holder measures it with the same clock, so callers do not
//! pass `now`: the store reads its own [`Clock`]. The embedded engines use [`SystemClock`]; a
//! network database will answer with its server's time, which is the one clock every node of a
//! cluster agrees on. Tests inject a [`ManualClock`] and move time by hand.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// A source of milliseconds since the Unix epoch.
pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch. Successive calls never go backwards.
    fn now_ms(&self) -> i64;
}

/// Wall time read from a monotonic base: the wall clock is sampled once, at creation, and then
/// advanced by a monotonic clock, so a step of the system clock (NTP, an operator) cannot make
/// time run backwards and shorten or stretch a lease.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    base: (Instant, SystemTime),
}

impl SystemClock {
    /// A clock starting at the current wall time.
    pub fn new() -> Self {
        Self {
            base: (Instant::now(), SystemTime::now()),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        let wall = self.base.1 + self.base.0.elapsed();
        // A wall clock before 1970 is a broken host; reading it as the epoch keeps time total.
        wall.duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }
}

/// A clock that moves only when told to, for tests in virtual time.
#[derive(Debug, Default)]
pub struct ManualClock {
    now: AtomicI64,
}

impl ManualClock {
    /// A clock reading `now_ms` until moved.
    pub fn new(now_ms: i64) -> Self {
        Self {
            now: AtomicI64::new(now_ms),
        }
    }

    /// Sets the time. Setting it backwards is allowed (tests may want it), though a real clock
    /// never does that.
    pub fn set(&self, now_ms: i64) {
        self.now.store(now_ms, Ordering::SeqCst);
    }

    /// Moves the time forward by `ms`.
    pub fn advance(&self, ms: i64) {
        self.now.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.now.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_clock_is_wall_time_and_never_runs_backwards() {
        let clock = SystemClock::new();
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let mut last = clock.now_ms();
        assert!((last - wall).abs() < 1_000, "{last} vs {wall}");
        for _ in 0..1_000 {
            let now = clock.now_ms();
            assert!(now >= last);
            last = now;
        }
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(1_000);
        assert_eq!(clock.now_ms(), 1_000);
        clock.advance(250);
        assert_eq!(clock.now_ms(), 1_250);
        clock.set(5);
        assert_eq!(clock.now_ms(), 5);
    }
}
