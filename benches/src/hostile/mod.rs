//! Hostile input (issue 8, item 6): generated and mutated inputs against every surface that
//! reads peer input — CWMP envelopes, NBI queries and task bodies, Kuma webhook bodies, SNMP
//! responses, TP-Link responses — in process under `catch_unwind` and, for a sample, over real
//! HTTP and UDP on loopback; slowloris against the ACS while a cpe-sim fleet keeps running
//! sessions; oversized bodies; resident memory sampled throughout.
//!
//! Layout: `rng.rs` (seeded xorshift), `mutate.rs` (the mutations), `corpus.rs` (valid
//! seeds), `inproc.rs` (the parser entry points), `servers.rs` and `http.rs` (live services
//! and a raw client), `live.rs` (HTTP surfaces), `snmp.rs` (a hostile agent for the real
//! poller), `modem.rs` (a hostile modem for the native client), `slowloris.rs`, `oversize.rs`,
//! `run.rs` (the scenario), `report.rs` (figures and table rows).

mod corpus;
mod http;
mod inproc;
mod live;
mod modem;
mod mutate;
mod oversize;
mod report;
mod rng;
mod run;
mod servers;
mod slowloris;
mod snmp;

pub use inproc::Surface;
pub use oversize::OversizeResult;
pub use report::{Finding, HostileReport, RSS_BOUND, SurfaceCounts, rows};
pub use run::run;
pub use slowloris::{Phase, SlowlorisReport};

/// What to run.
#[derive(Debug, Clone)]
pub struct HostileConfig {
    /// Generated inputs, spread evenly over the six surfaces.
    pub inputs: usize,
    /// Slow connections held against the ACS.
    pub slowloris: usize,
    /// Seed of every generated input.
    pub seed: u64,
}

/// The soft and hard open-file limits of this process, from `/proc/self/limits`.
fn nofile() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    let mut nums = line["Max open files".len()..].split_whitespace();
    let parse = |s: Option<&str>| match s? {
        "unlimited" => Some(u64::MAX),
        n => n.parse().ok(),
    };
    Some((parse(nums.next())?, parse(nums.next())?))
}

/// Makes sure the soft open-file limit is at least `want`: a thousand slow connections and the
/// ACS's side of them need more than the common 1024. The workspace forbids `unsafe`, so the
/// limit is raised with util-linux's `prlimit` on this process when needed; a limit that stays
/// too low is an error that says what to run.
pub fn ensure_nofile(want: u64) -> anyhow::Result<()> {
    let Some((soft, hard)) = nofile() else {
        anyhow::bail!("cannot read the open-file limit from /proc/self/limits");
    };
    if soft >= want {
        return Ok(());
    }
    let target = want.min(hard);
    let _ = std::process::Command::new("prlimit")
        .arg(format!("--pid={}", std::process::id()))
        .arg(format!("--nofile={target}:{hard}"))
        .status();
    match nofile() {
        Some((soft, _)) if soft >= want => Ok(()),
        _ => anyhow::bail!(
            "the open-file limit ({soft}) is below the {want} this run needs: run `ulimit -n {want}` first"
        ),
    }
}
