//! GenieACS's authentication expressions in force in this ACS (see [`crate::genie::auth`]).
//!
//! How `cwmp.auth` composes with the credential states: a device with an explicit record keeps
//! exactly its explicit credentials, and an adopting one its adoption's rules, because both are
//! an operator's deliberate choice for that device. A device without a record — derived
//! credentials, the state of every device an import did not name — is accepted with its derived
//! credentials, or else when `cwmp.auth` is true for the request: the CPEs a migrating ISP runs
//! keep the credentials GenieACS accepted, and a CPE the ACS re-keyed (an adoption that ended)
//! is not locked out by an expression written before Fibreplane. A `cwmp.auth` that cannot be
//! evaluated refuses, with the reason in the log, and never accepts.
//!
//! `cwmp.connectionRequestAuth` replaces the device's stored connection-request credentials
//! when it is set and can be evaluated; otherwise they are used, as GenieACS's default
//! `AUTH(username, password)` does.

use super::admit::{Attempt, Denial};
use crate::cpe_auth::AuthOutcome;
use crate::genie::auth::{self, AuthSetting, Device};
use crate::{Acs, CrError};
use acs_store::{DeviceMeta, ParamTree};

impl Acs {
    /// Whether a request without credentials must have its Inform read before it is answered:
    /// `cwmp.auth` may be true without `AUTH()` for some devices. Otherwise the cheap 401
    /// comes first.
    pub(crate) fn expression_may_admit_anonymous(&self) -> bool {
        self.config.cpe_auth == crate::CpeAuthMode::Digest
            && matches!(&self.genie_auth.cpe, AuthSetting::Ready(e) if !e.needs_credentials())
    }

    /// Whether `cwmp.auth` decides for devices without a credential record.
    pub(crate) fn expression_decides(&self) -> bool {
        self.genie_auth.cpe.is_set()
    }

    /// Judges a first request of a device without a credential record that its derived
    /// credentials did not admit (`outcome`), by `cwmp.auth`.
    pub(crate) async fn admit_by_expression(
        &self,
        a: &Attempt<'_>,
        outcome: AuthOutcome,
    ) -> Result<(), Denial> {
        let expr = match &self.genie_auth.cpe {
            AuthSetting::Ready(e) => e,
            AuthSetting::Broken(why) => {
                tracing::warn!(device = %a.device, why, "refused: cwmp.auth cannot be evaluated");
                return Err(Denial::Challenge(outcome));
            }
            AuthSetting::Absent => return Err(Denial::Challenge(outcome)),
        };
        // The tree is read only for an expression that names a stored parameter, once per
        // first request.
        let tree = if auth::reads_tree(expr) {
            match self.store.get_tree(a.device).await {
                Ok(t) => Some(t),
                Err(e) => {
                    tracing::error!(device = %a.device, error = %e, "could not read the tree for cwmp.auth");
                    return Err(Denial::Unavailable);
                }
            }
        } else {
            None
        };
        let mut device = Device::informing(
            a.device.as_str(),
            a.identity,
            a.known,
            a.events,
            a.source.map(|ip| super::canonical(ip).to_string()),
            self.clock_ms(),
        );
        device.tree = tree.as_ref();
        let judge = |check: &auth::Check<'_>| auth::judge(expr, &device, check);
        match self.auth.verify_expression(a.now, a.request, &judge) {
            (AuthOutcome::Ok(_), _) => {
                tracing::debug!(device = %a.device, "admitted by cwmp.auth");
                Ok(())
            }
            (outcome, why) => {
                if let Some(why) = why.filter(|_| a.request.header.is_some()) {
                    tracing::info!(device = %a.device, why, "refused by cwmp.auth");
                }
                Err(Denial::Challenge(outcome))
            }
        }
    }

    /// The connection-request credentials to try for a device, in order — those
    /// `cwmp.connectionRequestAuth` gives, or else the stored ones — and the timeout of each
    /// attempt (`cwmp.connectionRequestTimeout` when it is evaluated per device). The tree is
    /// read once, and only when an expression names a stored parameter.
    pub(crate) async fn cr_settings(
        &self,
        meta: &DeviceMeta,
    ) -> Result<(Vec<(String, String)>, std::time::Duration), CrError> {
        let cr_expr = match &self.genie_auth.cr {
            AuthSetting::Ready(e) => Some(e),
            _ => None,
        };
        let needs_tree = [cr_expr, self.genie_per_device.cr_timeout.as_ref()]
            .into_iter()
            .flatten()
            .any(auth::reads_tree);
        let tree: Option<ParamTree> = if needs_tree {
            Some(
                self.store
                    .get_tree(&meta.id)
                    .await
                    .map_err(|e| CrError::Other(e.to_string()))?,
            )
        } else {
            None
        };
        let device = Device::stored(meta, tree.as_ref(), self.clock_ms());
        let timeout = self
            .genie_per_device
            .cr_timeout(&device, self.config.cr_timeout);
        Ok((self.cr_credentials(meta, &device), timeout))
    }

    /// The connection-request credentials to try for a device, in order.
    fn cr_credentials(&self, meta: &DeviceMeta, device: &Device<'_>) -> Vec<(String, String)> {
        let stored = vec![(meta.cr_username.clone(), meta.cr_password.clone())];
        let expr = match &self.genie_auth.cr {
            AuthSetting::Ready(e) => e,
            AuthSetting::Broken(why) => {
                tracing::warn!(device = %meta.id, why, "cwmp.connectionRequestAuth cannot be evaluated: the stored credentials are used");
                return stored;
            }
            AuthSetting::Absent => return stored,
        };
        let (pairs, missing) = auth::cr_credentials(expr, device);
        if !missing.is_empty() {
            tracing::info!(device = %meta.id, missing = missing.join(", "), "cwmp.connectionRequestAuth reads parameters the device lacks");
        }
        if pairs.is_empty() {
            // As GenieACS: without an `AUTH()` the request carries no credentials worth the
            // name; empty ones are all a CPE without authentication needs.
            tracing::info!(device = %meta.id, "cwmp.connectionRequestAuth gives no AUTH() for this device");
            return vec![(String::new(), String::new())];
        }
        pairs
    }
}
