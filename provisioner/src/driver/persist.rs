//! Persistence of the engine's dirty records: store ops, written in order by one task.

use crate::state;
use acs::Acs;
use acs::store::Op;
use std::sync::Arc;
use tokio::sync::mpsc;

/// The store ops of a batch of dirty records.
pub(super) fn dirty_ops(d: crate::engine::Dirty) -> Vec<Op> {
    let doc = |collection: &str, name: &str, body: Vec<u8>| Op::PutDoc {
        collection: collection.to_owned(),
        name: name.to_owned(),
        body,
    };
    let del = |collection: &str, name: &str| Op::DeleteDoc {
        collection: collection.to_owned(),
        name: name.to_owned(),
    };
    let mut ops = Vec::new();
    for s in d.devices {
        ops.push(doc(
            state::DEVICES,
            &s.device,
            serde_json::to_vec(&s).unwrap_or_default(),
        ));
    }
    for w in d.outbox {
        ops.push(doc(
            state::OUTBOX,
            w.equipment.as_str(),
            serde_json::to_vec(&w).unwrap_or_default(),
        ));
    }
    for n in d.outbox_done {
        ops.push(del(state::OUTBOX, n.as_str()));
    }
    for r in d.records {
        let body = serde_json::json!({ "data": r.to_row().to_json() })
            .to_string()
            .into_bytes();
        ops.push(doc(state::RECORDS, r.name.as_str(), body));
    }
    for n in d.records_gone {
        ops.push(del(state::RECORDS, n.as_str()));
    }
    if let Some(m) = d.mark {
        ops.push(doc(
            state::SYNC,
            state::SYNC_DOC,
            serde_json::to_vec(&m).unwrap_or_default(),
        ));
    }
    ops
}

/// Writes queued records in order, several batches per store write when they pile up; at
/// shutdown, writes whatever is still queued.
pub(super) async fn persist_loop(
    acs: Arc<Acs>,
    mut rx: mpsc::UnboundedReceiver<Vec<Op>>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let (mut ops, last) = tokio::select! {
            first = rx.recv() => match first {
                Some(first) => (first, false),
                None => return,
            },
            _ = stop.changed() => (Vec::new(), true),
        };
        while let Ok(more) = rx.try_recv() {
            ops.extend(more);
            if ops.len() > 2000 && !last {
                break;
            }
        }
        if !ops.is_empty()
            && let Err(e) = acs.write(ops).await
        {
            tracing::error!(error = %e, "could not store provisioning state");
        }
        if last {
            return;
        }
    }
}
