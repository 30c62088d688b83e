//! CPE authentication: HTTP Digest challenges with single-use nonce counts, Basic over TLS only,
//! and per-device passwords derived from a configured secret.
//!
//! A Digest answer is accepted once: its nonce must be one this ACS issued and still alive, its
//! nonce count higher than any accepted before with that nonce, its `uri` the request's own
//! target, and a nonce that one device authenticated with is never good for another. The nonce
//! count is advanced only by a correct answer, so a forged request cannot spend a CPE's nonce.

use crate::config::{AcsConfig, CpeAuthMode, Secret};
use crate::genie::auth::{Judge, Verdict};
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
    /// The username that first authenticated with this nonce; no other may use it.
    user: Option<String>,
}

/// The parts of a request that authentication looks at.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AuthRequest<'a> {
    /// The `Authorization` header, if any.
    pub(crate) header: Option<&'a str>,
    /// The HTTP method.
    pub(crate) method: &'a str,
    /// The request target (path and query) as the client sent it.
    pub(crate) target: &'a str,
    /// Whether the connection is TLS.
    pub(crate) over_tls: bool,
}

/// Credentials a device may present, and what they stand for.
#[derive(Clone)]
pub(crate) struct Candidate {
    pub(crate) username: String,
    pub(crate) password: String,
    pub(crate) kind: CandidateKind,
}

/// Which of a device's credentials a request used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CandidateKind {
    /// Derived from the ACS's secret and the username.
    Derived,
    /// The device's explicit credentials.
    Explicit,
    /// The old credentials of an adoption (a vendor's defaults).
    Old,
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
                user: None,
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

    /// The password derived for `username` from the configured secret.
    pub(crate) fn derived(&self, username: &str) -> String {
        derive_password(&self.secret, username)
    }

    /// The password a CPE with this username must use: its own stored one, or one derived from
    /// the configured secret.
    #[cfg(test)]
    pub(crate) fn password_for(&self, username: &str, stored: Option<&str>) -> String {
        match stored {
            Some(p) if !p.is_empty() => p.to_owned(),
            _ => derive_password(&self.secret, username),
        }
    }

    /// Checks a request's credentials. `allowed_usernames` are the names this device may use (so
    /// a CPE cannot inform as another device); `stored_password` is the device's own password if
    /// it has one.
    #[cfg(test)]
    pub(crate) fn verify(
        &self,
        now: Instant,
        req: AuthRequest<'_>,
        allowed_usernames: &[String],
        stored_password: Option<&str>,
    ) -> AuthOutcome {
        let candidates: Vec<Candidate> = allowed_usernames
            .iter()
            .map(|u| Candidate {
                username: u.clone(),
                password: self.password_for(u, stored_password),
                kind: CandidateKind::Derived,
            })
            .collect();
        self.verify_candidates(now, req, &candidates).0
    }

    /// Checks a request's credentials against the ones this device may use; on success, also
    /// says which kind of credentials it used.
    pub(crate) fn verify_candidates(
        &self,
        now: Instant,
        req: AuthRequest<'_>,
        candidates: &[Candidate],
    ) -> (AuthOutcome, Option<CandidateKind>) {
        let Some(header) = req.header else {
            return (AuthOutcome::Challenge, None);
        };
        let Ok(creds) = cwmp::auth::parse_authorization(header) else {
            return (AuthOutcome::Challenge, None);
        };
        match creds {
            Credentials::Basic { username, password } => {
                // Basic sends the password in clear text: only acceptable inside TLS.
                if !req.over_tls {
                    return (AuthOutcome::Challenge, None);
                }
                // Every candidate is compared, so the time taken does not say which matched.
                let mut found = None;
                for c in candidates.iter().filter(|c| c.username == username) {
                    if fibreplane_types::ct_eq(c.password.as_bytes(), password.as_bytes())
                        && found.is_none()
                    {
                        found = Some(c.kind);
                    }
                }
                match found {
                    Some(kind) => (AuthOutcome::Ok(username), Some(kind)),
                    None => (AuthOutcome::Denied, None),
                }
            }
            Credentials::Digest(resp) => {
                let mine: Vec<&Candidate> = candidates
                    .iter()
                    .filter(|c| c.username == resp.username)
                    .collect();
                if resp.realm != self.realm
                    || mine.is_empty()
                    || !same_target(&resp.uri, req.target)
                {
                    return (AuthOutcome::Denied, None);
                }
                let nc = nonce_count(resp.nc.as_deref());
                if !self.nonce_usable(now, &resp.nonce, nc, &resp.username) {
                    return (AuthOutcome::Stale, None);
                }
                let Some(kind) = mine
                    .iter()
                    .find(|c| cwmp::auth::verify_digest(&resp, req.method, &c.password))
                    .map(|c| c.kind)
                else {
                    return (AuthOutcome::Denied, None);
                };
                // Checked again under the lock: two connections racing with one answer get one
                // success between them.
                if self.spend_nonce(now, &resp.nonce, nc, &resp.username) {
                    (AuthOutcome::Ok(resp.username), Some(kind))
                } else {
                    (AuthOutcome::Stale, None)
                }
            }
        }
    }

    /// Checks a request's credentials against an authentication expression (GenieACS's
    /// `cwmp.auth`): `judge` evaluates it with a check of `AUTH(u, p)` against what the request
    /// presented, and the request is accepted when it says so. Basic counts only over TLS; a
    /// Digest answer must be for this realm and target, on a live nonce of ours at a new count,
    /// and spends that count only when an `AUTH()` call matched it. A request without usable
    /// credentials is accepted only when the expression is true without them. On refusal, the
    /// verdict's reason is returned for the log.
    pub(crate) fn verify_expression(
        &self,
        now: Instant,
        req: AuthRequest<'_>,
        judge: &Judge<'_>,
    ) -> (AuthOutcome, Option<String>) {
        let creds = req
            .header
            .and_then(|h| cwmp::auth::parse_authorization(h).ok())
            .filter(|c| req.over_tls || !matches!(c, Credentials::Basic { .. }));
        let refused = |outcome, verdict: Verdict| (outcome, Some(verdict.reason));
        match creds {
            None => {
                let verdict = judge(&|_, _| false);
                if verdict.accepted {
                    (AuthOutcome::Ok(String::new()), None)
                } else {
                    refused(AuthOutcome::Challenge, verdict)
                }
            }
            Some(Credentials::Basic { username, password }) => {
                let check = |u: &str, p: &str| {
                    // Both compared whatever the first gives, so timing says nothing.
                    let user = fibreplane_types::ct_eq(u.as_bytes(), username.as_bytes());
                    let pass = fibreplane_types::ct_eq(p.as_bytes(), password.as_bytes());
                    user & pass
                };
                let verdict = judge(&check);
                if verdict.accepted {
                    (AuthOutcome::Ok(username), None)
                } else {
                    refused(AuthOutcome::Denied, verdict)
                }
            }
            Some(Credentials::Digest(resp)) => {
                if resp.realm != self.realm || !same_target(&resp.uri, req.target) {
                    let verdict = Verdict {
                        accepted: false,
                        reason: "a Digest answer for another realm or URI".to_owned(),
                    };
                    return refused(AuthOutcome::Denied, verdict);
                }
                let nc = nonce_count(resp.nc.as_deref());
                if !self.nonce_usable(now, &resp.nonce, nc, &resp.username) {
                    return (AuthOutcome::Stale, None);
                }
                let matched = std::cell::Cell::new(false);
                let check = |u: &str, p: &str| {
                    let hit = u == resp.username && cwmp::auth::verify_digest(&resp, req.method, p);
                    matched.set(matched.get() | hit);
                    hit
                };
                let verdict = judge(&check);
                if !verdict.accepted {
                    return refused(AuthOutcome::Denied, verdict);
                }
                // Checked again under the lock, as for a device's own credentials.
                if matched.get() && !self.spend_nonce(now, &resp.nonce, nc, &resp.username) {
                    return (AuthOutcome::Stale, None);
                }
                (AuthOutcome::Ok(resp.username), None)
            }
        }
    }

    /// Whether `nonce` may still be answered with count `nc` by `user` (nothing changes).
    fn nonce_usable(&self, now: Instant, nonce: &str, nc: u32, user: &str) -> bool {
        let mut map = self.nonces.lock().unwrap_or_else(|e| e.into_inner());
        let Some(state) = map.get(nonce) else {
            return false;
        };
        if now.duration_since(state.created) > NONCE_LIFETIME {
            map.remove(nonce);
            return false;
        }
        nc > state.last_nc && state.user.as_deref().is_none_or(|u| u == user)
    }

    /// Records a correct answer: the nonce count is spent and the nonce belongs to `user` from
    /// now on. False if another answer spent it meanwhile.
    fn spend_nonce(&self, now: Instant, nonce: &str, nc: u32, user: &str) -> bool {
        let mut map = self.nonces.lock().unwrap_or_else(|e| e.into_inner());
        let Some(state) = map.get_mut(nonce) else {
            return false;
        };
        let fresh = now.duration_since(state.created) <= NONCE_LIFETIME;
        if !fresh || nc <= state.last_nc || state.user.as_deref().is_some_and(|u| u != user) {
            return false;
        }
        state.last_nc = nc;
        if state.user.is_none() {
            state.user = Some(user.to_owned());
        }
        // Without qop there is no nonce count: such a nonce is good for one use only.
        if nc == u32::MAX {
            map.remove(nonce);
        }
        true
    }
}

/// A Digest `nc` as a number; none (RFC 2069, no qop) or an unreadable one counts as the last,
/// so the nonce cannot be used again.
fn nonce_count(nc: Option<&str>) -> u32 {
    nc.and_then(|n| u32::from_str_radix(n, 16).ok())
        .unwrap_or(u32::MAX)
}

/// Whether a Digest `uri` names the request's target: the same path and query, or an absolute
/// URL (some CPEs send the whole URL they POST to) whose path and query are the target.
fn same_target(digest_uri: &str, target: &str) -> bool {
    if digest_uri == target {
        return true;
    }
    let Some((_, rest)) = digest_uri.split_once("://") else {
        return false;
    };
    let path = rest.find('/').map_or("/", |i| &rest[i..]);
    path == target
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
    use crate::genie::auth::Check;

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

    /// A POST to `/` with this `Authorization` header.
    fn post(header: &str, over_tls: bool) -> AuthRequest<'_> {
        AuthRequest {
            header: Some(header),
            method: "POST",
            target: "/",
            over_tls,
        }
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
            a.verify(now, post(&hdr, false), &users, None),
            AuthOutcome::Ok(user)
        );
        // The same nonce count again is a replay.
        assert_eq!(
            a.verify(now, post(&hdr, false), &users, None),
            AuthOutcome::Stale
        );
        let next = cwmp::auth::answer_digest(&ch, "POST", "/", &users[0], &pw, "abc", 2);
        assert!(matches!(
            a.verify(now, post(&next, false), &users, None),
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
            a.verify(now, post(&bad, false), &users, None),
            AuthOutcome::Denied
        );
        let pw = derive_password(&Secret::new("s3cret"), "OTHER");
        let other = cwmp::auth::answer_digest(&ch, "POST", "/", "OTHER", &pw, "x", 2);
        assert_eq!(
            a.verify(now, post(&other, false), &users, None),
            AuthOutcome::Denied
        );
        let pw = derive_password(&Secret::new("s3cret"), "A-B-C");
        let basic = cwmp::auth::basic_header("A-B-C", &pw);
        assert_eq!(
            a.verify(now, post(&basic, false), &users, None),
            AuthOutcome::Challenge
        );
        assert!(matches!(
            a.verify(now, post(&basic, true), &users, None),
            AuthOutcome::Ok(_)
        ));
    }

    /// The answer of `user` (with its derived password) to `ch` for `uri`, count `nc`.
    fn answer(ch: &DigestChallenge, method: &str, uri: &str, user: &str, nc: u32) -> String {
        let pw = derive_password(&Secret::new("s3cret"), user);
        cwmp::auth::answer_digest(ch, method, uri, user, &pw, "c0ffee", nc)
    }

    #[test]
    fn a_nonce_past_its_lifetime_is_stale() {
        let a = auth();
        let t0 = Instant::now();
        let users = vec!["A-B-C".to_owned()];
        let ch = nonce_of(&a.challenge(t0, false));
        let late = t0 + NONCE_LIFETIME + Duration::from_secs(1);
        let hdr = answer(&ch, "POST", "/", "A-B-C", 1);
        assert_eq!(
            a.verify(late, post(&hdr, false), &users, None),
            AuthOutcome::Stale
        );
        // Forgotten, not just refused: the same answer within the lifetime is unknown now too.
        assert_eq!(
            a.verify(t0, post(&hdr, false), &users, None),
            AuthOutcome::Stale
        );
    }

    #[test]
    fn nonce_counts_only_go_forward_and_only_correct_answers_spend_them() {
        let a = auth();
        let now = Instant::now();
        let users = vec!["A-B-C".to_owned()];
        let ch = nonce_of(&a.challenge(now, false));
        // A forged answer with a high count is refused and does not spend the count.
        let pw = "wrong";
        let forged = cwmp::auth::answer_digest(&ch, "POST", "/", "A-B-C", pw, "x", 9);
        assert_eq!(
            a.verify(now, post(&forged, false), &users, None),
            AuthOutcome::Denied
        );
        let five = answer(&ch, "POST", "/", "A-B-C", 5);
        assert!(matches!(
            a.verify(now, post(&five, false), &users, None),
            AuthOutcome::Ok(_)
        ));
        for nc in [5, 4, 1] {
            let back = answer(&ch, "POST", "/", "A-B-C", nc);
            assert_eq!(
                a.verify(now, post(&back, false), &users, None),
                AuthOutcome::Stale,
                "nc {nc} after 5"
            );
        }
    }

    #[test]
    fn an_answer_for_another_uri_or_method_is_refused() {
        let a = auth();
        let now = Instant::now();
        let users = vec!["A-B-C".to_owned()];
        let ch = nonce_of(&a.challenge(now, false));
        let other_uri = answer(&ch, "POST", "/other", "A-B-C", 1);
        assert_eq!(
            a.verify(now, post(&other_uri, false), &users, None),
            AuthOutcome::Denied
        );
        let get = answer(&ch, "GET", "/", "A-B-C", 2);
        assert_eq!(
            a.verify(now, post(&get, false), &users, None),
            AuthOutcome::Denied
        );
        // The absolute URL of the same target is the same target.
        let absolute = answer(&ch, "POST", "http://acs.example:7547/", "A-B-C", 3);
        assert!(matches!(
            a.verify(now, post(&absolute, false), &users, None),
            AuthOutcome::Ok(_)
        ));
        assert!(!same_target("http://acs.example:7547/x", "/"));
        assert!(!same_target("/x", "/"));
        assert!(same_target("https://acs.example", "/"));
    }

    #[test]
    fn a_nonce_one_device_used_is_not_good_for_another() {
        let a = auth();
        let now = Instant::now();
        let ch = nonce_of(&a.challenge(now, false));
        let first = answer(&ch, "POST", "/", "A-B-ONE", 1);
        assert!(matches!(
            a.verify(now, post(&first, false), &["A-B-ONE".to_owned()], None),
            AuthOutcome::Ok(_)
        ));
        // Device TWO answers with its own correct password, but on ONE's nonce.
        let second = answer(&ch, "POST", "/", "A-B-TWO", 2);
        assert_eq!(
            a.verify(now, post(&second, false), &["A-B-TWO".to_owned()], None),
            AuthOutcome::Stale
        );
        let again = answer(&ch, "POST", "/", "A-B-ONE", 3);
        assert!(matches!(
            a.verify(now, post(&again, false), &["A-B-ONE".to_owned()], None),
            AuthOutcome::Ok(_)
        ));
    }

    /// A judge for `AUTH('genie', 'pw') OR <anonymous>`, as `genie::auth::judge` would give.
    fn judge_genie(anonymous: bool) -> impl Fn(&Check<'_>) -> Verdict {
        move |check: &Check<'_>| {
            let accepted = check("genie", "pw") || anonymous;
            Verdict {
                accepted,
                reason: if accepted { String::new() } else { "no".into() },
            }
        }
    }

    #[test]
    fn an_expression_decides_basic_over_tls_and_digest_on_our_nonces() {
        let a = auth();
        let now = Instant::now();
        let judge = judge_genie(false);
        let basic = cwmp::auth::basic_header("genie", "pw");
        assert_eq!(
            a.verify_expression(now, post(&basic, true), &judge).0,
            AuthOutcome::Ok("genie".into())
        );
        // Basic in clear text is no credentials at all.
        let (outcome, why) = a.verify_expression(now, post(&basic, false), &judge);
        assert_eq!(
            (outcome, why.as_deref()),
            (AuthOutcome::Challenge, Some("no"))
        );
        let wrong = cwmp::auth::basic_header("genie", "nope");
        assert_eq!(
            a.verify_expression(now, post(&wrong, true), &judge).0,
            AuthOutcome::Denied
        );
        let ch = nonce_of(&a.challenge(now, false));
        let good = cwmp::auth::answer_digest(&ch, "POST", "/", "genie", "pw", "c", 1);
        assert_eq!(
            a.verify_expression(now, post(&good, false), &judge).0,
            AuthOutcome::Ok("genie".into())
        );
        // The same answer again is a replay; a higher count is fine.
        assert_eq!(
            a.verify_expression(now, post(&good, false), &judge).0,
            AuthOutcome::Stale
        );
        let next = cwmp::auth::answer_digest(&ch, "POST", "/", "genie", "pw", "c", 2);
        assert!(matches!(
            a.verify_expression(now, post(&next, false), &judge).0,
            AuthOutcome::Ok(_)
        ));
        let bad = cwmp::auth::answer_digest(&ch, "POST", "/", "genie", "nope", "c", 3);
        assert_eq!(
            a.verify_expression(now, post(&bad, false), &judge).0,
            AuthOutcome::Denied
        );
        // A nonce this ACS never issued.
        let mut forged = ch.clone();
        forged.nonce = "00".repeat(16);
        let forged = cwmp::auth::answer_digest(&forged, "POST", "/", "genie", "pw", "c", 1);
        assert_eq!(
            a.verify_expression(now, post(&forged, false), &judge).0,
            AuthOutcome::Stale
        );
        // Without credentials: only an expression true without them admits.
        let none = AuthRequest {
            header: None,
            method: "POST",
            target: "/",
            over_tls: false,
        };
        assert_eq!(
            a.verify_expression(now, none, &judge).0,
            AuthOutcome::Challenge
        );
        assert!(matches!(
            a.verify_expression(now, none, &judge_genie(true)).0,
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
