//! Device routes: lookup by serial, MAC, customer or service location.

use super::{error, staff};
use crate::app::Hub;
use acs::store::Index;
use axum::Json;
use axum::Router;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;

pub(super) fn routes() -> Router<Arc<Hub>> {
    Router::new().route("/devices/lookup", get(lookup))
}

#[derive(Debug, Deserialize)]
struct LookupQuery {
    serial: Option<String>,
    mac: Option<String>,
    customer: Option<String>,
    location: Option<String>,
    token: Option<String>,
}

/// Most devices one lookup returns (a customer or location has a handful).
const MAX_LOOKUP: usize = 100;

async fn lookup(
    State(hub): State<Arc<Hub>>,
    headers: HeaderMap,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(q): Query<LookupQuery>,
) -> Response {
    if let Err(r) = staff(&hub, &headers, q.token.as_deref(), Some(peer)) {
        return r;
    }
    let found: Result<Vec<String>, acs::AcsError> =
        match (&q.serial, &q.mac, &q.customer, &q.location) {
            (Some(s), None, None, None) => hub
                .acs
                .store()
                .scan_index(Index::Serial, s.trim())
                .await
                .map(|ids| ids.into_iter().map(|d| d.to_string()).collect())
                .map_err(Into::into),
            (None, Some(m), None, None) => hub
                .acs
                .store()
                .scan_index(Index::Mac, m.trim())
                .await
                .map(|ids| ids.into_iter().map(|d| d.to_string()).collect())
                .map_err(Into::into),
            (None, None, Some(c), None) => Ok(hub.directory.devices_of_customer(c.trim())),
            (None, None, None, Some(l)) => Ok(hub.directory.devices_at(l.trim())),
            _ => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "give exactly one of serial, mac, customer, location",
                );
            }
        };
    let ids = match found {
        Ok(ids) => ids,
        Err(e) => return error(StatusCode::SERVICE_UNAVAILABLE, e),
    };
    let mut devices: Vec<Value> = Vec::new();
    for id in ids.iter().take(MAX_LOOKUP) {
        devices.extend(describe(&hub, id).await);
    }
    Json(json!({ "devices": devices })).into_response()
}

/// A device's identity, ERPNext links, and online state from both the ACS and the OLT.
pub(crate) async fn describe(hub: &Hub, id: &str) -> Option<Value> {
    let dev = acs::DeviceId::parse(id).ok()?;
    let meta = hub.acs.device(&dev).await.ok()??.value;
    let links = hub.directory.links(id);
    let olt = hub
        .onu_by_serial(&meta.identity.serial_number)
        .map(|(olt, onu)| {
            json!({
                "olt": olt.as_str(),
                "port": onu.port.to_string(),
                "onu_id": onu.key.onu_id,
                "state": onu.state,
                "rx_dbm": onu.rx_dbm.map(|d| d.0),
                "olt_rx_dbm": onu.olt_rx_dbm.map(|d| d.0),
                "online": matches!(onu.state, olt_poller::OnuState::Online),
            })
        });
    Some(json!({
        "id": id,
        "serial": meta.identity.serial_number,
        "oui": meta.identity.oui,
        "product_class": meta.identity.product_class,
        "manufacturer": meta.identity.manufacturer,
        "macs": meta.macs,
        "software_version": meta.software_version,
        "wan_ip": meta.wan_ip,
        "tags": meta.tags,
        "last_inform": acs::genie::date::iso(meta.last_inform_ms),
        "acs_online": hub.acs_online(meta.last_inform_ms),
        "links": links,
        "olt": olt,
    }))
}
