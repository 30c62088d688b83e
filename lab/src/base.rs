//! The shared, read-only half of every virtual CPE's data model.
//!
//! Ten thousand CPEs cannot each own a copy of a 6,400-parameter tree, so the parsed CSV is
//! indexed once into a [`BaseModel`] behind an `Arc`; each [`crate::CpeModel`] only stores what
//! differs. The base also marks the values that must differ per CPE (serial number, MAC
//! addresses, connection-request URL) so that they are substituted at read time instead of being
//! copied.

use std::collections::HashMap;

use cwmp::XsdType;
use fibreplane_schemas::DataModel;

/// One object or parameter of the base tree.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    /// Full path without a trailing dot.
    pub(crate) path: Box<str>,
    pub(crate) object: bool,
    pub(crate) writable: bool,
    pub(crate) value: Box<str>,
    pub(crate) xsd: XsdType,
    /// Whether the value is replaced by per-CPE identity at read time.
    pub(crate) ident: Ident,
}

/// Which per-CPE identity a base value stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ident {
    /// An ordinary value, shared by every CPE.
    None,
    /// `DeviceInfo.SerialNumber`.
    Serial,
    /// A value containing one of the device's own MAC addresses.
    Mac,
    /// `ManagementServer.ConnectionRequestURL`.
    CrUrl,
}

/// A parsed, indexed data model shared by every CPE of a fleet.
#[derive(Debug)]
pub struct BaseModel {
    root: String,
    /// Sorted by path, so every subtree is one contiguous range.
    nodes: Vec<Node>,
    index: HashMap<Box<str>, u32>,
    /// Forced-inform parameters present in this model, in Inform order.
    forced: Vec<u32>,
    /// `1C:61:B4:FB:2A`: the first five bytes shared by the device's own MAC addresses.
    mac_prefix: Option<String>,
    manufacturer: String,
    oui: String,
    product_class: String,
}

/// Forced-inform parameters (TR-181 and TR-098 names, relative to the root).
const FORCED: &[&str] = &[
    "DeviceSummary",
    "RootDataModelVersion",
    "DeviceInfo.SpecVersion",
    "DeviceInfo.HardwareVersion",
    "DeviceInfo.SoftwareVersion",
    "DeviceInfo.ProvisioningCode",
    "ManagementServer.ParameterKey",
    "ManagementServer.ConnectionRequestURL",
    "ManagementServer.AliasBasedAddressing",
    "WANDevice.1.WANConnectionDevice.1.WANIPConnection.1.ExternalIPAddress",
    "WANDevice.1.WANConnectionDevice.1.WANPPPConnection.1.ExternalIPAddress",
];

impl BaseModel {
    /// Indexes a data model. An empty model yields an empty tree whose root is `Device`.
    pub fn new(model: &DataModel) -> Self {
        let root = match model.root() {
            "" => "Device".to_owned(),
            r => r.to_owned(),
        };
        let mut nodes: Vec<Node> = model
            .params
            .iter()
            .map(|p| Node {
                path: p.path.as_str().into(),
                object: p.object,
                writable: p.writable,
                value: p.value.as_str().into(),
                xsd: XsdType::parse(&p.xsd_type),
                ident: Ident::None,
            })
            .collect();
        nodes.sort_by(|a, b| a.path.cmp(&b.path));
        // A CSV may repeat a row; the later row would be unreachable, so keep the first.
        nodes.dedup_by(|b, a| a.path == b.path);
        let index = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.path.clone(), i as u32))
            .collect();
        let mut base = Self {
            root,
            nodes,
            index,
            forced: Vec::new(),
            mac_prefix: None,
            manufacturer: String::new(),
            oui: String::new(),
            product_class: String::new(),
        };
        base.manufacturer = base.rel_value("DeviceInfo.Manufacturer").to_owned();
        base.oui = base.rel_value("DeviceInfo.ManufacturerOUI").to_owned();
        base.product_class = base.rel_value("DeviceInfo.ProductClass").to_owned();
        base.forced = FORCED
            .iter()
            .filter_map(|rel| base.find(&format!("{}.{rel}", base.root)))
            .filter(|&i| !base.nodes[i as usize].object)
            .collect();
        base.mark_identity();
        base
    }

    /// The built-in TP-Link XX230v tree.
    pub fn xx230v() -> Self {
        Self::new(&DataModel::xx230v())
    }

    /// Loads a GenieACS-sim CSV export.
    pub fn from_csv(text: &str) -> Result<Self, fibreplane_schemas::ModelError> {
        DataModel::from_csv(text).map(|m| Self::new(&m))
    }

    /// Finds the device's own MAC prefix and marks identity-bearing values.
    fn mark_identity(&mut self) {
        let oui_mac = mac_form(&self.oui);
        let is_mac = |v: &str| v.len() == 17 && v.is_ascii() && v.as_bytes().get(2) == Some(&b':');
        // Prefer a MAC carrying the manufacturer's OUI; otherwise any interface MAC.
        let own = self
            .nodes
            .iter()
            .filter(|n| n.path.ends_with("MACAddress") && is_mac(&n.value))
            .find(|n| {
                oui_mac
                    .as_deref()
                    .is_some_and(|o| n.value.to_ascii_uppercase().starts_with(o))
            })
            .or_else(|| {
                self.nodes.iter().find(|n| {
                    n.path.contains(".Interface.")
                        && n.path.ends_with("MACAddress")
                        && is_mac(&n.value)
                })
            });
        self.mac_prefix = own.map(|n| n.value[..14].to_ascii_uppercase());
        let serial = format!("{}.DeviceInfo.SerialNumber", self.root);
        let cr_url = format!("{}.ManagementServer.ConnectionRequestURL", self.root);
        for n in &mut self.nodes {
            n.ident = if *n.path == *serial {
                Ident::Serial
            } else if *n.path == *cr_url {
                Ident::CrUrl
            } else if self
                .mac_prefix
                .as_deref()
                .is_some_and(|p| !n.object && n.value.to_ascii_uppercase().contains(p))
            {
                Ident::Mac
            } else {
                Ident::None
            };
        }
    }

    /// The root object name (`Device` or `InternetGatewayDevice`).
    pub fn root(&self) -> &str {
        &self.root
    }

    /// Number of objects and parameters.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the model is empty.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// `DeviceInfo.Manufacturer` of the model.
    pub fn manufacturer(&self) -> &str {
        &self.manufacturer
    }

    /// `DeviceInfo.ManufacturerOUI` of the model.
    pub fn oui(&self) -> &str {
        &self.oui
    }

    /// `DeviceInfo.ProductClass` of the model.
    pub fn product_class(&self) -> &str {
        &self.product_class
    }

    pub(crate) fn find(&self, path: &str) -> Option<u32> {
        self.index.get(path).copied()
    }

    pub(crate) fn node(&self, i: u32) -> &Node {
        &self.nodes[i as usize]
    }

    pub(crate) fn forced(&self) -> &[u32] {
        &self.forced
    }

    pub(crate) fn mac_prefix(&self) -> Option<&str> {
        self.mac_prefix.as_deref()
    }

    /// The base value of a root-relative parameter, or "".
    fn rel_value(&self, rel: &str) -> &str {
        self.find(&format!("{}.{rel}", self.root))
            .map_or("", |i| &self.nodes[i as usize].value)
    }

    /// Indices of every node strictly below `path` (`""` = the whole tree), in path order.
    pub(crate) fn descendants(&self, path: &str) -> std::ops::Range<u32> {
        if path.is_empty() {
            return 0..self.nodes.len() as u32;
        }
        let prefix = format!("{path}.");
        let lo = self.nodes.partition_point(|n| *n.path < *prefix.as_str());
        let len = self.nodes[lo..]
            .iter()
            .take_while(|n| n.path.starts_with(prefix.as_str()))
            .count();
        lo as u32..(lo + len) as u32
    }
}

/// `1C61B4` → `1C:61:B4`; `None` unless the OUI is six hex digits.
pub(crate) fn mac_form(oui: &str) -> Option<String> {
    if oui.len() != 6 || !oui.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let u = oui.to_ascii_uppercase();
    Some(format!("{}:{}:{}", &u[0..2], &u[2..4], &u[4..6]))
}

/// Replaces every MAC starting with `prefix` (five bytes, upper case) in `value` by the CPE's own
/// MAC: the original OUI, then 24 bits of `base` plus the low three bits of the original last
/// byte, so a device's several interface MACs stay distinct from each other and from every other
/// CPE's.
pub(crate) fn substitute_macs(value: &str, prefix: &str, base: u32) -> String {
    // ASCII upper-casing keeps byte offsets identical between `upper` and `value`.
    let upper = value.to_ascii_uppercase();
    let mut out = String::with_capacity(value.len());
    let mut pos = 0;
    while let Some(found) = upper[pos..].find(prefix) {
        let start = pos + found;
        let last = upper
            .get(start + 15..start + 17)
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        let Some(last) = last.filter(|_| upper.as_bytes().get(start + 14) == Some(&b':')) else {
            out.push_str(&value[pos..start + prefix.len()]);
            pos = start + prefix.len();
            continue;
        };
        let n = base.wrapping_add(u32::from(last & 7)) & 0xFF_FFFF;
        out.push_str(&value[pos..start]);
        out.push_str(&format!(
            "{}:{:02X}:{:02X}:{:02X}",
            &prefix[..8],
            n >> 16,
            (n >> 8) & 0xFF,
            n & 0xFF
        ));
        pos = start + 17;
    }
    out.push_str(&value[pos..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_are_rewritten_per_cpe_and_keep_their_low_bits() {
        let v = "00:03:00:01:1C:61:B4:FB:2A:CB";
        assert_eq!(
            substitute_macs(v, "1C:61:B4:FB:2A", 8),
            "00:03:00:01:1C:61:B4:00:00:0B"
        );
        assert_eq!(
            substitute_macs("1c:61:b4:fb:2a:c8", "1C:61:B4:FB:2A", 16),
            "1C:61:B4:00:00:10"
        );
        assert_eq!(
            substitute_macs("1C:61:B4:FB:2A", "1C:61:B4:FB:2A", 16),
            "1C:61:B4:FB:2A"
        );
        assert_eq!(mac_form("1C61B4").as_deref(), Some("1C:61:B4"));
        assert_eq!(mac_form("xyz"), None);
    }

    #[test]
    fn the_xx230v_base_is_indexed_with_identity_marks() {
        let b = BaseModel::new(&DataModel::xx230v());
        assert_eq!(b.root(), "Device");
        assert_eq!(b.mac_prefix(), Some("1C:61:B4:FB:2A"));
        let i = b.find("Device.DeviceInfo.SerialNumber").unwrap();
        assert_eq!(b.node(i).ident, Ident::Serial);
        let i = b.find("Device.WiFi.SSID.1.BSSID").unwrap();
        assert_eq!(b.node(i).ident, Ident::Mac);
        let r = b.descendants("Device.ManagementServer");
        assert!(r.len() > 20);
        assert!(b.forced().len() >= 6);
    }
}
