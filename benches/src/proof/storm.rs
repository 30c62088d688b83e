//! Boot storm: a power restoration. The ACS knows `cpes` devices; `tasks` tasks were queued
//! through the NBI while the power was out; then every CPE boots at once — its `1 BOOT` Inform
//! spread over `window` — together with `new_cpes` never seen before (`0 BOOTSTRAP`). The ACS
//! admits what it can and answers the rest 503 with a random Retry-After; the CPEs come back as
//! their back-off says. Measured: time until every CPE completed a session, session latency,
//! 503s, the ACS's CPU and peak RSS; checked through the NBI afterwards: every device there,
//! every one informed after the restoration, every queued task applied.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use fibreplane_lab::{CpeAuth, Credential, Fleet, FleetReport, SimConfig};

use super::Rng;
use super::nbi::Nbi;
use super::{cpe_sim_report, now_ms};
use crate::procs::{AcsProcess, AcsSpec};
use crate::table::Row;

const SECRET: &str = "storm-secret";
const TOKEN: &str = "storm-token";
/// The parameter each queued task sets.
pub const PATH: &str = "Device.DeviceInfo.ProvisioningCode";

/// Where the virtual CPEs run.
#[derive(Debug, Clone)]
pub enum Fleets {
    /// `processes` separate `cpe-sim` processes (the harness: the fleet's CPU is not the ACS's).
    Processes {
        /// The `cpe-sim` executable.
        cpe_sim: PathBuf,
        /// How many processes share the CPEs.
        processes: usize,
    },
    /// Fleets inside this process (the short variant in the test suite).
    InProcess,
}

/// How the storm runs.
#[derive(Debug, Clone)]
pub struct StormConfig {
    /// The `fibreplane` executable.
    pub fibreplane: PathBuf,
    /// Where the CPEs run.
    pub fleets: Fleets,
    /// CPEs the ACS knows before the outage.
    pub cpes: usize,
    /// CPEs that contact the ACS for the first time during the storm.
    pub new_cpes: usize,
    /// Tasks queued through the NBI during the outage, each on a distinct known device.
    pub tasks: usize,
    /// Every CPE sends its BOOT Inform within this window after the restoration.
    pub window: Duration,
    /// The storm fails if it has not come through after this long.
    pub timeout: Duration,
    /// The ACS's `--max-sessions` (concurrent sessions before 503).
    pub max_sessions: usize,
    /// The ACS's `--retry-after` range, seconds (`None`: its default, 1–180 s, sized to the backlog).
    pub retry_after: Option<(u32, u32)>,
}

/// What the storm measured.
#[derive(Debug, Clone, Default)]
pub struct StormReport {
    /// Known plus new CPEs.
    pub cpes_total: usize,
    /// Seconds the registration of the known CPEs took before the outage.
    pub registration_s: f64,
    /// Seconds from the restoration until the last CPE completed a session.
    pub all_done_s: f64,
    /// CPEs (fleet side) that completed a session during the storm.
    pub done: usize,
    /// Median session latency (weighted over the fleets), ms.
    pub p50_ms: f64,
    /// 99th-percentile session latency (the worst fleet's), ms.
    pub p99_ms: f64,
    /// 503s (and 8005 faults) the CPEs were given.
    pub refused_503: u64,
    /// Other failed sessions (timeouts, resets).
    pub other_failures: u64,
    /// ACS CPU seconds (user + system) during the storm.
    pub acs_cpu_s: f64,
    /// The ACS's peak resident set size over its whole life, bytes.
    pub acs_peak_rss: u64,
    /// Devices in the store after the storm (NBI).
    pub registered: u64,
    /// Devices whose last Inform is after the restoration (NBI).
    pub informed_after_restore: u64,
    /// Tasks the NBI acknowledged during the outage.
    pub tasks_acked: usize,
    /// Of those, still queued after the storm.
    pub tasks_pending: usize,
    /// Devices whose stored value shows their task applied.
    pub tasks_applied: u64,
}

impl StormReport {
    /// Nothing lost: every CPE through, every device registered and informed, every task applied.
    pub fn lossless(&self) -> bool {
        let n = self.cpes_total as u64;
        self.done == self.cpes_total
            && self.registered == n
            && self.informed_after_restore == n
            && self.tasks_pending == 0
            && self.tasks_applied == self.tasks_acked as u64
    }
}

/// One slice of the CPEs: `count` CPEs from global index `offset`, with these first events.
#[derive(Debug, Clone)]
struct Slice {
    offset: usize,
    count: usize,
    events: Vec<String>,
}

/// Splits `count` CPEs from `offset` into `parts` slices.
fn slices(offset: usize, count: usize, parts: usize, events: &[&str]) -> Vec<Slice> {
    let parts = parts.max(1).min(count.max(1));
    (0..parts)
        .map(|p| {
            let a = offset + count * p / parts;
            let b = offset + count * (p + 1) / parts;
            Slice {
                offset: a,
                count: b - a,
                events: events.iter().map(|e| (*e).to_owned()).collect(),
            }
        })
        .filter(|s| s.count > 0)
        .collect()
}

/// Runs every slice until each of its CPEs completed a session (or `timeout`), concurrently.
async fn run_fleets(
    fleets: &Fleets,
    url: &str,
    parts: Vec<Slice>,
    stagger: Duration,
    timeout: Duration,
    cap: Option<usize>,
) -> anyhow::Result<Vec<FleetReport>> {
    let mut jobs = tokio::task::JoinSet::new();
    for s in parts {
        let (fleets, url) = (fleets.clone(), url.to_owned());
        jobs.spawn(async move {
            match fleets {
                Fleets::Processes { cpe_sim, .. } => {
                    let mut cmd = tokio::process::Command::new(cpe_sim);
                    cmd.args(["--acs", &url, "--until-done"])
                        .args(["--count", &s.count.to_string()])
                        .args(["--serial-offset", &s.offset.to_string()])
                        .args(["--stagger", &stagger.as_secs().to_string()])
                        .args(["--duration", &timeout.as_secs().to_string()])
                        .args(["--concurrency", &cap.unwrap_or(s.count).to_string()])
                        .env("CPE_SIM_SECRET", SECRET)
                        .env("RUST_LOG", "warn")
                        .kill_on_drop(true);
                    for e in &s.events {
                        cmd.args(["--start-event", e]);
                    }
                    cpe_sim_report(&cmd.output().await.context("running cpe-sim")?)
                }
                Fleets::InProcess => {
                    let fleet = Fleet::start(SimConfig {
                        acs_url: url,
                        count: s.count,
                        serial_offset: s.offset as u64,
                        auth: CpeAuth::Digest(Credential::Secret(SECRET.into())),
                        stagger,
                        concurrency: cap.unwrap_or(s.count),
                        start_events: s.events,
                        session_timeout: Duration::from_secs(30),
                        ..SimConfig::default()
                    })
                    .await?;
                    let report = fleet.run_until_done(timeout).await;
                    fleet.shutdown().await;
                    Ok(report)
                }
            }
        });
    }
    let mut out = Vec::new();
    while let Some(r) = jobs.join_next().await {
        out.push(r??);
    }
    Ok(out)
}

fn parts(fleets: &Fleets) -> usize {
    match fleets {
        Fleets::Processes { processes, .. } => *processes,
        Fleets::InProcess => 2,
    }
}

/// Runs the storm.
pub async fn run(cfg: &StormConfig) -> anyhow::Result<StormReport> {
    let dir = tempfile::tempdir()?;
    let spec = AcsSpec {
        nbi: Some((([127, 0, 0, 1], 0).into(), TOKEN.to_owned())),
        args: vec![
            // The stored devices stand for ONTs registered long ago; whole-tree discovery is
            // the registration benchmark's subject (acs-load), not this one's.
            "--no-bootstrap-refresh".into(),
            "--max-sessions".into(),
            cfg.max_sessions.to_string(),
        ]
        .into_iter()
        .chain(
            cfg.retry_after
                .map(|(lo, hi)| ["--retry-after".to_owned(), format!("{lo}-{hi}")])
                .into_iter()
                .flatten(),
        )
        .collect(),
        ..AcsSpec::loopback()
    };
    let (exe, data) = (cfg.fibreplane.clone(), dir.path().join("store"));
    let acs = tokio::task::spawn_blocking(move || AcsProcess::launch(&exe, &data, SECRET, &spec))
        .await??;
    let nbi = Nbi::new(acs.nbi.context("no NBI")?, TOKEN);
    let n = parts(&cfg.fleets);
    let mut report = StormReport {
        cpes_total: cfg.cpes + cfg.new_cpes,
        ..StormReport::default()
    };

    // Before the outage: the known CPEs register (as fast as the ACS admits them).
    let started = Instant::now();
    let reg = run_fleets(
        &cfg.fleets,
        &acs.url,
        slices(0, cfg.cpes, n, &["0 BOOTSTRAP", "1 BOOT"]),
        Duration::from_secs((cfg.cpes / 4000) as u64),
        cfg.timeout,
        // Setting the scene, not the measurement: a bounded number of sessions at a time.
        Some(256),
    )
    .await?;
    report.registration_s = started.elapsed().as_secs_f64();
    let registered: usize = reg.iter().map(|r| r.cpes_done).sum();
    if registered != cfg.cpes {
        bail!(
            "only {registered} of {} CPEs registered before the storm",
            cfg.cpes
        );
    }

    // During the outage: tasks queued through the NBI, each on its own device.
    let mut rng = Rng::new(0x570A);
    let mut acked = Vec::new();
    let mut order: Vec<usize> = (0..cfg.cpes).collect();
    rng.shuffle(&mut order);
    for (k, &i) in order.iter().take(cfg.tasks).enumerate() {
        let device = cwmp::device_id("1C61B4", "Device2", &format!("FPSIM{i:08}"));
        let value = format!("storm-{k}");
        acked.push(nbi.queue_spv(&device, PATH, &value).await?);
    }
    report.tasks_acked = acked.len();

    // The restoration.
    let restore_ms = now_ms();
    let cpu0 = acs.cpu_micros()?;
    let mut storm = slices(0, cfg.cpes, n, &["1 BOOT"]);
    storm.extend(slices(
        cfg.cpes,
        cfg.new_cpes,
        1,
        &["0 BOOTSTRAP", "1 BOOT"],
    ));
    // Real CPEs do not queue behind each other: only the ACS limits them.
    let reports = run_fleets(&cfg.fleets, &acs.url, storm, cfg.window, cfg.timeout, None).await?;
    report.acs_cpu_s = (acs.cpu_micros()? - cpu0) as f64 / 1e6;
    report.acs_peak_rss = acs.peak_rss_bytes()?;
    report.done = reports.iter().map(|r| r.cpes_done).sum();
    report.all_done_s = reports.iter().map(|r| r.elapsed_s).fold(0.0, f64::max);
    let ok: u64 = reports.iter().map(|r| r.sessions_ok).sum();
    report.p50_ms = reports
        .iter()
        .map(|r| r.p50_ms * r.sessions_ok as f64)
        .sum::<f64>()
        / ok.max(1) as f64;
    report.p99_ms = reports.iter().map(|r| r.p99_ms).fold(0.0, f64::max);
    for r in &reports {
        for (cause, k) in &r.failures {
            if cause == "retry" {
                report.refused_503 += k;
            } else {
                report.other_failures += k;
            }
        }
    }

    // Afterwards, through the NBI: nothing lost. The last-inform times are written behind by
    // about a second; give them a moment.
    tokio::time::sleep(Duration::from_secs(2)).await;
    report.registered = nbi.count("devices", &serde_json::json!({})).await?;
    let since = serde_json::json!({ "_lastInform": { "$gte": ::nbi::date::iso(restore_ms) } });
    report.informed_after_restore = nbi.count("devices", &since).await?;
    let pending = nbi.pending_tasks().await?;
    report.tasks_pending = acked.iter().filter(|id| pending.contains(*id)).count();
    report.tasks_applied = nbi
        .count(
            "devices",
            &serde_json::json!({ PATH: { "$regex": "^storm-" } }),
        )
        .await?;
    tokio::task::spawn_blocking(move || acs.stop()).await??;
    Ok(report)
}

/// The storm's rows for the results table.
pub fn rows(r: &StormReport, window: Duration) -> Vec<Row> {
    let gib = r.acs_peak_rss as f64 / f64::from(1u32 << 30);
    let lost = (r.cpes_total as u64).saturating_sub(r.informed_after_restore.min(r.registered))
        + r.tasks_pending as u64
        + (r.tasks_acked as u64).saturating_sub(r.tasks_applied);
    vec![
        Row::new(
            "boot-storm",
            format!(
                "{} CPEs booting within {} s: time until every one completed a session",
                r.cpes_total,
                window.as_secs()
            ),
            format!("{:.1} s ({} of {})", r.all_done_s, r.done, r.cpes_total),
        )
        .target("≤ 120 s", r.all_done_s <= 120.0 && r.done == r.cpes_total),
        Row::new(
            "boot-storm",
            "session latency p50 / p99 during the storm",
            format!("{:.1} / {:.1} ms", r.p50_ms, r.p99_ms),
        ),
        Row::new(
            "boot-storm",
            "503s issued (CPEs came back after Retry-After)",
            r.refused_503.to_string(),
        ),
        Row::new(
            "boot-storm",
            "ACS CPU during the storm / per CPE",
            format!(
                "{:.1} s / {:.0} µs",
                r.acs_cpu_s,
                r.acs_cpu_s * 1e6 / r.cpes_total.max(1) as f64
            ),
        ),
        Row::new("boot-storm", "ACS peak RSS", format!("{gib:.2} GiB"))
            .target("≤ 2 GiB", gib <= 2.0),
        Row::new(
            "boot-storm",
            "registrations, informs or queued tasks lost",
            format!(
                "{lost} ({} devices, {} informed, {}/{} tasks applied)",
                r.registered, r.informed_after_restore, r.tasks_applied, r.tasks_acked
            ),
        )
        .target("0", lost == 0),
    ]
}
