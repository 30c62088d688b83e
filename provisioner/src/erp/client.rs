//! The ERPNext (Frappe REST) client: listings with pagination, one document, the write-back PUT,
//! each with bounded retries for transient failures. Longer outages are the driver's business:
//! it keeps what it has to write in its durable outbox and tries again later.

use super::metrics::ErpMetrics;
use super::wire::{self, Limits, Row};
use crate::error::ProvisionError;
use acs::Secret;
use serde_json::json;
use std::time::{Duration, Instant};

/// How to reach ERPNext.
#[derive(Debug, Clone)]
pub struct ErpConfig {
    /// `http://host:port` of the Frappe site.
    pub base_url: String,
    /// API key of the integration user.
    pub api_key: String,
    /// API secret of the integration user.
    pub api_secret: Secret,
    /// Rows per listing page.
    pub page_size: usize,
    /// Extra attempts after a transient failure, per request.
    pub retries: u32,
    /// First retry delay, doubled per attempt.
    pub retry_base: Duration,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Response bounds.
    pub limits: Limits,
}

impl Default for ErpConfig {
    fn default() -> Self {
        Self {
            base_url: "http://127.0.0.1:8000".into(),
            api_key: String::new(),
            api_secret: Secret::default(),
            page_size: 500,
            retries: 2,
            retry_base: Duration::from_millis(200),
            timeout: Duration::from_secs(10),
            limits: Limits::default(),
        }
    }
}

/// A Frappe REST client for `Service Equipment`.
#[derive(Debug)]
pub struct ErpClient {
    http: reqwest::Client,
    config: ErpConfig,
    metrics: ErpMetrics,
}

impl ErpClient {
    /// Builds the client; the URL must be `http://…`.
    pub fn new(config: ErpConfig) -> Result<Self, ProvisionError> {
        reqwest::Url::parse(&config.base_url)
            .map_err(|e| ProvisionError::BadRecord(format!("ERPNext URL: {e}")))?;
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|e| ProvisionError::Unavailable(e.to_string()))?;
        Ok(Self {
            http,
            config,
            metrics: ErpMetrics::default(),
        })
    }

    /// HTTP requests sent so far (retries included), for the benchmark and the metrics.
    pub fn requests(&self) -> u64 {
        self.metrics.requests.get()
    }

    /// Requests that failed so far (unreachable, refused, an error status; each retry counts),
    /// for the metrics: a rising count is ERPNext away or refusing.
    pub fn failures(&self) -> u64 {
        self.metrics.failures.get()
    }

    /// Adds the client's metrics (requests, failures, latency by outcome) to a scrape.
    pub fn register_metrics(&self, registry: &mut prometheus_client::registry::Registry) {
        self.metrics.register(registry);
    }

    fn url(&self, name: Option<&str>) -> Result<reqwest::Url, ProvisionError> {
        let mut url = reqwest::Url::parse(&self.config.base_url)
            .map_err(|e| ProvisionError::BadRecord(format!("ERPNext URL: {e}")))?;
        {
            let mut seg = url
                .path_segments_mut()
                .map_err(|()| ProvisionError::BadRecord("ERPNext URL cannot be a base".into()))?;
            seg.pop_if_empty()
                .extend(["api", "resource", wire::DOCTYPE]);
            if let Some(n) = name {
                seg.push(n);
            }
        }
        Ok(url)
    }

    fn auth(&self) -> reqwest::header::HeaderValue {
        let token = format!(
            "token {}:{}",
            self.config.api_key,
            self.config.api_secret.expose()
        );
        let mut v = reqwest::header::HeaderValue::from_str(&token)
            .unwrap_or_else(|_| reqwest::header::HeaderValue::from_static("token invalid"));
        v.set_sensitive(true);
        v
    }

    /// Sends a request, retrying transient failures with exponential back-off; returns the body
    /// of a 2xx answer.
    async fn send(
        &self,
        method: reqwest::Method,
        url: reqwest::Url,
        body: Option<Vec<u8>>,
    ) -> Result<Vec<u8>, ProvisionError> {
        let mut attempt = 0;
        loop {
            let result = self
                .send_once(method.clone(), url.clone(), body.clone())
                .await;
            if result.is_err() {
                self.metrics.failures.inc();
            }
            match result {
                Err(e) if e.is_transient() && attempt < self.config.retries => {
                    tokio::time::sleep(self.config.retry_base * 2u32.pow(attempt)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn send_once(
        &self,
        method: reqwest::Method,
        url: reqwest::Url,
        body: Option<Vec<u8>>,
    ) -> Result<Vec<u8>, ProvisionError> {
        self.metrics.requests.inc();
        let started = Instant::now();
        let result = self.exchange(method, url, body).await;
        self.metrics.observe(&result, started.elapsed());
        result
    }

    /// One HTTP exchange: the request, the bounded body, the status mapped to an error class.
    async fn exchange(
        &self,
        method: reqwest::Method,
        url: reqwest::Url,
        body: Option<Vec<u8>>,
    ) -> Result<Vec<u8>, ProvisionError> {
        let mut req = self
            .http
            .request(method, url)
            .header(reqwest::header::AUTHORIZATION, self.auth())
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(b) = body {
            req = req
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(b);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| ProvisionError::Unavailable(without_url(&e)))?;
        let status = resp.status().as_u16();
        let bytes = read_bounded(resp, self.config.limits.max_body).await?;
        match status {
            200..=299 => Ok(bytes),
            401 | 403 => Err(ProvisionError::Refused {
                status,
                exc_type: wire::parse_error(&bytes).exc_type,
            }),
            404 => Err(ProvisionError::NotFound(wire::parse_error(&bytes).message)),
            429 | 500..=599 => Err(ProvisionError::Unavailable(format!("HTTP {status}"))),
            _ => Err(ProvisionError::BadResponse(format!(
                "HTTP {status}: {}",
                wire::parse_error(&bytes).message
            ))),
        }
    }

    /// One listing page.
    pub async fn list(
        &self,
        filters: &str,
        start: usize,
        len: usize,
    ) -> Result<Vec<Row>, ProvisionError> {
        let mut url = self.url(None)?;
        url.query_pairs_mut()
            .append_pair("fields", &wire::fields())
            .append_pair("filters", filters)
            .append_pair("order_by", "modified asc, name asc")
            .append_pair("limit_start", &start.to_string())
            .append_pair("limit_page_length", &len.to_string());
        let body = self.send(reqwest::Method::GET, url, None).await?;
        wire::parse_list(&body, &self.config.limits)
    }

    /// Every record modified at or after `since` (Frappe `Datetime` text; empty: every record),
    /// oldest first. Pages are keyed on `modified` rather than on a bare offset, so a record
    /// modified while we page moves to the end instead of shifting a neighbour out of view.
    pub async fn modified_since(&self, since: &str) -> Result<Vec<Row>, ProvisionError> {
        let page = self.config.page_size.max(1);
        let (mut since, mut skip) = (since.to_owned(), 0usize);
        let mut out: Vec<Row> = Vec::new();
        loop {
            let filters = if since.is_empty() {
                "[]".to_owned()
            } else {
                wire::filters(&[("modified", ">=", json!(since))])
            };
            let rows = self.list(&filters, skip, page).await?;
            let n = rows.len();
            out.extend(rows);
            if n < page {
                break;
            }
            let last = out
                .last()
                .and_then(|r| r.get("modified"))
                .unwrap_or("")
                .to_owned();
            if last == since {
                skip += n;
            } else {
                skip = out[out.len() - n..]
                    .iter()
                    .filter(|r| r.get("modified") == Some(last.as_str()))
                    .count();
                since = last;
            }
        }
        // A record seen twice (modified again between pages) counts once, in its latest form.
        let mut seen = std::collections::HashSet::new();
        let mut dedup: Vec<Row> = out
            .into_iter()
            .rev()
            .filter(|r| seen.insert(r.get("name").unwrap_or("").to_owned()))
            .collect();
        dedup.reverse();
        Ok(dedup)
    }

    /// One record by name.
    pub async fn get(&self, name: &str) -> Result<Row, ProvisionError> {
        let body = self
            .send(reqwest::Method::GET, self.url(Some(name))?, None)
            .await?;
        wire::parse_doc(&body, &self.config.limits)
    }

    /// Writes the provisioning outcome (`provisioned` or `failed: …`) and its time to a record.
    pub async fn write_outcome(
        &self,
        name: &str,
        status: &str,
        at: &str,
    ) -> Result<(), ProvisionError> {
        let body = wire::outcome_body(status, at);
        self.send(reqwest::Method::PUT, self.url(Some(name))?, Some(body))
            .await
            .map(drop)
    }
}

/// A reqwest error without its URL (which is harmless here, but errors should say what failed,
/// not where the secret-bearing request went).
fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    kind.to_owned()
}

/// Reads a body, refusing more than `max` bytes.
async fn read_bounded(mut resp: reqwest::Response, max: usize) -> Result<Vec<u8>, ProvisionError> {
    if resp.content_length().is_some_and(|n| n as usize > max) {
        return Err(ProvisionError::BadResponse(format!(
            "body larger than {max} bytes"
        )));
    }
    let mut out = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| ProvisionError::Unavailable(without_url(&e)))?
    {
        if out.len() + chunk.len() > max {
            return Err(ProvisionError::BadResponse(format!(
                "body larger than {max} bytes"
            )));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}
