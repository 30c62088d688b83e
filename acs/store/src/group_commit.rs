//! Group commit: one thread owns an embedded engine's write path and folds every write that
//! arrives while a commit is in flight into the next transaction.
//!
//! redb (like most embedded engines) allows one writer at a time and pays one fsync per commit.
//! Thousands of sessions a second each wanting a durable write would queue behind each other's
//! fsyncs; batching them makes the fsync cost per session fall as load rises, while every caller
//! still waits until its own write is durable before it answers the CPE or the API.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::StoreError;
use crate::store::{Op, Outcome};

/// Most ops folded into one transaction, so one commit cannot grow without bound.
const MAX_OPS_PER_COMMIT: usize = 20_000;
/// How long the writer waits for more writes to join a commit.
const BATCH_WINDOW: Duration = Duration::from_micros(500);
/// Writes that may wait for the writer before callers wait to enqueue.
const QUEUE: usize = 65_536;

type ApplyResult = Result<Vec<Outcome>, StoreError>;
type Reply = oneshot::Sender<ApplyResult>;

/// The engine's durable `apply`, which only the writer thread calls.
pub(crate) type ApplyFn = Box<dyn Fn(Vec<Op>) -> ApplyResult + Send>;

/// What the writer thread is asked to do.
enum Msg {
    /// Commit these ops and answer on the reply channel.
    Write(Vec<Op>, Reply),
    /// Commit what was queued before this message, then exit.
    Stop,
}

/// The handle to the writer thread. Dropping it (or [`GroupCommit::shutdown`]) lets the thread
/// finish the writes already queued, and waits for that.
pub(crate) struct GroupCommit {
    tx: mpsc::SyncSender<Msg>,
    thread: Mutex<Option<JoinHandle<()>>>,
    commits: Arc<AtomicU64>,
    /// Writes that found the queue full and waited for room.
    full_waits: AtomicU64,
}

impl GroupCommit {
    /// Starts the `store-writer` thread, the only caller of `apply`.
    pub(crate) fn start(apply: ApplyFn) -> Result<Self, StoreError> {
        Self::with_queue(QUEUE, apply)
    }

    /// [`GroupCommit::start`] with a queue of `capacity` writes.
    fn with_queue(capacity: usize, apply: ApplyFn) -> Result<Self, StoreError> {
        let (tx, rx) = mpsc::sync_channel::<Msg>(capacity);
        let commits = Arc::new(AtomicU64::new(0));
        let counter = commits.clone();
        let thread = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || run(&*apply, &rx, &counter))
            .map_err(|e| StoreError::Engine(format!("cannot start the store writer: {e}")))?;
        Ok(Self {
            tx,
            thread: Mutex::new(Some(thread)),
            commits,
            full_waits: AtomicU64::new(0),
        })
    }

    /// Applies `ops` durably (in one transaction with whatever else is pending) and returns
    /// their outcomes in order.
    pub(crate) async fn apply(&self, ops: Vec<Op>) -> ApplyResult {
        if ops.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, rx) = oneshot::channel();
        match self.tx.try_send(Msg::Write(ops, reply)) {
            Ok(()) => {}
            Err(mpsc::TrySendError::Full(msg)) => self.send_when_room(msg).await?,
            Err(mpsc::TrySendError::Disconnected(_)) => return Err(StoreError::Closed),
        }
        // A dropped reply means the writer exited (stopped, or its thread died) before answering.
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Enqueues when the queue is full, which means the disk cannot keep up. Waiting on a
    /// blocking thread keeps the tokio workers free; outside a runtime the caller's own thread
    /// is not a worker, so it may block.
    async fn send_when_room(&self, msg: Msg) -> Result<(), StoreError> {
        self.full_waits.fetch_add(1, Ordering::Relaxed);
        let tx = self.tx.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => rt
                .spawn_blocking(move || tx.send(msg).map_err(|_| StoreError::Closed))
                .await
                .map_err(|_| StoreError::Closed)?,
            Err(_) => tx.send(msg).map_err(|_| StoreError::Closed),
        }
    }

    /// Number of transactions committed so far (failed ones are not counted).
    pub(crate) fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// Commits what is queued, stops the thread and waits for it. Idempotent.
    pub(crate) fn shutdown(&self) {
        let thread = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(thread) = thread {
            // A send error means the thread is already gone; joining then returns at once.
            let _ = self.tx.send(Msg::Stop);
            if thread.join().is_err() {
                tracing::error!("the store writer thread panicked");
            }
        }
    }
}

impl Drop for GroupCommit {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The writer thread: takes the first queued write, gathers more for up to [`BATCH_WINDOW`] (or
/// [`MAX_OPS_PER_COMMIT`] ops), commits them in one `apply` and splits the outcomes back.
fn run(apply: &dyn Fn(Vec<Op>) -> ApplyResult, rx: &mpsc::Receiver<Msg>, commits: &AtomicU64) {
    let mut stopping = false;
    while !stopping {
        let first = match rx.recv() {
            Ok(Msg::Write(ops, reply)) => (ops, reply),
            Ok(Msg::Stop) | Err(_) => break,
        };
        let mut total = first.0.len();
        let mut batch = vec![first];
        let window = Instant::now() + BATCH_WINDOW;
        while total < MAX_OPS_PER_COMMIT {
            let next = match rx.try_recv() {
                Ok(msg) => Some(msg),
                // Under load, waiting a fraction of a millisecond for more writes makes each
                // commit (and its fsync) serve many sessions; an idle store pays the wait once.
                Err(_) => rx
                    .recv_timeout(window.saturating_duration_since(Instant::now()))
                    .ok(),
            };
            match next {
                Some(Msg::Write(ops, reply)) => {
                    total += ops.len();
                    batch.push((ops, reply));
                }
                Some(Msg::Stop) => {
                    stopping = true;
                    break;
                }
                None => break,
            }
        }
        commit(apply, batch, total, commits);
    }
}

/// Applies a batch as one transaction and answers each caller with its own outcomes.
fn commit(
    apply: &dyn Fn(Vec<Op>) -> ApplyResult,
    batch: Vec<(Vec<Op>, Reply)>,
    total: usize,
    commits: &AtomicU64,
) {
    let mut ops = Vec::with_capacity(total);
    let mut replies = Vec::with_capacity(batch.len());
    for (mut o, reply) in batch {
        replies.push((o.len(), reply));
        ops.append(&mut o);
    }
    match apply(ops) {
        Ok(outcomes) => {
            commits.fetch_add(1, Ordering::Relaxed);
            let mut it = outcomes.into_iter();
            for (len, reply) in replies {
                let mine: Vec<Outcome> = it.by_ref().take(len).collect();
                // A caller that stopped waiting (its future was dropped) needs no answer.
                let _ = reply.send(Ok(mine));
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "store commit failed");
            for (_, reply) in replies {
                let _ = reply.send(Err(e.clone()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::pin;
    use std::sync::Mutex;
    use std::task::{Context, Poll, Waker};

    use super::*;

    /// An `apply` that answers each `DeleteTask(n)` with `task_id: Some(n)`, so a caller can see
    /// that it got its own outcomes back, and records the size of every batch it commits.
    fn echo(batches: Arc<Mutex<Vec<usize>>>) -> ApplyFn {
        Box::new(move |ops: Vec<Op>| {
            batches.lock().unwrap().push(ops.len());
            Ok(ops.iter().map(echoed).collect())
        })
    }

    fn echoed(op: &Op) -> Outcome {
        let task_id = match op {
            Op::DeleteTask(n) => Some(*n),
            _ => None,
        };
        Outcome::Done {
            revision: None,
            task_id,
        }
    }

    fn ops(ids: &[u64]) -> Vec<Op> {
        ids.iter().copied().map(Op::DeleteTask).collect()
    }

    fn poll_once<F: Future>(f: std::pin::Pin<&mut F>) -> Poll<F::Output> {
        f.poll(&mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn queued_writes_finish_when_the_writer_stops_and_later_ones_are_refused() {
        let batches = Arc::new(Mutex::new(Vec::new()));
        let gc = GroupCommit::start(echo(batches.clone())).unwrap();
        let mut a = pin!(gc.apply(ops(&[1, 2])));
        let mut b = pin!(gc.apply(ops(&[3])));
        let mut c = pin!(gc.apply(ops(&[4, 5, 6])));
        // One poll each enqueues the write and leaves the caller waiting for its answer.
        assert!(poll_once(a.as_mut()).is_pending());
        assert!(poll_once(b.as_mut()).is_pending());
        assert!(poll_once(c.as_mut()).is_pending());
        gc.shutdown();
        let answer = |p: Poll<ApplyResult>| match p {
            Poll::Ready(Ok(outcomes)) => outcomes,
            other => panic!("expected outcomes, got {other:?}"),
        };
        assert_eq!(
            answer(poll_once(a)),
            ops(&[1, 2]).iter().map(echoed).collect::<Vec<_>>()
        );
        assert_eq!(answer(poll_once(b)), vec![echoed(&Op::DeleteTask(3))]);
        assert_eq!(
            answer(poll_once(c)),
            ops(&[4, 5, 6]).iter().map(echoed).collect::<Vec<_>>()
        );
        let batches = batches.lock().unwrap().clone();
        assert_eq!(batches.iter().sum::<usize>(), 6);
        assert_eq!(gc.commits(), batches.len() as u64);
        let late = pin!(gc.apply(ops(&[7])));
        assert!(matches!(
            poll_once(late),
            Poll::Ready(Err(StoreError::Closed))
        ));
    }

    #[test]
    fn a_failed_commit_fails_every_caller_folded_into_it() {
        let gc =
            GroupCommit::start(Box::new(|_| Err(StoreError::Engine("disk full".into())))).unwrap();
        let mut a = pin!(gc.apply(ops(&[1])));
        let mut b = pin!(gc.apply(ops(&[2])));
        assert!(poll_once(a.as_mut()).is_pending());
        assert!(poll_once(b.as_mut()).is_pending());
        gc.shutdown();
        for p in [poll_once(a), poll_once(b)] {
            assert!(matches!(p, Poll::Ready(Err(StoreError::Engine(m))) if m == "disk full"));
        }
        assert_eq!(gc.commits(), 0, "a failed transaction is not a commit");
    }

    #[test]
    fn an_empty_write_commits_nothing() {
        let gc = GroupCommit::start(echo(Arc::default())).unwrap();
        let empty = pin!(gc.apply(Vec::new()));
        assert!(matches!(poll_once(empty), Poll::Ready(Ok(v)) if v.is_empty()));
        gc.shutdown();
        assert_eq!(gc.commits(), 0);
    }

    /// With the queue full (the disk is behind), a caller waits on a blocking thread instead of
    /// failing, and its write is committed once there is room.
    #[test]
    fn a_full_queue_makes_callers_wait_not_fail() {
        let (entered_tx, entered) = mpsc::channel::<()>();
        let (go, go_rx) = mpsc::channel::<()>();
        let gated: ApplyFn = Box::new(move |ops: Vec<Op>| {
            let _ = entered_tx.send(());
            let _ = go_rx.recv();
            Ok(ops.iter().map(echoed).collect())
        });
        let gc = Arc::new(GroupCommit::with_queue(1, gated).unwrap());
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        let spawn = |id: u64| {
            let gc = gc.clone();
            rt.spawn(async move { gc.apply(ops(&[id])).await })
        };
        let first = spawn(1);
        // The writer holds write 1 inside `apply`, so the queue (one slot) is empty again.
        entered.recv_timeout(Duration::from_secs(10)).unwrap();
        let (second, third) = (spawn(2), spawn(3));
        let deadline = Instant::now() + Duration::from_secs(10);
        while gc.full_waits.load(Ordering::Relaxed) == 0 {
            assert!(Instant::now() < deadline, "no caller found the queue full");
            std::thread::sleep(Duration::from_millis(1));
        }
        for _ in 0..3 {
            go.send(()).unwrap();
        }
        for (task, id) in [(first, 1), (second, 2), (third, 3)] {
            let got = rt.block_on(task).unwrap().unwrap();
            assert_eq!(got, vec![echoed(&Op::DeleteTask(id))]);
        }
        assert_eq!(gc.full_waits.load(Ordering::Relaxed), 1);
    }
}
