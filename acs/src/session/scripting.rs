//! The script half of a session's provisioning: running the cycle's script provisions (and the
//! virtual parameters they declare) when they are due, and folding what they produced into the
//! session — their declarations replace the scripts' previous ones in the planner's list,
//! computed virtual parameters are written to the tree, tags and faults recorded, and an
//! `ext()` call is asked of the driver like a read. No IO: the engine runs in the calling
//! thread under its CPU and heap caps.

use super::provisioning::Provisioning;
use super::{Need, Now, Read, Session};
use crate::provision::script::{TreeView, VIRTUAL};
use acs_store::{FaultRecord, Op};

impl Session {
    /// Runs the scripts if they are due; afterwards the planner's declarations are current.
    pub(super) fn script_step(&mut self, now: Now) -> Result<(), Need> {
        let due = matches!(&self.provisioning, Provisioning::Active { scripts: Some(p), .. } if p.is_due());
        if !due {
            return Ok(());
        }
        let Some(tree) = self.tree.take() else {
            return Err(Need(Read::Tree));
        };
        let Provisioning::Active {
            scripts: Some(pass),
            decls,
            owners,
            fixed,
            channels,
            ..
        } = &mut self.provisioning
        else {
            self.tree = Some(tree);
            return Ok(());
        };
        // Over a scoped tree the step may read outside the scope (a script's first run in
        // this process, or a branch not taken before): it is then taken back and run again
        // over the whole tree, which gives the same result as running there at once (a run
        // depends only on the device, the session clock and its arguments).
        let before = self.tree_scope.is_some().then(|| pass.clone());
        let view = TreeView::new(tree, &self.meta);
        let (view, mut result) = pass.step(view, &self.meta, self.started_ms);
        let reads = view.reads(&result);
        pass.learned().record(reads.iter().map(String::as_str));
        if let (Some(scope), Some(before)) = (&self.tree_scope, before)
            && !reads
                .iter()
                .all(|p| crate::provision::scope::covers(scope, p))
        {
            tracing::debug!(device = %self.device, "scripts read outside their scope; re-run over the whole tree");
            **pass = *before;
            self.tree = None;
            self.tree_scope = None;
            return Err(Need(Read::Tree));
        }
        self.tree = Some(view.tree);
        decls.truncate(*fixed);
        owners.truncate(*fixed);
        for (channel, d) in result.declarations {
            owners.push(channel);
            decls.push(d);
        }
        // A faulted channel does not converge in this cycle: its fault stays.
        channels.retain(|c| !result.faults.iter().any(|f| f.0 == *c));
        for line in &result.logs {
            tracing::info!(device = %self.device, "{line}");
        }
        // What `clear()` forgot is gone from the session's tree already; the store follows.
        for cleared in result.cleared.drain(..) {
            self.outbox.ops.push(Op::UpdateTree {
                id: self.device.clone(),
                set: cleared.set,
                remove_subtrees: cleared.remove,
            });
        }
        if !(result.virtual_values.is_empty() && result.declared_virtual.is_empty())
            && let Some(tree) = &self.tree
        {
            // The tree already holds them (the scripts read them at once); the store gets the
            // same nodes.
            let mut set = Vec::new();
            if let Some(object) = tree.get(VIRTUAL) {
                set.push((VIRTUAL.to_owned(), object.clone()));
            }
            let names = result.virtual_values.iter().map(|(n, _)| n);
            for name in names.chain(&result.declared_virtual) {
                let path = format!("{VIRTUAL}.{name}");
                if let Some(node) = tree.get(&path) {
                    set.push((path, node.clone()));
                }
            }
            self.outbox.ops.push(Op::UpdateTree {
                id: self.device.clone(),
                set,
                remove_subtrees: Vec::new(),
            });
        }
        for (tag, present) in result.tags {
            let changed = if present {
                self.meta.tags.insert(tag)
            } else {
                self.meta.tags.remove(&tag)
            };
            self.outbox.meta_dirty |= changed;
        }
        for (channel, code, message, detail) in result.faults {
            tracing::warn!(device = %self.device, %channel, %code, %message, "script fault");
            let record = FaultRecord {
                device: self.device.clone(),
                channel: channel.clone(),
                task_id: None,
                code,
                message,
                detail,
                retries: self.next_retries(&channel),
                timestamp_ms: now.ms,
            };
            self.channel_fault(record);
        }
        match result.ext {
            Some(call) => Err(Need(Read::Extension(call))),
            None => Ok(()),
        }
    }
}
