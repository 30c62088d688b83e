//! Faults of neighbours (issue 8, item 5): an OLT that stops answering, a Chromium process
//! killed mid-read, ERPNext down, the MQTT broker restarting — one after another on the same
//! running `fibreplane run`. Each must degrade only its own feature, recover by itself, lose
//! nothing, and show in `/metrics` and the logs.
//!
//! The stack runs as a child process ([`stack`]); a prober exercises every feature while each
//! fault lasts ([`probe`]); [`faults`] injects them and measures. The harness runs it with a
//! 60 s outage in release; the tests run a short variant with a debug binary
//! (`benches/tests/proof/neighbours.rs`).

mod faults;
mod probe;
mod ptree;
mod stack;

pub use probe::Tally;

use crate::table::Row;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// What to run.
#[derive(Debug, Clone)]
pub struct NeighbourConfig {
    /// The `fibreplane` binary to run (release in the harness, debug in the test).
    pub fibreplane_bin: PathBuf,
    /// How long each neighbour stays down.
    pub outage: Duration,
    /// Size of the lab fleet.
    pub cpes: usize,
}

/// Which neighbour failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The OLT stops answering SNMP (olt-sim drops every request).
    OltSilent,
    /// The modem bridge's Chromium is killed (SIGKILL) while a read is in flight.
    ChromiumKilled,
    /// ERPNext answers nothing but errors while a customer's SSID changes there.
    ErpnextDown,
    /// The MQTT broker is killed and started again on the same port.
    MqttRestart,
}

impl Fault {
    /// A short name for tables.
    pub fn name(self) -> &'static str {
        match self {
            Self::OltSilent => "OLT stops answering",
            Self::ChromiumKilled => "Chromium killed mid-read",
            Self::ErpnextDown => "ERPNext down",
            Self::MqttRestart => "MQTT broker restart",
        }
    }

    /// The prober's name of the feature this fault degrades (the others must stay healthy).
    pub fn feature(self) -> &'static str {
        match self {
            Self::OltSilent => "olt",
            Self::ChromiumKilled => "modem",
            Self::ErpnextDown => "erpnext",
            Self::MqttRestart => "mqtt",
        }
    }
}

/// One metric read before the fault, while it lasted and after recovery.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricReading {
    /// Its full name with labels.
    pub name: String,
    /// Before the fault (`None`: not exported).
    pub before: Option<f64>,
    /// When the fault was detected.
    pub during: Option<f64>,
    /// After recovery.
    pub after: Option<f64>,
}

/// What one fault did.
#[derive(Debug, Clone)]
pub struct FaultReport {
    /// The fault.
    pub fault: Fault,
    /// From the fault to the metrics (or the failed read) showing it; `None`: never.
    pub detected_after: Option<Duration>,
    /// From the neighbour being back to the feature working again; `None`: never.
    pub recovered_after: Option<Duration>,
    /// The metrics that tell the story.
    pub metrics: Vec<MetricReading>,
    /// Log lines of the fault (those matching an expected pattern).
    pub log_lines: Vec<String>,
    /// Expected log patterns that did not appear.
    pub missing_logs: Vec<&'static str>,
    /// Every other feature's probes while the fault lasted.
    pub others: BTreeMap<&'static str, Tally>,
    /// Anything lost, in words (empty: nothing).
    pub lost: Vec<String>,
    /// Other observations (timings of steps, what happened to messages during the outage).
    pub notes: Vec<String>,
}

impl FaultReport {
    /// Every other feature answered every probe, and each was probed at least once.
    pub fn others_healthy(&self) -> bool {
        !self.others.is_empty() && self.others.values().all(|t| t.failed == 0 && t.ok > 0)
    }

    /// The reading of a metric by name (with labels).
    pub fn metric(&self, name: &str) -> Option<&MetricReading> {
        self.metrics.iter().find(|m| m.name == name)
    }
}

/// The whole scenario's results.
#[derive(Debug, Clone)]
pub struct NeighbourReport {
    /// The fleet size.
    pub cpes: usize,
    /// Each neighbour's outage.
    pub outage: Duration,
    /// The faults, in the order they were injected.
    pub faults: Vec<FaultReport>,
    /// Whether a secret of the run (tokens, CPE secret, modem and ERPNext passwords) appeared
    /// in the log.
    pub secret_in_log: bool,
    /// Whether `fibreplane run` stopped gracefully on SIGTERM at the end.
    pub graceful_stop: bool,
}

/// Runs the four faults one after another on one running stack.
pub async fn run(cfg: &NeighbourConfig) -> anyhow::Result<NeighbourReport> {
    anyhow::ensure!(cfg.cpes >= 2, "the scenario needs at least 2 CPEs");
    anyhow::ensure!(
        cfg.fibreplane_bin.is_file(),
        "no fibreplane binary at {}",
        cfg.fibreplane_bin.display()
    );
    let lab = stack::Lab::start(&cfg.fibreplane_bin, cfg.cpes).await?;
    let result = faults::all(&lab, cfg).await;
    let secret_in_log = {
        let log = lab.log_since(0);
        let mut secrets = vec![
            lab.secrets.hub_token.clone(),
            lab.secrets.cpe.clone(),
            lab.peers.control_token.clone(),
        ];
        secrets.extend(lab.secret_files());
        secrets
            .iter()
            .any(|s| !s.is_empty() && log.contains(s.as_str()))
    };
    let graceful_stop = lab.stop().await?;
    Ok(NeighbourReport {
        cpes: cfg.cpes,
        outage: cfg.outage,
        faults: result?,
        secret_in_log,
        graceful_stop,
    })
}

/// The report as rows of the proof table (scenario `neighbours`).
pub fn rows(r: &NeighbourReport) -> Vec<Row> {
    let secs =
        |d: Option<Duration>| d.map_or("never".to_owned(), |d| format!("{:.1} s", d.as_secs_f64()));
    let mut rows = Vec::new();
    for f in &r.faults {
        let name = f.fault.name();
        rows.push(Row::new(
            "neighbours",
            format!("{name}: detected after (outage {} s)", r.outage.as_secs()),
            secs(f.detected_after),
        ));
        rows.push(
            Row::new(
                "neighbours",
                format!("{name}: recovered after"),
                secs(f.recovered_after),
            )
            .target("by itself", f.recovered_after.is_some()),
        );
        let probes: u64 = f.others.values().map(|t| t.ok + t.failed).sum();
        let failed: u64 = f.others.values().map(|t| t.failed).sum();
        rows.push(
            Row::new(
                "neighbours",
                format!("{name}: other features' probes failed"),
                format!("{failed} of {probes}"),
            )
            .target("0", f.others_healthy()),
        );
        rows.push(
            Row::new(
                "neighbours",
                format!("{name}: lost"),
                if f.lost.is_empty() {
                    "nothing".to_owned()
                } else {
                    f.lost.join("; ")
                },
            )
            .target("nothing", f.lost.is_empty()),
        );
        rows.push(
            Row::new(
                "neighbours",
                format!("{name}: log lines"),
                format!("{} (missing: {})", f.log_lines.len(), f.missing_logs.len()),
            )
            .target("all expected", f.missing_logs.is_empty()),
        );
    }
    rows
}

/// A stop flag and the task of the prober.
pub(crate) struct Prober {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Prober {
    pub(crate) async fn stop(self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = self.task.await;
    }
}
