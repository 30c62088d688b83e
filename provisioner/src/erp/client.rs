//! The ERPNext (Frappe REST) client: listings with pagination, one document, the write-back PUT,
//! each with bounded retries for transient failures. Longer outages are the driver's business:
//! it keeps what it has to write in its durable outbox and tries again later.

use super::metrics::ErpMetrics;
use super::wire::{self, Limits, Row};
use crate::error::ProvisionError;
use acs::Secret;
use acs::client_tls::{self, HttpsBody, HttpsClient};
use bytes::Bytes;
use http::{Method, header};
use http_body_util::BodyExt;
use serde_json::json;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use url::Url;

/// How to reach ERPNext.
#[derive(Debug, Clone)]
pub struct ErpConfig {
    /// `https://host[:port]` (or `http://`) of the Frappe site.
    pub base_url: String,
    /// A PEM file of CAs trusted beside the system's roots for an `https://` site (a private
    /// CA); `None` trusts the system's roots only.
    pub ca_file: Option<PathBuf>,
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
            ca_file: None,
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
    http: HttpsClient,
    config: ErpConfig,
    metrics: ErpMetrics,
}

impl ErpClient {
    /// Builds the client; the URL must be `https://…` or `http://…`, and a configured CA file
    /// must hold certificates.
    pub fn new(config: ErpConfig) -> Result<Self, ProvisionError> {
        let url = Url::parse(&config.base_url)
            .map_err(|e| ProvisionError::BadRecord(format!("ERPNext URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ProvisionError::BadRecord(format!(
                "ERPNext URL must be https:// or http://, not {}://",
                url.scheme()
            )));
        }
        let tls = client_tls::verified(config.ca_file.as_deref())
            .map_err(|e| ProvisionError::Config(format!("ERPNext {e}")))?;
        let http = client_tls::https_client(tls);
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

    fn url(&self, name: Option<&str>) -> Result<Url, ProvisionError> {
        let mut url = Url::parse(&self.config.base_url)
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

    fn auth(&self) -> header::HeaderValue {
        let token = format!(
            "token {}:{}",
            self.config.api_key,
            self.config.api_secret.expose()
        );
        let mut v = header::HeaderValue::from_str(&token)
            .unwrap_or_else(|_| header::HeaderValue::from_static("token invalid"));
        v.set_sensitive(true);
        v
    }

    /// Sends a request, retrying transient failures with exponential back-off; returns the body
    /// of a 2xx answer.
    async fn send(
        &self,
        method: Method,
        url: Url,
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
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
    ) -> Result<Vec<u8>, ProvisionError> {
        self.metrics.requests.inc();
        let started = Instant::now();
        let result = self.exchange(method, url, body).await;
        self.metrics.observe(&result, started.elapsed());
        result
    }

    /// One HTTP exchange within the request timeout: the request, the bounded body, the status
    /// mapped to an error class.
    async fn exchange(
        &self,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
    ) -> Result<Vec<u8>, ProvisionError> {
        let mut req = http::Request::builder()
            .method(method)
            .uri(url.as_str())
            .header(header::AUTHORIZATION, self.auth())
            .header(header::ACCEPT, "application/json");
        if body.is_some() {
            req = req.header(header::CONTENT_TYPE, "application/json");
        }
        let req = req
            .body(HttpsBody::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| ProvisionError::BadRecord(format!("ERPNext request: {e}")))?;
        let max = self.config.limits.max_body;
        let exchange = async {
            let resp = self.http.request(req).await.map_err(|e| failure(&e))?;
            let status = resp.status().as_u16();
            let bytes = read_bounded(resp, max).await?;
            Ok::<_, ProvisionError>((status, bytes))
        };
        let (status, bytes) = tokio::time::timeout(self.config.timeout, exchange)
            .await
            .map_err(|_| ProvisionError::Unavailable("timeout".into()))??;
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
        let body = self.send(Method::GET, url, None).await?;
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
        let body = self.send(Method::GET, self.url(Some(name))?, None).await?;
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
        self.send(Method::PUT, self.url(Some(name))?, Some(body))
            .await
            .map(drop)
    }
}

/// What a failed exchange means, without its URL (harmless here, but errors should say what
/// failed, not where the secret-bearing request went). A TLS failure (a certificate no trusted
/// CA signed, a name mismatch) is its own class: retrying will not help, configuration will.
fn failure(e: &hyper_util::client::legacy::Error) -> ProvisionError {
    if let Some(tls) = client_tls::tls_failure(e) {
        return ProvisionError::Tls(tls);
    }
    let kind = if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    ProvisionError::Unavailable(kind.to_owned())
}

/// Reads a body, refusing more than `max` bytes.
async fn read_bounded(
    resp: http::Response<hyper::body::Incoming>,
    max: usize,
) -> Result<Vec<u8>, ProvisionError> {
    let too_big = || ProvisionError::BadResponse(format!("body larger than {max} bytes"));
    let declared = resp
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_big());
    }
    let mut body = resp.into_body();
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| ProvisionError::Unavailable("request failed".into()))?;
        if let Ok(chunk) = frame.into_data() {
            if out.len() + chunk.len() > max {
                return Err(too_big());
            }
            out.extend_from_slice(&chunk);
        }
    }
    Ok(out)
}
