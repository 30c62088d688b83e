//! The TP-Link XX230v web-UI bridge.
//!
//! Some modem facts (GPON optics, connected hosts, per-band Wi-Fi) are only reachable through the
//! modem's web UI, which encrypts every call in client-side JavaScript (textbook RSA + AES).
//! This crate reads them two ways:
//!
//! * **native** ([`native`]): a Rust client of the protocol, built on the sans-IO signer in
//!   [`proto`]; fast, and the default;
//! * **Chromium** ([`browser`]): Debian's headless Chromium driven by `chromiumoxide`, where the
//!   page's own JavaScript does the crypto; the fallback when a firmware changes its crypto.
//!
//! [`Bridge`] selects the path and serialises reads per modem; [`plan`] says which objects a read
//! fetches, [`diag`] maps them to [`ModemDiagnostics`] (TR-181 field names); [`service`] is the
//! hub-facing HTTP API. A read that leaves the modem's one web session open (its browser died,
//! its budget ran out) lets the next read of that modem take the session over ([`WebSession`]).
//!
//! Architecture invariant: this is the only crate that depends on `chromiumoxide`.
#![warn(missing_docs)]

mod bridge;
pub mod browser;
mod config;
pub mod diag;
mod error;
pub mod native;
pub mod plan;
pub mod proto;
pub mod service;
mod websession;

pub use bridge::{Bridge, PathChoice, Report, SessionStats, TAKEOVER_WINDOW, UsedPath};
pub use config::{
    Credentials, ModemEntry, ModemId, ModemProfile, ModemTarget, OpticsUnits, PowerUnit,
};
pub use diag::ModemDiagnostics;
pub use error::{BridgeError, ProtocolMismatch};
pub use fibreplane_types::Secret;
pub use plan::Section;
pub use websession::WebSession;
