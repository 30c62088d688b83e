//! The proof harness's results: one [`Row`] per figure, gathered from every scenario and
//! written as one table (figure, measured, target, baseline, ratio, command, machine) into
//! benches/README.md between the `proof` markers.

use std::fmt::Write as _;

/// One measured figure of a scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Scenario name as the harness knows it (`boot-storm`, `scale`, `crash`, ...).
    pub scenario: &'static str,
    /// What was measured, in words.
    pub figure: String,
    /// The figure, formatted with its unit.
    pub measured: String,
    /// The target from the issue, or `—`.
    pub target: String,
    /// The baseline measured in the same run (formatted), or `—` when none exists.
    pub baseline: String,
    /// measured / baseline, when both are numbers with the same unit.
    pub ratio: Option<f64>,
    /// Whether the target is met (`None` when there is no target).
    pub met: Option<bool>,
}

impl Row {
    /// A row without baseline or target.
    pub fn new(
        scenario: &'static str,
        figure: impl Into<String>,
        measured: impl Into<String>,
    ) -> Self {
        Self {
            scenario,
            figure: figure.into(),
            measured: measured.into(),
            target: "—".into(),
            baseline: "—".into(),
            ratio: None,
            met: None,
        }
    }

    /// Adds a target and whether it is met.
    pub fn target(mut self, target: impl Into<String>, met: bool) -> Self {
        self.target = target.into();
        self.met = Some(met);
        self
    }

    /// Adds a baseline measured in the same run, and the ratio measured / baseline.
    pub fn baseline(mut self, baseline: impl Into<String>, ratio: Option<f64>) -> Self {
        self.baseline = baseline.into();
        self.ratio = ratio.filter(|r| r.is_finite());
        self
    }
}

/// The machine the figures come from: cores and CPU model, from /proc.
pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, m)| m.trim().to_owned())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem_kb: u64 = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    format!(
        "{cores} cores, {model}, {:.1} GiB RAM",
        mem_kb as f64 / 1_048_576.0
    )
}

/// The table as Markdown: a header line with the machine and command, then one row per figure.
pub fn markdown(rows: &[Row], command: &str, machine: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Machine: {machine}. Command: `{command}`\n");
    out.push_str("| Scenario | Figure | Measured | Target | Baseline (same run) | Ratio |\n");
    out.push_str("|---|---|---|---|---|---|\n");
    for r in rows {
        let target = match r.met {
            Some(true) => format!("{} ✔", r.target),
            Some(false) => format!("{} ✘", r.target),
            None => r.target.clone(),
        };
        let ratio = r
            .ratio
            .map_or_else(|| "—".to_owned(), |x| format!("{x:.2}×"));
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            r.scenario, r.figure, r.measured, target, r.baseline, ratio
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_render_with_target_marks_and_ratios() {
        let rows = vec![
            Row::new("boot-storm", "all sessions done", "97 s")
                .target("≤ 120 s", true)
                .baseline("—", None),
            Row::new("scale", "periodic sessions/s", "7,100/s")
                .baseline("7,400/s (empty store)", Some(7100.0 / 7400.0)),
            Row::new("hostile", "panics", "0").target("0", true),
            Row::new("crash", "lost tasks", "1")
                .target("0", false)
                .baseline("x", Some(f64::NAN)),
        ];
        let md = markdown(
            &rows,
            "cargo run -p fibreplane-benches --release --bin proof -- all",
            "2 cores",
        );
        assert!(md.starts_with("Machine: 2 cores. Command: `cargo run"));
        assert!(md.contains("| boot-storm | all sessions done | 97 s | ≤ 120 s ✔ | — | — |"));
        assert!(md.contains("| 7,400/s (empty store) | 0.96× |"));
        assert!(
            md.contains("| crash | lost tasks | 1 | 0 ✘ | x | — |"),
            "{md}"
        );
        assert_eq!(md.lines().count(), 2 + 2 + rows.len());
    }
}
