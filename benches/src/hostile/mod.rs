//! Hostile input (issue 8, item 6): generated and mutated inputs against every surface that
//! reads peer input — CWMP envelopes, NBI queries and task bodies, Kuma webhook bodies, SNMP
//! responses, TP-Link responses — in process under `catch_unwind` and, for a sample, over real
//! HTTP and UDP on loopback; slowloris against the ACS while a cpe-sim fleet keeps running
//! sessions; oversized bodies; resident memory sampled throughout.
//!
//! Layout: (`crate::rng` is the seeded xorshift), `mutate.rs` (the mutations), `corpus.rs` (valid
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

/// Makes sure the open-file limit is at least `want`: a thousand slow connections and the
/// ACS's side of them need more than the common 1024. The soft limit is raised to the hard one;
/// a hard limit below `want` is an error that says what to run.
pub fn ensure_nofile(want: u64) -> anyhow::Result<()> {
    let have = crate::procs::raise_fd_limit()?;
    if have < want {
        anyhow::bail!(
            "the open-file limit ({have}) is below the {want} this run needs: run `ulimit -Hn {want}` first"
        );
    }
    Ok(())
}
