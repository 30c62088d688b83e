//! Files CPEs upload (the Upload RPC: configuration backups, logs) into the file server.
//!
//! The file server is otherwise read-only and unauthenticated, so a CPE may write only through
//! an upload slot: an `upload` task opens one (a document in [`COLLECTION`] named by a random
//! token, saying which file the upload becomes), its URL is `<file server>/upload/<token>`,
//! and the first complete `PUT` or `POST` to it stores the file, files its document (with the
//! device's `oui`, `productClass` and the file type as metadata, so it is listed and
//! downloadable like any file) and closes the slot.

use crate::doc::Node;
use crate::files::{self, FileStore};
use acs_store::{DeviceMeta, Op};
use axum::body::Body;
use axum::response::Response;
use http::StatusCode;
use std::sync::Arc;

/// The store collection of open upload slots.
pub const COLLECTION: &str = "uploads";

/// The path prefix of upload URLs on the file server.
pub const PREFIX: &str = "/upload/";

/// A fresh, unguessable slot token.
pub fn new_token() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// The name an uploaded file gets when the task names none:
/// `<device id>-<config|log|upload>-<ms>`.
pub fn default_name(device: &str, file_type: &str, now_ms: i64) -> String {
    let kind = match file_type.split_whitespace().next() {
        Some("1") => "config",
        Some("2") => "log",
        _ => "upload",
    };
    format!("{device}-{kind}-{now_ms}")
}

/// The op opening a slot for `device` that stores what arrives as `file_name`.
pub fn open_slot(token: &str, file_name: &str, file_type: &str, device: &DeviceMeta) -> Op {
    let doc = Node::Obj(vec![
        ("fileName".into(), Node::Str(file_name.to_owned())),
        ("fileType".into(), Node::Str(file_type.to_owned())),
        ("device".into(), Node::Str(device.id.as_str().to_owned())),
        ("oui".into(), Node::Str(device.identity.oui.clone())),
        (
            "productClass".into(),
            Node::Str(device.identity.product_class.clone()),
        ),
    ]);
    Op::PutDoc {
        collection: COLLECTION.to_owned(),
        name: token.to_owned(),
        body: doc.json().into_bytes(),
    }
}

/// Receives a CPE's upload to slot `token`.
pub(crate) async fn receive(
    acs: &Arc<acs::Acs>,
    files: &FileStore,
    token: &str,
    body: Body,
) -> Response {
    let plain = |status: StatusCode, msg: &str| {
        let mut r = Response::new(Body::from(msg.to_owned()));
        *r.status_mut() = status;
        r
    };
    let slot = match acs.store().doc(COLLECTION, token).await {
        Ok(Some(doc)) => doc,
        Ok(None) => return plain(StatusCode::NOT_FOUND, "404 Not Found"),
        Err(e) => {
            tracing::error!(error = %e, "store read failed");
            return plain(StatusCode::SERVICE_UNAVAILABLE, "503 store unavailable");
        }
    };
    let Ok(slot) = serde_json::from_slice::<serde_json::Value>(&slot) else {
        return plain(StatusCode::INTERNAL_SERVER_ERROR, "500 bad upload slot");
    };
    let field = |k: &str| slot.get(k).and_then(|v| v.as_str()).unwrap_or_default();
    let name = field("fileName").to_owned();
    if name.is_empty() {
        return plain(StatusCode::INTERNAL_SERVER_ERROR, "500 bad upload slot");
    }
    let (length, sha256) = match files.put(&name, body).await {
        Ok(done) => done,
        Err(files::FileError::TooLarge) => {
            return plain(StatusCode::PAYLOAD_TOO_LARGE, "413 Payload Too Large");
        }
        Err(e) => {
            tracing::warn!(error = %e, file = %name, "upload failed");
            return plain(StatusCode::BAD_REQUEST, "400 upload failed");
        }
    };
    let meta = ["fileType", "oui", "productClass", "device"]
        .iter()
        .map(|k| ((*k).to_owned(), Node::Str(field(k).to_owned())))
        .collect();
    let doc = files::document(&name, length, &sha256, acs.now_ms(), meta);
    let ops = vec![
        Op::PutDoc {
            collection: files::COLLECTION.to_owned(),
            name: name.clone(),
            body: doc.json().into_bytes(),
        },
        Op::DeleteDoc {
            collection: COLLECTION.to_owned(),
            name: token.to_owned(),
        },
    ];
    match acs.write(ops).await {
        Ok(_) => {
            tracing::info!(file = %name, length, device = field("device"), "upload received");
            plain(StatusCode::CREATED, "")
        }
        Err(e) => {
            tracing::error!(error = %e, "could not file an upload");
            plain(StatusCode::SERVICE_UNAVAILABLE, "503 store unavailable")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_names_say_what_the_file_is() {
        assert_eq!(
            default_name("A-B-C", "1 Vendor Configuration File", 5),
            "A-B-C-config-5"
        );
        assert_eq!(default_name("A-B-C", "2 Vendor Log File", 5), "A-B-C-log-5");
        assert_eq!(default_name("A-B-C", "X 00D09E Dump", 5), "A-B-C-upload-5");
        assert_ne!(new_token(), new_token());
        assert_eq!(new_token().len(), 32);
    }
}
