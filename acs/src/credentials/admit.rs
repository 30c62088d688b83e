//! A session's first request judged against the device's credential state: which credentials
//! it may use, whether it is an adopting session, and the confirming connection request after
//! an adopting session re-keyed the CPE.

use super::{AdoptReason, Adoption, BY_SERIAL, COLLECTION, CredentialRecord, Refusal, canonical};
use crate::cpe_auth::{AuthOutcome, AuthRequest, Candidate, CandidateKind, usernames_for};
use crate::{Acs, DeviceEvent};
use acs_store::{DeviceId, DeviceMeta, Op};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

/// What the server knows of a session's first request.
pub(crate) struct Attempt<'a> {
    /// The Inform's device identity.
    pub(crate) identity: &'a cwmp::DeviceIdStruct,
    /// The Inform's events (`Events.*` in `cwmp.auth`).
    pub(crate) events: &'a [cwmp::EventStruct],
    /// Its device id.
    pub(crate) device: &'a DeviceId,
    /// The device's record, when the device is known.
    pub(crate) known: Option<&'a DeviceMeta>,
    /// The request line and headers that authentication looks at.
    pub(crate) request: AuthRequest<'a>,
    /// The connection's source address.
    pub(crate) source: Option<IpAddr>,
    /// Whether the Inform carries `0 BOOTSTRAP`.
    pub(crate) bootstrap: bool,
    pub(crate) now: Instant,
}

/// An admitted session.
pub(crate) enum Admission {
    /// An ordinary session.
    Normal,
    /// An adopting session: it sets these credentials on the CPE and does nothing else; `record`
    /// marks the device re-keyed once the CPE accepted them.
    Adopting {
        username: String,
        password: String,
        record: super::RecordWrite,
    },
}

/// A first request that is not admitted.
pub(crate) enum Denial {
    /// Challenge (again) with this outcome.
    Challenge(AuthOutcome),
    /// An adopting device's session from where it may not come: refused, and an alert raised.
    Refused,
    /// The store failed.
    Unavailable,
}

/// Where a device's credential record came from.
enum Found {
    /// No record: derived credentials.
    None,
    /// The device's own record.
    Device(CredentialRecord),
    /// An adoption named by the device's serial, not yet the device's own.
    Serial(Adoption),
}

/// Authenticates a session's first request (see the module docs of `credentials`).
pub(crate) async fn authenticate(acs: &Acs, a: Attempt<'_>) -> Result<Admission, Denial> {
    let found = load(acs, &a).await.map_err(|e| {
        tracing::error!(device = %a.device, error = %e, "could not read credentials");
        Denial::Unavailable
    })?;
    let adoption = match &found {
        Found::Device(CredentialRecord::Adopting(ad)) | Found::Serial(ad) => Some(ad.clone()),
        _ => None,
    };
    let mut candidates = Vec::new();
    if let Found::Device(CredentialRecord::Explicit { username, password }) = &found {
        candidates.push(Candidate {
            username: username.clone(),
            password: password.expose().to_owned(),
            kind: CandidateKind::Explicit,
        });
    } else {
        for username in usernames_for(a.identity) {
            let password = acs.auth.derived(&username);
            candidates.push(Candidate {
                username,
                password,
                kind: CandidateKind::Derived,
            });
        }
    }
    // A known device back with `0 BOOTSTRAP` may present its vendor's defaults: it was
    // factory-reset, and is adopted again.
    let factory = match (&adoption, a.known) {
        (None, Some(meta)) if a.bootstrap => acs.vendor_default(a.identity).map(|v| (v, meta)),
        _ => None,
    };
    let old = adoption
        .as_ref()
        .and_then(Adoption::old)
        .map(|(u, p)| (u.to_owned(), p.to_owned()))
        .or_else(|| {
            factory
                .as_ref()
                .map(|(v, _)| (v.username.clone(), v.password.expose().to_owned()))
        });
    if let Some((username, password)) = &old {
        candidates.push(Candidate {
            username: username.clone(),
            password: password.clone(),
            kind: CandidateKind::Old,
        });
    }
    let (outcome, kind) = acs.auth.verify_candidates(a.now, a.request, &candidates);
    match (outcome, kind) {
        (AuthOutcome::Ok(_), Some(CandidateKind::Derived)) => {
            if matches!(found, Found::Device(CredentialRecord::Adopting(_))) {
                complete(acs, a.device).await?;
            }
            Ok(Admission::Normal)
        }
        (AuthOutcome::Ok(_), Some(CandidateKind::Explicit)) => Ok(Admission::Normal),
        (AuthOutcome::Ok(_), _) => {
            // The old credentials verified: an adoption, existing or begun now.
            let (ad, fresh) = match (adoption, factory) {
                (Some(ad), _) => (ad, matches!(found, Found::Serial(_))),
                (None, Some((v, meta))) => {
                    let bound = super::manage::bound_of(meta, &[]);
                    let ad = Adoption::new(
                        AdoptReason::FactoryReset,
                        acs.clock_ms(),
                        bound,
                        meta.connection_request_url.clone(),
                    )
                    .with_old(v.username.clone(), v.password.expose().to_owned())
                    .with_known_cr(&meta.cr_username, &meta.cr_password);
                    (ad, true)
                }
                (None, None) => return Err(Denial::Challenge(AuthOutcome::Denied)),
            };
            begin(acs, &a, ad, fresh).await
        }
        (AuthOutcome::Stale, _) => Err(Denial::Challenge(AuthOutcome::Stale)),
        (outcome, _) => {
            // No verified credentials. An adoption whose old credentials are unknown is the
            // way in, except that a re-keyed CPE is first challenged (it should answer with the
            // new credentials) and only its wrong answer falls back to the adoption.
            let unverified = adoption.filter(|ad| {
                ad.old().is_none() && (ad.rekeyed_ms.is_none() || a.request.header.is_some())
            });
            match unverified {
                Some(ad) => {
                    let fresh = matches!(found, Found::Serial(_));
                    begin(acs, &a, ad, fresh).await
                }
                // A device without a record: GenieACS's `cwmp.auth`, when imported, is the
                // other way in (`expr.rs`).
                None if matches!(found, Found::None) && acs.expression_decides() => acs
                    .admit_by_expression(&a, outcome)
                    .await
                    .map(|()| Admission::Normal),
                None => Err(Denial::Challenge(outcome)),
            }
        }
    }
}

/// Reads the device's credential record, or an adoption named by its serial when the device
/// is not in the store.
async fn load(acs: &Acs, a: &Attempt<'_>) -> Result<Found, acs_store::StoreError> {
    if let Some(bytes) = acs.store.doc(COLLECTION, a.device.as_str()).await? {
        return Ok(
            CredentialRecord::decode(a.device.as_str(), &bytes).map_or(Found::None, Found::Device)
        );
    }
    if a.known.is_some() || !acs.adoption_open() {
        return Ok(Found::None);
    }
    let serial = &a.identity.serial_number;
    Ok(match acs.store.doc(BY_SERIAL, serial).await? {
        Some(bytes) => match CredentialRecord::decode(serial, &bytes) {
            Some(CredentialRecord::Adopting(ad)) => Found::Serial(ad),
            _ => Found::None,
        },
        None => Found::None,
    })
}

/// Admits an adopting session if the adoption allows this one; `fresh` when the adoption is
/// not yet the device's own record (named by serial, or a factory reset seen now).
async fn begin(acs: &Acs, a: &Attempt<'_>, ad: Adoption, fresh: bool) -> Result<Admission, Denial> {
    let now_ms = acs.clock_ms();
    let source = a.source.map(canonical);
    let allowed = match source {
        Some(ip) => ad.admits(ip, now_ms, acs.adoption_window_ms()),
        None => Err(Refusal::Elsewhere),
    };
    if let Err(refusal) = allowed {
        return Err(refuse(acs, a, source, refusal));
    }
    if fresh {
        let mut ops = vec![Op::PutDoc {
            collection: COLLECTION.to_owned(),
            name: a.device.as_str().to_owned(),
            body: CredentialRecord::Adopting(ad.clone()).encode(),
        }];
        if ad.reason != AdoptReason::FactoryReset {
            ops.push(Op::DeleteDoc {
                collection: BY_SERIAL.to_owned(),
                name: a.identity.serial_number.clone(),
            });
        }
        acs.writer.apply(ops).await.map_err(|e| {
            tracing::error!(device = %a.device, error = %e, "could not record the adoption");
            Denial::Unavailable
        })?;
        if ad.reason == AdoptReason::FactoryReset {
            acs.metrics.adopting.inc();
        }
    }
    acs.metrics.adoption_sessions.inc();
    tracing::info!(device = %a.device, reason = ?ad.reason, "adopting session: the CPE gets its derived credentials and nothing else");
    let username = usernames_for(a.identity)
        .into_iter()
        .next()
        .unwrap_or_else(|| a.device.as_str().to_owned());
    let password = acs.auth.derived(&username);
    let mut rekeyed = ad;
    rekeyed.rekeyed_ms = Some(now_ms);
    Ok(Admission::Adopting {
        username,
        password,
        record: super::RecordWrite {
            device: a.device.as_str().to_owned(),
            body: CredentialRecord::Adopting(rekeyed).encode(),
        },
    })
}

/// Refuses an adopting device's session and raises the alert: a log line, a counter and a
/// [`DeviceEvent::CredentialsRefused`].
fn refuse(acs: &Acs, a: &Attempt<'_>, source: Option<IpAddr>, refusal: Refusal) -> Denial {
    let address = source.map(|ip| ip.to_string()).unwrap_or_default();
    match refusal {
        Refusal::Elsewhere => acs.metrics.adoption_refused.inc(),
        Refusal::Expired => acs.metrics.adoption_expired.inc(),
    }
    tracing::warn!(device = %a.device, %address, reason = refusal.as_str(), "adopting device refused");
    acs.publish(DeviceEvent::CredentialsRefused {
        device: a.device.clone(),
        address,
        reason: refusal.as_str().to_owned(),
    });
    match refusal {
        Refusal::Elsewhere => Denial::Refused,
        // Past its window the device is an ordinary one: it must authenticate.
        Refusal::Expired => Denial::Challenge(AuthOutcome::Denied),
    }
}

/// The device authenticated with its derived credentials: the adoption is over.
async fn complete(acs: &Acs, device: &DeviceId) -> Result<(), Denial> {
    acs.writer
        .apply(vec![Op::DeleteDoc {
            collection: COLLECTION.to_owned(),
            name: device.as_str().to_owned(),
        }])
        .await
        .map_err(|e| {
            tracing::error!(%device, error = %e, "could not close the adoption");
            Denial::Unavailable
        })?;
    acs.metrics.adoptions_completed.inc();
    // The gauge may lag (another node, an adoption past its window): it never goes below zero,
    // and the minutely count puts it right.
    if acs.metrics.adopting.get() > 0 {
        acs.metrics.adopting.dec();
    }
    tracing::info!(%device, "adopted: the CPE authenticated with its derived credentials");
    Ok(())
}

/// After an adopting session: if it re-keyed the CPE, announces it and sends a connection
/// request to the URL known before the adoption, so the device at the known address proves it
/// holds the new credentials in a session of its own.
pub(crate) async fn confirm(acs: Arc<Acs>, device: DeviceId) {
    let record = match acs.store.doc(COLLECTION, device.as_str()).await {
        Ok(Some(bytes)) => CredentialRecord::decode(device.as_str(), &bytes),
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(%device, error = %e, "could not read credentials after re-keying");
            None
        }
    };
    let Some(CredentialRecord::Adopting(ad)) = record else {
        return;
    };
    if ad.rekeyed_ms.is_none() {
        return;
    }
    acs.metrics.adoptions_rekeyed.inc();
    acs.publish(DeviceEvent::Rekeyed {
        device: device.clone(),
    });
    let (user, pass) = ad.known_cr();
    if ad.known_cr_url.is_empty() {
        return;
    }
    acs.metrics.adoption_confirmations.inc();
    // The CPE may still be closing the session this follows (many refuse a connection request
    // meanwhile): a refused request is tried again, a few times, a second apart.
    for attempt in 1..=CONFIRM_ATTEMPTS {
        acs.metrics.connection_requests.inc();
        match acs
            .cr
            .send(&ad.known_cr_url, user, pass, acs.config.cr_timeout)
            .await
        {
            Ok(()) => return,
            Err(e) => {
                acs.metrics.connection_request_failures.inc();
                tracing::info!(%device, error = %e, attempt, "confirming connection request after re-keying failed");
            }
        }
        tokio::time::sleep(CONFIRM_RETRY).await;
    }
    tracing::warn!(%device, "the re-keyed device did not take the confirming connection request; it is confirmed at its next session");
}

/// Attempts of the confirming connection request.
const CONFIRM_ATTEMPTS: u32 = 3;
/// Pause between them.
const CONFIRM_RETRY: std::time::Duration = std::time::Duration::from_secs(1);
