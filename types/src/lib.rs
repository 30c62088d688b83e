//! The small vocabulary several Fibreplane crates share, so none of them copies it and none has
//! to link another component just to name something:
//! - [`Secret`], a string that prints as `***`, and [`ct_eq`], the one constant-time comparison
//!   of tokens, passwords and MACs;
//! - [`DeviceId`], a CPE's GenieACS-style id;
//! - [`olt`], the OLT model the poller publishes and the outage correlator consumes (OLT and ONU
//!   ids, PON ports, states, snapshots and events), free of any SNMP code.
//!
//! This crate is a leaf of the workspace's crate graph: it depends on no other Fibreplane crate
//! and only on `serde` and `subtle`. It does no IO and reads no clock.
#![warn(missing_docs)]

mod device;
pub mod olt;
mod secret;

pub use device::{DeviceId, InvalidDeviceId};
pub use secret::{Secret, ct_eq};
