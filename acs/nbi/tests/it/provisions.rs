//! End to end over loopback: GenieACS's `provisions` task and setParameterValues of virtual
//! parameters, posted with a connection request, run by the ACS in the cpe-sim CPE's session on
//! the task's channel, with their results and faults read back through the NBI.

use crate::e2e::{enc, registered_cpe};
use crate::harness::{self, call};
use serde_json::{Value, json};

/// Posts a task with a connection request; returns the reply.
async fn task(t: &harness::TestNbi, id: &str, body: &str) -> harness::Reply {
    call(
        t,
        "POST",
        &format!("/devices/{}/tasks?connection_request", enc(id)),
        Some(body),
    )
    .await
}

/// Stores a script document through the NBI (`provisions` or `virtual_parameters`).
async fn put_script(t: &harness::TestNbi, collection: &str, name: &str, script: &str) {
    let r = call(t, "PUT", &format!("/{collection}/{name}"), Some(script)).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// The device's document projected on `projection`.
async fn device(t: &harness::TestNbi, id: &str, projection: &str) -> Value {
    let q = enc(&format!(r#"{{"_id":"{id}"}}"#));
    call(
        t,
        "GET",
        &format!("/devices/?query={q}&projection={projection}"),
        None,
    )
    .await
    .list()
    .into_iter()
    .next()
    .unwrap_or(Value::Null)
}

/// The faults of the device as `(channel, code, message)`.
async fn faults(t: &harness::TestNbi) -> Vec<(String, String, String)> {
    call(t, "GET", "/faults/", None)
        .await
        .list()
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap_or_default().to_owned();
            (s("channel"), s("code"), s("message"))
        })
        .collect()
}

/// A virtual parameter that reads and writes the second SSID, as GenieACS's writable virtual
/// parameters are written: `args[1].value` holds what a declaration asks to set.
const SSID2: &str = r#"
let ssid = "";
if (args[1].value) {
  ssid = args[1].value[0];
  declare("Device.WiFi.SSID.2.SSID", null, {value: ssid});
} else {
  const d = declare("Device.WiFi.SSID.2.SSID", {value: Date.now()});
  if (d.size) ssid = d.value[0];
}
return {writable: true, value: [ssid, "xsd:string"]};
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provisions_task_runs_scripts_and_built_ins_on_its_channel() {
    let t = harness::start().await;
    let (fleet, id) = registered_cpe(&t).await;
    put_script(
        &t,
        "provisions",
        "wifi",
        r#"declare("Device.WiFi.SSID.1.SSID", {value: 1}, {value: args[0] + "-" + args[1]});"#,
    )
    .await;
    let r = task(
        &t,
        &id,
        r#"{"name":"provisions","provisions":[["wifi","Fibre",7],["tag","vip",true],["refresh","Device.DeviceInfo.UpTime"],["no_such_provision"]]}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["name"], json!("provisions"));
    assert_eq!(r.json()["provisions"][0], json!(["wifi", "Fibre", 7]));
    assert_eq!(
        fleet.param(0, "Device.WiFi.SSID.1.SSID").as_deref(),
        Some("Fibre-7")
    );
    let doc = device(&t, &id, "_tags,Device.WiFi.SSID.1.SSID").await;
    assert_eq!(doc["_tags"], json!(["vip"]));
    assert_eq!(
        doc["Device"]["WiFi"]["SSID"]["1"]["SSID"]["_value"],
        json!("Fibre-7")
    );
    // A name that is neither a script nor a built-in is skipped, as GenieACS skips it.
    assert!(faults(&t).await.is_empty());
    // The task is done: nothing is left queued.
    assert!(call(&t, "GET", "/tasks/", None).await.list().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provisions_task_that_faults_keeps_its_fault_on_the_task_channel() {
    let t = harness::start().await;
    let (_fleet, id) = registered_cpe(&t).await;
    for (body, why) in [
        (r#"{"name":"provisions"}"#, "array of [name, arg, …] arrays"),
        (
            r#"{"name":"provisions","provisions":[["value",{"a":1}]]}"#,
            "null, booleans, numbers or strings",
        ),
    ] {
        let r = task(&t, &id, body).await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert!(r.body.contains(why), "{body}: {}", r.body);
    }
    put_script(&t, "provisions", "broken", r#"throw new Error("boom");"#).await;
    let r = task(
        &t,
        &id,
        r#"{"name":"provisions","provisions":[["broken"]]}"#,
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let tid = r.json()["_id"].as_str().unwrap_or_default().to_owned();
    let channel = format!("task_{tid}");
    let got = faults(&t).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, channel);
    assert_eq!(got[0].1, "script.Error");
    assert!(got[0].2.contains("boom"), "{got:?}");
    // The task stays queued for its retry, as a task with a CPE fault does.
    let q = enc(&format!(r#"{{"_id":"{tid}"}}"#));
    let queued = call(&t, "GET", &format!("/tasks/?query={q}"), None)
        .await
        .list();
    assert_eq!(queued.len(), 1);
    // A built-in given arguments it cannot use is GenieACS's `script.Error` too.
    let r = task(
        &t,
        &id,
        r#"{"name":"provisions","provisions":[["instances"]]}"#,
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let tid = r.json()["_id"].as_str().unwrap_or_default().to_owned();
    assert!(
        faults(&t)
            .await
            .iter()
            .any(|(c, code, _)| *c == format!("task_{tid}") && code == "script.Error")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_parameter_values_of_a_virtual_parameter_runs_its_script_with_the_value() {
    let t = harness::start().await;
    let (fleet, id) = registered_cpe(&t).await;
    put_script(&t, "virtual_parameters", "ssid2", SSID2).await;
    // Alone, then mixed with a real parameter in one task.
    let r = task(
        &t,
        &id,
        r#"{"name":"setParameterValues","parameterValues":[["VirtualParameters.ssid2","Guest"]]}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        fleet.param(0, "Device.WiFi.SSID.2.SSID").as_deref(),
        Some("Guest")
    );
    let r = task(
        &t,
        &id,
        r#"{"name":"setParameterValues","parameterValues":[["VirtualParameters.ssid2","Guest-5G"],["Device.WiFi.SSID.1.SSID","Home"]]}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        fleet.param(0, "Device.WiFi.SSID.2.SSID").as_deref(),
        Some("Guest-5G")
    );
    assert_eq!(
        fleet.param(0, "Device.WiFi.SSID.1.SSID").as_deref(),
        Some("Home")
    );
    let doc = device(&t, &id, "VirtualParameters.ssid2").await;
    let vp = &doc["VirtualParameters"]["ssid2"];
    assert_eq!(vp["_value"], json!("Guest-5G"));
    assert_eq!(vp["_writable"], json!(true));
    assert!(faults(&t).await.is_empty());

    // A getParameterValues of it runs the script again, which reads the CPE (changed behind
    // the ACS's back here), as GenieACS refreshes a virtual parameter.
    assert!(fleet.set_param(0, "Device.WiFi.SSID.2.SSID", "Changed"));
    let r = task(
        &t,
        &id,
        r#"{"name":"getParameterValues","parameterNames":["VirtualParameters.ssid2"]}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let doc = device(&t, &id, "VirtualParameters.ssid2").await;
    assert_eq!(
        doc["VirtualParameters"]["ssid2"]["_value"],
        json!("Changed")
    );
    // So does a refreshObject of the virtual parameters, as GenieACS's UI sends it.
    assert!(fleet.set_param(0, "Device.WiFi.SSID.2.SSID", "Again"));
    let r = task(
        &t,
        &id,
        r#"{"name":"refreshObject","objectName":"VirtualParameters"}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let doc = device(&t, &id, "VirtualParameters.ssid2").await;
    assert_eq!(doc["VirtualParameters"]["ssid2"]["_value"], json!("Again"));

    // A provision script's declaration sets it the same way.
    put_script(
        &t,
        "provisions",
        "guest",
        r#"declare("VirtualParameters.ssid2", {value: 1}, {value: args[0]});"#,
    )
    .await;
    let r = task(
        &t,
        &id,
        r#"{"name":"provisions","provisions":[["guest","Guest-2"]]}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        fleet.param(0, "Device.WiFi.SSID.2.SSID").as_deref(),
        Some("Guest-2")
    );
    let doc = device(&t, &id, "VirtualParameters.ssid2").await;
    assert_eq!(
        doc["VirtualParameters"]["ssid2"]["_value"],
        json!("Guest-2")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_virtual_parameter_that_returns_no_value_faults_and_a_read_only_one_is_not_set() {
    let t = harness::start().await;
    let (_fleet, id) = registered_cpe(&t).await;
    put_script(
        &t,
        "virtual_parameters",
        "novalue",
        "return {writable: true};",
    )
    .await;
    let r = task(
        &t,
        &id,
        r#"{"name":"setParameterValues","parameterValues":[["VirtualParameters.novalue","x"]]}"#,
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let tid = r.json()["_id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(
        faults(&t).await,
        vec![(
            format!("task_{tid}"),
            "script".to_owned(),
            "Virtual parameter 'novalue' must provide 'value' attribute".to_owned()
        )]
    );
    let deleted = call(&t, "DELETE", &format!("/tasks/{tid}"), None).await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);

    // GenieACS writes nothing to a virtual parameter that says it is not writable and raises
    // no fault: the task completes and the script's own value stays.
    put_script(
        &t,
        "virtual_parameters",
        "fixed",
        r#"return {writable: false, value: [args[1].value ? "asked" : "fixed", "xsd:string"]};"#,
    )
    .await;
    let r = task(
        &t,
        &id,
        r#"{"name":"setParameterValues","parameterValues":[["VirtualParameters.fixed","other"]]}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let doc = device(&t, &id, "VirtualParameters.fixed").await;
    assert_eq!(doc["VirtualParameters"]["fixed"]["_value"], json!("fixed"));
    assert_eq!(doc["VirtualParameters"]["fixed"]["_writable"], json!(false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preset_value_on_a_virtual_parameter_is_set_through_its_script_once() {
    let t = harness::start().await;
    let (fleet, id) = registered_cpe(&t).await;
    put_script(&t, "virtual_parameters", "ssid2", SSID2).await;
    let preset = json!({"channel": "guest", "events": {"2 PERIODIC": true}, "configurations": [
        {"type": "value", "name": "VirtualParameters.ssid2", "value": "From-Preset"}]});
    let r = call(&t, "PUT", "/presets/guest", Some(&preset.to_string())).await;
    assert_eq!(r.status, 200, "{}", r.body);
    fleet.inform(0, &["2 PERIODIC"]).await.expect("session");
    assert_eq!(
        fleet.param(0, "Device.WiFi.SSID.2.SSID").as_deref(),
        Some("From-Preset")
    );
    let doc = device(&t, &id, "VirtualParameters.ssid2").await;
    assert_eq!(
        doc["VirtualParameters"]["ssid2"]["_value"],
        json!("From-Preset")
    );
    assert!(faults(&t).await.is_empty());
    // In place: the next session writes nothing.
    let s = fleet.inform(0, &["2 PERIODIC"]).await.expect("session");
    assert!(
        !s.acs_requests.iter().any(|r| r == "SetParameterValues"),
        "{:?}",
        s.acs_requests
    );
}
