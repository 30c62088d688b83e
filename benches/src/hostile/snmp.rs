//! A hostile SNMP agent: the lab's olt-sim answers each request (`answer_once`), and the agent
//! mutates some answers before sending them, so the real poller (`olt_poller::poll_once`, over
//! UDP on loopback) meets damaged GET and GETBULK responses mid-walk. A clean pass first
//! captures real responses as the corpus of the in-process SNMP surface.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fibreplane_lab::olt::{Network, SerialStyle, SimVendor, answer_once};
use olt_poller::{Credentials, OltConfig, OltId, Secret, SnmpTarget, VendorChoice};
use tokio::net::UdpSocket;

use super::mutate::{Format, mutate};
use crate::rng::Rng;

/// The agent's counters.
#[derive(Debug, Default)]
pub(crate) struct AgentStats {
    /// Responses sent as olt-sim wrote them.
    pub clean: AtomicU64,
    /// Responses mutated before sending.
    pub mutated: AtomicU64,
}

/// A running hostile agent.
pub(crate) struct HostileAgent {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its counters.
    pub stats: Arc<AgentStats>,
    /// Responses captured while `mutate_one_in` was 0.
    pub captured: Arc<Mutex<Vec<Vec<u8>>>>,
    mutate_one_in: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl HostileAgent {
    /// Starts an agent over a 4-port × 16-ONU Huawei network; it mutates nothing until
    /// [`Self::set_mutation`] is called.
    pub(crate) async fn start(seed: u64) -> anyhow::Result<Self> {
        let net = Network::generate(
            SimVendor::Huawei,
            4,
            16,
            seed,
            0,
            SerialStyle::CpeSim {
                prefix: "FPSIM".into(),
            },
        );
        let sock = UdpSocket::bind("127.0.0.1:0").await?;
        let addr = sock.local_addr()?;
        let stats = Arc::new(AgentStats::default());
        let captured = Arc::new(Mutex::new(Vec::new()));
        let mutate_one_in = Arc::new(AtomicU64::new(0));
        let (st, cap, m) = (stats.clone(), captured.clone(), mutate_one_in.clone());
        let task = tokio::spawn(async move {
            let mut rng = Rng::new(seed);
            let mut buf = vec![0u8; 65_535];
            let mut previous = Vec::new();
            loop {
                let Ok((n, peer)) = sock.recv_from(&mut buf).await else {
                    continue;
                };
                let Some(answer) = answer_once(&net, &buf[..n]) else {
                    continue;
                };
                let one_in = m.load(Ordering::Relaxed);
                let out = if one_in > 0 && rng.below(one_in as usize) == 0 {
                    st.mutated.fetch_add(1, Ordering::Relaxed);
                    mutate(&mut rng, Format::Ber, &answer, &previous).0
                } else {
                    st.clean.fetch_add(1, Ordering::Relaxed);
                    if one_in == 0
                        && let Ok(mut c) = cap.lock()
                        && c.len() < 256
                    {
                        c.push(answer.clone());
                    }
                    answer.clone()
                };
                previous = answer;
                // A datagram larger than UDP allows is simply not sent: a lost answer.
                let _ = sock.send_to(&out, peer).await;
            }
        });
        Ok(Self {
            addr,
            stats,
            captured,
            mutate_one_in,
            task,
        })
    }

    /// Mutates one response in `n` from now on (0: none, and capture clean ones).
    pub(crate) fn set_mutation(&self, n: u64) {
        self.mutate_one_in.store(n, Ordering::Relaxed);
    }

    /// The poller's configuration for this agent: v2c, short timeouts so a lost answer costs
    /// little, auto-detected vendor.
    pub(crate) fn olt(&self) -> anyhow::Result<OltConfig> {
        Ok(OltConfig {
            id: OltId::new("hostile-olt")?,
            target: SnmpTarget {
                addr: self.addr,
                credentials: Credentials::V2c {
                    community: Secret::new("public"),
                },
                timeout: Duration::from_millis(150),
                retries: 1,
            },
            vendor: VendorChoice::Auto,
            firmware: None,
            interval: Duration::from_secs(60),
        })
    }
}

impl Drop for HostileAgent {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Outcomes of polls against the hostile agent.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct PollOutcomes {
    /// Polls that returned a snapshot.
    pub ok: u64,
    /// Polls that returned an error.
    pub err: u64,
    /// Polls that did not return within their bound (timeouts × retries × requests).
    pub hung: u64,
    /// Polls that panicked.
    pub panicked: u64,
}

/// Runs `polls` polls, one after another, each bounded by `bound`.
pub(crate) async fn poll_many(cfg: &OltConfig, polls: u64, bound: Duration) -> PollOutcomes {
    let mut out = PollOutcomes::default();
    for _ in 0..polls {
        let c = cfg.clone();
        let poll = tokio::spawn(async move { olt_poller::poll_once(&c, Default::default()).await });
        match tokio::time::timeout(bound, poll).await {
            Ok(Ok(Ok(_))) => out.ok += 1,
            Ok(Ok(Err(_))) => out.err += 1,
            Ok(Err(_)) => out.panicked += 1,
            Err(_) => out.hung += 1,
        }
    }
    out
}
