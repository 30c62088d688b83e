//! First parsing pass: XML into a bounded, flat element arena.
//!
//! Elements are identified by interned local names (`&'static str`) so that later matching is
//! cheap and the arena does not allocate a string per element. Namespaces are resolved by URI,
//! never by prefix. Every [`Limits`] field is enforced here, while reading, so that no input can
//! make us allocate more than the limits allow.
//!
//! Two front ends feed the same [`Tree`]: [`super::fast`], a hand-written scanner for the plain
//! XML that CPEs actually send, and [`super::slow`], built on quick-xml, which handles everything
//! else (entities beyond the predefined five, CDATA, comments, DOCTYPE, odd spacing) and produces
//! every error. The fast scanner gives up rather than guess, so both always agree. It also
//! maps the entries of the RPC's parameter list itself ([`Doc::streamed`]); that list's node is
//! in the arena, without children.

use std::borrow::Cow;

use super::names::{intern, is_list_entry};
use super::{fast, slow};
use crate::error::{ParseError, truncate_echo};
use crate::limits::Limits;
use crate::rpc::{CwmpVersion, ParameterInfo, ParameterValue, XsdType};

/// Marks "no node" in the arena's child and sibling links.
pub(super) const NONE: usize = usize::MAX;

/// Elements deeper than this (Envelope = 1) have no namespace the mapper looks at: only the
/// Envelope, Header, Body, the RPC element and header blocks are matched by namespace, so
/// deeper nodes carry [`Ns::Unbound`] and resolving them is skipped.
pub(super) const NS_DEPTH: usize = 3;

/// The namespace class of an element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ns {
    /// The SOAP 1.1 envelope namespace.
    Soap,
    /// One of the CWMP URNs.
    Cwmp(CwmpVersion),
    /// No namespace, or an undeclared prefix (firmware that forgets `xmlns`); also every element
    /// deeper than [`NS_DEPTH`].
    Unbound,
    /// Any other namespace.
    Other,
}

/// One element of the arena.
#[derive(Debug, PartialEq)]
pub(super) struct Node<'a> {
    /// Interned local name; empty for names this crate never looks at.
    pub(super) name: &'static str,
    pub(super) ns: Ns,
    /// Text content; reset and ignored once the element has child elements.
    pub(super) text: Cow<'a, str>,
    /// `xsi:type`, read only on `Value` elements.
    pub(super) xsi_type: Option<XsdType>,
    pub(super) first_child: usize,
    pub(super) next_sibling: usize,
    last_child: usize,
}

impl Node<'_> {
    pub(super) fn new(name: &'static str, ns: Ns) -> Self {
        Node {
            name,
            ns,
            text: Cow::Borrowed(""),
            xsi_type: None,
            first_child: NONE,
            next_sibling: NONE,
            last_child: NONE,
        }
    }
}

/// The parsed document: node 0 is the SOAP Envelope.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Doc<'a> {
    pub(super) nodes: Vec<Node<'a>>,
    /// The first CWMP URN declared or used anywhere; the version of envelopes whose RPC element
    /// has no namespace.
    pub(super) cwmp_seen: Option<CwmpVersion>,
    /// The raw local name of the Body's first child, kept only when it is not interned (so that
    /// `UnknownMethod` can name it).
    pub(super) rpc_raw_name: Option<String>,
    /// The namespace of the Body's first child when it is neither SOAP, CWMP nor absent.
    pub(super) rpc_other_ns: Option<String>,
    /// The RPC's parameter list as the fast scanner built it directly, with the index of the
    /// (childless) `ParameterList` node it belongs to.
    pub(super) streamed: Option<(usize, Streamed)>,
}

/// A list the fast scanner mapped while reading instead of storing its entries in the arena.
#[derive(Debug, PartialEq)]
pub(super) enum Streamed {
    Values(Vec<ParameterValue>),
    Infos(Vec<ParameterInfo>),
}

/// Reads `input` into a [`Doc`], enforcing `limits`. Fails with `NotSoap` as soon as the root is
/// not a SOAP 1.1 Envelope.
pub(super) fn build<'a>(input: &'a str, limits: &Limits) -> Result<Doc<'a>, ParseError> {
    match fast::build(input, limits) {
        Some(doc) => Ok(doc),
        // Anything the scanner is unsure about, errors included, is redone by quick-xml.
        None => slow::build(input, limits),
    }
}

/// The arena under construction, shared by both front ends so that linking and every limit
/// check exist once.
pub(super) struct Tree<'a, 'l> {
    pub(super) doc: Doc<'a>,
    /// Indexes of the open elements, outermost first.
    pub(super) stack: Vec<usize>,
    pub(super) limits: &'l Limits,
    /// Elements admitted so far, including list entries streamed past the arena.
    elements: usize,
    entries: usize,
}

impl<'a, 'l> Tree<'a, 'l> {
    pub(super) fn new(limits: &'l Limits, nodes: usize) -> Self {
        Tree {
            doc: Doc {
                nodes: Vec::with_capacity(nodes.min(limits.max_elements)),
                ..Doc::default()
            },
            stack: Vec::with_capacity(16),
            limits,
            elements: 0,
            entries: 0,
        }
    }

    /// Checks the depth, element and parameter limits for a new element at `depth` (Envelope =
    /// 1) and interns its name.
    pub(super) fn admit(
        &mut self,
        raw_name: &str,
        depth: usize,
    ) -> Result<&'static str, ParseError> {
        let name = intern(raw_name);
        self.admit_interned(name, depth)?;
        Ok(name)
    }

    /// [`Self::admit`] for a name the caller has already interned.
    #[inline]
    pub(super) fn admit_interned(
        &mut self,
        name: &'static str,
        depth: usize,
    ) -> Result<(), ParseError> {
        let limits = self.limits;
        if depth > limits.max_depth {
            return Err(ParseError::TooDeep {
                limit: limits.max_depth,
            });
        }
        if self.elements >= limits.max_elements {
            return Err(ParseError::TooManyElements {
                limit: limits.max_elements,
            });
        }
        self.elements += 1;
        if !name.is_empty() && is_list_entry(name) {
            self.entries += 1;
            if self.entries > limits.max_parameters {
                return Err(ParseError::TooManyParameters {
                    limit: limits.max_parameters,
                });
            }
        }
        Ok(())
    }

    /// Fails with `StringTooLong` when an attribute value exceeds the limit.
    pub(super) fn check_len(&self, len: usize) -> Result<(), ParseError> {
        if len > self.limits.max_string_len {
            return Err(ParseError::StringTooLong {
                limit: self.limits.max_string_len,
            });
        }
        Ok(())
    }

    /// Adds an admitted element under the current parent and returns its index (not pushed on
    /// the stack). `other_uri` is its namespace when that is neither SOAP, CWMP nor absent.
    pub(super) fn link(
        &mut self,
        node: Node<'a>,
        raw_name: &str,
        other_uri: Option<&str>,
    ) -> Result<usize, ParseError> {
        let Some(&parent) = self.stack.last() else {
            // The root: anything but a SOAP 1.1 Envelope is not ours to parse.
            if node.name != "Envelope" || node.ns != Ns::Soap {
                return Err(ParseError::NotSoap);
            }
            self.doc.nodes.push(node);
            return Ok(0);
        };
        let idx = self.doc.nodes.len();
        let p = &mut self.doc.nodes[parent];
        let is_rpc = self.stack.len() == 2 && p.name == "Body" && p.first_child == NONE;
        if p.first_child == NONE {
            p.first_child = idx;
            // Whitespace before the first child is layout, not content.
            p.text = Cow::Borrowed("");
        } else {
            let last = p.last_child;
            self.doc.nodes[last].next_sibling = idx;
        }
        self.doc.nodes[parent].last_child = idx;
        if is_rpc {
            if node.name.is_empty() {
                self.doc.rpc_raw_name = Some(truncate_echo(raw_name));
            }
            if let Some(uri) = other_uri {
                self.doc.rpc_other_ns = Some(truncate_echo(uri));
            }
        }
        self.doc.nodes.push(node);
        Ok(idx)
    }

    /// Appends a piece of character data to the innermost open element.
    pub(super) fn text(&mut self, piece: Cow<'a, str>) -> Result<(), ParseError> {
        let Some(&top) = self.stack.last() else {
            // Outside the root only whitespace is acceptable (before it; after it we have
            // already stopped reading).
            return if piece.trim().is_empty() {
                Ok(())
            } else {
                Err(ParseError::NotSoap)
            };
        };
        let node = &mut self.doc.nodes[top];
        if node.first_child != NONE {
            return Ok(());
        }
        append(&mut node.text, piece, self.limits)
    }
}

/// Appends a piece of character data to the text of an element that has no child elements.
#[inline]
pub(super) fn append<'a>(
    text: &mut Cow<'a, str>,
    piece: Cow<'a, str>,
    limits: &Limits,
) -> Result<(), ParseError> {
    if piece.is_empty() {
        return Ok(());
    }
    if text.len() + piece.len() > limits.max_string_len {
        return Err(ParseError::StringTooLong {
            limit: limits.max_string_len,
        });
    }
    if text.is_empty() {
        *text = piece;
    } else {
        text.to_mut().push_str(&piece);
    }
    Ok(())
}
