//! A store that fails on demand, behind the real server: a failed read or write ends the CPE's
//! session with a 503 and loses nothing (the task runs at the next session, the Inform is
//! recorded when the CPE comes back), and the ACS's API reports the store's own error type.

use crate::harness::{self, session};
use acs::store::{
    Backend, DeviceId, DeviceMeta, FaultRecord, Index, Op, Outcome, ParamTree, StoreError,
    StoreFuture, StoreWriter, TaskRecord, Versioned,
};
use acs::{AcsError, TaskStatus};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// A real embedded store behind switches that make its reads or its writes fail.
struct Flaky {
    inner: Mutex<Option<Arc<StoreWriter>>>,
    reader: acs::StoreReader,
    fail_reads: AtomicBool,
    fail_writes: AtomicBool,
}

impl Flaky {
    fn open(dir: &std::path::Path) -> Arc<Self> {
        let inner = acs::store::open(acs::store::EngineKind::Redb, &dir.join("flaky.redb"))
            .expect("open store");
        Arc::new(Self {
            reader: inner.reader(),
            inner: Mutex::new(Some(Arc::new(inner))),
            fail_reads: AtomicBool::new(false),
            fail_writes: AtomicBool::new(false),
        })
    }

    fn read_fault(&self) -> Result<(), StoreError> {
        if self.fail_reads.load(Ordering::SeqCst) {
            return Err(StoreError::Engine("injected read failure".into()));
        }
        Ok(())
    }

    /// The real writer (a clone of its handle, so no lock is held across an await).
    fn writer(&self) -> Result<Arc<StoreWriter>, StoreError> {
        self.inner.lock().unwrap().clone().ok_or(StoreError::Closed)
    }
}

/// Each read checks the switch, then asks the real store.
macro_rules! read {
    ($self:ident, $call:expr) => {
        Box::pin(async move {
            $self.read_fault()?;
            $call.await
        })
    };
}

impl Backend for Flaky {
    fn now_ms(&self) -> i64 {
        self.reader.now_ms()
    }
    fn get<'a>(&'a self, id: &'a DeviceId) -> StoreFuture<'a, Option<Versioned<DeviceMeta>>> {
        read!(self, self.reader.get(id))
    }
    fn get_tree<'a>(&'a self, id: &'a DeviceId) -> StoreFuture<'a, ParamTree> {
        read!(self, self.reader.get_tree(id))
    }
    fn get_tree_scoped<'a>(
        &'a self,
        id: &'a DeviceId,
        scope: &'a acs::store::TreeScope,
    ) -> StoreFuture<'a, ParamTree> {
        read!(self, self.reader.get_tree_scoped(id, scope))
    }
    fn scan_index<'a>(&'a self, index: Index, key: &'a str) -> StoreFuture<'a, Vec<DeviceId>> {
        read!(self, self.reader.scan_index(index, key))
    }
    fn scan_informed(
        &self,
        from_ms: Option<i64>,
        to_ms: Option<i64>,
    ) -> StoreFuture<'_, Vec<DeviceId>> {
        read!(self, self.reader.scan_informed(from_ms, to_ms))
    }
    fn scan<'a>(
        &'a self,
        after: Option<&'a DeviceId>,
        limit: usize,
    ) -> StoreFuture<'a, Vec<DeviceId>> {
        read!(self, self.reader.scan(after, limit))
    }
    fn count(&self) -> StoreFuture<'_, u64> {
        read!(self, self.reader.count())
    }
    fn task(&self, id: u64) -> StoreFuture<'_, Option<TaskRecord>> {
        read!(self, self.reader.task(id))
    }
    fn tasks<'a>(&'a self, device: Option<&'a DeviceId>) -> StoreFuture<'a, Vec<TaskRecord>> {
        read!(self, self.reader.tasks(device))
    }
    fn faults<'a>(&'a self, device: Option<&'a DeviceId>) -> StoreFuture<'a, Vec<FaultRecord>> {
        read!(self, self.reader.faults(device))
    }
    fn docs<'a>(&'a self, collection: &'a str) -> StoreFuture<'a, Vec<(String, Vec<u8>)>> {
        read!(self, self.reader.docs(collection))
    }
    fn doc<'a>(&'a self, collection: &'a str, name: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
        read!(self, self.reader.doc(collection, name))
    }
    fn apply(&self, ops: Vec<Op>) -> StoreFuture<'_, Vec<Outcome>> {
        Box::pin(async move {
            if self.fail_writes.load(Ordering::SeqCst) {
                return Err(StoreError::Engine("injected write failure".into()));
            }
            self.writer()?.apply(ops).await
        })
    }
    fn try_lease<'a>(&'a self, id: &'a DeviceId, owner: u64, ttl_ms: i64) -> StoreFuture<'a, bool> {
        Box::pin(async move { self.writer()?.try_lease(id, owner, ttl_ms).await })
    }
    fn release<'a>(&'a self, id: &'a DeviceId, owner: u64) -> StoreFuture<'a, ()> {
        Box::pin(async move { self.writer()?.release(id, owner).await })
    }
    fn commits(&self) -> u64 {
        self.writer().map_or(0, |w| w.commits())
    }
    fn shutdown(&self) {
        // Dropping the last handle of the real writer commits what it queued and stops it.
        self.inner.lock().unwrap().take();
    }
}

async fn start(flaky: &Arc<Flaky>, dir: tempfile::TempDir) -> harness::TestAcs {
    let cfg = harness::quiet(dir.path());
    let backend: Arc<dyn Backend> = flaky.clone();
    harness::start_with_store(dir, cfg, StoreWriter::from_backend(backend)).await
}

#[tokio::test]
async fn a_read_that_fails_mid_session_is_a_503_and_the_task_runs_at_the_next_session() {
    let dir = tempfile::tempdir().unwrap();
    let flaky = Flaky::open(dir.path());
    let t = start(&flaky, dir).await;
    let (mut c, _) = session(&t, "F1", &["0 BOOTSTRAP", "1 BOOT"]).await;
    assert_eq!(c.post(Vec::new(), &[]).await.status, 204);
    let dev = harness::device("F1");
    let task = harness::enqueue_uptime(&t, &dev).await;

    let (mut c, _) = session(&t, "F1", &["2 PERIODIC"]).await;
    flaky.fail_reads.store(true, Ordering::SeqCst);
    // The session must read the task queue now; it cannot, so it ends without guessing.
    let r = c.post(Vec::new(), &[]).await;
    assert_eq!(r.status, 503, "{}", String::from_utf8_lossy(&r.body));
    // A typed error for API callers too, not a string.
    let err = t.acs.wait_task(task.id, std::time::Duration::ZERO).await;
    assert!(
        matches!(err, Err(AcsError::Store(StoreError::Engine(_)))),
        "{err:?}"
    );
    flaky.fail_reads.store(false, Ordering::SeqCst);
    let still = t.acs.store().task(task.id).await.unwrap().unwrap();
    assert_eq!(still.status, TaskStatus::Pending, "nothing was lost");

    let (mut c, _) = session(&t, "F1", &["2 PERIODIC"]).await;
    let rpc = c.post(Vec::new(), &[]).await;
    let req = rpc.envelope();
    assert_eq!(req.body.name(), "GetParameterValues");
    let answer = harness::uptime_answer("120");
    assert_eq!(harness::reply(&mut c, &req, answer).await.status, 204);
    let done = t.acs.store().task(task.id).await.unwrap().unwrap();
    assert!(matches!(done.status, TaskStatus::Done { .. }), "{done:?}");
}

#[tokio::test]
async fn an_inform_the_store_cannot_record_is_a_503_and_is_recorded_when_the_cpe_returns() {
    let dir = tempfile::tempdir().unwrap();
    let flaky = Flaky::open(dir.path());
    let t = start(&flaky, dir).await;
    flaky.fail_writes.store(true, Ordering::SeqCst);
    let mut c = harness::Conn::open(t.addr).await;
    let first = c.post(harness::inform("F2", &["0 BOOTSTRAP"]), &[]).await;
    assert_eq!(first.status, 401);
    let auth = harness::answer(&first, "F2", None);
    let refused = c
        .post(
            harness::inform("F2", &["0 BOOTSTRAP"]),
            &[("authorization", auth)],
        )
        .await;
    assert_eq!(refused.status, 503);
    assert!(
        t.acs
            .device(&harness::device("F2"))
            .await
            .unwrap()
            .is_none()
    );
    // Its lease went with the refused session: the CPE's retry is served at once.
    flaky.fail_writes.store(false, Ordering::SeqCst);
    let (mut c, _) = session(&t, "F2", &["0 BOOTSTRAP"]).await;
    assert_eq!(c.post(Vec::new(), &[]).await.status, 204);
    assert!(
        t.acs
            .device(&harness::device("F2"))
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn presets_that_cannot_be_read_are_an_error_not_an_empty_set() {
    let dir = tempfile::tempdir().unwrap();
    let flaky = Flaky::open(dir.path());
    let t = start(&flaky, dir).await;
    flaky.fail_reads.store(true, Ordering::SeqCst);
    let err = t.acs.presets().await.map(|p| p.len());
    assert!(matches!(err, Err(AcsError::Store(_))), "{err:?}");
    flaky.fail_reads.store(false, Ordering::SeqCst);
    assert_eq!(t.acs.presets().await.unwrap().len(), 0);
}
