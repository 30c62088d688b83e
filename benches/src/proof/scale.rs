//! Scale at rest: a store of `devices` registered devices, written by the real migration path
//! (`fibreplane import genieacs`, the export streamed into its standard input), then served by
//! `fibreplane acs`: size on disk, the ACS's resident memory at idle, NBI lookup latency by
//! serial, MAC and tag, and periodic-inform throughput and CPU per session against that store.
//! The same figures on a small store (`baseline_devices`), measured in the same run, are the
//! baseline: the ratios say what the million costs.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use fibreplane_lab::{CpeAuth, Credential, Fleet, FleetReport, SimConfig};

use crate::lookup::{Client, Lookups, measure_all};
use crate::procs::{AcsProcess, AcsSpec, dir_bytes};
use crate::seed::Export;
use crate::table::Row;

const SECRET: &str = "scale-secret";
const TOKEN: &str = "scale-token";

/// How the scenario runs.
#[derive(Debug, Clone)]
pub struct ScaleConfig {
    /// The `fibreplane` executable.
    pub fibreplane: PathBuf,
    /// The `cpe-sim` executable; `None` runs the periodic fleet in this process.
    pub cpe_sim: Option<PathBuf>,
    /// Devices in the big store.
    pub devices: usize,
    /// Devices in the baseline store.
    pub baseline_devices: usize,
    /// Lookups of each kind.
    pub requests: usize,
    /// CPEs informing back to back in the periodic measurement (the first ones of the store).
    pub periodic_cpes: usize,
    /// Length of the periodic measurement.
    pub periodic: Duration,
    /// How long the ACS sits idle before its memory is read.
    pub idle: Duration,
}

/// The figures of one store size.
#[derive(Debug, Clone, Default)]
pub struct StoreFigures {
    /// Devices stored.
    pub devices: usize,
    /// Devices per second through `fibreplane import genieacs`.
    pub import_rate: f64,
    /// Bytes on disk after the import.
    pub disk_bytes: u64,
    /// Devices the NBI counts (must equal `devices`).
    pub counted: u64,
    /// The ACS's RSS after sitting idle, bytes.
    pub idle_rss: u64,
    /// NBI lookup latencies.
    pub lookups: Lookups,
    /// Periodic sessions per second.
    pub periodic_per_s: f64,
    /// ACS CPU per periodic session, µs.
    pub cpu_us_per_session: f64,
    /// Failed periodic sessions.
    pub periodic_failed: u64,
}

/// Both store sizes.
#[derive(Debug, Clone, Default)]
pub struct ScaleReport {
    /// The big store.
    pub big: StoreFigures,
    /// The baseline store.
    pub base: StoreFigures,
}

/// Streams devices `0..n` into `fibreplane import genieacs` reading its standard input.
fn import(exe: &Path, data: &Path, n: usize) -> anyhow::Result<f64> {
    let started = Instant::now();
    let mut child = Command::new(exe)
        .args([
            "import",
            "genieacs",
            "--devices",
            "/dev/stdin",
            "--data-dir",
        ])
        .arg(data)
        .env("FIBREPLANE_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting fibreplane import")?;
    let mut stdin = child.stdin.take().context("no stdin")?;
    std::io::copy(&mut Export::new(n), &mut stdin).context("streaming the export")?;
    stdin.flush()?;
    drop(stdin);
    let status = child.wait()?;
    if !status.success() {
        bail!("fibreplane import genieacs exited with {status}");
    }
    Ok(n as f64 / started.elapsed().as_secs_f64())
}

/// Runs `cpes` registered CPEs informing back to back for `secs` and returns their report.
async fn periodic(cfg: &ScaleConfig, url: &str) -> anyhow::Result<FleetReport> {
    if let Some(bin) = &cfg.cpe_sim {
        let out = tokio::process::Command::new(bin)
            .args(["--acs", url, "--stagger", "0", "--interval", "0"])
            .args(["--start-event", "2 PERIODIC", "--concurrency", "64"])
            .args(["--count", &cfg.periodic_cpes.to_string()])
            .args(["--duration", &cfg.periodic.as_secs().max(1).to_string()])
            .env("CPE_SIM_SECRET", SECRET)
            .env("RUST_LOG", "warn")
            .output()
            .await
            .context("running cpe-sim")?;
        return super::cpe_sim_report(&out);
    }
    let fleet = Fleet::start(SimConfig {
        acs_url: url.to_owned(),
        count: cfg.periodic_cpes,
        auth: CpeAuth::Digest(Credential::Secret(SECRET.into())),
        interval: Some(Duration::ZERO),
        stagger: Duration::ZERO,
        concurrency: 64,
        start_events: vec!["2 PERIODIC".into()],
        ..SimConfig::default()
    })
    .await?;
    let report = fleet.run_for(cfg.periodic).await;
    fleet.shutdown().await;
    Ok(report)
}

async fn measure_store(cfg: &ScaleConfig, n: usize) -> anyhow::Result<StoreFigures> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("store");
    let exe = cfg.fibreplane.clone();
    let d = data.clone();
    let import_rate = tokio::task::spawn_blocking(move || import(&exe, &d, n)).await??;
    let disk_bytes = dir_bytes(&data);
    let spec = AcsSpec {
        nbi: Some((([127, 0, 0, 1], 0).into(), TOKEN.to_owned())),
        ..AcsSpec::loopback()
    };
    let (exe, d) = (cfg.fibreplane.clone(), data.clone());
    let acs =
        tokio::task::spawn_blocking(move || AcsProcess::launch(&exe, &d, SECRET, &spec)).await??;
    tokio::time::sleep(cfg.idle).await;
    let idle_rss = acs.rss_bytes()?;
    let nbi_addr = acs.nbi.context("no NBI")?;
    let counted = super::nbi::Nbi::new(nbi_addr, TOKEN)
        .count("devices", &serde_json::json!({}))
        .await?;
    let mut client = Client::connect(nbi_addr, TOKEN).await?;
    let lookups = measure_all(&mut client, n, cfg.requests).await?;
    drop(client);
    let cpu0 = acs.cpu_micros()?;
    let fleet = periodic(cfg, &acs.url).await?;
    let cpu = acs.cpu_micros()? - cpu0;
    tokio::task::spawn_blocking(move || acs.stop()).await??;
    Ok(StoreFigures {
        devices: n,
        import_rate,
        disk_bytes,
        counted,
        idle_rss,
        lookups,
        periodic_per_s: fleet.sessions_ok as f64 / fleet.elapsed_s.max(1e-9),
        cpu_us_per_session: cpu as f64 / fleet.sessions_ok.max(1) as f64,
        periodic_failed: fleet.sessions_failed,
    })
}

/// Runs the scenario: the baseline store first, then the big one.
pub async fn run(cfg: &ScaleConfig) -> anyhow::Result<ScaleReport> {
    let base = measure_store(cfg, cfg.baseline_devices).await?;
    let big = measure_store(cfg, cfg.devices).await?;
    Ok(ScaleReport { big, base })
}

fn mib(b: u64) -> String {
    format!("{:.0} MiB", b as f64 / f64::from(1u32 << 20))
}

/// The scenario's rows for the results table.
pub fn rows(r: &ScaleReport) -> Vec<Row> {
    let (big, base) = (&r.big, &r.base);
    let n = big.devices;
    let with = |s: &StoreFigures| format!("{} devices", s.devices);
    let ratio = |a: f64, b: f64| (b > 0.0).then(|| a / b);
    let lookup = |name: &str, a: (f64, f64), b: (f64, f64), target: Option<f64>| {
        let row = Row::new(
            "scale",
            format!("NBI lookup by {name} at {n} devices, p50 / p99"),
            format!("{:.2} / {:.2} ms", a.0, a.1),
        )
        .baseline(
            format!("{:.2} / {:.2} ms ({})", b.0, b.1, with(base)),
            ratio(a.1, b.1),
        );
        match target {
            Some(t) => row.target(format!("p99 ≤ {t} ms"), a.1 <= t),
            None => row,
        }
    };
    vec![
        Row::new(
            "scale",
            "devices stored through `fibreplane import genieacs` / counted by the NBI",
            format!("{n} / {}", big.counted),
        )
        .target("all", big.counted == n as u64),
        Row::new(
            "scale",
            "import rate",
            format!("{:.0} devices/s", big.import_rate),
        )
        .baseline(
            format!("{:.0} devices/s ({})", base.import_rate, with(base)),
            ratio(big.import_rate, base.import_rate),
        ),
        Row::new(
            "scale",
            format!("store on disk at {n} devices (per device)"),
            format!(
                "{} ({:.0} B)",
                mib(big.disk_bytes),
                big.disk_bytes as f64 / n.max(1) as f64
            ),
        )
        .baseline(format!("{} ({})", mib(base.disk_bytes), with(base)), None),
        Row::new(
            "scale",
            format!("ACS RSS at idle with {n} devices"),
            mib(big.idle_rss),
        )
        .baseline(
            format!("{} ({})", mib(base.idle_rss), with(base)),
            ratio(big.idle_rss as f64, base.idle_rss as f64),
        ),
        lookup("serial", big.lookups.serial, base.lookups.serial, Some(5.0)),
        lookup("MAC", big.lookups.mac, base.lookups.mac, Some(5.0)),
        lookup("tag (64 devices)", big.lookups.tag, base.lookups.tag, None),
        Row::new(
            "scale",
            format!("periodic sessions/s with {n} devices stored"),
            format!(
                "{:.0}/s ({} failed)",
                big.periodic_per_s, big.periodic_failed
            ),
        )
        .baseline(
            format!("{:.0}/s ({})", base.periodic_per_s, with(base)),
            ratio(big.periodic_per_s, base.periodic_per_s),
        ),
        Row::new(
            "scale",
            format!("ACS CPU per periodic session with {n} devices stored"),
            format!("{:.0} µs", big.cpu_us_per_session),
        )
        .baseline(
            format!("{:.0} µs ({})", base.cpu_us_per_session, with(base)),
            ratio(big.cpu_us_per_session, base.cpu_us_per_session),
        ),
    ]
}
