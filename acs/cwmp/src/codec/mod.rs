//! The wire format: SOAP 1.1 envelopes carrying CWMP RPCs.
//!
//! Parsing happens in two passes over a borrowed `&str`: [`dom`] turns the XML into a flat arena
//! of elements (enforcing every [`crate::Limits`] bound on the way, so hostile input is cut off
//! before it costs memory), and [`map`] turns that arena into the typed [`crate::Envelope`]. The
//! arena is filled by [`fast`], a scanner for the plain XML CPEs send, or, for anything else and
//! for every error, by [`slow`] on quick-xml's namespace-resolving reader; `agree` tests that
//! the two build the same thing. The fast scanner maps the RPC's big parameter list directly
//! instead of storing its entries in the arena. Text stays borrowed from the input unless it
//! contained entities, so an Inform parses with few allocations. Writing is plain string
//! building in [`write`].

#[cfg(test)]
mod agree;
mod body;
mod dom;
mod fast;
mod map;
mod names;
mod slow;
mod write;

pub use map::parse_envelope;
pub use write::{to_bytes, write_envelope};

/// The SOAP 1.1 envelope namespace; the only envelope namespace CWMP uses.
pub(crate) const SOAP_ENV: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// The SOAP 1.1 encoding namespace (for `arrayType`).
pub(crate) const SOAP_ENC: &str = "http://schemas.xmlsoap.org/soap/encoding/";
/// XML Schema datatypes.
pub(crate) const XSD: &str = "http://www.w3.org/2001/XMLSchema";
/// XML Schema instance (for `xsi:type`).
pub(crate) const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
/// What CWMP writes for an unknown `dateTime`; parsed back to the empty string.
pub const UNKNOWN_TIME: &str = "0001-01-01T00:00:00Z";
