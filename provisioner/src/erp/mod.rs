//! ERPNext: the Frappe wire format ([`wire`]) and the REST client ([`client`]).

pub mod client;
pub mod wire;

pub use client::{ErpClient, ErpConfig};
