//! Hostile inputs over real HTTP on loopback: mutated envelopes to the ACS, queries and task
//! bodies to the NBI, webhook bodies to the Kuma router. Every reply must be a clean 2xx/4xx;
//! afterwards each service must still answer a valid request.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::corpus;
use super::http::{Reply, exchange, percent, request};
use super::inproc::Surface;
use super::servers::{KUMA_SECRET, NBI_TOKEN};

/// Time allowed for one hostile request (the services answer in milliseconds; a hang shows).
const LIMIT: Duration = Duration::from_secs(20);
/// Requests in flight at once.
const CONCURRENCY: usize = 16;

/// Where the live services listen.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Targets {
    /// The fuzz ACS (no CPE authentication).
    pub acs: SocketAddr,
    /// The NBI.
    pub nbi: SocketAddr,
    /// The Kuma webhook router.
    pub kuma: SocketAddr,
}

/// One hostile request to send.
#[derive(Debug, Clone)]
pub(crate) struct LiveInput {
    /// Which surface.
    pub surface: Surface,
    /// The mutated input.
    pub input: Vec<u8>,
    /// The content type a Kuma input goes with.
    pub content_type: Option<&'static str>,
}

/// The verdict on one sent input.
#[derive(Debug, Clone)]
pub(crate) struct LiveResult {
    /// Which surface.
    pub surface: Surface,
    /// How the server answered.
    pub reply: Reply,
    /// The first bytes of the input, for the report when the reply is unclean.
    pub head: String,
}

/// The device the NBI task bodies are posted to (registered by [`register_device`]).
pub(crate) fn device_id() -> String {
    format!(
        "{}-{}-{}",
        corpus::OUI,
        corpus::PRODUCT_CLASS,
        corpus::SERIAL
    )
}

/// Registers the corpus device with the fuzz ACS (one valid Inform), so task bodies reach the
/// task parser instead of a 404.
pub(crate) async fn register_device(t: &Targets) -> anyhow::Result<()> {
    let inform = corpus::cwmp()
        .into_iter()
        .find(|e| {
            let s = String::from_utf8_lossy(e);
            s.contains("<cwmp:Inform>") && s.contains(corpus::SERIAL)
        })
        .ok_or_else(|| anyhow::anyhow!("no XX230v Inform in the corpus"))?;
    let req = request("POST", "/", &[("Content-Type", "text/xml")], &inform);
    match exchange(t.acs, &req, LIMIT).await {
        Reply::Status(200) => Ok(()),
        other => anyhow::bail!("registering the corpus device: {other:?}"),
    }
}

fn to_request(t: &Targets, li: &LiveInput) -> (SocketAddr, Vec<u8>) {
    let nbi_auth = format!("Bearer {NBI_TOKEN}");
    match li.surface {
        Surface::Cwmp => (
            t.acs,
            request(
                "POST",
                "/",
                &[("Content-Type", "text/xml; charset=utf-8")],
                &li.input,
            ),
        ),
        Surface::NbiQuery => {
            let target = format!("/devices/?query={}", percent(&li.input));
            (
                t.nbi,
                request("GET", &target, &[("Authorization", &nbi_auth)], b""),
            )
        }
        Surface::NbiTask => {
            let target = format!("/devices/{}/tasks", percent(device_id().as_bytes()));
            let h = [
                ("Authorization", nbi_auth.as_str()),
                ("Content-Type", "application/json"),
            ];
            (t.nbi, request("POST", &target, &h, &li.input))
        }
        _ => {
            let auth = format!("Bearer {KUMA_SECRET}");
            let mut h = vec![("Authorization", auth.as_str())];
            if let Some(ct) = li.content_type {
                h.push(("Content-Type", ct));
            }
            (t.kuma, request("POST", "/webhook/kuma", &h, &li.input))
        }
    }
}

/// Sends every input received on `rx`, `CONCURRENCY` at a time, until the channel closes;
/// returns one verdict per input.
pub(crate) async fn send_all(
    t: Targets,
    rx: tokio::sync::mpsc::Receiver<LiveInput>,
) -> Vec<LiveResult> {
    let rx = Arc::new(tokio::sync::Mutex::new(rx));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..CONCURRENCY {
        let rx = rx.clone();
        workers.spawn(async move {
            let mut out = Vec::new();
            loop {
                let next = rx.lock().await.recv().await;
                let Some(li) = next else { break };
                let (addr, bytes) = to_request(&t, &li);
                let reply = exchange(addr, &bytes, LIMIT).await;
                let head = if reply.is_clean() {
                    String::new()
                } else {
                    String::from_utf8_lossy(&li.input[..li.input.len().min(160)]).into_owned()
                };
                out.push(LiveResult {
                    surface: li.surface,
                    reply,
                    head,
                });
            }
            out
        });
    }
    let mut all = Vec::new();
    while let Some(r) = workers.join_next().await {
        all.extend(r.unwrap_or_default());
    }
    all
}

/// After the hostile inputs: one valid request per service, each must succeed. Returns the
/// services that did not answer as they should.
pub(crate) async fn still_serving(t: &Targets) -> Vec<String> {
    let mut failed = Vec::new();
    // A fresh device's Inform (a serial no mutation produced), answered with an InformResponse.
    let inform = corpus::cwmp()
        .into_iter()
        .find(|e| String::from_utf8_lossy(e).contains(corpus::SERIAL))
        .map(|e| String::from_utf8_lossy(&e).replace(corpus::SERIAL, "HOSTILEAFTER1"));
    if let Some(inform) = inform {
        let r = exchange(t.acs, &request("POST", "/", &[], inform.as_bytes()), LIMIT).await;
        if r != Reply::Status(200) {
            failed.push(format!("ACS after the run: {r:?}"));
        }
    }
    let auth = format!("Bearer {NBI_TOKEN}");
    let q = format!(
        "/devices/?query={}",
        percent(br#"{"_id":{"$exists":true}}"#)
    );
    let r = exchange(
        t.nbi,
        &request("GET", &q, &[("Authorization", &auth)], b""),
        LIMIT,
    )
    .await;
    if r != Reply::Status(200) {
        failed.push(format!("NBI after the run: {r:?}"));
    }
    let test = corpus::kuma()
        .into_iter()
        .find(|k| String::from_utf8_lossy(&k.body).contains("Testing"));
    if let Some(k) = test {
        let kauth = format!("Bearer {KUMA_SECRET}");
        let h = [
            ("Authorization", kauth.as_str()),
            ("Content-Type", "application/json"),
        ];
        let r = exchange(
            t.kuma,
            &request("POST", "/webhook/kuma", &h, &k.body),
            LIMIT,
        )
        .await;
        if r != Reply::Status(200) {
            failed.push(format!("Kuma webhook after the run: {r:?}"));
        }
    }
    failed
}
