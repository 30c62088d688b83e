//! End to end: presets with GenieACS's semantics against cpe-sim — expression preconditions
//! that read parameters first, schedules, alias-filtered objects, attributes, actions, and
//! recovery from a CPE that lacks a parameter the tree claims.

use crate::e2e::{fleet, id, put_preset};
use crate::harness::{self, SECRET};
use acs::store::{Op, Param, Value};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expression_precondition_reads_its_parameters_before_it_is_evaluated() {
    // A quiet ACS does not discover the tree at registration: the precondition's parameter is
    // unknown when the preset is first evaluated.
    let t = harness::start(harness::quiet(std::path::Path::new("."))).await;
    let f = fleet(t.url(), 1, SECRET).await;
    f.inform(0, &[]).await.expect("registration");
    let model = f
        .param(0, "Device.DeviceInfo.ModelName")
        .expect("model name");
    let ssid = "Device.WiFi.SSID.1.SSID";
    put_preset(
        &t,
        "by-model",
        json!({"channel": "model", "precondition": format!("Device.DeviceInfo.ModelName = '{model}' AND Tags.vip IS NULL"),
               "configurations": [{"type": "value", "name": ssid, "value": "ByModel"}]}),
    )
    .await;
    put_preset(
        &t,
        "other-model",
        json!({"channel": "other", "precondition": "Device.DeviceInfo.ModelName = 'nope'",
               "configurations": [{"type": "value", "name": ssid, "value": "Wrong"}]}),
    )
    .await;
    let s = f.inform(0, &["2 PERIODIC"]).await.expect("session");
    assert_eq!(
        s.acs_requests.first().map(String::as_str),
        Some("GetParameterNames"),
        "the precondition's parameter is discovered and read first: {:?}",
        s.acs_requests
    );
    assert_eq!(f.param(0, ssid).as_deref(), Some("ByModel"));
    assert!(
        t.acs
            .store()
            .faults(Some(&id(&f, 0)))
            .await
            .unwrap()
            .is_empty()
    );
    f.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedules_gate_presets_and_attributes_are_declared_through_the_builtin() {
    let t = harness::start(harness::config(std::path::Path::new("."))).await;
    let f = fleet(t.url(), 1, SECRET).await;
    f.inform(0, &[]).await.expect("registration");
    let path = "Device.DeviceInfo.UpTime";
    // Active for a year from a fire at midnight every January 1st: active now whatever today is.
    put_preset(
        &t,
        "notify",
        json!({"channel": "attrs", "schedule": "31700000 0 0 0 1 1 *",
               "configurations": [{"type": "provision", "name": "value", "args": [path, "notification", 1]}]}),
    )
    .await;
    // A schedule that fired at most a second ago on February 30th never does.
    put_preset(
        &t,
        "never",
        json!({"channel": "never", "schedule": "1 0 0 0 30 2 *",
               "configurations": [{"type": "provision", "name": "reboot"}]}),
    )
    .await;
    let s = f.inform(0, &["2 PERIODIC"]).await.expect("session");
    assert_eq!(
        s.acs_requests,
        ["GetParameterAttributes", "SetParameterAttributes"],
        "read, then write only what differs; the unscheduled reboot is not sent"
    );
    assert_eq!(f.notification(0, path), Some(1));
    let dev = id(&f, 0);
    let tree = t.acs.store().get_tree(&dev).await.unwrap();
    let attrs = tree
        .get(path)
        .unwrap()
        .attributes
        .clone()
        .expect("attributes kept");
    assert_eq!(attrs.notification, 1);
    let again = f.inform(0, &["2 PERIODIC"]).await.expect("session");
    assert!(again.acs_requests.is_empty(), "{:?}", again.acs_requests);
    f.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_legacy_object_is_created_once_with_its_keys_then_deleted() {
    let t = harness::start(harness::config(std::path::Path::new("."))).await;
    let f = fleet(t.url(), 1, SECRET).await;
    f.inform(0, &[]).await.expect("registration");
    t.acs
        .write(vec![Op::PutDoc {
            collection: "objects".into(),
            name: "quad9".into(),
            body: json!({"_id": "quad9", "_keys": ["DNSServer"], "DNSServer": "9.9.9.9", "Enable": true})
                .to_string()
                .into_bytes(),
        }])
        .await
        .unwrap();
    let table = "Device.DNS.Relay.Forwarding";
    put_preset(
        &t,
        "dns",
        json!({"channel": "dns", "configurations": [{"type": "add_object", "name": table, "object": "quad9"}]}),
    )
    .await;
    let s = f.inform(0, &["2 PERIODIC"]).await.expect("session");
    assert!(
        s.acs_requests.contains(&"AddObject".to_owned()),
        "{:?}",
        s.acs_requests
    );
    let dev = id(&f, 0);
    assert!(t.acs.store().faults(Some(&dev)).await.unwrap().is_empty());
    let tree = t.acs.store().get_tree(&dev).await.unwrap();
    let added = acs::provision::expand(&tree, &format!("{table}.[DNSServer:9.9.9.9]"));
    assert_eq!(added.len(), 1, "one instance holds the key");
    let instance = &added[0];
    assert_eq!(
        f.param(0, &format!("{instance}.DNSServer")).as_deref(),
        Some("9.9.9.9")
    );
    assert_eq!(
        f.param(0, &format!("{instance}.Enable")).as_deref(),
        Some("true")
    );
    let again = f.inform(0, &["2 PERIODIC"]).await.expect("session");
    assert!(
        again.acs_requests.is_empty(),
        "converged: {:?}",
        again.acs_requests
    );
    put_preset(
        &t,
        "dns",
        json!({"channel": "dns", "configurations": [{"type": "delete_object", "name": table, "object": "quad9"}]}),
    )
    .await;
    let gone = f.inform(0, &["2 PERIODIC"]).await.expect("session");
    assert_eq!(gone.acs_requests, ["DeleteObject"]);
    assert_eq!(f.param(0, &format!("{instance}.DNSServer")), None);
    f.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reboot_preset_reboots_once_and_a_missing_parameter_is_dropped_without_a_fault() {
    let t = harness::start(harness::config(std::path::Path::new("."))).await;
    let f = fleet(t.url(), 1, SECRET).await;
    f.inform(0, &[]).await.expect("registration");
    let dev = id(&f, 0);
    // The tree claims a parameter the CPE does not have.
    let ghost = "Device.DeviceInfo.X_Ghost";
    t.acs
        .write(vec![Op::UpdateTree {
            id: dev.clone(),
            set: vec![(
                ghost.into(),
                Param::leaf(Some(Value::String("old".into())), Some(false), 1),
            )],
            remove_subtrees: Vec::new(),
        }])
        .await
        .unwrap();
    put_preset(
        &t,
        "boot",
        json!({"channel": "boot", "events": {"1 BOOT": true}, "configurations": [
            {"type": "age", "name": ghost, "age": 60},
            {"type": "age", "name": "Device.DeviceInfo.UpTime", "age": 0},
            {"type": "provision", "name": "reboot"}]}),
    )
    .await;
    let s = f.inform(0, &["1 BOOT"]).await.expect("session");
    assert_eq!(
        s.acs_requests,
        [
            "GetParameterValues",
            "GetParameterValues",
            "GetParameterValues",
            "Reboot"
        ],
        "9005 splits the read, drops the ghost, then the reboot goes last"
    );
    assert_eq!(s.faults, [9005, 9005]);
    let tree = t.acs.store().get_tree(&dev).await.unwrap();
    assert!(tree.get(ghost).is_none());
    assert!(tree.get("Reboot").is_some(), "the reboot is recorded");
    assert!(t.acs.store().faults(Some(&dev)).await.unwrap().is_empty());
    f.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cpe_fault_is_recorded_on_the_channel_that_declared_what_failed() {
    let t = harness::start(harness::config(std::path::Path::new("."))).await;
    let f = fleet(t.url(), 1, SECRET).await;
    f.inform(0, &[]).await.expect("registration");
    let ssid = "Device.WiFi.SSID.1.SSID";
    put_preset(
        &t,
        "good",
        json!({"weight": 0, "channel": "good", "configurations": [{"type": "value", "name": ssid, "value": "Fine"}]}),
    )
    .await;
    // Not an unsignedInt: the CPE refuses it (9003 with a 9007 for the parameter).
    put_preset(
        &t,
        "bad",
        json!({"weight": 1, "channel": "bad", "configurations": [
            {"type": "value", "name": "Device.ManagementServer.PeriodicInformInterval", "value": ["often", "xsd:unsignedInt"]}]}),
    )
    .await;
    let s = f.inform(0, &["2 PERIODIC"]).await.expect("session");
    assert_eq!(
        s.acs_requests,
        [
            "SetParameterValues",
            "SetParameterValues",
            "SetParameterValues"
        ],
        "one write per channel, then the faulted channel's again alone (GenieACS's retryNow)"
    );
    assert_eq!(f.param(0, ssid).as_deref(), Some("Fine"));
    let faults = t.acs.store().faults(Some(&id(&f, 0))).await.unwrap();
    let channels: Vec<&str> = faults.iter().map(|x| x.channel.as_str()).collect();
    assert_eq!(channels, ["bad"], "{faults:?}");
    assert_eq!(
        (faults[0].code.as_str(), faults[0].retries),
        ("cwmp.9003", 1)
    );
    assert!(
        faults[0].detail.contains("PeriodicInformInterval: 9007"),
        "{:?}",
        faults[0]
    );
    f.shutdown().await;
}
