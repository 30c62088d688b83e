//! The webhook and outages routers over loopback HTTP: every Kuma variant as Kuma sends it,
//! authentication, limits, and the incidents the events make.

use std::sync::Arc;
use std::time::Duration;

use incidents::correlate::IncidentKind;
use incidents::kuma::{KumaLimits, MonitorId, MonitorMap, MonitorTarget};
use incidents::{IncidentEvent, IncidentService, NoDirectory, ServiceConfig};
use olt_poller::OltId;

use crate::kuma::{DOWN, LEGACY, TEST, UP, recorded_multipart};
use crate::support::{SECRET, chunked, http, post_kuma, request, serve, wait_for};

const PATH: &str = "/webhook/kuma";

fn config() -> ServiceConfig {
    let mut monitors = MonitorMap::default();
    monitors.monitors.insert(
        MonitorId(42),
        MonitorTarget {
            olt: OltId::new("olt01").unwrap(),
            port: None,
        },
    );
    let mut c = ServiceConfig {
        kuma_limits: KumaLimits {
            max_body: 16 * 1024,
            max_depth: 32,
        },
        ..ServiceConfig::default()
    };
    c.correlator.monitors = monitors;
    c.correlator.quiet_time = Duration::from_millis(100);
    c.correlator.min_open = Duration::from_millis(100);
    c
}

async fn start() -> (IncidentService, std::net::SocketAddr) {
    serve(config(), Arc::new(NoDirectory), None).await
}

fn bearer() -> String {
    format!("Bearer {SECRET}")
}

fn query_of(json: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    form_urlencoded::Serializer::new(String::new())
        .append_pair("msg", v["msg"].as_str().unwrap())
        .append_pair("heartbeat", &v["heartbeat"].to_string())
        .append_pair("monitor", &v["monitor"].to_string())
        .finish()
}

#[tokio::test]
async fn kuma_down_then_up_opens_and_resolves_an_olt_incident() {
    let (service, addr) = start().await;
    let mut events = service.subscribe();
    let (status, body) = post_kuma(addr, DOWN.as_bytes()).await;
    assert_eq!(status, 202, "{body}");
    let opened = wait_for(&mut events, 10, |e| {
        matches!(e, IncidentEvent::Opened { .. })
    })
    .await;
    let inc = opened.incident();
    assert_eq!(inc.kind, IncidentKind::OltUnreachable);
    assert_eq!(inc.olt.as_ref().unwrap().as_str(), "olt01");
    assert_eq!(inc.evidence.kuma[0].monitor_id, MonitorId(42));

    // The outages API lists it.
    let (status, body) = http(addr, &request("GET", "/outages?state=open", &[], b"")).await;
    assert_eq!(status, 200);
    let list: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(list["incidents"][0]["kind"], "olt_unreachable");
    let id = list["incidents"][0]["id"].as_u64().unwrap();
    let (status, body) = http(addr, &request("GET", &format!("/outages/{id}"), &[], b"")).await;
    assert_eq!(status, 200);
    assert!(body.contains("\"evidence\""), "{body}");

    // Kuma 2.x GET variant with the UP; the secret in X-Kuma-Token.
    let q = query_of(UP);
    let (status, _) = http(
        addr,
        &request(
            "GET",
            &format!("{PATH}?{q}"),
            &[("X-Kuma-Token", SECRET)],
            b"",
        ),
    )
    .await;
    assert_eq!(status, 202);
    let resolved = wait_for(&mut events, 10, |e| {
        matches!(e, IncidentEvent::Resolved { .. })
    })
    .await;
    assert_eq!(resolved.incident().id.0, id);
    let (_, body) = http(addr, &request("GET", "/outages?state=resolved", &[], b"")).await;
    assert!(body.contains(&id.to_string()));
    let (status, _) = http(addr, &request("GET", "/outages/12345", &[], b"")).await;
    assert_eq!(status, 404);
    let (status, _) = http(addr, &request("GET", "/outages?state=maybe", &[], b"")).await;
    assert_eq!(status, 400);
    assert_eq!(service.metrics().webhook_events, 2);
    service.shutdown().await;
}

#[tokio::test]
async fn every_variant_is_accepted_as_kuma_sends_it() {
    let (service, addr) = start().await;
    let auth = bearer();
    // form-data: real multipart, chunked, with the boundary form-data generates.
    let (boundary, body) = recorded_multipart();
    let ct = format!("multipart/form-data; boundary={boundary}");
    let (s, b) = http(
        addr,
        &chunked(
            PATH,
            &[("Authorization", &auth), ("Content-Type", &ct)],
            &body,
            300,
        ),
    )
    .await;
    assert_eq!(s, 202, "{b}");
    // custom: a JSON template sent as urlencoded; the secret in the query string.
    let (s, b) = http(
        addr,
        &request(
            "POST",
            &format!("{PATH}?token={SECRET}"),
            &[("Content-Type", "application/x-www-form-urlencoded")],
            DOWN.as_bytes(),
        ),
    )
    .await;
    assert_eq!(s, 202, "{b}");
    // 1.23.x shape.
    let (s, _) = post_kuma(addr, LEGACY.as_bytes()).await;
    assert_eq!(s, 202);
    // The Test button: 200, nothing happens.
    let (s, _) = post_kuma(addr, TEST.as_bytes()).await;
    assert_eq!(s, 200);
    let m = service.metrics();
    assert_eq!((m.webhook_events, m.webhook_tests), (3, 1));
    service.shutdown().await;
}

#[tokio::test]
async fn a_declared_length_over_the_limit_gets_413_before_the_body() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (service, addr) = start().await;
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {PATH} HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {SECRET}\r\n\
         Content-Type: application/json\r\nContent-Length: 1073741824\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    // Only the head was sent: the answer must not wait for the body.
    let mut buf = [0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
        .await
        .expect("answered before the body")
        .unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert_eq!(service.metrics().webhook_refused.too_large, 1);
}

#[tokio::test]
async fn wrong_secrets_bad_bodies_and_big_bodies_are_refused() {
    let (service, addr) = start().await;
    let json = [("Content-Type", "application/json")];
    let (s, _) = http(addr, &request("POST", PATH, &json, DOWN.as_bytes())).await;
    assert_eq!(s, 401, "no secret");
    let wrong = format!("Bearer {}x", SECRET);
    let (s, _) = http(
        addr,
        &request("POST", PATH, &[("Authorization", &wrong)], DOWN.as_bytes()),
    )
    .await;
    assert_eq!(s, 401, "wrong secret");
    let (s, _) = http(
        addr,
        &request("POST", &format!("{PATH}?token=nope"), &[], DOWN.as_bytes()),
    )
    .await;
    assert_eq!(s, 401, "wrong token parameter");
    let (s, _) = http(
        addr,
        &request(
            "POST",
            PATH,
            &[("X-Kuma-Token", &SECRET[..10])],
            DOWN.as_bytes(),
        ),
    )
    .await;
    assert_eq!(s, 401, "a prefix of the secret");
    let auth = bearer();
    let (s, body) = http(
        addr,
        &request(
            "POST",
            PATH,
            &[("Authorization", &auth)],
            b"{\"heartbeat\":",
        ),
    )
    .await;
    assert_eq!(s, 400);
    assert!(body.contains("not a Kuma notification"), "{body}");
    let big = vec![b' '; 40 * 1024];
    let (s, _) = http(
        addr,
        &request("POST", PATH, &[("Authorization", &auth)], &big),
    )
    .await;
    assert_eq!(s, 413);
    let (s, _) = http(
        addr,
        &chunked(PATH, &[("Authorization", &auth)], &big, 4096),
    )
    .await;
    assert_eq!(s, 413, "chunked bodies are bounded too");
    let (s, _) = http(
        addr,
        &request("GET", PATH, &[("Authorization", &auth)], b""),
    )
    .await;
    assert_eq!(s, 400, "a GET without the notification");
    let r = service.metrics().webhook_refused;
    assert_eq!((r.unauthorized, r.bad_body, r.too_large), (4, 2, 2));
    service.shutdown().await;
}
