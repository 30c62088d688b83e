//! Second parsing pass: the element arena into a typed [`Envelope`].
//!
//! RPC children are matched by local name whatever their namespace, because CPE stacks disagree
//! about qualifying them. Scalars are lenient where real firmware is sloppy (surrounding
//! whitespace, `true`/`1`, empty numbers as 0) and strict where a wrong value would mislead us
//! (a non-numeric Status is an error, not 0).

use std::mem;

use super::UNKNOWN_TIME;
use super::dom::{self, Doc, NONE, Ns};
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
    fn child(&self, n: usize, name: &str) -> Option<usize> {
        let mut c = self.nodes[n].first_child;
        while c != NONE {
            if self.nodes[c].name == name {
                return Some(c);
            }
            c = self.nodes[c].next_sibling;
        }
        None
    }

    /// Like [`Self::child`] but required.
    fn req(&self, n: usize, name: &'static str) -> R<usize> {
        self.child(n, name).ok_or(ParseError::Missing(name))
    }

    /// The children of `n` named `name`, collected so the caller may mutate the arena.
    fn children(&self, n: usize, name: &str) -> Vec<usize> {
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
    fn take(&mut self, n: usize) -> String {
        mem::take(&mut self.nodes[n].text).into_owned()
    }

    /// The text of child `name`, or empty when absent.
    fn s(&mut self, n: usize, name: &str) -> String {
        self.child(n, name)
            .map(|c| self.take(c))
            .unwrap_or_default()
    }

    /// A `dateTime` child; the unknown time reads back as the empty string.
    fn time(&mut self, n: usize, name: &str) -> String {
        let s = self.s(n, name);
        if s.trim() == UNKNOWN_TIME {
            String::new()
        } else {
            s
        }
    }

    /// The trimmed text of child `name`; `None` when absent.
    fn trimmed(&self, n: usize, name: &str) -> Option<&str> {
        self.child(n, name).map(|c| self.nodes[c].text.trim())
    }

    fn u32(&self, n: usize, name: &'static str) -> R<u32> {
        match self.trimmed(n, name) {
            None | Some("") => Ok(0),
            Some(t) => t.parse().map_err(|_| ParseError::invalid(name, t)),
        }
    }

    fn u64(&self, n: usize, name: &'static str) -> R<u64> {
        match self.trimmed(n, name) {
            None | Some("") => Ok(0),
            Some(t) => t.parse().map_err(|_| ParseError::invalid(name, t)),
        }
    }

    fn bool(&self, n: usize, name: &'static str) -> R<bool> {
        match self.trimmed(n, name) {
            None | Some("") => Ok(false),
            Some(t) => parse_bool(t).ok_or_else(|| ParseError::invalid(name, t)),
        }
    }

    /// The `string` entries of array child `name`.
    fn strings(&mut self, n: usize, name: &'static str) -> R<Vec<String>> {
        let list = self.req(n, name)?;
        Ok(self
            .children(list, "string")
            .into_iter()
            .map(|c| self.take(c))
            .collect())
    }

    /// A `ParameterValueStruct` array.
    fn values(&mut self, n: usize) -> R<Vec<ParameterValue>> {
        let list = self.req(n, "ParameterList")?;
        let mut out = Vec::new();
        for c in self.children(list, "ParameterValueStruct") {
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
        }
        Ok(out)
    }

    fn fault_struct(&mut self, n: usize) -> R<FaultStruct> {
        Ok(match self.child(n, "FaultStruct") {
            Some(f) => FaultStruct {
                code: self.u32(f, "FaultCode")?,
                string: self.s(f, "FaultString"),
            },
            None => FaultStruct::default(),
        })
    }

    fn envelope(&mut self) -> R<Envelope> {
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

    fn body(&mut self, n: usize) -> R<Body> {
        Ok(match self.nodes[n].name {
            "GetRPCMethods" => Body::GetRpcMethods,
            "GetParameterNames" => Body::GetParameterNames {
                path: self.s(n, "ParameterPath"),
                next_level: self.bool(n, "NextLevel")?,
            },
            "GetParameterValues" => Body::GetParameterValues {
                names: self.strings(n, "ParameterNames")?,
            },
            "SetParameterValues" => Body::SetParameterValues {
                parameters: self.values(n)?,
                parameter_key: self.s(n, "ParameterKey"),
            },
            "GetParameterAttributes" => Body::GetParameterAttributes {
                names: self.strings(n, "ParameterNames")?,
            },
            "SetParameterAttributes" => {
                let list = self.req(n, "ParameterList")?;
                let mut parameters = Vec::new();
                for c in self.children(list, "SetParameterAttributesStruct") {
                    parameters.push(SetParameterAttribute {
                        name: self.take(self.req(c, "Name")?),
                        notification_change: self.bool(c, "NotificationChange")?,
                        notification: self.u32(c, "Notification")?,
                        access_list_change: self.bool(c, "AccessListChange")?,
                        access_list: self.optional_strings(c, "AccessList"),
                    });
                }
                Body::SetParameterAttributes { parameters }
            }
            "AddObject" => Body::AddObject {
                object_name: self.s(n, "ObjectName"),
                parameter_key: self.s(n, "ParameterKey"),
            },
            "DeleteObject" => Body::DeleteObject {
                object_name: self.s(n, "ObjectName"),
                parameter_key: self.s(n, "ParameterKey"),
            },
            "Reboot" => Body::Reboot {
                command_key: self.s(n, "CommandKey"),
            },
            "FactoryReset" => Body::FactoryReset,
            "Download" => Body::Download(Download {
                command_key: self.s(n, "CommandKey"),
                file_type: self.s(n, "FileType"),
                url: self.s(n, "URL"),
                username: self.s(n, "Username"),
                password: self.s(n, "Password"),
                file_size: self.u64(n, "FileSize")?,
                target_file_name: self.s(n, "TargetFileName"),
                delay_seconds: self.u32(n, "DelaySeconds")?,
                success_url: self.s(n, "SuccessURL"),
                failure_url: self.s(n, "FailureURL"),
            }),
            "Upload" => Body::Upload(Upload {
                command_key: self.s(n, "CommandKey"),
                file_type: self.s(n, "FileType"),
                url: self.s(n, "URL"),
                username: self.s(n, "Username"),
                password: self.s(n, "Password"),
                delay_seconds: self.u32(n, "DelaySeconds")?,
            }),
            "ScheduleInform" => Body::ScheduleInform {
                delay_seconds: self.u32(n, "DelaySeconds")?,
                command_key: self.s(n, "CommandKey"),
            },
            "GetRPCMethodsResponse" => Body::GetRpcMethodsResponse {
                methods: self.strings(n, "MethodList")?,
            },
            "GetParameterNamesResponse" => {
                let list = self.req(n, "ParameterList")?;
                let mut parameters = Vec::new();
                for c in self.children(list, "ParameterInfoStruct") {
                    let name = self.take(self.req(c, "Name")?);
                    parameters.push(ParameterInfo {
                        name,
                        writable: self.bool(c, "Writable")?,
                    });
                }
                Body::GetParameterNamesResponse { parameters }
            }
            "GetParameterValuesResponse" => Body::GetParameterValuesResponse {
                parameters: self.values(n)?,
            },
            "SetParameterValuesResponse" => Body::SetParameterValuesResponse {
                status: self.u32(n, "Status")?,
            },
            "GetParameterAttributesResponse" => {
                let list = self.req(n, "ParameterList")?;
                let mut parameters = Vec::new();
                for c in self.children(list, "ParameterAttributeStruct") {
                    parameters.push(ParameterAttribute {
                        name: self.take(self.req(c, "Name")?),
                        notification: self.u32(c, "Notification")?,
                        access_list: self.optional_strings(c, "AccessList"),
                    });
                }
                Body::GetParameterAttributesResponse { parameters }
            }
            "SetParameterAttributesResponse" => Body::SetParameterAttributesResponse,
            "AddObjectResponse" => Body::AddObjectResponse {
                instance_number: self.u32(n, "InstanceNumber")?,
                status: self.u32(n, "Status")?,
            },
            "DeleteObjectResponse" => Body::DeleteObjectResponse {
                status: self.u32(n, "Status")?,
            },
            "RebootResponse" => Body::RebootResponse,
            "FactoryResetResponse" => Body::FactoryResetResponse,
            "DownloadResponse" => Body::DownloadResponse {
                status: self.u32(n, "Status")?,
                start_time: self.time(n, "StartTime"),
                complete_time: self.time(n, "CompleteTime"),
            },
            "UploadResponse" => Body::UploadResponse {
                status: self.u32(n, "Status")?,
                start_time: self.time(n, "StartTime"),
                complete_time: self.time(n, "CompleteTime"),
            },
            "ScheduleInformResponse" => Body::ScheduleInformResponse,
            "Inform" => Body::Inform(self.inform(n)?),
            "TransferComplete" => Body::TransferComplete(TransferComplete {
                command_key: self.s(n, "CommandKey"),
                fault: self.fault_struct(n)?,
                start_time: self.time(n, "StartTime"),
                complete_time: self.time(n, "CompleteTime"),
            }),
            "AutonomousTransferComplete" => {
                Body::AutonomousTransferComplete(AutonomousTransferComplete {
                    announce_url: self.s(n, "AnnounceURL"),
                    transfer_url: self.s(n, "TransferURL"),
                    is_download: self.bool(n, "IsDownload")?,
                    file_type: self.s(n, "FileType"),
                    file_size: self.u64(n, "FileSize")?,
                    target_file_name: self.s(n, "TargetFileName"),
                    fault: self.fault_struct(n)?,
                    start_time: self.time(n, "StartTime"),
                    complete_time: self.time(n, "CompleteTime"),
                })
            }
            "RequestDownload" => {
                let mut arguments = Vec::new();
                if let Some(list) = self.child(n, "FileTypeArg") {
                    for c in self.children(list, "ArgStruct") {
                        arguments.push((self.s(c, "Name"), self.s(c, "Value")));
                    }
                }
                Body::RequestDownload {
                    file_type: self.s(n, "FileType"),
                    arguments,
                }
            }
            "InformResponse" => Body::InformResponse {
                max_envelopes: self.u32(n, "MaxEnvelopes")?,
            },
            "TransferCompleteResponse" => Body::TransferCompleteResponse,
            "AutonomousTransferCompleteResponse" => Body::AutonomousTransferCompleteResponse,
            "RequestDownloadResponse" => Body::RequestDownloadResponse,
            "Fault" => Body::Fault(self.fault(n)?),
            "" => {
                return Err(ParseError::UnknownMethod(
                    self.rpc_raw_name.take().unwrap_or_default(),
                ));
            }
            other => return Err(ParseError::UnknownMethod(other.to_owned())),
        })
    }

    /// The `string` entries of an optional array child (AccessList may be omitted).
    fn optional_strings(&mut self, n: usize, name: &str) -> Vec<String> {
        match self.child(n, name) {
            Some(list) => self
                .children(list, "string")
                .into_iter()
                .map(|c| self.take(c))
                .collect(),
            None => Vec::new(),
        }
    }

    fn inform(&mut self, n: usize) -> R<Inform> {
        let d = self.req(n, "DeviceId")?;
        let device_id = DeviceIdStruct {
            manufacturer: self.s(d, "Manufacturer"),
            oui: self.s(d, "OUI"),
            product_class: self.s(d, "ProductClass"),
            serial_number: self.s(d, "SerialNumber"),
        };
        let mut events = Vec::new();
        if let Some(list) = self.child(n, "Event") {
            for c in self.children(list, "EventStruct") {
                events.push(EventStruct {
                    code: self.s(c, "EventCode"),
                    command_key: self.s(c, "CommandKey"),
                });
            }
        }
        // Some CPEs omit an empty ParameterList altogether.
        let parameters = if self.child(n, "ParameterList").is_some() {
            self.values(n)?
        } else {
            Vec::new()
        };
        Ok(Inform {
            device_id,
            events,
            max_envelopes: self.u32(n, "MaxEnvelopes")?,
            current_time: self.time(n, "CurrentTime"),
            retry_count: self.u32(n, "RetryCount")?,
            parameters,
        })
    }

    fn fault(&mut self, n: usize) -> R<Fault> {
        let soap_code = self.s(n, "faultcode");
        // `soap-env:Client` and `Client` mean the same; keep the local part.
        let soap_code = soap_code
            .trim()
            .rsplit(':')
            .next()
            .unwrap_or_default()
            .to_owned();
        let detail = self.req(n, "detail")?;
        let f = self.req(detail, "Fault")?;
        let mut set_parameter_values_faults = Vec::new();
        for c in self.children(f, "SetParameterValuesFault") {
            set_parameter_values_faults.push(SetParameterValuesFault {
                name: self.s(c, "ParameterName"),
                code: self.u32(c, "FaultCode")?,
                string: self.s(c, "FaultString"),
            });
        }
        Ok(Fault {
            soap_code,
            code: self.u32(f, "FaultCode")?,
            string: self.s(f, "FaultString"),
            set_parameter_values_faults,
        })
    }
}

/// `1`/`true` and `0`/`false`, case-insensitively, as CPE firmware writes both.
fn parse_bool(t: &str) -> Option<bool> {
    if t == "1" || t.eq_ignore_ascii_case("true") {
        Some(true)
    } else if t == "0" || t.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}
