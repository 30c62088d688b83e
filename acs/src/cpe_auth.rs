//! CPE authentication: HTTP Digest challenges with single-use nonce counts, Basic over TLS only,
//! and per-device passwords derived from a configured secret.

use crate::config::{AcsConfig, CpeAuthMode, Secret};
use cwmp::auth::{Credentials, DigestChallenge};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a nonce stays valid. A CPE authenticates once per TCP connection, so a short life is
/// enough and keeps the table small.
const NONCE_LIFETIME: Duration = Duration::from_secs(300);
/// Most live nonces; above it the oldest are dropped (the CPE then gets a fresh challenge).
const MAX_NONCES: usize = 200_000;

/// The outcome of checking a request's `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AuthOutcome {
    /// Authenticated as this username.
    Ok(String),
    /// No usable credentials: challenge the CPE.
    Challenge,
    /// The nonce expired or is unknown: challenge again with `stale=true`.
    Stale,
    /// Wrong credentials.
    Denied,
}

struct NonceState {
    created: Instant,
    last_nc: u32,
}

/// Issues Digest challenges and checks responses.
pub(crate) struct CpeAuth {
    mode: CpeAuthMode,
    secret: Secret,
    realm: String,
    nonces: Mutex<HashMap<String, NonceState>>,
}

impl CpeAuth {
    pub(crate) fn new(config: &AcsConfig) -> Self {
        Self {
            mode: config.cpe_auth,
            secret: config.cpe_secret.clone(),
            realm: config.realm.clone(),
            nonces: Mutex::new(HashMap::new()),
        }
    }

    /// Whether authentication is required at all.
    pub(crate) fn required(&self) -> bool {
        self.mode == CpeAuthMode::Digest
    }

    /// A fresh challenge for a `WWW-Authenticate` header.
    pub(crate) fn challenge(&self, now: Instant, stale: bool) -> String {
        let nonce = hex::encode(rand::random::<[u8; 16]>());
        let mut map = self.nonces.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_NONCES {
            map.retain(|_, s| now.duration_since(s.created) < NONCE_LIFETIME);
            if map.len() >= MAX_NONCES {
                map.clear();
            }
        }
        map.insert(
            nonce.clone(),
            NonceState {
                created: now,
                last_nc: 0,
            },
        );
        DigestChallenge {
            realm: self.realm.clone(),
            nonce,
            opaque: hex::encode(rand::random::<[u8; 8]>()),
            qop: Some("auth".to_owned()),
            algorithm: "MD5".to_owned(),
            stale,
        }
        .to_header()
    }

    /// The password a CPE with this username must use: its own stored one, or one derived from
    /// the configured secret.
    pub(crate) fn password_for(&self, username: &str, stored: Option<&str>) -> String {
        match stored {
            Some(p) if !p.is_empty() => p.to_owned(),
            _ => derive_password(&self.secret, username),
        }
    }

    /// Checks an `Authorization` header for a POST to `method`. `allowed_usernames` are the names
    /// this device may use (so a CPE cannot inform as another device); `stored_password` is the
    /// device's own password if it has one.
    pub(crate) fn verify(
        &self,
        now: Instant,
        header: Option<&str>,
        method: &str,
        over_tls: bool,
        allowed_usernames: &[String],
        stored_password: Option<&str>,
    ) -> AuthOutcome {
        let Some(header) = header else {
            return AuthOutcome::Challenge;
        };
        let Ok(creds) = cwmp::auth::parse_authorization(header) else {
            return AuthOutcome::Challenge;
        };
        match creds {
            Credentials::Basic { username, password } => {
                // Basic sends the password in clear text: only acceptable inside TLS.
                if !over_tls {
                    return AuthOutcome::Challenge;
                }
                if !allowed_usernames.contains(&username) {
                    return AuthOutcome::Denied;
                }
                let expected = self.password_for(&username, stored_password);
                if cwmp::auth::ct_eq(expected.as_bytes(), password.as_bytes()) {
                    AuthOutcome::Ok(username)
                } else {
                    AuthOutcome::Denied
                }
            }
            Credentials::Digest(resp) => {
                if resp.realm != self.realm || !allowed_usernames.contains(&resp.username) {
                    return AuthOutcome::Denied;
                }
                if !self.consume_nonce(now, &resp.nonce, resp.nc.as_deref()) {
                    return AuthOutcome::Stale;
                }
                let expected = self.password_for(&resp.username, stored_password);
                if cwmp::auth::verify_digest(&resp, method, &expected) {
                    AuthOutcome::Ok(resp.username)
                } else {
                    AuthOutcome::Denied
                }
            }
        }
    }

    /// Accepts a nonce once per nonce count: a replayed (nonce, nc) pair is refused.
    fn consume_nonce(&self, now: Instant, nonce: &str, nc: Option<&str>) -> bool {
        let mut map = self.nonces.lock().unwrap_or_else(|e| e.into_inner());
        let Some(state) = map.get_mut(nonce) else {
            return false;
        };
        if now.duration_since(state.created) > NONCE_LIFETIME {
            map.remove(nonce);
            return false;
        }
        // Without qop there is no nonce count: such a nonce is good for one use only.
        let nc = nc
            .and_then(|n| u32::from_str_radix(n, 16).ok())
            .unwrap_or(u32::MAX);
        if nc <= state.last_nc {
            return false;
        }
        state.last_nc = nc;
        if nc == u32::MAX {
            map.remove(nonce);
        }
        true
    }
}

/// The per-device password derived from the configured secret (see
/// [`cwmp::auth::derive_password`]).
pub fn derive_password(secret: &Secret, username: &str) -> String {
    cwmp::auth::derive_password(secret.expose(), username)
}

/// The usernames a CPE may present: `OUI-ProductClass-Serial` and `OUI-Serial`, escaped like the
/// device id (TR-069's convention, which GenieACS shares).
pub(crate) fn usernames_for(id: &cwmp::DeviceIdStruct) -> Vec<String> {
    let full = cwmp::device_id(&id.oui, &id.product_class, &id.serial_number);
    let short = cwmp::device_id(&id.oui, "", &id.serial_number);
    if full == short {
        vec![full]
    } else {
        vec![full, short]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> CpeAuth {
        let config = AcsConfig {
            cpe_secret: Secret::new("s3cret"),
            ..AcsConfig::default()
        };
        CpeAuth::new(&config)
    }

    fn nonce_of(challenge: &str) -> DigestChallenge {
        cwmp::auth::parse_challenge(challenge).unwrap()
    }

    #[test]
    fn digest_round_trip_and_replay_refused() {
        let a = auth();
        let now = Instant::now();
        let user = "1C61B4-Device2-X1".to_owned();
        let ch = nonce_of(&a.challenge(now, false));
        let pw = derive_password(&Secret::new("s3cret"), &user);
        let hdr = cwmp::auth::answer_digest(&ch, "POST", "/", &user, &pw, "abc", 1);
        let users = vec![user.clone()];
        assert_eq!(
            a.verify(now, Some(&hdr), "POST", false, &users, None),
            AuthOutcome::Ok(user)
        );
        // The same nonce count again is a replay.
        assert_eq!(
            a.verify(now, Some(&hdr), "POST", false, &users, None),
            AuthOutcome::Stale
        );
        let next = cwmp::auth::answer_digest(&ch, "POST", "/", &users[0], &pw, "abc", 2);
        assert!(matches!(
            a.verify(now, Some(&next), "POST", false, &users, None),
            AuthOutcome::Ok(_)
        ));
    }

    #[test]
    fn wrong_password_other_device_and_basic_without_tls_are_refused() {
        let a = auth();
        let now = Instant::now();
        let users = vec!["A-B-C".to_owned()];
        let ch = nonce_of(&a.challenge(now, false));
        let bad = cwmp::auth::answer_digest(&ch, "POST", "/", "A-B-C", "nope", "x", 1);
        assert_eq!(
            a.verify(now, Some(&bad), "POST", false, &users, None),
            AuthOutcome::Denied
        );
        let pw = derive_password(&Secret::new("s3cret"), "OTHER");
        let other = cwmp::auth::answer_digest(&ch, "POST", "/", "OTHER", &pw, "x", 2);
        assert_eq!(
            a.verify(now, Some(&other), "POST", false, &users, None),
            AuthOutcome::Denied
        );
        let pw = derive_password(&Secret::new("s3cret"), "A-B-C");
        let basic = cwmp::auth::basic_header("A-B-C", &pw);
        assert_eq!(
            a.verify(now, Some(&basic), "POST", false, &users, None),
            AuthOutcome::Challenge
        );
        assert!(matches!(
            a.verify(now, Some(&basic), "POST", true, &users, None),
            AuthOutcome::Ok(_)
        ));
    }

    #[test]
    fn secrets_do_not_print() {
        assert_eq!(
            format!("{:?} {}", Secret::new("x"), Secret::new("y")),
            "*** ***"
        );
    }
}
