//! What the scenario watches the system through: the hub's and the NBI's HTTP APIs, `/metrics`,
//! one SSE subscriber and one MQTT subscriber that record every event they receive, and a
//! prober that exercises every feature periodically and tallies what answered.

use super::stack::PREFIX;
use anyhow::{Context, bail};
use fibreplane_lab::Fleet;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};

/// The hub and NBI over loopback HTTP with the staff token.
#[derive(Clone)]
pub(crate) struct Http {
    client: reqwest::Client,
    hub: SocketAddr,
    nbi: SocketAddr,
    token: String,
}

impl Http {
    pub(crate) fn new(hub: SocketAddr, nbi: SocketAddr, token: &str) -> anyhow::Result<Self> {
        Ok(Self {
            // Longer than the bridge's own read budget (30 s), so a hang shows as a timeout of
            // the bridge, not of this client.
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(45))
                .build()?,
            hub,
            nbi,
            token: token.to_owned(),
        })
    }

    /// GET a hub path: status and body.
    pub(crate) async fn hub(&self, path: &str) -> anyhow::Result<(u16, Vec<u8>)> {
        let resp = self
            .client
            .get(format!("http://{}{path}", self.hub))
            .bearer_auth(&self.token)
            .send()
            .await?;
        let status = resp.status().as_u16();
        Ok((status, resp.bytes().await?.to_vec()))
    }

    /// The hub's `/metrics`, parsed.
    pub(crate) async fn metrics(&self) -> anyhow::Result<Metrics> {
        let (status, body) = self.hub("/metrics").await?;
        if status != 200 {
            bail!("/metrics answered {status}");
        }
        Ok(Metrics::parse(&String::from_utf8_lossy(&body)))
    }

    /// The NBI's document of one device (projected on `projection` when given).
    pub(crate) async fn nbi_device(
        &self,
        id: &str,
        projection: Option<&str>,
    ) -> anyhow::Result<serde_json::Value> {
        let mut url = reqwest::Url::parse(&format!("http://{}/devices/", self.nbi))?;
        url.query_pairs_mut()
            .append_pair("query", &serde_json::json!({ "_id": id }).to_string());
        if let Some(p) = projection {
            url.query_pairs_mut().append_pair("projection", p);
        }
        let resp = self.client.get(url).bearer_auth(&self.token).send().await?;
        let status = resp.status().as_u16();
        let body: serde_json::Value = serde_json::from_slice(&resp.bytes().await?)?;
        if status != 200 || body.as_array().map(Vec::len) != Some(1) {
            bail!("NBI answered {status}: {body}");
        }
        Ok(body[0].clone())
    }
}

/// One `/metrics` scrape: `name{labels}` → value.
#[derive(Debug, Clone, Default)]
pub(crate) struct Metrics(HashMap<String, f64>);

impl Metrics {
    fn parse(text: &str) -> Self {
        Self(
            text.lines()
                .filter(|l| !l.starts_with('#'))
                .filter_map(|l| l.rsplit_once(' '))
                .filter_map(|(k, v)| Some((k.to_owned(), v.parse().ok()?)))
                .collect(),
        )
    }

    /// A sample by its full name (with labels); `None` when the hub does not export it.
    pub(crate) fn get(&self, key: &str) -> Option<f64> {
        self.0.get(key).copied()
    }
}

/// Every event the two subscribers received, keyed by the event's JSON (the same document on
/// SSE and MQTT), with when it arrived.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    pub(crate) sse: Vec<(Instant, String)>,
    pub(crate) mqtt: Vec<(Instant, String)>,
    /// Answers to our pings on `<prefix>/hub/ping`: the hub's MQTT subscription works.
    pub(crate) pongs: Vec<(Instant, Vec<u8>)>,
    pub(crate) sse_ended: bool,
}

pub(crate) type SharedSeen = Arc<Mutex<Seen>>;

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The canonical text of an event document (object keys sorted), so SSE and MQTT compare.
fn canonical(bytes: &[u8]) -> Option<String> {
    serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .map(|v| v.to_string())
}

/// Subscribes to every topic of `GET /events` and records each event until the stream ends.
pub(crate) async fn watch_sse(
    hub: SocketAddr,
    token: String,
    seen: SharedSeen,
) -> anyhow::Result<()> {
    let mut s = tokio::net::TcpStream::connect(hub).await?;
    let req = format!(
        "GET /events HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await?;
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line).await?;
    if !line.starts_with("HTTP/1.1 200") {
        bail!("SSE subscription refused: {line}");
    }
    tokio::spawn(async move {
        let mut line = String::new();
        loop {
            line.clear();
            match r.read_line(&mut line).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            // Chunked framing puts sizes on their own lines; only `data:` lines matter here.
            if let Some(data) = line.trim().strip_prefix("data: ")
                && let Some(key) = canonical(data.as_bytes())
            {
                lock(&seen).sse.push((Instant::now(), key));
            }
        }
        lock(&seen).sse_ended = true;
    });
    Ok(())
}

/// An MQTT subscriber on `<prefix>/#` that reconnects and subscribes again on every ConnAck;
/// returns its client (to publish pings).
pub(crate) fn watch_mqtt(port: u16, seen: SharedSeen) -> rumqttc::AsyncClient {
    let mut options = rumqttc::MqttOptions::new("neighbours-subscriber", "127.0.0.1", port);
    options.set_keep_alive(Duration::from_secs(5));
    let (client, mut eventloop) = rumqttc::AsyncClient::new(options, 64);
    let sub = client.clone();
    let pong = format!("{PREFIX}/hub/pong");
    let ping = format!("{PREFIX}/hub/ping");
    tokio::spawn(async move {
        loop {
            match eventloop.poll().await {
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(_))) => {
                    let _ = sub
                        .subscribe(format!("{PREFIX}/#"), rumqttc::QoS::AtLeastOnce)
                        .await;
                }
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(p))) => {
                    let now = Instant::now();
                    if p.topic == pong {
                        lock(&seen).pongs.push((now, p.payload.to_vec()));
                    } else if p.topic != ping
                        && let Some(key) = canonical(&p.payload)
                    {
                        lock(&seen).mqtt.push((now, key));
                    }
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    });
    client
}

/// Answers of one feature's probes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Probes that succeeded.
    pub ok: u64,
    /// Probes that failed.
    pub failed: u64,
    /// The first failure, in words.
    pub first_failure: Option<String>,
}

/// Per feature (`acs`, `nbi`, `summary`, `sse`, `olt`, `erpnext`, `mqtt`), since the last take.
pub(crate) type Tallies = Arc<Mutex<BTreeMap<&'static str, Tally>>>;

fn note(t: &Tallies, feature: &'static str, result: anyhow::Result<()>) {
    let mut t = lock(t);
    let e = t.entry(feature).or_default();
    match result {
        Ok(()) => e.ok += 1,
        Err(err) => {
            e.failed += 1;
            e.first_failure.get_or_insert_with(|| format!("{err:#}"));
        }
    }
}

/// Probes every feature every `every` until `stop` is set: a CWMP session of one CPE (rotating
/// through the fleet), an NBI query, a device summary, SSE delivery of the session's events,
/// and each neighbour's state in `/metrics`.
pub(crate) async fn probe_loop(
    http: Http,
    fleet: Arc<Fleet>,
    seen: SharedSeen,
    tallies: Tallies,
    stop: Arc<std::sync::atomic::AtomicBool>,
    every: Duration,
) {
    let mut i = 0usize;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let tick = Instant::now();
        let cpe = i % fleet.len().max(1);
        i += 1;
        let id = fleet.device_id(cpe);
        let sse_before = lock(&seen).sse.len();
        let session = fleet
            .inform(cpe, &["2 PERIODIC"])
            .await
            .map(|_| ())
            .map_err(anyhow::Error::from);
        note(&tallies, "acs", session);
        let nbi = http.nbi_device(&id, Some("_id")).await.map(|_| ());
        note(&tallies, "nbi", nbi);
        let summary = match http
            .hub(&format!("/devices/{id}/summary?refresh=never"))
            .await
        {
            Ok((200, _)) => Ok(()),
            Ok((s, b)) => Err(anyhow::anyhow!("{s}: {}", String::from_utf8_lossy(&b))),
            Err(e) => Err(e),
        };
        note(&tallies, "summary", summary);
        // The session's events reach SSE within a moment; the stream must still be open.
        let mut sse = Err(anyhow::anyhow!("no SSE event within 2 s of a session"));
        for _ in 0..40 {
            let (ended, n) = {
                let s = lock(&seen);
                (s.sse_ended, s.sse.len())
            };
            if ended {
                sse = Err(anyhow::anyhow!("the SSE stream ended"));
                break;
            }
            if n > sse_before {
                sse = Ok(());
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        note(&tallies, "sse", sse);
        match http.metrics().await {
            Ok(m) => {
                for (feature, key) in [
                    ("olt", "fibreplane_olt_reachable{olt=\"olt-demo\"}"),
                    ("erpnext", "fibreplane_provisioning_erp_up"),
                    ("mqtt", "fibreplane_mqtt_connected"),
                ] {
                    let up = match m.get(key) {
                        Some(1.0) => Ok(()),
                        other => Err(anyhow::anyhow!("{key} = {other:?}")),
                    };
                    note(&tallies, feature, up);
                }
            }
            Err(e) => note(&tallies, "metrics", Err(e)),
        }
        let rest = every.saturating_sub(tick.elapsed());
        tokio::time::sleep(rest).await;
    }
}

/// Takes the tallies gathered so far and starts afresh.
pub(crate) fn take(t: &Tallies) -> BTreeMap<&'static str, Tally> {
    std::mem::take(&mut *lock(t))
}

/// Polls `/metrics` every 100 ms until `ok` holds, for at most `limit`; the time it took.
pub(crate) async fn until_metrics(
    http: &Http,
    limit: Duration,
    ok: impl Fn(&Metrics) -> bool,
) -> anyhow::Result<Option<Duration>> {
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        if ok(&http.metrics().await.context("scraping /metrics")?) {
            return Ok(Some(t0.elapsed()));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_are_read_by_full_name() {
        let m = Metrics::parse(
            "# HELP x y\n# TYPE x gauge\nfibreplane_olt_reachable{olt=\"a\"} 1\nfibreplane_mqtt_connected 0\nbroken\n",
        );
        assert_eq!(m.get("fibreplane_olt_reachable{olt=\"a\"}"), Some(1.0));
        assert_eq!(m.get("fibreplane_mqtt_connected"), Some(0.0));
        assert_eq!(m.get("broken"), None);
    }

    #[test]
    fn events_compare_whatever_their_key_order() {
        assert_eq!(
            canonical(br#"{"b":1,"a":{"d":2,"c":3}}"#),
            canonical(br#"{"a":{"c":3,"d":2},"b":1}"#)
        );
        assert_eq!(canonical(b"not json"), None);
    }
}
