//! NBI authentication. GenieACS's NBI has none; Fibreplane's takes a bearer token, or HTTP Basic
//! whose password is the token (any user name), so that existing clients that can only do Basic
//! keep working. Anonymous access exists only when configured, and only on a loopback listener.

use acs::Secret;
use base64::Engine;
use http::HeaderMap;

/// The NBI's bearer token: a [`Secret`], so it prints as `***` and compares in constant time.
#[derive(Debug, Clone)]
pub struct Token(Secret);

impl Token {
    /// Wraps a token; surrounding whitespace (a trailing newline in a file) is dropped.
    pub fn new(s: &str) -> Self {
        Self(Secret::new(s.trim()))
    }

    /// Whether the token is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Who may call the NBI.
#[derive(Debug, Clone)]
pub enum Access {
    /// Callers presenting this token.
    Token(Token),
    /// Anyone (lab only; the server refuses this on a non-loopback address).
    Anonymous,
}

impl Access {
    /// Whether the request's `Authorization` header grants access.
    pub fn allows(&self, headers: &HeaderMap) -> bool {
        let Self::Token(token) = self else {
            return true;
        };
        let Some(value) = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        else {
            return false;
        };
        let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value, ""));
        let presented = if scheme.eq_ignore_ascii_case("bearer") {
            rest.trim().as_bytes().to_vec()
        } else if scheme.eq_ignore_ascii_case("basic") {
            let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(rest.trim()) else {
                return false;
            };
            match raw.iter().position(|&b| b == b':') {
                Some(i) => raw[i + 1..].to_vec(),
                None => return false,
            }
        } else {
            return false;
        };
        token.0.matches(&presented)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(auth: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(http::header::AUTHORIZATION, auth.parse().unwrap());
        h
    }

    #[test]
    fn bearer_and_basic_with_the_token_are_accepted() {
        let a = Access::Token(Token::new("s3cret\n"));
        assert!(a.allows(&headers("Bearer s3cret")));
        assert!(a.allows(&headers("bearer  s3cret ")));
        let basic = base64::engine::general_purpose::STANDARD.encode("nbi:s3cret");
        assert!(a.allows(&headers(&format!("Basic {basic}"))));
        for wrong in [
            "Bearer s3cre",
            "Bearer s3cret2",
            "Token s3cret",
            "Basic !!",
            "",
        ] {
            assert!(!a.allows(&headers(wrong)), "{wrong}");
        }
        assert!(!a.allows(&HeaderMap::new()));
        assert!(Access::Anonymous.allows(&HeaderMap::new()));
        assert_eq!(format!("{:?}", Token::new("s3cret")), "Token(***)");
    }
}
