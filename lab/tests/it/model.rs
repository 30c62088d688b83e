//! RPC semantics of the copy-on-write CPE model over the XX230v tree.

use std::sync::{Arc, OnceLock};

use cwmp::{ParameterValue, SetParameterAttribute, XsdType};
use fibreplane_lab::{BaseModel, CpeModel, Identity};

fn base() -> Arc<BaseModel> {
    static BASE: OnceLock<Arc<BaseModel>> = OnceLock::new();
    BASE.get_or_init(|| Arc::new(BaseModel::xx230v())).clone()
}

fn cpe(n: u32) -> CpeModel {
    CpeModel::new(
        base(),
        Identity {
            serial: format!("SER{n}"),
            mac_base: n * 8,
            cr_url: format!("http://127.0.0.1:1/cr/{n}"),
        },
    )
}

fn pv(name: &str, value: &str) -> ParameterValue {
    ParameterValue::new(name, value, XsdType::String)
}

fn names(v: &[cwmp::ParameterInfo]) -> Vec<&str> {
    v.iter().map(|p| p.name.as_str()).collect()
}

#[test]
fn gpn_follows_next_level_and_partial_path_rules() {
    let m = cpe(1);
    let direct = m
        .get_parameter_names("Device.ManagementServer.", true)
        .unwrap();
    let direct = names(&direct);
    assert!(direct.contains(&"Device.ManagementServer.URL"));
    assert!(direct.contains(&"Device.ManagementServer.ManageableDevice."));
    assert!(
        direct
            .iter()
            .all(|n| !n.starts_with("Device.ManagementServer.ManageableDevice.1"))
    );
    assert!(!direct.contains(&"Device.ManagementServer."));

    let all = m
        .get_parameter_names("Device.ManagementServer.", false)
        .unwrap();
    assert_eq!(all[0].name, "Device.ManagementServer.");
    assert!(all.len() > direct.len());

    let one = m
        .get_parameter_names("Device.DeviceInfo.SerialNumber", false)
        .unwrap();
    assert_eq!(names(&one), ["Device.DeviceInfo.SerialNumber"]);
    assert!(!one[0].writable);
    let e = m
        .get_parameter_names("Device.DeviceInfo.SerialNumber", true)
        .unwrap_err();
    assert_eq!(e.code, 9003);

    assert_eq!(
        names(&m.get_parameter_names("", true).unwrap()),
        ["Device."]
    );
    let everything = m.get_parameter_names("", false).unwrap();
    assert!(everything.len() > 6000, "{}", everything.len());
    assert_eq!(
        m.get_parameter_names("Device.Nope.", false)
            .unwrap_err()
            .code,
        9005
    );
    assert_eq!(
        m.get_parameter_names("Device.ManagementServer", false)
            .unwrap_err()
            .code,
        9005
    );
}

#[test]
fn gpv_reads_partial_paths_hides_secrets_and_substitutes_identity() {
    let (a, b) = (cpe(1), cpe(2));
    let names = vec![
        "Device.ManagementServer.".to_owned(),
        "Device.DeviceInfo.SerialNumber".into(),
    ];
    let v = a.get_parameter_values(&names).unwrap();
    let get = |n: &str| v.iter().find(|p| p.name == n).map(|p| p.value.as_str());
    assert_eq!(
        get("Device.ManagementServer.ConnectionRequestURL"),
        Some("http://127.0.0.1:1/cr/1")
    );
    assert_eq!(
        get("Device.ManagementServer.ConnectionRequestPassword"),
        Some("")
    );
    assert_eq!(get("Device.ManagementServer.Username"), Some("admin"));
    assert_eq!(get("Device.DeviceInfo.SerialNumber"), Some("SER1"));
    let pii = v
        .iter()
        .find(|p| p.name.ends_with("PeriodicInformInterval"))
        .unwrap();
    assert_eq!(pii.xsd_type, XsdType::UnsignedInt);
    // Unmasked reads still see the secret.
    assert_eq!(
        a.get("Device.ManagementServer.ConnectionRequestPassword")
            .as_deref(),
        Some("landufrj123")
    );
    // Every CPE has its own MACs, with the device's OUI.
    let mac = "Device.Ethernet.Interface.1.MACAddress";
    let (ma, mb) = (a.get(mac).unwrap(), b.get(mac).unwrap());
    assert_ne!(ma, mb);
    assert!(
        ma.starts_with("1C:61:B4:") && mb.starts_with("1C:61:B4:"),
        "{ma} {mb}"
    );
    assert_ne!(a.get("Device.Ethernet.Link.2.MACAddress"), Some(ma));
    // Stations seen by the router are not the router's own MACs and stay as they are.
    let sta = "Device.WiFi.AccessPoint.3.AssociatedDevice.1.MACAddress";
    assert_eq!(a.get(sta), b.get(sta));
    for bad in ["Device.Nope", "Device.WiFi", "Device.WiFi.Nope."] {
        assert_eq!(
            a.get_parameter_values(&[bad.to_owned()]).unwrap_err().code,
            9005,
            "{bad}"
        );
    }
}

#[test]
fn spv_is_all_or_nothing_with_per_parameter_faults() {
    let mut m = cpe(1);
    let pii = "Device.ManagementServer.PeriodicInformInterval";
    let bad = [
        pv(pii, "120"),
        pv("Device.Nope.X", "1"),
        pv("Device.ManagementServer.PeriodicInformEnable", "maybe"),
        pv("Device.DeviceInfo.SerialNumber", "X"),
        pv("Device.WiFi", "x"),
        pv("Device.ManagementServer.PeriodicInformTime", "noon"),
        pv("Device.ManagementServer.STUNMaximumKeepAlivePeriod", "-5x"),
    ];
    let f = m.set_parameter_values(&bad, "k1").unwrap_err();
    assert_eq!(f.code, 9003);
    let codes: Vec<(&str, u32)> = f
        .set_parameter_values_faults
        .iter()
        .map(|x| (x.name.as_str(), x.code))
        .collect();
    assert_eq!(
        codes,
        [
            ("Device.Nope.X", 9005),
            ("Device.ManagementServer.PeriodicInformEnable", 9007),
            ("Device.DeviceInfo.SerialNumber", 9008),
            ("Device.WiFi", 9008),
            ("Device.ManagementServer.PeriodicInformTime", 9007),
            ("Device.ManagementServer.STUNMaximumKeepAlivePeriod", 9007),
        ]
    );
    assert_eq!(m.get(pii).as_deref(), Some("60"), "nothing applied");
    assert_eq!(
        m.get("Device.ManagementServer.ParameterKey").as_deref(),
        Some("")
    );

    let good = [
        pv(pii, "120"),
        pv(
            "Device.ManagementServer.PeriodicInformTime",
            "2024-01-01T00:00:00Z",
        ),
        pv("Device.ManagementServer.STUNMaximumKeepAlivePeriod", "-5"),
    ];
    assert_eq!(m.set_parameter_values(&good, "k2"), Ok(0));
    assert_eq!(m.get(pii).as_deref(), Some("120"));
    assert_eq!(
        m.get("Device.ManagementServer.ParameterKey").as_deref(),
        Some("k2")
    );
    assert_eq!(
        m.set_parameter_values(&[pv(pii, "4294967296")], "k3")
            .unwrap_err()
            .code,
        9003
    );
    assert_eq!(
        m.get("Device.ManagementServer.ParameterKey").as_deref(),
        Some("k2")
    );
    // Another CPE over the same base is untouched.
    assert_eq!(cpe(2).get(pii).as_deref(), Some("60"));
    m.factory_reset();
    assert_eq!(m.get(pii).as_deref(), Some("60"));
}

#[test]
fn add_and_delete_object_manage_instances_and_parameter_key() {
    let mut m = cpe(1);
    let n = m.add_object("Device.Bridging.Bridge.", "add1").unwrap();
    assert_eq!(n, 2, "the XX230v has Bridge.1");
    let inst = format!("Device.Bridging.Bridge.{n}.");
    let names = m.get_parameter_names(&inst, false).unwrap();
    let names = names.iter().map(|p| p.name.clone()).collect::<Vec<_>>();
    assert!(names.contains(&format!("{inst}Enable")), "{names:?}");
    assert!(names.contains(&format!("{inst}Port.")), "nested table kept");
    assert!(
        !names
            .iter()
            .any(|p| p.starts_with(&format!("{inst}Port.1"))),
        "but empty"
    );
    assert_eq!(m.get(&format!("{inst}Enable")).as_deref(), Some("false"));
    assert_eq!(
        m.get("Device.ManagementServer.ParameterKey").as_deref(),
        Some("add1")
    );
    // The new instance is writable like any other.
    let set = [pv(&format!("{inst}Alias"), "mine")];
    assert_eq!(m.set_parameter_values(&set, "s"), Ok(0));
    assert_eq!(m.add_object("Device.Bridging.Bridge.", "").unwrap(), 3);

    m.delete_object(&inst, "del1").unwrap();
    assert_eq!(m.get_parameter_names(&inst, false).unwrap_err().code, 9005);
    assert_eq!(
        m.get("Device.ManagementServer.ParameterKey").as_deref(),
        Some("del1")
    );
    m.delete_object("Device.Bridging.Bridge.1.", "del2")
        .unwrap();
    assert!(m.get("Device.Bridging.Bridge.1.Enable").is_none());
    assert!(
        m.get_parameter_names("Device.Bridging.Bridge.", true)
            .unwrap()
            .len()
            == 1
    );
    // Numbers are never reused.
    assert_eq!(m.add_object("Device.Bridging.Bridge.", "").unwrap(), 4);

    for bad in [
        "Device.DeviceInfo.",
        "Device.Nope.",
        "Device.Bridging.Bridge",
    ] {
        assert_eq!(m.add_object(bad, "x").unwrap_err().code, 9005, "{bad}");
    }
    for bad in [
        "Device.Bridging.Bridge.9.",
        "Device.DeviceInfo.",
        "Device.Bridging.Bridge.4",
    ] {
        assert_eq!(m.delete_object(bad, "x").unwrap_err().code, 9005, "{bad}");
    }
    assert_eq!(
        m.get("Device.ManagementServer.ParameterKey").as_deref(),
        Some("")
    );
}

#[test]
fn attributes_are_stored_per_cpe() {
    let mut m = cpe(1);
    let sw = "Device.DeviceInfo.SoftwareVersion";
    let a = m.get_parameter_attributes(&[sw.to_owned()]).unwrap();
    assert_eq!((a[0].notification, a[0].access_list.len()), (0, 0));
    let set = SetParameterAttribute {
        name: "Device.DeviceInfo.".into(),
        notification_change: true,
        notification: 2,
        access_list_change: true,
        access_list: vec!["Subscriber".into()],
    };
    m.set_parameter_attributes(&[set]).unwrap();
    let a = m.get_parameter_attributes(&[sw.to_owned()]).unwrap();
    assert_eq!(
        (a[0].notification, a[0].access_list.clone()),
        (2, vec!["Subscriber".to_owned()])
    );
    assert_eq!(
        cpe(2).get_parameter_attributes(&[sw.to_owned()]).unwrap()[0].notification,
        0
    );
    let bad = SetParameterAttribute {
        name: "Device.Nope".into(),
        ..Default::default()
    };
    assert_eq!(m.set_parameter_attributes(&[bad]).unwrap_err().code, 9005);
}

#[test]
fn a_small_csv_model_loads() {
    let csv = "Parameter,Object,Object timestamp,Writable,Writable timestamp,Value,Value type\n\
        InternetGatewayDevice,true,,false,,,\n\
        InternetGatewayDevice.DeviceInfo,true,,false,,,\n\
        InternetGatewayDevice.DeviceInfo.SerialNumber,false,,false,,\"X1\",xsd:string\n\
        InternetGatewayDevice.ManagementServer,true,,false,,,\n\
        InternetGatewayDevice.ManagementServer.ParameterKey,false,,false,,\"\",xsd:string\n";
    let base = Arc::new(BaseModel::from_csv(csv).unwrap());
    assert_eq!(base.root(), "InternetGatewayDevice");
    let mut m = CpeModel::new(
        base,
        Identity {
            serial: "S9".into(),
            ..Identity::default()
        },
    );
    assert_eq!(
        m.get("InternetGatewayDevice.DeviceInfo.SerialNumber")
            .as_deref(),
        Some("S9")
    );
    assert_eq!(m.set_parameter_values(&[], "kk"), Ok(0));
    assert_eq!(
        m.get("InternetGatewayDevice.ManagementServer.ParameterKey")
            .as_deref(),
        Some("kk")
    );
}
