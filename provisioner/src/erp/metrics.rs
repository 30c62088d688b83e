//! The ERPNext client's metrics: requests, failures and request latency by outcome, as
//! prometheus-client metrics the hub adds to its scrape.

use crate::error::ProvisionError;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use std::time::Duration;

/// Upper bounds (seconds) of the request latency buckets. A Frappe REST call on a healthy site
/// takes 10–200 ms (a listing page of 500 rows the longest); a loaded or remote site takes up to
/// seconds; the client's default per-request timeout is 10 s, so the top bucket holds the
/// requests that ran into it (and `+Inf` those of longer configured timeouts).
const LATENCY_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The one label of a request's latency: how it ended.
type OutcomeLabel = [(&'static str, &'static str); 1];

/// Counters and the latency histogram of the requests sent to ERPNext (retries included).
#[derive(Debug)]
pub(crate) struct ErpMetrics {
    /// HTTP requests sent.
    pub(crate) requests: Counter,
    /// Requests that failed (unreachable, refused, an error status).
    pub(crate) failures: Counter,
    latency: Family<OutcomeLabel, Histogram, fn() -> Histogram>,
}

impl Default for ErpMetrics {
    fn default() -> Self {
        Self {
            requests: Counter::default(),
            failures: Counter::default(),
            latency: Family::new_with_constructor(|| Histogram::new(LATENCY_BUCKETS)),
        }
    }
}

impl ErpMetrics {
    /// Records one request that ended with `result` after `elapsed`.
    pub(crate) fn observe<T>(&self, result: &Result<T, ProvisionError>, elapsed: Duration) {
        self.latency
            .get_or_create(&[("outcome", outcome(result))])
            .observe(elapsed.as_secs_f64());
    }

    /// Registers the live metrics under their `fibreplane_provisioning_erp_` names.
    pub(crate) fn register(&self, registry: &mut Registry) {
        registry.register(
            "fibreplane_provisioning_erp_requests",
            "HTTP requests sent to ERPNext (each retry counts)",
            self.requests.clone(),
        );
        registry.register(
            "fibreplane_provisioning_erp_failures",
            "Requests to ERPNext that failed: unreachable, refused or an error status (each \
             retry counts)",
            self.failures.clone(),
        );
        registry.register_with_unit(
            "fibreplane_provisioning_erp_request_duration",
            "Requests to ERPNext by outcome (ok, unavailable, tls, refused, not_found, bad_response), \
             from sending to the last byte of the answer",
            Unit::Seconds,
            self.latency.clone(),
        );
    }
}

/// A request's outcome as a label value: `ok`, or the error class the client maps it to.
fn outcome<T>(result: &Result<T, ProvisionError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(ProvisionError::Unavailable(_)) => "unavailable",
        Err(ProvisionError::Tls(_)) => "tls",
        Err(ProvisionError::Refused { .. }) => "refused",
        Err(ProvisionError::NotFound(_)) => "not_found",
        Err(_) => "bad_response",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::encoding::prometheus_text::encode;

    #[test]
    fn requests_are_bucketed_by_outcome() {
        let m = ErpMetrics::default();
        m.observe(&Ok::<(), _>(()), Duration::from_millis(40));
        m.observe(&Ok::<(), _>(()), Duration::from_millis(400));
        m.observe::<()>(
            &Err(ProvisionError::Unavailable("HTTP 503".into())),
            Duration::from_secs(12),
        );
        m.observe::<()>(
            &Err(ProvisionError::Refused {
                status: 401,
                exc_type: "AuthenticationError".into(),
            }),
            Duration::from_millis(3),
        );
        m.requests.inc();
        let mut registry = Registry::default();
        m.register(&mut registry);
        let mut text = String::new();
        encode(&mut text, &registry).unwrap();
        let name = "fibreplane_provisioning_erp_request_duration_seconds";
        for line in [
            format!("{name}_bucket{{outcome=\"ok\",le=\"0.025\"}} 0\n"),
            format!("{name}_bucket{{outcome=\"ok\",le=\"0.05\"}} 1\n"),
            format!("{name}_bucket{{outcome=\"ok\",le=\"0.5\"}} 2\n"),
            format!("{name}_count{{outcome=\"ok\"}} 2\n"),
            format!("{name}_bucket{{outcome=\"unavailable\",le=\"10\"}} 0\n"),
            format!("{name}_bucket{{outcome=\"unavailable\",le=\"+Inf\"}} 1\n"),
            format!("{name}_bucket{{outcome=\"refused\",le=\"0.005\"}} 1\n"),
            "fibreplane_provisioning_erp_requests_total 1\n".to_owned(),
            "fibreplane_provisioning_erp_failures_total 0\n".to_owned(),
        ] {
            assert!(text.contains(&line), "{line} in\n{text}");
        }
    }
}
