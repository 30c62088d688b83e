//! The whole-system proof scenarios of `proof` (issue 8): a boot storm, scale at rest, crash
//! safety. Each scenario is a function from a config to a report plus the report's rows for the
//! results table (`crate::table`); the harness (`src/bin/proof.rs`) runs them at full size, and
//! the default test suite runs each with a small config (benches/tests/proof/scenarios.rs) so none can rot.

pub mod crash;
pub mod nbi;
pub mod scale;
pub mod storm;

pub use crate::rng::Rng;

/// Wall-clock time in ms since the Unix epoch (what the ACS stamps last Informs with).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The report a finished `cpe-sim` printed as its last line, or why there is none.
pub fn cpe_sim_report(out: &std::process::Output) -> anyhow::Result<fibreplane_lab::FleetReport> {
    use anyhow::Context as _;
    if !out.status.success() {
        anyhow::bail!("cpe-sim failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().context("cpe-sim printed nothing")?;
    serde_json::from_str(line).with_context(|| format!("cpe-sim report: {line}"))
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

    #[test]
    fn percentiles_use_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 50.0);
        assert_eq!(percentile(&v, 0.99), 99.0);
        assert_eq!(percentile(&v, 1.0), 100.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }
}
