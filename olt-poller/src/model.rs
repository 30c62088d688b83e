//! The domain model: OLTs, PON ports, ONUs, their states and optical levels, snapshots and the
//! events diffed from them.
//!
//! The types live in `fibreplane-types` (`fibreplane_types::olt`), so the outage correlator and
//! the hub can name an OLT without linking SNMP; they are re-exported here for the poller's own
//! modules and its callers. Wire types (varbinds, raw integers) stop at `decode.rs`.

pub use fibreplane_types::olt::{
    Dbm, DownCause, EventKind, InvalidOltId, OltId, OltSnapshot, OltTime, Onu, OnuKey, OnuState,
    OpticalLevel, PollStats, PollerEvent, PonPort, PonPortInfo,
};
