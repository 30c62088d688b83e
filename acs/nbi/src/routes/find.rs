//! `GET`/`HEAD /<collection>/`: matching (index plan or scan), sorting, counting, and streaming
//! the requested window in GenieACS's framing.

use super::{CONFIG_COLLECTIONS, ChannelBody, Ctx, device_id, internal, not_found, respond, text};
use crate::doc::{self, Node};
use crate::listing::{Framing, Projection, Sort};
use crate::query::{Collection, Plan, Query};
use acs::{Acs, DeviceId, TaskStatus};
use acs_store::{Index, ParamTree};
use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use std::collections::HashMap;

/// The NBI collection listing discovery profiles (`GET /discovery/`): one document per model,
/// `OUI-ProductClass-SoftwareVersion`, with the mode its devices are discovered with.
pub(super) const DISCOVERY: &str = "discovery";

/// Devices read per store page while scanning.
const SCAN_PAGE: usize = 512;

/// What a listing asks for.
struct ListSpec {
    query: Query,
    projection: Projection,
    sort: Sort,
    skip: usize,
    limit: Option<usize>,
}

fn list_spec(coll: Collection, params: &HashMap<String, String>) -> Result<ListSpec, String> {
    let num = |k: &str| -> Result<Option<usize>, String> {
        params
            .get(k)
            .filter(|v| !v.is_empty())
            .map(|v| {
                v.parse::<usize>()
                    .map_err(|_| format!("{k} must be a non-negative integer"))
            })
            .transpose()
    };
    Ok(ListSpec {
        query: Query::parse(params.get("query").map_or("", String::as_str), coll)
            .map_err(|e| e.to_string())?,
        projection: Projection::parse(params.get("projection").map_or("", String::as_str)),
        sort: Sort::parse(params.get("sort").map_or("", String::as_str), coll)
            .map_err(|e| e.to_string())?,
        skip: num("skip")?.unwrap_or(0),
        limit: num("limit")?.filter(|l| *l > 0),
    })
}

pub(super) async fn list(
    ctx: &Ctx,
    coll: &str,
    params: &HashMap<String, String>,
    head: bool,
) -> Response {
    let collection = match coll {
        "devices" => Collection::Devices,
        "tasks" | "faults" => Collection::TasksOrFaults,
        DISCOVERY => Collection::Raw,
        c if CONFIG_COLLECTIONS.contains(&c) => Collection::Raw,
        _ => return not_found(),
    };
    let spec = match list_spec(collection, params) {
        Ok(s) => s,
        Err(msg) => return text(StatusCode::BAD_REQUEST, msg),
    };
    let acs = ctx.acs.clone();
    let coll = coll.to_owned();
    // Matching reads and evaluates every candidate: it runs on a blocking thread, off the
    // runtime's workers, which waits there for each store read.
    let rt = tokio::runtime::Handle::current();
    let matched = tokio::task::spawn_blocking(move || -> Result<_, acs::AcsError> {
        let docs = match coll.as_str() {
            "devices" => Matches::Devices(match_devices(&rt, &acs, &spec)?),
            // GenieACS deletes a task when it completes; the ACS keeps the record for callers
            // waiting on it, so the listing leaves completed tasks out.
            "tasks" => Matches::Docs(match_docs(
                rt.block_on(acs.store().tasks(None))?
                    .iter()
                    .filter(|t| !matches!(t.status, TaskStatus::Done { .. }))
                    .map(doc::task),
                &spec,
            )),
            "faults" => Matches::Docs(match_docs(
                rt.block_on(acs.store().faults(None))?
                    .iter()
                    .map(doc::fault),
                &spec,
            )),
            // What discovery learnt works per model (read only: the ACS keeps it).
            DISCOVERY => Matches::Docs(match_docs(
                rt.block_on(acs.store().docs(acs::discovery::PROFILES))?
                    .iter()
                    .filter_map(|(name, bytes)| {
                        let p = acs::discovery::parse_profile(bytes)?;
                        let json = serde_json::json!({
                            "_id": name,
                            "mode": p.mode.name(),
                            "failures": p.failures,
                            "updated": acs::genie::date::iso(p.updated_ms),
                        });
                        Some(Node::from_json(&json))
                    }),
                &spec,
            )),
            other => Matches::Docs(match_docs(
                rt.block_on(acs.store().docs(other))?
                    .iter()
                    .filter_map(|(_, bytes)| {
                        serde_json::from_slice::<serde_json::Value>(bytes)
                            .ok()
                            .map(|j| Node::from_json(&j))
                    }),
                &spec,
            )),
        };
        Ok((rt, acs, spec, docs))
    })
    .await;
    let (rt, acs, spec, matches) = match matched {
        Ok(Ok(m)) => m,
        Ok(Err(e)) => return internal(e),
        Err(e) => return internal(e),
    };
    let total = matches.len();
    if head {
        let mut r = respond(StatusCode::OK, None, "application/json", Body::empty());
        r.headers_mut().insert("total", HeaderValue::from(total));
        return r;
    }
    // The documents of the requested window are rendered and sent one by one, so a large answer
    // is streamed (chunked) rather than built in memory.
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(16);
    tokio::task::spawn_blocking(move || {
        let mut framing = Framing::new();
        let window = matches.window(spec.skip, spec.limit);
        for item in window {
            let node = match item {
                Item::Doc(node) => node,
                Item::Device(id) => match load_device(&rt, &acs, &id, spec.projection.needs_tree())
                {
                    Ok(Some(node)) => node,
                    // Deleted since it matched.
                    Ok(None) => continue,
                    Err(e) => {
                        tracing::warn!(device = %id, error = %e, "NBI listing stopped");
                        return;
                    }
                },
            };
            let chunk = framing.item(&spec.projection.apply(&node).json());
            if tx.blocking_send(Bytes::from(chunk)).is_err() {
                return;
            }
        }
        let _ = tx.blocking_send(Bytes::from_static(framing.end().as_bytes()));
    });
    let mut r = respond(
        StatusCode::OK,
        None,
        "application/json",
        Body::new(ChannelBody(rx)),
    );
    r.headers_mut().insert("total", HeaderValue::from(total));
    r
}

/// The matches of a listing, in answer order.
enum Matches {
    /// Device ids (documents are re-read when sent).
    Devices(Vec<DeviceId>),
    /// Small documents kept whole (tasks, faults).
    Docs(Vec<Node>),
}

enum Item {
    Device(DeviceId),
    Doc(Node),
}

impl Matches {
    fn len(&self) -> usize {
        match self {
            Self::Devices(v) => v.len(),
            Self::Docs(v) => v.len(),
        }
    }

    fn window(self, skip: usize, limit: Option<usize>) -> Vec<Item> {
        let take = limit.unwrap_or(usize::MAX);
        match self {
            Self::Devices(v) => v
                .into_iter()
                .skip(skip)
                .take(take)
                .map(Item::Device)
                .collect(),
            Self::Docs(v) => v.into_iter().skip(skip).take(take).map(Item::Doc).collect(),
        }
    }
}

fn match_docs(docs: impl Iterator<Item = Node>, spec: &ListSpec) -> Vec<Node> {
    let mut out: Vec<Node> = docs.filter(|d| spec.query.matches(d)).collect();
    if !spec.sort.is_empty() {
        let mut keyed: Vec<_> = out.into_iter().map(|d| (spec.sort.key_of(&d), d)).collect();
        keyed.sort_by(|a, b| spec.sort.compare(&a.0, &b.0));
        out = keyed.into_iter().map(|(_, d)| d).collect();
    }
    out
}

/// A device's document, with its parameter tree when `with_tree`. Called on a blocking thread,
/// which waits on `rt` for the store.
fn load_device(
    rt: &tokio::runtime::Handle,
    acs: &Acs,
    id: &DeviceId,
    with_tree: bool,
) -> Result<Option<Node>, acs::AcsError> {
    let Some(meta) = rt.block_on(acs.device(id))? else {
        return Ok(None);
    };
    let tree = if with_tree {
        rt.block_on(acs.store().get_tree(id))?
    } else {
        ParamTree::default()
    };
    Ok(Some(doc::device(&meta.value, &tree)))
}

/// The ids of matching devices in answer order: candidates from the query's index plan (or a scan
/// in id order), each checked against the whole query.
fn match_devices(
    rt: &tokio::runtime::Handle,
    acs: &Acs,
    spec: &ListSpec,
) -> Result<Vec<DeviceId>, acs::AcsError> {
    let with_tree = spec.query.needs_tree() || spec.sort.needs_tree();
    let store = acs.store();
    let keep = |id: DeviceId, out: &mut Vec<(Vec<Option<Node>>, DeviceId)>| {
        if let Some(doc) = load_device(rt, acs, &id, with_tree)?
            && spec.query.matches(&doc)
        {
            out.push((spec.sort.key_of(&doc), id));
        }
        Ok::<_, acs::AcsError>(())
    };
    let mut found = Vec::new();
    let candidates = |index: Index, keys: &[String]| -> Result<Vec<DeviceId>, acs::AcsError> {
        let mut ids = Vec::new();
        for k in keys {
            ids.extend(rt.block_on(store.scan_index(index, k))?);
        }
        ids.sort();
        ids.dedup();
        Ok(ids)
    };
    let exact = spec.query.plan_is_exact() && spec.sort.is_empty();
    let ids = match spec.query.plan() {
        Plan::Ids(ids) => {
            let mut v: Vec<DeviceId> = ids.iter().filter_map(|i| device_id(i)).collect();
            v.sort();
            v.dedup();
            Some(v)
        }
        Plan::Serials(k) => Some(candidates(Index::Serial, &k)?),
        Plan::Tags(k) => Some(candidates(Index::Tag, &k)?),
        Plan::Macs(k) => Some(candidates(Index::Mac, &k)?),
        Plan::Model(m) => Some(candidates(Index::Model, &[m])?),
        Plan::ProductClasses(k) => Some(candidates(Index::ProductClass, &k)?),
        Plan::InformRange(from, to) => Some(rt.block_on(acs.informed_between(from, to))?),
        Plan::Scan => None,
    };
    match ids {
        // The index answers the query by itself: nothing to read until documents are sent.
        Some(ids) if exact => return Ok(ids),
        Some(ids) => {
            for id in ids {
                keep(id, &mut found)?;
            }
        }
        None => {
            let mut after: Option<DeviceId> = None;
            loop {
                let page = rt.block_on(store.scan(after.as_ref(), SCAN_PAGE))?;
                let Some(last) = page.last().cloned() else {
                    break;
                };
                for id in page {
                    keep(id, &mut found)?;
                }
                after = Some(last);
            }
        }
    }
    if !spec.sort.is_empty() {
        found.sort_by(|a, b| spec.sort.compare(&a.0, &b.0));
    }
    Ok(found.into_iter().map(|(_, id)| id).collect())
}
