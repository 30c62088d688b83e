//! The fast front end of the first pass: a hand-written scanner for plain XML.
//!
//! CPE envelopes are machine-written and regular: tags with a few quoted attributes, text with
//! the occasional predefined entity. This scanner handles exactly that subset and builds the
//! same [`Doc`] the quick-xml front end would, skipping what that one pays for on every element
//! (UTF-8 revalidation, namespace bookkeeping, attribute iteration, event construction).
//! Anything outside the subset, and every error, makes it give up (`None`) so that
//! [`super::slow`] reparses from the start: that keeps quick-xml the single authority on what is
//! well-formed and on which error is reported, at no cost for the inputs that matter.

use std::borrow::Cow;

use super::dom::{Doc, NONE, NS_DEPTH, Node, Tree};
use super::names::same_bytes;
use crate::limits::Limits;
use lex::*;

mod lex;
mod list;
mod ns;

/// quick-xml refuses more user namespace bindings in scope than this (its default limit).
const MAX_BINDINGS: usize = 128;
/// More attributes than this on one element is not something CPEs send.
const MAX_ATTRS: usize = 8;
const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";
const XMLNS_NS: &str = "http://www.w3.org/2000/xmlns/";

/// One `xmlns` / `xmlns:p` declaration in scope.
struct Binding<'a> {
    /// Empty for the default namespace.
    prefix: &'a str,
    uri: &'a str,
    /// Depth of the declaring element (Envelope = 1).
    depth: usize,
}

struct Scanner<'a, 'l> {
    s: &'a str,
    pos: usize,
    tree: Tree<'a, 'l>,
    /// Qualified names of the open elements, for end-tag matching.
    open: Vec<&'a str>,
    bindings: Vec<Binding<'a>>,
    /// Attributes of the current tag (key, colon offset in key, value), reused across tags.
    attrs: Vec<(&'a str, usize, &'a str)>,
    /// The first `Body` child of the Envelope and its first child, the RPC element, once seen
    /// (the ones the mapper will pick), and the list kind that RPC carries.
    body: usize,
    rpc: usize,
    list: Option<list::Kind>,
}

/// Scans `input` into a [`Doc`], or `None` when the slow path must decide.
pub(super) fn build<'a>(input: &'a str, limits: &Limits) -> Option<Doc<'a>> {
    // Enough for an Inform's arena at once. Big lists are streamed past the arena, so sizing
    // it by the input would reserve megabytes for nothing; other big inputs just regrow.
    let estimate = (input.len() / 32).min(1024);
    let mut sc = Scanner {
        s: input,
        pos: 0,
        tree: Tree::new(limits, estimate),
        open: Vec::with_capacity(16),
        bindings: Vec::with_capacity(8),
        attrs: Vec::with_capacity(MAX_ATTRS),
        body: NONE,
        rpc: NONE,
        list: None,
    };
    loop {
        sc.text_with(|tree, piece| tree.text(piece).ok())?;
        match sc.peek()? {
            b'/' => {
                if sc.end_tag()? {
                    // Anything after the root element is ignored, as in the slow path.
                    return Some(sc.tree.doc);
                }
            }
            b'?' => sc.pi()?,
            // Comments, CDATA and DOCTYPE are rare enough to leave to quick-xml.
            b'!' => return None,
            _ => {
                let (qname, colon, empty) = sc.tag("")?;
                sc.element(qname, colon, empty)?;
            }
        }
    }
}

impl<'a, 'l> Scanner<'a, 'l> {
    /// The byte after the `<` the scanner stands on.
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos + 1).copied()
    }

    /// Consumes character data up to the next `<`, handing each non-empty piece (a run of text
    /// or one predefined entity) to `sink`, as quick-xml's events would.
    fn text_with(
        &mut self,
        mut sink: impl FnMut(&mut Tree<'a, 'l>, Cow<'a, str>) -> Option<()>,
    ) -> Option<()> {
        let b = self.s.as_bytes();
        loop {
            let start = self.pos;
            let mut i = start;
            let mut cr = false;
            loop {
                i = find_special(b, i);
                if b.get(i) != Some(&b'\r') {
                    break;
                }
                cr = true;
                i += 1;
            }
            // Running out of input inside the document is an error for quick-xml to word.
            let &stop = b.get(i)?;
            if i > start {
                let piece = &self.s[start..i];
                let piece = if cr {
                    Cow::Owned(normalize_eols(piece))
                } else {
                    Cow::Borrowed(piece)
                };
                sink(&mut self.tree, piece)?;
            }
            if stop == b'<' {
                self.pos = i;
                return Some(());
            }
            if self.tree.stack.is_empty() {
                return None;
            }
            let (c, len) = match &b[i + 1..] {
                [b'l', b't', b';', ..] => ("<", 3),
                [b'g', b't', b';', ..] => (">", 3),
                [b'a', b'm', b'p', b';', ..] => ("&", 4),
                [b'a', b'p', b'o', b's', b';', ..] => ("'", 5),
                [b'q', b'u', b'o', b't', b';', ..] => ("\"", 5),
                _ => return None,
            };
            sink(&mut self.tree, Cow::Borrowed(c))?;
            self.pos = i + 1 + len;
        }
    }

    /// Skips a processing instruction or XML declaration, which the mapper ignores.
    fn pi(&mut self) -> Option<()> {
        let b = &self.s.as_bytes()[self.pos..];
        // quick-xml ends it at the first `?>`, counting the `?` of `<?` (so `<?>` is an error).
        let mut from = 2;
        let end = loop {
            let j = from + b.get(from..)?.iter().position(|&c| c == b'>')?;
            if b[j - 1] == b'?' {
                break j;
            }
            from = j + 1;
        };
        if end < 3 {
            return None;
        }
        self.pos += end + 1;
        Some(())
    }

    /// Consumes `</name>` for the innermost open element; `true` once the root is closed.
    fn end_tag(&mut self) -> Option<bool> {
        self.end(self.open.last()?)?;
        self.close();
        Some(self.tree.stack.is_empty())
    }

    /// Consumes exactly `</qname>`.
    fn end(&mut self, qname: &str) -> Option<()> {
        let b = self.s.as_bytes();
        let start = self.pos + 2;
        let end = start + qname.len();
        // Trailing whitespace and mismatches are quick-xml's to accept or word.
        if b.get(end) != Some(&b'>') || !same_bytes(b.get(start..end)?, qname.as_bytes()) {
            return None;
        }
        self.pos = end + 1;
        Some(())
    }

    /// Pops the innermost element and the namespace bindings it declared.
    fn close(&mut self) {
        self.unbind(self.tree.stack.len());
        self.tree.stack.pop();
        self.open.pop();
    }

    /// Drops the namespace bindings declared by the element at `depth`, which just ended.
    fn unbind(&mut self, depth: usize) {
        while self.bindings.last().is_some_and(|b| b.depth == depth) {
            self.bindings.pop();
        }
    }

    /// Consumes a start or empty-element tag, leaving its attributes in `self.attrs`; returns
    /// its qualified name, the name's colon offset and whether it is empty. `hint` is the name
    /// expected here, if any (`""` for none); it only makes reading that name cheaper.
    fn tag(&mut self, hint: &str) -> Option<(&'a str, usize, bool)> {
        let b = self.s.as_bytes();
        let tag = self.pos + 1;
        let (mut i, colon) = match predicted(b, tag, hint) {
            Some(end) if !hint.is_empty() => (end, NO_COLON),
            _ => scan_name(b, tag)?,
        };
        let qname = &self.s[tag..i];
        self.attrs.clear();
        let empty = loop {
            let ws = i;
            while b.get(i).is_some_and(|&c| is_ws(c)) {
                i += 1;
            }
            match *b.get(i)? {
                b'>' => break false,
                b'/' if b.get(i + 1) == Some(&b'>') => {
                    i += 1;
                    break true;
                }
                _ if i == ws || self.attrs.len() == MAX_ATTRS => return None,
                _ => {}
            }
            let key = i;
            let (end, key_colon) = scan_name(b, i)?;
            i = end;
            let k = &self.s[key..i];
            let &[b'=', q, ..] = b.get(i..)? else {
                return None;
            };
            if q != b'"' && q != b'\'' {
                return None;
            }
            let val = i + 2;
            i = scan_value(b, val, q)?;
            self.attrs.push((k, key_colon, &self.s[val..i]));
            i += 1;
        };
        self.pos = i + 1;
        Some((qname, colon, empty))
    }

    /// Adds the element whose tag was just scanned (its attributes in `self.attrs`).
    fn element(&mut self, qname: &'a str, colon: usize, empty: bool) -> Option<()> {
        let depth = self.tree.stack.len() + 1;
        let (prefix, local) = split(qname, colon);
        let (ns, other) = self.namespaces(prefix, depth)?;
        let name = self.tree.admit(local, depth).ok()?;
        let mut node = Node::new(name, ns);
        if name == "Value" {
            node.xsi_type = self.xsi_type()?;
        }
        let idx = self.tree.link(node, local, other).ok()?;
        self.track(idx, name, depth);
        if empty {
            // `<Envelope/>` is an error the slow path words.
            if self.tree.stack.is_empty() {
                return None;
            }
            self.unbind(depth);
        } else {
            self.tree.stack.push(idx);
            self.open.push(qname);
            if let Some(kind) = self.list
                && depth == NS_DEPTH + 1
                && name == "ParameterList"
                && self.tree.stack[NS_DEPTH - 1] == self.rpc
                && self.tree.doc.streamed.is_none()
            {
                let capacity = self.array_size();
                self.stream(kind, capacity)?;
            }
        }
        Some(())
    }

    /// The entry count a list's `soap-enc:arrayType="cwmp:ParameterValueStruct[N]"` announces,
    /// to size the output once; bounded by the limit and by what the rest of the input can
    /// hold, so a lying peer cannot make us reserve more than a truthful one.
    fn array_size(&self) -> usize {
        let announced = self.attrs.iter().find_map(|&(key, colon, value)| {
            let (_, "arrayType") = split(key, colon) else {
                return None;
            };
            let (_, n) = value.strip_suffix(']')?.rsplit_once('[')?;
            n.parse::<usize>().ok()
        });
        let room = (self.s.len() - self.pos) / 32;
        announced
            .unwrap_or(0)
            .min(self.tree.limits.max_parameters)
            .min(room)
    }

    /// Notes the elements the mapper will take as the Body and the RPC, and which list the RPC
    /// carries, so that [`Self::stream`] can start at the right `ParameterList`.
    fn track(&mut self, idx: usize, name: &'static str, depth: usize) {
        if depth == 2 && name == "Body" && self.body == NONE {
            self.body = idx;
        } else if depth == NS_DEPTH
            && self.tree.stack[1] == self.body
            && self.tree.doc.nodes[self.body].first_child == idx
        {
            self.rpc = idx;
            self.list = list::Kind::of(name);
        }
    }
}
