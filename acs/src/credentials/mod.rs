//! Per-device CPE credentials of a fleet moving onto this ACS: **derived** (the default, no
//! record: the password is derived from the ACS's secret and the device id), **explicit** (a
//! username and password the ISP's CPEs already carry, imported or set through the NBI), and
//! **adopting** (a device the ACS takes over without knowing its password, then re-keys).
//!
//! An adopting device is accepted without a verified password, only from the addresses the
//! import knew for it and only within the adoption window; its session carries nothing but the
//! SetParameterValues of `ManagementServer.Username`/`Password` to its derived credentials.
//! Until it has authenticated once with those, its old way in stays open (so a lost answer or a
//! CPE that applies the change late is not locked out); the first session authenticated with
//! the derived credentials removes the record, and from then on only they are accepted. A CPE
//! that comes back factory-reset (`0 BOOTSTRAP` with its vendor's default credentials) is
//! adopted the same way, its old credentials being the vendor's, which can be verified.
//!
//! Credentials live in their own store collections (JSON documents keyed by device id, and by
//! serial for devices an adoption file names before they were ever seen), not in
//! [`acs_store::DeviceMeta`]: the device record is rewritten by every Inform and merged by
//! sessions on compare-and-swap conflicts, where a credential change from the NBI would have to
//! be merged too; a credential record changes only on credential transitions, can exist before
//! the device does, and the records of adopting devices are listed without a scan of every
//! device. JSON keeps the record self-describing, so later fields need no format migration.
//!
//! This file is the model and its pure rules; `admit.rs` applies them to a session's first
//! request, `expr.rs` adds GenieACS's imported `cwmp.auth` for devices without a record (and
//! `cwmp.connectionRequestAuth` for connection requests), `manage.rs` is the API (NBI,
//! importer, adoption files, metrics).

mod admit;
mod expr;
mod manage;

pub(crate) use admit::{Admission, Attempt, Denial, authenticate, confirm};
pub use manage::{
    AdoptionEntry, CredentialView, CredentialsError, VendorDefault, import_op, parse_adoption_file,
    parse_vendor_defaults,
};

use fibreplane_types::Secret;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// The collection of credential records, one per device id.
pub const COLLECTION: &str = "cpe_credentials";
/// The collection of adoptions named by serial for devices not yet in the store.
pub const BY_SERIAL: &str = "cpe_adoption_serials";

/// Why a device is adopting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdoptReason {
    /// Imported from GenieACS without credentials the import could read.
    Imported,
    /// Named by serial in an adoption file.
    File,
    /// Came back with `0 BOOTSTRAP` and its vendor's default credentials.
    FactoryReset,
}

/// A device being adopted.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adoption {
    /// Why.
    pub reason: AdoptReason,
    /// When the adoption began (ms since the Unix epoch); the window runs from here.
    pub since_ms: i64,
    /// The only source addresses an unverified session is accepted from.
    pub bound: Vec<IpAddr>,
    /// The ConnectionRequestURL known before the adoption: the confirming connection request
    /// goes there, never to a URL an unverified Inform reported.
    pub known_cr_url: String,
    /// Old credentials that can be verified (a vendor's defaults); `None` when they are
    /// unknown, as for a device GenieACS accepted with any.
    old: Option<(String, String)>,
    /// The connection-request credentials known before the adoption, for the confirming
    /// request (the device record forgets them at the `0 BOOTSTRAP` a CPE sends to a new ACS).
    #[serde(default)]
    known_cr: Option<(String, String)>,
    /// When the ACS set the derived credentials on the device (its SetParameterValues was
    /// accepted); `None` until then.
    pub rekeyed_ms: Option<i64>,
}

impl std::fmt::Debug for Adoption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Adoption")
            .field("reason", &self.reason)
            .field("since_ms", &self.since_ms)
            .field("bound", &self.bound)
            .field("known_cr_url", &self.known_cr_url)
            .field("old", &self.old.as_ref().map(|(u, _)| (u, "***")))
            .field("known_cr", &self.known_cr.as_ref().map(|(u, _)| (u, "***")))
            .field("rekeyed_ms", &self.rekeyed_ms)
            .finish()
    }
}

impl Adoption {
    /// A new adoption bound to `bound`, its old credentials unknown.
    pub fn new(
        reason: AdoptReason,
        since_ms: i64,
        bound: Vec<IpAddr>,
        known_cr_url: String,
    ) -> Self {
        Self {
            reason,
            since_ms,
            bound,
            known_cr_url,
            old: None,
            known_cr: None,
            rekeyed_ms: None,
        }
    }

    /// The same adoption, confirmed with these connection-request credentials.
    pub fn with_known_cr(mut self, username: &str, password: &str) -> Self {
        self.known_cr = (!username.is_empty() || !password.is_empty())
            .then(|| (username.to_owned(), password.to_owned()));
        self
    }

    /// The connection-request credentials known before the adoption.
    pub(crate) fn known_cr(&self) -> (&str, &str) {
        self.known_cr
            .as_ref()
            .map_or(("", ""), |(u, p)| (u.as_str(), p.as_str()))
    }

    /// The old credentials, when they can be verified.
    pub(crate) fn old(&self) -> Option<(&str, &str)> {
        self.old.as_ref().map(|(u, p)| (u.as_str(), p.as_str()))
    }

    /// Whether a session from `source` at `now_ms` may use the adoption's way in.
    pub fn admits(&self, source: IpAddr, now_ms: i64, window_ms: i64) -> Result<(), Refusal> {
        if now_ms > self.since_ms.saturating_add(window_ms) {
            return Err(Refusal::Expired);
        }
        if !self.bound.contains(&canonical(source)) {
            return Err(Refusal::Elsewhere);
        }
        Ok(())
    }

    /// When the adoption window closes.
    pub fn expires_ms(&self, window_ms: i64) -> i64 {
        self.since_ms.saturating_add(window_ms)
    }
}

/// Why an adopting device's unverified session was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The adoption window has closed.
    Expired,
    /// The session came from an address the adoption is not bound to.
    Elsewhere,
}

impl Refusal {
    /// A short name, for events and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Expired => "adoption_expired",
            Self::Elsewhere => "unknown_address",
        }
    }
}

/// A device's credentials when they are not derived.
#[derive(Clone, PartialEq, Eq)]
pub enum CredentialRecord {
    /// The device authenticates with these, and only these.
    Explicit {
        /// The Digest/Basic username.
        username: String,
        /// The password.
        password: Secret,
    },
    /// The device is being adopted.
    Adopting(Adoption),
}

impl std::fmt::Debug for CredentialRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Explicit { username, .. } => f
                .debug_struct("Explicit")
                .field("username", username)
                .field("password", &"***")
                .finish(),
            Self::Adopting(a) => a.fmt(f),
        }
    }
}

/// The stored form: the password in clear, as the store holds every CPE credential (the
/// connection-request password in the device record too). Only this module reads it.
#[derive(Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
enum Wire {
    Explicit { username: String, password: String },
    Adopting(Adoption),
}

impl CredentialRecord {
    /// The record as stored.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let wire = match self {
            Self::Explicit { username, password } => Wire::Explicit {
                username: username.clone(),
                password: password.expose().to_owned(),
            },
            Self::Adopting(a) => Wire::Adopting(a.clone()),
        };
        // A struct of strings, numbers and addresses always serializes.
        serde_json::to_vec(&wire).unwrap_or_default()
    }

    /// A stored record; `None` (logged) for bytes that are not one, so a damaged record falls
    /// back to derived credentials rather than to an open door.
    pub(crate) fn decode(name: &str, bytes: &[u8]) -> Option<Self> {
        match serde_json::from_slice::<Wire>(bytes) {
            Ok(Wire::Explicit { username, password }) => Some(Self::Explicit {
                username,
                password: Secret::new(password),
            }),
            Ok(Wire::Adopting(a)) => Some(Self::Adopting(a)),
            Err(e) => {
                tracing::error!(device = %name, error = %e, "unreadable credential record; derived credentials apply");
                None
            }
        }
    }

    /// The state's name as the NBI shows it: `explicit`, `adopting` or `rekeyed` (the derived
    /// credentials were set; waiting for the device to use them).
    pub fn state(&self) -> &'static str {
        match self {
            Self::Explicit { .. } => "explicit",
            Self::Adopting(a) if a.rekeyed_ms.is_some() => "rekeyed",
            Self::Adopting(_) => "adopting",
        }
    }
}

/// A credential record to write once a CPE accepted the change it describes. `Debug` leaves
/// the record out: it may hold a vendor's default password.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct RecordWrite {
    pub(crate) device: String,
    pub(crate) body: Vec<u8>,
}

impl RecordWrite {
    /// The store write.
    pub(crate) fn op(&self) -> acs_store::Op {
        acs_store::Op::PutDoc {
            collection: COLLECTION.to_owned(),
            name: self.device.clone(),
            body: self.body.clone(),
        }
    }
}

impl std::fmt::Debug for RecordWrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RecordWrite({})", self.device)
    }
}

/// An IPv4 address seen through an IPv6 socket compares as itself.
pub(crate) fn canonical(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

/// The host of a URL as an address, when it is an address literal (names are not resolved:
/// binding to a name would trust whatever it resolves to at the time).
pub fn url_host_ip(url: &str) -> Option<IpAddr> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split_once(']')?.0
    } else {
        host_port.rsplit_once(':').map_or(host_port, |(h, _)| h)
    };
    host.parse::<IpAddr>().ok().map(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adoption() -> Adoption {
        Adoption::new(
            AdoptReason::Imported,
            1_000,
            vec!["192.0.2.7".parse().unwrap()],
            "http://192.0.2.7:7547/cr".into(),
        )
    }

    #[test]
    fn an_adoption_admits_only_its_addresses_within_its_window() {
        let a = adoption();
        let home: IpAddr = "192.0.2.7".parse().unwrap();
        assert_eq!(a.admits(home, 1_500, 1_000), Ok(()));
        // The same address seen through an IPv6 socket.
        assert_eq!(
            a.admits("::ffff:192.0.2.7".parse().unwrap(), 1_500, 1_000),
            Ok(())
        );
        assert_eq!(
            a.admits("192.0.2.8".parse().unwrap(), 1_500, 1_000),
            Err(Refusal::Elsewhere)
        );
        assert_eq!(a.admits(home, 2_001, 1_000), Err(Refusal::Expired));
        assert_eq!(a.expires_ms(1_000), 2_000);
    }

    #[test]
    fn records_round_trip_and_never_print_passwords() {
        let explicit = CredentialRecord::Explicit {
            username: "cpe".into(),
            password: Secret::new("hunter2"),
        };
        let mut a = adoption();
        a.old = Some(("admin".into(), "vendorpw".into()));
        let a = a.with_known_cr("cr", "crpw-secret");
        let adopting = CredentialRecord::Adopting(a);
        for r in [&explicit, &adopting] {
            assert_eq!(CredentialRecord::decode("d", &r.encode()).as_ref(), Some(r));
            let shown = format!("{r:?}");
            assert!(
                !shown.contains("hunter2")
                    && !shown.contains("vendorpw")
                    && !shown.contains("crpw"),
                "{shown}"
            );
        }
        assert_eq!(explicit.state(), "explicit");
        assert_eq!(adopting.state(), "adopting");
        assert_eq!(CredentialRecord::decode("d", b"{\"state\":\"nope\"}"), None);
    }

    #[test]
    fn only_address_literals_bind() {
        assert_eq!(
            url_host_ip("http://192.0.2.1:7547/x"),
            Some("192.0.2.1".parse().unwrap())
        );
        assert_eq!(
            url_host_ip("https://u:p@[2001:db8::1]:30005/"),
            Some("2001:db8::1".parse().unwrap())
        );
        assert_eq!(url_host_ip("http://cpe.example:7547/"), None);
        assert_eq!(url_host_ip(""), None);
    }
}
