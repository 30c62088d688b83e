//! From a request to Kuma's JSON object, whatever the variant: a JSON body, a multipart body's
//! `data` field, a urlencoded body or query string, each checked against the limits first.
//!
//! The declared `Content-Type` is a hint, not a contract: Kuma's `custom` variant declares
//! `application/x-www-form-urlencoded` for a JSON template, and an operator who adds a
//! `Content-Type` header to a form-data notification replaces the multipart boundary. So a body
//! that starts with `{` is JSON, one that starts with `--` is multipart, and anything else is
//! tried as a urlencoded form.

use std::borrow::Cow;

use serde::de::DeserializeOwned;

use super::wire::WirePayload;
use super::{KumaLimits, WebhookRequest};
use crate::IncidentError;

/// Finds the JSON object in the request and decodes it.
pub(super) fn payload(
    req: &WebhookRequest<'_>,
    limits: KumaLimits,
) -> Result<WirePayload, IncidentError> {
    let body = req.body.trim_ascii();
    if body.is_empty() {
        // Kuma 2.x GET: the notification is in the query string.
        return form(req.query.unwrap_or("").as_bytes(), limits);
    }
    if body.starts_with(b"{") {
        return json(body, limits);
    }
    let boundary = req.content_type.and_then(boundary);
    if boundary.is_some() || body.starts_with(b"--") {
        let data = multipart_field(req.body, boundary.as_deref(), "data")?;
        return json(data.trim_ascii(), limits);
    }
    form(body, limits)
}

/// Decodes JSON after a depth check (serde_json's own recursion limit is 128 and its error
/// would not name ours).
fn json<T: DeserializeOwned>(bytes: &[u8], limits: KumaLimits) -> Result<T, IncidentError> {
    check_depth(bytes, limits.max_depth)?;
    Ok(serde_json::from_slice(bytes)?)
}

/// Rejects JSON nested deeper than `max`: a cheap scan of brackets outside strings.
pub(crate) fn check_depth(bytes: &[u8], max: usize) -> Result<(), IncidentError> {
    let (mut depth, mut in_str, mut escaped) = (0usize, false, false);
    for &b in bytes {
        if in_str {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > max {
                    return Err(IncidentError::TooDeep { limit: max });
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// A urlencoded form (a GET's query string or a custom body): either one `data` field holding
/// the whole object, or `msg`, `heartbeat` and `monitor` with the two objects as JSON strings.
fn form(bytes: &[u8], limits: KumaLimits) -> Result<WirePayload, IncidentError> {
    let (mut data, mut msg, mut heartbeat, mut monitor) = (None, None, None, None);
    for (k, v) in form_urlencoded::parse(bytes) {
        match &*k {
            "data" => data = Some(v),
            "msg" => msg = Some(v.into_owned()),
            "heartbeat" => heartbeat = Some(v),
            "monitor" => monitor = Some(v),
            _ => {}
        }
    }
    if let Some(d) = data {
        return json(d.trim().as_bytes(), limits);
    }
    if msg.is_none() && heartbeat.is_none() && monitor.is_none() {
        return Err(if bytes.is_empty() {
            IncidentError::Empty
        } else {
            IncidentError::BadNotification(
                "neither JSON, multipart, nor a form with data or heartbeat/monitor/msg".into(),
            )
        });
    }
    Ok(WirePayload {
        heartbeat: object(heartbeat, limits)?,
        monitor: object(monitor, limits)?,
        msg,
    })
}

/// A query parameter holding a JSON object (or `null`, or nothing).
fn object<T: DeserializeOwned>(
    v: Option<Cow<'_, str>>,
    limits: KumaLimits,
) -> Result<Option<T>, IncidentError> {
    match v {
        Some(s) if !s.trim().is_empty() => json(s.trim().as_bytes(), limits),
        _ => Ok(None),
    }
}

/// The `boundary` parameter of a `multipart/form-data` content type.
fn boundary(content_type: &str) -> Option<String> {
    let mut parts = content_type.split(';');
    let mime = parts.next()?.trim();
    if !mime.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    parts.find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_owned())
            .filter(|b| !b.is_empty() && b.len() <= 200)
    })
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || needle.len() > hay.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The content of the part named `name` (RFC 7578). Without a declared boundary, the body's
/// first line is the delimiter (the operator overrode the `Content-Type`).
fn multipart_field<'a>(
    body: &'a [u8],
    boundary: Option<&str>,
    name: &str,
) -> Result<&'a [u8], IncidentError> {
    let bad = |m: &str| IncidentError::Multipart(m.to_owned());
    let delimiter: Vec<u8> = match boundary {
        Some(b) => [b"--".as_slice(), b.as_bytes()].concat(),
        None => {
            let line_end = find(body, b"\r\n")
                .or_else(|| find(body, b"\n"))
                .ok_or_else(|| bad("no delimiter line"))?;
            body[..line_end].to_vec()
        }
    };
    if delimiter.len() < 3 {
        return Err(bad("empty boundary"));
    }
    let mut rest = &body[find(body, &delimiter).ok_or_else(|| bad("boundary not found"))?..];
    loop {
        rest = &rest[delimiter.len()..];
        if rest.starts_with(b"--") {
            return Err(bad(&format!("no field named {name:?}")));
        }
        let next = find(rest, &delimiter).ok_or_else(|| bad("unterminated part"))?;
        let part = &rest[..next];
        let (head_end, sep) = match find(part, b"\r\n\r\n") {
            Some(i) => (i, 4),
            None => (
                find(part, b"\n\n").ok_or_else(|| bad("part without headers"))?,
                2,
            ),
        };
        let head = String::from_utf8_lossy(&part[..head_end]);
        if disposition_name(&head).as_deref() == Some(name) {
            let content = &part[head_end + sep..];
            // The CRLF before the next delimiter belongs to the delimiter.
            let content = content
                .strip_suffix(b"\r\n")
                .or_else(|| content.strip_suffix(b"\n"))
                .unwrap_or(content);
            return Ok(content);
        }
        rest = &rest[next..];
    }
}

/// The `name` parameter of a part's `Content-Disposition: form-data; name="…"` header.
fn disposition_name(head: &str) -> Option<String> {
    let line = head.lines().find(|l| {
        l.split_once(':')
            .is_some_and(|(k, _)| k.trim().eq_ignore_ascii_case("content-disposition"))
    })?;
    let (_, params) = line.split_once(':')?;
    params.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k.trim() == "name").then(|| v.trim().trim_matches('"').to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries() {
        assert_eq!(
            boundary("multipart/form-data; boundary=--xyz").as_deref(),
            Some("--xyz")
        );
        assert_eq!(
            boundary("Multipart/Form-Data;BOUNDARY=\"a b\"").as_deref(),
            Some("a b")
        );
        assert_eq!(boundary("application/json"), None);
        assert_eq!(boundary("multipart/form-data"), None);
    }

    #[test]
    fn depth_ignores_brackets_in_strings() {
        assert!(check_depth(br#"{"a":"[[[[[[[[\"{{{{"}"#, 2).is_ok());
        assert!(check_depth(b"[[[", 2).is_err());
    }

    #[test]
    fn multipart_picks_the_named_field() {
        let body = b"--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1\r\n--b\r\n\
            Content-Disposition: form-data; name=\"data\"\r\n\r\n{}\r\n--b--\r\n";
        assert_eq!(multipart_field(body, Some("b"), "data").unwrap(), b"{}");
        assert_eq!(multipart_field(body, None, "data").unwrap(), b"{}");
        assert!(multipart_field(body, Some("b"), "nope").is_err());
        assert!(multipart_field(b"--b\r\nno end", Some("b"), "data").is_err());
    }
}
