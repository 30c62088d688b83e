//! erp-sim's contract: Frappe's request and response shapes over real HTTP on loopback, and
//! seeds that match the lab fleet.

use fibreplane_lab::erp::{self, ErpSim, ErpSimConfig, seed};
use fibreplane_lab::{BaseModel, CpeModel, Identity};
use serde_json::Value as Json;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TOKEN: &str = "token lab-key:lab-secret";

async fn start(devices: u64) -> (Arc<ErpSim>, SocketAddr) {
    let sim = Arc::new(ErpSim::new(&ErpSimConfig {
        seed: 3,
        devices,
        api_key: "lab-key".into(),
        api_secret: "lab-secret".into(),
    }));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(erp::serve(l, sim.clone(), std::future::pending()));
    (sim, addr)
}

/// One HTTP/1.1 request on its own connection; returns the status and the JSON body.
async fn call(
    addr: SocketAddr,
    method: &str,
    target: &str,
    auth: Option<&str>,
    body: &str,
) -> (u16, Json) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let auth = auth
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    let req = format!(
        "{method} {target} HTTP/1.1\r\nHost: erp\r\nConnection: close\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text[9..12].parse().unwrap();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap();
    // Bodies come chunked or with a length; a chunked one is one chunk here.
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        rest.split_once("\r\n")
            .map_or("", |(_, b)| b)
            .rsplit_once("\r\n0\r\n")
            .map_or("", |(b, _)| b)
    } else {
        rest
    };
    (status, serde_json::from_str(body).unwrap_or(Json::Null))
}

fn q(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

const LIST: &str = "/api/resource/Service%20Equipment";

#[tokio::test]
async fn listings_follow_frappe_fields_filters_order_and_paging() {
    let (_, addr) = start(45).await;
    let (status, body) = call(addr, "GET", LIST, Some(TOKEN), "").await;
    assert_eq!(status, 200);
    let rows = body["data"].as_array().unwrap();
    assert_eq!(rows.len(), 20, "Frappe's default page is 20");
    assert!(
        rows.iter()
            .all(|r| r.as_object().unwrap().keys().eq(["name"])),
        "only name by default"
    );

    let fields = q(r#"["name","serial_no","modified"]"#);
    let mut seen = Vec::new();
    for start in (0..60).step_by(10) {
        let url = format!(
            "{LIST}?fields={fields}&order_by=name%20asc&limit_start={start}&limit_page_length=10"
        );
        let (_, body) = call(addr, "GET", &url, Some(TOKEN), "").await;
        for r in body["data"].as_array().unwrap() {
            assert_eq!(r.as_object().unwrap().len(), 3);
            seen.push(r["name"].as_str().unwrap().to_owned());
        }
    }
    let want: Vec<String> = (1..=45).map(|n| format!("EQP-{n:05}")).collect();
    assert_eq!(seen, want, "pages cover every record once, in order");

    let filters = q(r#"[["name","in",["EQP-00001","EQP-00003"]],["equipment_type","=","ONT"]]"#);
    let (_, body) = call(
        addr,
        "GET",
        &format!("{LIST}?filters={filters}"),
        Some(TOKEN),
        "",
    )
    .await;
    assert_eq!(body["data"].as_array().unwrap().len(), 2);
    let filters = q(r#"{"serial_no":["like","%00000007%"]}"#);
    let (_, body) = call(
        addr,
        "GET",
        &format!("{LIST}?filters={filters}&limit_page_length=0"),
        Some(TOKEN),
        "",
    )
    .await;
    assert_eq!(body["data"][0]["name"], "EQP-00008");
    let (status, body) = call(
        addr,
        "GET",
        &format!("{LIST}?filters={}", q("[[1]]")),
        Some(TOKEN),
        "",
    )
    .await;
    assert_eq!(
        (status, body["exc_type"].as_str()),
        (417, Some("ValidationError"))
    );
}

#[tokio::test]
async fn documents_are_read_and_written_with_modified_stamps() {
    let (sim, addr) = start(3).await;
    let (status, body) = call(addr, "GET", &format!("{LIST}/EQP-00002"), Some(TOKEN), "").await;
    assert_eq!(status, 200);
    let doc = &body["data"];
    assert_eq!(
        (doc["name"].as_str(), doc["doctype"].as_str()),
        (Some("EQP-00002"), Some("Service Equipment"))
    );
    let before = doc["modified"].as_str().unwrap().to_owned();
    assert_eq!(before.len(), 26, "YYYY-MM-DD HH:MM:SS.ffffff: {before}");
    let newest = sim
        .all("Service Equipment")
        .iter()
        .filter_map(|d| d["modified"].as_str().map(str::to_owned))
        .max()
        .unwrap();
    let (status, body) = call(
        addr,
        "PUT",
        &format!("{LIST}/EQP-00002"),
        Some(TOKEN),
        r#"{"custom_provisioning_status":"provisioned","name":"EQP-99999"}"#,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["custom_provisioning_status"], "provisioned");
    assert_eq!(
        body["data"]["name"], "EQP-00002",
        "the name cannot be changed"
    );
    assert!(body["data"]["modified"].as_str().unwrap() > before.as_str());
    assert_eq!(sim.writes(), 1);
    let filters = q(&format!(r#"[["modified",">",{}]]"#, Json::from(newest)));
    let (_, body) = call(
        addr,
        "GET",
        &format!("{LIST}?filters={filters}"),
        Some(TOKEN),
        "",
    )
    .await;
    assert_eq!(
        body["data"].as_array().unwrap().len(),
        1,
        "only the written record is newer"
    );
}

#[tokio::test]
async fn errors_have_frappes_status_and_shape() {
    let (sim, addr) = start(1).await;
    let (status, body) = call(addr, "GET", LIST, None, "").await;
    assert_eq!(
        (status, body["exc_type"].as_str()),
        (403, Some("PermissionError"))
    );
    let (status, body) = call(addr, "GET", LIST, Some("token lab-key:wrong"), "").await;
    assert_eq!(
        (status, body["exc_type"].as_str()),
        (401, Some("AuthenticationError"))
    );
    let messages: Vec<String> =
        serde_json::from_str(body["_server_messages"].as_str().unwrap()).unwrap();
    let first: Json = serde_json::from_str(&messages[0]).unwrap();
    assert!(first["message"].is_string());
    let (status, body) = call(addr, "GET", &format!("{LIST}/EQP-00042"), Some(TOKEN), "").await;
    assert_eq!(
        (status, body["exc_type"].as_str()),
        (404, Some("DoesNotExistError"))
    );
    assert!(
        body["exception"]
            .as_str()
            .unwrap()
            .starts_with("frappe.exceptions.DoesNotExistError")
    );
    let (status, _) = call(addr, "POST", "/lab/down", Some(TOKEN), "").await;
    assert_eq!(status, 200);
    assert!(sim.is_down());
    assert_eq!(call(addr, "GET", LIST, Some(TOKEN), "").await.0, 503);
    assert_eq!(
        call(addr, "POST", "/lab/up", None, "").await.0,
        403,
        "control needs the token"
    );
    assert_eq!(call(addr, "POST", "/lab/up", Some(TOKEN), "").await.0, 200);
    assert_eq!(call(addr, "GET", LIST, Some(TOKEN), "").await.0, 200);
}

#[test]
fn seeds_match_the_lab_fleet() {
    let base = Arc::new(BaseModel::xx230v());
    for i in [0u64, 1, 2, 3, 4, 777] {
        let [_, _, (_, eqp)] = seed::device(9, i);
        let cpe = CpeModel::new(
            base.clone(),
            Identity {
                serial: format!("FPSIM{i:08}"),
                mac_base: (i * 8) as u32,
                cr_url: String::new(),
            },
        );
        let serial: String = eqp["serial_no"]
            .as_str()
            .unwrap()
            .trim()
            .replace('-', "")
            .to_uppercase();
        assert_eq!(serial, cpe.get("Device.DeviceInfo.SerialNumber").unwrap());
        let mac: String = eqp["mac_address"]
            .as_str()
            .unwrap()
            .chars()
            .filter(char::is_ascii_hexdigit)
            .collect::<String>()
            .to_uppercase();
        let own: String = cpe
            .get("Device.Ethernet.Interface.1.MACAddress")
            .unwrap()
            .replace(':', "");
        assert_eq!(mac, own, "record {i} has CPE {i}'s label MAC");
        assert_eq!(seed::label_mac(i).replace(':', ""), own);
    }
}
