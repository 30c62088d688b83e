//! The proof harness (issue 8): runs the whole-system scenarios — boot storm, scale at rest,
//! crash safety (and, where built, hostile input and faults of neighbours) — each measuring its
//! baseline in the same run where one exists, prints one results table and, with
//! `--write-readme`, rewrites it in benches/README.md between the `proof` markers.
//!
//! `cargo run -p fibreplane-benches --release --bin proof -- all --write-readme`
//! (`--quick` runs the small configurations the test suite uses.)

use std::time::Duration;

use clap::{Parser, ValueEnum};
use fibreplane_benches::hostile::{self, HostileConfig};
use fibreplane_benches::neighbours::{self, NeighbourConfig};
use fibreplane_benches::proof::{crash, scale, storm};
use fibreplane_benches::table::{self, Row};
use fibreplane_benches::{procs, readme};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// Every scenario below, in this order.
    All,
    /// 100,000 CPEs booting within 60 s after a power restoration.
    BootStorm,
    /// 1,000,000 stored devices at rest.
    Scale,
    /// 20 SIGKILL rounds under a 10,000-CPE load with NBI tasks queued.
    Crash,
    /// 1,000,000 generated and mutated inputs, 1,000 slowloris connections, oversized bodies.
    Hostile,
    /// An OLT, Chromium, ERPNext and the MQTT broker failing for 60 s each.
    Neighbours,
}

#[derive(Debug, Parser)]
#[command(about = "Whole-system proof scenarios; figures into benches/README.md")]
struct Args {
    /// Scenarios to run.
    #[arg(value_enum, default_values_t = [Scenario::All])]
    scenarios: Vec<Scenario>,
    /// Small configurations (the test suite's), to check the harness itself quickly.
    #[arg(long)]
    quick: bool,
    /// Use the release binaries already built.
    #[arg(long)]
    no_build: bool,
    /// Rewrite the results table in benches/README.md.
    #[arg(long)]
    write_readme: bool,
    /// Seed of the random choices (kill moments, devices).
    #[arg(long, default_value_t = 20_261_204)]
    seed: u64,
}

/// A scenario's rows, or one failed row saying why it could not finish: one scenario's failure
/// does not cost the others their run.
fn outcome(scenario: &'static str, r: anyhow::Result<Vec<Row>>) -> Vec<Row> {
    match r {
        Ok(rows) => rows,
        Err(e) => {
            eprintln!("proof: {scenario} did not finish: {e:#}");
            vec![
                Row::new(
                    scenario,
                    "the scenario ran to its end",
                    format!("no: {e:#}"),
                )
                .target("yes", false),
            ]
        }
    }
}

fn wants(args: &Args, s: Scenario) -> bool {
    args.scenarios.contains(&Scenario::All) || args.scenarios.contains(&s)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if !args.no_build {
        procs::build_release()?;
    }
    let fd_limit = procs::raise_fd_limit()?;
    let bin = procs::bin_dir()?;
    let fibreplane = bin.join("fibreplane");
    let q = args.quick;
    let mut rows: Vec<Row> = Vec::new();

    if wants(&args, Scenario::BootStorm) {
        let cfg = storm::StormConfig {
            fibreplane: fibreplane.clone(),
            fleets: storm::Fleets::Processes {
                cpe_sim: bin.join("cpe-sim"),
                processes: 4,
            },
            cpes: if q { 2_000 } else { 100_000 },
            new_cpes: if q { 100 } else { 1_000 },
            tasks: if q { 100 } else { 1_000 },
            window: Duration::from_secs(if q { 5 } else { 60 }),
            timeout: Duration::from_secs(if q { 60 } else { 600 }),
            max_sessions: 2048,
            retry_after: None,
        };
        eprintln!(
            "proof: boot storm of {} CPEs (fd limit {fd_limit})",
            cfg.cpes + cfg.new_cpes
        );
        let r = storm::run(&cfg).await.map(|r| {
            eprintln!("{r:?}");
            storm::rows(&r, cfg.window)
        });
        rows.extend(outcome("boot-storm", r));
    }
    if wants(&args, Scenario::Scale) {
        let cfg = scale::ScaleConfig {
            fibreplane: fibreplane.clone(),
            cpe_sim: Some(bin.join("cpe-sim")),
            devices: if q { 20_000 } else { 1_000_000 },
            baseline_devices: if q { 2_000 } else { 10_000 },
            requests: if q { 200 } else { 2_000 },
            periodic_cpes: if q { 1_000 } else { 10_000 },
            periodic: Duration::from_secs(if q { 5 } else { 15 }),
            idle: Duration::from_secs(if q { 2 } else { 10 }),
        };
        eprintln!("proof: scale at rest, {} devices", cfg.devices);
        let r = scale::run(&cfg).await.map(|r| {
            eprintln!("{r:?}");
            scale::rows(&r)
        });
        rows.extend(outcome("scale", r));
    }
    if wants(&args, Scenario::Crash) {
        let cfg = crash::CrashConfig {
            fibreplane: fibreplane.clone(),
            rounds: if q { 3 } else { 20 },
            cpes: if q { 500 } else { 10_000 },
            interval: Duration::from_secs(if q { 3 } else { 20 }),
            kill_after: (
                Duration::from_millis(500),
                Duration::from_secs(if q { 2 } else { 6 }),
            ),
            task_every: Duration::from_millis(if q { 50 } else { 20 }),
            settle: Duration::from_secs(if q { 60 } else { 300 }),
            seed: args.seed,
        };
        eprintln!(
            "proof: crash safety, {} rounds, {} CPEs",
            cfg.rounds, cfg.cpes
        );
        let r = crash::run(&cfg).await.map(|r| {
            eprintln!("{r:?}");
            crash::rows(&r)
        });
        rows.extend(outcome("crash", r));
    }
    if wants(&args, Scenario::Hostile) {
        let cfg = HostileConfig {
            inputs: if q { 20_000 } else { 1_000_000 },
            slowloris: if q { 100 } else { 1_000 },
            seed: args.seed,
        };
        eprintln!(
            "proof: hostile input, {} inputs, {} slow connections",
            cfg.inputs, cfg.slowloris
        );
        let r = hostile::run(&cfg).await.map(|r| hostile::rows(&r));
        rows.extend(outcome("hostile", r));
    }
    if wants(&args, Scenario::Neighbours) {
        let cfg = NeighbourConfig {
            fibreplane_bin: fibreplane.clone(),
            outage: Duration::from_secs(if q { 3 } else { 60 }),
            cpes: if q { 3 } else { 8 },
        };
        eprintln!(
            "proof: faults of neighbours, {} s each",
            cfg.outage.as_secs()
        );
        let r = neighbours::run(&cfg).await.map(|r| neighbours::rows(&r));
        rows.extend(outcome("neighbours", r));
    }

    let mut command = String::from("cargo run -p fibreplane-benches --release --bin proof --");
    for s in &args.scenarios {
        command.push(' ');
        command.push_str(
            &s.to_possible_value()
                .map_or_else(String::new, |v| v.get_name().to_owned()),
        );
    }
    if q {
        command.push_str(" --quick");
    }
    command.push_str(" --write-readme");
    let md = table::markdown(&rows, &command, &table::machine());
    println!("{md}");
    if args.write_readme {
        readme::replace_section("proof", &md)?;
    }
    let missed: Vec<&Row> = rows.iter().filter(|r| r.met == Some(false)).collect();
    if !missed.is_empty() {
        for r in &missed {
            eprintln!(
                "proof: target missed: {} — {}: {} (target {})",
                r.scenario, r.figure, r.measured, r.target
            );
        }
        std::process::exit(1);
    }
    Ok(())
}
