//! The HTTP layer: GenieACS's routes, tried in its order, with its status codes, reason phrases
//! and plain-text error bodies. Store reads run on the blocking pool; writes go through the ACS's
//! single writer.

mod config;
mod find;
mod tasks;

use crate::NbiConfig;
use crate::doc::Node;
use acs::{Acs, DeviceId};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, header};
use std::collections::HashMap;
use std::sync::Arc;

/// Largest request body read (task JSON; file uploads get their own limit later).
const MAX_BODY: usize = 1 << 20;

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

/// Writes `ops` through the ACS's writer and answers 200 with an empty body once they are
/// durable, as GenieACS's write routes do.
async fn write_ok(ctx: &Ctx, ops: Vec<acs_store::Op>) -> Response {
    match ctx.acs.write(ops).await {
        Ok(_) => text(StatusCode::OK, ""),
        Err(e) => internal(e),
    }
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
            Method::PUT => config::put_file(&ctx, name, &parts.headers, body).await,
            Method::DELETE => config::delete_file(&ctx, name).await,
            _ => not_allowed("PUT, DELETE"),
        };
    }
    // A declared length over the limit is refused before any of the body is read: the
    // length-limited reader below only notices once the first bytes arrive, and a client that
    // waits for an answer before sending (or never sends) would otherwise hold the request.
    if declared_length(&parts.headers).is_some_and(|n| n > MAX_BODY as u64) {
        return text(StatusCode::PAYLOAD_TOO_LARGE, "413 Payload Too Large");
    }
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
        return text(StatusCode::PAYLOAD_TOO_LARGE, "413 Payload Too Large");
    };
    match segs.as_slice() {
        [coll @ ("presets" | "objects"), name] if !name.is_empty() => match *m {
            Method::PUT => config::put_json_doc(&ctx, coll, name, &body).await,
            Method::DELETE => config::delete_doc(&ctx, coll, name).await,
            _ => not_allowed("PUT, DELETE"),
        },
        [coll @ ("provisions" | "virtual_parameters"), name] if !name.is_empty() => match *m {
            Method::PUT => config::put_script(&ctx, coll, name, &body).await,
            Method::DELETE => config::delete_doc(&ctx, coll, name).await,
            _ => not_allowed("PUT, DELETE"),
        },
        ["devices", id, "tasks"] => match *m {
            Method::POST => tasks::post_task(&ctx, id, &params, &body).await,
            _ => not_allowed("POST"),
        },
        ["devices", id, "tags", name] => match *m {
            Method::POST => config::tag(&ctx, id, name, true).await,
            Method::DELETE => config::tag(&ctx, id, name, false).await,
            _ => not_allowed("POST, DELETE"),
        },
        ["faults", id] if !id.is_empty() => match *m {
            Method::DELETE => tasks::delete_fault(&ctx, id).await,
            _ => not_allowed("DELETE"),
        },
        ["tasks", id] if !id.is_empty() => match *m {
            Method::DELETE => tasks::delete_task(&ctx, id).await,
            _ => not_allowed("PUT, DELETE"),
        },
        ["tasks", id, "retry"] => match *m {
            Method::POST => tasks::retry_task(&ctx, id).await,
            _ => not_allowed("POST"),
        },
        ["tasks", _, _] => not_found(),
        // GenieACS's route admits only host characters; anything else is not this route.
        ["ping", host] if crate::ping::valid_host(host) => match *m {
            Method::GET | Method::HEAD => ping(host).await,
            _ => not_allowed("GET, HEAD"),
        },
        ["devices", id] if !id.is_empty() => match *m {
            Method::DELETE => config::delete_device(&ctx, id).await,
            _ => not_allowed("DELETE"),
        },
        [coll] | [coll, ""] => match *m {
            Method::GET | Method::HEAD => find::list(&ctx, coll, &params, *m == Method::HEAD).await,
            _ if known_collection(coll) => not_allowed("GET, HEAD"),
            _ => not_found(),
        },
        _ => not_found(),
    }
}

/// Every route the NBI serves, as (method, pattern): GenieACS's routes, `{x}` standing for one
/// path segment. The security tests hold the dispatcher to this list (a method or route it
/// serves that is missing here fails them) and check each entry's authentication.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/devices"),
    ("HEAD", "/devices"),
    ("GET", "/tasks"),
    ("HEAD", "/tasks"),
    ("GET", "/faults"),
    ("HEAD", "/faults"),
    ("GET", "/presets"),
    ("HEAD", "/presets"),
    ("GET", "/objects"),
    ("HEAD", "/objects"),
    ("GET", "/provisions"),
    ("HEAD", "/provisions"),
    ("GET", "/virtual_parameters"),
    ("HEAD", "/virtual_parameters"),
    ("GET", "/files"),
    ("HEAD", "/files"),
    ("GET", "/discovery"),
    ("HEAD", "/discovery"),
    ("PUT", "/presets/{name}"),
    ("DELETE", "/presets/{name}"),
    ("PUT", "/objects/{name}"),
    ("DELETE", "/objects/{name}"),
    ("PUT", "/provisions/{name}"),
    ("DELETE", "/provisions/{name}"),
    ("PUT", "/virtual_parameters/{name}"),
    ("DELETE", "/virtual_parameters/{name}"),
    ("PUT", "/files/{name}"),
    ("DELETE", "/files/{name}"),
    ("POST", "/devices/{id}/tasks"),
    ("POST", "/devices/{id}/tags/{tag}"),
    ("DELETE", "/devices/{id}/tags/{tag}"),
    ("DELETE", "/devices/{id}"),
    ("DELETE", "/faults/{id}"),
    ("DELETE", "/tasks/{id}"),
    ("POST", "/tasks/{id}/retry"),
    ("GET", "/ping/{host}"),
    ("HEAD", "/ping/{host}"),
];

/// `/ping/{host}` with GenieACS's answers: 200 and `ping`'s output when an echo came back,
/// else 500 with the error (`ping.rs`).
async fn ping(host: &str) -> Response {
    let failed = |msg: String| {
        let mut r = text(StatusCode::INTERNAL_SERVER_ERROR, msg);
        r.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        r
    };
    match crate::ping::ping(host).await {
        Ok(report) if report.received > 0 => {
            let mut r = respond(StatusCode::OK, None, "text/plain", Body::from(report.text));
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            r
        }
        Ok(_) => failed(format!(
            "Error: Command failed: ping -w 1 -i 0.2 -c 3 -- {host}\n"
        )),
        Err(e) => failed(format!("Error: {e}")),
    }
}

/// Collections of documents the NBI stores for clients (GenieACS's names).
const CONFIG_COLLECTIONS: [&str; 5] = [
    "presets",
    "objects",
    "provisions",
    "virtual_parameters",
    crate::files::COLLECTION,
];

/// The request's `Content-Length`, when it has a valid one.
fn declared_length(headers: &http::HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn known_collection(c: &str) -> bool {
    matches!(c, "devices" | "tasks" | "faults" | find::DISCOVERY) || CONFIG_COLLECTIONS.contains(&c)
}

fn device_id(id: &str) -> Option<DeviceId> {
    DeviceId::parse(id).ok()
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
