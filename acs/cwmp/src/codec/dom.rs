//! First parsing pass: XML events into a bounded, flat element arena.
//!
//! Elements are identified by interned local names (`&'static str`) so that later matching is
//! cheap and the arena does not allocate a string per element. Namespaces are resolved by URI,
//! never by prefix. Every [`Limits`] field is enforced here, while reading, so that no input can
//! make us allocate more than the limits allow.

use std::borrow::Cow;

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::{NsReader, XmlVersion};

use super::{SOAP_ENV, XSI};
use crate::error::{ParseError, truncate_echo};
use crate::limits::Limits;
use crate::rpc::{CwmpVersion, XsdType};

/// Marks "no node" in the arena's child and sibling links.
pub(super) const NONE: usize = usize::MAX;

/// The namespace class of an element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ns {
    /// The SOAP 1.1 envelope namespace.
    Soap,
    /// One of the CWMP URNs.
    Cwmp(CwmpVersion),
    /// No namespace, or an undeclared prefix (firmware that forgets `xmlns`).
    Unbound,
    /// Any other namespace.
    Other,
}

/// One element of the arena.
#[derive(Debug)]
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

/// The parsed document: node 0 is the SOAP Envelope.
#[derive(Debug, Default)]
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
}

/// Interns the local names the mapper looks at; everything else maps to `""`.
macro_rules! interned {
    ($($n:literal)*) => {
        fn intern(s: &str) -> &'static str {
            match s { $($n => $n,)* _ => "" }
        }
    };
}

interned! {
    "Envelope" "Header" "Body" "Fault" "ID" "HoldRequests" "SessionTimeout" "sessionTimeout"
    "SupportedCWMPVersions" "UseCWMPVersion" "NoMoreRequests"
    "GetRPCMethods" "GetParameterNames" "GetParameterValues" "SetParameterValues"
    "GetParameterAttributes" "SetParameterAttributes" "AddObject" "DeleteObject" "Reboot"
    "FactoryReset" "Download" "Upload" "ScheduleInform" "GetRPCMethodsResponse"
    "GetParameterNamesResponse" "GetParameterValuesResponse" "SetParameterValuesResponse"
    "GetParameterAttributesResponse" "SetParameterAttributesResponse" "AddObjectResponse"
    "DeleteObjectResponse" "RebootResponse" "FactoryResetResponse" "DownloadResponse"
    "UploadResponse" "ScheduleInformResponse" "Inform" "TransferComplete"
    "AutonomousTransferComplete" "RequestDownload" "InformResponse" "TransferCompleteResponse"
    "AutonomousTransferCompleteResponse" "RequestDownloadResponse"
    "ParameterPath" "NextLevel" "ParameterNames" "string" "ParameterList" "ParameterKey"
    "ParameterValueStruct" "Name" "Value" "SetParameterAttributesStruct" "NotificationChange"
    "Notification" "AccessListChange" "AccessList" "ObjectName" "CommandKey" "FileType" "URL"
    "Username" "Password" "FileSize" "TargetFileName" "DelaySeconds" "SuccessURL" "FailureURL"
    "MethodList" "ParameterInfoStruct" "Writable" "Status" "ParameterAttributeStruct"
    "InstanceNumber" "StartTime" "CompleteTime" "DeviceId" "Manufacturer" "OUI" "ProductClass"
    "SerialNumber" "Event" "EventStruct" "EventCode" "MaxEnvelopes" "CurrentTime" "RetryCount"
    "FaultStruct" "FaultCode" "FaultString" "AnnounceURL" "TransferURL" "IsDownload"
    "FileTypeArg" "ArgStruct" "faultcode" "faultstring" "detail" "SetParameterValuesFault"
    "ParameterName"
}

/// Whether an element counts against [`Limits::max_parameters`]: every list entry type.
fn is_list_entry(name: &str) -> bool {
    matches!(
        name,
        "ParameterValueStruct"
            | "ParameterInfoStruct"
            | "ParameterAttributeStruct"
            | "SetParameterAttributesStruct"
            | "string"
            | "EventStruct"
            | "ArgStruct"
            | "SetParameterValuesFault"
    )
}

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

/// State of one build.
struct Builder<'a, 'l> {
    doc: Doc<'a>,
    stack: Vec<usize>,
    limits: &'l Limits,
    entries: usize,
}

/// Reads `input` into a [`Doc`], enforcing `limits`. Fails with `NotSoap` as soon as the root is
/// not a SOAP 1.1 Envelope.
pub(super) fn build<'a>(input: &'a str, limits: &Limits) -> Result<Doc<'a>, ParseError> {
    let mut reader = NsReader::from_str(input);
    let mut b = Builder {
        doc: Doc::default(),
        stack: Vec::with_capacity(16),
        limits,
        entries: 0,
    };
    loop {
        let event = reader.read_event().map_err(ParseError::xml)?;
        match event {
            Event::Start(e) => {
                let (res, _) = reader.resolver().resolve_element(e.name());
                let idx = b.open(&reader, &res, &e)?;
                b.stack.push(idx);
            }
            Event::Empty(e) => {
                let (res, _) = reader.resolver().resolve_element(e.name());
                b.open(&reader, &res, &e)?;
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

impl<'a> Builder<'a, '_> {
    /// Adds an element to the arena under the current parent and returns its index.
    fn open(
        &mut self,
        reader: &NsReader<&'a [u8]>,
        res: &ResolveResult<'_>,
        e: &BytesStart<'_>,
    ) -> Result<usize, ParseError> {
        let limits = self.limits;
        if self.stack.len() + 1 > limits.max_depth {
            return Err(ParseError::TooDeep {
                limit: limits.max_depth,
            });
        }
        if self.doc.nodes.len() >= limits.max_elements {
            return Err(ParseError::TooManyElements {
                limit: limits.max_elements,
            });
        }
        let local = e.local_name();
        let raw_name: &str = local.as_ref();
        let name = intern(raw_name);
        if is_list_entry(name) {
            self.entries += 1;
            if self.entries > limits.max_parameters {
                return Err(ParseError::TooManyParameters {
                    limit: limits.max_parameters,
                });
            }
        }
        let (ns, other_uri) = classify(res);
        if let Ns::Cwmp(v) = ns {
            self.doc.cwmp_seen.get_or_insert(v);
        }
        let mut node = Node {
            name,
            ns,
            text: Cow::Borrowed(""),
            xsi_type: None,
            first_child: NONE,
            next_sibling: NONE,
            last_child: NONE,
        };
        self.attributes(reader, e, &mut node)?;

        let Some(&parent) = self.stack.last() else {
            // The root: anything but a SOAP 1.1 Envelope is not ours to parse.
            if name != "Envelope" || ns != Ns::Soap {
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
            if name.is_empty() {
                self.doc.rpc_raw_name = Some(truncate_echo(raw_name));
            }
            if let Some(uri) = other_uri {
                self.doc.rpc_other_ns = Some(truncate_echo(uri));
            }
        }
        self.doc.nodes.push(node);
        Ok(idx)
    }

    /// Reads the attributes we care about: CWMP namespace declarations and `xsi:type`.
    fn attributes(
        &mut self,
        reader: &NsReader<&'a [u8]>,
        e: &BytesStart<'_>,
        node: &mut Node<'a>,
    ) -> Result<(), ParseError> {
        // Whether the current xsi_type came from a properly bound XSI attribute; a bound one
        // wins over the any-prefix fallback.
        let mut strong = false;
        for attr in e.attributes() {
            let attr = attr.map_err(ParseError::xml)?;
            if attr.value.len() > self.limits.max_string_len {
                return Err(ParseError::StringTooLong {
                    limit: self.limits.max_string_len,
                });
            }
            let key = attr.key;
            if key.as_namespace_binding().is_some() {
                if let Some(v) = CwmpVersion::from_urn(attr.value.trim()) {
                    self.doc.cwmp_seen.get_or_insert(v);
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

    /// Appends a piece of character data to the innermost open element.
    fn text(&mut self, piece: Cow<'a, str>) -> Result<(), ParseError> {
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
        if node.first_child != NONE || piece.is_empty() {
            return Ok(());
        }
        if node.text.len() + piece.len() > self.limits.max_string_len {
            return Err(ParseError::StringTooLong {
                limit: self.limits.max_string_len,
            });
        }
        if node.text.is_empty() {
            node.text = piece;
        } else {
            node.text.to_mut().push_str(&piece);
        }
        Ok(())
    }
}
