//! Who is calling the hub, sans IO: staff (a bearer token, or the identity header of a trusted
//! forward-auth proxy such as oauth2-proxy or Authelia) or a technician (an HS256 JWT, at most
//! 24 h, bound to a technician, a job and that job's service location). Tokens are compared in
//! constant time; none is ever logged.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// Longest lifetime of a technician token.
pub const TECH_TOKEN_MAX_SECS: i64 = 24 * 3600;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// Operations staff: everything.
    Staff {
        /// Who (the proxy's identity header, or `token` for the shared bearer token).
        who: String,
    },
    /// A technician on a job: diagnostics and summaries of that job's location's devices.
    Technician(TechClaims),
}

/// The claims of a technician token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TechClaims {
    /// The technician.
    pub sub: String,
    /// The job (work order).
    pub job: String,
    /// The job's service location (`LOC-#####`): the only devices the token may touch.
    pub loc: String,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Expires at, seconds since the epoch.
    pub exp: i64,
}

/// Why a call is refused; the text is the 401/403 body (it never echoes a credential).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No credentials.
    #[error("authentication required")]
    Missing,
    /// Credentials that are not valid.
    #[error("invalid credentials")]
    Invalid,
    /// A technician token past its expiry.
    #[error("technician token expired")]
    Expired,
    /// Valid credentials without the right to do this.
    #[error("not allowed for this caller")]
    Forbidden,
}

/// What authentication checks against.
#[derive(Clone)]
pub struct AuthConfig {
    /// Staff bearer tokens.
    pub staff_tokens: Vec<acs::Secret>,
    /// Proxies whose identity header is believed.
    pub trusted_proxies: Vec<IpAddr>,
    /// The identity header (lower case).
    pub forward_user_header: String,
    /// The HS256 key of technician tokens, if technicians are enabled.
    pub tech_key: Option<acs::Secret>,
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig")
            .field("staff_tokens", &self.staff_tokens.len())
            .field("trusted_proxies", &self.trusted_proxies)
            .field("forward_user_header", &self.forward_user_header)
            .field("tech_key", &self.tech_key.as_ref().map(|_| "***"))
            .finish()
    }
}

/// The credentials a request carries.
#[derive(Debug, Clone, Copy, Default)]
pub struct Presented<'a> {
    /// The bearer token (`Authorization: Bearer …`, or the `token` query parameter of a GET,
    /// which browsers' EventSource needs).
    pub bearer: Option<&'a str>,
    /// The forward-auth identity header.
    pub forwarded_user: Option<&'a str>,
    /// The peer's address.
    pub peer: Option<IpAddr>,
}

impl AuthConfig {
    /// Authenticates a request at `now_secs`.
    pub fn authenticate(&self, p: &Presented<'_>, now_secs: i64) -> Result<Caller, AuthError> {
        if let Some(token) = p.bearer {
            // Every staff token is compared, so timing tells nothing about which matched.
            let staff = self
                .staff_tokens
                .iter()
                .fold(false, |hit, t| t.matches(token.as_bytes()) | hit);
            if staff {
                return Ok(Caller::Staff {
                    who: "token".into(),
                });
            }
            let key = self.tech_key.as_ref().ok_or(AuthError::Invalid)?;
            return verify_tech(key.expose().as_bytes(), token, now_secs).map(Caller::Technician);
        }
        if let (Some(user), Some(peer)) = (p.forwarded_user, p.peer)
            && self.trusted_proxies.contains(&peer)
            && !user.trim().is_empty()
        {
            return Ok(Caller::Staff {
                who: user.trim().to_owned(),
            });
        }
        Err(AuthError::Missing)
    }
}

impl Caller {
    /// Staff only.
    pub fn require_staff(&self) -> Result<(), AuthError> {
        match self {
            Self::Staff { .. } => Ok(()),
            Self::Technician(_) => Err(AuthError::Forbidden),
        }
    }

    /// Staff, or a technician whose job is at `location` (the device's service location; `None`
    /// when it has none, which no technician may touch).
    pub fn may_touch(&self, location: Option<&str>) -> Result<(), AuthError> {
        match self {
            Self::Staff { .. } => Ok(()),
            Self::Technician(c) if location == Some(c.loc.as_str()) => Ok(()),
            Self::Technician(_) => Err(AuthError::Forbidden),
        }
    }
}

/// Issues a technician token for `claims` (whose lifetime must not exceed 24 h).
pub fn issue_tech(key: &[u8], claims: &TechClaims) -> Result<String, AuthError> {
    if claims.exp - claims.iat > TECH_TOKEN_MAX_SECS || claims.exp <= claims.iat {
        return Err(AuthError::Invalid);
    }
    let header = B64.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let body = B64.encode(serde_json::to_vec(claims).map_err(|_| AuthError::Invalid)?);
    let signed = format!("{header}.{body}");
    let mut mac = HmacSha256::new_from_slice(key).map_err(|_| AuthError::Invalid)?;
    mac.update(signed.as_bytes());
    Ok(format!(
        "{signed}.{}",
        B64.encode(mac.finalize().into_bytes())
    ))
}

#[derive(Deserialize)]
struct Header {
    alg: String,
}

/// Verifies an HS256 token: the algorithm is fixed (a token saying `none` or `RS256` is refused
/// whatever it carries), the signature is checked in constant time before the claims are
/// trusted, and the lifetime is at most 24 h.
pub fn verify_tech(key: &[u8], token: &str, now_secs: i64) -> Result<TechClaims, AuthError> {
    if token.len() > 4096 {
        return Err(AuthError::Invalid);
    }
    let mut parts = token.split('.');
    let (Some(h), Some(b), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthError::Invalid);
    };
    let header: Header = B64
        .decode(h)
        .ok()
        .and_then(|j| serde_json::from_slice(&j).ok())
        .ok_or(AuthError::Invalid)?;
    if header.alg != "HS256" {
        return Err(AuthError::Invalid);
    }
    let sig = B64.decode(s).map_err(|_| AuthError::Invalid)?;
    let mut mac = HmacSha256::new_from_slice(key).map_err(|_| AuthError::Invalid)?;
    mac.update(h.as_bytes());
    mac.update(b".");
    mac.update(b.as_bytes());
    mac.verify_slice(&sig).map_err(|_| AuthError::Invalid)?;
    let claims: TechClaims = B64
        .decode(b)
        .ok()
        .and_then(|j| serde_json::from_slice(&j).ok())
        .ok_or(AuthError::Invalid)?;
    if claims.exp - claims.iat > TECH_TOKEN_MAX_SECS || claims.iat > now_secs + 300 {
        return Err(AuthError::Invalid);
    }
    if now_secs >= claims.exp {
        return Err(AuthError::Expired);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn config() -> AuthConfig {
        AuthConfig {
            staff_tokens: vec![acs::Secret::new("staff-token-staff-token-staff-tok")],
            trusted_proxies: vec!["10.0.0.5".parse().unwrap()],
            forward_user_header: "x-forwarded-user".into(),
            tech_key: Some(acs::Secret::new(std::str::from_utf8(KEY).unwrap())),
        }
    }

    fn claims(now: i64) -> TechClaims {
        TechClaims {
            sub: "tech-7".into(),
            job: "JOB-1".into(),
            loc: "LOC-00042".into(),
            iat: now,
            exp: now + 3600,
        }
    }

    #[test]
    fn staff_tokens_proxies_and_technicians() {
        let c = config();
        let now = 1_800_000_000;
        let staff = Presented {
            bearer: Some("staff-token-staff-token-staff-tok"),
            ..Presented::default()
        };
        assert!(matches!(
            c.authenticate(&staff, now),
            Ok(Caller::Staff { .. })
        ));
        let proxied = Presented {
            forwarded_user: Some("alice"),
            peer: Some("10.0.0.5".parse().unwrap()),
            ..Presented::default()
        };
        assert_eq!(
            c.authenticate(&proxied, now),
            Ok(Caller::Staff {
                who: "alice".into()
            })
        );
        let spoofed = Presented {
            peer: Some("10.0.0.6".parse().unwrap()),
            ..proxied
        };
        assert_eq!(c.authenticate(&spoofed, now), Err(AuthError::Missing));
        let token = issue_tech(KEY, &claims(now)).unwrap();
        let tech = Presented {
            bearer: Some(&token),
            ..Presented::default()
        };
        let caller = c.authenticate(&tech, now + 10).unwrap();
        assert_eq!(caller.may_touch(Some("LOC-00042")), Ok(()));
        assert_eq!(
            caller.may_touch(Some("LOC-00043")),
            Err(AuthError::Forbidden)
        );
        assert_eq!(caller.may_touch(None), Err(AuthError::Forbidden));
        assert_eq!(caller.require_staff(), Err(AuthError::Forbidden));
        assert_eq!(c.authenticate(&tech, now + 3600), Err(AuthError::Expired));
        let wrong = Presented {
            bearer: Some("nope"),
            ..Presented::default()
        };
        assert_eq!(c.authenticate(&wrong, now), Err(AuthError::Invalid));
    }

    #[test]
    fn forged_and_overlong_tokens_are_refused() {
        let now = 1_800_000_000;
        let good = issue_tech(KEY, &claims(now)).unwrap();
        // Another key's signature.
        let other = issue_tech(b"another key another key another k", &claims(now)).unwrap();
        assert_eq!(verify_tech(KEY, &other, now), Err(AuthError::Invalid));
        // Claims changed after signing.
        let parts: Vec<&str> = good.split('.').collect();
        let mut c = claims(now);
        c.loc = "LOC-99999".into();
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            B64.encode(serde_json::to_vec(&c).unwrap()),
            parts[2]
        );
        assert_eq!(verify_tech(KEY, &forged, now), Err(AuthError::Invalid));
        // alg none.
        let none = format!("{}.{}.", B64.encode(br#"{"alg":"none"}"#), parts[1]);
        assert_eq!(verify_tech(KEY, &none, now), Err(AuthError::Invalid));
        // A week-long token is not issued, and not accepted if made elsewhere.
        let mut long = claims(now);
        long.exp = now + 7 * 86_400;
        assert_eq!(issue_tech(KEY, &long), Err(AuthError::Invalid));
        let body = B64.encode(serde_json::to_vec(&long).unwrap());
        let signed = format!("{}.{body}", parts[0]);
        let mut mac = HmacSha256::new_from_slice(KEY).unwrap();
        mac.update(signed.as_bytes());
        let long_token = format!("{signed}.{}", B64.encode(mac.finalize().into_bytes()));
        assert_eq!(verify_tech(KEY, &long_token, now), Err(AuthError::Invalid));
    }

    proptest::proptest! {
        #[test]
        fn any_token_text_is_refused_or_verified_without_panicking(t in "[A-Za-z0-9._-]{0,300}") {
            let _ = verify_tech(KEY, &t, 1_800_000_000);
        }
    }
}
