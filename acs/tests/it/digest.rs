//! Digest replay over real loopback connections: every way of reusing an answer or a nonce that
//! an eavesdropper or another device could try is refused with a fresh challenge. (A nonce past
//! its lifetime is tested in `cpe_auth`'s unit tests, where time is an argument.)

use crate::harness::{self, Conn, Resp, inform};

fn challenge(resp: &Resp) -> cwmp::auth::DigestChallenge {
    let www = resp.headers["www-authenticate"].to_str().unwrap();
    cwmp::auth::parse_challenge(www).expect("a Digest challenge")
}

/// Device `serial`'s answer to `ch` for `method` and `uri` with count `nc`.
fn answer(
    ch: &cwmp::auth::DigestChallenge,
    serial: &str,
    method: &str,
    uri: &str,
    nc: u32,
) -> String {
    let user = format!("1C61B4-Device2-{serial}");
    let pw = acs::derive_password(&acs::Secret::new(harness::SECRET), &user);
    cwmp::auth::answer_digest(ch, method, uri, &user, &pw, "5eed", nc)
}

async fn start() -> harness::TestAcs {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = harness::quiet(tmp.path());
    harness::start_in(tmp, cfg).await
}

/// Authenticates `serial` on a fresh connection with `auth`: the Inform's answer. A session it
/// opens is ended at once, so the device may inform again.
async fn inform_with(t: &harness::TestAcs, serial: &str, auth: String) -> Resp {
    let mut c = Conn::open(t.addr).await;
    let r = c
        .post(inform(serial, &["2 PERIODIC"]), &[("authorization", auth)])
        .await;
    if r.status == 200 {
        assert_eq!(c.post(Vec::new(), &[]).await.status, 204);
    }
    r
}

/// A challenge issued to `serial`'s first, unauthenticated Inform.
async fn challenged(t: &harness::TestAcs, serial: &str) -> cwmp::auth::DigestChallenge {
    let mut c = Conn::open(t.addr).await;
    let first = c.post(inform(serial, &["2 PERIODIC"]), &[]).await;
    assert_eq!(first.status, 401);
    challenge(&first)
}

fn is_stale(r: &Resp) -> bool {
    r.headers
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("stale=true"))
}

#[tokio::test]
async fn the_same_answer_on_a_new_connection_is_a_replay() {
    let t = start().await;
    let ch = challenged(&t, "R1").await;
    let auth = answer(&ch, "R1", "POST", "/", 1);
    let ok = inform_with(&t, "R1", auth.clone()).await;
    assert_eq!(ok.status, 200);
    let replay = inform_with(&t, "R1", auth).await;
    assert_eq!(replay.status, 401, "same nonce, same nc, new connection");
    assert!(is_stale(&replay));
}

#[tokio::test]
async fn nonce_counts_going_backwards_are_refused() {
    let t = start().await;
    let ch = challenged(&t, "R2").await;
    assert_eq!(
        inform_with(&t, "R2", answer(&ch, "R2", "POST", "/", 7))
            .await
            .status,
        200
    );
    for nc in [7, 6, 1] {
        let r = inform_with(&t, "R2", answer(&ch, "R2", "POST", "/", nc)).await;
        assert_eq!(r.status, 401, "nc {nc} after 7");
        assert!(is_stale(&r));
    }
    assert_eq!(
        inform_with(&t, "R2", answer(&ch, "R2", "POST", "/", 8))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn a_nonce_device_a_authenticated_with_is_refused_to_device_b() {
    let t = start().await;
    let ch = challenged(&t, "RA").await;
    assert_eq!(
        inform_with(&t, "RA", answer(&ch, "RA", "POST", "/", 1))
            .await
            .status,
        200
    );
    // B's own, correct password, on A's nonce.
    let r = inform_with(&t, "RB", answer(&ch, "RB", "POST", "/", 2)).await;
    assert_eq!(r.status, 401);
    assert!(is_stale(&r), "B gets a fresh challenge of its own");
    let own = challenge(&r);
    assert_eq!(
        inform_with(&t, "RB", answer(&own, "RB", "POST", "/", 1))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn an_answer_computed_for_another_uri_or_method_is_refused() {
    let t = start().await;
    let ch = challenged(&t, "R3").await;
    for (method, uri) in [("POST", "/elsewhere"), ("GET", "/"), ("PUT", "/")] {
        let r = inform_with(&t, "R3", answer(&ch, "R3", method, uri, 1)).await;
        assert_eq!(r.status, 401, "{method} {uri}");
    }
    // None of those spent the nonce count: the right answer with nc 1 still works.
    assert_eq!(
        inform_with(&t, "R3", answer(&ch, "R3", "POST", "/", 1))
            .await
            .status,
        200
    );
    assert!(t.acs.metrics.auth_failures.get() >= 3);
}

#[tokio::test]
async fn a_nonce_the_acs_never_issued_is_stale() {
    let t = start().await;
    let mut ch = challenged(&t, "R4").await;
    ch.nonce = "00000000000000000000000000000000".into();
    let r = inform_with(&t, "R4", answer(&ch, "R4", "POST", "/", 1)).await;
    assert_eq!(r.status, 401);
    assert!(is_stale(&r));
}
