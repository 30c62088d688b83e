//! The emulator's firmware rules, exercised with raw HTTP and the bridge's public sans-IO signer:
//! Referer and TokenID checks, one session at a time, gzip refused.

use modem_bridge::proto::cipher::{AesSession, CipherVariant};
use modem_bridge::proto::dm::{self, Operation};
use modem_bridge::proto::parse;
use modem_bridge::proto::signer::Signer;
use modem_bridge::{BridgeError, PathChoice, Secret, Section};

use fibreplane_lab::xx230v::{SimCipher, SimOptions};

use crate::common::{PASSWORD, bridge, sim, sim_with, target};

/// A hand-driven session: what a technician's browser holds.
pub(crate) struct Held {
    http: reqwest::Client,
    pub(crate) base: String,
    cookie: String,
    pub(crate) token: String,
    signer: Signer,
}

pub(crate) async fn hold(addr: std::net::SocketAddr) -> Held {
    let http = reqwest::Client::new();
    let base = format!("http://{addr}");
    let text = http
        .post(format!("{base}/cgi/getGDPRParm"))
        .header("Referer", format!("{base}/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let pw = Secret::new(PASSWORD);
    let signer = Signer::new(
        parse::gdpr_params(&text).unwrap(),
        AesSession::random(CipherVariant::Cbc),
        "user",
        &pw,
    );
    let resp = http
        .post(format!("{base}/cgi_gdpr?9"))
        .header("Referer", format!("{base}/"))
        .body(signer.login_body("user", &pw, false))
        .send()
        .await
        .unwrap();
    let cookie = resp.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    parse::login_result(&signer.open(&resp.text().await.unwrap()).unwrap()).unwrap();
    let page = http
        .get(format!("{base}/"))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = parse::token(&page).unwrap();
    Held {
        http,
        base,
        cookie,
        token,
        signer,
    }
}

/// A read while `held` is logged in: the bridge backs off with `Busy` and never kicks the holder
/// out.
pub(crate) async fn assert_backs_off(
    b: &modem_bridge::Bridge,
    t: &modem_bridge::ModemTarget,
    path: PathChoice,
    held: &Held,
) {
    let err = b.read(t, &[Section::Device], path).await.unwrap_err();
    assert!(matches!(err, BridgeError::Busy), "{err}");
    assert!(
        held.still_logged_in().await,
        "the holder was not kicked out"
    );
}

impl Held {
    /// Whether this session is still logged in (the bridge did not kick it out).
    pub(crate) async fn still_logged_in(&self) -> bool {
        self.call(Some(&self.token), Some(&format!("{}/", self.base)))
            .await
            == 200
    }

    pub(crate) async fn call(&self, token: Option<&str>, referer: Option<&str>) -> u16 {
        let body = self.signer.request_body(&dm::request_json(
            Operation::Go,
            "DEV2_DEV_INFO",
            "0,0,0,0,0,0",
            &["modelName"],
        ));
        let mut req = self
            .http
            .post(format!("{}/cgi_gdpr?9?_=1", self.base))
            .header("Cookie", &self.cookie)
            .body(body);
        if let Some(t) = token {
            req = req.header("TokenID", t);
        }
        if let Some(r) = referer {
            req = req.header("Referer", r);
        }
        req.send().await.unwrap().status().as_u16()
    }
}

#[tokio::test]
async fn referer_and_token_are_enforced() {
    let s = sim(SimCipher::Cbc).await;
    let h = hold(s.addr).await;
    let good_ref = format!("{}/", h.base);
    assert_eq!(h.call(Some(&h.token), Some(&good_ref)).await, 200);
    assert_eq!(h.call(Some(&h.token), None).await, 403);
    assert_eq!(
        h.call(Some(&h.token), Some("http://evil.example/")).await,
        403
    );
    assert_eq!(h.call(None, Some(&good_ref)).await, 403);
    assert_eq!(h.call(Some("0123456789abcdef"), Some(&good_ref)).await, 403);
    let no_ref = h
        .http
        .post(format!("{}/cgi/getGDPRParm", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(no_ref.status().as_u16(), 403);
    s.stop().await;
}

#[tokio::test]
async fn a_held_session_makes_the_bridge_back_off() {
    let s = sim(SimCipher::Cbc).await;
    let h = hold(s.addr).await;
    let t = target(&s, CipherVariant::Cbc, PASSWORD);
    // The technician's session survives: the bridge does not force its way in.
    assert_backs_off(&bridge(None), &t, PathChoice::Native, &h).await;
    s.stop().await;
}

#[tokio::test]
async fn gzip_is_refused() {
    let mut opts = SimOptions::new("user", PASSWORD);
    opts.strict_accept_encoding = true;
    let s = sim_with(opts).await;
    let base = format!("http://{}", s.addr);
    let http = reqwest::Client::new();
    let gz = http
        .post(format!("{base}/cgi_gdpr?9"))
        .header("Referer", format!("{base}/"))
        .header("Content-Encoding", "gzip")
        .body(vec![0x1f, 0x8b, 0, 0])
        .send()
        .await
        .unwrap();
    assert_eq!(gz.status().as_u16(), 415);
    let accept = http
        .post(format!("{base}/cgi_gdpr?9"))
        .header("Referer", format!("{base}/"))
        .header("Accept-Encoding", "gzip, deflate")
        .body("sign=00\r\ndata=AA==\r\n")
        .send()
        .await
        .unwrap();
    assert_eq!(accept.status().as_u16(), 406);
    // Pages are never compressed, whatever the client accepts.
    let page = http
        .get(format!("{base}/"))
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert!(page.headers().get("content-encoding").is_none());
    s.stop().await;
}
