//! Group commit through the public writer, exactly as the ACS uses it: many concurrent callers
//! share commits, and each caller's write is visible to every reader once its `apply` returns.

use std::sync::Arc;

use acs_store::{Expect, Op, Outcome};

use crate::support::{Harness, device, for_each_backend, id};

for_each_backend!(concurrent_applies_share_commits);

/// Concurrent callers, each with its own device.
const CALLERS: u64 = 64;

fn concurrent_applies_share_commits(h: &Harness) {
    let writer =
        Arc::new(acs_store::open_with_clock(h.backend, &h.path(), h.clock.clone()).expect("open"));
    let reader = writer.reader();
    assert_eq!(writer.commits(), 0);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("runtime");
    // Released together, as a burst of sessions would be.
    let start = Arc::new(tokio::sync::Barrier::new(CALLERS as usize));
    let callers: Vec<_> = (0..CALLERS)
        .map(|n| {
            let (writer, reader, start) = (writer.clone(), reader.clone(), start.clone());
            rt.spawn(async move {
                let dev = format!("gc-{n}");
                let meta = device(&dev, &format!("S{n}"));
                start.wait().await;
                let op = Op::PutDevice {
                    meta,
                    expect: Expect::Absent,
                };
                let outcomes = writer.apply(vec![op]).await.expect("apply");
                // Read right after `apply` returned: the write must already be there.
                let seen = reader.get(&id(&dev)).await.expect("get");
                (outcomes, seen.map(|v| v.revision))
            })
        })
        .collect();
    for caller in callers {
        let (outcomes, seen) = rt.block_on(caller).expect("caller task");
        assert_eq!(
            outcomes,
            [Outcome::Done {
                revision: Some(1),
                task_id: None
            }],
            "each caller gets its own outcome"
        );
        assert_eq!(seen, Some(1), "visible to a reader when apply returns");
    }
    let commits = writer.commits();
    assert!(
        (1..CALLERS).contains(&commits),
        "{commits} commits for {CALLERS} concurrent callers"
    );
    assert_eq!(rt.block_on(reader.count()).expect("count"), CALLERS);
}
