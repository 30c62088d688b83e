//! The CWMP server over real loopback HTTP: methods, authentication, limits, encodings, cookies,
//! one session per device, overload shedding, and hostile bodies.

use crate::harness::{self, Conn, answer, inform, session};
use acs::{AcsConfig, CpeAuthMode};
use proptest::prelude::*;
use std::io::Write;

async fn start_quiet() -> harness::TestAcs {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = harness::quiet(tmp.path());
    harness::start_in(tmp, cfg).await
}

#[tokio::test]
async fn only_post_is_allowed() {
    let t = start_quiet().await;
    let mut c = Conn::open(t.addr).await;
    let r = c.request("GET", bytes::Bytes::new(), &[]).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.headers["allow"], "POST");
}

#[tokio::test]
async fn sharded_listeners_share_one_port_and_serve_every_session() {
    let tmp = tempfile::tempdir().unwrap();
    let t = harness::start_sharded(harness::quiet(tmp.path()), 2).await;
    // Each session is a new TCP connection, which the kernel hands to either shard.
    for i in 0..24 {
        let serial = format!("SH{i}");
        let (mut c, _) = session(&t, &serial, &["1 BOOT"]).await;
        assert_eq!(c.post(Vec::new(), &[]).await.status, 204);
        let meta = t.acs.store().get(&harness::device(&serial)).await.unwrap();
        assert!(meta.is_some(), "{serial} registered");
    }
    assert_eq!(t.acs.live_sessions(), 0);
    // Shutdown stops every shard thread and releases the store.
    let dir = t.stop().await;
    assert!(dir.path().exists());
}

#[tokio::test]
async fn digest_session_runs_inform_then_204_and_registers_the_device() {
    let t = start_quiet().await;
    let (mut c, resp) = session(&t, "S100", &["0 BOOTSTRAP", "1 BOOT"]).await;
    let env = resp.envelope();
    assert!(matches!(
        env.body,
        cwmp::Body::InformResponse { max_envelopes: 1 }
    ));
    assert_eq!(
        env.header.id.as_deref(),
        Some("1"),
        "the Inform's ID is echoed"
    );
    assert!(c.cookie.is_some(), "a session cookie is set");
    let end = c.post(Vec::new(), &[]).await;
    assert_eq!(end.status, 204);
    let id = acs::DeviceId::parse("1C61B4-Device2-S100").unwrap();
    let meta = t
        .acs
        .store()
        .get(&id)
        .await
        .unwrap()
        .expect("registered")
        .value;
    assert_eq!(meta.identity.serial_number, "S100");
    assert!(meta.last_boot_ms.is_some() && meta.last_bootstrap_ms.is_some());
    assert_eq!(meta.connection_request_url, "http://127.0.0.1:9/cr");
    assert_eq!(t.acs.live_sessions(), 0);
}

#[tokio::test]
async fn wrong_credentials_are_refused_and_the_second_failure_closes() {
    let t = start_quiet().await;
    let mut c = Conn::open(t.addr).await;
    let first = c.post(inform("S101", &["2 PERIODIC"]), &[]).await;
    assert_eq!(first.status, 401);
    let www = first.headers["www-authenticate"].to_str().unwrap();
    assert!(
        www.starts_with("Digest") && www.contains("qop=\"auth\""),
        "{www}"
    );
    let bad = answer(&first, "S101", Some("wrong"));
    let r = c
        .post(inform("S101", &["2 PERIODIC"]), &[("authorization", bad)])
        .await;
    assert_eq!(r.status, 401);
    assert!(r.headers.get("connection").is_none());
    let bad = answer(&r, "S101", Some("wrong"));
    let r = c
        .post(inform("S101", &["2 PERIODIC"]), &[("authorization", bad)])
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.headers["connection"], "close");
    assert!(t.acs.metrics.auth_failures.get() >= 2);
}

#[tokio::test]
async fn a_digest_answer_cannot_be_replayed_on_another_connection() {
    let t = start_quiet().await;
    let mut a = Conn::open(t.addr).await;
    let ch = a.post(inform("S102", &["2 PERIODIC"]), &[]).await;
    let auth = answer(&ch, "S102", None);
    assert_eq!(
        a.post(
            inform("S102", &["2 PERIODIC"]),
            &[("authorization", auth.clone())]
        )
        .await
        .status,
        200
    );
    assert_eq!(a.post(Vec::new(), &[]).await.status, 204);
    let mut b = Conn::open(t.addr).await;
    let replay = b
        .post(inform("S102", &["2 PERIODIC"]), &[("authorization", auth)])
        .await;
    assert_eq!(replay.status, 401, "same nonce and nonce count again");
    assert!(
        replay.headers["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("stale=true")
    );
}

#[tokio::test]
async fn a_nonce_may_be_reused_with_a_higher_nonce_count_on_the_next_connection() {
    let t = start_quiet().await;
    let mut a = Conn::open(t.addr).await;
    let ch = a.post(inform("S109", &["2 PERIODIC"]), &[]).await;
    let auth = answer(&ch, "S109", None);
    assert_eq!(
        a.post(inform("S109", &["2 PERIODIC"]), &[("authorization", auth)])
            .await
            .status,
        200
    );
    assert_eq!(a.post(Vec::new(), &[]).await.status, 204);
    // Pre-emptive Digest (RFC 7616): the next session answers the same challenge with nc=2
    // and needs no 401 round trip.
    let challenge =
        cwmp::auth::parse_challenge(ch.headers["www-authenticate"].to_str().unwrap()).unwrap();
    let user = "1C61B4-Device2-S109";
    let pw = acs::derive_password(&acs::Secret::new(harness::SECRET), user);
    let next = cwmp::auth::answer_digest(&challenge, "POST", "/", user, &pw, "0a4f113b", 2);
    let mut b = Conn::open(t.addr).await;
    assert_eq!(
        b.post(inform("S109", &["2 PERIODIC"]), &[("authorization", next)])
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn basic_over_plain_http_is_not_accepted() {
    let t = start_quiet().await;
    let mut c = Conn::open(t.addr).await;
    let user = "1C61B4-Device2-S103";
    let pw = acs::derive_password(&acs::Secret::new(harness::SECRET), user);
    let basic = cwmp::auth::basic_header(user, &pw);
    let r = c
        .post(inform("S103", &["2 PERIODIC"]), &[("authorization", basic)])
        .await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn oversized_unauthenticated_body_is_413_before_parsing() {
    let t = start_quiet().await;
    let mut c = Conn::open(t.addr).await;
    let r = c.post(vec![b'<'; 100 * 1024], &[]).await;
    assert_eq!(r.status, 413);
    assert!(t.acs.metrics.oversized.get() >= 1);
}

#[tokio::test]
async fn gzip_and_deflate_bodies_are_decoded_and_unknown_encodings_refused() {
    let t = start_quiet().await;
    let mut c = Conn::open(t.addr).await;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&inform("S104", &["2 PERIODIC"])).unwrap();
    let ch = c
        .post(gz.finish().unwrap(), &[("content-encoding", "gzip".into())])
        .await;
    assert_eq!(ch.status, 401, "decoded and parsed far enough to challenge");
    let auth = answer(&ch, "S104", None);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&inform("S104", &["2 PERIODIC"])).unwrap();
    let ok = c
        .post(
            z.finish().unwrap(),
            &[
                ("content-encoding", "deflate".into()),
                ("authorization", auth),
            ],
        )
        .await;
    assert_eq!(ok.status, 200);
    let r = c
        .post(b"xx".to_vec(), &[("content-encoding", "br".into())])
        .await;
    assert_eq!(r.status, 415);
}

#[tokio::test]
async fn a_session_resumes_on_a_new_tcp_connection_with_its_cookie() {
    let t = start_quiet().await;
    let (c, _) = session(&t, "S105", &["2 PERIODIC"]).await;
    let cookie = c.cookie.clone().unwrap();
    drop(c);
    let mut other = Conn::open(t.addr).await;
    // Some CPEs separate cookies with commas; the session cookie must still be found.
    let r = other
        .post(
            Vec::new(),
            &[("cookie", format!("foo=bar, session={cookie}"))],
        )
        .await;
    assert_eq!(r.status, 204);
}

#[tokio::test]
async fn a_device_has_one_session_at_a_time_and_a_fresh_inform_replaces_a_stale_one() {
    let t = start_quiet().await;
    let (mut first, _) = session(&t, "S106", &["2 PERIODIC"]).await;
    // The CPE comes back on a new connection with a fresh Inform (it rebooted or crashed): it is
    // served at once, and the old session is gone rather than left to its timeout.
    let (mut second, _) = session(&t, "S106", &["2 PERIODIC"]).await;
    assert_eq!(t.acs.live_sessions(), 1);
    assert_eq!(t.acs.metrics.sessions_taken_over.get(), 1);
    // The old connection's session is over: an empty POST there ends nothing else.
    assert_eq!(first.post(Vec::new(), &[]).await.status, 204);
    assert_eq!(t.acs.live_sessions(), 1, "the new session is untouched");
    assert_eq!(second.post(Vec::new(), &[]).await.status, 204);
    assert_eq!(t.acs.live_sessions(), 0);
}

#[tokio::test]
async fn an_abandoned_session_expires_and_the_device_can_inform_again() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = AcsConfig {
        session_timeout: std::time::Duration::from_secs(1),
        ..harness::quiet(tmp.path())
    };
    let t = harness::start_in(tmp, cfg).await;
    let (_abandoned, _) = session(&t, "S110", &["2 PERIODIC"]).await;
    assert_eq!(t.acs.live_sessions(), 1);
    // The reaper runs every second; the session's deadline is one second after its last POST.
    for _ in 0..40 {
        if t.acs.live_sessions() == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(t.acs.live_sessions(), 0, "the abandoned session expired");
    assert!(t.acs.metrics.sessions_expired.get() >= 1);
    let (mut c, _) = session(&t, "S110", &["2 PERIODIC"]).await;
    assert_eq!(c.post(Vec::new(), &[]).await.status, 204);
}

#[tokio::test]
async fn above_the_session_cap_new_informs_get_503_with_spread_retry_after() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = AcsConfig {
        max_sessions: 1,
        retry_after_secs: (30, 90),
        ..harness::quiet(tmp.path())
    };
    let t = harness::start_in(tmp, cfg).await;
    let (_held, _) = session(&t, "S107", &["2 PERIODIC"]).await;
    let mut c = Conn::open(t.addr).await;
    let ch = c.post(inform("S108", &["2 PERIODIC"]), &[]).await;
    let auth = answer(&ch, "S108", None);
    let r = c
        .post(inform("S108", &["2 PERIODIC"]), &[("authorization", auth)])
        .await;
    assert_eq!(r.status, 503);
    let after: u32 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((30..=90).contains(&after), "{after}");
    assert_eq!(t.acs.metrics.overload_503.get(), 1);
}

#[tokio::test]
async fn the_acs_answers_in_the_cpe_namespace() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = AcsConfig {
        cpe_auth: CpeAuthMode::None,
        ..harness::quiet(tmp.path())
    };
    let t = harness::start_in(tmp, cfg).await;
    for (i, v) in cwmp::CwmpVersion::ALL.into_iter().enumerate() {
        let mut env = cwmp::parse_envelope(
            &inform(&format!("NS{i}"), &["2 PERIODIC"]),
            &cwmp::Limits::default(),
        )
        .unwrap();
        env.version = v;
        let mut c = Conn::open(t.addr).await;
        let r = c.post(cwmp::to_bytes(&env), &[]).await;
        assert_eq!(r.status, 200);
        assert!(String::from_utf8_lossy(&r.body).contains(v.urn()), "{v:?}");
        assert_eq!(r.envelope().version, v);
    }
}

#[tokio::test]
async fn an_empty_post_without_a_session_is_told_there_is_nothing_to_do() {
    let t = start_quiet().await;
    let mut c = Conn::open(t.addr).await;
    assert_eq!(c.post(Vec::new(), &[]).await.status, 204);
}

/// Sends raw bytes on a connection and reads one response: its status, headers and body.
async fn raw_exchange(
    stream: &mut tokio::io::BufReader<tokio::net::TcpStream>,
    request: &[u8],
) -> (u16, String, Vec<u8>) {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
    stream.get_mut().write_all(request).await.unwrap();
    let mut head = String::new();
    loop {
        let mut line = String::new();
        stream.read_line(&mut line).await.unwrap();
        if line == "\r\n" || line.is_empty() {
            break;
        }
        head.push_str(&line);
    }
    let status = head[9..12].parse().unwrap();
    let length = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse::<usize>().unwrap())
        })
        .unwrap_or(0);
    let mut body = vec![0; length];
    stream.read_exact(&mut body).await.unwrap();
    (status, head, body)
}

#[tokio::test]
async fn a_body_whose_length_counted_characters_is_read_whole_and_the_session_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = AcsConfig {
        cpe_auth: CpeAuthMode::None,
        ..harness::quiet(tmp.path())
    };
    let t = harness::start_in(tmp, cfg).await;
    let mut env =
        cwmp::parse_envelope(&inform("GRACA1", &["1 BOOT"]), &cwmp::Limits::default()).unwrap();
    let cwmp::Body::Inform(inf) = &mut env.body else {
        unreachable!("an Inform")
    };
    let ssid = "Device.WiFi.SSID.1.SSID";
    inf.parameters.push(cwmp::ParameterValue::new(
        ssid,
        "Graça — café",
        cwmp::XsdType::String,
    ));
    let body = String::from_utf8(cwmp::to_bytes(&env)).unwrap();
    // The firmware counts characters: the header is short by the width of `ç`, `—` and `é`.
    let chars = body.chars().count();
    assert_eq!(body.len() - chars, 4);
    let mut wire = format!(
        "POST / HTTP/1.1\r\nHost: acs\r\nContent-Type: text/xml\r\nContent-Length: {chars}\r\n\r\n"
    )
    .into_bytes();
    wire.extend_from_slice(body.as_bytes());
    let stream = tokio::net::TcpStream::connect(t.addr).await.unwrap();
    let mut stream = tokio::io::BufReader::new(stream);
    let (status, head, reply) = raw_exchange(&mut stream, &wire).await;
    assert_eq!(status, 200, "{head}{}", String::from_utf8_lossy(&reply));
    let cookie = head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_owned();
    // The stray bytes were not taken for a request: the session ends on this connection.
    let end =
        format!("POST / HTTP/1.1\r\nHost: acs\r\nCookie: {cookie}\r\nContent-Length: 0\r\n\r\n");
    let (status, head, _) = raw_exchange(&mut stream, end.as_bytes()).await;
    assert_eq!(status, 204, "{head}");
    assert_eq!(t.acs.metrics.bodies_reframed.get(), 1);
    assert_eq!(t.acs.metrics.parse_errors.get(), 0);
    let tree = t
        .acs
        .store()
        .get_tree(&harness::device("GRACA1"))
        .await
        .unwrap();
    let got = tree
        .get(ssid)
        .and_then(|p| p.value.as_ref())
        .map(|v| v.text().into_owned());
    assert_eq!(got.as_deref(), Some("Graça — café"));
}

fn hostile_bodies() -> impl Strategy<Value = Vec<u8>> {
    let base = inform("FUZZ1", &["2 PERIODIC"]);
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..2048),
        (
            proptest::collection::vec((any::<usize>(), any::<u8>()), 1..16),
            Just(base.clone())
        )
            .prop_map(|(flips, mut b)| {
                for (i, x) in flips {
                    let n = b.len();
                    b[i % n] = x;
                }
                b
            }),
        (any::<usize>(), Just(base)).prop_map(|(cut, b)| b[..cut % b.len()].to_vec()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    /// Whatever bytes arrive, the server answers with a 2xx or a clean 4xx, never a 5xx, and it
    /// keeps serving real sessions.
    #[test]
    fn hostile_bodies_get_clean_answers(body in hostile_bodies()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let tmp = tempfile::tempdir().unwrap();
            let cfg = AcsConfig { cpe_auth: CpeAuthMode::None, ..harness::quiet(tmp.path()) };
            let t = harness::start_in(tmp, cfg).await;
            let mut c = Conn::open(t.addr).await;
            let r = c.post(body, &[]).await;
            prop_assert!(matches!(r.status, 200 | 204 | 400 | 413), "status {}", r.status);
            let mut ok = Conn::open(t.addr).await;
            prop_assert_eq!(ok.post(inform("GOOD", &["2 PERIODIC"]), &[]).await.status, 200);
            Ok(())
        })?;
    }
}
