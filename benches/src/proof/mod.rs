//! The whole-system proof scenarios of `proof` (issue 8): a boot storm, scale at rest, crash
//! safety. Each scenario is a function from a config to a report plus the report's rows for the
//! results table (`crate::table`); the harness (`src/bin/proof.rs`) runs them at full size, and
//! the default test suite runs each with a small config (hub/tests/it/proof.rs) so none can rot.

pub mod crash;
pub mod nbi;
pub mod scale;
pub mod storm;

/// A small deterministic generator (xorshift64*), so a scenario's random moments and choices
/// repeat for a given seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed (0 is replaced by a fixed odd constant).
    pub fn new(seed: u64) -> Self {
        Self(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A duration uniformly drawn from `lo..hi` (`lo` when the range is empty).
    pub fn between(
        &mut self,
        lo: std::time::Duration,
        hi: std::time::Duration,
    ) -> std::time::Duration {
        let span = hi.saturating_sub(lo).as_micros() as u64;
        if span == 0 {
            return lo;
        }
        lo + std::time::Duration::from_micros(self.next_u64() % span)
    }
}

/// Percentile (nearest rank) of sorted samples; 0 when there are none.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rng_repeats_for_a_seed_and_stays_in_range() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        for _ in 0..1000 {
            let d = a.between(Duration::from_secs(1), Duration::from_secs(3));
            assert_eq!(d, b.between(Duration::from_secs(1), Duration::from_secs(3)));
            assert!(d >= Duration::from_secs(1) && d < Duration::from_secs(3));
        }
        assert_eq!(
            Rng::new(1).between(Duration::from_secs(2), Duration::from_secs(2)),
            Duration::from_secs(2)
        );
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 50.0);
        assert_eq!(percentile(&v, 0.99), 99.0);
        assert_eq!(percentile(&v, 1.0), 100.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }
}
