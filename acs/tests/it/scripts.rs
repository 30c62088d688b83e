//! End to end: GenieACS script provisions and virtual parameters against cpe-sim.

use crate::e2e::{fleet, id, put_preset};
use crate::harness::{self, SECRET};
use serde_json::json;

async fn put_doc(t: &harness::TestAcs, collection: &str, name: &str, script: &str) {
    t.acs
        .write(vec![acs::store::Op::PutDoc {
            collection: collection.into(),
            name: name.into(),
            body: json!({"_id": name, "script": script})
                .to_string()
                .into_bytes(),
        }])
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_script_provision_and_a_virtual_parameter_run_in_a_cpe_session() {
    let t = harness::start(harness::quiet(std::path::Path::new("."))).await;
    let f = fleet(t.url(), 1, SECRET).await;
    f.inform(0, &[]).await.expect("registration");
    let dev = id(&f, 0);
    put_doc(
        &t,
        "provisions",
        "wifi",
        r#"
        const serial = declare("DeviceID.SerialNumber", {value: 1}).value[0];
        const model = declare("Device.DeviceInfo.ModelName", {value: 1}).value[0];
        declare("Device.WiFi.SSID.1.SSID", {value: 1}, {value: args[0] + "-" + serial.slice(-4)});
        declare("VirtualParameters.Model", {value: Date.now()});
        log("model " + model);
        "#,
    )
    .await;
    put_doc(
        &t,
        "virtual_parameters",
        "Model",
        r#"
        const m = declare("Device.DeviceInfo.ModelName", {value: 1});
        return {writable: false, value: ["model:" + m.value[0], "xsd:string"]};
        "#,
    )
    .await;
    put_preset(
        &t,
        "wifi",
        json!({"channel": "wifi", "configurations": [
            {"type": "provision", "name": "wifi", "args": ["Fibre"]}]}),
    )
    .await;
    f.inform(0, &["2 PERIODIC"]).await.expect("session");
    let serial = f
        .device_id(0)
        .rsplit('-')
        .next()
        .unwrap_or_default()
        .to_owned();
    let want = format!("Fibre-{}", &serial[serial.len() - 4..]);
    assert_eq!(
        f.param(0, "Device.WiFi.SSID.1.SSID").as_deref(),
        Some(want.as_str())
    );
    let model = f.param(0, "Device.DeviceInfo.ModelName").expect("model");
    let tree = t.acs.store().get_tree(&dev).await.expect("tree");
    let vp = tree
        .get("VirtualParameters.Model")
        .expect("virtual parameter stored");
    assert_eq!(
        vp.value.as_ref().map(|v| v.text().into_owned()),
        Some(format!("model:{model}"))
    );
    assert!(t.acs.store().faults(Some(&dev)).await.unwrap().is_empty());
    // The device summary shows it too.
    let summary = t
        .acs
        .device_summary(&dev, &acs::summary::Staleness::default())
        .await
        .unwrap()
        .expect("summary");
    let shown: Vec<_> = summary
        .virtual_parameters
        .iter()
        .map(|f| f.value.clone())
        .collect();
    assert_eq!(shown, vec![("Model".to_owned(), format!("model:{model}"))]);

    // The next session finds everything in place: nothing is written again.
    let s = f.inform(0, &["2 PERIODIC"]).await.expect("session");
    assert!(
        !s.acs_requests.iter().any(|r| r == "SetParameterValues"),
        "{:?}",
        s.acs_requests
    );
    f.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_script_that_loops_forever_is_a_fault_and_the_session_ends() {
    let t = harness::start(harness::quiet(std::path::Path::new("."))).await;
    let f = fleet(t.url(), 1, SECRET).await;
    f.inform(0, &[]).await.expect("registration");
    put_doc(&t, "provisions", "spin", "while (true) {}").await;
    put_preset(
        &t,
        "spin",
        json!({"channel": "spin", "configurations": [{"type": "provision", "name": "spin"}]}),
    )
    .await;
    f.inform(0, &["2 PERIODIC"]).await.expect("session");
    let faults = t.acs.store().faults(Some(&id(&f, 0))).await.unwrap();
    assert_eq!(faults.len(), 1);
    assert_eq!(faults[0].code, "script.Error");
    assert_eq!(faults[0].channel, "spin");
    f.shutdown().await;
}
