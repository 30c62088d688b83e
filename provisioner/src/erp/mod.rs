//! ERPNext: the Frappe wire format ([`wire`]) and the REST client ([`client`]).

pub mod client;
mod metrics;
pub mod wire;

pub use client::{ErpClient, ErpConfig};
