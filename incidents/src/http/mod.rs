//! The HTTP pieces the hub mounts (axum 0.8): the Kuma webhook receiver and the read-only
//! outages API.

mod outages;
mod webhook;

pub use outages::outages_router;
pub use webhook::webhook_router;
