//! Firmware and configuration files: uploaded through the NBI (`PUT /files/<name>`, GenieACS's
//! metadata headers), kept on disk beside the store, described by a GridFS-like document in the
//! store's `files` collection, and served to CPEs by the file server (GenieACS's port 7567) with
//! range requests, for Download tasks.

use crate::date;
use crate::doc::Node;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use sha2::Digest;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

/// The store collection holding file documents.
pub const COLLECTION: &str = "files";
/// Largest file accepted.
pub const MAX_FILE_BYTES: u64 = 1 << 30;
/// GridFS's chunk size, shown in file documents as GenieACS shows it.
const CHUNK_SIZE: u64 = 261_120;
/// Bytes read from disk per chunk sent.
const SEND_CHUNK: usize = 64 * 1024;

/// Why an upload failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// Larger than [`MAX_FILE_BYTES`].
    #[error("file larger than {MAX_FILE_BYTES} bytes")]
    TooLarge,
    /// The client's body failed mid-way.
    #[error("upload interrupted: {0}")]
    Body(String),
    /// The disk failed.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

/// Where file contents live: one file per name, named by the hex of the name so that no name
/// can escape the directory.
#[derive(Debug, Clone)]
pub struct FileStore {
    dir: PathBuf,
}

impl FileStore {
    /// Uses (and creates) `dir`.
    pub fn new(dir: PathBuf) -> std::io::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        Ok(Self { dir })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(hex::encode(name.as_bytes()))
    }

    /// Streams `body` to disk (to a temporary file, synced, then renamed over the old content,
    /// so a reader never sees half a file) and returns its length and SHA-256.
    pub async fn put(&self, name: &str, body: Body) -> Result<(u64, String), FileError> {
        let tmp = self.dir.join(format!(
            ".upload-{}",
            hex::encode(rand::random::<[u8; 8]>())
        ));
        let result = self.write_to(&tmp, body).await;
        match result {
            Ok(done) => {
                tokio::fs::rename(&tmp, self.path(name)).await?;
                Ok(done)
            }
            Err(e) => {
                let _ = tokio::fs::remove_file(&tmp).await;
                Err(e)
            }
        }
    }

    async fn write_to(&self, tmp: &PathBuf, body: Body) -> Result<(u64, String), FileError> {
        use http_body::Body as _;
        let mut file = tokio::fs::File::create(tmp).await?;
        let mut hasher = sha2::Sha256::new();
        let mut len = 0u64;
        let mut body = std::pin::pin!(body);
        while let Some(frame) = std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
            let frame = frame.map_err(|e| FileError::Body(e.to_string()))?;
            if let Ok(data) = frame.into_data() {
                len += data.len() as u64;
                if len > MAX_FILE_BYTES {
                    return Err(FileError::TooLarge);
                }
                hasher.update(&data);
                file.write_all(&data).await?;
            }
        }
        file.sync_all().await?;
        Ok((len, hex::encode(hasher.finalize())))
    }

    /// Removes a file's content; true if it existed.
    pub async fn delete(&self, name: &str) -> std::io::Result<bool> {
        match tokio::fs::remove_file(self.path(name)).await {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// The metadata GenieACS takes from an upload's headers (names are case-insensitive).
pub fn metadata(headers: &HeaderMap) -> Vec<(String, Node)> {
    ["fileType", "oui", "productClass", "version"]
        .iter()
        .filter_map(|k| {
            headers
                .get(*k)
                .and_then(|v| v.to_str().ok())
                .map(|v| ((*k).to_owned(), Node::Str(v.to_owned())))
        })
        .collect()
}

/// The `files` document of an upload, shaped like GenieACS's `fs.files` entry.
pub fn document(
    name: &str,
    length: u64,
    sha256: &str,
    now_ms: i64,
    meta: Vec<(String, Node)>,
) -> Node {
    Node::Obj(vec![
        ("_id".into(), Node::Str(name.to_owned())),
        ("length".into(), Node::Num(length as f64)),
        ("chunkSize".into(), Node::Num(CHUNK_SIZE as f64)),
        ("uploadDate".into(), Node::Str(date::iso(now_ms))),
        ("filename".into(), Node::Str(name.to_owned())),
        ("metadata".into(), Node::Obj(meta)),
        ("sha256".into(), Node::Str(sha256.to_owned())),
    ])
}

/// The file server: `GET`/`HEAD /<name>` with single byte ranges. Read-only and
/// unauthenticated, as CPEs fetch firmware with the URL alone; only uploaded files are served.
/// The one write is a CPE's upload to a slot an `upload` task opened (`uploads.rs`).
pub fn router(acs: Arc<acs::Acs>, files: FileStore) -> axum::Router {
    axum::Router::new()
        .fallback(serve_file)
        .with_state((acs, files))
}

async fn serve_file(
    State((acs, files)): State<(Arc<acs::Acs>, FileStore)>,
    req: Request,
) -> Response {
    let plain = |status: StatusCode, msg: &str| {
        let mut r = Response::new(Body::from(msg.to_owned()));
        *r.status_mut() = status;
        r
    };
    let slot = req.uri().path().strip_prefix(crate::uploads::PREFIX);
    if let (Some(token), true) = (slot, matches!(*req.method(), Method::PUT | Method::POST)) {
        let token = token.to_owned();
        return crate::uploads::receive(&acs, &files, &token, req.into_body()).await;
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "405 Method Not Allowed");
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    let raw = req.uri().path().trim_start_matches('/');
    let Some(name) = crate::routes::decode(raw) else {
        return plain(StatusCode::BAD_REQUEST, "invalid %-escape in path");
    };
    let known = match acs.store().doc(COLLECTION, &name).await {
        Ok(doc) => doc.is_some(),
        Err(e) => {
            tracing::error!(error = %e, "store read failed");
            return plain(StatusCode::SERVICE_UNAVAILABLE, "503 store unavailable");
        }
    };
    let opened = match known {
        true => tokio::fs::File::open(files.path(&name)).await.ok(),
        false => None,
    };
    let Some(mut file) = opened else {
        return plain(StatusCode::NOT_FOUND, "404 Not Found");
    };
    let Ok(len) = file.metadata().await.map(|m| m.len()) else {
        return plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            "500 Internal Server Error",
        );
    };
    let range = req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(|r| parse_range(r, len));
    let (status, start, end) = match range {
        None => (StatusCode::OK, 0, len),
        Some(Some((s, e))) => (StatusCode::PARTIAL_CONTENT, s, e),
        Some(None) => {
            let mut r = plain(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "416 Range Not Satisfiable",
            );
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return r;
        }
    };
    let head = req.method() == Method::HEAD;
    let body = if head || start == end {
        Body::empty()
    } else {
        let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(4);
        tokio::spawn(async move {
            if file.seek(std::io::SeekFrom::Start(start)).await.is_err() {
                return;
            }
            let mut left = end - start;
            let mut buf = vec![0u8; SEND_CHUNK];
            while left > 0 {
                let want = buf.len().min(left as usize);
                match file.read(&mut buf[..want]).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        left -= n as u64;
                        if tx.send(Bytes::copy_from_slice(&buf[..n])).await.is_err() {
                            return;
                        }
                    }
                }
            }
        });
        Body::new(crate::routes::ChannelBody(rx))
    };
    let mut r = Response::new(body);
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(end - start));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    if status == StatusCode::PARTIAL_CONTENT
        && let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{}/{len}", end - 1))
    {
        h.insert(header::CONTENT_RANGE, v);
    }
    r
}

/// One `bytes=a-b`, `bytes=a-` or `bytes=-n` range as a half-open `[start, end)`; `None` when
/// it cannot be satisfied (several ranges are not offered).
fn parse_range(value: &str, len: u64) -> Option<(u64, u64)> {
    let spec = value.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (a, b) = (a.trim(), b.trim());
    let (start, end) = if a.is_empty() {
        let n: u64 = b.parse().ok()?;
        (len.saturating_sub(n), len)
    } else {
        let s: u64 = a.parse().ok()?;
        let e = if b.is_empty() {
            len
        } else {
            b.parse::<u64>().ok()?.saturating_add(1).min(len)
        };
        (s, e)
    };
    (start < end && start < len).then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::parse_range;
    use proptest::prelude::*;

    #[test]
    fn ranges_follow_rfc_9110() {
        assert_eq!(parse_range("bytes=0-99", 1000), Some((0, 100)));
        assert_eq!(parse_range("bytes=900-", 1000), Some((900, 1000)));
        assert_eq!(parse_range("bytes=-100", 1000), Some((900, 1000)));
        assert_eq!(parse_range("bytes=990-2000", 1000), Some((990, 1000)));
        for bad in [
            "bytes=1000-",
            "bytes=5-2",
            "bytes=0-1,5-6",
            "items=0-1",
            "bytes=x-1",
        ] {
            assert_eq!(parse_range(bad, 1000), None, "{bad}");
        }
    }

    proptest! {
        #[test]
        fn any_range_is_inside_the_file(s in ".{0,30}", len in 0u64..10_000) {
            if let Some((a, b)) = parse_range(&s, len) {
                prop_assert!(a < b && b <= len);
            }
        }
    }
}
