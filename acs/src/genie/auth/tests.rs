use super::*;
use acs_store::{DeviceId, Identity, Param};
use std::sync::LazyLock;

/// A known device tagged `vip` and `a b`, registered at 100 and booted at 500.
static META: LazyLock<DeviceMeta> = LazyLock::new(|| {
    let id = DeviceId::parse("1C61B4-Device2-X1").unwrap();
    let mut m = DeviceMeta::new(
        id,
        Identity {
            manufacturer: "TP-Link".into(),
            oui: "1C61B4".into(),
            product_class: "Device2".into(),
            serial_number: "X1".into(),
        },
    );
    m.tags.insert("vip".into());
    m.tags.insert("a b".into());
    m.registered_ms = 100;
    m.last_boot_ms = Some(500);
    m
});

fn tree() -> ParamTree {
    let mut t = ParamTree::default();
    t.insert(
        "Device.ManagementServer.Username",
        Param::leaf(Some(Value::String("genie-user".into())), Some(true), 0),
    );
    t.insert(
        "Device.ManagementServer.Password",
        Param::leaf(Some(Value::String("genie-pass".into())), Some(true), 0),
    );
    t.insert(
        "Device.DeviceInfo.SoftwareVersion",
        Param::leaf(Some(Value::String("1.2.3".into())), Some(false), 0),
    );
    t.insert(
        "Device.DeviceInfo.UpTime",
        Param::leaf(Some(Value::UnsignedInt(77)), Some(false), 0),
    );
    t
}

/// A device as `cwmp.auth` sees it, with or without its stored tree.
fn device<'a>(tree: Option<&'a ParamTree>, meta: &'a DeviceMeta) -> Device<'a> {
    Device {
        id: "1C61B4-Device2-X1",
        manufacturer: "TP-Link",
        oui: "1C61B4",
        product_class: "Device2",
        serial_number: "X1",
        meta: Some(meta),
        events: &[],
        tree,
        remote_address: Some("127.0.0.1".into()),
        cr_credentials: None,
        now_ms: 1_000,
    }
}

/// The check of a request that presented `user`/`pass`.
fn presented<'a>(user: &'a str, pass: &'a str) -> impl Fn(&str, &str) -> bool + 'a {
    move |u: &str, p: &str| u == user && p == pass
}

fn judge_src(src: &str, user: &str, pass: &str) -> Verdict {
    let t = tree();
    let d = device(Some(&t), &META);
    judge(&parse(src).unwrap(), &d, &presented(user, pass))
}

#[test]
fn auth_with_fixed_credentials_and_with_device_parameters() {
    let fixed = r#"AUTH("fixed-username", "fixed-password")"#;
    assert!(judge_src(fixed, "fixed-username", "fixed-password").accepted);
    let wrong = judge_src(fixed, "fixed-username", "nope");
    assert!(!wrong.accepted);
    assert!(wrong.reason.contains("match no AUTH()"), "{wrong:?}");
    let params = "AUTH(Device.ManagementServer.Username, Device.ManagementServer.Password)";
    assert!(judge_src(params, "genie-user", "genie-pass").accepted);
    assert!(!judge_src(params, "genie-user", "fixed-password").accepted);
    // The aliases and DeviceID.* come from the Inform.
    let by_serial = "AUTH(serialNumber, 'pw-' || LOWER(DeviceID.OUI))";
    assert!(judge_src(by_serial, "X1", "pw-1c61b4").accepted);
}

#[test]
fn booleans_conditions_and_alternatives_decide_as_genieacs() {
    assert!(judge_src("true", "", "").accepted);
    assert!(!judge_src("false", "", "").accepted);
    let src = "DeviceID.ProductClass = 'Other' OR AUTH('a', 'b')";
    assert!(!judge_src(src, "x", "y").accepted);
    assert!(judge_src(src, "a", "b").accepted);
    let src = "CASE WHEN Tags.vip IS NOT NULL THEN AUTH('vip', 'v') ELSE AUTH('a', 'b') END";
    assert!(judge_src(src, "vip", "v").accepted);
    assert!(!judge_src(src, "a", "b").accepted);
    // A tag whose name GenieACS encodes in paths.
    assert!(judge_src("Tags.a0x20b = TRUE", "", "").accepted);
    assert!(
        judge_src(
            "REMOTE_ADDRESS() = '127.0.0.1' AND AUTH('a', 'b')",
            "a",
            "b"
        )
        .accepted
    );
    assert!(judge_src("Device.DeviceInfo.UpTime > 70 AND AUTH('a', 'b')", "a", "b").accepted);
    assert!(
        judge_src(
            "Device.DeviceInfo.SoftwareVersion LIKE '1.2.%' AND AUTH('a','b')",
            "a",
            "b"
        )
        .accepted
    );
}

#[test]
fn events_are_now_for_the_informs_own_and_stored_otherwise() {
    let events = [cwmp::EventStruct {
        code: "2 PERIODIC".into(),
        command_key: String::new(),
    }];
    let mut d = device(None, &META);
    d.events = &events;
    let at = |path: &str| d.lookup(path);
    assert_eq!(at("Events.2_PERIODIC"), Some(Val::Num(1_000.0)));
    assert_eq!(at("Events.Inform"), Some(Val::Num(1_000.0)));
    assert_eq!(at("Events.1_BOOT"), Some(Val::Num(500.0)));
    assert_eq!(at("Events.Registered"), Some(Val::Num(100.0)));
    assert_eq!(at("Events.0_BOOTSTRAP"), None);
    let e = parse("Events.1_BOOT > NOW() - 1000 AND AUTH('a', 'b')").unwrap();
    assert!(!reads_tree(&e));
    assert!(judge(&e, &d, &presented("a", "b")).accepted);
}

#[test]
fn missing_parameters_refuse_with_the_reason() {
    let v = judge_src("AUTH(Device.X.User, 'p')", "", "p");
    assert!(!v.accepted);
    assert!(v.reason.contains("no value for Device.X.User"), "{v:?}");
    assert!(v.reason.contains("no string username"), "{v:?}");
    let v = judge_src("Device.X.Flag = 1", "", "");
    assert!(!v.accepted);
    assert!(v.reason.contains("NULL"), "{v:?}");
}

#[test]
fn the_tree_is_read_only_for_stored_parameters() {
    let read = |src: &str| reads_tree(&parse(src).unwrap());
    assert!(!read("AUTH(DeviceID.SerialNumber, 'x')"));
    assert!(!read("AUTH(serialNumber, oui) AND Tags.vip"));
    assert!(!read("Events.1_BOOT IS NOT NULL AND AUTH(id, 'b')"));
    // A parameter the Inform carries is read stored: the request does not vouch for itself.
    assert!(read(
        "Device.DeviceInfo.SoftwareVersion = '1' AND AUTH('a', 'b')"
    ));
    assert!(read("AUTH(Device.ManagementServer.Username, 'x')"));
    // Without the tree, a stored parameter is missing.
    let d = device(None, &META);
    let e =
        parse("AUTH(Device.ManagementServer.Username, Device.ManagementServer.Password)").unwrap();
    assert!(!judge(&e, &d, &presented("genie-user", "genie-pass")).accepted);
}

#[test]
fn connection_request_credentials_in_the_order_to_try() {
    let t = tree();
    let mut d = device(Some(&t), &META);
    d.cr_credentials = Some(("cr-user", "cr-pass"));
    let pairs = |src: &str| cr_credentials(&parse(src).unwrap(), &d).0;
    assert_eq!(
        pairs("AUTH(username, password)"),
        [("cr-user".into(), "cr-pass".into())]
    );
    assert_eq!(
        pairs("AUTH(serialNumber, 'one') OR AUTH(username, password)"),
        [
            ("X1".to_owned(), "one".to_owned()),
            ("cr-user".to_owned(), "cr-pass".to_owned())
        ]
    );
    assert_eq!(
        pairs("CASE WHEN productClass = 'Device2' THEN AUTH('a', 'b') ELSE AUTH('c', 'd') END"),
        [("a".to_owned(), "b".to_owned())]
    );
    let (p, missing) = cr_credentials(&parse("AUTH(Device.Nope, 'x')").unwrap(), &d);
    assert_eq!(p, [(String::new(), "x".to_owned())]);
    assert_eq!(missing, ["Device.Nope"]);
    assert!(pairs("true").is_empty());
}

#[test]
fn settings_load_and_errors_hide_literals() {
    let doc = |v: serde_json::Value| serde_json::to_vec(&serde_json::json!({"value": v})).unwrap();
    assert!(matches!(
        AuthSetting::from_doc(&doc(serde_json::json!("AUTH('u', 'p')"))),
        AuthSetting::Ready(_)
    ));
    assert!(matches!(
        AuthSetting::from_doc(&doc(serde_json::json!(true))),
        AuthSetting::Ready(Expr::Lit(Val::Bool(true)))
    ));
    let broken = AuthSetting::from_doc(&doc(serde_json::json!(
        "AUTH(DeviceID.SerialNumber, EXT('authenticate', 'getPassword', 'secret-pw'))"
    )));
    let AuthSetting::Broken(why) = &broken else {
        panic!("{broken:?}")
    };
    assert!(why.contains("unknown function EXT"), "{why}");
    let trailing = AuthSetting::from_doc(&doc(serde_json::json!("AUTH('u', 'p') 'hunter2'")));
    let text = format!("{trailing:?}");
    assert!(!text.contains("hunter2"), "{text}");
    assert_eq!(
        format!(
            "{:?}",
            AuthSetting::from_doc(&doc(serde_json::json!("AUTH('u', 'pw')")))
        ),
        "Ready(***)"
    );
    assert!(matches!(
        AuthSetting::from_doc(b"{}"),
        AuthSetting::Broken(_)
    ));
    assert!(matches!(
        AuthSetting::from_doc(&doc(serde_json::json!("AUTH('only-one')"))),
        AuthSetting::Broken(_)
    ));
}

proptest::proptest! {
    #[test]
    fn any_expression_judges_without_panicking(src in ".{0,60}", user in ".{0,8}") {
        let t = tree();
        let d = device(Some(&t), &META);
        if let Ok(e) = parse(&src) {
            let v = judge(&e, &d, &presented(&user, "p"));
            proptest::prop_assert!(v.accepted || !v.reason.is_empty());
            let _ = cr_credentials(&e, &d);
        }
    }
}

/// The device a golden case describes: `DeviceID.*` and its aliases as the identity, `Tags.*`
/// and `Events.Inform` in the record, everything else in the stored tree.
fn golden_device(params: &serde_json::Map<String, serde_json::Value>) -> (DeviceMeta, ParamTree) {
    let text = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| params.get(*k).and_then(|v| v.as_str()))
            .unwrap_or_default()
            .to_owned()
    };
    let id = text(&["DeviceID.ID", "id"]);
    let mut meta = DeviceMeta::new(
        DeviceId::parse(if id.is_empty() {
            "1C61B4-Device2-X1"
        } else {
            &id
        })
        .unwrap(),
        Identity {
            manufacturer: text(&["DeviceID.Manufacturer"]),
            oui: text(&["DeviceID.OUI", "oui"]),
            product_class: text(&["DeviceID.ProductClass", "productClass"]),
            serial_number: text(&["DeviceID.SerialNumber", "serialNumber"]),
        },
    );
    let mut tree = ParamTree::default();
    for (path, v) in params {
        if let Some(tag) = path.strip_prefix("Tags.") {
            meta.tags.insert(tag.to_owned());
        } else if path == "Events.Inform" {
            meta.last_inform_ms = v.as_i64().unwrap();
        } else if !path.starts_with("DeviceID.")
            && !["id", "oui", "productClass"].contains(&path.as_str())
        {
            let value = match v {
                serde_json::Value::Bool(b) => Value::Boolean(*b),
                serde_json::Value::Number(n) => Value::Int(n.as_i64().unwrap()),
                other => Value::String(other.as_str().unwrap().to_owned()),
            };
            tree.insert(path.clone(), Param::leaf(Some(value), Some(false), 0));
        }
    }
    (meta, tree)
}

/// Every case of `testdata/genieacs-auth/goldens.json`, judged by GenieACS 1.2.16 itself
/// (`benches/genieacs/auth-goldens.sh`), gets the same answer here.
#[test]
fn judgements_match_genieacs() {
    let cases: Vec<serde_json::Value> =
        serde_json::from_str(include_str!("../../../testdata/genieacs-auth/goldens.json")).unwrap();
    assert!(cases.len() >= 30);
    for c in &cases {
        let src = c["expression"].as_str().unwrap();
        let (meta, tree) = golden_device(c["params"].as_object().unwrap());
        let mut d = device(Some(&tree), &meta);
        d.id = meta.id.as_str();
        d.oui = &meta.identity.oui;
        d.product_class = &meta.identity.product_class;
        d.serial_number = &meta.identity.serial_number;
        d.manufacturer = &meta.identity.manufacturer;
        let user = c["username"].as_str();
        let pass = c["password"].as_str().unwrap_or_default();
        let check = |u: &str, p: &str| user == Some(u) && p == pass;
        let ours = parse(src).is_ok_and(|e| judge(&e, &d, &check).accepted);
        assert_eq!(ours, c["accepted"].as_bool().unwrap(), "{c}");
    }
}
