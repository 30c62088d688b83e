//! HTTP authentication helpers for CWMP: Basic and Digest (RFC 2617), pure functions only.
//!
//! The ACS uses them to challenge CPEs and verify their answers; the lab CPE agent and the
//! connection-request client use them to answer challenges. Nothing here keeps state: nonce
//! generation and bookkeeping belong to the driver, which has the clock and the randomness.

use md5::{Digest as _, Md5};
use thiserror::Error;

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

/// Lower-case hex MD5 of the colon-joined parts.
fn md5_hex(parts: &[&str]) -> String {
    let mut h = Md5::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h.update(b":");
        }
        h.update(p.as_bytes());
    }
    hex::encode(h.finalize())
}

/// The expected `response` for `resp`'s parameters, or `None` for an unsupported algorithm or
/// qop (auth-int needs the body, which this API does not see).
fn expected_response(resp: &DigestResponse, method: &str, password: &str) -> Option<String> {
    let mut ha1 = md5_hex(&[&resp.username, &resp.realm, password]);
    match resp.algorithm.as_deref() {
        None => {}
        Some(a) if a.eq_ignore_ascii_case("md5") => {}
        Some(a) if a.eq_ignore_ascii_case("md5-sess") => {
            ha1 = md5_hex(&[&ha1, &resp.nonce, resp.cnonce.as_deref()?]);
        }
        Some(_) => return None,
    }
    let ha2 = md5_hex(&[method, &resp.uri]);
    match resp.qop.as_deref() {
        None => Some(md5_hex(&[&ha1, &resp.nonce, &ha2])),
        Some(q) if q.eq_ignore_ascii_case("auth") => Some(md5_hex(&[
            &ha1,
            &resp.nonce,
            resp.nc.as_deref()?,
            resp.cnonce.as_deref()?,
            q,
            &ha2,
        ])),
        Some(_) => None,
    }
}

/// Checks a Digest response against the password: MD5 or MD5-sess, qop `auth` or none
/// (RFC 2069). The comparison is constant-time so response timing does not leak the hash.
/// Nonce freshness is the caller's job.
pub fn verify_digest(resp: &DigestResponse, method: &str, password: &str) -> bool {
    expected_response(resp, method, password).is_some_and(|expected| {
        ct_eq(
            expected.as_bytes(),
            resp.response.to_ascii_lowercase().as_bytes(),
        )
    })
}

/// Answers a challenge: returns the full `Authorization` header value. Uses qop `auth` when the
/// server offers it, otherwise the RFC 2069 form.
pub fn answer_digest(
    ch: &DigestChallenge,
    method: &str,
    uri: &str,
    username: &str,
    password: &str,
    cnonce: &str,
    nc: u32,
) -> String {
    let offers_auth = ch
        .qop
        .as_deref()
        .is_some_and(|q| q.split(',').any(|t| t.trim().eq_ignore_ascii_case("auth")));
    let mut resp = DigestResponse {
        username: username.to_owned(),
        realm: ch.realm.clone(),
        nonce: ch.nonce.clone(),
        uri: uri.to_owned(),
        response: String::new(),
        qop: offers_auth.then(|| "auth".to_owned()),
        nc: offers_auth.then(|| format!("{nc:08x}")),
        cnonce: offers_auth.then(|| cnonce.to_owned()),
        algorithm: Some(ch.algorithm.clone()),
        opaque: (!ch.opaque.is_empty()).then(|| ch.opaque.clone()),
    };
    // MD5-sess needs a cnonce even without qop.
    if resp.cnonce.is_none() && ch.algorithm.eq_ignore_ascii_case("md5-sess") {
        resp.cnonce = Some(cnonce.to_owned());
    }
    resp.response = expected_response(&resp, method, password).unwrap_or_default();
    resp.to_header()
}

/// The `Authorization` value for HTTP Basic.
pub fn basic_header(username: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64_encode(format!("{username}:{password}").as_bytes())
    )
}

/// Constant-time equality: the running time depends only on the lengths.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding (RFC 4648); small enough not to need a dependency.
pub(crate) fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(B64[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes standard base64; padding is optional, anything else invalid yields `None`.
pub(crate) fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = B64.iter().position(|&x| x == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // A single leftover sextet cannot encode a byte.
    (bits < 6).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC2617: &str = r#"Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41""#;

    #[test]
    fn rfc2617_worked_example_verifies() {
        let Credentials::Digest(d) = parse_authorization(RFC2617).unwrap() else {
            panic!("expected Digest");
        };
        assert_eq!(d.username, "Mufasa");
        assert_eq!(d.nc.as_deref(), Some("00000001"));
        assert!(verify_digest(&d, "GET", "Circle Of Life"));
        assert!(!verify_digest(&d, "GET", "circle of life"));
        assert!(!verify_digest(&d, "POST", "Circle Of Life"));
    }

    #[test]
    fn answer_reproduces_rfc2617_response() {
        let ch = DigestChallenge {
            realm: "testrealm@host.com".into(),
            nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093".into(),
            opaque: "5ccc069c403ebaf9f0171e9517f40e41".into(),
            qop: Some("auth,auth-int".into()),
            algorithm: "MD5".into(),
            stale: false,
        };
        let h = answer_digest(
            &ch,
            "GET",
            "/dir/index.html",
            "Mufasa",
            "Circle Of Life",
            "0a4f113b",
            1,
        );
        assert!(
            h.contains(r#"response="6629fae49393a05397450978507c4ef1""#),
            "{h}"
        );
        let Credentials::Digest(d) = parse_authorization(&h).unwrap() else {
            panic!("digest")
        };
        assert!(verify_digest(&d, "GET", "Circle Of Life"));
    }

    #[test]
    fn md5_sess_and_rfc2069_round_trip() {
        for (qop, alg) in [
            (None, "MD5"),
            (Some("auth"), "MD5-sess"),
            (None, "MD5-sess"),
        ] {
            let ch = DigestChallenge {
                realm: "r".into(),
                nonce: "n".into(),
                opaque: String::new(),
                qop: qop.map(String::from),
                algorithm: alg.into(),
                stale: false,
            };
            let h = answer_digest(&ch, "POST", "/acs", "u", "p", "c", 7);
            let Credentials::Digest(d) = parse_authorization(&h).unwrap() else {
                panic!()
            };
            assert_eq!(d.qop.as_deref(), qop);
            assert!(verify_digest(&d, "POST", "p"), "{h}");
            assert!(!verify_digest(&d, "POST", "q"));
        }
    }

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

    #[test]
    fn basic_round_trips_and_rejects_garbage() {
        let h = basic_header("Aladdin", "open sesame");
        assert_eq!(h, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
        let c = parse_authorization("BASIC QWxhZGRpbjpvcGVuIHNlc2FtZQ==").unwrap();
        assert_eq!(
            c,
            Credentials::Basic {
                username: "Aladdin".into(),
                password: "open sesame".into()
            }
        );
        assert_eq!(parse_authorization("Basic !!!"), Err(AuthError::BadBasic));
        assert_eq!(parse_authorization("Basic QQ"), Err(AuthError::BadBasic));
        assert_eq!(
            parse_authorization("Negotiate x"),
            Err(AuthError::UnknownScheme)
        );
        assert_eq!(
            parse_authorization(&"a".repeat(5000)),
            Err(AuthError::TooLong)
        );
        assert_eq!(
            parse_authorization(r#"Digest username="x"#),
            Err(AuthError::Syntax)
        );
        assert_eq!(
            parse_authorization(r#"Digest username="x""#),
            Err(AuthError::Missing("realm"))
        );
        for n in 0..8 {
            let data: Vec<u8> = (0..n).map(|i| i * 37).collect();
            assert_eq!(base64_decode(&base64_encode(&data)).unwrap(), data);
        }
    }

    #[test]
    fn ct_eq_compares_contents_and_lengths() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
    }
}
