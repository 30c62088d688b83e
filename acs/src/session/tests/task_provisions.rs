//! Tasks run on the provisioning engine (`provisions`, setParameterValues of a virtual
//! parameter), in virtual time.

use super::*;
use acs_store::ProvisionArg;
use serde_json::json;

fn text(s: &str) -> ProvisionArg {
    ProvisionArg::Text(s.into())
}

/// A `provisions` task setting the SSID through GenieACS's `value` built-in.
fn value_task(id: u64) -> TaskRecord {
    task(
        id,
        TaskKind::Provisions {
            provisions: vec![vec![
                text("value"),
                text("Device.WiFi.SSID.1.SSID"),
                text("Fibre"),
            ]],
        },
    )
}

/// The only SetParameterValues item of an RPC reply.
fn spv_item(reply: &Reply) -> (String, String) {
    let Reply::Envelope(env) = reply else {
        panic!("no RPC: {reply:?}")
    };
    let Body::SetParameterValues { parameters, .. } = &env.body else {
        panic!("not a SetParameterValues: {:?}", env.body)
    };
    assert_eq!(parameters.len(), 1, "{parameters:?}");
    (parameters[0].name.clone(), parameters[0].value.clone())
}

#[test]
fn a_provisions_task_runs_on_its_channel_and_is_done_once_it_settles() {
    let mut w = World::new();
    w.tasks.push(value_task(4));
    w.mark = Some(1);
    let mut s = w.session(&["6 CONNECTION REQUEST"], Vec::new(), Vec::new());
    let rpc = w.post(&mut s, None);
    assert_eq!(
        spv_item(&rpc),
        ("Device.WiFi.SSID.1.SSID".into(), "Fibre".into())
    );
    let end = w.answer(&mut s, &rpc, Body::SetParameterValuesResponse { status: 0 });
    assert_eq!(end, Reply::End);
    let t = w.tasks.iter().find(|t| t.id == 4).expect("task");
    assert!(matches!(t.status, TaskStatus::Done { .. }), "{t:?}");
    assert_eq!(w.notified, [4]);
    assert!(w.log.contains(&"count:TaskDone".to_owned()), "{:?}", w.log);
    assert_eq!(
        w.tree
            .get("Device.WiFi.SSID.1.SSID")
            .and_then(|p| p.value.clone()),
        Some(Value::String("Fibre".into()))
    );
    // A task's channel is not a preset's: nothing is announced as converged.
    assert!(w.published.is_empty(), "{:?}", w.published);
}

#[test]
fn a_cpe_fault_on_a_provisions_task_is_the_tasks_under_its_retry_rules() {
    let mut w = World::new();
    w.tasks.push(value_task(6));
    w.mark = Some(1);
    let mut s = w.session(&["2 PERIODIC"], Vec::new(), Vec::new());
    let rpc = w.post(&mut s, None);
    let end = w.answer(&mut s, &rpc, Body::Fault(Fault::new(9007, "bad value")));
    assert_eq!(end, Reply::End);
    let t = w.tasks.iter().find(|t| t.id == 6).expect("task");
    assert_eq!(
        (t.attempts, &t.status, t.not_before_ms),
        (1, &TaskStatus::Pending, T0_MS + RETRY_BASE_MS)
    );
    let f = w
        .faults
        .iter()
        .find(|f| f.channel == "task_6")
        .expect("fault");
    assert_eq!(
        (f.code.as_str(), f.retries, f.task_id),
        ("cwmp.9007", 0, Some(6))
    );
    // Recorded as a task fault, not announced as a preset channel's.
    assert!(w.published.is_empty(), "{:?}", w.published);
    assert_eq!(w.notified, [6]);
}

#[test]
fn a_virtual_parameter_write_hands_its_script_genieacs_arguments() {
    let mut w = World::new();
    w.tree
        .insert("VirtualParameters", Param::object(Some(false), 10));
    w.tree.insert("VirtualParameters.ssid", leaf("old", true));
    // The script writes what it was given into the SSID, so the RPC shows it.
    w.scripts.virtual_parameters.insert(
        "ssid".into(),
        Arc::new(script::Script::new(
            "ssid",
            r#"if (args[1].value) declare("Device.WiFi.SSID.1.SSID", null, {value: JSON.stringify(args)});
            return {writable: true, value: [args[1].value ? args[1].value[0] : "old", "xsd:string"]};"#,
        )),
    );
    w.tasks.push(task(
        8,
        TaskKind::SetParameterValues {
            values: vec![(
                "VirtualParameters.ssid".into(),
                "new".into(),
                "string".into(),
            )],
            parameter_key: String::new(),
        },
    ));
    w.mark = Some(1);
    let mut s = w.session(&["6 CONNECTION REQUEST"], Vec::new(), Vec::new());
    let rpc = w.post(&mut s, None);
    let (name, value) = spv_item(&rpc);
    assert_eq!(name, "Device.WiFi.SSID.1.SSID");
    let args: serde_json::Value = serde_json::from_str(&value).expect("JSON args");
    assert_eq!(
        args,
        json!([
            {},
            {"value": ["new", "xsd:string"]},
            {"object": 10, "writable": 10, "value": 10},
            {"object": false, "writable": true, "value": ["old", "xsd:string"]}
        ])
    );
    let end = w.answer(&mut s, &rpc, Body::SetParameterValuesResponse { status: 0 });
    assert_eq!(end, Reply::End);
    let vp = w.tree.get("VirtualParameters.ssid").expect("stored");
    assert_eq!(
        (vp.value.clone(), vp.writable),
        (Some(Value::String("new".into())), Some(true))
    );
    let t = w.tasks.iter().find(|t| t.id == 8).expect("task");
    assert!(matches!(t.status, TaskStatus::Done { .. }), "{t:?}");
}

#[test]
fn an_expired_provisions_task_is_deleted_with_its_fault_and_not_run() {
    let mut w = World::new();
    let mut t = value_task(9);
    t.attempts = 1;
    t.expiry_ms = Some(T0_MS - 1);
    w.tasks.push(t);
    w.faults.push(FaultRecord {
        device: device(),
        channel: "task_9".into(),
        task_id: Some(9),
        code: "script.Error".into(),
        message: "earlier".into(),
        detail: String::new(),
        retries: 0,
        timestamp_ms: T0_MS - 60_000,
    });
    w.mark = Some(1);
    let mut s = w.session(&["2 PERIODIC"], Vec::new(), Vec::new());
    assert_eq!(w.post(&mut s, None), Reply::End, "nothing is sent");
    let ops: Vec<&Op> = w.applied.iter().flatten().collect();
    assert!(
        ops.iter().any(|o| matches!(o, Op::DeleteTask(9))),
        "{ops:?}"
    );
    assert!(w.faults.is_empty(), "{:?}", w.faults);
    assert_eq!(w.notified, [9]);
}

#[test]
fn tasks_keep_their_order_around_an_engine_run_one() {
    let mut w = World::new();
    w.tasks.push(uptime_task(1));
    w.tasks.push(value_task(2));
    w.tasks.push(task(3, TaskKind::Reboot));
    w.mark = Some(1);
    let mut s = w.session(&["2 PERIODIC"], Vec::new(), Vec::new());
    let gpv = w.post(&mut s, None);
    assert_eq!(label(&gpv), "GetParameterValues");
    let spv = w.answer(
        &mut s,
        &gpv,
        gpv_answer(&[("Device.DeviceInfo.UpTime", "9")]),
    );
    assert_eq!(spv_item(&spv).1, "Fibre");
    let reboot = w.answer(&mut s, &spv, Body::SetParameterValuesResponse { status: 0 });
    assert_eq!(label(&reboot), "Reboot");
    let end = w.answer(&mut s, &reboot, Body::RebootResponse);
    assert_eq!(end, Reply::End);
    assert_eq!(w.notified, [1, 2, 3]);
    assert!(
        w.tasks
            .iter()
            .all(|t| matches!(t.status, TaskStatus::Done { .. })),
        "{:?}",
        w.tasks
    );
}

#[test]
fn a_script_fault_stops_the_tasks_other_provisions() {
    let mut w = World::new();
    w.scripts.provisions.insert(
        "broken".into(),
        Arc::new(script::Script::new("broken", r#"throw new Error("boom");"#)),
    );
    w.tasks.push(task(
        12,
        TaskKind::Provisions {
            provisions: vec![
                vec![text("broken")],
                vec![
                    text("value"),
                    text("Device.WiFi.SSID.1.SSID"),
                    text("Fibre"),
                ],
            ],
        },
    ));
    w.mark = Some(1);
    let mut s = w.session(&["2 PERIODIC"], Vec::new(), Vec::new());
    // GenieACS clears a faulted channel's provisions: nothing is sent.
    assert_eq!(w.post(&mut s, None), Reply::End, "{:?}", w.log);
    let f = w
        .faults
        .iter()
        .find(|f| f.channel == "task_12")
        .expect("fault");
    assert_eq!(
        (f.code.as_str(), f.task_id, f.retries),
        ("script.Error", Some(12), 0)
    );
    assert!(f.message.contains("boom"), "{f:?}");
    let t = w.tasks.iter().find(|t| t.id == 12).expect("task");
    assert_eq!((t.attempts, t.not_before_ms), (1, T0_MS + RETRY_BASE_MS));
    assert!(w.log.contains(&"count:TaskFault".to_owned()), "{:?}", w.log);
}
