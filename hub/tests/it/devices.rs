//! A device's summary and the technicians' diagnostics through the hub, against cpe-sim CPEs
//! that really run their tests on loopback (UDP echo for ping, HTTP to the hub's speed-test
//! endpoints for download and upload), and a technician token's scope.

use crate::harness::{self, Options, TOKEN, device};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn summaries_and_diagnostics_for_staff_and_for_the_technician_of_the_location() {
    let t = harness::start(Options {
        devices: 2,
        locations: vec![(0, "LOC-00001"), (1, "LOC-00002")],
        ..Options::default()
    })
    .await;
    t.polled().await;
    let d0 = device(0);
    let (status, s) = t.get(&format!("/devices/{d0}/summary"), Some(TOKEN)).await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(
        s["summary"]["identity"]["serial_number"]["value"],
        "FPSIM00000000"
    );
    assert_eq!(
        s["olt"]["olt"], "olt-demo",
        "the OLT's view of the same ONU: {}",
        s["olt"]
    );
    assert!(s["summary"]["wifi"].is_object());
    assert_eq!(
        t.get("/devices/1C61B4-Device2-NOPE/summary", Some(TOKEN))
            .await
            .0,
        404
    );

    // The technician of LOC-00001 reaches device 0, not device 1, and no staff route.
    let tech = harness::tech_token("LOC-00001");
    assert_eq!(
        t.get(&format!("/devices/{d0}/summary"), Some(&tech))
            .await
            .0,
        200
    );
    assert_eq!(
        t.get(&format!("/devices/{}/summary", device(1)), Some(&tech))
            .await
            .0,
        403
    );
    assert_eq!(
        t.post(
            &format!("/devices/{}/diagnostics/ping", device(1)),
            Some(&tech),
            &json!({})
        )
        .await
        .0,
        403
    );
    assert_eq!(t.get("/network/topology", Some(&tech)).await.0, 403);

    // Ping from the CPE (UDP echo on loopback), run by the technician.
    let (status, ping) = t
        .post(
            &format!("/devices/{d0}/diagnostics/ping"),
            Some(&tech),
            &json!({"count": 3}),
        )
        .await;
    assert_eq!(status, 200, "{ping}");
    assert_eq!(ping["ok"], true, "{ping}");
    let m = &ping["result"]["measurement"];
    assert_eq!(
        (m["kind"].as_str(), m["ok"].as_u64()),
        (Some("ping"), Some(3)),
        "{m}"
    );
    // A speed test: the CPE downloads from the hub's own speed-test endpoint.
    let (status, dl) = t
        .post(
            &format!("/devices/{d0}/diagnostics/download"),
            Some(TOKEN),
            &json!({"length": 2_000_000}),
        )
        .await;
    assert_eq!(status, 200, "{dl}");
    let m = &dl["result"]["measurement"];
    assert_eq!(m["kind"], "download", "{dl}");
    assert!(m["test_bytes"].as_u64().unwrap_or(0) >= 2_000_000, "{dl}");
    assert!(m["throughput_bps"].as_f64().unwrap_or(0.0) > 0.0, "{dl}");
    let (status, up) = t
        .post(
            &format!("/devices/{d0}/diagnostics/upload"),
            Some(TOKEN),
            &json!({"length": 500_000}),
        )
        .await;
    assert_eq!(status, 200, "{up}");
    assert_eq!(up["ok"], true, "{up}");
    // Bad requests are 400s, unknown tests 404.
    assert_eq!(
        t.post(
            &format!("/devices/{d0}/diagnostics/ping"),
            Some(TOKEN),
            &json!({"hots": "x"})
        )
        .await
        .0,
        400
    );
    assert_eq!(
        t.post(
            &format!("/devices/{d0}/diagnostics/nmap"),
            Some(TOKEN),
            &json!({})
        )
        .await
        .0,
        404
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_diagnostic_streams_its_progress_and_ends_with_its_result() {
    let t = harness::start(Options {
        devices: 1,
        ..Options::default()
    })
    .await;
    let resp = t
        .client
        .post(t.url(&format!("/devices/{}/diagnostics/traceroute", device(0))))
        .bearer_auth(TOKEN)
        .header("accept", "text/event-stream")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let text = resp.text().await.unwrap();
    let steps: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .collect();
    assert!(steps.contains(&"progress"), "{text}");
    assert_eq!(steps.last(), Some(&"result"), "{text}");
    assert!(text.contains("\"step\":\"running\""), "{text}");
    assert!(text.contains("\"ok\":true"), "{text}");
    t.stop().await;
}
