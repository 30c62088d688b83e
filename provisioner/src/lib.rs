//! The provisioner: from an ERPNext `Service Equipment` record to a configured, confirmed CPE.
#![warn(missing_docs)]

pub mod api;
pub mod desired;
mod driver;
pub mod engine;
pub mod erp;
pub mod error;
pub mod matching;
pub mod model;
pub mod state;

pub use driver::{Provisioner, ProvisionerConfig, SyncReport};
pub use error::ProvisionError;
