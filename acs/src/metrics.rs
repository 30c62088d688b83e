//! Counters for every queue, limit and error class of the ACS, and the latency histograms of its
//! CWMP sessions and diagnostics. They are prometheus-client metrics, so the hub renders them
//! (help texts, escaping, histogram buckets) through the library: [`Metrics::register`].

use prometheus_client::metrics::counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use std::time::Duration;

/// Upper bounds (seconds) of the CWMP session latency buckets. An idle periodic session on a LAN
/// takes a few milliseconds (two round trips and one store write); across an access network
/// every RPC adds a round trip of 10–100 ms, so sessions with tasks or provisioning land between
/// 0.1 and 5 s; 10 and 30 s catch the slow ones up to the default 30 s session timeout (a session
/// that times out never ends with 204 and is counted by `sessions_expired` instead).
const SESSION_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Upper bounds (seconds) of the diagnostic run buckets. A run is a connection request, a
/// session to request the test, the test on the CPE, its `8 DIAGNOSTICS COMPLETE` session and a
/// refresh: about a second at best (the lab), a few seconds for a ping, tens of seconds for a
/// traceroute or a TR-143 transfer; the hub's budget is 120 s by default and 600 s at most, so
/// the top buckets show runs that waited for their deadline.
const DIAGNOSTIC_BUCKETS: [f64; 11] = [
    0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];

/// A monotonically increasing counter: prometheus-client's, behind the ACS's `inc` and `get`.
#[derive(Debug, Default)]
pub struct Counter(counter::Counter);

impl Counter {
    /// Adds one.
    pub fn inc(&self) {
        self.0.inc();
    }

    /// The current value.
    pub fn get(&self) -> u64 {
        self.0.get()
    }
}

/// Labels of a diagnostic run: its kind (`ping`, `trace_route`, `download`, `upload`) and
/// whether it returned results (`ok`) or not (`failed`).
type DiagLabels = [(&'static str, &'static str); 2];

/// The latency histograms, built with their buckets.
#[derive(Debug)]
struct Latency {
    session: Histogram,
    diagnostic: Family<DiagLabels, Histogram, fn() -> Histogram>,
}

impl Default for Latency {
    fn default() -> Self {
        Self {
            session: Histogram::new(SESSION_BUCKETS),
            diagnostic: Family::new_with_constructor(|| Histogram::new(DIAGNOSTIC_BUCKETS)),
        }
    }
}

/// The ACS's counters and latency histograms.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Informs accepted (sessions started).
    pub informs: Counter,
    /// Devices registered for the first time.
    pub registrations: Counter,
    /// Sessions that ended with 204.
    pub sessions_completed: Counter,
    /// Sessions dropped by timeout.
    pub sessions_expired: Counter,
    /// New sessions refused with 503 because the session cap was reached.
    pub overload_503: Counter,
    /// 401 challenges sent.
    pub auth_challenges: Counter,
    /// Authentication failures (wrong credentials).
    pub auth_failures: Counter,
    /// Bodies that failed to parse.
    pub parse_errors: Counter,
    /// Bodies refused for size.
    pub oversized: Counter,
    /// Protocol violations.
    pub violations: Counter,
    /// Request bodies whose Content-Length counted characters instead of bytes, read as meant.
    pub bodies_reframed: Counter,
    /// Informs refused because the device was already in a session.
    pub concurrent_session_refused: Counter,
    /// Stale sessions closed because their CPE came back with a fresh Inform.
    pub sessions_taken_over: Counter,
    /// Discoveries that fell back to a more careful mode (a fault, a truncated list).
    pub discovery_fallbacks: Counter,
    /// Tasks completed.
    pub tasks_done: Counter,
    /// Task faults recorded.
    pub task_faults: Counter,
    /// Connection requests sent.
    pub connection_requests: Counter,
    /// Connection requests that failed.
    pub connection_request_failures: Counter,
    /// Diagnostics run through `Acs::run_diagnostic`.
    pub diagnostics: Counter,
    /// Diagnostics that ended without results (refused, lost, timed out, failed tests).
    pub diagnostic_failures: Counter,
    latency: Latency,
}

impl Metrics {
    /// Records a CWMP session that ended with 204, `elapsed` after its Inform arrived.
    pub fn observe_session(&self, elapsed: Duration) {
        self.latency.session.observe(elapsed.as_secs_f64());
    }

    /// Records a diagnostic run of `kind` (see [`crate::Diagnostic::kind_name`]) that took
    /// `elapsed`, with results (`ok`) or without.
    pub fn observe_diagnostic(&self, kind: &'static str, ok: bool, elapsed: Duration) {
        let outcome = if ok { "ok" } else { "failed" };
        self.latency
            .diagnostic
            .get_or_create(&[("kind", kind), ("outcome", outcome)])
            .observe(elapsed.as_secs_f64());
    }

    /// Registers every metric (the live ones, not copies) under its `fibreplane_acs_` name.
    pub fn register(&self, registry: &mut Registry) {
        for (name, help, counter) in self.counters() {
            registry.register(format!("fibreplane_acs_{name}"), help, counter.0.clone());
        }
        registry.register_with_unit(
            "fibreplane_acs_session_duration",
            "CWMP sessions that ended with 204, by time from their Inform to the 204",
            Unit::Seconds,
            self.latency.session.clone(),
        );
        registry.register_with_unit(
            "fibreplane_acs_diagnostic_duration",
            "Diagnostic runs (Acs::run_diagnostic, queueing included) by kind and outcome",
            Unit::Seconds,
            self.latency.diagnostic.clone(),
        );
    }

    /// Every counter with its name (after `fibreplane_acs_`, before `_total`) and help text.
    fn counters(&self) -> [(&'static str, &'static str, &Counter); 20] {
        [
            (
                "informs",
                "Informs accepted (CWMP sessions started)",
                &self.informs,
            ),
            (
                "registrations",
                "Devices registered by their first Inform",
                &self.registrations,
            ),
            (
                "sessions_completed",
                "CWMP sessions that ended with 204",
                &self.sessions_completed,
            ),
            (
                "sessions_expired",
                "CWMP sessions dropped because the CPE went quiet past the session timeout",
                &self.sessions_expired,
            ),
            (
                "overload_503",
                "Informs refused with 503 because the session cap was reached",
                &self.overload_503,
            ),
            (
                "auth_challenges",
                "401 challenges sent to CPEs",
                &self.auth_challenges,
            ),
            (
                "auth_failures",
                "CPE authentications that failed (wrong or unknown credentials)",
                &self.auth_failures,
            ),
            (
                "parse_errors",
                "CWMP bodies that failed to parse",
                &self.parse_errors,
            ),
            (
                "oversized",
                "CWMP bodies refused for their size (413)",
                &self.oversized,
            ),
            (
                "violations",
                "CWMP protocol violations by CPEs",
                &self.violations,
            ),
            (
                "bodies_reframed",
                "CWMP request bodies whose Content-Length counted characters instead of bytes, read by characters",
                &self.bodies_reframed,
            ),
            (
                "concurrent_session_refused",
                "Informs refused because the device was already in a session",
                &self.concurrent_session_refused,
            ),
            (
                "sessions_taken_over",
                "Stale sessions closed because their CPE came back with a fresh Inform",
                &self.sessions_taken_over,
            ),
            (
                "discovery_fallbacks",
                "Tree discoveries that fell back to a more careful mode (fault or truncated list)",
                &self.discovery_fallbacks,
            ),
            ("tasks_done", "Tasks completed", &self.tasks_done),
            ("task_faults", "Task faults recorded", &self.task_faults),
            (
                "connection_requests",
                "Connection requests sent to CPEs",
                &self.connection_requests,
            ),
            (
                "connection_request_failures",
                "Connection requests that failed",
                &self.connection_request_failures,
            ),
            (
                "diagnostics",
                "Diagnostics run through Acs::run_diagnostic",
                &self.diagnostics,
            ),
            (
                "diagnostic_failures",
                "Diagnostics that ended without results (refused, lost, timed out, failed test)",
                &self.diagnostic_failures,
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::encoding::prometheus_text::encode;

    fn scrape(m: &Metrics) -> String {
        let mut registry = Registry::default();
        m.register(&mut registry);
        let mut out = String::new();
        encode(&mut out, &registry).unwrap();
        out
    }

    #[test]
    fn counters_keep_their_names_and_get_help() {
        let m = Metrics::default();
        m.informs.inc();
        m.informs.inc();
        m.overload_503.inc();
        assert_eq!(m.informs.get(), 2);
        let text = scrape(&m);
        assert!(
            text.contains("\nfibreplane_acs_informs_total 2\n"),
            "{text}"
        );
        assert!(
            text.contains("\nfibreplane_acs_overload_503_total 1\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "# HELP fibreplane_acs_informs_total Informs accepted (CWMP sessions started).\n"
            ),
            "{text}"
        );
        // Every family has a help text and a type.
        let help = text.matches("# HELP ").count();
        // One family per counter, and the session-latency histogram.
        assert_eq!(help, m.counters().len() + 1, "{text}");
        assert_eq!(text.matches("# TYPE ").count(), help, "{text}");
    }

    #[test]
    fn a_session_shows_up_in_its_bucket_and_every_one_above() {
        let m = Metrics::default();
        // 1/32 s and 3 s: their sum is exact in binary.
        m.observe_session(Duration::from_micros(31_250));
        m.observe_session(Duration::from_secs(3));
        let text = scrape(&m);
        for (le, n) in [
            ("0.025", 0),
            ("0.05", 1),
            ("2.5", 1),
            ("5", 2),
            ("30", 2),
            ("+Inf", 2),
        ] {
            let line =
                format!("fibreplane_acs_session_duration_seconds_bucket{{le=\"{le}\"}} {n}\n");
            assert!(text.contains(&line), "{line} in\n{text}");
        }
        assert!(
            text.contains("fibreplane_acs_session_duration_seconds_count 2\n"),
            "{text}"
        );
        assert!(
            text.contains("fibreplane_acs_session_duration_seconds_sum 3.03125\n"),
            "{text}"
        );
    }

    #[test]
    fn diagnostics_are_bucketed_by_kind_and_outcome() {
        let m = Metrics::default();
        m.observe_diagnostic("ping", true, Duration::from_secs(4));
        m.observe_diagnostic("ping", false, Duration::from_secs(200));
        m.observe_diagnostic("download", true, Duration::from_secs(40));
        let text = scrape(&m);
        for line in [
            "fibreplane_acs_diagnostic_duration_seconds_bucket{kind=\"ping\",outcome=\"ok\",le=\"5\"} 1\n",
            "fibreplane_acs_diagnostic_duration_seconds_bucket{kind=\"ping\",outcome=\"ok\",le=\"2.5\"} 0\n",
            "fibreplane_acs_diagnostic_duration_seconds_bucket{kind=\"ping\",outcome=\"failed\",le=\"120\"} 0\n",
            "fibreplane_acs_diagnostic_duration_seconds_bucket{kind=\"ping\",outcome=\"failed\",le=\"300\"} 1\n",
            "fibreplane_acs_diagnostic_duration_seconds_count{kind=\"download\",outcome=\"ok\"} 1\n",
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
    }
}
