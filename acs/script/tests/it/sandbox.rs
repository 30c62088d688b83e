//! declare, the object it returns, clear, commit, ext, log, args, faults.

use crate::common::{DEVICE, Runner, TS, logged};
use script::{End, InstanceCount, Kind};
use serde_json::json;

#[test]
fn declare_records_path_timestamps_values_and_instance_counts() {
    let mut r = Runner::new();
    let out = r.run(
        r#"
        declare("Device.WiFi.SSID.*.SSID", {value: 1, path: 1700000000000}, {value: "x"});
        declare("Device.WiFi.SSID.*", {path: 5}, {path: [1, 3]});
        declare("Device.X", {value: Date.now() + 5000, writable: 0}, {value: [7, "xsd:int"], notification: 2});
        declare("Device.Y", null, {path: 2});
        "#,
        0,
    );
    assert_eq!(out.end, End::Completed(None));
    let d = &out.declarations;
    assert_eq!(d.len(), 4);
    assert_eq!(d[0].path, "Device.WiFi.SSID.*.SSID");
    assert_eq!(d[0].path_get, TS);
    assert_eq!(d[0].attr_get.get("value"), Some(&1.0));
    assert_eq!(d[0].attr_set.get("value"), Some(&json!(["x"])));
    assert_eq!(d[1].path_get, 5.0);
    assert_eq!(
        d[1].path_set,
        Some(InstanceCount {
            min: Some(1),
            max: Some(3)
        })
    );
    // A timestamp in the future is capped at the session's time; 0 is "not wanted".
    assert_eq!(d[2].attr_get.get("value"), Some(&TS));
    assert_eq!(d[2].attr_get.get("writable"), None);
    assert_eq!(d[2].attr_set.get("value"), Some(&json!([7, "xsd:int"])));
    assert_eq!(d[2].attr_set.get("notification"), Some(&json!(2)));
    assert_eq!(
        d[3].path_set,
        Some(InstanceCount {
            min: Some(2),
            max: Some(2)
        })
    );
    // A script that completes leaves its declarations deferred to the end of the pass.
    assert!(d.iter().all(|d| d.defer));
}

#[test]
fn reading_an_uncommitted_declaration_ends_the_run_and_a_rerun_reads_it() {
    let mut r = Runner::new();
    let src = r#"
        const v = declare("Device.DeviceInfo.SoftwareVersion", {value: 1});
        log(JSON.stringify(v.value));
        declare("Device.ManagementServer.PeriodicInformInterval", null, {value: 600});
    "#;
    let first = r.run(src, 0);
    assert_eq!(first.end, End::Committed);
    assert_eq!(first.declarations.len(), 1);
    assert!(
        !first.declarations[0].defer,
        "declarations before a commit are synced at once"
    );
    assert!(first.logs.is_empty());
    let second = r.run(src, 1);
    assert_eq!(second.end, End::Completed(None));
    assert_eq!(logged(&second), vec![r#"["1.2.3","xsd:string"]"#]);
    assert_eq!(second.declarations.len(), 2);
}

#[test]
fn the_returned_object_gives_value_writable_object_path_size_and_instances() {
    let mut r = Runner::new();
    let src = r#"
        const s = declare("Device.WiFi.SSID.*.SSID", {value: 1, writable: 1, object: 1});
        const o = declare("Device.WiFi.SSID.*", {path: 1});
        const none = declare("Device.Nothing.*", {path: 1, value: 1});
        const paths = [];
        for (const i of s) paths.push([i.path, i.value[0], i.writable, i.size]);
        log(JSON.stringify({
            value: s.value, writable: s.writable, object: s.object, path: s.path, size: s.size,
            objSize: o.size, objValue: o.value, noneSize: none.size, nonePath: none.path,
            noneValue: none.value, paths: paths,
        }));
    "#;
    let (out, runs) = r.settle(src);
    assert_eq!(runs, 2);
    let got: serde_json::Value = serde_json::from_str(&logged(&out)[0]).expect("json");
    assert_eq!(
        got,
        json!({
            "value": ["home", "xsd:string"], "writable": 1, "object": 0,
            "path": "Device.WiFi.SSID.1.SSID", "size": 2, "objSize": 2,
            "paths": [["Device.WiFi.SSID.1.SSID", "home", 1, 1],
                      ["Device.WiFi.SSID.2.SSID", "guest", 1, 1]],
        })
    );
}

#[test]
fn a_rerun_sees_at_each_revision_what_that_revision_saw() {
    let mut r = Runner::new();
    let src = r#"
        const a = declare("Device.WiFi.SSID.1.SSID", {value: 1}).value[0];
        declare("Device.WiFi.SSID.1.SSID", null, {value: a + "!"});
        const b = declare("Device.WiFi.SSID.1.SSID", {value: 1}).value[0];
        log(a + "/" + b);
    "#;
    assert_eq!(r.run(src, 0).end, End::Committed);
    assert_eq!(r.run(src, 1).end, End::Committed);
    // The ACS synced the write between the runs: the tree changed.
    r.tree.0[4].value = Some((json!("home!"), "xsd:string".into()));
    let out = r.run(src, 2);
    assert_eq!(out.end, End::Completed(None));
    assert_eq!(logged(&out), vec!["home/home!"]);
}

#[test]
fn clear_is_recorded_on_the_last_revision_only_and_capped() {
    let mut r = Runner::new();
    let src = r#"
        clear("Device.A", Date.now() + 1000);
        const x = declare("DeviceID.ID", {value: 1}).value;
        clear("Device.B", 5, {value: 7});
    "#;
    let first = r.run(src, 0);
    assert_eq!(first.end, End::Committed);
    assert_eq!(first.clears.len(), 1);
    assert_eq!(first.clears[0].path, "Device.A");
    assert_eq!(first.clears[0].timestamp, TS);
    let second = r.run(src, 1);
    assert_eq!(second.end, End::Completed(None));
    assert_eq!(
        second.clears.len(),
        1,
        "Device.A was cleared at revision 0 already"
    );
    assert_eq!(second.clears[0].path, "Device.B");
    assert_eq!(
        second.clears[0]
            .attributes
            .as_ref()
            .and_then(|a| a.get("value")),
        Some(&7.0)
    );
}

#[test]
fn commit_is_a_sync_point_and_declare_in_try_catch_is_refused() {
    let mut r = Runner::new();
    let out = r.run(r#"declare("Device.A", null, {value: 1}); commit(); declare("Device.B", null, {value: 2});"#, 0);
    assert_eq!(out.end, End::Committed);
    assert_eq!(out.declarations.len(), 1);
    let out = r.run(r#"declare("Device.A", null, {value: 1}); commit(); declare("Device.B", null, {value: 2});"#, 1);
    assert_eq!(out.end, End::Completed(None));
    let out = r.run(
        r#"try { declare("Device.A", {value: 1}).value; } catch (e) {} declare("Device.B", {value: 1}).value;"#,
        0,
    );
    let End::Fault(f) = out.end else {
        panic!("{out:?}")
    };
    assert_eq!(f.code, "script.Error");
    assert_eq!(
        f.message,
        "Declare function should not be called from within a try/catch block"
    );
}

#[test]
fn ext_asks_for_its_result_then_reads_it_from_the_cache() {
    let mut r = Runner::new();
    let src = r#"
        log("before");
        const v = ext("ext-file", "fn", 1, {a: 1});
        log("after " + JSON.stringify(v));
    "#;
    let first = r.run(src, 0);
    assert_eq!(first.end, End::NeedsExtensions);
    assert_eq!(first.ext_calls.len(), 1);
    assert_eq!(
        first.ext_calls[0].key,
        r#"0: ["ext-file","fn","1","[object Object]"]"#
    );
    assert_eq!(
        first.ext_calls[0].args,
        ["ext-file", "fn", "1", "[object Object]"]
    );
    assert_eq!(logged(&first), vec!["before"]);
    r.cache
        .extensions
        .insert(first.ext_calls[0].key.clone(), json!({"ok": [1, 2]}));
    let second = r.run_as(Kind::Provision, "p", src, json!([]), 0, first.ext_counter);
    assert_eq!(second.end, End::Completed(None));
    // "before" was logged by the first run; the re-run logs only what follows the call.
    assert_eq!(logged(&second), vec![r#"after {"ok":[1,2]}"#]);
}

#[test]
fn log_is_kept_on_the_last_revision_with_its_meta() {
    let mut r = Runner::new();
    let src = r#"log("a", {k: 1}); declare("DeviceID.ID", {value: 1}).value; log("b");"#;
    let first = r.run(src, 0);
    assert_eq!(first.logs.len(), 1);
    assert_eq!(first.logs[0].message, "Script: a");
    assert_eq!(first.logs[0].meta, json!({"k": 1}));
    let second = r.run(src, 1);
    assert_eq!(logged(&second), vec!["b"]);
}

#[test]
fn args_are_the_provision_arguments() {
    let mut r = Runner::new();
    let out = r.run_as(
        Kind::Provision,
        "p",
        r#"log(JSON.stringify(args));"#,
        json!(["a", 2, true]),
        0,
        0,
    );
    assert_eq!(logged(&out), vec![r#"["a",2,true]"#]);
}

#[test]
fn thrown_errors_and_syntax_errors_are_script_faults_with_stacks() {
    let mut r = Runner::new();
    let out = r.run("null.x;", 0);
    let End::Fault(f) = out.end else {
        panic!("{out:?}")
    };
    assert_eq!(f.code, "script.TypeError");
    let detail = f.detail.expect("detail");
    assert_eq!(detail["name"], "TypeError");
    assert!(
        !detail["stack"].as_str().unwrap_or("").is_empty(),
        "{detail}"
    );

    let out = r.run("throw 'plain';", 0);
    let End::Fault(f) = out.end else {
        panic!("{out:?}")
    };
    assert_eq!((f.code.as_str(), f.message.as_str()), ("script", "plain"));

    let out = r.run("let = ;", 0);
    let End::Fault(f) = out.end else {
        panic!("{out:?}")
    };
    assert_eq!(f.code, "script.SyntaxError");

    // Strict mode, as GenieACS compiles scripts: an undeclared assignment throws.
    let out = r.run("undeclared = 1;", 0);
    let End::Fault(f) = out.end else {
        panic!("{out:?}")
    };
    assert_eq!(f.code, "script.ReferenceError");

    // A bad pattern from the view is a thrown Error in the script.
    let out = r.settle(r#"declare("Device..X", {value: 1}).value;"#).0;
    let End::Fault(f) = out.end else {
        panic!("{out:?}")
    };
    assert_eq!(f.message, "Invalid path Device..X");
}

#[test]
fn globals_a_script_leaves_do_not_reach_the_next_run_and_builtins_stay() {
    let mut r = Runner::new();
    let out = r.run(
        "globalThis.leak = 1; try { declare = null; } catch (e) { log(e.name); }",
        0,
    );
    assert_eq!(logged(&out), vec!["TypeError"]);
    let out = r.run(
        "log(typeof leak + ' ' + typeof declare + ' ' + typeof args);",
        0,
    );
    assert_eq!(logged(&out), vec!["undefined function object"]);
    // A non-enumerable global is swept too, and so is one assigned through the global object
    // reached by computed names (no name of the sandbox's list in the source).
    r.run(
        "Object.defineProperty(globalThis, 'hidden', {value: 1, enumerable: false, configurable: true});",
        0,
    );
    let out = r.run("log(typeof hidden);", 0);
    assert_eq!(logged(&out), vec!["undefined"]);
    let c = "'con' + 'struc' + 'tor'";
    r.run(&format!("[][{c}][{c}]('return this')().sneaky = 1;"), 0);
    let out = r.run("log(typeof sneaky);", 0);
    assert_eq!(logged(&out), vec!["undefined"]);
    assert_eq!(DEVICE.len(), 20);
}
