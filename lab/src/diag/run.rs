//! Running one requested test: the loopback check of `target.rs`, then the measurement.

use std::time::Duration;

use super::outcome::Outcome;
use super::{Test, probe, target, transfer};

/// Fleet-wide settings of the simulated diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RunOptions {
    /// The UDP port IPPing and TraceRoute probe (an echo service, RFC 862's port 7 by default).
    pub(crate) echo_port: u16,
    /// Longest a Download or Upload test may take before it ends as `Error_Timeout`.
    pub(crate) transfer_limit: Duration,
}

/// Runs `test` and reports what it measured or why it could not run.
pub(crate) async fn run(test: &Test, opts: RunOptions) -> Outcome {
    let measured = match test {
        Test::Ping {
            host,
            count,
            timeout_ms,
            size,
        } => match target::resolve(host) {
            Ok(ip) => {
                let timeout = Duration::from_millis(u64::from(*timeout_ms));
                probe::ping(ip, opts.echo_port, *count, timeout, *size as usize)
                    .await
                    .map(Outcome::Ping)
            }
            Err(f) => Err(f),
        },
        Test::TraceRoute {
            host,
            tries,
            timeout_ms,
            size,
            max_hops,
        } => match target::resolve(host) {
            Ok(ip) => {
                let timeout = Duration::from_millis(u64::from(*timeout_ms));
                let size = *size as usize;
                probe::trace(ip, host, opts.echo_port, *tries, timeout, size, *max_hops)
                    .await
                    .map(Outcome::Trace)
            }
            Err(f) => Err(f),
        },
        Test::Download { url, duration_s } => match target::url(url) {
            Ok((u, ip)) => {
                let duration =
                    (*duration_s > 0).then(|| Duration::from_secs(u64::from(*duration_s)));
                transfer::download(&u, ip, duration, opts.transfer_limit)
                    .await
                    .map(Outcome::Transfer)
            }
            Err(f) => Err(f),
        },
        Test::Upload { url, length } => match target::url(url) {
            Ok((u, ip)) => transfer::upload(&u, ip, *length, opts.transfer_limit)
                .await
                .map(Outcome::Transfer),
            Err(f) => Err(f),
        },
    };
    measured.unwrap_or_else(Outcome::Failed)
}
