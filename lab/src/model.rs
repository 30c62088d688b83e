//! One CPE's data model: copy-on-write over the shared [`BaseModel`].
//!
//! A CPE stores only its overrides (changed values, added instances, deleted subtrees and
//! attributes), so an untouched CPE costs a few hundred bytes whatever the size of the tree.
//! Reads merge the overrides over the base and substitute the CPE's identity (serial number,
//! MAC addresses, connection-request URL). The RPC semantics live in `model_rpc.rs`.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use cwmp::XsdType;

use crate::base::{BaseModel, Ident, substitute_macs};

/// The per-CPE identity substituted into base values at read time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// `DeviceInfo.SerialNumber`.
    pub serial: String,
    /// The CPE's 24-bit MAC block; its interfaces use `base..base + 8`.
    pub mac_base: u32,
    /// `ManagementServer.ConnectionRequestURL`.
    pub cr_url: String,
}

/// An object or parameter the CPE created with AddObject.
#[derive(Debug, Clone)]
pub(crate) struct Extra {
    pub(crate) object: bool,
    pub(crate) writable: bool,
    pub(crate) value: String,
    pub(crate) xsd: XsdType,
}

/// Notification and access list of one parameter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Attr {
    pub(crate) notification: u32,
    pub(crate) access_list: Vec<String>,
}

/// A node of the merged view: either a base node or one the CPE added.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Entry<'a> {
    Base(u32),
    Added(&'a str, &'a Extra),
}

/// One virtual CPE's data model.
#[derive(Debug, Clone)]
pub struct CpeModel {
    pub(crate) base: Arc<BaseModel>,
    pub(crate) identity: Identity,
    /// Overridden base values, keyed by base index.
    pub(crate) values: HashMap<u32, String>,
    /// Nodes created by AddObject, keyed by path without a trailing dot.
    pub(crate) added: BTreeMap<String, Extra>,
    /// Base instances removed by DeleteObject (their whole subtree is gone).
    pub(crate) deleted: BTreeSet<String>,
    pub(crate) attrs: HashMap<String, Attr>,
    /// Highest instance number ever handed out per table, so numbers are never reused.
    pub(crate) last_instance: HashMap<String, u32>,
    /// Diagnostics tests in flight (see `diag`).
    pub(crate) diag: crate::diag::DiagRuns,
}

impl CpeModel {
    /// A pristine CPE over `base` with the given identity.
    pub fn new(base: Arc<BaseModel>, identity: Identity) -> Self {
        Self {
            base,
            identity,
            values: HashMap::new(),
            added: BTreeMap::new(),
            deleted: BTreeSet::new(),
            attrs: HashMap::new(),
            last_instance: HashMap::new(),
            diag: crate::diag::DiagRuns::default(),
        }
    }

    /// The shared base tree.
    pub fn base(&self) -> &Arc<BaseModel> {
        &self.base
    }

    /// The CPE's identity.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// Forgets every override: the state after a factory reset.
    pub fn factory_reset(&mut self) {
        self.values.clear();
        self.added.clear();
        self.deleted.clear();
        self.attrs.clear();
        self.last_instance.clear();
        self.diag.clear();
    }

    /// A root-relative path (`ManagementServer.ParameterKey` → `Device.ManagementServer…`).
    pub fn rel(&self, rel: &str) -> String {
        format!("{}.{rel}", self.base.root())
    }

    /// The unmasked value of parameter `path` (no trailing dot), or `None` if it does not exist
    /// or is an object.
    pub fn get(&self, path: &str) -> Option<String> {
        let e = self.lookup(path)?;
        (!self.is_object(e)).then(|| self.value(e).into_owned())
    }

    /// Sets an existing parameter regardless of writability (a local change on the device).
    /// Returns false if `path` is not a parameter.
    pub fn set_local(&mut self, path: &str, value: &str) -> bool {
        let base = match self.lookup(path) {
            Some(e) if !self.is_object(e) => {
                matches!(e, Entry::Base(_)).then(|| self.base.find(path))
            }
            _ => return false,
        };
        match base {
            Some(Some(i)) => {
                self.values.insert(i, value.to_owned());
            }
            _ => {
                if let Some(x) = self.added.get_mut(path) {
                    x.value = value.to_owned();
                }
            }
        }
        true
    }

    /// Finds `path` (no trailing dot) in the merged view; `""` is not a node.
    pub(crate) fn lookup(&self, path: &str) -> Option<Entry<'_>> {
        if path.is_empty() || self.is_deleted(path) {
            return None;
        }
        if let Some(i) = self.base.find(path) {
            return Some(Entry::Base(i));
        }
        self.added
            .get_key_value(path)
            .map(|(k, x)| Entry::Added(k, x))
    }

    /// Whether `path` lies in a deleted base subtree.
    fn is_deleted(&self, path: &str) -> bool {
        if self.deleted.is_empty() {
            return false;
        }
        let mut end = path.len();
        loop {
            if self.deleted.contains(&path[..end]) {
                return true;
            }
            match path[..end].rfind('.') {
                Some(dot) => end = dot,
                None => return false,
            }
        }
    }

    pub(crate) fn path<'a>(&'a self, e: Entry<'a>) -> &'a str {
        match e {
            Entry::Base(i) => &self.base.node(i).path,
            Entry::Added(p, _) => p,
        }
    }

    pub(crate) fn is_object(&self, e: Entry<'_>) -> bool {
        match e {
            Entry::Base(i) => self.base.node(i).object,
            Entry::Added(_, x) => x.object,
        }
    }

    pub(crate) fn writable(&self, e: Entry<'_>) -> bool {
        match e {
            Entry::Base(i) => self.base.node(i).writable,
            Entry::Added(_, x) => x.writable,
        }
    }

    pub(crate) fn xsd<'a>(&'a self, e: Entry<'a>) -> &'a XsdType {
        match e {
            Entry::Base(i) => &self.base.node(i).xsd,
            Entry::Added(_, x) => &x.xsd,
        }
    }

    /// The current value with identity substitution applied.
    pub(crate) fn value<'a>(&'a self, e: Entry<'a>) -> Cow<'a, str> {
        match e {
            Entry::Added(_, x) => Cow::Borrowed(&x.value),
            Entry::Base(i) => {
                if let Some(v) = self.values.get(&i) {
                    return Cow::Borrowed(v);
                }
                let n = self.base.node(i);
                match n.ident {
                    Ident::None => Cow::Borrowed(&n.value),
                    Ident::Serial => Cow::Borrowed(&self.identity.serial),
                    Ident::CrUrl => Cow::Borrowed(&self.identity.cr_url),
                    Ident::Mac => match self.base.mac_prefix() {
                        Some(p) => Cow::Owned(substitute_macs(&n.value, p, self.identity.mac_base)),
                        None => Cow::Borrowed(&n.value),
                    },
                }
            }
        }
    }

    /// Every node strictly below `path` (`""` = everything), base and added merged in path order.
    pub(crate) fn descendants(&self, path: &str) -> Vec<Entry<'_>> {
        let mut out: Vec<Entry<'_>> = self
            .base
            .descendants(path)
            .filter(|&i| !self.is_deleted(&self.base.node(i).path))
            .map(Entry::Base)
            .collect();
        if !self.added.is_empty() {
            let prefix = if path.is_empty() {
                String::new()
            } else {
                format!("{path}.")
            };
            let extra = self
                .added
                .range(prefix.clone()..)
                .take_while(|(k, _)| k.starts_with(&prefix))
                .map(|(k, x)| Entry::Added(k, x));
            out.extend(extra);
            out.sort_by(|a, b| self.path(*a).cmp(self.path(*b)));
        }
        out
    }

    /// Writes ManagementServer.ParameterKey after a successful SPV, AddObject or DeleteObject.
    pub(crate) fn set_parameter_key(&mut self, key: &str) {
        let path = self.rel("ManagementServer.ParameterKey");
        self.set_local(&path, key);
    }

    /// The notification attribute of a parameter (0 unless set).
    pub(crate) fn notification(&self, path: &str) -> u32 {
        self.attrs.get(path).map_or(0, |a| a.notification)
    }
}

/// Whether a value is valid for its type (TR-106 lexical forms).
pub(crate) fn valid_value(xsd: &XsdType, v: &str) -> bool {
    match xsd {
        XsdType::Int => v.parse::<i32>().is_ok(),
        XsdType::UnsignedInt => v.parse::<u32>().is_ok(),
        XsdType::Long => v.parse::<i64>().is_ok(),
        XsdType::UnsignedLong => v.parse::<u64>().is_ok(),
        XsdType::Boolean => matches!(v, "true" | "false" | "1" | "0"),
        XsdType::DateTime => crate::time::is_datetime(v),
        XsdType::Base64 => v
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'\n' | b'\r')),
        XsdType::HexBinary => v.len().is_multiple_of(2) && v.bytes().all(|b| b.is_ascii_hexdigit()),
        XsdType::String | XsdType::Other(_) => true,
    }
}

/// The value a freshly created parameter starts with.
pub(crate) fn default_value(xsd: &XsdType) -> &'static str {
    match xsd {
        XsdType::Int | XsdType::UnsignedInt | XsdType::Long | XsdType::UnsignedLong => "0",
        XsdType::Boolean => "false",
        XsdType::DateTime => cwmp::codec::UNKNOWN_TIME,
        _ => "",
    }
}

/// Whether GPV must hide the value (hidden or secured parameters read back as "").
pub(crate) fn is_hidden(path: &str) -> bool {
    const HIDDEN: [&str; 6] = [
        "Password",
        "KeyPassphrase",
        "PreSharedKey",
        "AuthPassword",
        "SAEPassphrase",
        "ConnectionRequestPassword",
    ];
    HIDDEN.iter().any(|s| path.ends_with(s))
}
