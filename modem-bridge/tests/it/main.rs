//! Integration tests of the modem bridge against the lab's xx230v-sim: the native client (CBC
//! and GCM), the firmware's refusals, real headless Chromium running the emulator's login
//! JavaScript, agreement of the two paths field by field, and the service API.

mod chromium;
mod common;
mod native;
mod service;
mod sim_rules;
