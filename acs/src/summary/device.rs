//! Identity and firmware (`DeviceInfo`, with the Inform's identity as a fallback) and the LAN
//! side (address, DHCP server).

use super::{Fact, Reader, wan};
use crate::datamodel::{DataModel, addresses, reference};
use acs_store::DeviceMeta;
use serde::Serialize;

/// Who the device is and what it runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Identity {
    /// `DeviceInfo.Manufacturer`.
    pub manufacturer: Option<Fact<String>>,
    /// `DeviceInfo.ManufacturerOUI`.
    pub oui: Option<Fact<String>>,
    /// `DeviceInfo.ModelName`.
    pub model_name: Option<Fact<String>>,
    /// `DeviceInfo.ProductClass`.
    pub product_class: Option<Fact<String>>,
    /// `DeviceInfo.SerialNumber`.
    pub serial_number: Option<Fact<String>>,
    /// `DeviceInfo.SoftwareVersion`.
    pub software_version: Option<Fact<String>>,
    /// `DeviceInfo.HardwareVersion`.
    pub hardware_version: Option<Fact<String>>,
    /// `DeviceInfo.UpTime`, seconds.
    pub uptime_s: Option<Fact<u64>>,
}

/// Reads the identity; fields the tree lacks come from the last Inform (`DeviceID.*`, as
/// GenieACS names the Inform's DeviceId structure).
pub(super) fn identity(
    r: &mut Reader<'_>,
    model: Option<DataModel>,
    meta: Option<&DeviceMeta>,
) -> Identity {
    let mut id = Identity::default();
    if let Some(m) = model {
        let at = |leaf: &str| format!("{}.DeviceInfo.{leaf}", m.root());
        id.manufacturer = r.text(&at("Manufacturer"));
        id.oui = r.text(&at("ManufacturerOUI"));
        id.model_name = r.text(&at("ModelName"));
        id.product_class = r.text(&at("ProductClass"));
        id.serial_number = r.text(&at("SerialNumber"));
        id.software_version = r.text(&at("SoftwareVersion"));
        id.hardware_version = r.text(&at("HardwareVersion"));
        id.uptime_s = r.u64(&at("UpTime"));
    }
    if let Some(meta) = meta {
        let when = meta.last_inform_ms;
        let mut fill = |slot: &mut Option<Fact<String>>, path: &str, value: &str| {
            if slot.is_none() && !value.is_empty() {
                *slot = Some(r.noted(value.to_owned(), path, when));
            }
        };
        let d = &meta.identity;
        fill(
            &mut id.manufacturer,
            "DeviceID.Manufacturer",
            &d.manufacturer,
        );
        fill(&mut id.oui, "DeviceID.OUI", &d.oui);
        fill(
            &mut id.product_class,
            "DeviceID.ProductClass",
            &d.product_class,
        );
        fill(
            &mut id.serial_number,
            "DeviceID.SerialNumber",
            &d.serial_number,
        );
    }
    id
}

/// The LAN side of a router.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Lan {
    /// The LAN IP interface (TR-181) or `IPInterface` (TR-098) object.
    pub interface: Option<String>,
    /// The router's LAN address.
    pub ip: Option<Fact<String>>,
    /// Its subnet mask.
    pub subnet_mask: Option<Fact<String>>,
    /// Whether the DHCP server hands out addresses.
    pub dhcp_enabled: Option<Fact<bool>>,
    /// First address of the DHCP range.
    pub dhcp_start: Option<Fact<String>>,
    /// Last address of the DHCP range.
    pub dhcp_end: Option<Fact<String>>,
    /// DHCP lease time, seconds.
    pub lease_time_s: Option<Fact<u64>>,
    /// DNS servers given to clients.
    pub dns: Option<Fact<Vec<String>>>,
}

/// Reads the LAN side; `None` when the tree has neither a DHCP server nor a LAN interface.
pub(super) fn lan(r: &mut Reader<'_>, model: DataModel) -> Option<Lan> {
    match model {
        DataModel::Tr181 => lan_181(r),
        DataModel::Tr098 => lan_098(r),
    }
}

fn dns(r: &mut Reader<'_>, path: &str) -> Option<Fact<Vec<String>>> {
    let f = r.text(path)?.map(|t| addresses(&t));
    (!f.value.is_empty()).then_some(f)
}

fn lan_181(r: &mut Reader<'_>) -> Option<Lan> {
    let view = r.view;
    let pools = view.instances("Device.DHCPv4.Server.Pool");
    let enabled = |i: &&u32| {
        view.text(&format!("Device.DHCPv4.Server.Pool.{i}.Enable"))
            .is_some_and(|t| crate::datamodel::parse_bool(&t) == Some(true))
    };
    let pool = pools
        .iter()
        .find(enabled)
        .or(pools.first())
        .map(|i| format!("Device.DHCPv4.Server.Pool.{i}"));
    let from_pool = pool.as_ref().and_then(|p| {
        let t = view.text(&format!("{p}.Interface"))?;
        reference(&t).map(str::to_owned)
    });
    let interface = from_pool.or_else(|| {
        view.instances("Device.IP.Interface")
            .into_iter()
            .map(|i| format!("Device.IP.Interface.{i}"))
            .find(|p| {
                !wan::is_loopback(&view, p)
                    && !wan::upstream(&view, p)
                    && wan::ipv4(&view, p).is_some()
            })
    });
    if pool.is_none() && interface.is_none() {
        return None;
    }
    let mut lan = Lan {
        interface: interface.clone(),
        ..Lan::default()
    };
    if let Some(iface) = &interface
        && let Some(addr) = wan::ipv4(&view, iface)
    {
        lan.ip = r.text(&format!("{addr}.IPAddress"));
        lan.subnet_mask = r.text(&format!("{addr}.SubnetMask"));
    }
    if let Some(p) = &pool {
        lan.dhcp_enabled = match r.bool("Device.DHCPv4.Server.Enable") {
            Some(server) if !server.value => Some(server),
            _ => r.bool(&format!("{p}.Enable")),
        };
        lan.dhcp_start = r.text(&format!("{p}.MinAddress"));
        lan.dhcp_end = r.text(&format!("{p}.MaxAddress"));
        lan.lease_time_s = r.u64(&format!("{p}.LeaseTime"));
        lan.dns = dns(r, &format!("{p}.DNSServers"));
    }
    Some(lan)
}

fn lan_098(r: &mut Reader<'_>) -> Option<Lan> {
    let view = r.view;
    let device = view
        .instances("InternetGatewayDevice.LANDevice")
        .into_iter()
        .map(|i| format!("InternetGatewayDevice.LANDevice.{i}.LANHostConfigManagement"))
        .find(|p| view.exists(p))?;
    let iface = view
        .instances(&format!("{device}.IPInterface"))
        .first()
        .map(|i| format!("{device}.IPInterface.{i}"));
    let mut lan = Lan {
        interface: iface.clone(),
        ..Lan::default()
    };
    if let Some(i) = &iface {
        lan.ip = r.text(&format!("{i}.IPInterfaceIPAddress"));
        lan.subnet_mask = r.text(&format!("{i}.IPInterfaceSubnetMask"));
    }
    if lan.subnet_mask.is_none() {
        lan.subnet_mask = r.text(&format!("{device}.SubnetMask"));
    }
    lan.dhcp_enabled = r.bool(&format!("{device}.DHCPServerEnable"));
    lan.dhcp_start = r.text(&format!("{device}.MinAddress"));
    lan.dhcp_end = r.text(&format!("{device}.MaxAddress"));
    lan.lease_time_s = r.u64(&format!("{device}.DHCPLeaseTime"));
    lan.dns = dns(r, &format!("{device}.DNSServers"));
    Some(lan)
}
