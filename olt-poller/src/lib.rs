//! The OLT poller: ONU state, last down cause and optical levels of GPON OLTs over SNMP.
//!
//! Layers, from pure to IO:
//! - [`Profile`] (vendor profiles as TOML data: columns, scaling, sentinels, ifIndex layout,
//!   state maps per firmware), [`decode`] (varbinds → [`Onu`] rows), [`walk::TableWalk`] (the
//!   GETBULK walker with adaptive max-repetitions) and [`Tracker`] (snapshots → events) are
//!   sans-IO and tested without sockets;
//! - `session.rs` is the thin tokio driver around `snmp2::AsyncSession` (timeouts, retries,
//!   late-reply draining, v2c and v3 authPriv);
//! - [`poll_once`] polls one OLT; [`OltFleet`] runs one actor per OLT with a fleet-wide socket
//!   bound, publishes [`PollerEvent`]s on a broadcast channel and appends optical samples to an
//!   [`OpticalHistory`] (redb by default, sled with the `sled` feature).
//!
//! Architecture invariants: only loopback addresses are ever polled by tests; secrets
//! ([`Secret`]) print as `***` and never appear in errors; peer input never panics.
#![warn(missing_docs)]

mod actor;
mod config;
pub mod decode;
mod error;
mod events;
pub mod history;
mod model;
mod oid;
mod poll;
mod profile;
mod session;
mod value;
pub mod walk;

pub use actor::{FleetConfig, OltFleet};
pub use config::{
    AuthProtocol, Credentials, OltConfig, OltEntry, OpticalThresholds, PrivProtocol, Secret,
    SecretRef, V3Credentials, VendorChoice, parse_config,
};
pub use error::OltError;
pub use events::Tracker;
#[cfg(feature = "sled")]
pub use history::SledHistory;
pub use history::{OpticalHistory, OpticalSample, RedbHistory};
pub use model::{
    Dbm, DownCause, EventKind, InvalidOltId, OltId, OltSnapshot, OltTime, Onu, OnuKey, OnuState,
    OpticalLevel, PollStats, PollerEvent, PonPort, PonPortInfo,
};
pub use oid::Oid;
pub use poll::{SYS_OBJECT_ID, plan, poll_once, walk_columns};
pub use profile::{ColumnSpec, ColumnType, IndexLayout, Profile, Role, StateMeaning};
pub use session::{SnmpTarget, parse_response};
pub use value::{SnmpValue, VarBind};
