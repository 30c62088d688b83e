//! The hub API against a stack with lab peers: lookups that join the ACS and the OLT poll, the
//! topology, OLT and modem views, metrics, and who may call what.

use crate::harness::{self, Options, TECH_KEY, TOKEN};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_join_the_acs_and_the_olt_and_the_topology_ties_them() {
    let t = harness::start(Options {
        devices: 8,
        modems: 1,
        ..Options::default()
    })
    .await;
    t.polled().await;
    let (status, body) = t
        .get("/devices/lookup?serial=FPSIM00000003", Some(TOKEN))
        .await;
    assert_eq!(status, 200, "{body}");
    let d = &body["devices"][0];
    assert_eq!(d["id"], "1C61B4-Device2-FPSIM00000003");
    assert_eq!(d["acs_online"], true);
    assert_eq!(
        d["olt"]["olt"], "olt-demo",
        "the OLT's ONU with the same serial: {d}"
    );
    assert!(d["olt"]["state"].is_object());
    let mac = d["macs"][0].as_str().expect("a MAC").to_owned();
    let (_, by_mac) = t
        .get(
            &format!(
                "/devices/lookup?mac={}",
                mac.to_lowercase().replace(':', "-")
            ),
            Some(TOKEN),
        )
        .await;
    assert_eq!(
        by_mac["devices"][0]["id"], d["id"],
        "any MAC spelling finds it"
    );
    let (status, _) = t.get("/devices/lookup?serial=A&mac=B", Some(TOKEN)).await;
    assert_eq!(status, 400);
    let (_, none) = t.get("/devices/lookup?serial=NOPE", Some(TOKEN)).await;
    assert_eq!(none["devices"], json!([]));
    // The provisioner matches the device to its ERPNext Service Equipment row: the lookup shows
    // the links, and finds the device by customer and by service location.
    let mut links = serde_json::Value::Null;
    for _ in 0..200 {
        let (_, b) = t
            .get("/devices/lookup?serial=FPSIM00000003", Some(TOKEN))
            .await;
        links = b["devices"][0]["links"].clone();
        if links["customer"].is_string() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        links["equipment"]
            .as_str()
            .is_some_and(|e| e.starts_with("EQP-")),
        "{links}"
    );
    let customer = links["customer"].as_str().expect("a customer").to_owned();
    let location = links["location"].as_str().expect("a location").to_owned();
    for q in [
        format!("customer={customer}"),
        format!("location={location}"),
    ] {
        let (_, b) = t.get(&format!("/devices/lookup?{q}"), Some(TOKEN)).await;
        assert_eq!(b["devices"][0]["id"], d["id"], "{q}: {b}");
    }

    let (status, topo) = t.get("/network/topology", Some(TOKEN)).await;
    assert_eq!(status, 200);
    let nodes = topo["elements"]["nodes"].as_array().unwrap();
    let count = |kind: &str| nodes.iter().filter(|n| n["data"]["kind"] == kind).count();
    assert_eq!(count("olt"), 1);
    assert_eq!(count("pon_port"), 1, "8 ONUs fit one 1:32 port");
    assert_eq!(count("onu"), 32);
    assert_eq!(count("cpe"), 8, "each CPE hangs under its ONU");
    let edges = topo["elements"]["edges"].as_array().unwrap();
    assert!(
        edges
            .iter()
            .any(|e| e["data"]["target"] == "cpe:1C61B4-Device2-FPSIM00000003")
    );

    let (_, olts) = t.get("/olt", Some(TOKEN)).await;
    assert_eq!(olts["olts"][0]["onus"], 32);
    let (status, olt) = t.get("/olt/olt-demo", Some(TOKEN)).await;
    assert_eq!(status, 200);
    assert_eq!(olt["snapshot"]["onus"].as_array().unwrap().len(), 32);
    assert_eq!(t.get("/olt/nope", Some(TOKEN)).await.0, 404);

    // The first CPE's web UI through the in-process modem bridge (native path).
    let (status, modem) = t.get("/modem/FPSIM00000000/device", Some(TOKEN)).await;
    assert_eq!(status, 200, "{modem}");
    assert_eq!(
        modem["diagnostics"]["DeviceInfo"]["SerialNumber"], "FPSIM00000000",
        "{modem}"
    );
    assert_eq!(
        t.get("/modem/FPSIM00000099/device", Some(TOKEN)).await.0,
        404
    );

    let metrics = t.metrics().await;
    for line in [
        "fibreplane_acs_informs_total ",
        "fibreplane_olt_onus{olt=\"olt-demo\"} 32",
        "fibreplane_olt_reachable{olt=\"olt-demo\"} 1",
        "fibreplane_bridge_reads_total 2",
        "fibreplane_events_published_total",
        "fibreplane_provisioning_records 8",
        "fibreplane_provisioning_erp_up 1",
    ] {
        assert!(metrics.contains(line), "{line} in\n{metrics}");
    }
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_refuses_callers_without_the_right_credentials() {
    let t = harness::start(Options {
        devices: 1,
        trusted_proxy: true,
        ..Options::default()
    })
    .await;
    let tech = harness::tech_token("LOC-00001");
    // Staff-only routes: no token 401, a wrong token 401, a technician 403, staff 200.
    for path in [
        "/devices/lookup?serial=FPSIM00000000",
        "/network/topology",
        "/olt",
        "/metrics",
        "/events?topics=network",
    ] {
        assert_eq!(t.get(path, None).await.0, 401, "{path}");
        assert_eq!(t.get(path, Some("wrong-token")).await.0, 401, "{path}");
        assert_eq!(t.get(path, Some(&tech)).await.0, 403, "{path}");
        if !path.starts_with("/events") {
            assert_eq!(t.get(path, Some(TOKEN)).await.0, 200, "{path}");
        }
    }
    // Technician tokens: issued by staff only, at most 24 h, for a location.
    let ask = json!({"technician": "tech-2", "job": "JOB-9", "location": "LOC-00002"});
    assert_eq!(t.post("/tech/tokens", None, &ask).await.0, 401);
    assert_eq!(t.post("/tech/tokens", Some(&tech), &ask).await.0, 403);
    let (status, issued) = t.post("/tech/tokens", Some(TOKEN), &ask).await;
    assert_eq!(status, 200);
    let claims = hub::auth::verify_tech(
        TECH_KEY.as_bytes(),
        issued["token"].as_str().unwrap(),
        issued["expires"].as_i64().unwrap() - 10,
    )
    .unwrap();
    assert_eq!(claims.loc, "LOC-00002");
    let too_long = json!({"technician": "t", "job": "j", "location": "L", "ttl_secs": 90000});
    assert_eq!(t.post("/tech/tokens", Some(TOKEN), &too_long).await.0, 400);
    assert_eq!(
        t.post("/tech/tokens", Some(TOKEN), &json!({"job": 1}))
            .await
            .0,
        400
    );
    // A trusted proxy's identity header is staff; the header alone from elsewhere is not
    // (this stack trusts 127.0.0.1 only, the test's own address).
    let proxied = t
        .client
        .get(t.url("/olt"))
        .header("X-Forwarded-User", "alice")
        .send()
        .await
        .unwrap();
    assert_eq!(proxied.status().as_u16(), 200);
    // Open routes.
    assert_eq!(t.get("/healthz", None).await.0, 200);
    let (status, spec) = t.get("/openapi.json", None).await;
    assert_eq!(status, 200);
    assert!(spec["paths"]["/devices/lookup"].is_object(), "{spec}");
    let page = t.client.get(t.url("/j/diagnostic")).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    t.stop().await;
}
