//! The modem's one web session, as one read sees it. A read marks the session open when its login
//! succeeds and closed when its logout does; the mark outlives a read that is cancelled (the read
//! budget expired) or whose browser died, so the bridge knows when it left a session behind.
//!
//! A session left behind locks everyone out of the modem's web UI until the modem's idle expiry
//! (five minutes on the XX230v). The bridge would rather not wait that long, but it must never
//! kick out a technician or the customer either: so only the read that follows a session *the
//! bridge itself* left open, within the idle window, may answer the "another user is logged in"
//! prompt with a takeover. Any other read treats that prompt as [`crate::BridgeError::Busy`].

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};

use tracing::warn;

use crate::BridgeError;

/// One read's view of the modem's web session.
#[derive(Debug, Default)]
pub struct WebSession {
    open: AtomicBool,
    takeover: bool,
    took_over: AtomicBool,
}

impl WebSession {
    /// A read that may (`takeover`) or may not log in over an open session.
    pub fn new(takeover: bool) -> Self {
        Self {
            open: AtomicBool::new(false),
            takeover,
            took_over: AtomicBool::new(false),
        }
    }

    /// Whether this read may log in over an open session (the bridge's own, left by a failed
    /// read).
    pub fn may_take_over(&self) -> bool {
        self.takeover
    }

    /// The login answers the prompt of `modem` with a takeover.
    pub(crate) fn taking_over(&self, modem: SocketAddr) {
        warn!(%modem, "taking over the web session a failed read left open");
        self.took_over.store(true, Ordering::Release);
    }

    /// The login failed with `e`: a refusal by the modem opened no session; anything else may
    /// have.
    pub(crate) fn login_failed(&self, e: &BridgeError) {
        if e.is_login_refusal() {
            self.closed();
        }
    }

    /// Whether the read took an open session over.
    pub fn took_over(&self) -> bool {
        self.took_over.load(Ordering::Acquire)
    }

    /// The login succeeded.
    pub(crate) fn opened(&self) {
        self.open.store(true, Ordering::Release);
    }

    /// The logout succeeded.
    pub(crate) fn closed(&self) {
        self.open.store(false, Ordering::Release);
    }

    /// Whether the read ended with its session still open on the modem.
    pub fn left_open(&self) -> bool {
        self.open.load(Ordering::Acquire)
    }
}
