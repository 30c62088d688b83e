//! Live events: one bus that the ACS, the OLT poller, the correlator, the provisioner and the
//! diagnostics publish on, served to browsers as Server-Sent Events (`GET /events?topics=…`) and
//! to other systems over MQTT.
//!
//! Topics: `network` (ONU and OLT state changes, optical alarms), `outages` (incidents opened,
//! updated, resolved), `device:<id>` (a device's sessions, provisioning and diagnostics). On
//! MQTT a topic becomes `<prefix>/network`, `<prefix>/outages`, `<prefix>/device/<id>`.

use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::broadcast;

/// Events buffered per slow subscriber before it starts missing some (it is told how many).
const BUS_CAPACITY: usize = 8192;

/// One event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HubEvent {
    /// `network`, `outages` or `device:<id>`.
    pub topic: String,
    /// What happened (`onu_offline`, `incident_opened`, `session_ended`, …).
    pub kind: String,
    /// When the hub saw it (ISO 8601).
    pub at: String,
    /// The details.
    pub data: serde_json::Value,
}

/// Counters of the event paths, for `/metrics`.
#[derive(Debug, Default)]
pub struct EventStats {
    /// Events published on the bus.
    pub published: AtomicU64,
    /// Events sent to the MQTT broker.
    pub mqtt_sent: AtomicU64,
    /// Events the MQTT client could not queue (broker away, queue full).
    pub mqtt_dropped: AtomicU64,
    /// (Re)connections to the broker.
    pub mqtt_connects: AtomicU64,
    /// 1 while connected to the broker, 0 while not (or before the first connection).
    pub mqtt_connected: AtomicU64,
    /// Connections to the broker lost.
    pub mqtt_disconnects: AtomicU64,
    /// Events SSE or MQTT subscribers missed because they lagged.
    pub lagged: AtomicU64,
}

/// The bus.
#[derive(Debug, Clone)]
pub struct EventBus {
    tx: broadcast::Sender<Arc<HubEvent>>,
    /// Counters.
    pub stats: Arc<EventStats>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

impl EventBus {
    /// An empty bus.
    pub fn new() -> Self {
        Self {
            tx: broadcast::channel(BUS_CAPACITY).0,
            stats: Arc::default(),
        }
    }

    /// Publishes an event (dropped when nobody listens).
    pub fn publish(&self, topic: impl Into<String>, kind: &str, data: serde_json::Value) {
        self.stats.published.fetch_add(1, Ordering::Relaxed);
        let _ = self.tx.send(Arc::new(HubEvent {
            topic: topic.into(),
            kind: kind.to_owned(),
            at: acs::genie::date::iso(now_ms()),
            data,
        }));
    }

    /// A new subscription.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<HubEvent>> {
        self.tx.subscribe()
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Which topics a subscriber wants: exact topics, and `device:*` for every device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopicFilter(Vec<String>);

impl TopicFilter {
    /// Parses a comma-separated list; empty means every topic.
    pub fn parse(list: Option<&str>) -> Self {
        Self(
            list.unwrap_or("")
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .take(64)
                .map(str::to_owned)
                .collect(),
        )
    }

    /// Whether `topic` is wanted.
    pub fn wants(&self, topic: &str) -> bool {
        self.0.is_empty()
            || self
                .0
                .iter()
                .any(|t| t == topic || (t == "device:*" && topic.starts_with("device:")))
    }

    /// The device ids named by `device:<id>` topics.
    pub fn devices(&self) -> impl Iterator<Item = &str> {
        self.0
            .iter()
            .filter_map(|t| t.strip_prefix("device:"))
            .filter(|d| *d != "*")
    }
}

/// The SSE stream of a subscription: one `event: <kind>` per event, a `lagged` event when the
/// subscriber fell behind, and keep-alive comments (the handler adds them).
pub fn sse_stream(
    bus: EventBus,
    filter: TopicFilter,
) -> impl futures_util::Stream<Item = Result<axum::response::sse::Event, std::convert::Infallible>>
{
    let stats = Arc::clone(&bus.stats);
    let rx = bus.subscribe();
    // A first comment flushes the response headers at once: the subscriber knows it is
    // subscribed (and misses nothing published after this) before any event arrives.
    let hello = futures_util::stream::once(async {
        Ok(axum::response::sse::Event::default().comment("subscribed"))
    });
    let events =
        futures_util::stream::unfold((rx, filter, stats), |(mut rx, filter, stats)| async move {
            loop {
                match rx.recv().await {
                    Ok(e) if filter.wants(&e.topic) => {
                        let event = axum::response::sse::Event::default()
                            .event(e.kind.clone())
                            .data(serde_json::to_string(&*e).unwrap_or_default());
                        return Some((Ok(event), (rx, filter, stats)));
                    }
                    Ok(_) => continue,
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        stats.lagged.fetch_add(n, Ordering::Relaxed);
                        let event = axum::response::sse::Event::default()
                            .event("lagged")
                            .data(format!("{{\"missed\":{n}}}"));
                        return Some((Ok(event), (rx, filter, stats)));
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        });
    futures_util::StreamExt::chain(hello, events)
}

/// Where MQTT goes.
#[derive(Clone)]
pub struct MqttConfig {
    /// Broker host.
    pub host: String,
    /// Broker port.
    pub port: u16,
    /// TLS to the broker (`mqtts://`), verifying it with this configuration; `None` is plain
    /// TCP.
    pub tls: Option<Arc<acs::client_tls::rustls::ClientConfig>>,
    /// Topic prefix.
    pub prefix: String,
    /// Client id.
    pub client_id: String,
    /// User name and password.
    pub credentials: Option<(String, acs::Secret)>,
}

impl std::fmt::Debug for MqttConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MqttConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls.is_some())
            .field("prefix", &self.prefix)
            .field("client_id", &self.client_id)
            .field(
                "credentials",
                &self.credentials.as_ref().map(|(u, _)| (u, "***")),
            )
            .finish()
    }
}

impl MqttConfig {
    /// Reads `mqtt://host[:port]` (port 1883) or `mqtts://host[:port]` (TLS, port 8883):
    /// the host, the port and whether TLS is wanted.
    pub fn from_url(url: &str) -> anyhow::Result<(String, u16, bool)> {
        let (rest, tls, default_port) = if let Some(r) = url.strip_prefix("mqtts://") {
            (r, true, 8883)
        } else if let Some(r) = url.strip_prefix("mqtt://") {
            (r, false, 1883)
        } else {
            anyhow::bail!("MQTT URL must start with mqtt:// or mqtts:// ({url})");
        };
        let rest = rest.trim_end_matches('/');
        // A bracketed IPv6 address holds colons of its own; the port follows its `]`.
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) if !p.contains(']') => (h, p.parse()?),
            _ => (rest, default_port),
        };
        Ok((host.trim_matches(['[', ']']).to_owned(), port, tls))
    }

    /// The MQTT topic of a bus topic.
    pub fn topic(&self, bus_topic: &str) -> String {
        match bus_topic.strip_prefix("device:") {
            Some(id) => format!(
                "{}/device/{}",
                self.prefix,
                id.replace(['+', '#', '/'], "_")
            ),
            None => format!("{}/{bus_topic}", self.prefix),
        }
    }
}

/// Publishes the bus to an MQTT broker until `shutdown`. It subscribes to
/// `<prefix>/hub/ping` (answering on `<prefix>/hub/pong`, a liveness check for operators) and
/// subscribes again on every ConnAck: rumqttc does not restore subscriptions after it
/// reconnects (bytebeamio/rumqtt#250). Events produced while the broker is away are counted as
/// dropped, never block the bus.
pub async fn run_mqtt(bus: EventBus, config: MqttConfig, shutdown: impl Future<Output = ()>) {
    let mut options = rumqttc::MqttOptions::new(&config.client_id, &config.host, config.port);
    options.set_keep_alive(Duration::from_secs(15));
    options.set_clean_session(true);
    if let Some((user, pass)) = &config.credentials {
        options.set_credentials(user, pass.expose());
    }
    if let Some(tls) = &config.tls {
        options.set_transport(rumqttc::Transport::tls_with_config(
            rumqttc::TlsConfiguration::Rustls(Arc::clone(tls)),
        ));
    }
    // The last failure logged at warn: a broker that cannot be reached (a refused certificate,
    // say) is said once, not every half second, and said again when the reason changes.
    let mut last_warned = String::new();
    let (client, mut eventloop) = rumqttc::AsyncClient::new(options, 1024);
    let ping = format!("{}/hub/ping", config.prefix);
    let pong = format!("{}/hub/pong", config.prefix);
    let mut rx = bus.subscribe();
    let stats = Arc::clone(&bus.stats);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            polled = eventloop.poll() => match polled {
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(_))) => {
                    stats.mqtt_connects.fetch_add(1, Ordering::Relaxed);
                    stats.mqtt_connected.store(1, Ordering::Relaxed);
                    last_warned.clear();
                    tracing::info!(
                        host = %config.host,
                        port = config.port,
                        tls = config.tls.is_some(),
                        "MQTT connected"
                    );
                    if client.try_subscribe(&ping, rumqttc::QoS::AtLeastOnce).is_err() {
                        tracing::warn!("could not queue the MQTT subscription");
                    }
                }
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(p))) if p.topic == ping => {
                    let _ = client.try_publish(&pong, rumqttc::QoS::AtLeastOnce, false, p.payload.to_vec());
                }
                Ok(_) => {}
                Err(e) => {
                    // Logged once per loss; the retries that follow are only debug lines.
                    if stats.mqtt_connected.swap(0, Ordering::Relaxed) == 1 {
                        stats.mqtt_disconnects.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(error = %e, "MQTT connection lost; reconnecting");
                    } else {
                        let why = mqtt_failure(&e);
                        if why != last_warned {
                            tracing::warn!(host = %config.host, port = config.port, error = %why, "MQTT broker unreachable; retrying");
                            last_warned = why;
                        }
                    }
                    tracing::debug!(error = %e, "MQTT connection lost; retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            },
            event = rx.recv() => match event {
                Ok(e) => {
                    let payload = serde_json::to_vec(&*e).unwrap_or_default();
                    match client.try_publish(config.topic(&e.topic), rumqttc::QoS::AtLeastOnce, false, payload) {
                        Ok(()) => stats.mqtt_sent.fetch_add(1, Ordering::Relaxed),
                        Err(_) => stats.mqtt_dropped.fetch_add(1, Ordering::Relaxed),
                    };
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    stats.lagged.fetch_add(n, Ordering::Relaxed);
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
        }
    }
    let _ = client.try_disconnect();
}

/// A connection failure said plainly: a TLS failure as rustls says it (a certificate no
/// trusted CA signed: `mqtt.ca_file` is the remedy), anything else as rumqttc does.
pub fn mqtt_failure(e: &rumqttc::ConnectionError) -> String {
    match acs::client_tls::tls_failure(e) {
        Some(tls) => format!("TLS: {tls} (is the broker's CA in mqtt.ca_file?)"),
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_filter_and_map_to_mqtt() {
        let f = TopicFilter::parse(Some("network, device:1C61B4-Device2-X"));
        assert!(f.wants("network"));
        assert!(f.wants("device:1C61B4-Device2-X"));
        assert!(!f.wants("outages"));
        assert!(TopicFilter::parse(None).wants("outages"));
        assert!(TopicFilter::parse(Some("device:*")).wants("device:A"));
        assert_eq!(f.devices().collect::<Vec<_>>(), ["1C61B4-Device2-X"]);
        let c = MqttConfig {
            host: "h".into(),
            port: 1,
            tls: None,
            prefix: "fp".into(),
            client_id: "c".into(),
            credentials: None,
        };
        assert_eq!(c.topic("network"), "fp/network");
        assert_eq!(c.topic("device:A/B#"), "fp/device/A_B_");
        assert_eq!(
            MqttConfig::from_url("mqtt://127.0.0.1:1884").unwrap(),
            ("127.0.0.1".into(), 1884, false)
        );
        assert_eq!(MqttConfig::from_url("mqtt://broker").unwrap().1, 1883);
        assert_eq!(
            MqttConfig::from_url("mqtts://broker").unwrap(),
            ("broker".into(), 8883, true)
        );
        assert_eq!(
            MqttConfig::from_url("mqtts://[::1]:8884/").unwrap(),
            ("::1".into(), 8884, true)
        );
        assert_eq!(MqttConfig::from_url("mqtts://[::1]").unwrap().1, 8883);
        assert!(MqttConfig::from_url("http://x").is_err());
    }
}
