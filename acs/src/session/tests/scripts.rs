//! Script provisions and virtual parameters in a session, in virtual time.

use super::*;
use std::sync::Arc;

fn scripts(
    provisions: &[(&str, &str)],
    vparams: &[(&str, &str)],
) -> crate::provision::script::Scripts {
    let map = |list: &[(&str, &str)]| {
        list.iter()
            .map(|(n, s)| ((*n).to_owned(), Arc::new(script::Script::new(*n, *s))))
            .collect()
    };
    crate::provision::script::Scripts {
        provisions: map(provisions),
        virtual_parameters: map(vparams),
        learned: Arc::default(),
    }
}

fn provision_preset(channel: &str, name: &str) -> presets::Preset {
    preset(
        channel,
        serde_json::json!({"channel": channel, "configurations": [
            {"type": "provision", "name": name, "args": ["a", 1]}]}),
    )
}

fn with_management_server(w: &mut World) {
    w.tree.insert("Device.ManagementServer", obj());
    w.tree.insert(
        "Device.ManagementServer.ConnectionRequestUsername",
        leaf("", true),
    );
    w.tree.insert(
        "Device.ManagementServer.ConnectionRequestPassword",
        leaf("", true),
    );
}

/// GenieACS's seeded password for a device: the first draw of its seeded generator, as an
/// integer in base 36.
fn seeded_password(device: &str) -> String {
    let r = script::Arc4Random::new(device).next_f64();
    let mut n = (r * 9_007_199_254_740_991.0).trunc() as u64;
    let mut digits = Vec::new();
    while n > 0 {
        digits.push(char::from_digit((n % 36) as u32, 36).unwrap_or('0'));
        n /= 36;
    }
    digits.iter().rev().collect()
}

const INFORM: &str = r#"
const now = Date.now();
const user = declare("DeviceID.ID", {value: 1}).value[0];
const pass = Math.trunc(Math.random() * Number.MAX_SAFE_INTEGER).toString(36);
declare("Device.ManagementServer.ConnectionRequestUsername", {value: now}, {value: user});
declare("Device.ManagementServer.ConnectionRequestPassword", {value: now}, {value: pass});
const up = declare("Device.DeviceInfo.UpTime", {value: 1}).value[0];
declare("Device.WiFi.SSID.1.SSID", null, {value: "net-" + up + "-" + args[0]});
"#;

#[test]
fn a_script_provision_reads_writes_and_settles_like_genieacs() {
    let mut w = World::new();
    with_management_server(&mut w);
    w.scripts = scripts(&[("inform", INFORM)], &[]);
    let mut s = w.session(
        &["2 PERIODIC"],
        vec![provision_preset("inform", "inform")],
        Vec::new(),
    );
    let rpc = w.post(&mut s, None);
    // The credentials are declared fresh as of now: read first, then written.
    let Reply::Envelope(env) = &rpc else {
        panic!("{rpc:?}")
    };
    let Body::GetParameterValues { names } = &env.body else {
        panic!("{:?}", env.body)
    };
    assert_eq!(names.len(), 2);
    let rpc = w.answer(
        &mut s,
        &rpc,
        gpv_answer(&[
            ("Device.ManagementServer.ConnectionRequestUsername", "old"),
            ("Device.ManagementServer.ConnectionRequestPassword", ""),
        ]),
    );
    let Reply::Envelope(env) = &rpc else {
        panic!("{rpc:?}")
    };
    let Body::SetParameterValues { parameters, .. } = &env.body else {
        panic!("{:?}", env.body)
    };
    let want = seeded_password(DEVICE);
    let values: Vec<(&str, &str)> = parameters
        .iter()
        .map(|p| (p.name.as_str(), p.value.as_str()))
        .collect();
    assert_eq!(
        values,
        vec![
            ("Device.ManagementServer.ConnectionRequestUsername", DEVICE),
            (
                "Device.ManagementServer.ConnectionRequestPassword",
                want.as_str()
            ),
        ]
    );
    let rpc = w.answer(&mut s, &rpc, Body::SetParameterValuesResponse { status: 0 });
    // The script ran again after the sync, read the uptime and wrote the SSID.
    let Reply::Envelope(env) = &rpc else {
        panic!("{rpc:?}")
    };
    let Body::SetParameterValues { parameters, .. } = &env.body else {
        panic!("{:?}", env.body)
    };
    assert_eq!(parameters[0].value, "net-5-a");
    let end = w.answer(&mut s, &rpc, Body::SetParameterValuesResponse { status: 0 });
    assert_eq!(end, Reply::End);
    // The ACS keeps the credentials the provision set, for its connection requests and so
    // that its own are not set over them next time.
    assert_eq!(w.meta.value.cr_username, DEVICE);
    assert_eq!(w.meta.value.cr_password, want);
    assert!(w.faults.is_empty(), "{:?}", w.faults);
    assert!(w.published.iter().any(
        |e| matches!(e, DeviceEvent::ChannelConverged { channel, .. } if channel == "inform")
    ));
}

#[test]
fn a_virtual_parameter_is_computed_when_declared_and_stored() {
    let mut w = World::new();
    w.scripts = scripts(
        &[(
            "vp",
            r#"declare("VirtualParameters.Uptime", {value: Date.now()});"#,
        )],
        &[(
            "Uptime",
            r#"const u = declare("Device.DeviceInfo.UpTime", {value: Date.now()});
               return {writable: false, value: [u.value[0] + "s", "xsd:string"]};"#,
        )],
    );
    let mut s = w.session(
        &["2 PERIODIC"],
        vec![provision_preset("vp", "vp")],
        Vec::new(),
    );
    let rpc = w.post(&mut s, None);
    assert_eq!(label(&rpc), "GetParameterValues");
    let end = w.answer(
        &mut s,
        &rpc,
        gpv_answer(&[("Device.DeviceInfo.UpTime", "77")]),
    );
    assert_eq!(end, Reply::End);
    let vp = w.tree.get("VirtualParameters.Uptime").expect("stored");
    assert_eq!(vp.value, Some(Value::String("77s".into())));
    assert_eq!(vp.writable, Some(false));
    assert_eq!(vp.timestamp_ms, T0_MS);
    assert!(w.tree.get("VirtualParameters").is_some_and(|p| p.object));
    assert!(w.faults.is_empty(), "{:?}", w.faults);

    // Next session, the same declaration finds it fresh enough only if asked for less.
    w.advance(Duration::from_secs(300));
    w.meta.value.last_inform_ms = w.now.ms;
    w.scripts = scripts(
        &[(
            "vp",
            r#"log(declare("VirtualParameters.Uptime", {value: 1}).value[0]);"#,
        )],
        &[("Uptime", "throw new Error('must not run');")],
    );
    let mut s = w.session(
        &["2 PERIODIC"],
        vec![provision_preset("vp", "vp")],
        Vec::new(),
    );
    assert_eq!(w.post(&mut s, None), Reply::End);
    assert!(w.faults.is_empty(), "{:?}", w.faults);
}

#[test]
fn a_failing_script_is_a_fault_on_its_channel() {
    let mut w = World::new();
    w.scripts = scripts(&[("bad", "null.x;"), ("loop", "for (;;) {}")], &[]);
    let mut s = w.session(
        &["2 PERIODIC"],
        vec![
            provision_preset("bad", "bad"),
            provision_preset("loop", "loop"),
            provision_preset("gone", "missing"),
        ],
        Vec::new(),
    );
    assert_eq!(w.post(&mut s, None), Reply::End);
    let fault = |c: &str| {
        w.faults
            .iter()
            .find(|f| f.channel == c)
            .map(|f| (f.code.clone(), f.message.clone()))
    };
    assert_eq!(fault("bad").map(|f| f.0), Some("script.TypeError".into()));
    assert_eq!(
        fault("loop"),
        Some((
            "script.Error".into(),
            "Script execution timed out after 50ms".into()
        ))
    );
    assert_eq!(
        fault("gone"),
        Some(("script".into(), "Provision 'missing' does not exist".into()))
    );
    assert!(
        w.faults
            .iter()
            .find(|f| f.channel == "bad")
            .is_some_and(|f| f.detail.contains("stack"))
    );
}

#[test]
fn ext_results_come_from_the_driver_and_the_script_runs_on() {
    let mut w = World::new();
    w.scripts = scripts(
        &[(
            "e",
            r#"const v = ext("lookup", "ssid", DeviceID()); declare("Device.WiFi.SSID.1.SSID", null, {value: v});
                   function DeviceID() { return declare("DeviceID.SerialNumber", {value: 1}).value[0]; }"#,
        )],
        &[],
    );
    w.meta.value.identity.serial_number = "SIM0001".into();
    w.ext_answers.push((
        vec!["lookup".into(), "ssid".into(), "SIM0001".into()],
        serde_json::json!("from-ext"),
    ));
    let mut s = w.session(
        &["2 PERIODIC"],
        vec![provision_preset("e", "e")],
        Vec::new(),
    );
    let rpc = w.post(&mut s, None);
    let Reply::Envelope(env) = &rpc else {
        panic!("{rpc:?} {:?}", w.faults)
    };
    let Body::SetParameterValues { parameters, .. } = &env.body else {
        panic!("{:?}", env.body)
    };
    assert_eq!(parameters[0].value, "from-ext");
    assert!(
        w.log.iter().any(|l| l.starts_with("read:Extension")),
        "{:?}",
        w.log
    );
    let end = w.answer(&mut s, &rpc, Body::SetParameterValuesResponse { status: 0 });
    assert_eq!(end, Reply::End);

    // An extension that fails is a fault on the channel.
    w.ext_answers.clear();
    let mut s = w.session(
        &["2 PERIODIC"],
        vec![provision_preset("e", "e")],
        Vec::new(),
    );
    assert_eq!(w.post(&mut s, None), Reply::End);
    assert_eq!(
        w.faults
            .iter()
            .find(|f| f.channel == "e")
            .map(|f| f.code.as_str()),
        Some("ext")
    );
}

#[test]
fn scripts_that_never_settle_fault_with_too_many_commits() {
    let mut w = World::new();
    // Every run reads something new at a higher revision: it never completes.
    w.scripts = scripts(
        &[(
            "spin",
            "for (let i = 0; ; i++) declare('Device.DeviceInfo.UpTime', {value: 1}).value;",
        )],
        &[],
    );
    let mut s = w.session(
        &["2 PERIODIC"],
        vec![provision_preset("spin", "spin")],
        Vec::new(),
    );
    assert_eq!(w.post(&mut s, None), Reply::End);
    let f = w
        .faults
        .iter()
        .find(|f| f.channel == "spin")
        .expect("fault");
    assert_eq!(f.code, "too_many_commits");
}

/// The labels of the tree reads in the log since `from`.
fn tree_reads(w: &World, from: usize) -> Vec<&str> {
    w.log[from..]
        .iter()
        .filter(|l| l.starts_with("read:Tree") || l.starts_with("read:ScopedTree"))
        .map(|l| {
            if l.starts_with("read:Tree") {
                "whole"
            } else {
                "scoped"
            }
        })
        .collect()
}

#[test]
fn a_scripted_device_is_read_in_the_scope_its_scripts_were_seen_to_read() {
    let mut w = World::new();
    w.tree.insert("Device.WiFi.SSID.1.Enable", leaf("on", true));
    for i in 0..50 {
        w.tree
            .insert(format!("Device.Hosts.Host.{i}.HostName"), leaf("h", false));
    }
    // A branch taken only when the uptime is high reads a parameter the first runs never did.
    w.scripts = scripts(
        &[(
            "ssid",
            r#"
const up = declare("Device.DeviceInfo.UpTime", {value: 1}).value[0];
let name = "net-" + up;
if (up > 100) name += "-" + declare("Device.WiFi.SSID.1.Enable", {value: 1}).value[0];
declare("Device.WiFi.SSID.1.SSID", null, {value: name});
"#,
        )],
        &[],
    );
    let preset = || vec![provision_preset("ssid", "ssid")];
    // First run in this process: nothing is known of the script, the whole tree is read.
    let mut s = w.session(&["2 PERIODIC"], preset(), Vec::new());
    let rpc = w.post(&mut s, None);
    assert_eq!(
        w.answer(&mut s, &rpc, Body::SetParameterValuesResponse { status: 0 }),
        Reply::End
    );
    assert_eq!(tree_reads(&w, 0), ["whole"]);
    assert_eq!(
        w.tree
            .get("Device.WiFi.SSID.1.SSID")
            .and_then(|p| p.value.clone()),
        Some(Value::String("net-5".into()))
    );
    // Next session: only what the script read, which settles it without an RPC.
    w.advance(Duration::from_secs(60));
    let mark = w.log.len();
    let mut s = w.session(&["2 PERIODIC"], preset(), Vec::new());
    assert_eq!(w.post(&mut s, None), Reply::End);
    assert_eq!(tree_reads(&w, mark), ["scoped"]);
    // The branch not taken before reads outside the scope: the step is taken back and run
    // over the whole tree, with the value the whole tree holds.
    w.tree
        .insert("Device.DeviceInfo.UpTime", leaf("500", false));
    w.advance(Duration::from_secs(60));
    let mark = w.log.len();
    let mut s = w.session(&["2 PERIODIC"], preset(), Vec::new());
    let rpc = w.post(&mut s, None);
    let Reply::Envelope(env) = &rpc else {
        panic!("{rpc:?}")
    };
    let Body::SetParameterValues { parameters, .. } = &env.body else {
        panic!("{:?}", env.body)
    };
    assert_eq!(parameters[0].value, "net-500-on");
    assert_eq!(tree_reads(&w, mark), ["scoped", "whole"]);
    assert_eq!(
        w.answer(&mut s, &rpc, Body::SetParameterValuesResponse { status: 0 }),
        Reply::End
    );
    // And the scope has learned it.
    w.advance(Duration::from_secs(60));
    let mark = w.log.len();
    let mut s = w.session(&["2 PERIODIC"], preset(), Vec::new());
    assert_eq!(w.post(&mut s, None), Reply::End);
    assert_eq!(tree_reads(&w, mark), ["scoped"]);
    assert!(w.faults.is_empty(), "{:?}", w.faults);
}

#[test]
fn clear_forgets_the_tree_so_declarations_read_it_again() {
    let script = |clear: bool| {
        let c = if clear {
            r#"clear("Device", Date.now());"#
        } else {
            ""
        };
        format!(r#"{c} declare("Device.DeviceInfo.UpTime", {{value: 1}});"#)
    };
    // Without the clear, what the tree holds satisfies the declaration.
    let mut w = World::new();
    w.scripts = scripts(&[("c", &script(false))], &[]);
    let mut s = w.session(
        &["2 PERIODIC"],
        vec![provision_preset("c", "c")],
        Vec::new(),
    );
    assert_eq!(w.post(&mut s, None), Reply::End);
    // With it, the device is learnt again from its root, and the store forgets what it held.
    let mut w = World::new();
    w.scripts = scripts(&[("c", &script(true))], &[]);
    let mut s = w.session(
        &["2 PERIODIC"],
        vec![provision_preset("c", "c")],
        Vec::new(),
    );
    let rpc = w.post(&mut s, None);
    let Reply::Envelope(env) = &rpc else {
        panic!("{rpc:?}")
    };
    assert!(
        matches!(&env.body, Body::GetParameterNames { .. }),
        "{:?}",
        env.body
    );
    assert!(w.applied.iter().flatten().any(|op| matches!(
        op,
        Op::UpdateTree { remove_subtrees, .. } if remove_subtrees.iter().any(|p| p == "Device")
    )));
    assert!(w.tree.get("Device.DeviceInfo.UpTime").is_none());
}
