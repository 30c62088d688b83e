//! The provisioner: from an ERPNext `Service Equipment` record to a configured, confirmed CPE.
//!
//! When a CPE first informs (or boots), the provisioner matches it to exactly one record by
//! serial, then by MAC ([`matching`]), builds the desired state for its own data model
//! ([`desired`]: both radios' SSID and passphrase, the SIP account and registrar), installs it
//! as a per-device GenieACS preset through the ACS's declarative engine, confirms it (SPV
//! status from the ACS's `ChannelConverged`, read-back of what is readable) and writes
//! `provisioned` or `failed: reason` back to ERPNext ([`erp`]). Later changes in ERPNext are
//! found by polling records modified since the last sync and pushed at the next inform, or at
//! once when asked.
//!
//! The decisions are sans-IO ([`engine`]); [`Provisioner`] is the thin tokio driver, and
//! [`api::router`] the HTTP API the hub composes. Durable state lives in the ACS store
//! ([`state`]), so nothing is lost across restarts or while ERPNext is down.
#![warn(missing_docs)]

pub mod api;
pub mod desired;
mod driver;
pub mod engine;
pub mod erp;
pub mod error;
pub mod matching;
pub mod model;
pub mod state;

pub use driver::{Provisioner, ProvisionerConfig, SyncReport};
pub use error::ProvisionError;
