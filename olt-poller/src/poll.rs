//! One poll of one OLT: identify the vendor, walk the profile's columns together, decode.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::config::{OltConfig, VendorChoice};
use crate::decode::build_rows;
use crate::error::OltError;
use crate::model::OltSnapshot;
use crate::oid::Oid;
use crate::profile::{Profile, Role};
use crate::session::Session;
use crate::value::{SnmpValue, VarBind};
use crate::walk::{TableWalk, WalkLimits};

/// SNMPv2-MIB sysObjectID.0.
pub const SYS_OBJECT_ID: &str = "1.3.6.1.2.1.1.2.0";

/// The columns a profile walks, in a fixed order: the port-name column first (if any), then the
/// per-ONU columns by role.
pub fn plan(profile: &Profile) -> (Option<Oid>, Vec<(Role, Oid)>) {
    let cols = profile
        .columns
        .iter()
        .map(|(r, c)| (*r, c.oid.clone()))
        .collect();
    (profile.port_name_column.clone(), cols)
}

/// Polls one OLT once: GET sysObjectID (to pick or check the profile), one multi-column
/// GETBULK walk, decoding. The whole poll is bounded by the per-request timeouts and retries.
pub async fn poll_once(cfg: &OltConfig, limits: WalkLimits) -> Result<OltSnapshot, OltError> {
    let started = std::time::Instant::now();
    let mut session = Session::new(cfg.target.clone());
    let sys_oid: Oid = SYS_OBJECT_ID.parse()?;
    let reply = session.get(std::slice::from_ref(&sys_oid)).await?;
    let sys_object_id = reply.varbinds.iter().find_map(|vb| match &vb.value {
        SnmpValue::ObjectId(o) => Some(o.clone()),
        _ => None,
    });
    let builtin;
    let profile: &Profile = match &cfg.vendor {
        VendorChoice::Auto => {
            builtin = Profile::builtin();
            Profile::detect(&builtin, sys_object_id.as_ref())?
        }
        VendorChoice::Fixed(p) => {
            if Profile::detect(std::slice::from_ref(p), sys_object_id.as_ref()).is_err() {
                tracing::warn!(olt = %cfg.id, sys_object_id = ?sys_object_id.as_ref().map(Oid::to_string),
                    vendor = %p.name, "sysObjectID does not match the configured vendor profile");
            }
            p
        }
    };
    let (port_col, cols) = plan(profile);
    let mut roots: Vec<Oid> = cols.iter().map(|(_, o)| o.clone()).collect();
    if let Some(p) = &port_col {
        roots.insert(0, p.clone());
    }
    let mut walk = TableWalk::new(roots, limits);
    drive(&mut session, &mut walk).await?;
    let backoffs = walk.backoffs();
    let reps = walk.repetitions();
    let mut rows = walk.into_rows().into_iter();
    let port_names: Vec<VarBind> = if port_col.is_some() {
        rows.next().unwrap_or_default()
    } else {
        Vec::new()
    };
    let columns: BTreeMap<Role, Vec<VarBind>> = cols.iter().map(|(r, _)| *r).zip(rows).collect();
    let (ports, onus) = build_rows(profile, cfg.firmware.as_deref(), &port_names, &columns)?;
    let mut stats = session.stats;
    stats.backoffs = backoffs;
    stats.max_repetitions = reps;
    stats.duration_ms = started.elapsed().as_millis() as u64;
    Ok(OltSnapshot {
        olt: cfg.id.clone(),
        vendor: profile.name.clone(),
        sys_object_id: sys_object_id.map(|o| o.to_string()),
        polled_at_ms: now_ms(),
        ports,
        onus,
        stats,
    })
}

/// Walks arbitrary columns together (used by tests and the benchmark to compare row counts with
/// net-snmp): returns every row of every column.
pub async fn walk_columns(
    target: &crate::session::SnmpTarget,
    roots: Vec<Oid>,
    limits: WalkLimits,
) -> Result<(Vec<Vec<VarBind>>, crate::model::PollStats), OltError> {
    let mut session = Session::new(target.clone());
    let mut walk = TableWalk::new(roots, limits);
    drive(&mut session, &mut walk).await?;
    let mut stats = session.stats;
    stats.backoffs = walk.backoffs();
    stats.max_repetitions = walk.repetitions();
    Ok((walk.into_rows(), stats))
}

/// Runs a walk to the end on one session.
async fn drive(session: &mut Session, walk: &mut TableWalk) -> Result<(), OltError> {
    while let Some(req) = walk.next_request() {
        match session.get_bulk(&req.oids, req.max_repetitions).await {
            Ok(r) => walk.on_response(&req, r.error_status, r.error_index, r.varbinds)?,
            // Smaller responses may get through where large ones did not; give up only once
            // max-repetitions is already 1.
            Err(OltError::Timeout { attempts }) if walk.repetitions() == 1 => {
                return Err(OltError::Timeout { attempts });
            }
            Err(OltError::Timeout { .. }) => walk.on_timeout(),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Unix milliseconds now.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
