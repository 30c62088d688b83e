//! Counters for every queue, limit and error class of the ACS. Plain atomics: the hub renders
//! them in the Prometheus text format.

use std::sync::atomic::{AtomicU64, Ordering};

/// A monotonically increasing counter.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds one.
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    /// The current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The ACS's counters.
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
    /// Informs refused because the device was already in a session.
    pub concurrent_session_refused: Counter,
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
}

impl Metrics {
    /// Every counter with its Prometheus name.
    pub fn snapshot(&self) -> Vec<(&'static str, u64)> {
        vec![
            ("fibreplane_acs_informs_total", self.informs.get()),
            (
                "fibreplane_acs_registrations_total",
                self.registrations.get(),
            ),
            (
                "fibreplane_acs_sessions_completed_total",
                self.sessions_completed.get(),
            ),
            (
                "fibreplane_acs_sessions_expired_total",
                self.sessions_expired.get(),
            ),
            ("fibreplane_acs_overload_503_total", self.overload_503.get()),
            (
                "fibreplane_acs_auth_challenges_total",
                self.auth_challenges.get(),
            ),
            (
                "fibreplane_acs_auth_failures_total",
                self.auth_failures.get(),
            ),
            ("fibreplane_acs_parse_errors_total", self.parse_errors.get()),
            ("fibreplane_acs_oversized_total", self.oversized.get()),
            ("fibreplane_acs_violations_total", self.violations.get()),
            (
                "fibreplane_acs_concurrent_session_refused_total",
                self.concurrent_session_refused.get(),
            ),
            ("fibreplane_acs_tasks_done_total", self.tasks_done.get()),
            ("fibreplane_acs_task_faults_total", self.task_faults.get()),
            (
                "fibreplane_acs_connection_requests_total",
                self.connection_requests.get(),
            ),
            (
                "fibreplane_acs_connection_request_failures_total",
                self.connection_request_failures.get(),
            ),
            ("fibreplane_acs_diagnostics_total", self.diagnostics.get()),
            (
                "fibreplane_acs_diagnostic_failures_total",
                self.diagnostic_failures.get(),
            ),
        ]
    }
}
