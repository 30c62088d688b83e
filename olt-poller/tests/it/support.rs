//! Shared helpers: in-process olt-sim agents, fake agents with scripted misbehaviour, external
//! tools (installed by scripts/deps/snmp.sh; a missing tool fails the test loudly).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use fibreplane_lab::olt::{self, Network, OltSimConfig, OltSimHandle, SerialStyle, SimVendor};
use olt_poller::{Credentials, OltConfig, OltId, Secret, SnmpTarget, VendorChoice};
use tokio::net::UdpSocket;
use tokio::sync::watch;

/// A running in-process olt-sim; stops when dropped.
pub(crate) struct Sim {
    pub(crate) handle: OltSimHandle,
    _stop: watch::Sender<bool>,
}

pub(crate) async fn start_sim(config: OltSimConfig) -> Sim {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let (stop, rx) = watch::channel(false);
    let handle = olt::start(socket, &config, rx).unwrap();
    Sim {
        handle,
        _stop: stop,
    }
}

pub(crate) fn sim_config(vendor: SimVendor, ports: u32, onus: u32) -> OltSimConfig {
    OltSimConfig {
        vendor,
        ports,
        onus_per_port: onus,
        seed: 7,
        community: Some("lab-community".into()),
        ..OltSimConfig::default()
    }
}

pub(crate) fn v2c(addr: SocketAddr, community: &str) -> SnmpTarget {
    SnmpTarget {
        addr,
        credentials: Credentials::V2c {
            community: Secret::new(community),
        },
        timeout: Duration::from_millis(1000),
        retries: 2,
    }
}

pub(crate) fn olt(name: &str, target: SnmpTarget, vendor: &str) -> OltConfig {
    OltConfig {
        id: OltId::new(name).unwrap(),
        target,
        vendor: VendorChoice::parse(vendor).unwrap(),
        firmware: None,
        interval: Duration::from_secs(3600),
    }
}

/// What a fake agent does with request number `n` (0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Act {
    Answer,
    Drop,
    /// Answer after a delay (a late reply).
    Late(Duration),
    /// Answer twice.
    Duplicate,
    /// Send a garbage datagram, then the answer.
    GarbageFirst,
}

/// A fake agent that answers like olt-sim over `net` but misbehaves per request as `script`
/// says; returns its address and a request counter.
pub(crate) async fn fake_agent(
    net: Network,
    script: impl Fn(usize) -> Act + Send + Sync + 'static,
) -> (SocketAddr, Arc<AtomicUsize>) {
    let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let addr = socket.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65_535];
        loop {
            let Ok((n, peer)) = socket.recv_from(&mut buf).await else {
                continue;
            };
            let i = c.fetch_add(1, Ordering::SeqCst);
            let Some(reply) = olt::answer_once(&net, &buf[..n]) else {
                continue;
            };
            match script(i) {
                Act::Answer => {
                    let _ = socket.send_to(&reply, peer).await;
                }
                Act::Drop => {}
                Act::Late(d) => {
                    let s = socket.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(d).await;
                        let _ = s.send_to(&reply, peer).await;
                    });
                }
                Act::Duplicate => {
                    let _ = socket.send_to(&reply, peer).await;
                    let _ = socket.send_to(&reply, peer).await;
                }
                Act::GarbageFirst => {
                    let _ = socket.send_to(b"\x30\x03\x02\x01\xff garbage", peer).await;
                    let _ = socket.send_to(&reply, peer).await;
                }
            }
        }
    });
    (addr, count)
}

/// A small Huawei network as the fake agents serve it.
pub(crate) fn small_net() -> Network {
    Network::generate(
        SimVendor::Huawei,
        2,
        8,
        3,
        0,
        SerialStyle::CpeSim {
            prefix: "FPSIM".into(),
        },
    )
}

/// Where scripts/deps/*.sh install tools.
pub(crate) fn tools_dir() -> PathBuf {
    std::env::var_os("FIBREPLANE_TOOLS").map_or_else(
        || {
            PathBuf::from(std::env::var_os("HOME").expect("HOME is set"))
                .join(".cache/fibreplane/tools")
        },
        PathBuf::from,
    )
}

/// A Debian tool (net-snmp); fails loudly when scripts/deps/snmp.sh has not run.
pub(crate) fn debian_tool(name: &str) -> PathBuf {
    for dir in ["/usr/bin", "/usr/sbin", "/usr/local/bin"] {
        let p = PathBuf::from(dir).join(name);
        if p.exists() {
            return p;
        }
    }
    panic!("{name} is not installed: run scripts/deps/snmp.sh (Debian package snmp)");
}

/// The repository root.
pub(crate) fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A UDP port that was free a moment ago (for external agents that cannot take port 0).
pub(crate) fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
