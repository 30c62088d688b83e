//! The traffic of the log scan: calls against a running demo that make every secret travel.
//! Each step checks its own answer, so a scan that finds nothing has really exercised the paths.

use base64::Engine as _;
use std::time::Duration;

/// Drives the demo at `hub` and `nbi`; returns the technician token it was issued.
pub(super) async fn drive(
    hub: &str,
    nbi: &str,
    token: &str,
    nbi_token: &str,
    kuma: &str,
) -> Result<String, String> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let dev0 = super::device(0);
    let dev1 = super::device(1);
    let expect = |what: &str, got: u16, want: &[u16]| {
        if want.contains(&got) {
            Ok(())
        } else {
            Err(format!("{what}: {got}, expected {want:?}"))
        }
    };
    // Provisioning: wait until every device got its WiFi and SIP settings (and was confirmed).
    for i in 0..super::DEVICES {
        let dev = super::device(i);
        let mut provisioned = false;
        for _ in 0..300 {
            let r = http
                .get(format!("{hub}/provisioning/{dev}"))
                .bearer_auth(token)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let body = r.text().await.unwrap_or_default();
            if body.contains("Provisioned") || body.contains("provisioned") {
                provisioned = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if !provisioned {
            return Err(format!("{dev} was never provisioned"));
        }
    }
    // A refused login, on the hub and on the NBI.
    let r = http
        .get(format!("{hub}/metrics"))
        .bearer_auth("wrong-token")
        .send()
        .await;
    expect("hub with a wrong token", status(r)?, &[401])?;
    let r = http
        .get(format!("{nbi}/devices/"))
        .bearer_auth("wrong-token")
        .send()
        .await;
    expect("NBI with a wrong token", status(r)?, &[401])?;
    // NBI: bearer, Basic, and a task with a connection request (the CR password travels).
    let r = http
        .get(format!("{nbi}/devices/?projection=_id"))
        .bearer_auth(nbi_token)
        .send()
        .await;
    expect("NBI bearer", status(r)?, &[200])?;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("nbi:{nbi_token}"));
    let r = http
        .get(format!("{nbi}/tasks/"))
        .header("authorization", format!("Basic {basic}"))
        .send()
        .await;
    expect("NBI Basic", status(r)?, &[200])?;
    let r = http
        .post(format!(
            "{nbi}/devices/{dev1}/tasks?connection_request&timeout=10000"
        ))
        .bearer_auth(nbi_token)
        .body(r#"{"name":"getParameterValues","parameterNames":["Device.DeviceInfo.UpTime"]}"#)
        .send()
        .await;
    expect(
        "NBI task with a connection request",
        status(r)?,
        &[200, 202],
    )?;
    // A technician token, issued and used on a summary (which may refresh through a CR).
    let r = http
        .post(format!("{hub}/tech/tokens"))
        .bearer_auth(token)
        .body(r#"{"technician":"tech-1","job":"JOB-1","location":"LOC-00001","ttl_secs":600}"#)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    expect("technician token", r.status().as_u16(), &[200])?;
    let issued = json(r).await?;
    let tech = issued["token"].as_str().ok_or("no token")?.to_owned();
    let r = http
        .get(format!("{hub}/devices/{dev0}/summary"))
        .bearer_auth(&tech)
        .send()
        .await;
    expect("summary with a technician token", status(r)?, &[200])?;
    // Kuma: the secret as a bearer token, in X-Kuma-Token, as ?token=, and a wrong one.
    let test = r#"{"heartbeat":null,"monitor":null,"msg":"log scan"}"#;
    let r = http
        .post(format!("{hub}/webhook/kuma"))
        .bearer_auth(kuma)
        .header("content-type", "application/json")
        .body(test)
        .send()
        .await;
    expect("Kuma bearer", status(r)?, &[200])?;
    let r = http
        .post(format!("{hub}/webhook/kuma"))
        .header("x-kuma-token", kuma)
        .header("content-type", "application/json")
        .body(test)
        .send()
        .await;
    expect("X-Kuma-Token", status(r)?, &[200])?;
    let r = http
        .get(format!("{hub}/webhook/kuma?token={kuma}&msg=test"))
        .send()
        .await;
    expect("Kuma ?token", status(r)?, &[200])?;
    let r = http
        .post(format!("{hub}/webhook/kuma"))
        .bearer_auth("not-the-kuma-secret")
        .body(test)
        .send()
        .await;
    expect("Kuma with a wrong secret", status(r)?, &[401])?;
    // The modem bridge logs in to the first XX230v emulator with its password.
    let r = http
        .get(format!("{hub}/modem/FPSIM00000000/device"))
        .bearer_auth(token)
        .send()
        .await;
    expect("modem read", status(r)?, &[200])?;
    // The OLT has been polled with the community meanwhile.
    let r = http
        .get(format!("{hub}/olt/olt-demo"))
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let olt = json(r).await?;
    if olt["snapshot"].is_null() {
        return Err("the OLT was never polled".into());
    }
    Ok(tech)
}

async fn json(r: reqwest::Response) -> Result<serde_json::Value, String> {
    let body = r.bytes().await.map_err(|e| e.to_string())?;
    serde_json::from_slice(&body).map_err(|e| e.to_string())
}

fn status(r: reqwest::Result<reqwest::Response>) -> Result<u16, String> {
    r.map(|r| r.status().as_u16()).map_err(|e| e.to_string())
}
