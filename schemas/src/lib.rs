//! Data models and protocol schemas shared by the ACS and the lab.
//!
//! The CWMP XSDs of the Broadband Forum (BSD-3, see `data/NOTICE-bbf.md`) and a real TP-Link
//! XX230v TR-181 parameter dump in the GenieACS-sim CSV format (MIT, see `data/NOTICE.md`) live in
//! `data/`. This crate loads such CSV files into a [`DataModel`] that the lab CPE agent serves and
//! that tests and benchmarks use as a realistic tree.
#![warn(missing_docs)]

mod csv;
mod model;

pub use model::{DataModel, ModelError, ModelParam};

/// The XX230v dump, compiled in so the lab and benches work from a fresh clone.
pub const XX230V_CSV: &str = include_str!("../data/tplink-xx230v.csv");

/// The BBF CWMP 1.2 XSD (the base of 1.3 and 1.4), for tests that check element names.
pub const CWMP_1_2_XSD: &str = include_str!("../data/cwmp-1-2.xsd");
