//! Sans-IO tests: the engine driven with virtual time, desired state over real and synthetic
//! data models, and the Frappe parser under arbitrary input with its limits.

use acs::Secret;
use acs::store::{Param, ParamTree, Value};
use proptest::prelude::*;
use provisioner::desired;
use provisioner::engine::{Action, Cause, Engine, EngineConfig, Facts};
use provisioner::erp::wire::{self, Limits, Row};
use provisioner::matching::{Directory, Quarantine};
use provisioner::model::{Equipment, EquipmentName, Mac, Serial, Sip, Wifi};
use provisioner::state::Phase;

fn tree(rows: &[(&str, Option<&str>)]) -> ParamTree {
    let mut t = ParamTree::new();
    for (path, value) in rows {
        t.insert(
            *path,
            Param {
                object: value.is_none(),
                writable: Some(true),
                value: value.map(|v| Value::String(v.to_owned())),
                timestamp_ms: 1,
                attributes: None,
            },
        );
    }
    t
}

fn xx230v_tree() -> ParamTree {
    let model = fibreplane_schemas::DataModel::xx230v();
    let rows: Vec<(&str, Option<&str>)> = model
        .params
        .iter()
        .map(|p| (p.path.as_str(), (!p.object).then_some(p.value.as_str())))
        .collect();
    tree(&rows)
}

fn record(n: u32, serial: &str, mac: &str) -> Equipment {
    Equipment {
        name: EquipmentName::parse(&format!("EQP-{n:05}")).unwrap(),
        serial: Serial::normalize(serial),
        mac: Mac::normalize(mac),
        kind: None,
        status: "Installed".into(),
        location: format!("LOC-{n:05}"),
        customer: format!("CUST-{n:05}"),
        wifi: Some(Wifi {
            ssid: format!("Net-{n}"),
            passphrase: Secret::new(format!("wifi-secret-{n}")),
        }),
        sip: Some(Sip {
            username: format!("sip{n}"),
            password: Secret::new(format!("sip-secret-{n}")),
            registrar: "sip.lab.invalid".into(),
        }),
        modified: format!("2026-01-01 00:00:{n:02}.000000"),
    }
}

fn facts(serial: &str, mac: &str) -> Facts {
    Facts {
        serial: Serial::normalize(serial),
        macs: Mac::normalize(mac).into_iter().collect(),
        root: "Device".into(),
    }
}

#[test]
fn the_xx230v_gets_both_radios_and_tp_links_sip_line() {
    let d = desired::build("Device", &xx230v_tree(), &record(1, "S", "")).unwrap();
    assert_eq!(
        d.paths(),
        [
            "Device.WiFi.SSID.1.SSID",
            "Device.WiFi.AccessPoint.1.Security.KeyPassphrase",
            "Device.WiFi.SSID.3.SSID",
            "Device.WiFi.AccessPoint.3.Security.KeyPassphrase",
            "Device.X_TP_Services.VoiceService.1.VoiceProfile.1.Line.1.SIP.AuthUserName",
            "Device.X_TP_Services.VoiceService.1.VoiceProfile.1.Line.1.SIP.AuthPassword",
            "Device.X_TP_Services.VoiceService.1.VoiceProfile.1.SIP.RegistrarServer",
        ]
    );
    // Passwords are not read back; everything else is.
    assert_eq!(d.readable().len(), 4);
    let preset: serde_json::Value = serde_json::from_slice(&d.preset("dev-1", "prov-g1")).unwrap();
    assert_eq!(preset["precondition"]["_id"], "dev-1");
    assert_eq!(preset["configurations"].as_array().unwrap().len(), 7);
}

#[test]
fn tr104v2_and_tr098_models_get_their_own_paths() {
    let v2 = tree(&[
        ("Device.DeviceInfo", None),
        (
            "Device.Services.VoiceService.1.SIP.Client.1.AuthUserName",
            Some(""),
        ),
        (
            "Device.Services.VoiceService.1.SIP.Client.1.AuthPassword",
            Some(""),
        ),
        (
            "Device.Services.VoiceService.1.SIP.Client.1.Network",
            Some("Device.Services.VoiceService.1.SIP.Network.2."),
        ),
        (
            "Device.Services.VoiceService.1.SIP.Network.2.RegistrarServer",
            Some(""),
        ),
    ]);
    let mut r = record(2, "S", "");
    r.wifi = None;
    let d = desired::build("Device", &v2, &r).unwrap();
    assert_eq!(
        d.paths()[2],
        "Device.Services.VoiceService.1.SIP.Network.2.RegistrarServer"
    );
    let igd = "InternetGatewayDevice.LANDevice.1.WLANConfiguration";
    let tr098 = tree(&[
        ("InternetGatewayDevice.DeviceInfo", None),
        (&format!("{igd}.1.SSID"), Some("a")),
        (&format!("{igd}.1.OperatingFrequencyBand"), Some("2.4GHz")),
        (&format!("{igd}.1.PreSharedKey.1.KeyPassphrase"), Some("")),
        (&format!("{igd}.2.SSID"), Some("guest")),
        (&format!("{igd}.2.OperatingFrequencyBand"), Some("2.4GHz")),
        (&format!("{igd}.2.KeyPassphrase"), Some("")),
        (&format!("{igd}.5.SSID"), Some("b")),
        (&format!("{igd}.5.OperatingFrequencyBand"), Some("5GHz")),
        (&format!("{igd}.5.KeyPassphrase"), Some("")),
        (
            "InternetGatewayDevice.Services.VoiceService.1.VoiceProfile.1.Line.1.SIP.AuthUserName",
            Some(""),
        ),
        (
            "InternetGatewayDevice.Services.VoiceService.1.VoiceProfile.1.Line.1.SIP.AuthPassword",
            Some(""),
        ),
        (
            "InternetGatewayDevice.Services.VoiceService.1.VoiceProfile.1.SIP.RegistrarServer",
            Some(""),
        ),
    ]);
    let d = desired::build("InternetGatewayDevice", &tr098, &record(3, "S", "")).unwrap();
    assert_eq!(
        &d.paths()[..4],
        [
            format!("{igd}.1.SSID"),
            format!("{igd}.1.PreSharedKey.1.KeyPassphrase"),
            format!("{igd}.5.SSID"),
            format!("{igd}.5.KeyPassphrase"),
        ]
    );
    // No voice in the tree: the record's SIP account cannot be installed, and that is said.
    let no_voice = tree(&[("Device.DeviceInfo", None)]);
    let mut r = record(4, "S", "");
    r.wifi = None;
    assert!(matches!(
        desired::build("Device", &no_voice, &r),
        Err(Err(_))
    ));
    // An undiscovered tree asks for a refresh.
    assert!(matches!(
        desired::build("Device", &ParamTree::new(), &r),
        Err(Ok(_))
    ));
}

/// The engine from first sight to `provisioned`, in virtual time.
#[test]
fn the_engine_installs_confirms_and_queues_the_outcome() {
    let mut e = Engine::new(EngineConfig::default());
    let t = xx230v_tree();
    e.synced(vec![record(1, "FPSIM1", "aa:00:00:00:00:01")], None, 0);
    e.informed("dev-1", &["0 BOOTSTRAP".into(), "1 BOOT".into()]);
    assert!(e.wants_facts("dev-1", 10));
    let f = facts("fpsim1", "");
    let actions = e.session_ended("dev-1", Some((&f, &t)), 10);
    let [
        Action::Install {
            body,
            stale_channel: None,
            ..
        },
        Action::Kick { .. },
    ] = actions.as_slice()
    else {
        panic!("{actions:?}");
    };
    assert!(
        body.expose().contains("wifi-secret-1"),
        "the preset carries the value"
    );
    assert!(
        !format!("{actions:?}").contains("wifi-secret-1"),
        "but never prints it"
    );
    // A second decision on the same record does nothing: installs are idempotent.
    assert!(e.evaluate("dev-1", &f, &t, Cause::Session, 11).is_empty());
    let written: Vec<(String, u32)> = vec![("Device.WiFi.SSID.1.SSID".into(), 0)];
    // Convergence of another generation's channel is ignored.
    assert!(
        e.converged("dev-1", "prov-g9", &written, "prov-g9", 20)
            .is_empty()
    );
    let actions = e.converged("dev-1", "prov-g1", &written, "prov-g1", 20);
    let [
        Action::ReadBack {
            generation: 1,
            paths,
            ..
        },
    ] = actions.as_slice()
    else {
        panic!("{actions:?}");
    };
    assert_eq!(paths.len(), 4);
    let st = e.device("dev-1").unwrap().clone();
    let values = st.expect.clone();
    assert!(e.read_back("dev-1", 1, Ok(values), 30).is_empty());
    assert!(matches!(
        e.device("dev-1").unwrap().phase,
        Phase::Provisioned { at_ms: 30 }
    ));
    let due = e.due_writebacks(30);
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].status, "provisioned");
    let dirty = e.take_dirty();
    let stored = serde_json::to_string(&dirty.devices).unwrap();
    assert!(
        !stored.contains("wifi-secret-1") && !stored.contains("sip-secret-1"),
        "no secret in state"
    );
    // ERPNext away: the outcome stays queued, retried later; then written and gone.
    let err = Err(provisioner::ProvisionError::Unavailable("down".into()));
    e.written_back(&due[0], &err, 31);
    assert!(e.due_writebacks(31).is_empty() && e.due_writebacks(10_000).len() == 1);
    e.written_back(&due[0], &Ok(()), 10_000);
    assert_eq!(e.outbox_len(), 0);
}

#[test]
fn faults_fail_with_back_off_and_never_quote_secrets() {
    let mut e = Engine::new(EngineConfig::default());
    let t = xx230v_tree();
    e.synced(vec![record(1, "S1", "")], None, 0);
    e.informed("d", &["1 BOOT".into()]);
    e.session_ended("d", Some((&facts("S1", ""), &t)), 0);
    e.faulted(
        "d",
        "prov-g1",
        "cwmp.9007",
        "invalid value wifi-secret-1",
        100,
    );
    let st = e.device("d").unwrap();
    let Phase::Failed {
        reason,
        retry_at_ms,
    } = &st.phase
    else {
        panic!("{:?}", st.phase);
    };
    assert!(reason.contains("***") && !reason.contains("wifi-secret-1"));
    assert_eq!(*retry_at_ms, 100 + EngineConfig::default().retry_base_ms);
    assert!(e.due(100).is_empty());
    assert_eq!(e.due(*retry_at_ms), vec!["d".to_owned()]);
    assert!(
        e.due_writebacks(100)[0]
            .status
            .starts_with("failed: CPE fault cwmp.9007")
    );
    // The retry installs a new generation on a fresh channel.
    let actions = e.evaluate("d", &facts("S1", ""), &t, Cause::Timer, 200_000);
    assert!(
        matches!(&actions[0], Action::Install { stale_channel: Some(c), .. } if c == "prov-g1")
    );
}

#[test]
fn a_record_is_never_given_to_two_devices_and_unknowns_wait_for_erpnext() {
    let mut e = Engine::new(EngineConfig::default());
    let t = xx230v_tree();
    // Before any poll: an unknown device waits and asks for one.
    let actions = e.evaluate("x", &facts("NOPE", ""), &t, Cause::Session, 0);
    assert_eq!(actions, vec![Action::SyncNow]);
    e.synced(vec![record(1, "S1", "aa:00:00:00:00:01")], None, 1);
    let actions = e.evaluate("x", &facts("NOPE", ""), &t, Cause::Sync, 2);
    assert!(actions.is_empty());
    assert!(matches!(
        &e.device("x").unwrap().phase,
        Phase::Quarantined {
            reason: Quarantine::Unknown
        }
    ));
    e.evaluate("a", &facts("S1", ""), &t, Cause::Session, 3);
    // Another device with the same MAC (a cloned or mistyped label) does not get the record.
    e.evaluate(
        "b",
        &facts("OTHER", "AA-00-00-00-00-01"),
        &t,
        Cause::Session,
        4,
    );
    assert!(matches!(
        &e.device("b").unwrap().phase,
        Phase::Quarantined { reason: Quarantine::Claimed { holder, .. } } if holder == "a"
    ));
    assert_eq!(e.quarantined().len(), 2);
}

fn arb_row() -> impl Strategy<Value = Row> {
    let text = "[ -~]{0,40}";
    (1u32..99_999, text, text, text, text).prop_map(|(n, serial, mac, ssid, pw)| {
        Row(vec![
            ("name".into(), format!("EQP-{n:05}")),
            ("serial_no".into(), serial),
            ("mac_address".into(), mac),
            ("custom_wifi_ssid".into(), ssid),
            ("custom_wifi_password".into(), pw),
        ])
    })
}

proptest! {
    #[test]
    fn the_frappe_parser_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = wire::parse_list(&bytes, &Limits::default());
        let _ = wire::parse_doc(&bytes, &Limits::default());
        let _ = wire::parse_error(&bytes);
    }

    #[test]
    fn listings_round_trip_and_records_parse_or_say_why(rows in proptest::collection::vec(arb_row(), 0..20)) {
        let body = serde_json::json!({"data": rows.iter().map(Row::to_json).collect::<Vec<_>>()}).to_string();
        let parsed = wire::parse_list(body.as_bytes(), &Limits::default()).unwrap();
        let sorted = |r: &[Row]| -> Vec<Vec<(String, String)>> {
            r.iter().map(|r| { let mut f = r.0.clone(); f.sort(); f }).collect()
        };
        prop_assert_eq!(sorted(&parsed), sorted(&rows));
        for row in &parsed {
            if let Ok(e) = Equipment::from_row(row) {
                // A parsed record survives its own serialisation unchanged.
                prop_assert_eq!(Equipment::from_row(&e.to_row()).unwrap(), e);
            }
        }
    }
}

#[test]
fn the_parser_enforces_its_limits() {
    let small = Limits {
        max_body: 100,
        max_rows: 2,
        max_field: 8,
    };
    let big = format!(r#"{{"data":[{{"name":"{}"}}]}}"#, "x".repeat(200));
    assert!(
        wire::parse_list(big.as_bytes(), &small).is_err(),
        "body limit"
    );
    let rows = r#"{"data":[{},{},{}]}"#;
    assert!(
        wire::parse_list(rows.as_bytes(), &small).is_err(),
        "row limit"
    );
    let long = r#"{"data":[{"name":"EQP-000001"}]}"#;
    assert!(
        wire::parse_list(long.as_bytes(), &small).is_err(),
        "field limit"
    );
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    assert!(
        wire::parse_list(deep.as_bytes(), &Limits::default()).is_err(),
        "depth limit"
    );
    assert!(
        wire::parse_list(
            br#"{"data":[{"name":"EQP-00001","idx":3,"x":null,"t":[1]}]}"#,
            &Limits::default()
        )
        .is_ok()
    );
}

#[test]
fn matching_is_by_serial_then_mac_and_never_a_guess() {
    let mut d = Directory::default();
    d.upsert(record(1, "S1", "aa:00:00:00:00:01"));
    d.upsert(record(2, "S2", "aa:00:00:00:00:02"));
    d.upsert(record(3, "", "aa:00:00:00:00:03"));
    d.upsert(record(4, "", "aa:00:00:00:00:03"));
    let mac = |s: &str| Mac::normalize(s).unwrap();
    let s = |x: &str| Serial::normalize(x);
    assert!(
        d.match_device(s("s1").as_ref(), &[])
            .is_ok_and(|m| m.by_serial)
    );
    assert!(
        d.match_device(s("X").as_ref(), &[mac("AA-00-00-00-00-02")])
            .is_ok_and(|m| !m.by_serial)
    );
    assert_eq!(
        d.match_device(s("X").as_ref(), &[]),
        Err(Quarantine::Unknown)
    );
    assert!(matches!(
        d.match_device(None, &[mac("aa0000000003")]),
        Err(Quarantine::Ambiguous { .. })
    ));
    assert!(matches!(
        d.match_device(s("S1").as_ref(), &[mac("aa:00:00:00:00:02")]),
        Err(Quarantine::Conflict { .. })
    ));
    // A returned record no longer matches.
    let mut r = record(1, "S1", "aa:00:00:00:00:01");
    r.status = "Returned".into();
    d.upsert(r);
    assert_eq!(
        d.match_device(s("S1").as_ref(), &[]),
        Err(Quarantine::Unknown)
    );
    assert_eq!(d.len(), 4);
}

/// Writes that did not leave this generation's ParameterKey on the CPE are not confirmed.
#[test]
fn a_convergence_without_the_generations_parameter_key_is_not_confirmed() {
    let mut e = Engine::new(EngineConfig::default());
    let t = xx230v_tree();
    e.synced(vec![record(1, "FPSIM1", "aa:00:00:00:00:01")], None, 0);
    e.informed("dev-1", &["0 BOOTSTRAP".into()]);
    let f = facts("fpsim1", "");
    assert!(!e.session_ended("dev-1", Some((&f, &t)), 10).is_empty());
    let written: Vec<(String, u32)> = vec![("Device.WiFi.SSID.1.SSID".into(), 0)];
    let actions = e.converged("dev-1", "prov-g1", &written, "someone-else", 20);
    assert!(
        !actions.iter().any(|a| matches!(a, Action::ReadBack { .. })),
        "{actions:?}"
    );
    let st = e.device("dev-1").unwrap();
    assert!(
        !matches!(
            st.phase,
            Phase::Confirming { .. } | Phase::Provisioned { .. }
        ),
        "{:?}",
        st.phase
    );
    assert!(
        st.audit.iter().any(|a| a.outcome.contains("ParameterKey")),
        "{:?}",
        st.audit
    );
}
