//! The few NBI calls the scenarios make, over real HTTP with the bearer token: queue a task,
//! count documents with a query (GenieACS's `total` header on `HEAD`), list pending task ids,
//! read one parameter of a device.

use anyhow::{Context, bail};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Duration;

use crate::lookup::enc;

/// An NBI client.
#[derive(Debug, Clone)]
pub struct Nbi {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Nbi {
    /// A client of the NBI at `addr`.
    pub fn new(addr: SocketAddr, token: &str) -> Self {
        Self {
            base: format!("http://{addr}"),
            token: token.to_owned(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("a plain-HTTP reqwest client always builds"),
        }
    }

    /// Queues a SetParameterValues of one string parameter on `device` (no connection request)
    /// and returns the task id the NBI acknowledged; an error if it did not acknowledge.
    pub async fn queue_spv(&self, device: &str, path: &str, value: &str) -> anyhow::Result<String> {
        let body = serde_json::json!({
            "name": "setParameterValues",
            "parameterValues": [[path, value, "xsd:string"]],
        });
        let r = self
            .http
            .post(format!("{}/devices/{}/tasks", self.base, enc(device)))
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await?;
        let status = r.status().as_u16();
        let bytes = r.bytes().await?;
        if !(200..300).contains(&status) {
            bail!("task refused: {status} {}", String::from_utf8_lossy(&bytes));
        }
        let v: serde_json::Value = serde_json::from_slice(&bytes)?;
        Ok(v["_id"].as_str().context("task without _id")?.to_owned())
    }

    /// Number of documents of `collection` matching `query` (the `total` header of a `HEAD`).
    pub async fn count(&self, collection: &str, query: &serde_json::Value) -> anyhow::Result<u64> {
        let r = self
            .http
            .head(format!(
                "{}/{collection}/?query={}",
                self.base,
                enc(&query.to_string())
            ))
            .bearer_auth(&self.token)
            .send()
            .await?;
        if !r.status().is_success() {
            bail!("count {collection}: {}", r.status());
        }
        r.headers()
            .get("total")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .context("no total header")
    }

    /// Ids of every task still queued.
    pub async fn pending_tasks(&self) -> anyhow::Result<HashSet<String>> {
        let r = self
            .http
            .get(format!("{}/tasks/?projection=_id", self.base))
            .bearer_auth(&self.token)
            .send()
            .await?;
        if !r.status().is_success() {
            bail!("tasks: {}", r.status());
        }
        let v: serde_json::Value = serde_json::from_slice(&r.bytes().await?)?;
        Ok(v.as_array()
            .context("tasks: not a list")?
            .iter()
            .filter_map(|t| t["_id"].as_str().map(str::to_owned))
            .collect())
    }

    /// The stored value of one parameter of one device (`None` if absent).
    pub async fn value(&self, device: &str, path: &str) -> anyhow::Result<Option<String>> {
        let query = serde_json::json!({ "_id": device });
        let r = self
            .http
            .get(format!(
                "{}/devices/?query={}&projection={}",
                self.base,
                enc(&query.to_string()),
                enc(path)
            ))
            .bearer_auth(&self.token)
            .send()
            .await?;
        if !r.status().is_success() {
            bail!("device {device}: {}", r.status());
        }
        let v: serde_json::Value = serde_json::from_slice(&r.bytes().await?)?;
        let mut node = &v[0];
        for part in path.split('.') {
            node = &node[part];
        }
        Ok(node["_value"].as_str().map(str::to_owned))
    }
}
