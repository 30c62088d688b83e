//! Integration tests of the lab CPE agent: model semantics, the connection-request server, CWMP
//! sessions and diagnostics against an in-test ACS, and the `cpe-sim` binary; `xx230v` drives the
//! XX230v web-UI emulator with the real Python TP-Link client; `erp_sim` checks erp-sim against
//! Frappe's REST shapes.

mod acs;
mod cli;
mod cr;
mod diagnostics;
mod erp_sim;
mod model;
mod olt_sim;
mod periodic;
mod session;
mod xx230v;
