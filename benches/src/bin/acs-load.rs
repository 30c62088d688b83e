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
    /// CPEs informing in the periodic scenario. Enough that each informs less than once a
    /// second at full speed, so the one-second write-behind of last-inform times cannot fold
    /// several Informs of one device into one write (which would flatter the figure).
    #[arg(long, default_value_t = 10_000)]
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
    /// Runs of the whole measurement; the table shows the median and the range, because a
    /// shared 2-core VM varies by ±15 % from one run to the next.
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// A `fibreplane` executable of another build (say the previous commit's, built in a git
    /// worktree), measured in the same run, interleaved with this build's run by run, with the
    /// same fleet binary. The table then shows its figures and this build's ratio to them:
    /// the only comparison the ±15 % run-to-run spread of a shared VM allows.
    #[arg(long)]
    baseline: Option<std::path::PathBuf>,
    /// Instead of the scenarios above, measure periodic sessions that run one GenieACS script
    /// provision and one virtual parameter (computed in every session) against the same run
    /// without scripts, and write that table (`acs-load-scripts` in benches/README.md).
    #[arg(long)]
    scripts: bool,
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

/// One run's figures.
struct Run {
    reg_ms: f64,
    disk_kib: f64,
    reg_p50: f64,
    reg_p99: f64,
    /// Per periodic variant: sessions/s, CPU µs per session, p50 ms, p99 ms.
    periodic: Vec<[f64; 4]>,
}

const PERIODIC: [(&str, Option<&str>); 2] = [
    ("challenged", None),
    ("pre-emptive Digest", Some("--preemptive-digest")),
];

/// ACS configurations the periodic scenarios run under: the default (one CWMP thread per two
/// cores, so one here) and one thread per core, which on this machine shares both cores with the
/// fleet and costs more CPU per session (more wake-ups, less batching per wake-up).
const CWMP_THREADS: [(&str, &str); 2] = [("default threads", "0"), ("--cwmp-threads 2", "2")];

/// The periodic scenarios in table order: (label, cpe-sim flag, ACS --cwmp-threads).
fn periodic_scenarios() -> Vec<(String, Option<&'static str>, &'static str)> {
    CWMP_THREADS
        .iter()
        .flat_map(|&(tl, threads)| {
            PERIODIC
                .iter()
                .map(move |&(pl, flag)| (format!("{pl}, {tl}"), flag, threads))
        })
        .collect()
}

/// Starts the ACS executable `exe` on a loopback port.
fn start_acs(exe: &Path, dir: &Path, extra: &[&str]) -> anyhow::Result<AcsProcess> {
    let spec = procs::AcsSpec {
        args: extra.iter().map(|s| (*s).to_owned()).collect(),
        ..procs::AcsSpec::loopback()
    };
    AcsProcess::launch(exe, dir, SECRET, &spec)
}

/// One run of every scenario against the ACS executable `exe`, with the fleet from `bin`.
fn run_once(args: &Args, bin: &Path, exe: &Path) -> anyhow::Result<Run> {
    // Registration: full discovery of new XX230v CPEs.
    let dir = tempfile::tempdir()?;
    let acs = start_acs(exe, dir.path(), &[])?;
    let cpu0 = acs.cpu_micros()?;
    let n = args.registrations.to_string();
    let c = args.concurrency.to_string();
    let (reg, reg_secs) = cpe_sim(
        bin,
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
    let ok = reg.sessions_ok.max(1) as f64;
    let run = Run {
        reg_ms: reg_cpu as f64 / 1000.0 / ok,
        disk_kib: disk as f64 / 1024.0 / ok,
        reg_p50: reg.p50_ms,
        reg_p99: reg.p99_ms,
        periodic: Vec::new(),
    };
    println!(
        "registration: {} ok, {} failed in {:.1} s; ACS CPU {:.2} ms/registration; p50 {:.1} ms p99 {:.1} ms; disk {:.1} KiB/device; ACS RSS {} MiB",
        reg.sessions_ok,
        reg.sessions_failed,
        reg_secs,
        run.reg_ms,
        reg.p50_ms,
        reg.p99_ms,
        run.disk_kib,
        rss >> 20
    );

    // Periodic: registered CPEs (no discovery) informing back to back, first answering a fresh
    // Digest challenge in every session (one extra round trip), then re-using the last nonce
    // pre-emptively as RFC 7616 allows and some CPE stacks do.
    let mut run = run;
    for (threads_label, threads) in CWMP_THREADS {
        let dir = tempfile::tempdir()?;
        let acs = start_acs(
            exe,
            dir.path(),
            &["--no-bootstrap-refresh", "--cwmp-threads", threads],
        )?;
        let n = args.periodic_cpes.to_string();
        cpe_sim(
            bin,
            &acs.url,
            &[
                "--count".into(),
                n.clone(),
                "--once".into(),
                "--concurrency".into(),
                c.clone(),
            ],
        )?;
        for (label, extra) in PERIODIC {
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
            let (per, per_secs) = cpe_sim(bin, &acs.url, &sim_args)?;
            let per_cpu = acs.cpu_micros()? - cpu0;
            let rate = per.sessions_ok as f64 / per_secs;
            let us = per_cpu as f64 / per.sessions_ok.max(1) as f64;
            println!(
                "periodic ({label}, {threads_label}): {} ok, {} failed in {:.1} s = {rate:.0} sessions/s; ACS CPU {us:.0} µs/session; p50 {:.2} ms p99 {:.2} ms",
                per.sessions_ok, per.sessions_failed, per_secs, per.p50_ms, per.p99_ms
            );
            run.periodic.push([rate, us, per.p50_ms, per.p99_ms]);
        }
        acs.stop()?;
    }
    Ok(run)
}

/// "median (min–max)" of a figure over the runs, with `digits` decimals.
fn spread(values: &mut [f64], digits: usize) -> String {
    values.sort_by(f64::total_cmp);
    let median = values[values.len() / 2];
    match (values.first(), values.last()) {
        (Some(lo), Some(hi)) if values.len() > 1 => {
            format!("{median:.digits$} ({lo:.digits$}–{hi:.digits$})")
        }
        _ => format!("{median:.digits$}"),
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if !args.no_build {
        procs::build_release()?;
    }
    let bin = procs::bin_dir()?;
    let this = bin.join("fibreplane");
    if args.scripts {
        return scripts::run(&args, &bin, &this);
    }
    let mut runs = Vec::new();
    let mut base_runs = Vec::new();
    for i in 0..args.repeat.max(1) {
        println!("run {}/{}", i + 1, args.repeat.max(1));
        runs.push(run_once(&args, &bin, &this)?);
        if let Some(exe) = &args.baseline {
            println!(
                "run {}/{} of the baseline build {}",
                i + 1,
                args.repeat.max(1),
                exe.display()
            );
            base_runs.push(run_once(&args, &bin, exe)?);
        }
    }
    let col = |f: &dyn Fn(&Run) -> f64, digits| {
        spread(&mut runs.iter().map(f).collect::<Vec<_>>(), digits)
    };
    let compare = Compare {
        this: &runs,
        base: &base_runs,
    };
    let mut rows = vec![
        Row { figure: "ACS CPU per full XX230v registration (CR-credentials SPV, GPN + GPV of ~6,400 params)".into(), value: format!("{} ms", col(&|r| r.reg_ms, 2)), target: "≤ 5 ms", baseline: "GenieACS ≈ 31 ms (~900-param TR-098 model; note anchor)".into() },
        Row { figure: "Store on disk per fully refreshed XX230v (redb)".into(), value: format!("{} KiB", col(&|r| r.disk_kib, 1)), target: "≤ 100 KB", baseline: "GenieACS/MongoDB ≈ 624 KB BSON".into() },
        Row { figure: "Registration session latency p50 / p99".into(), value: format!("{} / {} ms", col(&|r| r.reg_p50, 0), col(&|r| r.reg_p99, 0)), target: "—", baseline: "GenieACS p50 213 ms, p95 865 ms".into() },
    ];
    for (i, (label, _, _)) in periodic_scenarios().iter().enumerate() {
        let rate = col(&|r| r.periodic[i][0], 0);
        let us = col(&|r| r.periodic[i][1], 0);
        rows.push(Row {
            figure: format!("Periodic sessions/s, {label} (ACS and fleet share 2 cores)"),
            value: format!("{rate}/s"),
            target: "≥ 5,000/s",
            baseline: "GenieACS ≈ 49/s".into(),
        });
        rows.push(Row {
            figure: format!("ACS CPU (user + sys) per periodic session, {label}"),
            value: format!("{us} µs"),
            target: "≤ 100 µs",
            baseline: "GenieACS ≈ 7,800 µs".into(),
        });
        rows.push(Row {
            figure: format!("Periodic session latency p50 / p99, {label}"),
            value: format!(
                "{} / {} ms",
                col(&|r| r.periodic[i][2], 2),
                col(&|r| r.periodic[i][3], 2)
            ),
            target: "—",
            baseline: "GenieACS p50 133 ms, p95 403 ms".into(),
        });
    }
    let mut table = format!(
        "Median of {} runs (min–max in parentheses).\n\n| Figure | Measured | Target | Baseline |\n|---|---|---|---|\n",
        runs.len()
    );
    for r in &rows {
        table.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            r.figure, r.value, r.target, r.baseline
        ));
    }
    if !base_runs.is_empty() {
        table.push_str(&compare.table());
    }
    print!("\n{table}");
    if args.write_readme {
        write_readme(&table, &args)?;
    }
    Ok(())
}

/// This build's figures against another build's, measured in the same run.
struct Compare<'a> {
    this: &'a [Run],
    base: &'a [Run],
}

impl Compare<'_> {
    /// The median of a figure over a build's runs.
    fn median(runs: &[Run], f: &dyn Fn(&Run) -> f64) -> f64 {
        let mut v: Vec<f64> = runs.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    }

    /// A second table: the ACS figures of both builds (medians) and this build's ratio.
    fn table(&self) -> String {
        type Getter = Box<dyn Fn(&Run) -> f64>;
        let mut rows: Vec<(String, Getter, usize)> = vec![(
            "ACS CPU per full registration (ms)".into(),
            Box::new(|r: &Run| r.reg_ms),
            2,
        )];
        for (i, (label, _, _)) in periodic_scenarios().iter().enumerate() {
            rows.push((
                format!("Periodic sessions/s, {label}"),
                Box::new(move |r: &Run| r.periodic[i][0]),
                0,
            ));
            rows.push((
                format!("ACS CPU per periodic session (µs), {label}"),
                Box::new(move |r: &Run| r.periodic[i][1]),
                0,
            ));
        }
        let mut out = format!(
            "\nThe same figures of the baseline build (`--baseline`), measured in the same run, interleaved run by run (medians of {}):\n\n| Figure | This build | Baseline build | Ratio |\n|---|---|---|---|\n",
            self.base.len()
        );
        for (label, f, digits) in rows {
            let (a, b) = (Self::median(self.this, &f), Self::median(self.base, &f));
            out.push_str(&format!(
                "| {label} | {a:.digits$} | {b:.digits$} | {:.2}× |\n",
                a / b
            ));
        }
        out
    }
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
        "{start}\nMachine: {} cores, {cpu}. Command: `cargo run -p fibreplane-benches --release --bin acs-load -- --registrations {} --periodic-cpes {} --periodic-secs {} --concurrency {} --repeat {} --write-readme`\n\n{table}{end}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        args.registrations,
        args.periodic_cpes,
        args.periodic_secs,
        args.concurrency,
        args.repeat
    );
    let new = match (text.find(start), text.find(end)) {
        (Some(a), Some(b)) if a < b => format!("{}{body}{}", &text[..a], &text[b + end.len()..]),
        _ => format!("{text}\n{body}\n"),
    };
    std::fs::write(&path, new)?;
    Ok(())
}

/// The script scenario: the same periodic sessions with and without GenieACS scripts.
mod scripts {
    use super::{Args, cpe_sim, spread, start_acs};
    use anyhow::{Context, bail};
    use std::path::Path;
    use std::process::Command;

    /// A provision of the usual shape: an hourly check of the inform interval and a virtual
    /// parameter declared fresh as of now, so that its script runs in every session.
    const PROVISION: &str = r#"
const hourly = Date.now(3600000);
declare("Device.ManagementServer.PeriodicInformEnable", {value: hourly}, {value: true});
declare("Device.DeviceInfo.SoftwareVersion", {value: hourly});
declare("VirtualParameters.Firmware", {value: Date.now()});
"#;
    /// The virtual parameter: reads a parameter the session already knows (no RPC).
    const VIRTUAL: &str = r#"
const v = declare("Device.DeviceInfo.SoftwareVersion", {value: Date.now(3600000)});
return {writable: false, value: ["fw-" + v.value[0], "xsd:string"]};
"#;

    /// Writes the GenieACS documents and imports them into the store at `dir`.
    fn import(exe: &Path, dir: &Path) -> anyhow::Result<()> {
        let docs = dir.join("genieacs");
        std::fs::create_dir_all(&docs)?;
        let write = |name: &str, doc: serde_json::Value| {
            std::fs::write(docs.join(name), format!("{doc}\n"))
        };
        write(
            "presets.json",
            serde_json::json!({"_id": "bench", "channel": "bench", "weight": 0,
                "configurations": [{"type": "provision", "name": "bench", "args": []}]}),
        )?;
        write(
            "provisions.json",
            serde_json::json!({"_id": "bench", "script": PROVISION}),
        )?;
        write(
            "vparams.json",
            serde_json::json!({"_id": "Firmware", "script": VIRTUAL}),
        )?;
        let out = Command::new(exe)
            .args(["import", "genieacs", "--data-dir"])
            .arg(dir)
            .arg("--presets")
            .arg(docs.join("presets.json"))
            .arg("--provisions")
            .arg(docs.join("provisions.json"))
            .arg("--virtual-parameters")
            .arg(docs.join("vparams.json"))
            .output()
            .context("running fibreplane import")?;
        if !out.status.success() {
            bail!("import failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(())
    }

    /// One measurement: sessions/s and ACS CPU µs per periodic session.
    fn measure(
        args: &Args,
        bin: &Path,
        exe: &Path,
        with_scripts: bool,
    ) -> anyhow::Result<[f64; 2]> {
        let dir = tempfile::tempdir()?;
        if with_scripts {
            import(exe, dir.path())?;
        }
        let acs = start_acs(exe, dir.path(), &["--no-bootstrap-refresh"])?;
        let (n, c) = (args.periodic_cpes.to_string(), args.concurrency.to_string());
        // Registration, then one periodic session each so the scripts' first writes are done
        // before the measurement.
        for extra in [
            &[][..],
            &["--start-event".to_owned(), "2 PERIODIC".to_owned()][..],
        ] {
            let mut a = vec![
                "--count".to_owned(),
                n.clone(),
                "--once".into(),
                "--concurrency".into(),
                c.clone(),
            ];
            a.extend(extra.iter().cloned());
            cpe_sim(bin, &acs.url, &a)?;
        }
        let cpu0 = acs.cpu_micros()?;
        let secs = args.periodic_secs.to_string();
        let a: Vec<String> = [
            "--count",
            &n,
            "--interval",
            "0",
            "--duration",
            &secs,
            "--concurrency",
            &c,
            "--start-event",
            "2 PERIODIC",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let (per, per_secs) = cpe_sim(bin, &acs.url, &a)?;
        let cpu = acs.cpu_micros()? - cpu0;
        acs.stop()?;
        if per.sessions_failed > 0 {
            bail!("{} periodic sessions failed", per.sessions_failed);
        }
        let rate = per.sessions_ok as f64 / per_secs;
        let us = cpu as f64 / per.sessions_ok.max(1) as f64;
        println!(
            "periodic, scripts {with_scripts}: {} sessions in {per_secs:.1} s = {rate:.0}/s; ACS CPU {us:.0} µs/session",
            per.sessions_ok
        );
        Ok([rate, us])
    }

    /// Runs both variants, interleaved, and writes the table.
    pub(super) fn run(args: &Args, bin: &Path, exe: &Path) -> anyhow::Result<()> {
        let (mut with, mut without) = (Vec::new(), Vec::new());
        for _ in 0..args.repeat.max(1) {
            without.push(measure(args, bin, exe, false)?);
            with.push(measure(args, bin, exe, true)?);
        }
        let col = |runs: &[[f64; 2]], i: usize, digits: usize| {
            let mut v: Vec<f64> = runs.iter().map(|r| r[i]).collect();
            spread(&mut v, digits)
        };
        let median = |runs: &[[f64; 2]], i: usize| {
            let mut v: Vec<f64> = runs.iter().map(|r| r[i]).collect();
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("model name"))
                    .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
            })
            .unwrap_or_default();
        let table = format!(
            "Machine: {} cores, {cpu}. Command: `cargo run -p fibreplane-benches --release --bin acs-load -- --scripts --periodic-cpes {} --periodic-secs {} --concurrency {} --repeat {} --write-readme`\n\n\
             Median of {} runs (min–max in parentheses), pre-emptive Digest off (challenged), default threads.\n\n\
             | Figure | Without scripts | With one script provision and one virtual parameter | Ratio | Target |\n|---|---|---|---|---|\n\
             | Periodic sessions/s | {} | {} | {:.2}× | — |\n\
             | ACS CPU (user + sys) per periodic session | {} µs | {} µs | {:.2}× | ≤ 2× (GenieACS: 1.15× its 11 ms) |\n",
            std::thread::available_parallelism().map_or(0, |n| n.get()),
            args.periodic_cpes,
            args.periodic_secs,
            args.concurrency,
            args.repeat.max(1),
            args.repeat.max(1),
            col(&without, 0, 0),
            col(&with, 0, 0),
            median(&with, 0) / median(&without, 0).max(1e-9),
            col(&without, 1, 0),
            col(&with, 1, 0),
            median(&with, 1) / median(&without, 1).max(1e-9),
        );
        println!("{table}");
        if args.write_readme {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
            let readme = std::fs::read_to_string(&path)?;
            let (start, end) = (
                "<!-- acs-load-scripts:start -->",
                "<!-- acs-load-scripts:end -->",
            );
            let (Some(a), Some(b)) = (readme.find(start), readme.find(end)) else {
                bail!("README has no {start} … {end} block");
            };
            let new = format!("{}{start}\n{table}{}", &readme[..a], &readme[b..]);
            std::fs::write(&path, new)?;
        }
        Ok(())
    }
}
