//! Virtual parameters: args, the returned `{writable, value}` and its checks.

use crate::common::Runner;
use script::{End, Kind, VirtualValue};
use serde_json::json;

fn vp(src: &str, args: serde_json::Value) -> End {
    let mut r = Runner::new();
    r.run_as(Kind::VirtualParameter, "MyVp", src, args, 0, 0)
        .end
}

#[test]
fn a_value_and_writable_are_returned_typed() {
    let args = json!([{"value": 1}, {}, {}, {}]);
    assert_eq!(
        vp(
            "return {writable: false, value: ['abc', 'xsd:string']};",
            args.clone()
        ),
        End::Completed(Some(VirtualValue {
            writable: Some(false),
            value: Some((json!("abc"), "xsd:string".into()))
        }))
    );
    assert_eq!(
        vp("return {value: 42};", args.clone()),
        End::Completed(Some(VirtualValue {
            writable: None,
            value: Some((json!(42), "xsd:int".into()))
        }))
    );
    assert_eq!(
        vp("return {value: ['1', 'xsd:boolean']};", args.clone()),
        End::Completed(Some(VirtualValue {
            writable: None,
            value: Some((json!(true), "xsd:boolean".into()))
        }))
    );
    assert_eq!(
        vp(
            "return {value: ['2020-01-01T00:00:00Z', 'xsd:dateTime']};",
            args.clone()
        ),
        End::Completed(Some(VirtualValue {
            writable: None,
            value: Some((json!(1_577_836_800_000i64), "xsd:dateTime".into()))
        }))
    );
}

#[test]
fn a_virtual_parameter_reads_the_device_and_its_args() {
    let src = r#"
        const v = declare("Device.DeviceInfo.SoftwareVersion", {value: Date.now()});
        if (args[1].value) return {writable: true, value: [args[1].value[0], "xsd:string"]};
        return {writable: true, value: [v.value[0] + "-vp", "xsd:string"]};
    "#;
    let mut r = Runner::new();
    let args = json!([{"value": 1, "writable": 1}, {}, {}, {}]);
    assert_eq!(
        r.run_as(Kind::VirtualParameter, "Ver", src, args.clone(), 0, 0)
            .end,
        End::Committed
    );
    let end = r.run_as(Kind::VirtualParameter, "Ver", src, args, 1, 0).end;
    assert_eq!(
        end,
        End::Completed(Some(VirtualValue {
            writable: Some(true),
            value: Some((json!("1.2.3-vp"), "xsd:string".into()))
        }))
    );
    let set = json!([{"value": 1}, {"value": ["new"]}, {}, {}]);
    let end = r.run_as(Kind::VirtualParameter, "Ver", src, set, 1, 0).end;
    assert!(
        matches!(end, End::Completed(Some(VirtualValue { value: Some((ref v, _)), .. })) if v == "new"),
        "{end:?}"
    );
}

#[test]
fn bad_returns_are_script_faults() {
    let fault = |end: End| match end {
        End::Fault(f) => (f.code, f.message),
        other => panic!("{other:?}"),
    };
    let args = json!([{"value": 1, "writable": 1}, {}, {}, {}]);
    assert_eq!(
        fault(vp("return null;", args.clone())),
        (
            "script".into(),
            "Invalid virtual parameter return value".into()
        )
    );
    assert_eq!(
        fault(vp("return {value: 'x'};", args.clone())),
        (
            "script".into(),
            "Virtual parameter 'MyVp' must provide 'writable' attribute".into()
        )
    );
    assert_eq!(
        fault(vp("return {writable: true};", args.clone())),
        (
            "script".into(),
            "Virtual parameter 'MyVp' must provide 'value' attribute".into()
        )
    );
    assert_eq!(
        fault(vp(
            "return {writable: true, value: ['x', 'xsd:float']};",
            args.clone()
        )),
        (
            "script".into(),
            "Invalid virtual parameter value attribute".into()
        )
    );
    // GenieACS types a returned Date as "xsd:datetime", which it then refuses.
    assert_eq!(
        fault(vp("return {writable: true, value: new Date()};", args)),
        (
            "script".into(),
            "Invalid virtual parameter value attribute".into()
        )
    );
}
