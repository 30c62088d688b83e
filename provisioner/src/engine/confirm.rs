//! The engine's confirmation half: what the ACS reports about a device's channel (converged
//! with SPV statuses, or faulted), what the device reads back, and the outcome that follows —
//! `provisioned`, or `failed: reason` with a retry time — queued for ERPNext.

use super::{ACTOR, Action, Engine};
use crate::model::scrub;
use crate::state::{Audit, DeviceState, Phase, WriteBack, backoff_ms};

impl Engine {
    /// The ACS converged a channel of `device`: `written` holds each parameter it set with the
    /// SPV status (0 applied, 1 applied after a reboot).
    pub fn converged(
        &mut self,
        device: &str,
        channel: &str,
        written: &[(String, u32)],
        parameter_key: &str,
        now: i64,
    ) -> Vec<Action> {
        let Some(st) = self.devices.get_mut(device) else {
            return Vec::new();
        };
        let current = DeviceState::channel(st.generation);
        if channel != current {
            return Vec::new();
        }
        if let Some(s) = self.sessions.get_mut(device) {
            s.channel = true;
        }
        self.dirty_devices.insert(device.to_owned());
        let paths: Vec<String> = written
            .iter()
            .map(|(p, s)| format!("{p} (status {s})"))
            .collect();
        match st.phase {
            Phase::Installing { generation, .. } => {
                if let Some((p, s)) = written.iter().find(|(_, s)| *s > 1) {
                    let why = format!("SetParameterValues status {s} for {p}");
                    return self.fail(device, &why, now);
                }
                // What the CPE took carries this generation's ParameterKey (the preset names
                // it); another key means the writes were not ours.
                if !written.is_empty() && parameter_key != channel {
                    let why =
                        format!("ParameterKey {parameter_key:?} after the writes, not {channel:?}");
                    return self.fail(device, &why, now);
                }
                st.note(Audit {
                    at_ms: now,
                    actor: ACTOR.into(),
                    action: "applied".into(),
                    equipment: st.equipment.clone(),
                    paths,
                    outcome: "accepted by the CPE".into(),
                });
                if st.expect.is_empty() {
                    return self.provisioned(device, now);
                }
                st.phase = Phase::Confirming { generation };
                vec![Action::ReadBack {
                    device: device.to_owned(),
                    generation,
                    paths: st.expect.iter().map(|(p, _)| p.clone()).collect(),
                }]
            }
            Phase::Provisioned { .. } if !written.is_empty() => {
                // The device had lost settings (factory reset, local change) and the preset put
                // them back.
                st.note(Audit {
                    at_ms: now,
                    actor: ACTOR.into(),
                    action: "reapplied".into(),
                    equipment: st.equipment.clone(),
                    paths,
                    outcome: "accepted by the CPE".into(),
                });
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// The ACS recorded a fault on a channel of `device`.
    pub fn faulted(
        &mut self,
        device: &str,
        channel: &str,
        code: &str,
        message: &str,
        now: i64,
    ) -> Vec<Action> {
        let Some(st) = self.devices.get(device) else {
            return Vec::new();
        };
        if channel != DeviceState::channel(st.generation)
            || !matches!(
                st.phase,
                Phase::Installing { .. } | Phase::Confirming { .. }
            )
        {
            return Vec::new();
        }
        if let Some(s) = self.sessions.get_mut(device) {
            s.channel = true;
        }
        let secrets: Vec<String> = st
            .equipment
            .as_ref()
            .and_then(|n| self.dir.get(n))
            .map(|e| e.secrets().into_iter().map(str::to_owned).collect())
            .unwrap_or_default();
        let refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
        let why = scrub(&format!("CPE fault {code}: {message}"), &refs);
        self.fail(device, &why, now)
    }

    /// What the device read back for a generation being confirmed (`Err`: the read failed).
    pub fn read_back(
        &mut self,
        device: &str,
        generation: u64,
        values: Result<Vec<(String, String)>, String>,
        now: i64,
    ) -> Vec<Action> {
        let Some(st) = self.devices.get(device) else {
            return Vec::new();
        };
        if st.phase != (Phase::Confirming { generation }) {
            return Vec::new();
        }
        match values {
            Ok(values) => {
                let differs: Vec<String> = st
                    .expect
                    .iter()
                    .filter(|(p, v)| !values.iter().any(|(q, w)| q == p && w == v))
                    .map(|(p, _)| p.clone())
                    .collect();
                if differs.is_empty() {
                    self.provisioned(device, now)
                } else {
                    self.fail(
                        device,
                        &format!("read-back differs at {}", differs.join(", ")),
                        now,
                    )
                }
            }
            Err(why) => self.fail(device, &format!("read-back failed: {why}"), now),
        }
    }

    fn provisioned(&mut self, device: &str, now: i64) -> Vec<Action> {
        let Some(st) = self.devices.get_mut(device) else {
            return Vec::new();
        };
        st.phase = Phase::Provisioned { at_ms: now };
        st.attempts = 0;
        st.note(Audit {
            at_ms: now,
            actor: ACTOR.into(),
            action: "confirm".into(),
            equipment: st.equipment.clone(),
            paths: st.expect.iter().map(|(p, _)| p.clone()).collect(),
            outcome: "provisioned".into(),
        });
        tracing::info!(%device, equipment = ?st.equipment, "device provisioned");
        self.queue_outcome(device, "provisioned".into(), now);
        Vec::new()
    }

    pub(super) fn fail(&mut self, device: &str, why: &str, now: i64) -> Vec<Action> {
        let (base, max) = (self.config.retry_base_ms, self.config.retry_max_ms);
        let Some(st) = self.devices.get_mut(device) else {
            return Vec::new();
        };
        let retry_at_ms = now + backoff_ms(base, max, st.attempts);
        st.attempts += 1;
        st.phase = Phase::Failed {
            reason: why.to_owned(),
            retry_at_ms,
        };
        st.note(Audit {
            at_ms: now,
            actor: ACTOR.into(),
            action: "fail".into(),
            equipment: st.equipment.clone(),
            paths: Vec::new(),
            outcome: why.to_owned(),
        });
        tracing::warn!(%device, reason = %why, "provisioning failed; will retry");
        self.queue_outcome(device, format!("failed: {why}"), now);
        Vec::new()
    }

    fn queue_outcome(&mut self, device: &str, status: String, now: i64) {
        self.dirty_devices.insert(device.to_owned());
        let Some(st) = self.devices.get_mut(device) else {
            return;
        };
        st.last_outcome = Some((status.clone(), now));
        let Some(equipment) = st.equipment.clone() else {
            return;
        };
        // A newer outcome replaces one not yet written: ERPNext shows the latest.
        self.outbox.insert(
            equipment.clone(),
            WriteBack {
                equipment: equipment.clone(),
                device: device.to_owned(),
                status,
                at_ms: now,
                attempts: 0,
                next_ms: now,
            },
        );
        self.dirty_outbox.insert(equipment);
    }
}
