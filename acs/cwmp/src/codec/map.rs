//! Second parsing pass: the element arena into a typed [`Envelope`].
//!
//! RPC children are matched by local name whatever their namespace, because CPE stacks disagree
//! about qualifying them. Scalars are lenient where real firmware is sloppy (surrounding
//! whitespace, `true`/`1`, empty numbers as 0) and strict where a wrong value would mislead us
//! (a non-numeric Status is an error, not 0).

use std::mem;

use super::UNKNOWN_TIME;
use super::dom::{self, Doc, NONE, Ns, Streamed};
use super::names::same;
use crate::error::ParseError;
use crate::limits::Limits;
use crate::rpc::*;

/// Parses one CWMP SOAP envelope.
///
/// `bytes` must be the whole HTTP body (after any content decoding). The size limit is checked
/// before anything else; a whitespace-only body is [`ParseError::NotSoap`] (an empty POST is the
/// caller's business and never reaches this function).
pub fn parse_envelope(bytes: &[u8], limits: &Limits) -> Result<Envelope, ParseError> {
    if bytes.len() > limits.max_body_bytes {
        return Err(ParseError::BodyTooLarge {
            limit: limits.max_body_bytes,
        });
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text =
        std::str::from_utf8(bytes).map_err(|_| ParseError::Xml("invalid UTF-8".to_owned()))?;
    if text.trim().is_empty() {
        return Err(ParseError::NotSoap);
    }
    let mut doc = dom::build(text, limits)?;
    doc.envelope()
}

type R<T> = Result<T, ParseError>;

impl Doc<'_> {
    /// The first child of `n` named `name`.
    pub(super) fn child(&self, n: usize, name: &str) -> Option<usize> {
        let mut c = self.nodes[n].first_child;
        while c != NONE {
            if same(self.nodes[c].name, name) {
                return Some(c);
            }
            c = self.nodes[c].next_sibling;
        }
        None
    }

    /// Like [`Self::child`] but required.
    pub(super) fn req(&self, n: usize, name: &'static str) -> R<usize> {
        self.child(n, name).ok_or(ParseError::Missing(name))
    }

    /// The children of `n` named `name`, collected so the caller may mutate the arena.
    pub(super) fn children(&self, n: usize, name: &str) -> Vec<usize> {
        let mut out = Vec::new();
        let mut c = self.nodes[n].first_child;
        while c != NONE {
            if self.nodes[c].name == name {
                out.push(c);
            }
            c = self.nodes[c].next_sibling;
        }
        out
    }

    /// Moves the text of node `n` out of the arena.
    pub(super) fn take(&mut self, n: usize) -> String {
        mem::take(&mut self.nodes[n].text).into_owned()
    }

    /// The text of child `name`, or empty when absent.
    pub(super) fn s(&mut self, n: usize, name: &str) -> String {
        self.child(n, name)
            .map(|c| self.take(c))
            .unwrap_or_default()
    }

    /// A `dateTime` child; the unknown time reads back as the empty string.
    pub(super) fn time(&mut self, n: usize, name: &str) -> String {
        let s = self.s(n, name);
        if s.trim() == UNKNOWN_TIME {
            String::new()
        } else {
            s
        }
    }

    /// The trimmed text of child `name`; `None` when absent.
    pub(super) fn trimmed(&self, n: usize, name: &str) -> Option<&str> {
        self.child(n, name).map(|c| self.nodes[c].text.trim())
    }

    pub(super) fn u32(&self, n: usize, name: &'static str) -> R<u32> {
        match self.trimmed(n, name) {
            None | Some("") => Ok(0),
            Some(t) => t.parse().map_err(|_| ParseError::invalid(name, t)),
        }
    }

    pub(super) fn i32(&self, n: usize, name: &'static str) -> R<i32> {
        match self.trimmed(n, name) {
            None | Some("") => Ok(0),
            Some(t) => t.parse().map_err(|_| ParseError::invalid(name, t)),
        }
    }

    pub(super) fn u64(&self, n: usize, name: &'static str) -> R<u64> {
        match self.trimmed(n, name) {
            None | Some("") => Ok(0),
            Some(t) => t.parse().map_err(|_| ParseError::invalid(name, t)),
        }
    }

    pub(super) fn bool(&self, n: usize, name: &'static str) -> R<bool> {
        match self.trimmed(n, name) {
            None | Some("") => Ok(false),
            Some(t) => parse_bool(t).ok_or_else(|| ParseError::invalid(name, t)),
        }
    }

    /// The `string` entries of array child `name`.
    pub(super) fn strings(&mut self, n: usize, name: &'static str) -> R<Vec<String>> {
        let list = self.req(n, name)?;
        Ok(self
            .children(list, "string")
            .into_iter()
            .map(|c| self.take(c))
            .collect())
    }

    /// The number of children of `n` named `name`, to size the output of big lists exactly.
    pub(super) fn count(&self, n: usize, name: &str) -> usize {
        let mut count = 0;
        let mut c = self.nodes[n].first_child;
        while c != NONE {
            count += usize::from(self.nodes[c].name == name);
            c = self.nodes[c].next_sibling;
        }
        count
    }

    /// The entries of `list` if the fast scanner already mapped them.
    pub(super) fn streamed(&mut self, list: usize) -> Option<Streamed> {
        self.streamed
            .take_if(|(idx, _)| *idx == list)
            .map(|(_, entries)| entries)
    }

    /// A `ParameterValueStruct` array.
    pub(super) fn values(&mut self, n: usize) -> R<Vec<ParameterValue>> {
        let list = self.req(n, "ParameterList")?;
        if let Some(Streamed::Values(v)) = self.streamed(list) {
            return Ok(v);
        }
        let mut out = Vec::with_capacity(self.count(list, "ParameterValueStruct"));
        let mut c = self.nodes[list].first_child;
        // Walking the sibling links directly: taking text leaves them intact.
        while c != NONE {
            let next = self.nodes[c].next_sibling;
            if self.nodes[c].name != "ParameterValueStruct" {
                c = next;
                continue;
            }
            let name = self.take(self.req(c, "Name")?);
            let (value, xsd_type) = match self.child(c, "Value") {
                Some(v) => (
                    self.take(v),
                    self.nodes[v].xsi_type.take().unwrap_or_default(),
                ),
                None => (String::new(), XsdType::String),
            };
            out.push(ParameterValue {
                name,
                value,
                xsd_type,
            });
            c = next;
        }
        Ok(out)
    }

    pub(super) fn envelope(&mut self) -> R<Envelope> {
        let mut header = Header::default();
        if let Some(h) = self.child(0, "Header")
            && matches!(self.nodes[h].ns, Ns::Soap | Ns::Unbound)
        {
            header = self.header(h)?;
        }
        let body = self.child(0, "Body").ok_or(ParseError::NotSoap)?;
        if !matches!(self.nodes[body].ns, Ns::Soap | Ns::Unbound) {
            return Err(ParseError::NotSoap);
        }
        let rpc = self.nodes[body].first_child;
        if rpc == NONE {
            return Err(ParseError::Missing("Body content"));
        }
        if let Some(uri) = self.rpc_other_ns.take() {
            return Err(ParseError::UnknownNamespace(uri));
        }
        let version = match self.nodes[rpc].ns {
            Ns::Cwmp(v) => v,
            _ => self.cwmp_seen.unwrap_or_default(),
        };
        let body = self.body(rpc)?;
        Ok(Envelope {
            version,
            header,
            body,
        })
    }

    fn header(&mut self, h: usize) -> R<Header> {
        let mut header = Header::default();
        let mut c = self.nodes[h].first_child;
        while c != NONE {
            let next = self.nodes[c].next_sibling;
            // Foreign header blocks (WS-Security and the like) are not ours to interpret.
            if matches!(self.nodes[c].ns, Ns::Cwmp(_) | Ns::Unbound) {
                let t = self.nodes[c].text.trim();
                match self.nodes[c].name {
                    "ID" => header.id = Some(self.take(c)),
                    "HoldRequests" => {
                        header.hold_requests = Some(
                            parse_bool(t).ok_or_else(|| ParseError::invalid("HoldRequests", t))?,
                        );
                    }
                    "SessionTimeout" | "sessionTimeout" => {
                        let v = t
                            .parse()
                            .map_err(|_| ParseError::invalid("SessionTimeout", t))?;
                        header.session_timeout = Some(v);
                    }
                    "SupportedCWMPVersions" => {
                        header.supported_cwmp_versions = Some(t.to_owned());
                    }
                    "UseCWMPVersion" => header.use_cwmp_version = Some(t.to_owned()),
                    // Obsolete and outside every XSD; only an explicit false clears it.
                    "NoMoreRequests" => header.no_more_requests = parse_bool(t) != Some(false),
                    _ => {}
                }
            }
            c = next;
        }
        Ok(header)
    }
}

/// `1`/`true` and `0`/`false`, case-insensitively, as CPE firmware writes both.
pub(super) fn parse_bool(t: &str) -> Option<bool> {
    if t == "1" || t.eq_ignore_ascii_case("true") {
        Some(true)
    } else if t == "0" || t.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}
