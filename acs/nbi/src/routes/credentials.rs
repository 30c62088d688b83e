//! Fibreplane's own routes for CPE credentials (GenieACS has none): the devices whose
//! credentials are not derived and the adoptions in progress, and explicit credentials set or
//! cleared per device. Passwords go in, never out.

use super::{Ctx, internal, respond, text};
use acs::credentials::CredentialsError;
use acs::{DeviceId, Secret};
use axum::body::Body;
use axum::response::Response;
use http::StatusCode;
use serde_json::{Value, json};

/// `GET /credentials`: every non-derived device and adoption, with its state (`explicit`,
/// `adopting`, `rekeyed`), the explicit username, and the adoption's reason, addresses, window
/// and re-keying time.
pub(super) async fn list(ctx: &Ctx) -> Response {
    let views = match ctx.acs.credentials().await {
        Ok(v) => v,
        Err(e) => return internal(e),
    };
    let docs: Vec<Value> = views
        .into_iter()
        .map(|v| {
            let mut doc = json!({ "state": v.state });
            let key = if v.by_serial { "serial" } else { "_id" };
            doc[key] = json!(v.name);
            if let Some(u) = v.username {
                doc["username"] = json!(u);
            }
            if let Some(a) = v.adoption {
                doc["reason"] = json!(a.reason);
                doc["since"] = json!(acs::genie::date::iso(a.since_ms));
                doc["bound"] = json!(a.bound.iter().map(ToString::to_string).collect::<Vec<_>>());
                doc["connectionRequestUrl"] = json!(a.known_cr_url);
                if let Some(ms) = a.rekeyed_ms {
                    doc["rekeyed"] = json!(acs::genie::date::iso(ms));
                }
            }
            if let Some(ms) = v.expires_ms {
                doc["expires"] = json!(acs::genie::date::iso(ms));
            }
            doc
        })
        .collect();
    respond(
        StatusCode::OK,
        None,
        "application/json",
        Body::from(Value::Array(docs).to_string()),
    )
}

/// `PUT /devices/{id}/credentials` with `{"username": …, "password": …}`: explicit
/// credentials, the only ones the device is accepted with from then on.
pub(super) async fn put(ctx: &Ctx, id: &str, body: &[u8]) -> Response {
    let Ok(device) = DeviceId::parse(id) else {
        return text(StatusCode::NOT_FOUND, "No such device");
    };
    let parsed: Result<Value, _> = serde_json::from_slice(body);
    let field = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    let Some((username, password)) = parsed
        .ok()
        .and_then(|v| Some((field(&v, "username")?, field(&v, "password")?)))
    else {
        return text(
            StatusCode::BAD_REQUEST,
            "expected {\"username\": \"…\", \"password\": \"…\"}",
        );
    };
    match ctx
        .acs
        .set_credentials(&device, &username, Secret::new(password))
        .await
    {
        Ok(()) => text(StatusCode::OK, ""),
        Err(CredentialsError::UnknownDevice) => text(StatusCode::NOT_FOUND, "No such device"),
        Err(CredentialsError::Invalid(why)) => text(StatusCode::BAD_REQUEST, why),
        Err(e) => internal(e),
    }
}

/// `DELETE /devices/{id}/credentials`: back to derived credentials (also ends an adoption).
pub(super) async fn delete(ctx: &Ctx, id: &str) -> Response {
    let Ok(device) = DeviceId::parse(id) else {
        return text(StatusCode::OK, "");
    };
    match ctx.acs.clear_credentials(&device).await {
        Ok(()) => text(StatusCode::OK, ""),
        Err(e) => internal(e),
    }
}
