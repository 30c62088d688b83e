//! Streaming of the RPC's parameter list: entries go straight into the output vector.
//!
//! A full-tree GetParameterValuesResponse or GetParameterNamesResponse is thousands of
//! three-element entries; building arena nodes for them only for the mapper to walk them again
//! was half the parse. For the one list the mapper will read (the first `ParameterList` of the
//! RPC element) this maps each entry as it is scanned, exactly as `Doc::values` and the
//! GetParameterNamesResponse mapping would, and gives up on any entry of another shape (extra
//! or repeated children, nested elements, namespace declarations, a missing `Name`, an invalid
//! `Writable`) so that the slow path reports what the mapper would. Every element still passes
//! [`Tree::admit`] and every text the same length check, so limits bind identically.

use std::borrow::Cow;

use super::Scanner;
use super::lex::split;
use crate::codec::dom::{Streamed, append};
use crate::codec::map::parse_bool;
use crate::codec::names::same;
use crate::rpc::{ParameterInfo, ParameterValue, XsdType};

/// Which entries a list holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// `ParameterValueStruct` (Name, Value with `xsi:type`).
    Values,
    /// `ParameterInfoStruct` (Name, Writable).
    Infos,
}

impl Kind {
    /// The list the RPC element `rpc` (interned) carries, for the RPCs whose lists get big.
    pub(super) fn of(rpc: &str) -> Option<Self> {
        match rpc {
            "GetParameterValuesResponse" | "SetParameterValues" | "Inform" => Some(Self::Values),
            "GetParameterNamesResponse" => Some(Self::Infos),
            _ => None,
        }
    }

    fn entry(self) -> &'static str {
        match self {
            Self::Values => "ParameterValueStruct",
            Self::Infos => "ParameterInfoStruct",
        }
    }
}

/// The children of one entry, as read so far.
#[derive(Default)]
struct Entry<'a> {
    name: Option<Cow<'a, str>>,
    /// `Value` text and `xsi:type` (Values), or `Writable` text (Infos).
    second: Option<(Cow<'a, str>, Option<XsdType>)>,
}

impl<'a> Scanner<'a, '_> {
    /// Reads the entries of the `ParameterList` just opened (top of the stack) up to its end
    /// tag, which is left to the main loop; `capacity` is the expected entry count.
    pub(super) fn stream(&mut self, kind: Kind, capacity: usize) -> Option<()> {
        let list = *self.tree.stack.last()?;
        let depth = self.tree.stack.len() + 1;
        let mut out = match kind {
            Kind::Values => Streamed::Values(Vec::with_capacity(capacity)),
            Kind::Infos => Streamed::Infos(Vec::with_capacity(capacity)),
        };
        let mut entries = 0;
        loop {
            if entries == 0 {
                // Before its first child the list's own text counts against the limit.
                self.text_with(|tree, piece| tree.text(piece).ok())?;
            } else {
                self.text_with(|_, _| Some(()))?;
            }
            match self.peek()? {
                b'/' => break,
                b'?' => {
                    self.pi()?;
                    continue;
                }
                b'!' => return None,
                _ => {}
            }
            let (qname, colon, empty) = self.tag(kind.entry())?;
            let (prefix, local) = split(qname, colon);
            // An entry without children has no Name: the mapper's error to report.
            if empty || !same(local, kind.entry()) {
                return None;
            }
            self.namespaces(prefix, depth)?;
            self.tree.admit_interned(kind.entry(), depth).ok()?;
            let entry = self.entry(qname, kind, depth + 1)?;
            self.unbind(depth);
            let name = entry.name?.into_owned();
            match &mut out {
                Streamed::Values(v) => {
                    let (value, xsd_type) = match entry.second {
                        Some((text, xsi)) => (text.into_owned(), xsi.unwrap_or_default()),
                        None => (String::new(), XsdType::String),
                    };
                    v.push(ParameterValue {
                        name,
                        value,
                        xsd_type,
                    });
                }
                Streamed::Infos(v) => {
                    let writable = match entry.second.as_ref().map(|(t, _)| t.trim()) {
                        None | Some("") => false,
                        Some(t) => parse_bool(t)?,
                    };
                    v.push(ParameterInfo { name, writable });
                }
            }
            entries += 1;
        }
        // The slow path empties a parent's text once it has a child.
        if entries > 0 {
            self.tree.doc.nodes[list].text = Cow::Borrowed("");
        }
        self.tree.doc.streamed = Some((list, out));
        Some(())
    }

    /// Reads one entry's children up to and including its end tag `</qname>`.
    fn entry(&mut self, qname: &str, kind: Kind, depth: usize) -> Option<Entry<'a>> {
        let limits = self.tree.limits;
        let mut entry = Entry::default();
        // The entry's own text before its first child only matters for the length limit.
        let mut own = Cow::Borrowed("");
        let mut children = false;
        loop {
            if children {
                self.text_with(|_, _| Some(()))?;
            } else {
                self.text_with(|_, piece| append(&mut own, piece, limits).ok())?;
            }
            match self.peek()? {
                b'/' => {
                    self.end(qname)?;
                    return Some(entry);
                }
                b'?' => {
                    self.pi()?;
                    continue;
                }
                b'!' => return None,
                _ => {}
            }
            let hint = match (&entry.name, kind) {
                (None, _) => "Name",
                (Some(_), Kind::Values) => "Value",
                (Some(_), Kind::Infos) => "Writable",
            };
            let (child, colon, empty) = self.tag(hint)?;
            let (prefix, local) = split(child, colon);
            self.namespaces(prefix, depth)?;
            // Only these three are interned as themselves; any other child means giving up.
            let (name, second) = match (local, kind) {
                ("Name", _) if entry.name.is_none() => ("Name", false),
                ("Value", Kind::Values) if entry.second.is_none() => ("Value", true),
                ("Writable", Kind::Infos) if entry.second.is_none() => ("Writable", true),
                _ => return None,
            };
            self.tree.admit_interned(name, depth).ok()?;
            children = true;
            let xsi = if name == "Value" {
                self.xsi_type()?
            } else {
                None
            };
            let text = if empty {
                Cow::Borrowed("")
            } else {
                let mut text = Cow::Borrowed("");
                self.text_with(|_, piece| append(&mut text, piece, limits).ok())?;
                // A nested element or PI inside a leaf is left to the slow path.
                if self.peek()? != b'/' {
                    return None;
                }
                self.end(child)?;
                text
            };
            self.unbind(depth);
            if second {
                entry.second = Some((text, xsi));
            } else {
                entry.name = Some(text);
            }
        }
    }
}
