//! The connection-request server over real loopback HTTP.

use std::time::Duration;

use bytes::Bytes;
use cwmp::auth::{answer_digest, parse_challenge};
use http_body_util::Empty;
use hyper_util::rt::TokioIo;

use crate::acs::{AcsAuth, TestAcs};
use fibreplane_lab::{Fleet, SimConfig};

/// One request on a fresh connection; returns the status and the WWW-Authenticate header.
pub(crate) async fn get(url: &str, method: &str, auth: Option<String>) -> (u16, Option<String>) {
    let rest = url.strip_prefix("http://").unwrap();
    let (authority, path) = rest.split_at(rest.find('/').unwrap());
    let tcp = tokio::net::TcpStream::connect(authority).await.unwrap();
    let (mut tx, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .unwrap();
    tokio::spawn(conn);
    let mut req = http::Request::builder()
        .method(method)
        .uri(path)
        .header("host", authority);
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let resp = tx
        .send_request(req.body(Empty::<Bytes>::new()).unwrap())
        .await
        .unwrap();
    let www = resp
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    (resp.status().as_u16(), www)
}

/// The ACS side of a connection request: GET, answer the Digest challenge, GET again.
pub(crate) async fn connection_request(url: &str, user: &str, pass: &str) -> u16 {
    let (status, www) = get(url, "GET", None).await;
    assert_eq!(status, 401);
    let ch = parse_challenge(&www.unwrap()).unwrap();
    assert_eq!(ch.qop.as_deref(), Some("auth"));
    let path = &url[url.find("/cr/").unwrap()..];
    let answer = answer_digest(&ch, "GET", path, user, pass, "abcdef", 1);
    get(url, "GET", Some(answer)).await.0
}

#[tokio::test]
async fn digest_connection_requests_trigger_a_session() {
    let acs = TestAcs::start(AcsAuth::Open).await;
    let config = SimConfig {
        acs_url: acs.url(),
        count: 3,
        ..SimConfig::default()
    };
    let fleet = Fleet::start(config).await.unwrap();
    let url = fleet.cr_url(1);
    assert_eq!(
        fleet
            .param(1, "Device.ManagementServer.ConnectionRequestURL")
            .as_deref(),
        Some(url.as_str())
    );
    assert!(fleet.set_param(
        1,
        "Device.ManagementServer.ConnectionRequestUsername",
        "acs"
    ));
    assert!(fleet.set_param(1, "Device.ManagementServer.ConnectionRequestPassword", "pw"));

    assert_eq!(connection_request(&url, "acs", "wrong").await, 401);
    assert_eq!(connection_request(&url, "other", "pw").await, 401);
    assert_eq!(fleet.sessions(1), 0);
    assert_eq!(connection_request(&url, "acs", "pw").await, 200);
    assert!(fleet.wait_sessions(1, 1, Duration::from_secs(10)).await);
    let last = fleet.last_session(1).unwrap();
    assert!(
        last.events.contains(&"6 CONNECTION REQUEST".to_owned()),
        "{:?}",
        last.events
    );
    assert!(last.events.contains(&"0 BOOTSTRAP".to_owned()));
    assert_eq!(acs.seen().informs.len(), 1);

    // A second CR: the connection-request event is not retained from the first session.
    assert_eq!(connection_request(&url, "acs", "pw").await, 200);
    assert!(fleet.wait_sessions(1, 2, Duration::from_secs(10)).await);
    let last = fleet.last_session(1).unwrap();
    assert_eq!(last.events, ["6 CONNECTION REQUEST"]);

    // Only GET, only known CPEs.
    assert_eq!(get(&url, "POST", None).await.0, 405);
    let far = url.replace("/cr/1", "/cr/99");
    assert_eq!(get(&far, "GET", None).await.0, 404);
    assert_eq!(fleet.report().connection_requests, 2);
    assert!(fleet.report().connection_requests_refused >= 2);
    fleet.shutdown().await;
}

#[tokio::test]
async fn a_connection_request_answer_cannot_be_replayed_or_moved_to_another_cpe() {
    let acs = TestAcs::start(AcsAuth::Open).await;
    let config = SimConfig {
        acs_url: acs.url(),
        count: 2,
        ..SimConfig::default()
    };
    let fleet = Fleet::start(config).await.unwrap();
    for i in 0..2 {
        let p = "Device.ManagementServer.ConnectionRequest";
        assert!(fleet.set_param(i, &format!("{p}Username"), "acs"));
        assert!(fleet.set_param(i, &format!("{p}Password"), "pw"));
    }
    let (one, zero) = (fleet.cr_url(1), fleet.cr_url(0));
    let path = |url: &str| url[url.find("/cr/").unwrap()..].to_owned();
    let (_, www) = get(&one, "GET", None).await;
    let ch = parse_challenge(&www.unwrap()).unwrap();
    // HTTP Basic with the right password is not Digest: challenged again.
    let basic = cwmp::auth::basic_header("acs", "pw");
    assert_eq!(get(&one, "GET", Some(basic)).await.0, 401);
    // CPE 1's nonce with CPE 0's path, sent to CPE 0: CPE 0 never issued it.
    let moved = answer_digest(&ch, "GET", &path(&zero), "acs", "pw", "abcdef", 1);
    assert_eq!(get(&zero, "GET", Some(moved)).await.0, 401);
    // An answer for another CPE's URI is refused by this one.
    let wrong_uri = answer_digest(&ch, "GET", &path(&zero), "acs", "pw", "abcdef", 1);
    assert_eq!(get(&one, "GET", Some(wrong_uri)).await.0, 401);
    let good = answer_digest(&ch, "GET", &path(&one), "acs", "pw", "abcdef", 1);
    assert_eq!(get(&one, "GET", Some(good.clone())).await.0, 200);
    assert!(fleet.wait_sessions(1, 1, Duration::from_secs(10)).await);
    // While the session it asked for runs the CPE answers 503; then the replay is judged.
    let mut replay = get(&one, "GET", Some(good.clone())).await;
    for _ in 0..100 {
        if replay.0 != 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        replay = get(&one, "GET", Some(good.clone())).await;
    }
    let (status, www) = replay;
    assert_eq!(status, 401, "the nonce is spent by its first use");
    assert!(www.is_some(), "with a fresh challenge");
    fleet.shutdown().await;
}
