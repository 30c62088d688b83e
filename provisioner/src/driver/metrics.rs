//! The provisioner's part of the hub's `/metrics` scrape: devices per phase, mirrored records,
//! the outbox, whether ERPNext answers, and the ERPNext client's requests and latency.

use super::Provisioner;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::registry::Registry;

impl Provisioner {
    /// Adds the provisioner's metrics to a scrape's registry: gauges as they stand now, the
    /// ERPNext client's live counters and histogram.
    pub fn register_metrics(&self, registry: &mut Registry) {
        let (phases, records, outbox, erp_ok) = {
            let e = self.lock();
            (e.counts(), e.records(), e.outbox_len(), e.erp_ok())
        };
        let devices = Family::<[(&'static str, &'static str); 1], Gauge>::default();
        for (phase, n) in phases {
            devices
                .get_or_create(&[("phase", phase)])
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        registry.register(
            "fibreplane_provisioning_devices",
            "Devices per provisioning phase (pending, quarantined, installing, confirming, \
             provisioned, failed)",
            devices,
        );
        registry.register(
            "fibreplane_provisioning_records",
            "ERPNext Service Equipment records mirrored",
            ConstGauge::new(records),
        );
        registry.register(
            "fibreplane_provisioning_outbox",
            "Outcomes waiting for ERPNext to accept them",
            ConstGauge::new(outbox),
        );
        registry.register(
            "fibreplane_provisioning_erp_up",
            "Whether the last ERPNext request succeeded (1) or not (0)",
            ConstGauge::new(i64::from(erp_ok)),
        );
        self.erp.register_metrics(registry);
    }
}
