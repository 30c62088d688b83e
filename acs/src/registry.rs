//! Live sessions, found by cookie and by device, so that a CPE can resume its session on a new
//! TCP connection and so that a device never has two sessions at once.

use crate::session::Session;
use acs_store::DeviceId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A session shared between the connection that runs it and the registry.
pub(crate) type SharedSession = Arc<tokio::sync::Mutex<Session>>;

struct Entry {
    session: SharedSession,
    device: DeviceId,
    /// The owner id of the device's lease in the store.
    lease: u64,
}

#[derive(Default)]
struct Inner {
    by_cookie: HashMap<String, Entry>,
    by_device: HashMap<DeviceId, String>,
}

/// The session table.
#[derive(Default)]
pub(crate) struct Registry {
    inner: Mutex<Inner>,
}

/// Why a new session could not be registered.
pub(crate) enum Refused {
    /// The device already has a live session.
    Busy,
    /// The session cap is reached.
    Full,
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().by_cookie.len()
    }

    /// Whether `device` has a live session.
    pub(crate) fn has_device(&self, device: &DeviceId) -> bool {
        self.lock().by_device.contains_key(device)
    }

    /// Checks that a session for `device` could start now, without registering it.
    pub(crate) fn admit(&self, device: &DeviceId, cap: usize) -> Result<(), Refused> {
        let inner = self.lock();
        if inner.by_device.contains_key(device) {
            Err(Refused::Busy)
        } else if inner.by_cookie.len() >= cap {
            Err(Refused::Full)
        } else {
            Ok(())
        }
    }

    /// Registers a session; fails if the device got one meanwhile.
    pub(crate) fn insert(
        &self,
        cookie: String,
        device: DeviceId,
        lease: u64,
        session: SharedSession,
    ) -> Result<(), Refused> {
        let mut inner = self.lock();
        if inner.by_device.contains_key(&device) {
            return Err(Refused::Busy);
        }
        inner.by_device.insert(device.clone(), cookie.clone());
        inner.by_cookie.insert(
            cookie,
            Entry {
                session,
                device,
                lease,
            },
        );
        Ok(())
    }

    /// The live session of `device` on this node, with its cookie.
    pub(crate) fn of_device(&self, device: &DeviceId) -> Option<(String, SharedSession)> {
        let inner = self.lock();
        let cookie = inner.by_device.get(device)?;
        let entry = inner.by_cookie.get(cookie)?;
        Some((cookie.clone(), entry.session.clone()))
    }

    pub(crate) fn get(&self, cookie: &str) -> Option<SharedSession> {
        self.lock().by_cookie.get(cookie).map(|e| e.session.clone())
    }

    /// Removes a session (ended, failed or expired); returns its device and lease owner.
    pub(crate) fn remove(&self, cookie: &str) -> Option<(DeviceId, u64)> {
        let mut inner = self.lock();
        let e = inner.by_cookie.remove(cookie)?;
        if inner.by_device.get(&e.device).map(String::as_str) == Some(cookie) {
            inner.by_device.remove(&e.device);
        }
        Some((e.device, e.lease))
    }

    /// Removes the sessions `dead` says are over (it may end them: an expired session is
    /// ended by its own timeout handling). Sessions busy handling a request are skipped: they
    /// are looked at again on the next sweep.
    /// Returns the devices and lease owners of the sessions removed.
    pub(crate) fn sweep(&self, mut dead: impl FnMut(&mut Session) -> bool) -> Vec<(DeviceId, u64)> {
        let mut inner = self.lock();
        let mut gone = Vec::new();
        inner.by_cookie.retain(|cookie, e| {
            let over = e
                .session
                .try_lock()
                .map(|mut s| dead(&mut s))
                .unwrap_or(false);
            if over {
                gone.push((e.device.clone(), cookie.clone(), e.lease));
            }
            !over
        });
        let mut out = Vec::with_capacity(gone.len());
        for (device, cookie, lease) in gone {
            if inner.by_device.get(&device) == Some(&cookie) {
                inner.by_device.remove(&device);
            }
            out.push((device, lease));
        }
        out
    }
}
