//! The HTTP layer: GenieACS's routes, tried in its order, with its status codes, reason phrases
//! and plain-text error bodies. Store reads run on the blocking pool; writes go through the ACS's
//! single writer.

use crate::doc::{self, Node};
use crate::listing::{Framing, Projection, Sort};
use crate::query::{Collection, Plan, Query};
use crate::{NbiConfig, task_body};
use acs::{Acs, DeviceEvent, DeviceId, TaskOutcome, TaskRecord, TaskStatus};
use acs_store::{DeviceMeta, Expect, Index, Op, Outcome, ParamTree};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, header};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Largest request body read (task JSON; file uploads get their own limit later).
const MAX_BODY: usize = 1 << 20;
/// GenieACS's default wait for a session to start after a connection request
/// (`cwmp.deviceOnlineThreshold`).
const DEFAULT_ONLINE_WAIT: Duration = Duration::from_millis(4000);
/// GenieACS's wait for that session to end.
const SESSION_WAIT: Duration = Duration::from_secs(120);
/// Devices read per store page while scanning.
const SCAN_PAGE: usize = 512;

#[derive(Clone)]
struct Ctx {
    acs: Arc<Acs>,
    config: Arc<NbiConfig>,
}

pub(crate) fn router(acs: Arc<Acs>, config: NbiConfig) -> axum::Router {
    axum::Router::new().fallback(dispatch).with_state(Ctx {
        acs,
        config: Arc::new(config),
    })
}

/// Tells clients which API this speaks; GenieACS sends its version on every response.
const VERSION: &str = concat!("1.2.16+fibreplane-", env!("CARGO_PKG_VERSION"));

fn respond(status: StatusCode, reason: Option<&str>, content_type: &str, body: Body) -> Response {
    let mut r = Response::new(body);
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert("GenieACS-Version", HeaderValue::from_static(VERSION));
    if let Ok(v) = HeaderValue::from_str(content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Some(phrase) = reason
        && let Ok(p) = hyper::ext::ReasonPhrase::try_from(phrase.as_bytes().to_vec())
    {
        r.extensions_mut().insert(p);
    }
    r
}

fn text(status: StatusCode, body: impl Into<String>) -> Response {
    respond(
        status,
        None,
        "text/plain; charset=utf-8",
        Body::from(body.into()),
    )
}

fn not_found() -> Response {
    text(StatusCode::NOT_FOUND, "404 Not Found")
}

fn not_allowed(allow: &'static str) -> Response {
    let mut r = text(StatusCode::METHOD_NOT_ALLOWED, "405 Method Not Allowed");
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    r
}

fn json(status: StatusCode, reason: Option<&str>, node: &Node) -> Response {
    respond(status, reason, "application/json", Body::from(node.json()))
}

fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "NBI request failed");
    text(
        StatusCode::INTERNAL_SERVER_ERROR,
        "500 Internal Server Error",
    )
}

/// Decodes one `%`-escaped path segment (GenieACS clients escape the `%` of device ids again).
pub(crate) fn decode(seg: &str) -> Option<String> {
    let b = seg.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn query_params(uri: &http::Uri) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for pair in uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let plus = |s: &str| s.replace('+', " ");
        if let (Some(k), Some(v)) = (decode(&plus(k)), decode(&plus(v))) {
            out.insert(k, v);
        }
    }
    out
}

async fn dispatch(State(ctx): State<Ctx>, req: Request) -> Response {
    if !ctx.config.access.allows(req.headers()) {
        let mut r = text(StatusCode::UNAUTHORIZED, "401 Unauthorized");
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"fibreplane-nbi\""),
        );
        return r;
    }
    let (parts, body) = req.into_parts();
    let params = query_params(&parts.uri);
    let path = parts.uri.path().to_owned();
    let Some(segs) = path
        .trim_start_matches('/')
        .split('/')
        .map(decode)
        .collect::<Option<Vec<String>>>()
    else {
        return text(StatusCode::BAD_REQUEST, "invalid %-escape in path");
    };
    let m = &parts.method;
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    // Files are streamed to disk; every other body is small and read whole.
    if let ["files", name] = segs.as_slice()
        && !name.is_empty()
    {
        return match *m {
            Method::PUT => put_file(&ctx, name, &parts.headers, body).await,
            Method::DELETE => delete_file(&ctx, name).await,
            _ => not_allowed("PUT, DELETE"),
        };
    }
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
        return text(StatusCode::PAYLOAD_TOO_LARGE, "413 Payload Too Large");
    };
    match segs.as_slice() {
        [coll @ ("presets" | "objects"), name] if !name.is_empty() => match *m {
            Method::PUT => put_json_doc(&ctx, coll, name, &body).await,
            Method::DELETE => delete_doc(&ctx, coll, name).await,
            _ => not_allowed("PUT, DELETE"),
        },
        [coll @ ("provisions" | "virtual_parameters"), name] if !name.is_empty() => match *m {
            Method::PUT => put_script(&ctx, coll, name, &body).await,
            Method::DELETE => delete_doc(&ctx, coll, name).await,
            _ => not_allowed("PUT, DELETE"),
        },
        ["devices", id, "tasks"] => match *m {
            Method::POST => post_task(&ctx, id, &params, &body).await,
            _ => not_allowed("POST"),
        },
        ["devices", id, "tags", name] => match *m {
            Method::POST => tag(&ctx, id, name, true).await,
            Method::DELETE => tag(&ctx, id, name, false).await,
            _ => not_allowed("POST, DELETE"),
        },
        ["faults", id] if !id.is_empty() => match *m {
            Method::DELETE => delete_fault(&ctx, id).await,
            _ => not_allowed("DELETE"),
        },
        ["tasks", id] if !id.is_empty() => match *m {
            Method::DELETE => delete_task(&ctx, id).await,
            _ => not_allowed("PUT, DELETE"),
        },
        ["tasks", id, "retry"] => match *m {
            Method::POST => retry_task(&ctx, id).await,
            _ => not_allowed("POST"),
        },
        ["tasks", _, _] => not_found(),
        ["devices", id] if !id.is_empty() => match *m {
            Method::DELETE => delete_device(&ctx, id).await,
            _ => not_allowed("DELETE"),
        },
        [coll] | [coll, ""] => match *m {
            Method::GET | Method::HEAD => list(&ctx, coll, &params, *m == Method::HEAD).await,
            _ if known_collection(coll) => not_allowed("GET, HEAD"),
            _ => not_found(),
        },
        _ => not_found(),
    }
}

fn known_collection(c: &str) -> bool {
    matches!(c, "devices" | "tasks" | "faults") || CONFIG_COLLECTIONS.contains(&c)
}

/// Collections of documents the NBI stores for clients (GenieACS's names).
const CONFIG_COLLECTIONS: [&str; 5] = [
    "presets",
    "objects",
    "provisions",
    "virtual_parameters",
    crate::files::COLLECTION,
];

/// Largest preset, object, provision or virtual-parameter document.
const MAX_DOC_BYTES: usize = 256 * 1024;

async fn store_doc(ctx: &Ctx, coll: &str, name: &str, doc: &Node) -> Response {
    let op = Op::PutDoc {
        collection: coll.to_owned(),
        name: name.to_owned(),
        body: doc.json().into_bytes(),
    };
    match ctx.acs.write(vec![op]).await {
        Ok(_) => text(StatusCode::OK, ""),
        Err(e) => internal(e),
    }
}

/// `PUT /presets/<name>` and `/objects/<name>`: the JSON object stored as sent, with `_id` set to
/// the name (GenieACS replaces the whole document).
async fn put_json_doc(ctx: &Ctx, coll: &str, name: &str, body: &[u8]) -> Response {
    if body.len() > MAX_DOC_BYTES {
        return text(StatusCode::PAYLOAD_TOO_LARGE, "413 Payload Too Large");
    }
    let json: serde_json::Value = match serde_json::from_slice(body) {
        Ok(j) => j,
        Err(e) => return text(StatusCode::BAD_REQUEST, format!("SyntaxError: {e}")),
    };
    let serde_json::Value::Object(map) = json else {
        return text(
            StatusCode::BAD_REQUEST,
            "Invalid document: a JSON object is expected",
        );
    };
    let mut fields = vec![("_id".to_owned(), Node::Str(name.to_owned()))];
    fields.extend(
        map.iter()
            .filter(|(k, _)| k.as_str() != "_id")
            .map(|(k, v)| (k.clone(), Node::from_json(v))),
    );
    store_doc(ctx, coll, name, &Node::Obj(fields)).await
}

/// `PUT /provisions/<name>` and `/virtual_parameters/<name>`: the body is JavaScript, stored as
/// `{_id, script}`. Running scripts (and so checking their syntax as GenieACS does) needs the
/// script engine, which is not part of this version; the script is kept verbatim.
async fn put_script(ctx: &Ctx, coll: &str, name: &str, body: &[u8]) -> Response {
    if body.len() > MAX_DOC_BYTES {
        return text(StatusCode::PAYLOAD_TOO_LARGE, "413 Payload Too Large");
    }
    let Ok(script) = std::str::from_utf8(body) else {
        return text(
            StatusCode::BAD_REQUEST,
            "SyntaxError: the script is not UTF-8",
        );
    };
    let doc = Node::Obj(vec![
        ("_id".into(), Node::Str(name.to_owned())),
        ("script".into(), Node::Str(script.to_owned())),
    ]);
    store_doc(ctx, coll, name, &doc).await
}

async fn delete_doc(ctx: &Ctx, coll: &str, name: &str) -> Response {
    let op = Op::DeleteDoc {
        collection: coll.to_owned(),
        name: name.to_owned(),
    };
    match ctx.acs.write(vec![op]).await {
        Ok(_) => text(StatusCode::OK, ""),
        Err(e) => internal(e),
    }
}

async fn put_file(ctx: &Ctx, name: &str, headers: &http::HeaderMap, body: Body) -> Response {
    let Some(files) = &ctx.config.files else {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "file storage is not configured",
        );
    };
    let (length, sha256) = match files.put(name, body).await {
        Ok(done) => done,
        Err(crate::files::FileError::TooLarge) => {
            return text(StatusCode::PAYLOAD_TOO_LARGE, "413 Payload Too Large");
        }
        Err(e) => return internal(e),
    };
    let doc = crate::files::document(
        name,
        length,
        &sha256,
        ctx.acs.now_ms(),
        crate::files::metadata(headers),
    );
    let op = Op::PutDoc {
        collection: crate::files::COLLECTION.to_owned(),
        name: name.to_owned(),
        body: doc.json().into_bytes(),
    };
    match ctx.acs.write(vec![op]).await {
        Ok(_) => respond(
            StatusCode::CREATED,
            None,
            "text/plain; charset=utf-8",
            Body::empty(),
        ),
        Err(e) => internal(e),
    }
}

async fn delete_file(ctx: &Ctx, name: &str) -> Response {
    let known = matches!(
        ctx.acs.store().doc(crate::files::COLLECTION, name),
        Ok(Some(_))
    );
    if !known {
        return not_found();
    }
    let op = Op::DeleteDoc {
        collection: crate::files::COLLECTION.to_owned(),
        name: name.to_owned(),
    };
    if let Err(e) = ctx.acs.write(vec![op]).await {
        return internal(e);
    }
    if let Some(files) = &ctx.config.files
        && let Err(e) = files.delete(name).await
    {
        return internal(e);
    }
    text(StatusCode::OK, "")
}

fn device_id(id: &str) -> Option<DeviceId> {
    DeviceId::parse(id).ok()
}

/// GenieACS's wording for connection-request failures (it becomes a reason phrase and a body).
fn cr_message(e: &acs::CrError) -> String {
    use acs::CrError as E;
    match e {
        E::Offline | E::Timeout => "Device is offline".into(),
        E::NoUrl => "Invalid connection request URL".into(),
        E::AuthFailed => "Incorrect connection request credentials".into(),
        E::UnknownDevice => "No such device".into(),
        other => format!("Connection request error: {other}"),
    }
}

async fn post_task(
    ctx: &Ctx,
    id: &str,
    params: &HashMap<String, String>,
    body: &Bytes,
) -> Response {
    let cr = params.contains_key("connection_request");
    let online_wait = params
        .get("timeout")
        .and_then(|t| t.parse::<u64>().ok())
        .map_or(DEFAULT_ONLINE_WAIT, Duration::from_millis);
    let has_body = !body.iter().all(u8::is_ascii_whitespace);
    if !has_body && !cr {
        return text(StatusCode::BAD_REQUEST, "");
    }
    let Some(device) = device_id(id) else {
        return text(StatusCode::NOT_FOUND, "No such device");
    };
    let acs = &ctx.acs;
    match acs.device(&device) {
        Ok(Some(_)) => {}
        Ok(None) => return text(StatusCode::NOT_FOUND, "No such device"),
        Err(e) => return internal(e),
    }
    if !has_body {
        return match acs.connection_request(&device).await {
            Ok(()) => respond(
                StatusCode::OK,
                None,
                "text/plain; charset=utf-8",
                Body::empty(),
            ),
            Err(e) => {
                let msg = cr_message(&e);
                respond(
                    StatusCode::GATEWAY_TIMEOUT,
                    Some(&msg),
                    "text/plain; charset=utf-8",
                    Body::from(msg.clone()),
                )
            }
        };
    }
    let tree = if body.windows(18).any(|w| w == b"setParameterValues") {
        acs.store().get_tree(&device).unwrap_or_default()
    } else {
        ParamTree::default()
    };
    let known_type = |path: &str| {
        tree.get(path)
            .and_then(|p| p.value.as_ref())
            .map(|v| v.xsd_type().to_owned())
    };
    let fs = ctx.config.fs_base_url.clone();
    let file_url = |name: &str| format!("{}/{}", fs.as_deref().unwrap_or(""), name);
    let new = match task_body::parse(
        body,
        &known_type,
        fs.is_some().then_some(&file_url as &dyn Fn(&str) -> String),
    ) {
        Ok(t) => t,
        Err(e) => return text(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let now = acs.now_ms();
    let mut task = TaskRecord {
        id: 0,
        device: device.clone(),
        kind: new.kind,
        created_ms: now,
        status: TaskStatus::Pending,
        attempts: 0,
        not_before_ms: 0,
        expiry_ms: new
            .expiry_secs
            .map(|s| now.saturating_add(s.saturating_mul(1000))),
    };
    // Subscribe before the connection request so the session's start cannot be missed.
    let mut events = acs.subscribe();
    match acs.write(vec![Op::PutTask(task.clone())]).await.as_deref() {
        Ok(
            [
                Outcome::Done {
                    task_id: Some(tid), ..
                },
            ],
        ) => task.id = *tid,
        Ok(_) => return internal("task id not assigned"),
        Err(e) => return internal(e),
    }
    if !cr {
        return json(StatusCode::ACCEPTED, None, &doc::task(&task));
    }
    if let Err(e) = acs.connection_request(&device).await {
        return json(
            StatusCode::ACCEPTED,
            Some(&cr_message(&e)),
            &doc::task(&task),
        );
    }
    let queued = "Task queued but not processed";
    let started = tokio::time::timeout(online_wait, async {
        loop {
            match events.recv().await {
                Ok(DeviceEvent::Informed { device: d, .. }) if d == device => return true,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return false,
                _ => {}
            }
        }
    })
    .await;
    if started != Ok(true) {
        return json(StatusCode::ACCEPTED, Some(queued), &doc::task(&task));
    }
    let outcome = tokio::select! {
        o = acs.wait_task(task.id, SESSION_WAIT) => o,
        () = session_end(&mut events, &device) => acs.wait_task(task.id, Duration::ZERO).await,
    };
    match outcome {
        Ok(TaskOutcome::Done(_)) => json(StatusCode::OK, None, &doc::task(&task)),
        Ok(TaskOutcome::Faulted(..)) => json(
            StatusCode::ACCEPTED,
            Some("Task faulted"),
            &doc::task(&task),
        ),
        Ok(TaskOutcome::Pending(_)) => json(StatusCode::ACCEPTED, Some(queued), &doc::task(&task)),
        // Deleted meanwhile (by another client): it will not run.
        Err(acs::AcsError::NoSuchTask) => {
            json(StatusCode::ACCEPTED, Some(queued), &doc::task(&task))
        }
        Err(e) => internal(e),
    }
}

async fn session_end(
    events: &mut tokio::sync::broadcast::Receiver<DeviceEvent>,
    device: &DeviceId,
) {
    loop {
        match events.recv().await {
            Ok(DeviceEvent::SessionEnded { device: d }) if &d == device => return,
            Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                std::future::pending::<()>().await
            }
            _ => {}
        }
    }
}

async fn tag(ctx: &Ctx, id: &str, tag: &str, add: bool) -> Response {
    let Some(device) = device_id(id) else {
        return text(StatusCode::NOT_FOUND, "No such device");
    };
    if tag.is_empty() || tag.len() > 256 {
        return text(StatusCode::BAD_REQUEST, "invalid tag");
    }
    for _ in 0..5 {
        let current = match ctx.acs.store().get(&device) {
            Ok(Some(c)) => c,
            Ok(None) => return text(StatusCode::NOT_FOUND, "No such device"),
            Err(e) => return internal(e),
        };
        let mut meta: DeviceMeta = current.value;
        let changed = if add {
            meta.tags.insert(tag.to_owned())
        } else {
            meta.tags.remove(tag)
        };
        if !changed {
            return text(StatusCode::OK, "");
        }
        let op = Op::PutDevice {
            meta,
            expect: Expect::Revision(current.revision),
        };
        match ctx.acs.write(vec![op]).await.as_deref() {
            Ok([Outcome::Done { .. }]) => return text(StatusCode::OK, ""),
            Ok(_) => continue,
            Err(e) => return internal(e),
        }
    }
    internal("device record kept changing")
}

async fn delete_device(ctx: &Ctx, id: &str) -> Response {
    let Some(device) = device_id(id) else {
        return text(StatusCode::OK, "");
    };
    if ctx.acs.in_session(&device) {
        return text(StatusCode::SERVICE_UNAVAILABLE, "Device is in session");
    }
    match ctx.acs.write(vec![Op::DeleteDevice { id: device }]).await {
        Ok(_) => text(StatusCode::OK, ""),
        Err(e) => internal(e),
    }
}

/// The store names a task's fault channel `task_<decimal id>`; the NBI shows `task_<24 hex>`.
pub(crate) fn channel_from_wire(channel: &str) -> String {
    match channel.strip_prefix("task_").and_then(doc::parse_task_id) {
        Some(id) => format!("task_{id}"),
        None => channel.to_owned(),
    }
}

async fn delete_task(ctx: &Ctx, id: &str) -> Response {
    let found = doc::parse_task_id(id).and_then(|tid| ctx.acs.store().task(tid).ok().flatten());
    let Some(task) = found else {
        return text(StatusCode::NOT_FOUND, "Task not found");
    };
    if ctx.acs.in_session(&task.device) {
        return text(StatusCode::SERVICE_UNAVAILABLE, "Device is in session");
    }
    let ops = vec![
        Op::DeleteTask(task.id),
        Op::DeleteFault {
            device: task.device.clone(),
            channel: format!("task_{}", task.id),
        },
    ];
    match ctx.acs.write(ops).await {
        Ok(_) => text(StatusCode::OK, ""),
        Err(e) => internal(e),
    }
}

async fn retry_task(ctx: &Ctx, id: &str) -> Response {
    let found = doc::parse_task_id(id).and_then(|tid| ctx.acs.store().task(tid).ok().flatten());
    let Some(mut task) = found else {
        return text(StatusCode::NOT_FOUND, "Task not found");
    };
    if ctx.acs.in_session(&task.device) {
        return text(StatusCode::SERVICE_UNAVAILABLE, "Device is in session");
    }
    let channel = format!("task_{}", task.id);
    let device = task.device.clone();
    task.status = TaskStatus::Pending;
    task.not_before_ms = 0;
    let ops = vec![Op::PutTask(task), Op::DeleteFault { device, channel }];
    match ctx.acs.write(ops).await {
        Ok(_) => text(StatusCode::OK, ""),
        Err(e) => internal(e),
    }
}

async fn delete_fault(ctx: &Ctx, id: &str) -> Response {
    let Some((dev, channel)) = id.rsplit_once(':') else {
        return text(StatusCode::OK, "");
    };
    let Some(device) = device_id(dev) else {
        return text(StatusCode::OK, "");
    };
    if ctx.acs.in_session(&device) {
        return text(StatusCode::SERVICE_UNAVAILABLE, "Device is in session");
    }
    let channel = channel_from_wire(channel);
    let mut ops = Vec::new();
    if let Some(tid) = channel.strip_prefix("task_").and_then(|t| t.parse().ok()) {
        ops.push(Op::DeleteTask(tid));
    }
    ops.push(Op::DeleteFault { device, channel });
    match ctx.acs.write(ops).await {
        Ok(_) => text(StatusCode::OK, ""),
        Err(e) => internal(e),
    }
}

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

async fn list(ctx: &Ctx, coll: &str, params: &HashMap<String, String>, head: bool) -> Response {
    let collection = match coll {
        "devices" => Collection::Devices,
        "tasks" | "faults" => Collection::TasksOrFaults,
        c if CONFIG_COLLECTIONS.contains(&c) => Collection::Raw,
        _ => return not_found(),
    };
    let spec = match list_spec(collection, params) {
        Ok(s) => s,
        Err(msg) => return text(StatusCode::BAD_REQUEST, msg),
    };
    let acs = ctx.acs.clone();
    let coll = coll.to_owned();
    let matched = tokio::task::spawn_blocking(move || -> Result<_, acs::AcsError> {
        let docs = match coll.as_str() {
            "devices" => Matches::Devices(match_devices(&acs, &spec)?),
            // GenieACS deletes a task when it completes; the ACS keeps the record for callers
            // waiting on it, so the listing leaves completed tasks out.
            "tasks" => Matches::Docs(match_docs(
                acs.store()
                    .tasks(None)?
                    .iter()
                    .filter(|t| !matches!(t.status, TaskStatus::Done { .. }))
                    .map(doc::task),
                &spec,
            )),
            "faults" => Matches::Docs(match_docs(
                acs.store().faults(None)?.iter().map(doc::fault),
                &spec,
            )),
            other => Matches::Docs(match_docs(
                acs.store().docs(other)?.iter().filter_map(|(_, bytes)| {
                    serde_json::from_slice::<serde_json::Value>(bytes)
                        .ok()
                        .map(|j| Node::from_json(&j))
                }),
                &spec,
            )),
        };
        Ok((acs, spec, docs))
    })
    .await;
    let (acs, spec, matches) = match matched {
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
                Item::Device(id) => match load_device(&acs, &id, spec.projection.needs_tree()) {
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

/// A device's document, with its parameter tree when `with_tree`.
fn load_device(acs: &Acs, id: &DeviceId, with_tree: bool) -> Result<Option<Node>, acs::AcsError> {
    let Some(meta) = acs.device(id)? else {
        return Ok(None);
    };
    let tree = if with_tree {
        acs.store().get_tree(id)?
    } else {
        ParamTree::default()
    };
    Ok(Some(doc::device(&meta.value, &tree)))
}

/// The ids of matching devices in answer order: candidates from the query's index plan (or a scan
/// in id order), each checked against the whole query.
fn match_devices(acs: &Acs, spec: &ListSpec) -> Result<Vec<DeviceId>, acs::AcsError> {
    let with_tree = spec.query.needs_tree() || spec.sort.needs_tree();
    let store = acs.store();
    let keep = |id: DeviceId, out: &mut Vec<(Vec<Option<Node>>, DeviceId)>| {
        if let Some(doc) = load_device(acs, &id, with_tree)?
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
            ids.extend(store.scan_index(index, k)?);
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
                let page = store.scan(after.as_ref(), SCAN_PAGE)?;
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

/// A response body fed by a channel: each message is one chunk.
pub(crate) struct ChannelBody(pub(crate) tokio::sync::mpsc::Receiver<Bytes>);

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|m| m.map(|b| Ok(http_body::Frame::data(b))))
    }
}
