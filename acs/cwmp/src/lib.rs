//! The CWMP (TR-069) protocol, sans-IO.
//!
//! This crate parses and writes SOAP envelopes for CWMP 1.0–1.4, models every RPC of the
//! Amendment 6 ACS and CPE method sets, and provides the two session state machines (ACS role and
//! CPE role). It never performs IO and never reads a clock: callers pass `now` and bytes in and get
//! envelopes and decisions out. The ACS server and the lab CPE agent are thin drivers over it.
//!
//! Entry points: [`parse_envelope`] / [`write_envelope`] for the wire format, [`AcsSession`] and
//! [`CpeSession`] for the two roles, [`auth`] for HTTP Basic/Digest helpers and [`device_id()`]
//! for the GenieACS-compatible device identifier.
#![warn(missing_docs)]

pub mod auth;
pub mod codec;
pub mod device_id;
pub mod error;
pub mod limits;
pub mod rpc;
pub mod session;

pub use codec::{parse_envelope, to_bytes, write_envelope};
pub use device_id::device_id;
pub use error::{ParseError, SessionError};
pub use limits::Limits;
pub use rpc::*;
pub use session::{acs::*, cpe::*};
