//! The query language against the captured GenieACS device document, with the queries the
//! genieacs-compat note (§6) verified live on GenieACS 1.2.16 and their results there.

use crate::harness::genieacs_device;
use nbi::doc;
use nbi::query::{Collection, Plan, Query};
use proptest::prelude::*;

fn document() -> doc::Node {
    let (meta, tree) = nbi::import::device(&genieacs_device()).unwrap();
    doc::device(&meta, &tree)
}

fn count(q: &str) -> usize {
    let query = Query::parse(q, Collection::Devices).unwrap_or_else(|e| panic!("{q}: {e}"));
    usize::from(query.matches(&document()))
}

#[test]
fn the_live_verified_queries_give_genieacs_results() {
    let sw = "InternetGatewayDevice.DeviceInfo.SoftwareVersion";
    let pii = "InternetGatewayDevice.ManagementServer.PeriodicInformInterval";
    for (q, want) in [
        (r#"{"_tags":"vip"}"#.to_owned(), 1),
        (format!(r#"{{"{sw}":"V100*"}}"#), 1),
        (format!(r#"{{"{sw}":"/^v100/i"}}"#), 1),
        (r#"{"_lastInform":{"$gt":"2020-01-01"}}"#.to_owned(), 1),
        (format!(r#"{{"{pii}":"300"}}"#), 1),
        (format!(r#"{{"{pii}":{{"$gte":100}}}}"#), 1),
        (format!(r#"{{"{sw}":{{"$ne":"X"}}}}"#), 1),
        (r#"{"_deviceId._SerialNumber":"000000"}"#.to_owned(), 1),
        (
            r#"{"$or":[{"_id":"x"},{"DeviceID.SerialNumber":"000000"}]}"#.to_owned(),
            0,
        ),
    ] {
        assert_eq!(count(&q), want, "{q}");
    }
}

#[test]
fn operators_keep_mongodb_meaning() {
    let sw = "InternetGatewayDevice.DeviceInfo.SoftwareVersion";
    for (q, want) in [
        (format!(r#"{{"{sw}":"V100R001IRQC56B017"}}"#), 1),
        (format!(r#"{{"{sw}":"V100R001"}}"#), 0),
        (format!(r#"{{"{sw}":{{"$in":["x","V100*"]}}}}"#), 1),
        (format!(r#"{{"{sw}":{{"$nin":["x","V100*"]}}}}"#), 0),
        (
            format!(r#"{{"{sw}":{{"$regex":"^v1","$options":"i"}}}}"#),
            1,
        ),
        (format!(r#"{{"{sw}":{{"$not":{{"$regex":"^V1"}}}}}}"#), 0),
        (format!(r#"{{"{sw}._writable":false}}"#), 1),
        (format!(r#"{{"{sw}":{{"$exists":true}}}}"#), 1),
        (r#"{"Nope.Param":{"$exists":false}}"#.to_owned(), 1),
        (r#"{"Nope.Param":{"$ne":"x"}}"#.to_owned(), 1),
        (r#"{"_lastInform":{"$lt":"2020-01-01"}}"#.to_owned(), 0),
        (r#"{"_tags":{"$in":["a","vip"]}}"#.to_owned(), 1),
        (
            r#"{"$and":[{"_tags":"vip"},{"_id":"202BC1-BM632w-000000"}]}"#.to_owned(),
            1,
        ),
        (r#"{"$nor":[{"_tags":"vip"}]}"#.to_owned(), 0),
        (r#"{}"#.to_owned(), 1),
    ] {
        assert_eq!(count(&q), want, "{q}");
    }
}

#[test]
fn bad_queries_are_clear_errors() {
    for (q, why) in [
        ("{bad", "SyntaxError"),
        ("[1]", "a query is a JSON object"),
        (r#"{"$where":"1"}"#, "unknown operator $where"),
        (
            r#"{"a":{"$elemMatch":{}}}"#,
            "unsupported operator $elemMatch",
        ),
        (r#"{"$or":[]}"#, "non-empty"),
        (r#"{"a":{"$regex":"("}}"#, "invalid regular expression"),
        (r#"{"a..b":1}"#, "invalid field name"),
    ] {
        let e = Query::parse(q, Collection::Devices)
            .unwrap_err()
            .to_string();
        assert!(e.contains(why), "{q}: {e}");
    }
    let deep = format!("{}{}", r#"{"$and":["#.repeat(40), "]}".repeat(40));
    assert!(Query::parse(&deep, Collection::Devices).is_err());
    let long = format!(r#"{{"a":"{}"}}"#, "x".repeat(70_000));
    assert!(Query::parse(&long, Collection::Devices).is_err());
}

#[test]
fn index_plans_cover_every_match() {
    let plan = |q: &str| Query::parse(q, Collection::Devices).unwrap().plan();
    assert_eq!(plan(r#"{"_id":"a"}"#), Plan::Ids(vec!["a".into()]));
    assert_eq!(
        plan(r#"{"_deviceId._SerialNumber":"000000","_tags":"x"}"#),
        Plan::Serials(vec!["000000".into()]),
        "the numeric reading of 000000 cannot match a string field"
    );
    assert_eq!(
        plan(r#"{"_tags":{"$in":["a","b"]}}"#),
        Plan::Tags(vec!["a".into(), "b".into()])
    );
    assert_eq!(
        plan(r#"{"Device.Ethernet.Interface.1.MACAddress":"AA:BB:CC:DD:EE:FF"}"#),
        Plan::Macs(vec!["AA:BB:CC:DD:EE:FF".into()])
    );
    assert_eq!(
        plan(r#"{"_deviceId._OUI":"1C61B4","_deviceId._ProductClass":"Device2"}"#),
        Plan::Model("1C61B4-Device2".into())
    );
    let exact = |q: &str| {
        Query::parse(q, Collection::Devices)
            .unwrap()
            .plan_is_exact()
    };
    assert!(exact(r#"{"_tags":"a"}"#) && exact(r#"{"_deviceId._SerialNumber":"S"}"#));
    assert!(
        !exact(r#"{"_tags":"a","_id":"b"}"#),
        "a second condition must be checked"
    );
    assert!(!exact(
        r#"{"Device.Ethernet.Interface.1.MACAddress":"AA:BB:CC:DD:EE:FF"}"#
    ));
    assert_eq!(
        plan(r#"{"_deviceId._ProductClass":"Device2"}"#),
        Plan::ProductClasses(vec!["Device2".into()])
    );
    // Wildcards, regexes, hosts' MACs and disjunctions need a scan.
    for q in [
        r#"{"_deviceId._SerialNumber":"0000*"}"#,
        r#"{"Device.Hosts.Host.1.MACAddress":"AA:BB:CC:DD:EE:FF"}"#,
        r#"{"$or":[{"_id":"a"},{"_tags":"b"}]}"#,
        r#"{"_lastInform":{"$exists":true}}"#,
    ] {
        assert_eq!(plan(q), Plan::Scan, "{q}");
    }
    // Last-inform ranges use the last-inform index; strings are read as dates.
    let day = nbi::date::parse("2020-01-01").unwrap();
    assert_eq!(
        plan(r#"{"_lastInform":{"$gt":"2020-01-01"}}"#),
        Plan::InformRange(Some(day), None)
    );
    assert_eq!(
        plan(
            r#"{"_lastInform":{"$gte":"2020-01-01","$lt":"2020-01-02"},"_deviceId._SerialNumber":{"$ne":"x"}}"#
        ),
        Plan::InformRange(Some(day), Some(day + 86_400_000))
    );
    assert_eq!(
        plan(r#"{"_deviceId._ProductClass":{"$in":["A","B"]}}"#),
        Plan::ProductClasses(vec!["A".into(), "B".into()]),
        "several product classes use the index too"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(q in ".{0,200}") {
        let _ = Query::parse(&q, Collection::Devices).map(|q| q.matches(&doc::Node::Null));
    }

    #[test]
    fn generated_queries_parse_or_fail_cleanly(
        field in prop::sample::select(vec!["_id", "_tags", "A.B", "_lastInform", "A.B._value", "$or", "$and", "$nor"]),
        op in prop::sample::select(vec!["", "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists", "$regex", "$not", "$bogus"]),
        value in prop::sample::select(vec!["\"x\"", "\"/a/i\"", "\"2020-01-01\"", "\"1*\"", "3", "true", "null", "[\"a\",1]", "{\"$eq\":1}", "[{\"_id\":\"a\"}]", "\"(\"", "[]"]),
    ) {
        let inner = if op.is_empty() { value.to_owned() } else { format!("{{\"{op}\":{value}}}") };
        let q = format!("{{\"{field}\":{inner}}}");
        let doc = document();
        if let Ok(parsed) = Query::parse(&q, Collection::Devices) {
            let _ = parsed.matches(&doc);
            let _ = parsed.plan();
        }
    }
}

/// Last-inform ranges answered through the index give what a full scan gives, for devices
/// written through the store and for a periodic Inform still written behind.
#[tokio::test]
async fn last_inform_ranges_through_the_index_match_a_scan() {
    use acs::store::{DeviceMeta, Expect, Identity, Op};
    let t = crate::harness::start().await;
    let hour = 3_600_000i64;
    let base = nbi::date::parse("2026-01-01").unwrap();
    let mut ops = Vec::new();
    for i in 0..40i64 {
        let id = acs::DeviceId::parse(&format!("1C61B4-Device2-R{i:03}")).unwrap();
        let mut meta = DeviceMeta::new(id, Identity::default());
        // Spread over two days, several devices per hour, some on hour boundaries.
        meta.last_inform_ms = base + i * hour * 6 / 5 + if i % 7 == 0 { 0 } else { 1_234 };
        ops.push(Op::PutDevice {
            meta,
            expect: Expect::Absent,
        });
    }
    t.acs.write(ops).await.unwrap();
    let ids =
        |q: &str| -> String { format!("/devices/?projection=_id&query={}", crate::e2e::enc(q)) };
    for range in [
        r#"{"$gt":"2026-01-01T10:00:00.000Z"}"#,
        r#"{"$gte":"2026-01-01T12:00:00.000Z","$lt":"2026-01-02T01:00:00.000Z"}"#,
        r#"{"$lte":"2026-01-01T00:00:00.000Z"}"#,
        r#"{"$lt":"2025-01-01"}"#,
    ] {
        let indexed = format!(r#"{{"_lastInform":{range}}}"#);
        // An `$or` with one branch means the same but cannot use an index.
        let scanned = format!(r#"{{"$or":[{{"_lastInform":{range}}}]}}"#);
        let a = crate::harness::call(&t, "GET", &ids(&indexed), None).await;
        let b = crate::harness::call(&t, "GET", &ids(&scanned), None).await;
        assert_eq!((a.status, &a.body), (200, &b.body), "{range}");
        assert_eq!(a.header("total"), b.header("total"), "{range}");
    }
    let all = crate::harness::call(
        &t,
        "GET",
        &ids(r#"{"_lastInform":{"$gt":"2020-01-01"}}"#),
        None,
    )
    .await;
    assert_eq!(all.header("total"), Some("40"));
}
