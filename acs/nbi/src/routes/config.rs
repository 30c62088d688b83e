//! Configuration documents (presets, objects, provisions, virtual parameters), files, tags and
//! device deletion: the NBI's writes that are not tasks.

use super::{Ctx, device_id, internal, not_found, respond, text, write_ok};
use crate::doc::Node;
use acs_store::{DeviceMeta, Expect, Op, Outcome};
use axum::body::Body;
use axum::response::Response;
use http::StatusCode;

/// Largest preset, object, provision or virtual-parameter document.
const MAX_DOC_BYTES: usize = 256 * 1024;

async fn store_doc(ctx: &Ctx, coll: &str, name: &str, doc: &Node) -> Response {
    let op = Op::PutDoc {
        collection: coll.to_owned(),
        name: name.to_owned(),
        body: doc.json().into_bytes(),
    };
    write_ok(ctx, vec![op]).await
}

/// `PUT /presets/<name>` and `/objects/<name>`: the JSON object stored as sent, with `_id` set to
/// the name (GenieACS replaces the whole document).
pub(super) async fn put_json_doc(ctx: &Ctx, coll: &str, name: &str, body: &[u8]) -> Response {
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
/// `{_id, script}` after a syntax check (`script_check.rs`); a broken script is a 400
/// `SyntaxError: …` as in GenieACS. Sessions run the stored scripts (`acs::provision::script`).
pub(super) async fn put_script(ctx: &Ctx, coll: &str, name: &str, body: &[u8]) -> Response {
    if body.len() > MAX_DOC_BYTES {
        return text(StatusCode::PAYLOAD_TOO_LARGE, "413 Payload Too Large");
    }
    let Ok(script) = std::str::from_utf8(body) else {
        return text(
            StatusCode::BAD_REQUEST,
            "SyntaxError: the script is not UTF-8",
        );
    };
    if let Err(e) = crate::script_check::check(script) {
        return text(StatusCode::BAD_REQUEST, format!("SyntaxError: {e}"));
    }
    let doc = Node::Obj(vec![
        ("_id".into(), Node::Str(name.to_owned())),
        ("script".into(), Node::Str(script.to_owned())),
    ]);
    store_doc(ctx, coll, name, &doc).await
}

pub(super) async fn delete_doc(ctx: &Ctx, coll: &str, name: &str) -> Response {
    let op = Op::DeleteDoc {
        collection: coll.to_owned(),
        name: name.to_owned(),
    };
    write_ok(ctx, vec![op]).await
}

pub(super) async fn put_file(
    ctx: &Ctx,
    name: &str,
    headers: &http::HeaderMap,
    body: Body,
) -> Response {
    let Some(files) = &ctx.config.files else {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "file storage is not configured",
        );
    };
    if super::declared_length(headers).is_some_and(|n| n > crate::files::MAX_FILE_BYTES) {
        return text(StatusCode::PAYLOAD_TOO_LARGE, "413 Payload Too Large");
    }
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

pub(super) async fn delete_file(ctx: &Ctx, name: &str) -> Response {
    let known = matches!(
        ctx.acs.store().doc(crate::files::COLLECTION, name).await,
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

pub(super) async fn tag(ctx: &Ctx, id: &str, tag: &str, add: bool) -> Response {
    let Some(device) = device_id(id) else {
        return text(StatusCode::NOT_FOUND, "No such device");
    };
    if tag.is_empty() || tag.len() > 256 {
        return text(StatusCode::BAD_REQUEST, "invalid tag");
    }
    for _ in 0..5 {
        let current = match ctx.acs.store().get(&device).await {
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

pub(super) async fn delete_device(ctx: &Ctx, id: &str) -> Response {
    let Some(device) = device_id(id) else {
        return text(StatusCode::OK, "");
    };
    if ctx.acs.in_session(&device) {
        return text(StatusCode::SERVICE_UNAVAILABLE, "Device is in session");
    }
    // Its credentials go with it: a device registered again under this id starts derived.
    let creds = Op::DeleteDoc {
        collection: acs::credentials::COLLECTION.into(),
        name: device.as_str().to_owned(),
    };
    write_ok(ctx, vec![Op::DeleteDevice { id: device }, creds]).await
}
