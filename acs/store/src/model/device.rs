//! Device identity and the small per-device metadata record.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::Value;
use crate::StoreError;

// The device id is shared vocabulary (the ACS, the NBI, the hub and the provisioner name devices
// by it), so it lives in the leaf crate `fibreplane-types`; the store re-exports it.
pub use fibreplane_types::DeviceId;
use fibreplane_types::InvalidDeviceId;

impl From<InvalidDeviceId> for StoreError {
    fn from(e: InvalidDeviceId) -> Self {
        Self::InvalidDeviceId(e.0)
    }
}

/// The four identity fields a CPE reports in the Inform `DeviceId` structure.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// `Manufacturer`, free text.
    pub manufacturer: String,
    /// `OUI`, six hex digits in practice.
    pub oui: String,
    /// `ProductClass`, e.g. `Device2` for the TP-Link XX230v.
    pub product_class: String,
    /// `SerialNumber`.
    pub serial_number: String,
}

/// The small, frequently rewritten part of a device's state.
///
/// It is kept apart from the parameter tree so that a periodic Inform rewrites only this record
/// (a few hundred bytes) rather than the device's whole tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceMeta {
    /// The device's id.
    pub id: DeviceId,
    /// Identity as last reported.
    pub identity: Identity,
    /// When the device was first seen (ms since the Unix epoch).
    pub registered_ms: i64,
    /// When the last Inform arrived.
    pub last_inform_ms: i64,
    /// When the last `1 BOOT` event arrived.
    pub last_boot_ms: Option<i64>,
    /// When the last `0 BOOTSTRAP` event arrived.
    pub last_bootstrap_ms: Option<i64>,
    /// Operator tags.
    pub tags: BTreeSet<String>,
    /// Data-model root: `Device` (TR-181) or `InternetGatewayDevice` (TR-098).
    pub root: String,
    /// `ManagementServer.ConnectionRequestURL`.
    pub connection_request_url: String,
    /// Connection-request username.
    pub cr_username: String,
    /// Connection-request password.
    pub cr_password: String,
    /// The password the CPE uses towards the ACS, when one is provisioned.
    pub cpe_password: Option<String>,
    /// `ParameterKey` as last reported.
    pub parameter_key: String,
    /// `DeviceInfo.SoftwareVersion`.
    pub software_version: String,
    /// `DeviceInfo.HardwareVersion`.
    pub hardware_version: String,
    /// WAN address as last reported.
    pub wan_ip: String,
    /// MAC addresses, normalised to `AA:BB:CC:DD:EE:FF` (see [`normalize_mac`]).
    pub macs: Vec<String>,
    /// The parameters carried in the last Inform's `ParameterList`, in wire order.
    pub inform_params: Vec<(String, Value)>,
}

impl DeviceMeta {
    /// A record with the given id and identity and every other field empty or zero.
    pub fn new(id: DeviceId, identity: Identity) -> Self {
        Self {
            id,
            identity,
            registered_ms: 0,
            last_inform_ms: 0,
            last_boot_ms: None,
            last_bootstrap_ms: None,
            tags: BTreeSet::new(),
            root: "Device".to_owned(),
            connection_request_url: String::new(),
            cr_username: String::new(),
            cr_password: String::new(),
            cpe_password: None,
            parameter_key: String::new(),
            software_version: String::new(),
            hardware_version: String::new(),
            wan_ip: String::new(),
            macs: Vec::new(),
            inform_params: Vec::new(),
        }
    }

    /// The data-model key `<OUI>-<ProductClass>`: the `Model` index key and the name of the path
    /// dictionary this device's tree is interned with.
    pub fn model_key(&self) -> String {
        format!("{}-{}", self.identity.oui, self.identity.product_class)
    }
}

/// A value together with its revision; the revision starts at 1 and grows by one per write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned<T> {
    /// The stored value.
    pub value: T,
    /// Its revision, for compare-and-swap.
    pub revision: u64,
}

/// Normalises a MAC address to `AA:BB:CC:DD:EE:FF`.
///
/// Accepts `aa:bb:cc:dd:ee:ff`, `AA-BB-CC-DD-EE-FF`, `aabbccddeeff` and Cisco's `aabb.ccdd.eeff`;
/// anything else (mixed separators, wrong grouping, non-hex) is `None`, because guessing would put
/// wrong keys into the MAC index.
pub fn normalize_mac(s: &str) -> Option<String> {
    let s = s.trim();
    let (sep, group) = if s.contains(':') {
        (Some(':'), 2)
    } else if s.contains('-') {
        (Some('-'), 2)
    } else if s.contains('.') {
        (Some('.'), 4)
    } else {
        (None, 12)
    };
    let groups: Vec<&str> = match sep {
        Some(c) => s.split(c).collect(),
        None => vec![s],
    };
    let well_formed = groups.len() == 12 / group
        && groups
            .iter()
            .all(|g| g.len() == group && g.bytes().all(|b| b.is_ascii_hexdigit()));
    if !well_formed {
        return None;
    }
    let hex: String = groups.concat().to_ascii_uppercase();
    let pairs: Vec<&str> = (0..6).map(|i| &hex[i * 2..i * 2 + 2]).collect();
    Some(pairs.join(":"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_device_id_is_a_store_error() {
        let e = StoreError::from(DeviceId::parse("a b").unwrap_err());
        assert!(
            matches!(&e, StoreError::InvalidDeviceId(s) if s == "a b"),
            "{e}"
        );
    }

    #[test]
    fn macs_normalise() {
        let want = Some("AA:BB:CC:DD:EE:0F".to_owned());
        assert_eq!(normalize_mac("aa:bb:cc:dd:ee:0f"), want);
        assert_eq!(normalize_mac("AA-BB-CC-DD-EE-0F"), want);
        assert_eq!(normalize_mac("aabbccddee0f"), want);
        assert_eq!(normalize_mac("aabb.ccdd.ee0f"), want);
        assert_eq!(normalize_mac("aa:bb:cc:dd:ee"), None);
        assert_eq!(normalize_mac("aa:bb-cc:dd:ee:0f"), None);
        assert_eq!(normalize_mac("gg:bb:cc:dd:ee:0f"), None);
        assert_eq!(normalize_mac("aab.bccd.dee0f"), None);
    }
}
