//! GenieACS provision and virtual-parameter scripts, run unmodified.
//!
//! The core is sans-IO: [`Engine::run`] runs one script once, synchronously, against a
//! read-only [`DeviceView`] the ACS implements, and returns its declarations, `clear()` calls,
//! log lines, pending `ext()` calls and how it ended ([`Outcome`]). The caller drives
//! GenieACS's replay model: sync the declarations with the CPE, then run the script again with
//! a higher `max_revision` until it completes. Extensions, which need processes, live in
//! [`ext`] behind the `ext` feature.
//!
//! The sandbox gives scripts `declare`, `clear`, `commit`, `ext`, `log`, `args`, a `Date` fixed
//! to the session's time (`Date.now(interval[, variance])`, `Date.now("<cron>")`) and a
//! `Math.random` that is seedrandom's ARC4 generator seeded with the device id, so a script
//! gives the same values it gives under GenieACS 1.2.16.
#![warn(missing_docs)]

mod clock;
mod engine;
#[cfg(feature = "ext")]
pub mod ext;
mod random;
mod types;

pub use clock::{interval, md532, variance_offset};
pub use engine::{CronFn, Engine, EngineError, Limits, RunInput, Script, SessionCache};
pub use random::Arc4Random;
pub use types::{
    Clear, Declaration, DeviceView, End, ExtCall, Fault, InstanceCount, Kind, LogLine, Node,
    Outcome, VirtualValue,
};

thread_local! {
    static ENGINE: std::cell::RefCell<Option<Engine>> = const { std::cell::RefCell::new(None) };
}

/// Calls `f` with this thread's engine, built on first use with `limits` and `cron` (later
/// calls reuse it as built). Scripts run on the thread that asks: one engine per worker.
pub fn with_thread_engine<R>(
    limits: Limits,
    cron: Option<CronFn>,
    f: impl FnOnce(&mut Engine) -> R,
) -> Result<R, EngineError> {
    ENGINE.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(Engine::new(limits, cron)?);
        }
        match slot.as_mut() {
            Some(engine) => Ok(f(engine)),
            None => Err(EngineError::Js(rquickjs::Error::Unknown)),
        }
    })
}
