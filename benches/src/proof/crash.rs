//! Crash safety: the ACS is killed with `SIGKILL` at random moments while a CPE fleet informs
//! and the NBI queues tasks, and restarted on the same ports and store. After every restart the
//! store must open, every device must still be there, and every task the NBI acknowledged must
//! be either still queued or already applied on its CPE; at the end every acknowledged task must
//! have been applied and every CPE must have informed the restarted ACS.
//!
//! Each task writes a value unique to it (`crash-<n>`) into a distinct device's
//! `Device.DeviceInfo.ProvisioningCode`, so "applied" is read on the CPE itself, not taken from
//! the ACS's word.

use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use fibreplane_lab::{CpeAuth, Credential, Fleet, SimConfig};

use super::nbi::Nbi;
use super::now_ms;
use super::{Rng, percentile};
use crate::procs::{AcsProcess, AcsSpec};
use crate::table::Row;

/// The parameter each task sets.
pub const PATH: &str = "Device.DeviceInfo.ProvisioningCode";
const SECRET: &str = "crash-secret";
const TOKEN: &str = "crash-token";

/// How the scenario runs.
#[derive(Debug, Clone)]
pub struct CrashConfig {
    /// The `fibreplane` executable.
    pub fibreplane: PathBuf,
    /// Kill-and-restart rounds.
    pub rounds: usize,
    /// CPEs informing throughout.
    pub cpes: usize,
    /// Their periodic inform interval.
    pub interval: Duration,
    /// Each round kills the ACS after a random time in this range since the last restart.
    pub kill_after: (Duration, Duration),
    /// Pause between two tasks the NBI client queues (never more tasks than CPEs).
    pub task_every: Duration,
    /// After the last round, how long every task and every CPE get to come through.
    pub settle: Duration,
    /// Seed of the random kill moments and device choices.
    pub seed: u64,
}

/// What the scenario saw.
#[derive(Debug, Clone, Default)]
pub struct CrashReport {
    /// Rounds run.
    pub rounds: usize,
    /// Restarts whose store opened and ports bound.
    pub restarts_ok: usize,
    /// Time from SIGKILL to the restarted ACS listening, ms, per round.
    pub restart_ms: Vec<f64>,
    /// Tasks the NBI acknowledged (2xx with a task id).
    pub tasks_acked: usize,
    /// Acknowledged tasks found neither queued nor applied after a restart (must be empty).
    pub tasks_missing: Vec<String>,
    /// Acknowledged tasks applied on their CPE and gone from the queue at the end.
    pub tasks_done: usize,
    /// Devices the NBI listed after each restart.
    pub devices_after_restart: Vec<u64>,
    /// CPEs in the fleet.
    pub cpes: usize,
    /// Devices whose last Inform is after the last restart, at the end.
    pub informed_after_last_restart: u64,
    /// Seconds from the last restart until every task was applied and every CPE had informed.
    pub settle_s: f64,
    /// Fleet sessions completed and failed over the whole run.
    pub sessions_ok: u64,
    /// Failed fleet sessions (expected around each kill; the CPEs retry).
    pub sessions_failed: u64,
}

impl CrashReport {
    /// Whether every invariant held.
    pub fn clean(&self) -> bool {
        self.restarts_ok == self.rounds
            && self.tasks_missing.is_empty()
            && self.tasks_done == self.tasks_acked
            && self
                .devices_after_restart
                .iter()
                .all(|&n| n == self.cpes as u64)
            && self.informed_after_last_restart == self.cpes as u64
    }
}

/// One acknowledged task.
#[derive(Debug, Clone)]
struct Ack {
    id: String,
    cpe: usize,
    value: String,
}

async fn launch(cfg: &CrashConfig, dir: PathBuf, spec: AcsSpec) -> anyhow::Result<AcsProcess> {
    let exe = cfg.fibreplane.clone();
    tokio::task::spawn_blocking(move || AcsProcess::launch(&exe, &dir, SECRET, &spec)).await?
}

/// Polls `check` every 200 ms until it returns true or `within` passes; returns whether it did.
async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Runs the scenario.
pub async fn run(cfg: &CrashConfig) -> anyhow::Result<CrashReport> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("store");
    let mut spec = AcsSpec {
        nbi: Some((([127, 0, 0, 1], 0).into(), TOKEN.to_owned())),
        // A periodic session is what the load is made of; whole-tree discovery of new devices
        // would only slow the fleet's registration down.
        args: vec!["--no-bootstrap-refresh".into()],
        ..AcsSpec::loopback()
    };
    let mut acs = launch(cfg, data.clone(), spec.clone()).await?;
    // Restarts come back on the same ports, as a supervisor would restart a service.
    spec.cwmp = acs.cwmp;
    let nbi_addr = acs.nbi.context("the ACS started without its NBI")?;
    spec.nbi = Some((nbi_addr, TOKEN.to_owned()));
    let nbi = Nbi::new(nbi_addr, TOKEN);
    let fleet = Arc::new(
        Fleet::start(SimConfig {
            acs_url: acs.url.clone(),
            count: cfg.cpes,
            auth: CpeAuth::Digest(Credential::Secret(SECRET.into())),
            interval: Some(cfg.interval),
            stagger: cfg.interval,
            session_timeout: Duration::from_secs(10),
            ..SimConfig::default()
        })
        .await?,
    );
    let runner = {
        let fleet = fleet.clone();
        tokio::spawn(async move { fleet.run_for(Duration::from_secs(365 * 86_400)).await })
    };
    let registered = eventually(cfg.interval * 3 + Duration::from_secs(30), || async {
        nbi.count("devices", &serde_json::json!({})).await.ok() == Some(cfg.cpes as u64)
    })
    .await;
    if !registered {
        runner.abort();
        bail!("the fleet of {} CPEs did not register", cfg.cpes);
    }

    // The NBI client: one task at a time, each on a device no earlier task touched.
    let acked: Arc<Mutex<Vec<Ack>>> = Arc::default();
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let queuer = {
        let (nbi, acked, fleet) = (nbi.clone(), acked.clone(), fleet.clone());
        let (every, mut rng) = (cfg.task_every, Rng::new(cfg.seed ^ 0x5EED));
        let mut order: Vec<usize> = (0..cfg.cpes).collect();
        rng.shuffle(&mut order);
        tokio::spawn(async move {
            for (n, cpe) in order.into_iter().enumerate() {
                if *stop_rx.borrow() {
                    break;
                }
                let value = format!("crash-{n}");
                // Refused or unanswered calls (the ACS is down) are simply not acknowledged.
                if let Ok(id) = nbi.queue_spv(&fleet.device_id(cpe), PATH, &value).await {
                    acked
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(Ack { id, cpe, value });
                }
                tokio::select! {
                    () = tokio::time::sleep(every) => {}
                    _ = stop_rx.changed() => break,
                }
            }
        })
    };

    let mut report = CrashReport {
        rounds: cfg.rounds,
        cpes: cfg.cpes,
        ..CrashReport::default()
    };
    let applied = |a: &Ack| fleet.param(a.cpe, PATH).as_deref() == Some(a.value.as_str());
    let mut rng = Rng::new(cfg.seed);
    let mut last_restart_ms = now_ms();
    let mut last_restart = Instant::now();
    for round in 0..cfg.rounds {
        tokio::time::sleep(rng.between(cfg.kill_after.0, cfg.kill_after.1)).await;
        let killed = Instant::now();
        tokio::task::spawn_blocking(move || acs.kill()).await??;
        acs = match launch(cfg, data.clone(), spec.clone()).await {
            Ok(a) => a,
            Err(e) => {
                runner.abort();
                let _ = stop_tx.send(true);
                return Err(e.context(format!("restart after kill {}", round + 1)));
            }
        };
        report.restarts_ok += 1;
        report
            .restart_ms
            .push(killed.elapsed().as_secs_f64() * 1000.0);
        last_restart_ms = now_ms();
        last_restart = Instant::now();
        let snapshot = acked.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let pending = nbi.pending_tasks().await?;
        for a in &snapshot {
            if !pending.contains(&a.id) && !applied(a) && !report.tasks_missing.contains(&a.id) {
                report.tasks_missing.push(a.id.clone());
            }
        }
        report
            .devices_after_restart
            .push(nbi.count("devices", &serde_json::json!({})).await?);
    }
    let _ = stop_tx.send(true);
    queuer.await?;

    let all = acked.lock().unwrap_or_else(|e| e.into_inner()).clone();
    report.tasks_acked = all.len();
    let since = serde_json::json!({ "_lastInform": { "$gte": ::nbi::date::iso(last_restart_ms) } });
    let deadline = Instant::now() + cfg.settle;
    let (mut done, mut informed) = (0, 0);
    loop {
        if let Ok(pending) = nbi.pending_tasks().await {
            done = all
                .iter()
                .filter(|a| !pending.contains(&a.id) && applied(a))
                .count();
            informed = nbi.count("devices", &since).await.unwrap_or(0);
            if done == all.len() && informed == cfg.cpes as u64 {
                break;
            }
        }
        if Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    report.settle_s = last_restart.elapsed().as_secs_f64();
    report.tasks_done = done;
    report.informed_after_last_restart = informed;
    runner.abort();
    let fleet_report = fleet.report();
    report.sessions_ok = fleet_report.sessions_ok;
    report.sessions_failed = fleet_report.sessions_failed;
    if let Ok(fleet) = Arc::try_unwrap(fleet) {
        fleet.shutdown().await;
    }
    tokio::task::spawn_blocking(move || acs.stop()).await??;
    Ok(report)
}

/// The scenario's rows for the results table.
pub fn rows(r: &CrashReport) -> Vec<Row> {
    let mut ms = r.restart_ms.clone();
    ms.sort_by(f64::total_cmp);
    let lost = r.tasks_missing.len() + (r.tasks_acked - r.tasks_done.min(r.tasks_acked));
    vec![
        Row::new(
            "crash",
            format!(
                "SIGKILL rounds with the store reopening cleanly ({} CPEs informing)",
                r.cpes
            ),
            format!("{}/{}", r.restarts_ok, r.rounds),
        )
        .target(
            format!("{}/{}", r.rounds, r.rounds),
            r.restarts_ok == r.rounds,
        ),
        Row::new(
            "crash",
            "NBI-acknowledged tasks lost (missing after a restart, or never applied on the CPE)",
            format!("{lost} of {}", r.tasks_acked),
        )
        .target("0", lost == 0),
        Row::new(
            "crash",
            "devices missing after a restart",
            format!(
                "{}",
                r.devices_after_restart
                    .iter()
                    .map(|&n| (r.cpes as u64).saturating_sub(n))
                    .max()
                    .unwrap_or(0)
            ),
        )
        .target(
            "0",
            r.devices_after_restart.iter().all(|&n| n == r.cpes as u64),
        ),
        Row::new(
            "crash",
            "CPEs that informed the ACS after its last restart",
            format!(
                "{} of {} ({:.1} s after it)",
                r.informed_after_last_restart, r.cpes, r.settle_s
            ),
        )
        .target("all", r.informed_after_last_restart == r.cpes as u64),
        Row::new(
            "crash",
            "SIGKILL → restarted ACS listening, p50 / max",
            format!(
                "{:.0} / {:.0} ms",
                percentile(&ms, 0.5),
                ms.last().copied().unwrap_or(0.0)
            ),
        ),
    ]
}
