//! Lab peers that behave like real devices on the wire. `cpe-sim` is a CWMP CPE agent fleet built
//! on the `cwmp` crate's CPE role and driven by a GenieACS-sim CSV data model; [`olt`] is
//! `olt-sim`, an SNMP agent that serves simulated GPON OLT tables.
//!
//! Entry points: [`Fleet::start`] with a [`SimConfig`] runs N virtual CPEs in one process, each
//! with its own copy-on-write [`CpeModel`] over a shared [`BaseModel`]. The ACS end-to-end tests
//! drive CPEs one session at a time with [`Fleet::inform`]; the `cpe-sim` binary runs load.
//!
//! [`erp`] is `erp-sim`, a Frappe/ERPNext REST stand-in seeded to match the fleet.
//!
//! [`tls`] makes a test CA and lets lab peers serve TLS with its certificates (erp-sim over
//! HTTPS, the fleet's connection-request server with [`SimConfig::cr_tls`]).
//!
//! [`xx230v`] is a separate peer: `xx230v-sim`, an emulator of the TP-Link XX230v's web UI for the
//! modem bridge.
//!
//! Diagnostics the ACS requests (IPPing, TraceRoute, TR-143 Download/Upload) really run, against
//! loopback targets only: an [`spawn_udp_echo`] service for the probes, an HTTP server for the
//! transfers.
//!
//! Architecture invariant: the fleet only ever connects to the configured ACS URL, to the file
//! URLs the ACS hands out in Download requests, and to loopback addresses for diagnostics.
#![warn(missing_docs)]

mod agent;
mod auth;
mod base;
mod client;
mod cr;
mod diag;
mod download;
mod echo;
pub mod erp;
mod error;
mod fleet;
pub mod genie_golden;
mod model;
mod model_rpc;
pub mod olt;
mod quirk;
mod report;
mod respond;
mod task;
mod time;
pub mod tls;
mod transfers;
pub mod xx230v;

pub use auth::{CpeAuth, Credential, derive_password};
pub use base::BaseModel;
pub use cr::REALM as CR_REALM;
pub use echo::spawn_udp_echo;
pub use error::SimError;
pub use fleet::{Fleet, SimConfig};
pub use model::{CpeModel, Identity};
pub use quirk::DiscoveryQuirk;
pub use report::{FleetReport, SessionReport};
