//! Inform registration: what an accepted Inform writes (through `inform.rs`'s pure fold, with
//! compare-and-swap retries), and the session it opens with its first jobs.
//!
//! The server authenticates and admits the CPE; this module turns its Inform into a durable
//! device record and a [`Session`] ready for the CPE's next POST.

use crate::inform::{self, InformUpdate};
use crate::jobs::Job;
use crate::session::Session;
use crate::{Acs, AcsError};
use acs_store::{DeviceId, DeviceMeta, Outcome, Versioned};
use cwmp::AcsSession;

/// A registered Inform: its session, and whether the device is new.
pub(crate) struct Registered {
    /// The session, its Inform accepted; the caller sends `reply`.
    pub(crate) session: Session,
    /// The InformResponse.
    pub(crate) reply: cwmp::Envelope,
    /// Whether the device was unknown before.
    pub(crate) new_device: bool,
}

/// Records the Inform `machine` has received and opens its session. `previous` is the device's
/// record as read before authentication; `events` are the Inform's codes for presets (empty
/// when no preset can apply).
#[expect(
    clippy::too_many_arguments,
    reason = "each is one fact of the admitted Inform"
)]
pub(crate) async fn register(
    acs: &Acs,
    device: &DeviceId,
    previous: Option<Versioned<DeviceMeta>>,
    mut machine: AcsSession,
    now: std::time::Instant,
    events: Vec<String>,
    presets: Option<std::sync::Arc<crate::presets::PresetSet>>,
    lease: u64,
) -> Result<Registered, AcsError> {
    let Some(inform) = machine.inform() else {
        return Err(AcsError::Conflict("no Inform to register"));
    };
    let bootstrap = inform.has_event(inform::BOOTSTRAP);
    let (update, revision) = write_inform(acs, device, previous, inform).await?;
    let mut first_jobs = first_jobs(acs, device, &update);
    if let Some(job) = discovery(acs, device, &update, bootstrap).await? {
        first_jobs.push(job);
    }
    let reply = machine.accept_inform(now);
    let new_device = update.new_device;
    let session = Session::new(
        device.clone(),
        machine,
        update.meta,
        revision,
        first_jobs,
        events,
        presets,
        acs.session_policy.clone(),
        lease,
        now,
    );
    Ok(Registered {
        session,
        reply,
        new_device,
    })
}

/// What the session does first: give the CPE connection-request credentials the ACS knows.
fn first_jobs(acs: &Acs, device: &DeviceId, update: &InformUpdate) -> Vec<Job> {
    let mut jobs = Vec::new();
    let root = root_of(&update.meta);
    if acs.config.manage_cr_credentials && update.meta.cr_password.is_empty() {
        let username = device.as_str().to_owned();
        let password = hex::encode(rand::random::<[u8; 12]>());
        jobs.push(Job::cr_credentials(root, username, password));
    }
    jobs
}

/// Whether the session learns the device's whole tree, and how (`discovery.rs`): a new or
/// bootstrapped device is discovered, and so is one whose last attempt never finished (it went
/// silent, dropped the connection or restarted mid-discovery) — that attempt counts as a
/// failure of its mode. The unfinished attempt is one small inline read per Inform.
async fn discovery(
    acs: &Acs,
    device: &DeviceId,
    update: &InformUpdate,
    bootstrap: bool,
) -> Result<Option<Job>, AcsError> {
    use crate::discovery::{self, Decision};
    if !acs.config.refresh_on_bootstrap {
        return Ok(None);
    }
    let unfinished = acs
        .store
        .doc(discovery::ATTEMPTS, device.as_str())
        .await?
        .and_then(|b| discovery::parse_attempt(&b));
    if unfinished.is_none() && !(update.new_device || bootstrap) {
        return Ok(None);
    }
    let faulted = acs
        .store
        .faults(Some(device))
        .await?
        .iter()
        .any(|f| f.channel == discovery::CHANNEL);
    let key = discovery::profile_key(&update.meta);
    let profile = acs
        .store
        .doc(discovery::PROFILES, &key)
        .await?
        .and_then(|b| discovery::parse_profile(&b));
    let now_ms = acs.clock_ms();
    let root = root_of(&update.meta);
    match discovery::decide(
        device,
        &update.meta,
        root,
        faulted,
        profile,
        unfinished,
        now_ms,
    ) {
        Decision::Skip => Ok(None),
        Decision::GiveUp(ops) => {
            acs.writer.apply(ops).await?;
            Ok(None)
        }
        Decision::Discover(walker) => Ok(Some(Job::discover(walker))),
    }
}

fn root_of(meta: &DeviceMeta) -> &str {
    if meta.root.is_empty() {
        "Device"
    } else {
        &meta.root
    }
}

/// Writes the Inform's effects durably, retrying on a concurrent update of the record.
async fn write_inform(
    acs: &Acs,
    device: &DeviceId,
    mut previous: Option<Versioned<DeviceMeta>>,
    inform: &cwmp::Inform,
) -> Result<(InformUpdate, u64), AcsError> {
    for _ in 0..3 {
        let prev = previous.take().map(|v| (v.value, v.revision));
        let prev_revision = prev.as_ref().map(|p| p.1);
        let mut update = inform::apply_inform(device, prev, inform, acs.clock_ms());
        if let (true, Some(revision)) = (update.bookkeeping_only, prev_revision) {
            // Only the last-inform time changed: written behind (see `bookkeeping.rs`).
            acs.inform_log.note(device, update.meta.last_inform_ms);
            return Ok((update, revision));
        }
        let outcomes = acs.writer.apply(std::mem::take(&mut update.ops)).await?;
        let conflict = outcomes
            .iter()
            .any(|o| matches!(o, Outcome::Conflict { .. }));
        if !conflict {
            let revision = outcomes
                .iter()
                .find_map(|o| match o {
                    Outcome::Done {
                        revision: Some(r), ..
                    } => Some(*r),
                    _ => None,
                })
                .unwrap_or(1);
            return Ok((update, revision));
        }
        previous = acs.store.get(device).await?;
    }
    Err(AcsError::Conflict("device record kept changing"))
}
