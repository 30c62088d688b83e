//! The network page's topology, sans IO: OLT → PON port → ONU → CPE as Cytoscape.js `elements`
//! JSON (`{"nodes": [{"data": …}], "edges": [{"data": …}]}`), with live status from the latest
//! OLT polls and the ACS.
//!
//! Node ids are stable across calls (`olt:<id>`, `port:<olt>:<f/s/p>`, `onu:<olt>:<ifIndex>.<id>`,
//! `cpe:<device id>`) so the page can update nodes in place from `network` events.

use olt_poller::{OltSnapshot, Onu, OnuState};
use serde_json::{Value, json};

/// What the ACS knows of the CPE behind an ONU.
#[derive(Debug, Clone, PartialEq)]
pub struct CpeInfo {
    /// The ACS device id.
    pub device: String,
    /// Whether it informed recently.
    pub online: bool,
    /// Its last Inform (ISO 8601).
    pub last_inform: String,
    /// The customer, when ERPNext links it.
    pub customer: Option<String>,
}

/// Which part of the network to draw.
#[derive(Debug, Clone, Copy, Default)]
pub struct Scope<'a> {
    /// One OLT.
    pub olt: Option<&'a str>,
    /// One PON port of it (`frame/slot/port` or the port's ifName).
    pub port: Option<&'a str>,
}

/// One OLT as the poller last saw it.
pub struct OltView<'a> {
    /// The OLT's id.
    pub id: &'a str,
    /// Whether its last poll answered.
    pub reachable: bool,
    /// The latest snapshot, if any poll succeeded.
    pub snapshot: Option<&'a OltSnapshot>,
}

fn onu_status(o: &Onu) -> (&'static str, Value) {
    match o.state {
        OnuState::Online => ("online", Value::Null),
        OnuState::Registering => ("registering", Value::Null),
        OnuState::Offline { cause } => ("offline", json!(cause)),
        OnuState::Unknown => ("unknown", Value::Null),
    }
}

/// The elements of the network in `scope`; `cpe_of` maps an ONU serial to its CPE.
pub fn elements(
    olts: &[OltView<'_>],
    scope: Scope<'_>,
    cpe_of: &dyn Fn(&str) -> Option<CpeInfo>,
) -> Value {
    let mut nodes = Vec::new();
    let mut edges = Vec::new();
    let edge = |edges: &mut Vec<Value>, a: &str, b: &str| {
        edges.push(json!({"data": {"id": format!("{a}->{b}"), "source": a, "target": b}}));
    };
    for olt in olts.iter().filter(|o| scope.olt.is_none_or(|s| s == o.id)) {
        let olt_node = format!("olt:{}", olt.id);
        let (total, offline) = olt.snapshot.map_or((0, 0), |s| {
            (
                s.onus.len(),
                s.onus.iter().filter(|o| o.state.is_offline()).count(),
            )
        });
        nodes.push(json!({"data": {
            "id": olt_node, "kind": "olt", "label": olt.id,
            "status": if olt.reachable { "up" } else { "unreachable" },
            "vendor": olt.snapshot.map(|s| s.vendor.clone()),
            "onus": total, "offline": offline,
            "polled_at_ms": olt.snapshot.map(|s| s.polled_at_ms),
        }}));
        let Some(snap) = olt.snapshot else { continue };
        for info in &snap.ports {
            let name = info.port.to_string();
            let wanted = scope
                .port
                .is_none_or(|p| p == name || info.name.as_deref() == Some(p));
            if !wanted {
                continue;
            }
            let port_node = format!("port:{}:{name}", olt.id);
            let onus: Vec<&Onu> = snap
                .onus
                .iter()
                .filter(|o| o.key.if_index == info.if_index)
                .collect();
            let down = onus.iter().filter(|o| o.state.is_offline()).count();
            let status = match (down, onus.len()) {
                (0, _) => "ok",
                (d, n) if d == n => "down",
                _ => "degraded",
            };
            nodes.push(json!({"data": {
                "id": port_node, "kind": "pon_port", "label": info.name.clone().unwrap_or_else(|| name.clone()),
                "port": name, "status": status, "onus": onus.len(), "offline": down,
            }}));
            edge(&mut edges, &olt_node, &port_node);
            for o in onus {
                let onu_node = format!("onu:{}:{}.{}", olt.id, o.key.if_index, o.key.onu_id);
                let (status, cause) = onu_status(o);
                nodes.push(json!({"data": {
                    "id": onu_node, "kind": "onu",
                    "label": o.serial.clone().unwrap_or_else(|| format!("ONU {}", o.key.onu_id)),
                    "serial": o.serial, "status": status, "cause": cause,
                    "rx_dbm": o.rx_dbm.map(|d| d.0), "tx_dbm": o.tx_dbm.map(|d| d.0),
                    "olt_rx_dbm": o.olt_rx_dbm.map(|d| d.0),
                    "last_down": o.last_down_time.as_ref().map(|t| t.0.clone()),
                }}));
                edge(&mut edges, &port_node, &onu_node);
                let Some(cpe) = o.serial.as_deref().and_then(cpe_of) else {
                    continue;
                };
                let cpe_node = format!("cpe:{}", cpe.device);
                nodes.push(json!({"data": {
                    "id": cpe_node, "kind": "cpe", "label": cpe.device,
                    "status": if cpe.online { "online" } else { "stale" },
                    "last_inform": cpe.last_inform, "customer": cpe.customer,
                }}));
                edge(&mut edges, &onu_node, &cpe_node);
            }
        }
    }
    json!({"elements": {"nodes": nodes, "edges": edges}})
}

#[cfg(test)]
mod tests {
    use super::*;
    use olt_poller::{DownCause, OltId, OnuKey, PollStats, PonPort, PonPortInfo};

    fn onu(if_index: u32, id: u32, serial: &str, state: OnuState) -> Onu {
        Onu {
            key: OnuKey {
                if_index,
                onu_id: id,
            },
            port: PonPort {
                frame: 0,
                slot: 1,
                port: if_index,
            },
            port_name: None,
            serial: Some(serial.into()),
            description: None,
            state,
            raw_state: None,
            raw_cause: None,
            rx_dbm: None,
            tx_dbm: None,
            olt_rx_dbm: None,
            last_down_time: None,
            last_up_time: None,
            dying_gasp_time: None,
        }
    }

    fn snapshot() -> OltSnapshot {
        let port = |i: u32| PonPortInfo {
            if_index: i,
            port: PonPort {
                frame: 0,
                slot: 1,
                port: i,
            },
            name: Some(format!("GPON 0/1/{i}")),
        };
        OltSnapshot {
            olt: OltId::new("olt1").unwrap(),
            vendor: "huawei".into(),
            sys_object_id: None,
            polled_at_ms: 1,
            ports: vec![port(1), port(2)],
            onus: vec![
                onu(1, 0, "FPSIM00000000", OnuState::Online),
                onu(
                    1,
                    1,
                    "FPSIM00000001",
                    OnuState::Offline {
                        cause: DownCause::Los,
                    },
                ),
                onu(
                    2,
                    0,
                    "FPSIM00000002",
                    OnuState::Offline {
                        cause: DownCause::DyingGasp,
                    },
                ),
            ],
            stats: PollStats::default(),
        }
    }

    #[test]
    fn nodes_edges_and_statuses() {
        let snap = snapshot();
        let olts = [OltView {
            id: "olt1",
            reachable: true,
            snapshot: Some(&snap),
        }];
        let cpe = |serial: &str| {
            (serial == "FPSIM00000000").then(|| CpeInfo {
                device: "1C61B4-Device2-FPSIM00000000".into(),
                online: true,
                last_inform: "2026-12-04T10:00:00.000Z".into(),
                customer: Some("CUST-1".into()),
            })
        };
        let all = elements(&olts, Scope::default(), &cpe);
        let nodes = all["elements"]["nodes"].as_array().unwrap();
        let kinds: Vec<&str> = nodes
            .iter()
            .map(|n| n["data"]["kind"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            ["olt", "pon_port", "onu", "cpe", "onu", "pon_port", "onu"]
        );
        assert_eq!(nodes[1]["data"]["status"], "degraded");
        assert_eq!(nodes[5]["data"]["status"], "down");
        assert_eq!(nodes[4]["data"]["cause"], "los");
        assert_eq!(all["elements"]["edges"].as_array().unwrap().len(), 6);
        let one = elements(
            &olts,
            Scope {
                olt: Some("olt1"),
                port: Some("GPON 0/1/2"),
            },
            &cpe,
        );
        assert_eq!(one["elements"]["nodes"].as_array().unwrap().len(), 3);
        let none = elements(
            &olts,
            Scope {
                olt: Some("other"),
                port: None,
            },
            &cpe,
        );
        assert!(none["elements"]["nodes"].as_array().unwrap().is_empty());
        let down = [OltView {
            id: "olt2",
            reachable: false,
            snapshot: None,
        }];
        assert_eq!(
            elements(&down, Scope::default(), &cpe)["elements"]["nodes"][0]["data"]["status"],
            "unreachable"
        );
    }
}
