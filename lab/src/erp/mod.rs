//! `erp-sim`: a stand-in for ERPNext's Frappe REST API (the real ERPNext cannot run here),
//! following Frappe's request and response formats: `/api/resource/{doctype}` listings with
//! `fields`, `filters`, `order_by`, `limit_start`, `limit_page_length` answering `{"data": [...]}`;
//! `/api/resource/{doctype}/{name}` GET, PUT (and POST to create) answering `{"data": {...}}`;
//! `Authorization: token key:secret`; errors as Frappe raises them (`AuthenticationError` 401,
//! `PermissionError` 403 for a guest, `DoesNotExistError` 404, `ValidationError` 417) with
//! `exc_type`, `exception` and `_server_messages`; `modified` set to the server time in Frappe's
//! `YYYY-MM-DD HH:MM:SS.ffffff` form on every write.
//!
//! It is seeded ([`seed`]) so that its customers, locations and equipment match the lab fleet.
//! For tests it has a fault mode ([`ErpSim::set_down`]: every API call answers 503, as a Frappe
//! site behind nginx does while its workers are down) and counts requests.

mod http;
pub mod query;
pub mod seed;

pub use http::{router, serve};

use query::Doc;
use serde_json::Value as Json;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

/// How to build an erp-sim.
#[derive(Debug, Clone)]
pub struct ErpSimConfig {
    /// Seed of the generated data.
    pub seed: u64,
    /// Lab devices (and so customers, locations and equipment records).
    pub devices: u64,
    /// The API key callers present.
    pub api_key: String,
    /// The API secret callers present.
    pub api_secret: String,
}

/// The simulated site: documents per doctype, the fault switch and counters.
#[derive(Debug)]
pub struct ErpSim {
    docs: Mutex<HashMap<String, BTreeMap<String, Doc>>>,
    last_modified_us: AtomicU64,
    down: AtomicBool,
    requests: AtomicU64,
    writes: AtomicU64,
    pub(crate) api_key: String,
    pub(crate) api_secret: String,
}

impl ErpSim {
    /// A seeded site.
    pub fn new(config: &ErpSimConfig) -> Self {
        let sim = Self {
            docs: Mutex::new(HashMap::new()),
            last_modified_us: AtomicU64::new(0),
            down: AtomicBool::new(false),
            requests: AtomicU64::new(0),
            writes: AtomicU64::new(0),
            api_key: config.api_key.clone(),
            api_secret: config.api_secret.clone(),
        };
        for i in 0..config.devices {
            for (doctype, doc) in seed::device(config.seed, i) {
                if let Json::Object(fields) = doc {
                    sim.insert(doctype, fields);
                }
            }
        }
        sim.writes.store(0, Ordering::Relaxed);
        sim
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, BTreeMap<String, Doc>>> {
        self.docs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A fresh `modified` value: the server's time, strictly after every earlier one.
    fn stamp(&self) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as u64);
        let mut prev = self.last_modified_us.load(Ordering::Relaxed);
        let us = loop {
            let next = now.max(prev + 1);
            match self.last_modified_us.compare_exchange(
                prev,
                next,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => break next,
                Err(p) => prev = p,
            }
        };
        let date = crate::time::format_unix(us / 1_000_000);
        format!("{} {}.{:06}", &date[..10], &date[11..19], us % 1_000_000)
    }

    /// Creates a document (the bookkeeping fields are added); replaces one with the same name.
    pub fn insert(&self, doctype: &str, mut fields: Doc) -> Doc {
        let stamp = self.stamp();
        let name = fields
            .get("name")
            .and_then(Json::as_str)
            .unwrap_or("")
            .to_owned();
        let mut docs = self.lock();
        let table = docs.entry(doctype.to_owned()).or_default();
        let idx = table.len() + 1;
        for (k, v) in [
            ("doctype", Json::from(doctype)),
            ("owner", Json::from("Administrator")),
            ("creation", Json::from(stamp.clone())),
            ("modified", Json::from(stamp)),
            ("modified_by", Json::from("Administrator")),
            ("docstatus", Json::from(0)),
            ("idx", Json::from(idx)),
        ] {
            fields.insert(k.to_owned(), v);
        }
        table.insert(name, fields.clone());
        self.writes.fetch_add(1, Ordering::Relaxed);
        fields
    }

    /// Updates fields of a document as a PUT does (`name`, `doctype` and the bookkeeping
    /// fields cannot be changed); `None` if it does not exist.
    pub fn update(&self, doctype: &str, name: &str, changes: &Doc) -> Option<Doc> {
        let stamp = self.stamp();
        let mut docs = self.lock();
        let doc = docs.get_mut(doctype)?.get_mut(name)?;
        for (k, v) in changes {
            if !matches!(
                k.as_str(),
                "name" | "doctype" | "owner" | "creation" | "modified" | "modified_by" | "idx"
            ) {
                doc.insert(k.clone(), v.clone());
            }
        }
        doc.insert("modified".into(), Json::from(stamp));
        doc.insert("modified_by".into(), Json::from("api@fibreplane.lab"));
        self.writes.fetch_add(1, Ordering::Relaxed);
        Some(doc.clone())
    }

    /// A document.
    pub fn get(&self, doctype: &str, name: &str) -> Option<Doc> {
        self.lock().get(doctype)?.get(name).cloned()
    }

    /// Every document of a doctype, by name.
    pub fn all(&self, doctype: &str) -> Vec<Doc> {
        self.lock()
            .get(doctype)
            .map(|t| t.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Whether the doctype exists.
    pub(crate) fn has_doctype(&self, doctype: &str) -> bool {
        self.lock().contains_key(doctype)
    }

    /// Runs `f` over the doctype's documents.
    pub(crate) fn with_docs<T>(&self, doctype: &str, f: impl FnOnce(&[&Doc]) -> T) -> Option<T> {
        let docs = self.lock();
        let table = docs.get(doctype)?;
        let all: Vec<&Doc> = table.values().collect();
        Some(f(&all))
    }

    /// Turns the fault mode on (every API call answers 503) or off.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::Relaxed);
    }

    /// Whether the fault mode is on.
    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Relaxed)
    }

    /// API requests received (including refused ones).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Documents written through the API since start.
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }

    pub(crate) fn count_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }
}
