//! What an Inform changes in the device's record: registration, inform-time facts, event times.
//! Pure functions over the store's domain types, so they are tested without a server.

use acs_store::{DeviceId, DeviceMeta, Identity, Op, Param, Value, normalize_mac};
use cwmp::{Inform, ParameterValue};

/// The event codes the ACS acts on.
pub(crate) const BOOTSTRAP: &str = "0 BOOTSTRAP";
pub(crate) const BOOT: &str = "1 BOOT";

/// Converts a wire value into the store's typed value.
pub(crate) fn to_value(p: &ParameterValue) -> Value {
    Value::from_wire(p.xsd_type.local_name(), &p.value)
}

/// The result of folding an Inform into a device record.
pub(crate) struct InformUpdate {
    /// The new meta record.
    pub(crate) meta: DeviceMeta,
    /// Whether the device was unknown before.
    pub(crate) new_device: bool,
    /// Store ops to apply (meta, tree changes), in order.
    pub(crate) ops: Vec<Op>,
    /// True when the Inform changed nothing but the last-inform time of a known device: the
    /// common periodic Inform, whose write the ACS may defer (see `bookkeeping.rs`).
    pub(crate) bookkeeping_only: bool,
}

/// Folds `inform` into `previous` (None for a first contact) at `now_ms`.
pub(crate) fn apply_inform(
    id: &DeviceId,
    previous: Option<(DeviceMeta, u64)>,
    inform: &Inform,
    now_ms: i64,
) -> InformUpdate {
    let new_device = previous.is_none();
    let expect = match &previous {
        Some((_, rev)) => acs_store::Expect::Revision(*rev),
        None => acs_store::Expect::Absent,
    };
    let mut meta = previous.map(|(m, _)| m).unwrap_or_else(|| {
        let mut m = DeviceMeta::new(id.clone(), Identity::default());
        m.registered_ms = now_ms;
        m
    });
    let d = &inform.device_id;
    let identity = Identity {
        manufacturer: d.manufacturer.clone(),
        oui: d.oui.clone(),
        product_class: d.product_class.clone(),
        serial_number: d.serial_number.clone(),
    };
    // Anything that changes besides the last-inform time makes this Inform worth a durable write.
    let mut significant = new_device || meta.identity != identity;
    meta.identity = identity;
    meta.last_inform_ms = now_ms;
    let mut ops = Vec::new();
    if inform.has_event(BOOTSTRAP) {
        significant = true;
        // A bootstrap means a factory reset or a new ACS URL: whatever we cached about the tree
        // and the keys we had set is stale. Pending tasks are operator intent and stay.
        meta.last_bootstrap_ms = Some(now_ms);
        meta.parameter_key.clear();
        meta.inform_params.clear();
        meta.cr_username.clear();
        meta.cr_password.clear();
        if !new_device {
            // The data model goes; the ACS's own records (`Reboot`, `FactoryReset`,
            // `Downloads`) stay, as GenieACS's bootstrap preset clears only the model roots.
            ops.push(Op::UpdateTree {
                id: id.clone(),
                set: Vec::new(),
                remove_subtrees: vec!["Device".into(), "InternetGatewayDevice".into()],
            });
        }
    }
    if inform.has_event(BOOT) {
        significant = true;
        meta.last_boot_ms = Some(now_ms);
    }
    if let Some(root) = inform
        .parameters
        .first()
        .and_then(|p| p.name.split('.').next())
        && (root == "Device" || root == "InternetGatewayDevice")
        && meta.root != root
    {
        significant = true;
        meta.root = root.to_owned();
    }
    // Only parameters whose value changed are written to the tree, so a periodic Inform costs
    // one small meta write.
    let mut changed = Vec::new();
    for p in &inform.parameters {
        let v = to_value(p);
        significant |= note_fact(&mut meta, &p.name, &p.value);
        match meta.inform_params.iter_mut().find(|(n, _)| n == &p.name) {
            Some((_, old)) if *old == v => {}
            Some((_, old)) => {
                *old = v.clone();
                changed.push((p.name.clone(), v));
            }
            None => {
                meta.inform_params.push((p.name.clone(), v.clone()));
                changed.push((p.name.clone(), v));
            }
        }
    }
    ops.push(Op::PutDevice {
        meta: meta.clone(),
        expect,
    });
    if !changed.is_empty() {
        // On a first contact or a bootstrap the tree holds nothing of the model: the objects
        // above the Inform's parameters are recorded too (writability unknown, never listed), as
        // GenieACS records them. Later Informs leave objects alone (they may have been listed).
        let mut ancestors: Vec<String> = Vec::new();
        if new_device || inform.has_event(BOOTSTRAP) {
            for (n, _) in &changed {
                let mut at = 0;
                while let Some(dot) = n[at..].find('.') {
                    let object = &n[..at + dot];
                    if !ancestors.iter().any(|a| a == object) {
                        ancestors.push(object.to_owned());
                    }
                    at += dot + 1;
                }
            }
        }
        let objects = ancestors.into_iter().map(|n| (n, Param::object(None, 0)));
        let set = objects
            .chain(changed.into_iter().map(|(n, v)| {
                let param = Param {
                    object: false,
                    writable: None,
                    value: Some(v),
                    timestamp_ms: now_ms,
                    attributes: None,
                };
                (n, param)
            }))
            .collect();
        ops.push(Op::UpdateTree {
            id: id.clone(),
            set,
            remove_subtrees: Vec::new(),
        });
    }
    let bookkeeping_only = !significant && ops.len() == 1;
    InformUpdate {
        meta,
        new_device,
        ops,
        bookkeeping_only,
    }
}

/// Records the facts the ACS keeps outside the tree (for indexes and connection requests) when a
/// parameter carrying one is seen, in an Inform or in a GetParameterValues answer. Returns whether
/// anything changed.
pub fn note_fact(meta: &mut DeviceMeta, path: &str, value: &str) -> bool {
    let leaf = path.rsplit('.').next().unwrap_or("");
    // The leaf name is checked first: most parameters carry no fact, and the substring checks
    // below then never run (a registration passes ~6,400 values through here).
    let in_ms = || path.contains("ManagementServer.");
    let in_info = || path.contains(".DeviceInfo.");
    let slot = match leaf {
        "ConnectionRequestURL" if in_ms() => &mut meta.connection_request_url,
        "ParameterKey" if in_ms() => &mut meta.parameter_key,
        "SoftwareVersion" if in_info() => &mut meta.software_version,
        "HardwareVersion" if in_info() => &mut meta.hardware_version,
        "ExternalIPAddress" if path.contains(".WANDevice.") && !value.is_empty() => {
            &mut meta.wan_ip
        }
        "MACAddress" if is_own_mac(path) => {
            let Some(mac) = normalize_mac(value) else {
                return false;
            };
            if meta.macs.contains(&mac) {
                return false;
            }
            meta.macs.push(mac);
            meta.macs.sort();
            return true;
        }
        _ => return false,
    };
    if slot == value {
        return false;
    }
    value.clone_into(slot);
    if leaf == "ConnectionRequestURL" && meta.wan_ip.is_empty() {
        // TR-181 has no single WAN address parameter; the connection-request URL's host is the
        // address the CPE is reachable at, which is what operators look for.
        if let Some(host) = url_host(value) {
            meta.wan_ip = host.to_owned();
        }
    }
    true
}

fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split('/').next()?;
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    (!host.is_empty()).then_some(host)
}

/// Whether the ACS indexes the MAC address a parameter at `path` holds: a `MACAddress` of the
/// device's own interfaces, not of hosts or neighbours it reports (the NBI plans MAC queries on
/// exactly these paths).
pub fn indexed_mac_path(path: &str) -> bool {
    path.rsplit('.').next() == Some("MACAddress") && is_own_mac(path)
}

fn is_own_mac(path: &str) -> bool {
    !(path.contains(".Hosts.")
        || path.contains(".AssociatedDevice.")
        || path.contains("Neighbor")
        || path.contains(".Host."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cwmp::{DeviceIdStruct, EventStruct, XsdType};

    fn inform(events: &[&str], params: &[(&str, &str)]) -> Inform {
        Inform {
            device_id: DeviceIdStruct {
                manufacturer: "TP-Link".into(),
                oui: "1C61B4".into(),
                product_class: "Device2".into(),
                serial_number: "S1".into(),
            },
            events: events.iter().map(|e| EventStruct::new(*e)).collect(),
            max_envelopes: 1,
            current_time: String::new(),
            retry_count: 0,
            parameters: params
                .iter()
                .map(|(n, v)| ParameterValue::new(*n, *v, XsdType::String))
                .collect(),
        }
    }

    #[test]
    fn first_contact_registers_and_keeps_facts() {
        let id = DeviceId::parse("1C61B4-Device2-S1").unwrap();
        let i = inform(
            &[BOOTSTRAP, BOOT],
            &[
                (
                    "Device.ManagementServer.ConnectionRequestURL",
                    "http://127.0.0.1:1/cr",
                ),
                ("Device.DeviceInfo.SoftwareVersion", "1.0"),
                (
                    "Device.Ethernet.Interface.1.MACAddress",
                    "1c:61:b4:00:00:01",
                ),
                ("Device.Hosts.Host.1.MACAddress", "aa:aa:aa:aa:aa:aa"),
            ],
        );
        let u = apply_inform(&id, None, &i, 1000);
        assert!(u.new_device);
        assert_eq!(u.meta.registered_ms, 1000);
        assert_eq!(u.meta.last_boot_ms, Some(1000));
        assert_eq!(u.meta.last_bootstrap_ms, Some(1000));
        assert_eq!(u.meta.connection_request_url, "http://127.0.0.1:1/cr");
        assert_eq!(u.meta.macs, vec!["1C:61:B4:00:00:01".to_owned()]);
        assert_eq!(u.meta.root, "Device");
        assert_eq!(u.ops.len(), 2, "meta and tree");
    }

    #[test]
    fn periodic_inform_with_unchanged_values_writes_only_meta() {
        let id = DeviceId::parse("1C61B4-Device2-S1").unwrap();
        let params = [("Device.DeviceInfo.SoftwareVersion", "1.0")];
        let first = apply_inform(&id, None, &inform(&[BOOTSTRAP], &params), 1000);
        let again = apply_inform(
            &id,
            Some((first.meta, 1)),
            &inform(&["2 PERIODIC"], &params),
            2000,
        );
        assert!(!again.new_device);
        assert_eq!(again.ops.len(), 1);
        assert_eq!(again.meta.registered_ms, 1000);
        assert_eq!(again.meta.last_inform_ms, 2000);
        assert!(again.bookkeeping_only && !first_is_bookkeeping(&params));
    }

    fn first_is_bookkeeping(params: &[(&str, &str)]) -> bool {
        let id = DeviceId::parse("1C61B4-Device2-S1").unwrap();
        apply_inform(&id, None, &inform(&["2 PERIODIC"], params), 1).bookkeeping_only
    }

    #[test]
    fn a_changed_value_or_a_boot_is_not_mere_bookkeeping() {
        let id = DeviceId::parse("1C61B4-Device2-S1").unwrap();
        let params = [("Device.DeviceInfo.SoftwareVersion", "1.0")];
        let first = apply_inform(&id, None, &inform(&[BOOTSTRAP], &params), 1000);
        let newer = [("Device.DeviceInfo.SoftwareVersion", "1.1")];
        let upgraded = apply_inform(
            &id,
            Some((first.meta.clone(), 1)),
            &inform(&["2 PERIODIC"], &newer),
            2000,
        );
        assert!(!upgraded.bookkeeping_only);
        let boot = apply_inform(&id, Some((first.meta, 1)), &inform(&[BOOT], &params), 3000);
        assert!(!boot.bookkeeping_only);
    }

    #[test]
    fn bootstrap_of_a_known_device_forgets_cached_state() {
        let id = DeviceId::parse("1C61B4-Device2-S1").unwrap();
        let mut meta = DeviceMeta::new(id.clone(), Identity::default());
        meta.cr_password = "old".into();
        meta.parameter_key = "k1".into();
        let u = apply_inform(&id, Some((meta, 3)), &inform(&[BOOTSTRAP], &[]), 5);
        assert!(u.meta.cr_password.is_empty() && u.meta.parameter_key.is_empty());
        assert!(
            matches!(&u.ops[0], Op::UpdateTree { remove_subtrees, .. } if remove_subtrees.len() == 2)
        );
    }
}
