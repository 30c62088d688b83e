//! Namespace handling of the fast scanner, mirroring quick-xml's resolver and the slow
//! path's use of it: declarations are scoped to the declaring element, prefixes resolve to
//! the innermost binding, an empty URI undeclares, and `xml*` prefixes are left to quick-xml.

use super::lex::{declared, reserved, split};
use super::{Binding, MAX_BINDINGS, Scanner, XML_NS, XMLNS_NS};
use crate::codec::dom::{NS_DEPTH, Ns};
use crate::codec::names::same;
use crate::codec::{SOAP_ENV, XSI};
use crate::rpc::{CwmpVersion, XsdType};

impl<'a> Scanner<'a, '_> {
    /// Does the namespace work for the element at `depth` whose tag was just scanned: checks its
    /// attributes as quick-xml and the builder would, brings its declarations into scope (until
    /// [`Self::unbind`]), notes any CWMP URN it declares or uses, and returns its namespace
    /// class (only resolved down to [`NS_DEPTH`]) and, for `Other`, the URI.
    pub(super) fn namespaces(
        &mut self,
        prefix: Option<&str>,
        depth: usize,
    ) -> Option<(Ns, Option<&'a str>)> {
        if prefix.is_some_and(reserved) {
            return None;
        }
        if self.attrs.is_empty() && depth > NS_DEPTH {
            // The common case deep in a list: nothing declared, nothing to resolve.
            return Some((Ns::Unbound, None));
        }
        // Declarations come first: they are in scope for the element's own name.
        let mut declares = false;
        for (n, &(key, _, value)) in self.attrs.iter().enumerate() {
            if self.attrs[..n].iter().any(|&(k, _, _)| same(k, key)) {
                return None;
            }
            self.tree.check_len(value.len()).ok()?;
            if let Some(p) = declared(key) {
                let bad_uri = !p.is_empty() && (value == XML_NS || value == XMLNS_NS);
                if reserved(p) || bad_uri || self.bindings.len() >= MAX_BINDINGS {
                    return None;
                }
                self.bindings.push(Binding {
                    prefix: p,
                    uri: value,
                    depth,
                });
                declares = true;
            }
        }
        // Below NS_DEPTH a namespace only matters for `cwmp_seen`, and only when the element
        // declares it itself: any CWMP binding inherited from an ancestor has set it already.
        let resolve = depth <= NS_DEPTH || (declares && self.tree.doc.cwmp_seen.is_none());
        let (ns, other) = if resolve {
            self.resolve(prefix)
        } else {
            (Ns::Unbound, None)
        };
        if let Ns::Cwmp(v) = ns {
            self.tree.doc.cwmp_seen.get_or_insert(v);
        }
        if declares {
            for &(key, _, value) in &self.attrs {
                if declared(key).is_some()
                    && let Some(v) = CwmpVersion::from_urn(value.trim())
                {
                    self.tree.doc.cwmp_seen.get_or_insert(v);
                }
            }
        }
        let kept = if depth <= NS_DEPTH { ns } else { Ns::Unbound };
        Some((kept, other))
    }

    /// The namespace class of an element prefix, as quick-xml resolves it.
    pub(super) fn resolve(&self, prefix: Option<&str>) -> (Ns, Option<&'a str>) {
        let want = prefix.unwrap_or("");
        match self.bindings.iter().rev().find(|b| same(b.prefix, want)) {
            // An empty URI undeclares the prefix (or the default namespace).
            Some(b) if !b.uri.is_empty() => {
                if b.uri == SOAP_ENV {
                    (Ns::Soap, None)
                } else if let Some(v) = CwmpVersion::from_urn(b.uri) {
                    (Ns::Cwmp(v), None)
                } else {
                    (Ns::Other, Some(b.uri))
                }
            }
            _ => (Ns::Unbound, None),
        }
    }

    /// The `type` attribute of a `Value` element: a properly bound `xsi:type` wins, otherwise
    /// the last `type` under any prefix (firmware gets the prefix wrong). Unprefixed `type` is
    /// not it.
    pub(super) fn xsi_type(&self) -> Option<Option<XsdType>> {
        let mut found = None;
        for &(key, colon, value) in &self.attrs {
            let (Some(p), "type") = split(key, colon) else {
                continue;
            };
            if declared(key).is_some() {
                continue;
            }
            if reserved(p) {
                return None;
            }
            let bound = self.bindings.iter().rev().find(|b| same(b.prefix, p));
            found = Some(XsdType::parse(value.trim()));
            if bound.is_some_and(|b| b.uri == XSI) {
                break;
            }
        }
        Some(found)
    }
}
