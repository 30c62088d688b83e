//! Load generator for the ACS: runs `cpe-sim` fleets against `fibreplane acs` (separate
//! processes, loopback only) and reports sessions/s, the ACS's CPU time per session (from
//! `/proc`), p50/p99 session latency and bytes on disk per device, for two scenarios:
//!
//! - **registration**: new XX230v CPEs (`0 BOOTSTRAP`); the ACS sets connection-request
//!   credentials and discovers the whole tree (GetParameterNames + GetParameterValues of
//!   ~6,400 parameters) in each session;
//! - **periodic**: already registered CPEs informing `2 PERIODIC` back to back.
//!
//! `cargo run -p fibreplane-benches --release --bin acs-load -- [--write-readme]`

use anyhow::{Context, bail};
use clap::Parser;
use fibreplane_benches::procs::{self, AcsProcess};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

#[derive(Debug, Parser)]
struct Args {
    /// CPEs registered (full tree discovery) in the registration scenario.
    #[arg(long, default_value_t = 300)]
    registrations: usize,
    /// CPEs informing in the periodic scenario.
    #[arg(long, default_value_t = 2000)]
    periodic_cpes: usize,
    /// Length of the periodic scenario, seconds.
    #[arg(long, default_value_t = 20)]
    periodic_secs: u64,
    /// Concurrent sessions the fleet keeps open.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Use the release binaries already built.
    #[arg(long)]
    no_build: bool,
    /// Rewrite the results table in benches/README.md.
    #[arg(long)]
    write_readme: bool,
}

const SECRET: &str = "bench-secret";

/// What one cpe-sim run printed.
#[derive(Debug, serde::Deserialize)]
struct SimReport {
    sessions_ok: u64,
    sessions_failed: u64,
    p50_ms: f64,
    p99_ms: f64,
}

fn cpe_sim(bin: &Path, url: &str, args: &[String]) -> anyhow::Result<(SimReport, f64)> {
    let started = Instant::now();
    let out = Command::new(bin.join("cpe-sim"))
        .args(["--acs", url, "--stagger", "0"])
        .args(args)
        .env("CPE_SIM_SECRET", SECRET)
        .env("RUST_LOG", "warn")
        .output()
        .context("running cpe-sim")?;
    let secs = started.elapsed().as_secs_f64();
    if !out.status.success() {
        bail!("cpe-sim failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().context("cpe-sim printed nothing")?;
    Ok((
        serde_json::from_str(line).with_context(|| format!("cpe-sim report: {line}"))?,
        secs,
    ))
}

struct Row {
    figure: String,
    value: String,
    target: &'static str,
    baseline: String,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if !args.no_build {
        procs::build_release()?;
    }
    let bin = procs::bin_dir()?;
    let mut rows = Vec::new();

    // Registration: full discovery of new XX230v CPEs.
    let dir = tempfile::tempdir()?;
    let acs = AcsProcess::start(&bin, dir.path(), SECRET, &[])?;
    let cpu0 = acs.cpu_micros()?;
    let n = args.registrations.to_string();
    let c = args.concurrency.to_string();
    let (reg, reg_secs) = cpe_sim(
        &bin,
        &acs.url,
        &[
            "--count".into(),
            n,
            "--once".into(),
            "--concurrency".into(),
            c.clone(),
        ],
    )?;
    let reg_cpu = acs.cpu_micros()? - cpu0;
    let rss = acs.rss_bytes()?;
    acs.stop()?;
    let disk = procs::dir_bytes(dir.path());
    let per_reg_ms = reg_cpu as f64 / 1000.0 / reg.sessions_ok.max(1) as f64;
    let per_dev_kb = disk as f64 / 1024.0 / reg.sessions_ok.max(1) as f64;
    println!(
        "registration: {} ok, {} failed in {:.1} s ({:.0}/s); ACS CPU {:.2} ms/registration; p50 {:.1} ms p99 {:.1} ms; disk {:.1} KiB/device; ACS RSS {} MiB",
        reg.sessions_ok,
        reg.sessions_failed,
        reg_secs,
        reg.sessions_ok as f64 / reg_secs,
        per_reg_ms,
        reg.p50_ms,
        reg.p99_ms,
        per_dev_kb,
        rss >> 20
    );
    rows.push(Row {
        figure: "ACS CPU per full XX230v registration (GPN + GPV of ~6,400 params)".into(),
        value: format!("{per_reg_ms:.2} ms"),
        target: "≤ 5 ms",
        baseline: "GenieACS ≈ 31 ms (~900-param TR-098 model; note anchor)".into(),
    });
    rows.push(Row {
        figure: "Store on disk per fully refreshed XX230v (redb)".into(),
        value: format!("{per_dev_kb:.1} KiB"),
        target: "≤ 100 KB",
        baseline: "GenieACS/MongoDB ≈ 624 KB BSON".into(),
    });
    rows.push(Row {
        figure: "Registration session latency p50 / p99".into(),
        value: format!("{:.1} / {:.1} ms", reg.p50_ms, reg.p99_ms),
        target: "—",
        baseline: "GenieACS p50 213 ms, p95 865 ms".into(),
    });

    // Periodic: registered CPEs (no discovery) informing back to back, first answering a fresh
    // Digest challenge in every session (one extra round trip), then re-using the last nonce
    // pre-emptively as RFC 7616 allows and some CPE stacks do.
    let dir = tempfile::tempdir()?;
    let acs = AcsProcess::start(&bin, dir.path(), SECRET, &["--no-bootstrap-refresh"])?;
    let n = args.periodic_cpes.to_string();
    cpe_sim(
        &bin,
        &acs.url,
        &[
            "--count".into(),
            n.clone(),
            "--once".into(),
            "--concurrency".into(),
            c.clone(),
        ],
    )?;
    for (label, extra) in [
        ("challenged", None),
        ("pre-emptive Digest", Some("--preemptive-digest")),
    ] {
        let cpu0 = acs.cpu_micros()?;
        let mut sim_args: Vec<String> = [
            "--count",
            &n,
            "--interval",
            "0",
            "--duration",
            &args.periodic_secs.to_string(),
            "--concurrency",
            &c,
            "--start-event",
            "2 PERIODIC",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        sim_args.extend(extra.map(str::to_owned));
        let (per, per_secs) = cpe_sim(&bin, &acs.url, &sim_args)?;
        let per_cpu = acs.cpu_micros()? - cpu0;
        let rate = per.sessions_ok as f64 / per_secs;
        let per_session_us = per_cpu as f64 / per.sessions_ok.max(1) as f64;
        println!(
            "periodic ({label}): {} ok, {} failed in {:.1} s = {:.0} sessions/s; ACS CPU {:.0} µs/session; p50 {:.2} ms p99 {:.2} ms",
            per.sessions_ok,
            per.sessions_failed,
            per_secs,
            rate,
            per_session_us,
            per.p50_ms,
            per.p99_ms
        );
        rows.push(Row {
            figure: (format!("Periodic sessions/s, {label} (ACS and fleet share 2 cores)")),
            value: format!("{rate:.0}/s"),
            target: "≥ 5,000/s",
            baseline: format!("GenieACS ≈ 49/s (ratio ×{:.0})", rate / 49.0),
        });
        rows.push(Row {
            figure: (format!("ACS CPU (user + sys) per periodic session, {label}")),
            value: format!("{per_session_us:.0} µs"),
            target: "≤ 100 µs",
            baseline: format!(
                "GenieACS ≈ 7,800 µs (ratio ×{:.0})",
                7800.0 / per_session_us.max(1.0)
            ),
        });
        rows.push(Row {
            figure: (format!("Periodic session latency p50 / p99, {label}")),
            value: format!("{:.2} / {:.2} ms", per.p50_ms, per.p99_ms),
            target: "—",
            baseline: "GenieACS p50 133 ms, p95 403 ms".into(),
        });
    }
    acs.stop()?;

    let mut table = String::from("| Figure | Measured | Target | Baseline |\n|---|---|---|---|\n");
    for r in &rows {
        table.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            r.figure, r.value, r.target, r.baseline
        ));
    }
    print!("\n{table}");
    if args.write_readme {
        write_readme(&table, &args)?;
    }
    Ok(())
}

/// Replaces the text between the ACS-load markers of benches/README.md.
fn write_readme(table: &str, args: &Args) -> anyhow::Result<()> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let (start, end) = ("<!-- acs-load:start -->", "<!-- acs-load:end -->");
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_default();
    let body = format!(
        "{start}\nMachine: {} cores, {cpu}. Command: `cargo run -p fibreplane-benches --release --bin acs-load -- --registrations {} --periodic-cpes {} --periodic-secs {} --concurrency {} --write-readme`\n\n{table}{end}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        args.registrations,
        args.periodic_cpes,
        args.periodic_secs,
        args.concurrency
    );
    let new = match (text.find(start), text.find(end)) {
        (Some(a), Some(b)) if a < b => format!("{}{body}{}", &text[..a], &text[b + end.len()..]),
        _ => format!("{text}\n{body}\n"),
    };
    std::fs::write(&path, new)?;
    Ok(())
}
