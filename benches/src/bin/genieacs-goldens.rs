//! Records the goldens of `acs/testdata/genieacs-scripts/` against a running GenieACS: for
//! each scenario it replaces GenieACS's provisions, virtual parameters and presets through the
//! NBI, runs one cpe-sim CPE of the scenario's model through the scenario's sessions against
//! GenieACS's CWMP port, exports the device document and faults through the NBI and writes
//! them, normalised, to `goldens/<scenario>.json`.
//!
//! Not part of the test suite: `benches/genieacs/goldens.sh` installs and starts GenieACS 1.2.16
//! and runs this. `cargo run -p fibreplane-benches --bin genieacs-goldens -- --cwmp URL
//! --nbi URL [--scenario NAME]`

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Parser;
use fibreplane_lab::genie_golden::{self, Golden, Scenario, ScriptDir, SessionRecord};
use fibreplane_lab::{BaseModel, CpeAuth, Fleet, SimConfig};
use serde_json::Value;

#[derive(Debug, Parser)]
struct Args {
    /// GenieACS's CWMP URL.
    #[arg(long, default_value = "http://127.0.0.1:17547/")]
    cwmp: String,
    /// GenieACS's NBI base URL.
    #[arg(long, default_value = "http://127.0.0.1:17557")]
    nbi: String,
    /// The scenarios, scripts and goldens.
    #[arg(long, default_value = "acs/testdata/genieacs-scripts")]
    scripts: PathBuf,
    /// The CSV trees named by scenarios' `model` (other than the built-in `xx230v`).
    #[arg(long, default_value = "acs/testdata/trees")]
    trees: PathBuf,
    /// Run only these scenarios (repeatable); default all.
    #[arg(long)]
    scenario: Vec<String>,
}

/// How long GenieACS's cwmp workers may take to see a configuration change: they poll a
/// hash every 5 s (`lib/local-cache.ts`).
const CONFIG_SETTLE: Duration = Duration::from_secs(6);

/// How many times a session refused with 400 (the previous one still being written) is tried
/// again, a second apart.
const SESSION_RETRIES: u32 = 180;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = ScriptDir::new(&args.scripts);
    let nbi = Nbi {
        base: args.nbi.trim_end_matches('/').to_owned(),
        http: reqwest::Client::new(),
    };
    let mut ran = 0;
    for s in dir.scenarios()? {
        if !args.scenario.is_empty() && !args.scenario.contains(&s.name) {
            continue;
        }
        let golden = record(&args, &dir, &nbi, &s)
            .await
            .with_context(|| format!("scenario {}", s.name))?;
        let path = dir.golden_path(&s.name);
        std::fs::write(&path, genie_golden::to_pretty(&golden)?)
            .with_context(|| format!("writing {}", path.display()))?;
        println!(
            "{}: {} parameters, {} faults, sessions {:?} -> {}",
            s.name,
            golden.parameters.len(),
            golden.faults.len(),
            golden
                .sessions
                .iter()
                .map(|x| x.rpcs.len())
                .collect::<Vec<_>>(),
            path.display()
        );
        ran += 1;
    }
    if ran == 0 {
        bail!("no scenario matched {:?}", args.scenario);
    }
    Ok(())
}

/// Runs one scenario against GenieACS and returns its normalised result.
async fn record(args: &Args, dir: &ScriptDir, nbi: &Nbi, s: &Scenario) -> anyhow::Result<Golden> {
    nbi.reset().await?;
    for p in &s.provisions {
        nbi.put(&format!("/provisions/{p}"), dir.provision(p)?)
            .await?;
    }
    for v in &s.virtual_parameters {
        nbi.put(
            &format!("/virtual_parameters/{v}"),
            dir.virtual_parameter(v)?,
        )
        .await?;
    }
    for (name, preset) in &s.presets {
        nbi.put(&format!("/presets/{name}"), preset.to_string())
            .await?;
    }
    tokio::time::sleep(CONFIG_SETTLE).await;

    let model = match s.model.as_str() {
        "xx230v" => BaseModel::xx230v(),
        name => {
            let path = args.trees.join(format!("{name}.csv"));
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            BaseModel::from_csv(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        }
    };
    let fleet = Fleet::start(SimConfig {
        acs_url: args.cwmp.clone(),
        model: Arc::new(model),
        serial_prefix: s.serial_prefix.clone(),
        auth: CpeAuth::None,
        stagger: Duration::ZERO,
        ..SimConfig::default()
    })
    .await?;
    let device_id = fleet.device_id(0);
    nbi.delete_device(&device_id).await?;
    let mut sessions = Vec::new();
    for events in &s.sessions {
        let events: Vec<&str> = events.iter().map(String::as_str).collect();
        // GenieACS releases a device's session lock only once its end-of-session database
        // write is done, well after the 204; until then a new Inform gets 400 "CPE already
        // in session" (minutes for a whole XX230v tree in SecantusDB). Such an attempt changes
        // nothing, so it is retried.
        let mut attempts = 0;
        let report = loop {
            match fleet.inform(0, &events).await {
                Ok(r) => break r,
                Err(e) if attempts < SESSION_RETRIES && e.to_string().contains("400") => {
                    attempts += 1;
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Err(e) => return Err(e).with_context(|| format!("session {events:?}")),
            }
        };
        eprintln!(
            "{}: session {:?}: {} RPCs {:?}, CPE faults {:?}, ended with 204: {}, {:?}",
            s.name,
            report.events,
            report.acs_requests.len(),
            report.acs_requests,
            report.faults,
            report.ended_204,
            report.latency
        );
        sessions.push(SessionRecord {
            events: report.events,
            rpcs: report.acs_requests,
            cpe_faults: report.faults,
        });
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    fleet.shutdown().await;

    let (reference, devices) = nbi
        .get_json(&format!("/devices/?query={}", id_query("_id", &device_id)))
        .await?;
    let doc = devices
        .as_array()
        .and_then(|a| a.first())
        .context("the device is not in GenieACS")?;
    let (_, faults) = nbi
        .get_json(&format!(
            "/faults/?query={}",
            id_query("device", &device_id)
        ))
        .await?;
    Ok(Golden {
        scenario: s.name.clone(),
        device_id,
        reference: format!("GenieACS {reference}"),
        sessions,
        parameters: genie_golden::normalise(doc)?,
        faults: genie_golden::normalise_faults(&faults)?,
    })
}

/// `{"<key>":"<id>"}`, URL-encoded.
fn id_query(key: &str, id: &str) -> String {
    encode(&serde_json::json!({ key: id }).to_string())
}

/// GenieACS's NBI.
struct Nbi {
    base: String,
    http: reqwest::Client,
}

impl Nbi {
    async fn put(&self, path: &str, body: String) -> anyhow::Result<()> {
        let resp = self
            .http
            .put(format!("{}{path}", self.base))
            .body(body)
            .send()
            .await?;
        let status = resp.status();
        if !status.is_success() {
            bail!("PUT {path}: {status} {}", resp.text().await?);
        }
        Ok(())
    }

    async fn delete(&self, path: &str) -> anyhow::Result<reqwest::StatusCode> {
        Ok(self
            .http
            .delete(format!("{}{path}", self.base))
            .send()
            .await?
            .status())
    }

    async fn delete_device(&self, id: &str) -> anyhow::Result<()> {
        let status = self.delete(&format!("/devices/{}", encode(id))).await?;
        if !status.is_success() && status != reqwest::StatusCode::NOT_FOUND {
            bail!("DELETE device {id}: {status}");
        }
        Ok(())
    }

    /// The `GenieACS-Version` header and the JSON body of a GET.
    async fn get_json(&self, path: &str) -> anyhow::Result<(String, Value)> {
        let resp = self.http.get(format!("{}{path}", self.base)).send().await?;
        let status = resp.status();
        let version = resp
            .headers()
            .get("genieacs-version")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("unknown")
            .to_owned();
        let text = resp.text().await?;
        if !status.is_success() {
            bail!("GET {path}: {status} {text}");
        }
        Ok((version, serde_json::from_str(&text)?))
    }

    /// Deletes every preset, provision and virtual parameter, so scenarios do not see each
    /// other's configuration (presets apply to every device).
    async fn reset(&self) -> anyhow::Result<()> {
        for collection in ["presets", "provisions", "virtual_parameters"] {
            let (_, list) = self.get_json(&format!("/{collection}/")).await?;
            for item in list.as_array().into_iter().flatten() {
                if let Some(id) = item.get("_id").and_then(Value::as_str) {
                    self.delete(&format!("/{collection}/{}", encode(id)))
                        .await?;
                }
            }
        }
        Ok(())
    }
}

/// Percent-encodes a path segment or a query value.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
