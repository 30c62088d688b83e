//! olt-sim: the agent core on hostile input, the control API's authentication and changes,
//! serials tied to cpe-sim's, and the binary.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use fibreplane_lab::olt::{self, Network, OltSimConfig, SerialStyle, SimVendor, answer_once};
use proptest::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

/// A v2c GET of sysObjectID.0 with community `public`, as net-snmp encodes it.
const GET_SYS_OID: [u8; 41] = [
    0x30, 0x27, 0x02, 0x01, 0x01, 0x04, 0x06, b'p', b'u', b'b', b'l', b'i', b'c', 0xa0, 0x1a, 0x02,
    0x02, 0x12, 0x34, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x30, 0x0e, 0x30, 0x0c, 0x06, 0x08, 0x2b,
    0x06, 0x01, 0x02, 0x01, 0x01, 0x02, 0x00, 0x05, 0x00,
];

fn net() -> Network {
    Network::generate(
        SimVendor::Huawei,
        2,
        4,
        1,
        0,
        SerialStyle::CpeSim {
            prefix: "FPSIM".into(),
        },
    )
}

#[test]
fn answers_a_real_get_and_ignores_a_wrong_community() {
    let reply = answer_once(&net(), &GET_SYS_OID).unwrap();
    // The reply echoes the request id and carries the Huawei sysObjectID 1.3.6.1.4.1.2011.2.248.
    assert!(reply.windows(4).any(|w| w == [0x02, 0x02, 0x12, 0x34]));
    let sys_oid = [
        0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x8f, 0x5b, 0x02, 0x81, 0x78,
    ];
    assert!(reply.windows(12).any(|w| w == sys_oid));
    let mut wrong = GET_SYS_OID;
    wrong[7] = b'P';
    assert_eq!(answer_once(&net(), &wrong), None);
}

#[test]
fn serials_match_cpe_sim() {
    let n = Network::generate(
        SimVendor::Zte,
        2,
        4,
        1,
        1000,
        SerialStyle::CpeSim {
            prefix: "FPSIM".into(),
        },
    );
    // ONU #i (global index offset + position) carries cpe-sim's serial for CPE #i.
    assert_eq!(n.serial(&n.onus[5]), b"FPSIM00001005");
    let g = Network::generate(SimVendor::Huawei, 1, 1, 1, 42, SerialStyle::Gpon);
    assert_eq!(g.serial(&g.onus[0]), b"TPLG\x00\x00\x00\x2a");
}

proptest! {
    #[test]
    fn arbitrary_datagrams_never_panic(d in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = answer_once(&net(), &d);
    }

    #[test]
    fn mutated_requests_never_panic(i in 0usize..41, b in any::<u8>(), cut in 0usize..41) {
        let mut d = GET_SYS_OID.to_vec();
        d[i] = b;
        let _ = answer_once(&net(), &d);
        let _ = answer_once(&net(), &d[..cut]);
    }
}

async fn http(addr: std::net::SocketAddr, req: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let status = out[9..12].parse().unwrap();
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn post(path: &str, token: &str, body: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

#[tokio::test]
async fn control_api_needs_the_token_and_changes_the_network() {
    let (stop, rx) = tokio::sync::watch::channel(false);
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let config = OltSimConfig {
        ports: 4,
        onus_per_port: 8,
        ..OltSimConfig::default()
    };
    let agent = olt::start(socket, &config, rx.clone()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let token = "test-token-0123456789";
    tokio::spawn(olt::serve_control(
        listener,
        std::sync::Arc::new(vec![agent.clone()]),
        std::sync::Arc::new(token.into()),
        rx,
    ));

    let (s, _) = http(
        addr,
        &post("/cut", "wrong-token-0123456789", r#"{"port":1}"#),
    )
    .await;
    assert_eq!(s, 401);
    let (s, _) = http(
        addr,
        "GET /state HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(s, 401);
    let online_before = agent.read(|n| n.counts().0);
    let (s, body) = http(addr, &post("/cut", token, r#"{"port":1}"#)).await;
    assert_eq!(s, 200, "{body}");
    let cut: serde_json::Value = serde_json::from_str(&body).unwrap();
    let (online, los, ..) = agent.read(Network::counts);
    assert_eq!(
        online,
        online_before - cut["changed"].as_u64().unwrap() as usize
    );
    assert!(los >= 8);
    // A splitter branch: only the listed ONU ids of port 3 go down, with LOS.
    let up_ids = |n: &Network| -> Vec<u32> {
        n.onus
            .iter()
            .filter(|o| o.port == 3 && o.down.is_none())
            .map(|o| o.id)
            .collect()
    };
    let before = agent.read(up_ids);
    let (s, body) = http(addr, &post("/cut", token, r#"{"port":3,"onus":[1,2,3]}"#)).await;
    assert_eq!(s, 200, "{body}");
    let branch: serde_json::Value = serde_json::from_str(&body).unwrap();
    let after = agent.read(up_ids);
    let gone: Vec<u32> = before
        .iter()
        .copied()
        .filter(|i| !after.contains(i))
        .collect();
    assert!(gone.iter().all(|i| (1..=3).contains(i)), "{gone:?}");
    assert_eq!(gone.len(), branch["changed"].as_u64().unwrap() as usize);
    assert!(agent.read(|n| {
        n.onus
            .iter()
            .filter(|o| o.port == 3 && (1..=3).contains(&o.id))
            .all(|o| o.down.is_some())
    }));
    let (s, _) = http(addr, &post("/restore", token, r#"{"port":3}"#)).await;
    assert_eq!(s, 200);
    assert_eq!(agent.read(up_ids).len(), 8);
    let (_, los, ..) = agent.read(Network::counts);
    let (s, _) = http(addr, &post("/power", token, r#"{"port":2,"count":3}"#)).await;
    assert_eq!(s, 200);
    let (s, _) = http(addr, &post("/drift", token, r#"{"onu":0,"rx_dbm":-29.5}"#)).await;
    assert_eq!(s, 200);
    assert_eq!(agent.read(|n| n.onus[0].rx_dbm), -29.5);
    let (s, _) = http(addr, &post("/drift", token, r#"{"onu":0,"rx_dbm":99}"#)).await;
    assert_eq!(s, 400);
    let (s, _) = http(
        addr,
        &post("/faults", token, r#"{"stall_ms":250,"drop_next":2}"#),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(agent.faults().drop_next, 2);
    let (s, _) = http(addr, &post("/cut", token, r#"{"bogus":1}"#)).await;
    assert_eq!(s, 400);
    let (s, body) = http(
        addr,
        &format!("GET /state HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {token}\r\n\r\n"),
    )
    .await;
    assert_eq!(s, 200);
    let state: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(state[0]["los"].as_u64().unwrap() as usize, los);
    drop(stop);
}

#[test]
fn the_binary_prints_its_addresses_and_refuses_a_control_api_without_token() {
    let bin = env!("CARGO_BIN_EXE_olt-sim");
    let out = Command::new(bin)
        .args(["--listen", "127.0.0.1:0", "--control", "127.0.0.1:0"])
        .env("OLT_SIM_COMMUNITY", "public")
        .env_remove("OLT_SIM_TOKEN")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("token"));

    let mut child = Command::new(bin)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--count",
            "3",
            "--vendor",
            "zte",
            "--ports",
            "2",
        ])
        .env("OLT_SIM_COMMUNITY", "public")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["agents"].as_array().unwrap().len(), 3);
    assert!(v["control"].is_null());
}
