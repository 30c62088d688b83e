//! Integration tests of the ACS: loopback HTTP against the real server, and end to end against
//! the lab's cpe-sim agents. One test binary; each module is one concern.

mod bookkeeping;
mod cr_https;
mod credentials;
mod diagnostics;
mod digest;
mod discovery;
mod e2e;
mod failing_store;
mod genie_auth;
mod genie_config;
mod genieacs_goldens;
mod harness;
mod http_server;
mod optics_vendors;
mod presets;
mod props;
mod scripts;
mod summary;
mod tasks;
mod tls;
