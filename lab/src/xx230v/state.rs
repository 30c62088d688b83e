//! The emulated firmware's login rules, as a pure state machine driven by `now`: one web session
//! at a time, a failed-login counter, a lock-out, idle expiry.

use std::time::{Duration, Instant};

use super::crypto::ClientKey;

/// `$.ret` of the "another user is logged in" refusal (the bridge knows the same code).
pub(crate) const RET_OTHER_USER: u32 = 71239;

/// Login limits.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Failed logins before the lock-out (the firmware shows `currAuthTimes … /5`).
    pub max_failures: u32,
    /// How long logins are refused after `max_failures`.
    pub lockout: Duration,
    /// Idle time after which a session ends by itself.
    pub idle: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_failures: 5,
            lockout: Duration::from_secs(60),
            idle: Duration::from_secs(300),
        }
    }
}

/// The current web session.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub(crate) cookie: String,
    pub(crate) token: String,
    pub(crate) key: ClientKey,
    last: Instant,
}

/// What a login attempt earned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LoginOutcome {
    /// Logged in; the cookie to set.
    Ok(String),
    /// Wrong credentials; failures so far and lock-out seconds (0 unless this locked it).
    BadPassword { times: u32, forbid: u64 },
    /// Still locked out.
    Locked { times: u32, forbid: u64 },
    /// Someone else holds the session and the client did not ask to take it over.
    OtherUser,
}

/// The login bookkeeping of one emulated modem.
#[derive(Debug)]
pub(crate) struct Logins {
    limits: Limits,
    failures: u32,
    locked_until: Option<Instant>,
    current: Option<Session>,
}

impl Logins {
    pub(crate) fn new(limits: Limits) -> Self {
        Self {
            limits,
            failures: 0,
            locked_until: None,
            current: None,
        }
    }

    /// Applies a login whose credentials were (`good`) or were not correct. `force` is the
    /// "log the other user out" confirmation; `cookie` the client's current session cookie.
    pub(crate) fn login(
        &mut self,
        now: Instant,
        good: bool,
        force: bool,
        cookie: Option<&str>,
        key: ClientKey,
        fresh_ids: (String, String),
    ) -> LoginOutcome {
        self.expire(now);
        if let Some(until) = self.locked_until {
            if until > now {
                let forbid = (until - now).as_secs().max(1);
                return LoginOutcome::Locked {
                    times: self.failures,
                    forbid,
                };
            }
            self.locked_until = None;
            self.failures = 0;
        }
        if !good {
            self.failures += 1;
            let mut forbid = 0;
            if self.failures >= self.limits.max_failures {
                self.locked_until = Some(now + self.limits.lockout);
                forbid = self.limits.lockout.as_secs();
            }
            return LoginOutcome::BadPassword {
                times: self.failures,
                forbid,
            };
        }
        self.failures = 0;
        let same_client = matches!((&self.current, cookie), (Some(s), Some(c)) if s.cookie == c);
        if self.current.is_some() && !same_client && !force {
            return LoginOutcome::OtherUser;
        }
        let (cookie, token) = fresh_ids;
        self.current = Some(Session {
            cookie: cookie.clone(),
            token,
            key,
            last: now,
        });
        LoginOutcome::Ok(cookie)
    }

    /// The live session the cookie names, touched.
    pub(crate) fn session(&mut self, now: Instant, cookie: Option<&str>) -> Option<&Session> {
        self.expire(now);
        let s = self
            .current
            .as_mut()
            .filter(|s| Some(s.cookie.as_str()) == cookie)?;
        s.last = now;
        Some(s)
    }

    /// Ends the session the cookie names.
    pub(crate) fn logout(&mut self, cookie: &str) {
        if self.current.as_ref().is_some_and(|s| s.cookie == cookie) {
            self.current = None;
        }
    }

    /// Whether someone is logged in.
    #[cfg(test)]
    pub(crate) fn active(&mut self, now: Instant) -> bool {
        self.expire(now);
        self.current.is_some()
    }

    fn expire(&mut self, now: Instant) {
        if self
            .current
            .as_ref()
            .is_some_and(|s| now.duration_since(s.last) >= self.limits.idle)
        {
            self.current = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xx230v::crypto::{ClientKey, SimCipher};

    fn key() -> ClientKey {
        ClientKey::from_sign(SimCipher::Cbc, "1234567890123456", "1234567890123456").unwrap()
    }

    fn ids(n: u32) -> (String, String) {
        (format!("c{n}"), format!("t{n}"))
    }

    #[test]
    fn one_session_at_a_time_unless_forced() {
        let t0 = Instant::now();
        let mut l = Logins::new(Limits::default());
        assert_eq!(
            l.login(t0, true, false, None, key(), ids(1)),
            LoginOutcome::Ok("c1".into())
        );
        assert_eq!(
            l.login(t0, true, false, None, key(), ids(2)),
            LoginOutcome::OtherUser
        );
        // The holder itself may log in again.
        assert_eq!(
            l.login(t0, true, false, Some("c1"), key(), ids(3)),
            LoginOutcome::Ok("c3".into())
        );
        assert_eq!(
            l.login(t0, true, true, None, key(), ids(4)),
            LoginOutcome::Ok("c4".into())
        );
        assert!(l.session(t0, Some("c3")).is_none());
        l.logout("c4");
        assert!(!l.active(t0));
    }

    #[test]
    fn failures_lock_out_and_the_lock_expires() {
        let t0 = Instant::now();
        let limits = Limits {
            max_failures: 3,
            lockout: Duration::from_secs(30),
            idle: Duration::from_secs(60),
        };
        let mut l = Logins::new(limits);
        for i in 1..3 {
            assert_eq!(
                l.login(t0, false, false, None, key(), ids(0)),
                LoginOutcome::BadPassword {
                    times: i,
                    forbid: 0
                }
            );
        }
        assert_eq!(
            l.login(t0, false, false, None, key(), ids(0)),
            LoginOutcome::BadPassword {
                times: 3,
                forbid: 30
            }
        );
        // Even the right password is refused while locked.
        assert!(matches!(
            l.login(t0, true, false, None, key(), ids(1)),
            LoginOutcome::Locked { .. }
        ));
        let later = t0 + Duration::from_secs(31);
        assert_eq!(
            l.login(later, true, false, None, key(), ids(1)),
            LoginOutcome::Ok("c1".into())
        );
    }

    #[test]
    fn idle_sessions_expire() {
        let t0 = Instant::now();
        let mut l = Logins::new(Limits::default());
        l.login(t0, true, false, None, key(), ids(1));
        assert!(
            l.session(t0 + Duration::from_secs(10), Some("c1"))
                .is_some()
        );
        assert!(
            l.session(t0 + Duration::from_secs(400), Some("c1"))
                .is_none()
        );
    }
}
