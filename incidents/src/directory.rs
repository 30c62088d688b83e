//! Who is behind an ONU: the `Directory` trait the hub fills from ERPNext (ONU serial → CPE
//! device, customer, service location, equipment), and an in-memory implementation.

use std::collections::HashMap;
use std::fmt;
use std::sync::{PoisonError, RwLock};

use serde::Serialize;

macro_rules! id_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_newtype!(
    /// A CPE's device id in the ACS (GenieACS style: `OUI-ProductClass-Serial`).
    CpeId
);
id_newtype!(
    /// A customer's id in ERPNext.
    CustomerId
);
id_newtype!(
    /// A service location (the address a line serves) in ERPNext.
    ServiceLocation
);

/// What the business side knows about the subscriber behind one ONU.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Subscriber {
    /// The CPE (the ONT's TR-069 device).
    pub cpe: Option<CpeId>,
    /// The customer.
    pub customer: Option<CustomerId>,
    /// The customer's display name.
    pub customer_name: Option<String>,
    /// Where the line is.
    pub service_location: Option<ServiceLocation>,
    /// The equipment record (model, asset tag).
    pub equipment: Option<String>,
}

/// Looks subscribers up by ONU serial. Implementations must be fast and must not block on IO:
/// the correlator calls this while it builds an incident. The hub keeps a copy of ERPNext's
/// data in memory and refreshes it in the background.
pub trait Directory: Send + Sync {
    /// The subscriber behind the ONU with this serial, if known.
    fn lookup(&self, serial: &str) -> Option<Subscriber>;
}

/// A directory that knows nobody (incidents then list ONUs only).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoDirectory;

impl Directory for NoDirectory {
    fn lookup(&self, _serial: &str) -> Option<Subscriber> {
        None
    }
}

/// A directory held in memory, replaceable as a whole or entry by entry.
#[derive(Debug, Default)]
pub struct InMemoryDirectory {
    by_serial: RwLock<HashMap<String, Subscriber>>,
}

impl InMemoryDirectory {
    /// An empty directory.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces one entry.
    pub fn insert(&self, serial: impl Into<String>, who: Subscriber) {
        self.by_serial
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(serial.into(), who);
    }

    /// Replaces every entry at once (a refresh from ERPNext).
    pub fn replace(&self, all: HashMap<String, Subscriber>) {
        *self
            .by_serial
            .write()
            .unwrap_or_else(PoisonError::into_inner) = all;
    }

    /// How many entries there are.
    pub fn len(&self) -> usize {
        self.by_serial
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Directory for InMemoryDirectory {
    fn lookup(&self, serial: &str) -> Option<Subscriber> {
        self.by_serial
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(serial)
            .cloned()
    }
}
