//! Integration tests of the lab CPE agent: model semantics, the connection-request server, CWMP
//! sessions against an in-test ACS, and the `cpe-sim` binary.

mod acs;
mod cli;
mod cr;
mod model;
mod olt_sim;
mod periodic;
mod session;
