//! olt-poller integration tests: one binary, one module per area.

mod decode;
mod faults;
mod fleet;
mod history;
mod netsnmp;
mod snmpsim;
mod support;
