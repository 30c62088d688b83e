//! The session's driver: the only async code of a session. It feeds the session an input,
//! then performs the effects the session leaves (store reads and writes, events, task waiters,
//! metrics) and feeds their results back, until the session has a reply for the CPE.

use super::{Counted, Effect, Input, Now, Read, ReadOutput, Reply, Session};
use crate::Acs;
use acs_store::{DeviceId, StoreError};
use std::time::Instant;

/// Handles one input of `session` and returns the reply to send the CPE.
pub(crate) async fn drive(acs: &Acs, session: &mut Session, input: Input) -> Reply {
    if matches!(input, Input::Message(_)) {
        // Each POST renews the device's lease. Losing it means the session outlived its
        // timeout and another session of the device began: this one must not write any more.
        let ttl = super::lease_ttl_ms(&session.machine);
        match acs
            .writer
            .try_lease(&session.device, session.lease, ttl)
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                session.machine.finish();
                return Reply::BadRequest("the device's session lease was lost".into());
            }
            Err(e) => {
                tracing::error!(device = %session.device, error = %e, "could not renew the session lease");
                session.machine.finish();
                return Reply::Unavailable;
            }
        }
    }
    session.handle(now(acs), input);
    loop {
        let Some(effect) = session.poll_effect() else {
            // A session always ends a turn with a reply; if it ever did not, the CPE must not
            // hang: the session is treated as failed and the CPE comes back later.
            tracing::error!(device = %session.device, "session turn ended without a reply");
            session.machine.finish();
            return Reply::Unavailable;
        };
        match effect {
            Effect::Read(read) => {
                let result = perform_read(acs, &session.device, read).await;
                session.handle(now(acs), Input::Read(result));
            }
            Effect::Apply(ops) => {
                let result = acs.writer.apply(ops).await;
                session.handle(now(acs), Input::Applied(result));
            }
            Effect::Reply(reply) => return reply,
            other => side_effect(acs, &session.device, other),
        }
    }
}

/// Ends `session` if its deadline has passed (performing what that means); returns whether it
/// did.
pub(crate) fn expire(acs: &Acs, session: &mut Session, now: Instant) -> bool {
    let expired = session.handle_timeout(now);
    while let Some(effect) = session.poll_effect() {
        side_effect(acs, &session.device, effect);
    }
    expired
}

fn now(acs: &Acs) -> Now {
    Now {
        at: Instant::now(),
        ms: acs.clock_ms(),
    }
}

/// Performs an effect that needs no answer.
fn side_effect(acs: &Acs, device: &DeviceId, effect: Effect) {
    match effect {
        Effect::Publish(event) => acs.publish(event),
        Effect::NotifyTasks(ids) => {
            for id in ids {
                acs.tasks.notify(id);
            }
        }
        Effect::NoTasks(generation) => acs.tasks.unmark(device, generation),
        Effect::Count(counted) => {
            let counter = match counted {
                Counted::TaskDone => &acs.metrics.tasks_done,
                Counted::TaskFault => &acs.metrics.task_faults,
                Counted::Violation => &acs.metrics.violations,
                Counted::Expired => &acs.metrics.sessions_expired,
                Counted::DiscoveryFallback => &acs.metrics.discovery_fallbacks,
            };
            counter.inc();
        }
        Effect::Read(_) | Effect::Apply(_) | Effect::Reply(_) => {
            tracing::error!(%device, "session effect out of turn; ignored");
        }
    }
}

/// Reads what the session asked for.
async fn perform_read(acs: &Acs, device: &DeviceId, read: Read) -> Result<ReadOutput, StoreError> {
    let store = &acs.store;
    Ok(match read {
        Read::Tree => ReadOutput::Tree(store.get_tree(device).await?),
        Read::ScopedTree(scope) => ReadOutput::Tree(store.get_tree_scoped(device, &scope).await?),
        Read::Faults => ReadOutput::Faults(store.faults(Some(device)).await?),
        Read::Tasks => ReadOutput::Tasks(store.tasks(Some(device)).await?),
        Read::QueuedTasks => match acs.tasks.may_have_tasks(device) {
            None => ReadOutput::QueuedTasks {
                generation: None,
                tasks: Vec::new(),
            },
            Some(generation) => ReadOutput::QueuedTasks {
                generation: Some(generation),
                tasks: store.tasks(Some(device)).await?,
            },
        },
        Read::Meta => ReadOutput::Meta(store.get(device).await?.map(Box::new)),
        Read::File(name) => {
            let doc = store.doc(crate::FILES, &name).await?;
            ReadOutput::File(name, doc)
        }
        Read::Extension(call) => {
            let answer = match &acs.extensions {
                Some(host) => host.call(&call.args).await,
                None => Err(script::Fault {
                    code: "ext".into(),
                    message: "No extension directory is configured (acs.ext_dir)".into(),
                    detail: None,
                }),
            };
            ReadOutput::Extension(Box::new((call.key, answer)))
        }
        Read::Files => ReadOutput::Files(store.docs(crate::FILES).await?),
    })
}
