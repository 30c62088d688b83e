//! The provisioner: from an ERPNext `Service Equipment` record to a configured, confirmed CPE.
#![warn(missing_docs)]

pub mod desired;
pub mod engine;
pub mod erp;
pub mod error;
pub mod matching;
pub mod model;
pub mod state;

pub use error::ProvisionError;
