//! HTTP authentication helpers for CWMP: Basic and Digest (RFC 2617), pure functions only.
//!
//! The ACS uses them to challenge CPEs and verify their answers; the lab CPE agent and the
//! connection-request client use them to answer challenges. Nothing here keeps state: nonce
//! generation and bookkeeping belong to the driver, which has the clock and the randomness.

use thiserror::Error;

mod digest;

use digest::base64_decode;
pub use digest::{answer_digest, basic_header, verify_digest};
// The workspace's one constant-time comparison, re-exported for the protocol's users.
pub use fibreplane_types::ct_eq;

/// Longest header value we parse. Real Authorization headers are a few hundred bytes; anything
/// larger is refused before we scan it.
const MAX_HEADER: usize = 4096;

/// Why an Authorization or WWW-Authenticate header could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The header is longer than 4 KiB.
    #[error("header too long")]
    TooLong,
    /// The scheme is neither Basic nor Digest.
    #[error("unsupported authentication scheme")]
    UnknownScheme,
    /// The Basic credentials are not valid base64 of UTF-8 `user:password`.
    #[error("malformed Basic credentials")]
    BadBasic,
    /// A parameter list is malformed (unterminated quote, missing `=`, …).
    #[error("malformed parameter list")]
    Syntax,
    /// A required Digest parameter is missing.
    #[error("missing Digest parameter {0}")]
    Missing(&'static str),
}

/// Credentials from an `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// HTTP Basic.
    Basic {
        /// User name.
        username: String,
        /// Password in clear text.
        password: String,
    },
    /// HTTP Digest.
    Digest(DigestResponse),
}

/// The parameters of a Digest `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DigestResponse {
    /// User name.
    pub username: String,
    /// Realm from the challenge.
    pub realm: String,
    /// Nonce from the challenge.
    pub nonce: String,
    /// Request URI as the client sent it.
    pub uri: String,
    /// The 32-hex-digit response.
    pub response: String,
    /// `auth` (or absent for RFC 2069 clients).
    pub qop: Option<String>,
    /// Nonce count, eight hex digits.
    pub nc: Option<String>,
    /// Client nonce.
    pub cnonce: Option<String>,
    /// `MD5` or `MD5-sess`; absent means MD5.
    pub algorithm: Option<String>,
    /// Opaque value echoed from the challenge.
    pub opaque: Option<String>,
}

impl DigestResponse {
    /// Formats the `Authorization` header value (`Digest username="…", …`).
    pub fn to_header(&self) -> String {
        let mut h = String::from("Digest ");
        push_param(&mut h, "username", &self.username, true);
        push_param(&mut h, "realm", &self.realm, true);
        push_param(&mut h, "nonce", &self.nonce, true);
        push_param(&mut h, "uri", &self.uri, true);
        if let Some(a) = &self.algorithm {
            push_param(&mut h, "algorithm", a, false);
        }
        push_param(&mut h, "response", &self.response, true);
        if let Some(q) = &self.qop {
            push_param(&mut h, "qop", q, false);
        }
        if let Some(nc) = &self.nc {
            push_param(&mut h, "nc", nc, false);
        }
        if let Some(c) = &self.cnonce {
            push_param(&mut h, "cnonce", c, true);
        }
        if let Some(o) = &self.opaque {
            push_param(&mut h, "opaque", o, true);
        }
        h
    }
}

/// A Digest challenge (`WWW-Authenticate: Digest …`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestChallenge {
    /// Protection realm.
    pub realm: String,
    /// Server nonce.
    pub nonce: String,
    /// Opaque value the client echoes.
    pub opaque: String,
    /// Offered qop values (`auth`, `auth,auth-int`), absent for RFC 2069 servers.
    pub qop: Option<String>,
    /// `MD5` or `MD5-sess`.
    pub algorithm: String,
    /// Whether the previous nonce was merely stale (the client retries without asking the user).
    pub stale: bool,
}

impl DigestChallenge {
    /// Formats the `WWW-Authenticate` header value.
    pub fn to_header(&self) -> String {
        let mut h = String::from("Digest ");
        push_param(&mut h, "realm", &self.realm, true);
        if let Some(q) = &self.qop {
            push_param(&mut h, "qop", q, true);
        }
        push_param(&mut h, "nonce", &self.nonce, true);
        push_param(&mut h, "opaque", &self.opaque, true);
        push_param(&mut h, "algorithm", &self.algorithm, false);
        if self.stale {
            push_param(&mut h, "stale", "true", false);
        }
        h
    }
}

/// Appends `, name=value` (quoted and escaped when `quoted`) to a header under construction.
fn push_param(h: &mut String, name: &str, value: &str, quoted: bool) {
    if !h.ends_with(' ') {
        h.push_str(", ");
    }
    h.push_str(name);
    h.push('=');
    if quoted {
        h.push('"');
        for c in value.chars() {
            if c == '"' || c == '\\' {
                h.push('\\');
            }
            h.push(c);
        }
        h.push('"');
    } else {
        h.push_str(value);
    }
}

/// Splits `Scheme rest` and checks the length bound.
fn split_scheme(header: &str) -> Result<(&str, &str), AuthError> {
    if header.len() > MAX_HEADER {
        return Err(AuthError::TooLong);
    }
    let header = header.trim();
    Ok(match header.find(|c: char| c.is_ascii_whitespace()) {
        Some(i) => (&header[..i], header[i..].trim_start()),
        None => (header, ""),
    })
}

/// Parses an `Authorization` header value (Basic or Digest, scheme case-insensitive).
pub fn parse_authorization(header: &str) -> Result<Credentials, AuthError> {
    let (scheme, rest) = split_scheme(header)?;
    if scheme.eq_ignore_ascii_case("basic") {
        let raw = base64_decode(rest.trim()).ok_or(AuthError::BadBasic)?;
        let text = String::from_utf8(raw).map_err(|_| AuthError::BadBasic)?;
        let (u, p) = text.split_once(':').ok_or(AuthError::BadBasic)?;
        return Ok(Credentials::Basic {
            username: u.to_owned(),
            password: p.to_owned(),
        });
    }
    if !scheme.eq_ignore_ascii_case("digest") {
        return Err(AuthError::UnknownScheme);
    }
    let mut d = DigestResponse::default();
    let (mut has_user, mut has_realm, mut has_nonce, mut has_uri, mut has_resp) =
        (false, false, false, false, false);
    for (k, v) in parse_params(rest)? {
        match k.to_ascii_lowercase().as_str() {
            "username" => (d.username, has_user) = (v, true),
            "realm" => (d.realm, has_realm) = (v, true),
            "nonce" => (d.nonce, has_nonce) = (v, true),
            "uri" => (d.uri, has_uri) = (v, true),
            "response" => (d.response, has_resp) = (v, true),
            "qop" => d.qop = Some(v),
            "nc" => d.nc = Some(v),
            "cnonce" => d.cnonce = Some(v),
            "algorithm" => d.algorithm = Some(v),
            "opaque" => d.opaque = Some(v),
            _ => {}
        }
    }
    for (present, name) in [
        (has_user, "username"),
        (has_realm, "realm"),
        (has_nonce, "nonce"),
        (has_uri, "uri"),
        (has_resp, "response"),
    ] {
        if !present {
            return Err(AuthError::Missing(name));
        }
    }
    Ok(Credentials::Digest(d))
}

/// The scheme of a `WWW-Authenticate` header: `Digest`, `Basic`, or `None` for anything else.
pub fn challenge_scheme(header: &str) -> Option<&'static str> {
    let (scheme, _) = split_scheme(header).ok()?;
    if scheme.eq_ignore_ascii_case("digest") {
        Some("Digest")
    } else if scheme.eq_ignore_ascii_case("basic") {
        Some("Basic")
    } else {
        None
    }
}

/// Parses a Digest `WWW-Authenticate` header value. `opaque` defaults to empty and `algorithm`
/// to `MD5` when the server omits them.
pub fn parse_challenge(header: &str) -> Result<DigestChallenge, AuthError> {
    let (scheme, rest) = split_scheme(header)?;
    if !scheme.eq_ignore_ascii_case("digest") {
        return Err(AuthError::UnknownScheme);
    }
    let (mut realm, mut nonce) = (None, None);
    let mut ch = DigestChallenge {
        realm: String::new(),
        nonce: String::new(),
        opaque: String::new(),
        qop: None,
        algorithm: "MD5".to_owned(),
        stale: false,
    };
    for (k, v) in parse_params(rest)? {
        match k.to_ascii_lowercase().as_str() {
            "realm" => realm = Some(v),
            "nonce" => nonce = Some(v),
            "opaque" => ch.opaque = v,
            "qop" => ch.qop = Some(v),
            "algorithm" => ch.algorithm = v,
            "stale" => ch.stale = v.eq_ignore_ascii_case("true"),
            _ => {}
        }
    }
    ch.realm = realm.ok_or(AuthError::Missing("realm"))?;
    ch.nonce = nonce.ok_or(AuthError::Missing("nonce"))?;
    Ok(ch)
}

/// Parses `k=v, k="quoted \"v\", with commas"` into pairs. Keys are returned as written.
fn parse_params(s: &str) -> Result<Vec<(String, String)>, AuthError> {
    let mut out = Vec::new();
    let mut chars = s.char_indices().peekable();
    loop {
        // Skip separators and whitespace between parameters.
        while chars
            .next_if(|&(_, c)| c == ',' || c.is_ascii_whitespace())
            .is_some()
        {}
        let Some(&(start, _)) = chars.peek() else {
            break;
        };
        let mut end = start;
        while let Some((i, c)) = chars.next_if(|&(_, c)| c != '=' && c != ',') {
            end = i + c.len_utf8();
        }
        let key = s[start..end].trim();
        if chars.next_if(|&(_, c)| c == '=').is_none() || key.is_empty() {
            return Err(AuthError::Syntax);
        }
        while chars.next_if(|&(_, c)| c.is_ascii_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if(|&(_, c)| c == '"').is_some() {
            let mut closed = false;
            while let Some((_, c)) = chars.next() {
                match c {
                    '\\' => value.push(chars.next().ok_or(AuthError::Syntax)?.1),
                    '"' => {
                        closed = true;
                        break;
                    }
                    c => value.push(c),
                }
            }
            if !closed {
                return Err(AuthError::Syntax);
            }
        } else {
            while let Some((_, c)) = chars.next_if(|&(_, c)| c != ',') {
                value.push(c);
            }
            value.truncate(value.trim_end().len());
        }
        out.push((key.to_owned(), value));
    }
    Ok(out)
}

/// The password a CPE uses towards a Fibreplane ACS when the ACS derives per-device passwords
/// from one secret: `hex(HMAC-SHA256(secret, username))`, first 20 characters. The ACS then
/// stores no password per device, and an operator can recompute one for a technician.
pub fn derive_password(secret: &str, username: &str) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let Ok(mut mac) = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(username.as_bytes());
    let mut s = hex::encode(mac.finalize().into_bytes());
    s.truncate(20);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_round_trips_and_parses_quotes() {
        let ch = DigestChallenge {
            realm: r#"Fibre "plane", lab"#.into(),
            nonce: "abc".into(),
            opaque: "op".into(),
            qop: Some("auth".into()),
            algorithm: "MD5".into(),
            stale: true,
        };
        let h = ch.to_header();
        assert!(h.starts_with(r#"Digest realm="Fibre \"plane\", lab", qop="auth", nonce="abc""#));
        assert!(h.ends_with("algorithm=MD5, stale=true"));
        assert_eq!(parse_challenge(&h).unwrap(), ch);
        assert_eq!(challenge_scheme(&h), Some("Digest"));
        assert_eq!(challenge_scheme(r#"basic realm="x""#), Some("Basic"));
        assert_eq!(challenge_scheme("Bearer x"), None);
        let genie = r#"Digest realm="GenieACS", qop="auth,auth-int", nonce="1a2b""#;
        let g = parse_challenge(genie).unwrap();
        assert_eq!((g.algorithm.as_str(), g.opaque.as_str()), ("MD5", ""));
    }
}
