//! The provisioner: from an ERPNext `Service Equipment` record to a configured, confirmed CPE.
#![warn(missing_docs)]

pub mod erp;
pub mod error;
pub mod model;

pub use error::ProvisionError;
