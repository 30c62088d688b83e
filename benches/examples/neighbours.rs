//! Runs the `neighbours` proof scenario on its own and prints its rows, until the harness's
//! `proof all` does: `cargo run --release -p fibreplane-benches --example neighbours --
//! <fibreplane binary> [outage seconds] [cpes]`.

use fibreplane_benches::neighbours::{self, NeighbourConfig};
use std::time::Duration;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let bin = args.next().ok_or_else(|| {
        anyhow::anyhow!("usage: neighbours <fibreplane binary> [outage s] [cpes]")
    })?;
    let outage: u64 = args.next().map_or(Ok(60), |a| a.parse())?;
    let cpes: usize = args.next().map_or(Ok(8), |a| a.parse())?;
    let report = neighbours::run(&NeighbourConfig {
        fibreplane_bin: bin.into(),
        outage: Duration::from_secs(outage),
        cpes,
    })
    .await?;
    println!("{report:#?}");
    for r in neighbours::rows(&report) {
        println!(
            "| {} | {} | {} | {:?} |",
            r.figure, r.measured, r.target, r.met
        );
    }
    Ok(())
}
