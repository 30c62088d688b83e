//! Golden envelopes under `testdata/`: real-world shapes (prefixes, namespaces, sloppy
//! firmware) parse to the expected values, and broken ones fail with the expected error.

use cwmp::{
    Body, CwmpVersion, Envelope, Limits, ParameterValue, ParseError, XsdType, parse_envelope,
    to_bytes,
};

use crate::common::{golden, parse_golden};

fn inform(env: &Envelope) -> &cwmp::Inform {
    match &env.body {
        Body::Inform(i) => i,
        other => panic!("expected Inform, got {other:?}"),
    }
}

#[test]
fn notes_example_inform_1_0() {
    let env = parse_golden("inform-1-0-notes.xml").unwrap();
    assert_eq!(env.version, CwmpVersion::V1_0);
    assert_eq!(env.header.id.as_deref(), Some("fp-0001"));
    let i = inform(&env);
    assert_eq!(i.device_id.manufacturer, "Fibreplane Lab");
    assert_eq!(i.device_id.oui, "02AB00");
    assert_eq!(i.device_id.serial_number, "LAB0000042");
    assert!(i.has_event("6 CONNECTION REQUEST"));
    assert_eq!((i.max_envelopes, i.retry_count), (1, 0));
    assert_eq!(i.current_time, "2026-11-22T08:00:00-05:00");
    assert_eq!(i.parameters.len(), 4);
    assert_eq!(
        i.parameters[2],
        ParameterValue::new(
            "Device.ManagementServer.ParameterKey",
            "fp-push-17",
            XsdType::String
        )
    );
}

#[test]
fn soapenv_prefix_1_1_with_entities_cdata_and_padded_numbers() {
    let env = parse_golden("inform-1-1-soapenv.xml").unwrap();
    assert_eq!(env.version, CwmpVersion::V1_1);
    // IDs are echoed byte for byte, so they are not trimmed.
    assert_eq!(env.header.id.as_deref(), Some("  42 "));
    let i = inform(&env);
    assert_eq!(i.device_id.manufacturer, "A&B Networks <EU>");
    assert_eq!(i.events[1].command_key, "reboot-77");
    assert_eq!(i.events[0].command_key, "");
    assert_eq!((i.max_envelopes, i.retry_count), (1, 3));
    assert_eq!(i.parameters[0].value, "V1.0 <beta> & co");
    assert_eq!(i.parameters[1].xsd_type, XsdType::UnsignedInt);
    assert_eq!(i.parameters[2].xsd_type, XsdType::Boolean);
}

#[test]
fn soap_env_prefix_with_default_cwmp_namespace_1_2() {
    let env = parse_golden("inform-1-2-soap_env-default-ns.xml").unwrap();
    assert_eq!(env.version, CwmpVersion::V1_2);
    assert_eq!(env.header.id.as_deref(), Some("zte-7"));
    let i = inform(&env);
    assert_eq!(i.device_id.product_class, "ZXHN H199A");
    assert_eq!(i.parameters[0].xsd_type, XsdType::UnsignedInt);
    // A missing xsi:type means string.
    assert_eq!(i.parameters[1].xsd_type, XsdType::String);
}

#[test]
fn lower_case_session_timeout_and_no_more_requests_1_3() {
    let env = parse_golden("inform-1-3-session-timeout.xml").unwrap();
    assert_eq!(env.version, CwmpVersion::V1_3);
    assert_eq!(env.header.session_timeout, Some(60));
    assert!(env.header.no_more_requests);
    let i = inform(&env);
    // The unknown time reads back as empty; an empty ParameterList is fine.
    assert_eq!(i.current_time, "");
    assert!(i.parameters.is_empty());
    assert_eq!(
        cwmp::device_id(
            &i.device_id.oui,
            &i.device_id.product_class,
            &i.device_id.serial_number
        ),
        "002207-SN%200001"
    );
}

#[test]
fn supported_versions_and_unicode_1_4() {
    let env = parse_golden("inform-1-4-supported-versions.xml").unwrap();
    assert_eq!(env.version, CwmpVersion::V1_4);
    assert_eq!(env.header.session_timeout, Some(45));
    assert_eq!(
        env.header.supported_cwmp_versions.as_deref(),
        Some("1.0,1.1,1.2,1.3,1.4")
    );
    assert_eq!(inform(&env).parameters[0].value, "Café 😀");
}

#[test]
fn method_without_namespace_takes_the_declared_version() {
    let env = parse_golden("inform-no-namespace.xml").unwrap();
    assert_eq!(env.version, CwmpVersion::V1_1);
    let i = inform(&env);
    assert_eq!(i.device_id.oui, "A0B1C2");
    // A `type` attribute under a wrong prefix is still honoured.
    assert_eq!(i.parameters[0].xsd_type, XsdType::String);
}

#[test]
fn gpv_response_keeps_types_and_whitespace_in_values() {
    let env = parse_golden("gpv-response.xml").unwrap();
    let Body::GetParameterValuesResponse { parameters } = env.body else {
        panic!("GPV")
    };
    let types: Vec<_> = parameters.iter().map(|p| p.xsd_type.clone()).collect();
    assert_eq!(
        types,
        [
            XsdType::UnsignedInt,
            XsdType::Int,
            XsdType::Boolean,
            XsdType::String,
            XsdType::Other("vendorBlob".into())
        ]
    );
    assert_eq!(parameters[1].value, "-21");
    assert_eq!(parameters[3].value, "");
    assert_eq!(parameters[4].value, "  spaced  ");
}

#[test]
fn spv_fault_lists_each_parameter() {
    let env = parse_golden("spv-fault.xml").unwrap();
    let Body::Fault(f) = env.body else {
        panic!("fault")
    };
    assert_eq!((f.soap_code.as_str(), f.code), ("Client", 9003));
    assert_eq!(f.set_parameter_values_faults.len(), 2);
    assert_eq!(
        f.set_parameter_values_faults[1].name,
        "Device.DeviceInfo.UpTime"
    );
    assert_eq!(f.set_parameter_values_faults[1].code, 9008);
    assert_eq!(env.version, CwmpVersion::V1_0);
}

#[test]
fn transfer_complete() {
    let env = parse_golden("transfer-complete.xml").unwrap();
    let Body::TransferComplete(t) = env.body else {
        panic!("TransferComplete")
    };
    assert_eq!(t.command_key, "fw-2024-03");
    assert_eq!(t.fault.code, 0);
    assert_eq!(t.complete_time, "2024-03-01T10:02:13Z");
}

#[test]
fn golden_envelopes_survive_a_write_parse_cycle() {
    for name in crate::common::ALL_GOLDEN
        .iter()
        .filter(|n| !n.starts_with("broken"))
    {
        let env = parse_golden(name).unwrap();
        let again = parse_envelope(&to_bytes(&env), &Limits::default()).unwrap();
        // NoMoreRequests is parsed but never written.
        let mut expected = env.clone();
        expected.header.no_more_requests = false;
        assert_eq!(again, expected, "{name}");
    }
}

#[test]
fn broken_envelopes_fail_with_the_right_error() {
    let err = |name| parse_golden(name).unwrap_err();
    assert!(
        matches!(err("broken-truncated.xml"), ParseError::Xml(_)),
        "{:?}",
        err("broken-truncated.xml")
    );
    assert_eq!(err("broken-soap12-namespace.xml"), ParseError::NotSoap);
    assert_eq!(
        err("broken-cwmp-namespace.xml"),
        ParseError::UnknownNamespace("urn:dslforum-org:cwmp-9-9".into())
    );
    assert!(matches!(
        err("broken-doctype-entity-bomb.xml"),
        ParseError::Xml(_)
    ));
    assert_eq!(
        err("broken-too-deep.xml"),
        ParseError::TooDeep { limit: 32 }
    );
    assert_eq!(
        err("broken-huge-string.xml"),
        ParseError::StringTooLong { limit: 65_536 }
    );
    for name in ["broken-too-deep.xml", "broken-huge-string.xml"] {
        assert_eq!(err(name).fault().code, 8004);
    }
}

#[test]
fn limits_are_enforced() {
    let gpv = golden("gpv-response.xml");
    let with = |f: fn(&mut Limits)| {
        let mut l = Limits::default();
        f(&mut l);
        parse_envelope(&gpv, &l).unwrap_err()
    };
    assert_eq!(
        with(|l| l.max_body_bytes = 100),
        ParseError::BodyTooLarge { limit: 100 }
    );
    assert_eq!(
        with(|l| l.max_parameters = 4),
        ParseError::TooManyParameters { limit: 4 }
    );
    assert_eq!(
        with(|l| l.max_elements = 10),
        ParseError::TooManyElements { limit: 10 }
    );
    assert_eq!(with(|l| l.max_depth = 5), ParseError::TooDeep { limit: 5 });
    assert_eq!(
        with(|l| l.max_string_len = 10),
        ParseError::StringTooLong { limit: 10 }
    );
    assert_eq!(ParseError::BodyTooLarge { limit: 100 }.http_status(), 413);
}

#[test]
fn non_envelopes_are_not_soap() {
    let l = Limits::default();
    for doc in [
        &b"   \n\t "[..],
        b"hello",
        b"<html><body/></html>",
        b"<soap-env:Envelope xmlns:soap-env=\"http://schemas.xmlsoap.org/soap/envelope/\"/>",
    ] {
        assert_eq!(
            parse_envelope(doc, &l),
            Err(ParseError::NotSoap),
            "{}",
            String::from_utf8_lossy(doc)
        );
    }
    let unknown = br#"<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/" xmlns:c="urn:dslforum-org:cwmp-1-0"><e:Body><c:Frobnicate/></e:Body></e:Envelope>"#;
    let e = parse_envelope(unknown, &l).unwrap_err();
    assert_eq!(e, ParseError::UnknownMethod("Frobnicate".into()));
    assert_eq!(e.fault().code, 8000);
    let bad = br#"<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body><SetParameterValuesResponse><Status>ok</Status></SetParameterValuesResponse></e:Body></e:Envelope>"#;
    let e = parse_envelope(bad, &l).unwrap_err();
    assert_eq!(
        e,
        ParseError::Invalid {
            field: "Status",
            value: "ok".into()
        }
    );
    assert_eq!(e.fault().code, 8003);
    assert!(matches!(
        parse_envelope(b"\xff\xfe<", &l),
        Err(ParseError::Xml(_))
    ));
}
