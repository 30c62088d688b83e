//! The general front end of the first pass: quick-xml's namespace-resolving reader.
//!
//! This is the reference behaviour. It accepts everything quick-xml accepts (CDATA, comments,
//! character references, irregular spacing) and produces every XML and limit error; the fast
//! scanner falls back to it whenever it sees anything else.

use std::borrow::Cow;

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::{NsReader, XmlVersion};

use super::dom::{Doc, NS_DEPTH, Node, Ns, Tree};
use super::{SOAP_ENV, XSI};
use crate::error::{ParseError, truncate_echo};
use crate::limits::Limits;
use crate::rpc::{CwmpVersion, XsdType};

/// Classifies a resolved namespace; `Other` also returns the URI for error reporting.
fn classify<'r>(res: &ResolveResult<'r>) -> (Ns, Option<&'r str>) {
    match res {
        ResolveResult::Bound(ns) if ns.0 == SOAP_ENV => (Ns::Soap, None),
        ResolveResult::Bound(ns) => match CwmpVersion::from_urn(ns.0) {
            Some(v) => (Ns::Cwmp(v), None),
            None => (Ns::Other, Some(ns.0)),
        },
        ResolveResult::Unbound | ResolveResult::Unknown(_) => (Ns::Unbound, None),
    }
}

/// Reads `input` into a [`Doc`] with quick-xml, enforcing `limits`.
pub(super) fn build<'a>(input: &'a str, limits: &Limits) -> Result<Doc<'a>, ParseError> {
    let mut reader = NsReader::from_str(input);
    let mut b = Tree::new(limits, 0);
    loop {
        let event = reader.read_event().map_err(ParseError::xml)?;
        match event {
            Event::Start(e) => {
                let (res, _) = reader.resolver().resolve_element(e.name());
                let idx = open(&mut b, &reader, &res, &e)?;
                b.stack.push(idx);
            }
            Event::Empty(e) => {
                let (res, _) = reader.resolver().resolve_element(e.name());
                open(&mut b, &reader, &res, &e)?;
                if b.stack.is_empty() {
                    // `<Envelope/>`: a root without a Body.
                    return Err(ParseError::NotSoap);
                }
            }
            Event::End(_) => {
                // quick-xml already rejects unmatched end tags; this keeps node 0 guaranteed.
                if b.stack.pop().is_none() {
                    return Err(ParseError::Xml("unmatched end tag".into()));
                }
                if b.stack.is_empty() {
                    // Anything after the root element is ignored, as lenient CPE stacks do.
                    return Ok(b.doc);
                }
            }
            Event::Text(t) => b.text(t.xml10_content())?,
            Event::CData(t) => b.text(t.xml10_content())?,
            Event::GeneralRef(r) => {
                let c = match r.resolve_char_ref().map_err(ParseError::xml)? {
                    Some(c) => c,
                    None => match &*r {
                        "lt" => '<',
                        "gt" => '>',
                        "amp" => '&',
                        "apos" => '\'',
                        "quot" => '"',
                        other => {
                            return Err(ParseError::Xml(format!(
                                "unknown entity &{};",
                                truncate_echo(other)
                            )));
                        }
                    },
                };
                let mut buf = [0u8; 4];
                b.text(Cow::Owned(c.encode_utf8(&mut buf).to_owned()))?;
            }
            // Refusing DTDs outright rules out entity expansion attacks of every kind.
            Event::DocType(_) => return Err(ParseError::Xml("DOCTYPE is not allowed".into())),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => {
                return Err(if b.doc.nodes.is_empty() {
                    ParseError::NotSoap
                } else {
                    ParseError::Xml("unexpected end of document".into())
                });
            }
        }
    }
}

/// Adds an element to the arena under the current parent and returns its index.
fn open<'a>(
    b: &mut Tree<'a, '_>,
    reader: &NsReader<&'a [u8]>,
    res: &ResolveResult<'_>,
    e: &BytesStart<'_>,
) -> Result<usize, ParseError> {
    let local = e.local_name();
    let raw_name: &str = local.as_ref();
    let name = b.admit(raw_name, b.stack.len() + 1)?;
    let (ns, other_uri) = classify(res);
    if let Ns::Cwmp(v) = ns {
        b.doc.cwmp_seen.get_or_insert(v);
    }
    let kept = if b.stack.len() < NS_DEPTH {
        ns
    } else {
        Ns::Unbound
    };
    let mut node = Node::new(name, kept);
    attributes(b, reader, e, &mut node)?;
    b.link(node, raw_name, other_uri)
}

/// Reads the attributes we care about: CWMP namespace declarations and `xsi:type`.
fn attributes<'a>(
    b: &mut Tree<'a, '_>,
    reader: &NsReader<&'a [u8]>,
    e: &BytesStart<'_>,
    node: &mut Node<'a>,
) -> Result<(), ParseError> {
    // Whether the current xsi_type came from a properly bound XSI attribute; a bound one
    // wins over the any-prefix fallback.
    let mut strong = false;
    for attr in e.attributes() {
        let attr = attr.map_err(ParseError::xml)?;
        b.check_len(attr.value.len())?;
        let key = attr.key;
        if key.as_namespace_binding().is_some() {
            if let Some(v) = CwmpVersion::from_urn(attr.value.trim()) {
                b.doc.cwmp_seen.get_or_insert(v);
            }
            continue;
        }
        if node.name != "Value" || key.local_name().as_ref() != "type" || strong {
            continue;
        }
        let (res, _) = reader.resolver().resolve_attribute(key);
        let bound_xsi = matches!(res, ResolveResult::Bound(ns) if ns.0 == XSI);
        if bound_xsi || key.prefix().is_some() {
            let value = attr
                .normalized_value(XmlVersion::default())
                .map_err(ParseError::xml)?;
            node.xsi_type = Some(XsdType::parse(value.trim()));
            strong = bound_xsi;
        }
    }
    Ok(())
}
