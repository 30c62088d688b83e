//! The file transfers behind the Download and Upload RPCs: an HTTP GET or PUT whose outcome
//! becomes the TransferComplete FaultStruct.

use std::time::Duration;

use bytes::Bytes;
use cwmp::FaultStruct;
use cwmp::auth::{answer_digest, basic_header, challenge_scheme, parse_challenge};
use http::header::{AUTHORIZATION, HOST, WWW_AUTHENTICATE};
use http::{HeaderMap, Request};
use http_body_util::{BodyExt, Full, Limited};

use crate::client::{HttpUrl, MAX_BODY, connect};

/// What the transfer did: the fault to report (code 0 on success) and the bytes received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub(crate) fault: FaultStruct,
    pub(crate) bytes: usize,
}

fn failed(code: u32, string: &str) -> Outcome {
    Outcome {
        fault: FaultStruct {
            code,
            string: string.to_owned(),
        },
        bytes: 0,
    }
}

/// Fetches `url` (plain HTTP only), answering one auth challenge with the Download's file-server
/// credentials when given.
pub(crate) async fn fetch(url: &str, username: &str, password: &str, timeout: Duration) -> Outcome {
    let Ok(target) = HttpUrl::parse(url) else {
        return failed(9013, "Unsupported protocol for file transfer");
    };
    let mut authorization: Option<String> = None;
    for _ in 0..2 {
        let res = tokio::time::timeout(timeout, get(&target, authorization.as_deref())).await;
        let (status, headers, bytes) = match res {
            Err(_) => return failed(9017, "Unable to complete download"),
            Ok(Err(code)) => return failed(code, "Unable to contact file server"),
            Ok(Ok(r)) => r,
        };
        match status {
            200..=299 => {
                return Outcome {
                    fault: FaultStruct::default(),
                    bytes: bytes.len(),
                };
            }
            401 if authorization.is_none() && !username.is_empty() => {
                authorization = answer(&headers, &target.path, username, password);
                if authorization.is_none() {
                    break;
                }
            }
            401 | 403 => return failed(9012, "File server authentication failure"),
            _ => return failed(9016, "Unable to access file"),
        }
    }
    failed(9012, "File server authentication failure")
}

/// Sends `body` to `url` with an HTTP PUT (TR-069's upload method; plain HTTP only). The
/// ACS's upload URLs carry their own token, so no credentials are sent.
pub(crate) async fn put(url: &str, body: Bytes, timeout: Duration) -> Outcome {
    let Ok(target) = HttpUrl::parse(url) else {
        return failed(9013, "Unsupported protocol for file transfer");
    };
    let len = body.len();
    let send = async {
        let mut sender = connect(&target, Duration::from_secs(10))
            .await
            .map_err(|_| 9015u32)?;
        let req = Request::put(target.path.as_str())
            .header(HOST, target.authority.as_str())
            .body(Full::new(body))
            .map_err(|_| 9011u32)?;
        sender.ready().await.map_err(|_| 9015u32)?;
        let resp = sender.send_request(req).await.map_err(|_| 9015u32)?;
        Ok::<u16, u32>(resp.status().as_u16())
    };
    match tokio::time::timeout(timeout, send).await {
        Err(_) => failed(9011, "Upload failure"),
        Ok(Err(code)) => failed(code, "Unable to contact file server"),
        Ok(Ok(200..=299)) => Outcome {
            fault: FaultStruct::default(),
            bytes: len,
        },
        Ok(Ok(401 | 403)) => failed(9012, "File server authentication failure"),
        Ok(Ok(_)) => failed(9011, "Upload failure"),
    }
}

/// The Authorization header answering the server's challenge.
fn answer(headers: &HeaderMap, uri: &str, user: &str, pass: &str) -> Option<String> {
    let h = headers.get(WWW_AUTHENTICATE)?.to_str().ok()?;
    match challenge_scheme(h)? {
        "Basic" => Some(basic_header(user, pass)),
        _ => {
            let ch = parse_challenge(h).ok()?;
            Some(answer_digest(&ch, "GET", uri, user, pass, "0a4f113b", 1))
        }
    }
}

/// One GET; errors are mapped to TransferComplete fault codes.
async fn get(url: &HttpUrl, auth: Option<&str>) -> Result<(u16, HeaderMap, Bytes), u32> {
    let mut sender = connect(url, Duration::from_secs(10))
        .await
        .map_err(|_| 9015u32)?;
    let mut req = Request::get(url.path.as_str()).header(HOST, url.authority.as_str());
    if let Some(a) = auth {
        req = req.header(AUTHORIZATION, a);
    }
    let req = req.body(Full::new(Bytes::new())).map_err(|_| 9016u32)?;
    sender.ready().await.map_err(|_| 9015u32)?;
    let resp = sender.send_request(req).await.map_err(|_| 9015u32)?;
    let (parts, body) = resp.into_parts();
    let bytes = Limited::new(body, MAX_BODY)
        .collect()
        .await
        .map_err(|_| 9010u32)?
        .to_bytes();
    Ok((parts.status.as_u16(), parts.headers, bytes))
}
