//! The Kuma parser on every captured variant, 1.23.x shapes, bad bodies and random input.

use incidents::IncidentError;
use incidents::kuma::{
    KumaLimits, KumaStatus, MonitorId, MonitorMap, MonitorTarget, Notification, PortRef,
    WebhookRequest, parse,
};
use olt_poller::{OltId, PonPort};
use proptest::prelude::*;

pub(crate) const DOWN: &str = include_str!("../../testdata/kuma/down.json");
pub(crate) const UP: &str = include_str!("../../testdata/kuma/up.json");
pub(crate) const TEST: &str = include_str!("../../testdata/kuma/test.json");
pub(crate) const LEGACY: &str = include_str!("../../testdata/kuma/legacy-1.23-down.json");
const FORM_DATA_MD: &str = include_str!("../../testdata/kuma/form-data.md");

/// The multipart body recorded in `form-data.md` (its second fenced block), with CRLF line ends
/// as Kuma sends it.
pub(crate) fn recorded_multipart() -> (String, Vec<u8>) {
    let blocks: Vec<&str> = FORM_DATA_MD.split("```").collect();
    let body = blocks[3].trim_start_matches('\n').trim_end();
    let first = body.lines().next().unwrap();
    let boundary = first.strip_prefix("--").unwrap().to_owned();
    let mut bytes = body.replace('\n', "\r\n").into_bytes();
    bytes.extend_from_slice(b"\r\n");
    (boundary, bytes)
}

fn req<'a>(ct: Option<&'a str>, body: &'a [u8], query: Option<&'a str>) -> WebhookRequest<'a> {
    WebhookRequest {
        content_type: ct,
        body,
        query,
    }
}

fn event(n: Notification) -> incidents::KumaEvent {
    match n {
        Notification::Event(e) => e,
        other => panic!("not an event: {other:?}"),
    }
}

fn lim() -> KumaLimits {
    KumaLimits::default()
}

#[test]
fn json_down_and_up() {
    let down = event(parse(&req(Some("application/json"), DOWN.as_bytes(), None), lim()).unwrap());
    assert_eq!(down.monitor_id, MonitorId(42));
    assert_eq!(down.status, KumaStatus::Down);
    assert_eq!(down.at.unwrap().rfc3339(), "2026-11-22T10:15:03.412Z");
    assert!(!down.resend);
    assert_eq!(down.hostname.as_deref(), Some("192.0.2.10"));
    assert_eq!(down.group.as_deref(), Some("OLTs / OLT-Quebec-01 ping"));
    assert_eq!(down.tags[0].name, "site");
    assert_eq!(down.tags[0].value, "olt01");
    let up = event(parse(&req(Some("application/json"), UP.as_bytes(), None), lim()).unwrap());
    assert_eq!(up.status, KumaStatus::Up);
    let outage = up.at.unwrap().since(up.last_down_at.unwrap());
    assert_eq!(outage.as_millis(), 720_589);
}

#[test]
fn multipart_as_recorded_and_with_an_overridden_content_type() {
    let (boundary, body) = recorded_multipart();
    let ct = format!("multipart/form-data; boundary={boundary}");
    let e = event(parse(&req(Some(&ct), &body, None), lim()).unwrap());
    assert_eq!(e.monitor_id, MonitorId(42));
    // An operator who adds Content-Type: application/json to a form-data notification.
    let e = event(parse(&req(Some("application/json"), &body, None), lim()).unwrap());
    assert_eq!(e.status, KumaStatus::Down);
}

#[test]
fn custom_bodies_are_parsed_for_what_they_are() {
    // Kuma's custom variant declares urlencoded for a JSON template.
    let ct = Some("application/x-www-form-urlencoded");
    let e = event(parse(&req(ct, DOWN.as_bytes(), None), lim()).unwrap());
    assert_eq!(e.monitor_id, MonitorId(42));
    // A custom template that really is a form, with the objects as JSON strings.
    let v: serde_json::Value = serde_json::from_str(DOWN).unwrap();
    let form: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("msg", v["msg"].as_str().unwrap())
        .append_pair("heartbeat", &v["heartbeat"].to_string())
        .append_pair("monitor", &v["monitor"].to_string())
        .finish();
    let e = event(parse(&req(ct, form.as_bytes(), None), lim()).unwrap());
    assert_eq!(e.tags.len(), 1);
    // And one `data` field, like form-data but urlencoded.
    let form: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("data", DOWN)
        .finish();
    let e = event(parse(&req(ct, form.as_bytes(), None), lim()).unwrap());
    assert_eq!(e.status, KumaStatus::Down);
}

#[test]
fn get_with_query_parameters() {
    let v: serde_json::Value = serde_json::from_str(UP).unwrap();
    let q: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("msg", v["msg"].as_str().unwrap())
        .append_pair("heartbeat", &v["heartbeat"].to_string())
        .append_pair("monitor", &v["monitor"].to_string())
        .append_pair("token", "ignored-here")
        .finish();
    let e = event(parse(&req(None, b"", Some(&q)), lim()).unwrap());
    assert_eq!(e.status, KumaStatus::Up);
    assert!(e.last_down_at.is_some());
    // GET of the Test button: heartbeat=null.
    let e = parse(
        &req(None, b"", Some("msg=x&heartbeat=null&monitor=null")),
        lim(),
    )
    .unwrap();
    assert_eq!(
        e,
        Notification::Test {
            msg: Some("x".into())
        }
    );
}

#[test]
fn the_test_payload_has_no_side_effect() {
    let n = parse(&req(Some("application/json"), TEST.as_bytes(), None), lim()).unwrap();
    assert_eq!(
        n,
        Notification::Test {
            msg: Some("My Webhook Testing".into())
        }
    );
    // Certificate-expiry reminders carry a monitor and no heartbeat.
    let n = parse(
        &req(
            None,
            br#"{"heartbeat":null,"monitor":{"id":5},"msg":"cert"}"#,
            None,
        ),
        lim(),
    );
    assert!(matches!(
        n.unwrap(),
        Notification::Info {
            monitor_id: Some(MonitorId(5)),
            ..
        }
    ));
}

#[test]
fn a_1_23_body_maps_through_its_tags() {
    let e = event(
        parse(
            &req(Some("application/json"), LEGACY.as_bytes(), None),
            lim(),
        )
        .unwrap(),
    );
    assert_eq!(e.monitor_id, MonitorId(17));
    assert_eq!(e.monitor_type.as_deref(), Some("port"));
    let target = MonitorMap::default().target(&e).unwrap();
    assert_eq!(target.olt, OltId::new("olt02").unwrap());
    assert_eq!(
        target.port,
        Some(PortRef::Position(PonPort {
            frame: 0,
            slot: 1,
            port: 3
        }))
    );
    // The 2.x fixture is tagged site=olt01: only a configured map joins it to an OLT.
    let down = event(parse(&req(None, DOWN.as_bytes(), None), lim()).unwrap());
    let mut map = MonitorMap::default();
    assert_eq!(map.target(&down), None);
    map.monitors.insert(
        MonitorId(42),
        MonitorTarget {
            olt: OltId::new("olt01").unwrap(),
            port: None,
        },
    );
    assert_eq!(map.target(&down).unwrap().olt.as_str(), "olt01");
}

#[test]
fn unknown_fields_are_ignored() {
    let mut v: serde_json::Value = serde_json::from_str(DOWN).unwrap();
    v["heartbeat"]["newField2031"] = serde_json::json!({"a": [1, 2]});
    v["monitor"]["anotherOne"] = serde_json::json!(true);
    v["extra"] = serde_json::json!("x");
    let body = v.to_string();
    assert!(matches!(
        parse(&req(None, body.as_bytes(), None), lim()).unwrap(),
        Notification::Event(_)
    ));
}

#[test]
fn every_bad_body_is_a_clear_error() {
    let cases: &[(&[u8], &str)] = &[
        (b"", "empty"),
        (b"{", "not a Kuma notification"),
        (b"hello=world", "neither JSON"),
        (br#"{"heartbeat":{"status":0}}"#, "no monitor id"),
        (br#"{"heartbeat":{"monitorID":1,"status":7}}"#, "status 7"),
        (
            br#"{"heartbeat":{"monitorID":1,"status":0,"time":"yesterday"}}"#,
            "bad time",
        ),
        (
            br#"{"heartbeat":{"monitorID":1,"status":0},"monitor":{"id":2}}"#,
            "is not monitor.id",
        ),
        (
            br#"{"heartbeat":{"monitorID":-1,"status":0}}"#,
            "not a Kuma notification",
        ),
        (br#"{"heartbeat":"down"}"#, "not a Kuma notification"),
        (
            b"--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1\r\n--b--\r\n",
            "no field named",
        ),
    ];
    for (body, want) in cases {
        let err = parse(&req(Some("application/json"), body, None), lim()).unwrap_err();
        assert!(
            err.to_string().contains(want),
            "{:?}: {err}",
            String::from_utf8_lossy(body)
        );
        assert!(err.is_peer());
    }
    let deep = format!("{{\"heartbeat\":{}{}}}", "[".repeat(40), "]".repeat(40));
    let err = parse(&req(None, deep.as_bytes(), None), lim()).unwrap_err();
    assert!(matches!(err, IncidentError::TooDeep { limit: 32 }), "{err}");
    let big = vec![b'{'; lim().max_body + 1];
    assert!(matches!(
        parse(&req(None, &big, None), lim()),
        Err(IncidentError::TooLarge { .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Any bytes, any declared type, any query: a value or an error, never a panic.
    #[test]
    fn random_requests_never_panic(
        body in proptest::collection::vec(any::<u8>(), 0..600),
        ct in prop_oneof![
            Just(None),
            Just(Some("application/json".to_owned())),
            Just(Some("multipart/form-data; boundary=b".to_owned())),
            "[ -~]{0,40}".prop_map(Some),
        ],
        query in proptest::option::of("[ -~]{0,80}"),
    ) {
        let _ = parse(&req(ct.as_deref(), &body, query.as_deref()), lim());
    }

    /// Mutations of a real body: truncations and byte flips stay errors or events.
    #[test]
    fn mutated_fixtures_never_panic(cut in 0..DOWN.len(), flips in proptest::collection::vec((0..DOWN.len(), any::<u8>()), 0..8)) {
        let mut b = DOWN.as_bytes()[..cut].to_vec();
        for (i, v) in flips {
            if i < b.len() { b[i] = v; }
        }
        let _ = parse(&req(None, &b, None), lim());
        let (boundary, mut mp) = recorded_multipart();
        mp.truncate(cut.min(mp.len()));
        let ct = format!("multipart/form-data; boundary={boundary}");
        let _ = parse(&req(Some(&ct), &mp, None), lim());
    }

    /// Nesting within the limit parses; beyond it is refused, whatever the body says.
    #[test]
    fn depth_limit_holds(depth in 1usize..80) {
        let body = format!("{{\"monitor\":{{\"id\":1,\"x\":{}{}}}}}", "[".repeat(depth), "]".repeat(depth));
        let r = parse(&req(None, body.as_bytes(), None), lim());
        if depth + 2 > lim().max_depth {
            prop_assert!(matches!(r, Err(IncidentError::TooDeep { .. })), "{:?}", r);
        } else {
            prop_assert!(r.is_ok(), "{:?}", r);
        }
    }
}
