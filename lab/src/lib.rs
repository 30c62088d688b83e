//! Lab peers that behave like real devices on the wire. `cpe-sim` is a CWMP CPE agent fleet built
//! on the `cwmp` crate's CPE role and driven by a GenieACS-sim CSV data model.
#![warn(missing_docs)]
