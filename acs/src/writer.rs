//! Group commit: one thread owns the store's write path and folds every write that arrives while
//! a commit is in flight into the next transaction.
//!
//! redb (like most embedded engines) allows one writer at a time and pays one fsync per commit.
//! Thousands of sessions a second each wanting a durable write would queue behind each other's
//! fsyncs; batching them makes the fsync cost per session fall as load rises, while every caller
//! still waits until its own write is durable before it answers the CPE or the API.

use crate::AcsError;
use acs_store::{DeviceStore, Op, Outcome, StoreError};
use std::sync::Arc;
use std::sync::mpsc;
use tokio::sync::oneshot;

/// Most ops folded into one transaction, so one commit cannot grow without bound.
const MAX_OPS_PER_COMMIT: usize = 20_000;
/// How long the writer waits for more writes to join a commit.
const BATCH_WINDOW: std::time::Duration = std::time::Duration::from_micros(500);

type Reply = oneshot::Sender<Result<Vec<Outcome>, StoreError>>;

/// A handle to the writer thread. When it is dropped, the thread finishes the writes already
/// queued and exits, and the drop waits for that, so the store is closed when the ACS is gone.
pub(crate) struct Writer {
    tx: Option<mpsc::SyncSender<(Vec<Op>, Reply)>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Writer {
    /// Starts the writer thread over `store`.
    pub(crate) fn start(store: Arc<dyn DeviceStore>) -> Result<Self, AcsError> {
        let (tx, rx) = mpsc::sync_channel::<(Vec<Op>, Reply)>(65_536);
        let thread = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || run(&*store, &rx))?;
        Ok(Self {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    /// Applies `ops` durably (in one transaction with whatever else is pending) and returns
    /// their outcomes in order.
    pub(crate) async fn apply(&self, ops: Vec<Op>) -> Result<Vec<Outcome>, StoreError> {
        if ops.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, rx) = oneshot::channel();
        // The channel is bounded; a full queue means the disk cannot keep up, and waiting on a
        // blocking thread keeps the tokio workers free.
        let stopped = || StoreError::Engine("store writer stopped".into());
        let Some(tx) = self.tx.clone() else {
            return Err(stopped());
        };
        let sent = match tx.try_send((ops, reply)) {
            Ok(()) => Ok(()),
            Err(mpsc::TrySendError::Full(item)) => {
                tokio::task::spawn_blocking(move || tx.send(item).map_err(|_| ()))
                    .await
                    .map_err(|_| ())
                    .and_then(|r| r)
            }
            Err(mpsc::TrySendError::Disconnected(_)) => Err(()),
        };
        sent.map_err(|()| stopped())?;
        rx.await.map_err(|_| stopped())?
    }
}

fn run(store: &dyn DeviceStore, rx: &mpsc::Receiver<(Vec<Op>, Reply)>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        let mut total = batch[0].0.len();
        let window = std::time::Instant::now() + BATCH_WINDOW;
        while total < MAX_OPS_PER_COMMIT {
            let next = match rx.try_recv() {
                Ok(item) => Some(item),
                // Under load, waiting a fraction of a millisecond for more writes makes each
                // commit (and its fsync) serve many sessions; an idle ACS pays the wait once.
                Err(_) => rx
                    .recv_timeout(window.saturating_duration_since(std::time::Instant::now()))
                    .ok(),
            };
            match next {
                Some(item) => {
                    total += item.0.len();
                    batch.push(item);
                }
                None => break,
            }
        }
        let mut ops = Vec::with_capacity(total);
        let mut replies = Vec::with_capacity(batch.len());
        for (mut o, reply) in batch {
            replies.push((o.len(), reply));
            ops.append(&mut o);
        }
        match store.apply(ops) {
            Ok(outcomes) => {
                let mut it = outcomes.into_iter();
                for (n, reply) in replies {
                    let mine: Vec<Outcome> = it.by_ref().take(n).collect();
                    let _ = reply.send(Ok(mine));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "store commit failed");
                for (_, reply) in replies {
                    let _ = reply.send(Err(StoreError::Engine(e.to_string())));
                }
            }
        }
    }
}
