//! The provisioning half of a session: evaluating presets (events, schedule, precondition),
//! running the planner's batches as jobs until the declarations converge, and recording faults
//! and outcomes per preset channel. Like the rest of the session it does no IO: a step that
//! lacks the tree, the faults or a file's size asks for it (`Need`) before changing anything.

use super::{Need, Now, Read, Session};
use crate::DeviceEvent;
use crate::genie::expr::{self, Val};
use crate::jobs::Job;
use crate::presets::{Configuration, Precondition, Preset};
use crate::provision::script::{Pass, Scripts, Settled};
use crate::provision::{Declaration, Rpc};
use acs_store::{DeviceMeta, FaultRecord, Op, ParamTree, Value};

/// Where the session stands with its presets.
#[derive(Debug)]
pub(super) enum Provisioning {
    /// Not evaluated yet (they run after the queued tasks).
    Pending,
    /// Converging on these declarations, for these channels.
    Active {
        decls: Vec<Declaration>,
        /// The channel of each declaration (the preset's that made it).
        owners: Vec<String>,
        /// The ParameterKey of each channel whose preset names one.
        keys: Vec<(String, String)>,
        budget: crate::provision::Budget,
        channels: Vec<String>,
        /// Only reading what preconditions name, before evaluating them.
        prefetch: bool,
        /// The cycle's script provisions, replayed until they settle (`scripting.rs`); their
        /// declarations follow the first `fixed` ones, which the presets made.
        scripts: Option<Box<Pass>>,
        /// How many of `decls` the presets made.
        fixed: usize,
    },
    /// Converged, failed, or nothing to do.
    Done,
}

impl Provisioning {
    /// Hands an extension's answer to the scripts that asked for it.
    pub(super) fn ext_result(
        &mut self,
        key: &str,
        answer: Result<serde_json::Value, script::Fault>,
    ) {
        if let Self::Active {
            scripts: Some(pass),
            ..
        } = self
        {
            pass.ext_result(key, answer);
        }
    }
}

/// GenieACS's `retryNow`: a channel that faults for the first time in a run of several
/// channels is run again alone, at once, in the same session (the fault may have been another
/// channel's doing; GenieACS cannot tell, as it faults every channel of the run). Fibreplane
/// attributes faults to their own channel, but retries the same way, so a channel's `retries`
/// after a session are GenieACS's: 1 for a channel that faults again alone, and no fault for
/// one that then succeeds.
#[derive(Debug, Default)]
pub(super) struct RetryNow {
    /// Channels waiting to run alone.
    queue: std::collections::VecDeque<String>,
    /// The channel running alone now.
    only: Option<String>,
    /// Whether the presets being run belong to more than one channel.
    several: bool,
}

impl RetryNow {
    /// Queues a channel's first fault of a run of several channels.
    pub(super) fn note_fault(&mut self, record: &FaultRecord) {
        if record.retries == 0
            && self.several
            && self.only.is_none()
            && !self.queue.contains(&record.channel)
        {
            self.queue.push_back(record.channel.clone());
        }
    }
}

impl Session {
    /// Queues the next provisioning RPCs, if presets still want any; `Ok(false)` when there is
    /// nothing (left) to do, not even a channel to retry alone (`RetryNow`).
    pub(super) fn provision_step(&mut self, now: Now) -> Result<bool, Need> {
        loop {
            if self.provision_cycle(now)? {
                return Ok(true);
            }
            let Some(channel) = self.retry.queue.pop_front() else {
                return Ok(false);
            };
            self.retry.only = Some(channel);
            self.provisioning = Provisioning::Pending;
        }
    }

    /// Queues the next RPCs of the presets' cycles; `Ok(false)` when they are over. Presets are
    /// evaluated after the queued tasks, and again after every cycle that changed the device
    /// (their preconditions may now say otherwise), as GenieACS does.
    fn provision_cycle(&mut self, now: Now) -> Result<bool, Need> {
        loop {
            if matches!(self.provisioning, Provisioning::Pending) {
                if self.events.is_empty() || self.presets.is_none() {
                    self.provisioning = Provisioning::Done;
                    return Ok(false);
                }
                self.changed |= self.start_provisioning(now)?;
                if matches!(self.provisioning, Provisioning::Done) {
                    if self.next_cycle(now) {
                        continue;
                    }
                    return Ok(false);
                }
            }
            if matches!(self.provisioning, Provisioning::Done) {
                return Ok(false);
            }
            self.script_step(now)?;
            let tree = self.tree.as_ref().ok_or(Need(Read::Tree))?;
            let Provisioning::Active {
                decls,
                owners,
                keys,
                budget,
                channels,
                prefetch,
                scripts,
                ..
            } = &mut self.provisioning
            else {
                return Ok(false);
            };
            let batch = crate::provision::next_batch(tree, decls);
            // A declared Download names a file whose size goes into the RPC.
            if let Some(name) = batch.iter().find_map(|rpc| match rpc {
                Rpc::Download { file_name, .. } if !self.files.contains_key(file_name) => {
                    Some(file_name.clone())
                }
                _ => None,
            }) {
                return Err(Need(Read::File(name)));
            }
            let channel = channels
                .first()
                .cloned()
                .unwrap_or_else(|| "default".into());
            self.last_channel.clone_from(&channel);
            if batch.is_empty() && *prefetch {
                // What the preconditions read is known now: evaluate them.
                self.provisioning = Provisioning::Pending;
                continue;
            }
            if batch.is_empty()
                && let Some(pass) = scripts
            {
                // The scripts' declarations are synced: run them one revision further, unless
                // every one has completed.
                match pass.advance() {
                    Ok(Settled::Running) => continue,
                    Ok(Settled::Done) => {}
                    Err(message) => {
                        self.provisioning = Provisioning::Done;
                        self.record_fault(now, &channel, "too_many_commits", &message);
                        return Ok(false);
                    }
                }
            }
            if batch.is_empty() {
                // Converged: every channel's old fault goes, as in GenieACS.
                let ops = channels
                    .iter()
                    .map(|c| Op::DeleteFault {
                        device: self.device.clone(),
                        channel: c.clone(),
                    })
                    .collect();
                self.push_fault_ops(ops);
                self.note_converged();
                self.provisioning = Provisioning::Done;
                if self.next_cycle(now) {
                    continue;
                }
                return Ok(false);
            }
            if let Err(e) = budget.charge(&batch) {
                let message = e.to_string();
                let code = message
                    .split(':')
                    .next()
                    .unwrap_or("too_many_rpcs")
                    .to_owned();
                self.provisioning = Provisioning::Done;
                self.record_fault(now, &channel, &code, &message);
                return Ok(false);
            }
            self.changed |= batch.iter().any(|r| !r.is_read());
            let (files, base) = (&self.files, &self.policy.file_server_url);
            let file = |name: &str| {
                let size = files.get(name).copied().unwrap_or(0);
                (file_url(base, name), size)
            };
            // Each RPC runs on the channel of the preset that declared what it serves (a list
            // RPC is split where its items belong to different channels), so a fault backs off
            // that preset only; GenieACS cannot tell and faults every channel of the session.
            let owner = |rpc: &Rpc| {
                decls
                    .iter()
                    .zip(owners.iter())
                    .find(|(d, _)| crate::provision::declares(d, rpc))
                    .map_or_else(|| channel.clone(), |(_, c)| c.clone())
            };
            let mut grouped: Vec<(String, Rpc)> = Vec::new();
            for rpc in &batch {
                let mut parts = rpc.split_items().into_iter();
                let Some(first) = parts.next() else { continue };
                let mut current = (owner(&first), first);
                for item in parts {
                    let o = owner(&item);
                    if o == current.0
                        && let Err(back) = current.1.absorb(item.clone())
                    {
                        grouped.push(std::mem::replace(&mut current, (o, back)));
                    } else if o != current.0 {
                        grouped.push(std::mem::replace(&mut current, (o, item)));
                    }
                }
                grouped.push(current);
            }
            for (c, rpc) in &grouped {
                let key = keys.iter().find(|(k, _)| k == c).map(|(_, v)| v.as_str());
                self.jobs.push_back(Job::provision(rpc, c, &file, key));
            }
            return Ok(true);
        }
    }

    /// Notes that the active channels converged in this cycle.
    fn note_converged(&mut self) {
        if let Provisioning::Active { channels, .. } = &self.provisioning {
            for c in channels {
                if !self.converged.contains(c) {
                    self.converged.push(c.clone());
                }
            }
        }
    }

    /// Tells listeners (the provisioner) which channels converged in this session, with what
    /// they wrote; called once, when the session has nothing left to do.
    pub(super) fn publish_converged(&mut self) {
        for channel in std::mem::take(&mut self.converged) {
            let written = self
                .written
                .iter()
                .filter(|(c, _, _)| *c == channel)
                .map(|(_, p, s)| (p.clone(), *s))
                .collect();
            self.outbox.events.push(DeviceEvent::ChannelConverged {
                device: self.device.clone(),
                channel,
                written,
                parameter_key: self.meta.parameter_key.clone(),
            });
        }
    }

    /// After a preset cycle: when it changed the device, evaluates the presets again, up to
    /// GenieACS's four cycles; presets still changing things then fault with `preset_loop`.
    fn next_cycle(&mut self, now: Now) -> bool {
        // A task's provisions run once; the presets are evaluated after it.
        if self.running_task() {
            return false;
        }
        if !std::mem::take(&mut self.changed) {
            return false;
        }
        self.cycles += 1;
        if self.cycles >= crate::presets::MAX_CYCLES {
            let channel = self.last_channel.clone();
            self.record_fault(
                now,
                &channel,
                "preset_loop",
                "The presets are stuck in an endless configuration loop",
            );
            return false;
        }
        self.provisioning = Provisioning::Pending;
        true
    }

    /// Evaluates the presets for this Inform: events and schedule, then precondition (after
    /// reading the parameters it names, if they are not known yet), then configurations. Sets
    /// `provisioning` to what comes next and returns whether it changed the device's tags.
    fn start_provisioning(&mut self, now: Now) -> Result<bool, Need> {
        let Some(presets) = self.presets.clone() else {
            self.provisioning = Provisioning::Done;
            return Ok(false);
        };
        let now_ms = self.started_ms;
        let applicable: Vec<&Preset> = presets
            .for_device(self.device.as_str())
            .into_iter()
            .filter(|p| p.events_match(&self.events) && p.scheduled(now_ms))
            .collect();
        if applicable.is_empty() {
            self.provisioning = Provisioning::Done;
            return Ok(false);
        }
        let needs_tree = applicable.iter().any(|p| match &p.precondition {
            Some(Precondition::Query(q)) => q.needs_tree(),
            Some(Precondition::Expr(_)) => !p.precondition_params().is_empty(),
            None => false,
        } || !p.configurations.is_empty());
        if needs_tree && self.tree.is_none() {
            return Err(Need(self.preset_read(&applicable, &presets.scripts)));
        }
        if self.faults.is_none() {
            return Err(Need(Read::Faults));
        }
        let empty = ParamTree::default();
        if !self.prefetched {
            self.prefetched = true;
            if let Some(active) = prefetch(&applicable, self.tree.as_ref().unwrap_or(&empty)) {
                self.provisioning = active;
                return Ok(false);
            }
        }
        // A channel that faulted is left alone until its retry time, 300 s × 2^retries after the
        // fault, as GenieACS's `cwmp.retryDelay` does.
        let faults = self.faults.as_deref().unwrap_or_default();
        let waiting = |channel: &str| {
            faults.iter().any(|f| {
                f.channel == channel
                    && now_ms < f.timestamp_ms + crate::presets::retry_delay_ms(f.retries)
            })
        };
        let tree = self.tree.as_ref().unwrap_or(&empty);
        // The device document is built only for a legacy query precondition that reads it:
        // for a big tree it costs more than the rest of a periodic session.
        let mut doc: Option<crate::genie::doc::Node> = None;
        let facts = Facts {
            meta: &self.meta,
            tree,
            events: &self.events,
            now_ms,
        };
        let (mut decls, mut channels, mut new_faults) = (Vec::new(), Vec::new(), Vec::new());
        let mut owners = Vec::new();
        // The channels whose presets run in this cycle.
        let mut running: Vec<String> = Vec::new();
        let mut keys: Vec<(String, String)> = Vec::new();
        let mut tags = self.meta.tags.clone();
        let mut provisions = Vec::new();
        let mut requests = Vec::new();
        for p in applicable {
            let holds = match &p.precondition {
                None => true,
                Some(Precondition::Query(q)) => q.matches(
                    doc.get_or_insert_with(|| crate::genie::doc::device(&self.meta, tree)),
                ),
                Some(Precondition::Expr(e)) => e.eval(&facts).truthy(),
            };
            let alone = self.retry.only.as_deref();
            if alone.is_some_and(|c| c != p.channel) {
                continue;
            }
            // A channel retried alone runs despite the fault it just got.
            if !holds || (waiting(&p.channel) && alone.is_none()) {
                continue;
            }
            if !running.contains(&p.channel) {
                running.push(p.channel.clone());
            }
            if let Some(why) = &p.unsupported {
                new_faults.push((p.channel.clone(), "preset", why.clone()));
                continue;
            }
            // GenieACS's `refresh` (an `age` configuration too) parses its path and throws on
            // a trailing dot, which faults the preset's channel as a script error.
            let dotted = |c: &Configuration| matches!(c, Configuration::Refresh { path, .. } if path.ends_with('.'));
            if p.configurations.iter().any(dotted) {
                let why = "Invalid parameter path".to_owned();
                new_faults.push((p.channel.clone(), "script.Error", why));
                continue;
            }
            for c in &p.configurations {
                match c {
                    Configuration::Tag { tag, add } if *add => {
                        tags.insert(tag.clone());
                    }
                    Configuration::Tag { tag, .. } => {
                        tags.remove(tag);
                    }
                    Configuration::Script { name, args } => {
                        provisions.push((p.channel.clone(), name.clone(), args.clone()));
                        if !channels.contains(&p.channel) {
                            channels.push(p.channel.clone());
                        }
                    }
                    // A virtual parameter's value or refresh is its script's to carry out.
                    other => {
                        requests.extend(
                            other
                                .virtual_request(now_ms)
                                .map(|d| (p.channel.clone(), d)),
                        );
                    }
                }
            }
            if let Some(k) = &p.parameter_key
                && !keys.iter().any(|(c, _)| *c == p.channel)
            {
                keys.push((p.channel.clone(), k.clone()));
            }
            let made = p.declarations(now_ms, tree);
            owners.extend(std::iter::repeat_n(p.channel.clone(), made.len()));
            decls.extend(made);
            if !channels.contains(&p.channel) {
                channels.push(p.channel.clone());
            }
        }
        self.retry.several = running.len() > 1;
        for (channel, code, why) in new_faults {
            self.record_fault(now, &channel, code, &why);
        }
        let tags_changed = tags != self.meta.tags;
        if tags_changed {
            self.meta.tags = tags;
            self.outbox.meta_dirty = true;
        }
        if let Some(c) = channels.first() {
            self.last_channel.clone_from(c);
        }
        let scripts = (!provisions.is_empty() || !requests.is_empty()).then(|| {
            Box::new(Pass::new(presets.scripts.clone(), provisions).with_requests(requests))
        });
        self.provisioning = if decls.is_empty() && scripts.is_none() {
            Provisioning::Done
        } else {
            Provisioning::Active {
                fixed: decls.len(),
                decls,
                owners,
                keys,
                budget: crate::provision::Budget::default(),
                channels,
                prefetch: false,
                scripts,
            }
        };
        Ok(tags_changed)
    }

    /// The tree read the applicable presets need: the nodes their configurations, their
    /// preconditions and their scripts (as far as earlier runs showed) read, with the root
    /// object and the virtual parameters; the whole tree for a legacy query precondition or
    /// scripts that have not run yet. A few nodes instead of a 6,400-parameter tree is most of
    /// a scripted periodic session's cost (`benches/README.md`, "Scripts in sessions").
    fn preset_read(&self, applicable: &[&Preset], scripts: &Scripts) -> Read {
        use crate::provision::scope;
        let mut s = acs_store::TreeScope::new();
        s.add(
            acs_store::scope_segments(self.meta.root.trim_end_matches('.')),
            false,
        );
        scope::add(&mut s, crate::provision::script::VIRTUAL);
        let empty = ParamTree::default();
        let mut scripted = false;
        for p in applicable {
            match &p.precondition {
                Some(Precondition::Query(q)) if q.needs_tree() => return Read::Tree,
                // Every parameter the expression names, wildcards included (the prefetch
                // leaves those out, the evaluation reads them).
                Some(Precondition::Expr(e)) => {
                    for path in e.params() {
                        scope::add(&mut s, path);
                    }
                }
                _ => {}
            }
            scripted |= p
                .configurations
                .iter()
                .any(|c| matches!(c, Configuration::Script { .. }) || c.names_virtual());
            for d in p.declarations(self.started_ms, &empty) {
                scope::add(&mut s, &d.path);
            }
        }
        if scripted && !scripts.learned.add_to(&mut s) {
            return Read::Tree;
        }
        Read::ScopedTree(s)
    }

    /// Records a fault on a preset channel (GenieACS's `<device>:<channel>` fault); a channel
    /// that faults again counts one more retry, which doubles its wait. The faults have been
    /// read by then: presets are evaluated only after they are.
    fn record_fault(&mut self, now: Now, channel: &str, code: &str, message: &str) {
        tracing::warn!(device = %self.device, %channel, %code, %message, "preset fault");
        let record = FaultRecord {
            device: self.device.clone(),
            channel: channel.to_owned(),
            task_id: None,
            code: code.to_owned(),
            message: message.to_owned(),
            detail: String::new(),
            retries: self.next_retries(channel),
            timestamp_ms: now.ms,
        };
        self.channel_fault(record);
    }
}

/// The declarations that read what the applicable presets' preconditions name, when some of it
/// is not known yet (GenieACS fetches those parameters before evaluating).
fn prefetch(applicable: &[&Preset], tree: &ParamTree) -> Option<Provisioning> {
    let mut channels = Vec::new();
    let mut decls = Vec::new();
    let mut owners = Vec::new();
    for p in applicable {
        for path in p.precondition_params() {
            let mut d = Declaration::new(path);
            d.value_fresh_ms = Some(i64::MIN);
            decls.push(d);
            owners.push(p.channel.clone());
            if !channels.contains(&p.channel) {
                channels.push(p.channel.clone());
            }
        }
    }
    if decls.is_empty() || crate::provision::next_batch(tree, &decls).is_empty() {
        return None;
    }
    Some(Provisioning::Active {
        fixed: decls.len(),
        decls,
        owners,
        keys: Vec::new(),
        budget: crate::provision::Budget::default(),
        channels,
        prefetch: true,
        scripts: None,
    })
}

/// What a precondition expression reads: GenieACS's pseudo-parameters (`DeviceID.*`, `Tags.*`,
/// `Events.*`) and the device's parameters.
struct Facts<'a> {
    meta: &'a DeviceMeta,
    tree: &'a ParamTree,
    events: &'a [String],
    now_ms: i64,
}

impl expr::Facts for Facts<'_> {
    fn value(&self, path: &str) -> Val {
        let id = &self.meta.identity;
        let text = |s: &str| Val::Str(s.to_owned());
        let date = |ms: Option<i64>| {
            ms.filter(|t| *t > 0)
                .map_or(Val::Null, |t| Val::Num(t as f64))
        };
        if let Some(field) = path.strip_prefix("DeviceID.") {
            return match field {
                "ID" => text(self.meta.id.as_str()),
                "Manufacturer" => text(&id.manufacturer),
                "OUI" => text(&id.oui),
                "ProductClass" => text(&id.product_class),
                "SerialNumber" => text(&id.serial_number),
                _ => Val::Null,
            };
        }
        if let Some(tag) = path.strip_prefix("Tags.") {
            return if self.meta.tags.contains(&decode_tag(tag)) {
                Val::Bool(true)
            } else {
                Val::Null
            };
        }
        if let Some(event) = path.strip_prefix("Events.") {
            // An event of this Inform happened now; otherwise the last time it was recorded.
            let code = event.replace('_', " ");
            if self.events.contains(&code) {
                return Val::Num(self.now_ms as f64);
            }
            return match event {
                "Inform" => date(Some(self.meta.last_inform_ms)),
                "Registered" => date(Some(self.meta.registered_ms)),
                "1_BOOT" => date(self.meta.last_boot_ms),
                "0_BOOTSTRAP" => date(self.meta.last_bootstrap_ms),
                _ => Val::Null,
            };
        }
        match self.tree.get(path).and_then(|p| p.value.as_ref()) {
            None => Val::Null,
            Some(Value::Boolean(b)) => Val::Bool(*b),
            Some(Value::Int(n) | Value::Long(n)) => Val::Num(*n as f64),
            Some(Value::UnsignedInt(n) | Value::UnsignedLong(n)) => Val::Num(*n as f64),
            Some(Value::DateTime(s)) => {
                crate::genie::date::parse(s).map_or_else(|| text(s), |ms| Val::Num(ms as f64))
            }
            Some(other) => Val::Str(other.text().into_owned()),
        }
    }

    fn now_ms(&self) -> i64 {
        self.now_ms
    }
}

/// GenieACS's tag encoding in `Tags.<tag>` paths: `0x` and two hex digits stand for a byte.
fn decode_tag(encoded: &str) -> String {
    let b = encoded.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 2..i + 4)
            .and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
        match hex {
            Some(byte) if b[i] == b'0' && b[i + 1] == b'x' => {
                out.push(byte);
                i += 4;
            }
            _ => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Where a CPE fetches a file named in a declared Download: the file server's URL for it.
pub(super) fn file_url(base: &str, name: &str) -> String {
    format!("{}/{}", base.trim_end_matches('/'), encode_uri(name))
}

/// JavaScript's `encodeURI`, which GenieACS applies to file names in Download URLs.
fn encode_uri(s: &str) -> String {
    const KEEP: &[u8] = b";,/?:@&=+$-_.!~*'()#";
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || KEEP.contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_decode_and_file_names_encode_as_genieacs_does() {
        assert_eq!(decode_tag("my0x20tag"), "my tag");
        assert_eq!(decode_tag("0x2"), "0x2");
        assert_eq!(decode_tag("plain"), "plain");
        assert_eq!(encode_uri("fw v2/ä.bin"), "fw%20v2/%C3%A4.bin");
    }
}
