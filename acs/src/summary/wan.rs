//! WAN connections: TR-181 IP interfaces whose interface stack reaches an upstream link, with
//! their PPP layer, addresses, default route and DNS; TR-098 `WANIPConnection` and
//! `WANPPPConnection` objects with `Layer3Forwarding.DefaultConnectionService`.

use super::{Fact, Reader};
use crate::datamodel::{DataModel, View, addresses, parse_bool, reference, references};
use serde::Serialize;
use std::collections::HashSet;

/// Most interface-stack nodes followed from one IP interface (a loop in `LowerLayers` ends the
/// walk too).
const MAX_STACK: usize = 32;

/// Lower layers that are the access network whatever their `Upstream` says.
const UPSTREAM_PREFIXES: [&str; 6] = [
    "Device.Optical.",
    "Device.XPON.",
    "Device.DSL.",
    "Device.Cellular.",
    "Device.PTM.",
    "Device.ATM.",
];

/// IP over DHCP/static addressing, or PPP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WanKind {
    /// IPoE: DHCP or static addressing.
    Ip,
    /// PPP (PPPoE on fibre).
    Ppp,
}

/// One WAN connection.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WanConnection {
    /// The IP interface (TR-181) or connection object (TR-098).
    pub path: String,
    /// IP or PPP.
    pub kind: WanKind,
    /// Whether it carries the default route.
    pub default_route: bool,
    /// Its name.
    pub name: Option<Fact<String>>,
    /// `Enable`.
    pub enabled: Option<Fact<bool>>,
    /// `Status` (IP) or `ConnectionStatus` (PPP, and TR-098).
    pub status: Option<Fact<String>>,
    /// TR-098 `ConnectionType` (`IP_Routed`, `IP_Bridged`, …); `PPPoE` for a TR-181 PPP
    /// interface with a PPPoE layer.
    pub connection_type: Option<Fact<String>>,
    /// `AddressingType` (`DHCP`, `Static`, `IPCP`).
    pub addressing: Option<Fact<String>>,
    /// The WAN address.
    pub ip: Option<Fact<String>>,
    /// Its subnet mask.
    pub subnet_mask: Option<Fact<String>>,
    /// The gateway.
    pub gateway: Option<Fact<String>>,
    /// DNS servers.
    pub dns: Option<Fact<Vec<String>>>,
    /// Seconds since the connection came up (only while it is up).
    pub uptime_s: Option<Fact<u64>>,
    /// PPP user name (never the password).
    pub username: Option<Fact<String>>,
    /// PPP `LastConnectionError`.
    pub last_error: Option<Fact<String>>,
}

impl WanConnection {
    fn new(path: String, kind: WanKind) -> Self {
        Self {
            path,
            kind,
            default_route: false,
            name: None,
            enabled: None,
            status: None,
            connection_type: None,
            addressing: None,
            ip: None,
            subnet_mask: None,
            gateway: None,
            dns: None,
            uptime_s: None,
            username: None,
            last_error: None,
        }
    }

    fn is_up(&self) -> bool {
        self.status
            .as_ref()
            .is_some_and(|s| matches!(s.value.as_str(), "Up" | "Connected"))
    }
}

/// The WAN connections, the default-route one first, then those that are up.
pub(super) fn connections(r: &mut Reader<'_>, model: DataModel) -> Vec<WanConnection> {
    let mut out = match model {
        DataModel::Tr181 => tr181(r),
        DataModel::Tr098 => tr098(r),
    };
    out.sort_by_key(|c| (!c.default_route, !c.is_up()));
    out
}

/// Whether an IP interface is the loopback.
pub(super) fn is_loopback(view: &View<'_>, iface: &str) -> bool {
    view.text(&format!("{iface}.Type")).as_deref() == Some("Loopback")
        || view.text(&format!("{iface}.Name")).as_deref() == Some("lo")
}

/// The interface stack below `start`, breadth first, `start` included.
fn stack(view: &View<'_>, start: &str) -> Vec<String> {
    let mut seen: HashSet<String> = HashSet::new();
    let mut order = vec![start.to_owned()];
    seen.insert(start.to_owned());
    let mut i = 0;
    while i < order.len() && order.len() < MAX_STACK {
        if let Some(t) = view.text(&format!("{}.LowerLayers", order[i])) {
            for r in references(&t) {
                if order.len() < MAX_STACK && seen.insert(r.to_owned()) {
                    order.push(r.to_owned());
                }
            }
        }
        i += 1;
    }
    order
}

/// Whether the interface stack below `iface` reaches the access network.
pub(super) fn upstream(view: &View<'_>, iface: &str) -> bool {
    stack(view, iface).iter().any(|p| {
        UPSTREAM_PREFIXES.iter().any(|x| p.starts_with(x))
            || view
                .text(&format!("{p}.Upstream"))
                .and_then(|t| parse_bool(&t))
                == Some(true)
    })
}

/// The `IPv4Address` instance of an interface that holds its address: the first enabled one
/// with a real address, else the first one.
pub(super) fn ipv4(view: &View<'_>, iface: &str) -> Option<String> {
    let table = format!("{iface}.IPv4Address");
    let all: Vec<String> = view
        .instances(&table)
        .into_iter()
        .map(|i| format!("{table}.{i}"))
        .collect();
    let real = all.iter().find(|a| {
        let ip = view.nonempty(&format!("{a}.IPAddress"));
        let enabled = view
            .text(&format!("{a}.Enable"))
            .and_then(|t| parse_bool(&t));
        ip.is_some_and(|ip| ip != "0.0.0.0") && enabled != Some(false)
    });
    real.or(all.first()).cloned()
}

/// Default routes: `(interface, forwarding entry)`.
fn default_routes(view: &View<'_>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for r in view.instances("Device.Routing.Router") {
        let table = format!("Device.Routing.Router.{r}.IPv4Forwarding");
        for f in view.instances(&table) {
            let entry = format!("{table}.{f}");
            let unset = |leaf: &str| {
                view.text(&format!("{entry}.{leaf}"))
                    .is_none_or(|t| matches!(t.trim(), "" | "0.0.0.0"))
            };
            let enabled = view
                .text(&format!("{entry}.Enable"))
                .and_then(|t| parse_bool(&t));
            let iface = view.text(&format!("{entry}.Interface"));
            if enabled == Some(false) || !unset("DestIPAddress") || !unset("DestSubnetMask") {
                continue;
            }
            if let Some(iface) = iface.as_deref().and_then(reference) {
                out.push((iface.to_owned(), entry));
            }
        }
    }
    out
}

/// A gateway address unless unset.
fn gateway(r: &mut Reader<'_>, path: &str) -> Option<Fact<String>> {
    r.text(path).filter(|f| f.value != "0.0.0.0")
}

fn dns(r: &mut Reader<'_>, path: &str) -> Option<Fact<Vec<String>>> {
    let f = r.text(path)?.map(|t| addresses(&t));
    (!f.value.is_empty()).then_some(f)
}

fn tr181(r: &mut Reader<'_>) -> Vec<WanConnection> {
    let view = r.view;
    let routes = default_routes(&view);
    let mut out = Vec::new();
    for i in view.instances("Device.IP.Interface") {
        let path = format!("Device.IP.Interface.{i}");
        let routed: Vec<&String> = routes
            .iter()
            .filter(|(ifc, _)| *ifc == path)
            .map(|(_, e)| e)
            .collect();
        // WAN: its stack reaches the access network, or a default route leaves through it.
        let wan = upstream(&view, &path) || !routed.is_empty();
        if is_loopback(&view, &path) || !wan {
            continue;
        }
        let ppp = stack(&view, &path)
            .into_iter()
            .find(|p| p.starts_with("Device.PPP.Interface."));
        let kind = if ppp.is_some() {
            WanKind::Ppp
        } else {
            WanKind::Ip
        };
        let mut c = WanConnection::new(path.clone(), kind);
        c.name = r.text(&format!("{path}.Name"));
        c.enabled = r.bool(&format!("{path}.Enable"));
        c.status = match &ppp {
            Some(p) => r
                .text(&format!("{p}.ConnectionStatus"))
                .or_else(|| r.text(&format!("{p}.Status"))),
            None => r.text(&format!("{path}.Status")),
        };
        if let Some(addr) = ipv4(&view, &path) {
            c.ip = r.text(&format!("{addr}.IPAddress"));
            c.subnet_mask = r.text(&format!("{addr}.SubnetMask"));
            c.addressing = r.text(&format!("{addr}.AddressingType"));
        }
        for entry in &routed {
            if let Some(g) = gateway(r, &format!("{entry}.GatewayIPAddress")) {
                c.gateway = Some(g);
                c.default_route = true;
                break;
            }
        }
        let client = view
            .instances("Device.DHCPv4.Client")
            .into_iter()
            .map(|n| format!("Device.DHCPv4.Client.{n}"))
            .find(|cl| {
                view.text(&format!("{cl}.Interface"))
                    .as_deref()
                    .and_then(reference)
                    == Some(path.as_str())
            });
        if let Some(p) = &ppp {
            if view.exists(&format!("{p}.PPPoE")) {
                c.connection_type = Some(
                    r.noted(
                        "PPPoE".to_owned(),
                        &format!("{p}.PPPoE"),
                        view.stamp(&format!("{p}.ConnectionStatus"))
                            .unwrap_or_default(),
                    ),
                );
            }
            if c.gateway.is_none() {
                c.gateway = gateway(r, &format!("{p}.IPCP.RemoteIPAddress"));
            }
            c.dns = dns(r, &format!("{p}.IPCP.DNSServers"));
            c.username = r.text(&format!("{p}.Username"));
            c.last_error = r.text(&format!("{p}.LastConnectionError"));
        }
        if let Some(cl) = &client {
            if c.gateway.is_none() {
                c.gateway = r.text(&format!("{cl}.IPRouters")).and_then(|f| {
                    let first = addresses(&f.value).into_iter().next()?;
                    Some(f.map(|_| first))
                });
            }
            if c.dns.is_none() {
                c.dns = dns(r, &format!("{cl}.DNSServers"));
            }
        }
        if c.dns.is_none() {
            c.dns = dns_client_servers(r, &path);
        }
        if c.is_up() {
            let layer = ppp.as_deref().unwrap_or(&path);
            c.uptime_s = r.u64(&format!("{layer}.LastChange"));
        }
        out.push(c);
    }
    out
}

/// `Device.DNS.Client.Server` entries bound to an interface.
fn dns_client_servers(r: &mut Reader<'_>, iface: &str) -> Option<Fact<Vec<String>>> {
    let view = r.view;
    let mut found: Option<Fact<Vec<String>>> = None;
    for i in view.instances("Device.DNS.Client.Server") {
        let entry = format!("Device.DNS.Client.Server.{i}");
        let bound = view
            .text(&format!("{entry}.Interface"))
            .as_deref()
            .and_then(reference)
            == Some(iface);
        let enabled = view
            .text(&format!("{entry}.Enable"))
            .and_then(|t| parse_bool(&t));
        if !bound || enabled == Some(false) {
            continue;
        }
        let Some(f) = dns(r, &format!("{entry}.DNSServer")) else {
            continue;
        };
        match &mut found {
            Some(all) => all.value.extend(f.value),
            None => found = Some(f),
        }
    }
    found
}

fn tr098(r: &mut Reader<'_>) -> Vec<WanConnection> {
    let view = r.view;
    let root = "InternetGatewayDevice";
    let default = view
        .text(&format!("{root}.Layer3Forwarding.DefaultConnectionService"))
        .and_then(|t| reference(&t).map(str::to_owned));
    let mut out = Vec::new();
    for wd in view.instances(&format!("{root}.WANDevice")) {
        let devices = format!("{root}.WANDevice.{wd}.WANConnectionDevice");
        for cd in view.instances(&devices) {
            for (table, kind) in [
                ("WANIPConnection", WanKind::Ip),
                ("WANPPPConnection", WanKind::Ppp),
            ] {
                let table = format!("{devices}.{cd}.{table}");
                for k in view.instances(&table) {
                    let path = format!("{table}.{k}");
                    let at = |leaf: &str| format!("{path}.{leaf}");
                    let mut c = WanConnection::new(path.clone(), kind);
                    c.default_route = default.as_deref() == Some(path.as_str());
                    c.name = r.text(&at("Name"));
                    c.enabled = r.bool(&at("Enable"));
                    c.status = r.text(&at("ConnectionStatus"));
                    c.connection_type = r.text(&at("ConnectionType"));
                    c.ip = r.text(&at("ExternalIPAddress"));
                    c.dns = dns(r, &at("DNSServers"));
                    c.last_error = r.text(&at("LastConnectionError"));
                    if kind == WanKind::Ip {
                        c.addressing = r.text(&at("AddressingType"));
                        c.subnet_mask = r.text(&at("SubnetMask"));
                        c.gateway = gateway(r, &at("DefaultGateway"));
                    } else {
                        c.gateway = gateway(r, &at("RemoteIPAddress"));
                        c.username = r.text(&at("Username"));
                    }
                    if c.is_up() {
                        c.uptime_s = r.u64(&at("Uptime"));
                    }
                    out.push(c);
                }
            }
        }
    }
    out
}
