//! How long a CPE refused for overload (503) is told to wait. A fixed range either wastes the
//! ACS's capacity (every refused CPE waits minutes while the ACS sits idle again after seconds)
//! or brings the herd back too soon. So the Retry-After is drawn between the configured minimum
//! and the time the ACS needs to serve the Informs it refused lately, at the rate it has been
//! completing sessions: a herd is spread exactly over the drain time, capped by the maximum.
//!
//! Only the 503 path touches this: the figures come from the metrics' counters, sampled once a
//! second while refusals happen.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How far back the completion rate and the refusals are counted.
const WINDOW: Duration = Duration::from_secs(10);
/// Sessions are assumed to take at most this long when too few have completed to measure a
/// rate (at the very start of a storm): the session cap over this is the lowest rate assumed.
const ASSUMED_SESSION: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy)]
struct Sample {
    at: Instant,
    completed: u64,
    refused: u64,
}

/// The samples behind the Retry-After.
#[derive(Debug, Default)]
pub(crate) struct Backpressure {
    samples: Mutex<VecDeque<Sample>>,
}

/// The counters and settings one decision reads.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Load {
    /// Sessions completed so far (a monotonic counter).
    pub(crate) completed: u64,
    /// Informs refused with 503 so far, this one included (a monotonic counter).
    pub(crate) refused: u64,
    /// The concurrent-session cap.
    pub(crate) max_sessions: usize,
    /// The configured Retry-After range, seconds.
    pub(crate) range: (u32, u32),
}

impl Backpressure {
    /// Seconds of Retry-After for one refused Inform; `unit_random` in [0, 1] picks within the
    /// spread.
    pub(crate) fn retry_after(&self, now: Instant, load: Load, unit_random: f64) -> u32 {
        let current = Sample {
            at: now,
            completed: load.completed,
            refused: load.refused,
        };
        let mut samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        if samples
            .back()
            .is_none_or(|b| now.saturating_duration_since(b.at) >= Duration::from_secs(1))
        {
            samples.push_back(current);
        }
        while samples.len() > 1
            && samples
                .front()
                .is_some_and(|f| now.saturating_duration_since(f.at) > WINDOW)
        {
            samples.pop_front();
        }
        let first = samples.front().copied().unwrap_or(current);
        drop(samples);
        let (lo, hi) = (load.range.0.min(load.range.1), load.range.1);
        let elapsed = now
            .saturating_duration_since(first.at)
            .as_secs_f64()
            .max(1.0);
        let floor = load.max_sessions.max(1) as f64 / ASSUMED_SESSION.as_secs_f64();
        let rate = (load.completed.saturating_sub(first.completed) as f64 / elapsed).max(floor);
        // Refused within the window, this one included.
        let backlog = load.refused.saturating_sub(first.refused).max(1) as f64;
        let drain = backlog / rate;
        let upper = (f64::from(lo) + drain).ceil().min(f64::from(hi));
        let r = if unit_random.is_finite() {
            unit_random.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let secs = f64::from(lo) + (upper - f64::from(lo)).max(0.0) * r;
        (secs.round() as u32).clamp(lo, hi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(completed: u64, refused: u64) -> Load {
        Load {
            completed,
            refused,
            max_sessions: 100,
            range: (1, 180),
        }
    }

    #[test]
    fn a_lone_refusal_waits_the_minimum() {
        let b = Backpressure::default();
        let t = Instant::now();
        assert_eq!(b.retry_after(t, load(0, 1), 0.0), 1);
        // One refusal drains in a fraction of a second: the spread is the next whole second.
        assert_eq!(b.retry_after(t, load(0, 2), 1.0), 2);
    }

    #[test]
    fn a_herd_is_spread_over_the_drain_time() {
        let b = Backpressure::default();
        let t = Instant::now();
        b.retry_after(t, load(0, 1), 0.5);
        // Ten seconds later: 1,000 sessions served (100/s) and 3,001 refusals since: 30 s to
        // serve them.
        let t = t + Duration::from_secs(10);
        assert_eq!(b.retry_after(t, load(1_000, 3_001), 1.0), 31);
        assert_eq!(b.retry_after(t, load(1_000, 3_002), 0.0), 1);
        let mid = b.retry_after(t, load(1_000, 3_003), 0.5);
        assert!((15..=17).contains(&mid), "{mid}");
    }

    #[test]
    fn the_maximum_caps_and_old_refusals_age_out() {
        let b = Backpressure::default();
        let t = Instant::now();
        b.retry_after(t, load(0, 1), 0.5);
        let t1 = t + Duration::from_secs(5);
        assert_eq!(b.retry_after(t1, load(10, 1_000_000), 1.0), 180);
        // Thirty seconds on, the old samples are gone: only what happened since counts.
        let t2 = t + Duration::from_secs(35);
        b.retry_after(t2, load(10_000, 1_000_000), 0.5);
        let t3 = t2 + Duration::from_secs(5);
        assert!(b.retry_after(t3, load(15_000, 1_000_001), 1.0) <= 2);
    }

    #[test]
    fn odd_inputs_stay_in_range() {
        let b = Backpressure::default();
        let t = Instant::now();
        for r in [f64::NAN, -3.0, 7.0, f64::INFINITY] {
            let s = b.retry_after(t, load(0, u64::MAX), r);
            assert!((1..=180).contains(&s), "{s}");
        }
        let reversed = Load {
            range: (9, 3),
            ..load(0, 1)
        };
        assert_eq!(b.retry_after(t, reversed, 1.0), 3);
    }
}
