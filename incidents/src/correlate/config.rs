//! The correlator's thresholds and timers, with defaults and the reasoning behind each.

use std::time::Duration;

use crate::kuma::MonitorMap;

/// Thresholds and timers of the correlator. `Default` gives values for a GPON network polled
/// every one to five minutes; tests shorten the timers.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrelatorConfig {
    /// How long after an OLT's last event its pending ONUs are classified. The poller publishes
    /// one poll's events in one burst, so a short pause groups them without delaying an
    /// incident noticeably (default 200 ms).
    pub settle: Duration,
    /// ONUs of one port whose OLT down times are this close belong to one cluster: they lost
    /// their signal together, even when seen by different polls (default 30 s).
    pub cluster_window: Duration,
    /// Share of a port's ONUs (admin-down and reset ONUs not counted) that must lose signal
    /// together for a fibre cut: Huawei's own per-port offline monitor raises at 70 % (0.70).
    pub fibre_cut_ratio: f64,
    /// Fewest ONUs in a fibre cut, so a port with one ONU does not make every LOS a cut
    /// (default 2).
    pub fibre_cut_min_onus: usize,
    /// Fewest ONUs of one port losing signal together for a splitter branch (a distribution
    /// fibre) rather than single-ONU matters (default 2).
    pub branch_min_onus: usize,
    /// Share of an incident's ONUs that must be back for it to clear: Huawei's monitor restores
    /// at 80 % (0.80). ONUs still down then are customer matters, listed as offline in the
    /// resolved incident.
    pub restore_ratio: f64,
    /// Dying gasps whose OLT times are this close, on any ports and OLTs, are one power event
    /// (default 120 s).
    pub power_window: Duration,
    /// Fewest dying gasps in a power outage (default 4).
    pub power_min_onus: usize,
    /// Fewest distinct PON ports in a power outage (default 1: a utility outage often covers
    /// one port's area; raise it to demand a spread).
    pub power_min_ports: usize,
    /// How long a lone ONU stays pending before it becomes a `single_onu` incident: the time for
    /// the rest of a cluster to show up in later polls (default 120 s). A lone ONU that comes back
    /// before this never becomes an incident.
    pub single_onu_delay: Duration,
    /// How long the resolve condition must hold before an incident resolves (default 120 s,
    /// about one poll interval, so a port that flaps at the next poll does not close).
    pub quiet_time: Duration,
    /// Shortest life of an incident (default 60 s).
    pub min_open: Duration,
    /// After an incident resolves, the same ONUs going down again within this window reopen it
    /// rather than opening a new one, and it cannot resolve a second time within the window
    /// (default 15 min).
    pub flap_window: Duration,
    /// Which network element each Kuma monitor watches.
    pub monitors: MonitorMap,
}

impl Default for CorrelatorConfig {
    fn default() -> Self {
        Self {
            settle: Duration::from_millis(200),
            cluster_window: Duration::from_secs(30),
            fibre_cut_ratio: 0.70,
            fibre_cut_min_onus: 2,
            branch_min_onus: 2,
            restore_ratio: 0.80,
            power_window: Duration::from_secs(120),
            power_min_onus: 4,
            power_min_ports: 1,
            single_onu_delay: Duration::from_secs(120),
            quiet_time: Duration::from_secs(120),
            min_open: Duration::from_secs(60),
            flap_window: Duration::from_secs(15 * 60),
            monitors: MonitorMap::default(),
        }
    }
}

impl CorrelatorConfig {
    /// Checks that the ratios are ratios and the minimums are at least one.
    pub fn validate(&self) -> Result<(), crate::IncidentError> {
        let ratio = |r: f64| r > 0.0 && r <= 1.0;
        if !ratio(self.fibre_cut_ratio) || !ratio(self.restore_ratio) {
            return Err(crate::IncidentError::Config(
                "fibre_cut_ratio and restore_ratio must be in (0, 1]".into(),
            ));
        }
        if self.branch_min_onus < 2 || self.fibre_cut_min_onus < 2 || self.power_min_onus < 2 {
            return Err(crate::IncidentError::Config(
                "branch_min_onus, fibre_cut_min_onus and power_min_onus must be at least 2".into(),
            ));
        }
        Ok(())
    }
}
