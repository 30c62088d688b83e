//! The hostile run's figures and their rows in the proof table (scenario `hostile`).

use super::inproc::Surface;
use super::oversize::OversizeResult;
use super::slowloris::SlowlorisReport;
use crate::table::Row;

/// Counts for one surface.
#[derive(Debug, Clone, Default)]
pub struct SurfaceCounts {
    /// Inputs applied in process.
    pub inputs: u64,
    /// Parsed into a valid value.
    pub accepted: u64,
    /// Refused with an error.
    pub refused: u64,
    /// Parsed into a value that broke an invariant.
    pub invalid: u64,
    /// Panicked.
    pub panicked: u64,
    /// Inputs (or mutated peer answers) that also went over the network.
    pub live: u64,
    /// Of those, answered with a 5xx, dropped, timed out, or (for the pollers and clients)
    /// not returning within their bound.
    pub live_unclean: u64,
}

/// One finding: a panic or an unclean reply, with what is needed to reproduce it.
#[derive(Debug, Clone)]
pub struct Finding {
    /// Surface.
    pub surface: &'static str,
    /// What happened.
    pub what: String,
    /// The input's first bytes (lossy UTF-8), or the input index to regenerate it from the seed.
    pub input: String,
}

/// Everything the hostile run measured.
#[derive(Debug, Clone, Default)]
pub struct HostileReport {
    /// The seed.
    pub seed: u64,
    /// Per surface, in [`super::inproc::SURFACES`] order.
    pub surfaces: Vec<(Surface, SurfaceCounts)>,
    /// How often each mutation was applied (name, count).
    pub mutations: Vec<(String, u64)>,
    /// Seconds the in-process pass took.
    pub inproc_secs: f64,
    /// Panics caught (in process and in the live pollers and clients).
    pub panics: u64,
    /// Unclean replies: 5xx, dropped connections, timeouts, hung polls or reads, invalid
    /// values, and services that did not answer a valid request after the run.
    pub unclean: u64,
    /// The first findings (up to 20).
    pub findings: Vec<Finding>,
    /// Resident memory at the start, in bytes.
    pub rss_start: u64,
    /// Highest resident memory sampled during the run, in bytes.
    pub rss_peak: u64,
    /// SNMP polls against the hostile agent: ok, error.
    pub snmp_polls: (u64, u64),
    /// Modem reads through the hostile proxy: ok, error.
    pub modem_reads: (u64, u64),
    /// Slowloris.
    pub slowloris: SlowlorisReport,
    /// Oversized bodies, per service.
    pub oversize: Vec<OversizeResult>,
}

impl HostileReport {
    /// Inputs applied in process.
    pub fn inputs(&self) -> u64 {
        self.surfaces.iter().map(|(_, c)| c.inputs).sum()
    }

    /// Inputs (or peer answers) that went over the network.
    pub fn live(&self) -> u64 {
        self.surfaces.iter().map(|(_, c)| c.live).sum()
    }

    /// Peak growth of resident memory over the run, in bytes.
    pub fn rss_growth(&self) -> u64 {
        self.rss_peak.saturating_sub(self.rss_start)
    }
}

/// Resident memory growth considered bounded: the run's largest inputs are under 1 MB, so a
/// growth of this size means something keeps what it should drop.
pub const RSS_BOUND: u64 = 1 << 30;

fn count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The rows of the proof table.
pub fn rows(r: &HostileReport) -> Vec<Row> {
    const S: &str = "hostile";
    let mib = |b: u64| format!("{:.0} MiB", b as f64 / 1_048_576.0);
    let n = r.inputs();
    let mut rows = vec![
        Row::new(S, "generated and mutated inputs (in process)", count(n))
            .target("≥ 1,000,000", n >= 1_000_000),
        Row::new(
            S,
            "inputs/s in process (one thread)",
            format!("{:.0}/s", n as f64 / r.inproc_secs.max(1e-9)),
        ),
        Row::new(S, "of them also sent over HTTP/UDP", count(r.live())),
        Row::new(S, "panics", count(r.panics)).target("0", r.panics == 0),
        Row::new(
            S,
            "unclean replies (5xx, drop, hang, invalid value)",
            count(r.unclean),
        )
        .target("0", r.unclean == 0),
    ];
    for (s, c) in &r.surfaces {
        rows.push(Row::new(
            S,
            format!("{}: inputs / refused / live", s.name()),
            format!(
                "{} / {} / {}",
                count(c.inputs),
                count(c.refused),
                count(c.live)
            ),
        ));
    }
    rows.push(Row::new(
        S,
        "SNMP polls vs hostile agent: ok / error",
        format!("{} / {}", r.snmp_polls.0, r.snmp_polls.1),
    ));
    rows.push(Row::new(
        S,
        "modem reads via hostile proxy: ok / error",
        format!("{} / {}", r.modem_reads.0, r.modem_reads.1),
    ));
    rows.push(
        Row::new(S, "peak RSS growth", mib(r.rss_growth()))
            .target(format!("< {}", mib(RSS_BOUND)), r.rss_growth() < RSS_BOUND)
            .baseline(format!("{} at start", mib(r.rss_start)), None),
    );
    let sl = &r.slowloris;
    let (a, b) = (&sl.attacked, &sl.baseline);
    rows.push(
        Row::new(
            S,
            format!(
                "CPE sessions/s with {} slowloris connections ({} CPEs)",
                sl.connections, sl.cpes
            ),
            format!("{:.1}/s", a.per_s),
        )
        .target("sessions keep completing", a.sessions > 0 && a.failed == 0)
        .baseline(format!("{:.1}/s without", b.per_s), Some(a.per_s / b.per_s)),
    );
    rows.push(
        Row::new(
            S,
            "CPE session p99 with slowloris",
            format!("{:.1} ms", a.p99_ms),
        )
        .baseline(
            format!("{:.1} ms without", b.p99_ms),
            Some(a.p99_ms / b.p99_ms),
        ),
    );
    rows.push(
        Row::new(
            S,
            "slow connections closed by the ACS (time to close p50 / max)",
            format!(
                "{} of {} ({:.1} s / {:.1} s)",
                sl.closed_by_server, sl.opened, sl.close_p50_s, sl.close_max_s
            ),
        )
        .target(
            format!("all, by the header timeout ({:.0} s)", sl.header_timeout_s),
            sl.opened > 0 && sl.closed_by_server == sl.opened,
        ),
    );
    for o in &r.oversize {
        rows.push(
            Row::new(
                S,
                format!(
                    "{}: Content-Length 1 GiB / chunked past {} KiB",
                    o.service,
                    o.limit / 1024
                ),
                format!(
                    "{} before the body / {} after {} KiB sent",
                    o.declared_status
                        .map_or("no answer".into(), |s| s.to_string()),
                    o.chunked_status
                        .map_or("no answer".into(), |s| s.to_string()),
                    o.chunked_sent / 1024
                ),
            )
            .target("413 early", o.rejected_early()),
        );
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_carry_targets_and_the_slowloris_baseline() {
        let mut r = HostileReport {
            surfaces: vec![(
                Surface::Cwmp,
                SurfaceCounts {
                    inputs: 1_000_000,
                    ..Default::default()
                },
            )],
            inproc_secs: 10.0,
            ..Default::default()
        };
        r.slowloris.baseline.per_s = 100.0;
        r.slowloris.attacked.per_s = 50.0;
        r.slowloris.attacked.sessions = 10;
        let rows = rows(&r);
        assert!(rows.iter().all(|x| x.scenario == "hostile"));
        let first = &rows[0];
        assert_eq!(
            (first.measured.as_str(), first.met),
            ("1,000,000", Some(true))
        );
        let panics = rows.iter().find(|x| x.figure == "panics").unwrap();
        assert_eq!(panics.met, Some(true));
        let sl = rows
            .iter()
            .find(|x| x.figure.starts_with("CPE sessions/s"))
            .unwrap();
        assert_eq!(sl.ratio, Some(0.5));
        assert_eq!(count(1234567), "1,234,567");
    }
}
