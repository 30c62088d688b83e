//! `cpe-sim`: runs a fleet of virtual CWMP CPEs against an ACS.
fn main() {}
