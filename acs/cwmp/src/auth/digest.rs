//! Digest computation and verification (RFC 2617) and Basic encoding.

use base64::Engine as _;
use fibreplane_types::ct_eq;
use md5::{Digest as _, Md5};

use super::{DigestChallenge, DigestResponse};

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

/// The base64 alphabet of HTTP Basic (RFC 7617: standard, RFC 4648 §4). Decoding is lenient
/// the way CPE firmware needs: padding may be left out, and unused low bits of the last symbol
/// are ignored.
const BASIC: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Standard base64 with padding.
pub(crate) fn base64_encode(data: &[u8]) -> String {
    BASIC.encode(data)
}

/// Decodes standard base64 with or without padding; anything else is `None`.
pub(crate) fn base64_decode(s: &str) -> Option<Vec<u8>> {
    BASIC.decode(s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{AuthError, Credentials, parse_authorization};

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
            let text = base64_encode(&data);
            assert_eq!(base64_decode(&text).unwrap(), data);
            // CPEs that leave the padding out are understood too.
            assert_eq!(base64_decode(text.trim_end_matches('=')).unwrap(), data);
        }
        assert_eq!(base64_decode("QWxhZGRpbg=x"), None);
    }
}
