//! Writing envelopes: direct string building, no serializer framework.
//!
//! The output uses the conventional prefixes (`soap-env`, `soap-enc`, `xsd`, `xsi`, `cwmp`), all
//! declared on the Envelope, with the envelope's CWMP URN. RPC children are unqualified, as the
//! CWMP XSDs require. Every [`Body`] written here parses back to an equal value.

use std::io::Write as _;

use super::{SOAP_ENC, SOAP_ENV, UNKNOWN_TIME, XSD, XSI};
use crate::rpc::*;

/// Serializes `env` into a new buffer.
pub fn to_bytes(env: &Envelope) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    write_envelope(env, &mut out);
    out
}

/// Appends the XML of `env` to `out`.
///
/// The obsolete `NoMoreRequests` header is never written (CWMP 1.0 dropped it); an empty
/// `soap_code` in a Fault is written as `Server`; empty time strings become
/// [`super::UNKNOWN_TIME`].
pub fn write_envelope(env: &Envelope, out: &mut Vec<u8>) {
    let mut w = W(out);
    w.raw(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    w.raw("\n<soap-env:Envelope xmlns:soap-env=\"");
    w.raw(SOAP_ENV);
    w.raw("\" xmlns:soap-enc=\"");
    w.raw(SOAP_ENC);
    w.raw("\" xmlns:xsd=\"");
    w.raw(XSD);
    w.raw("\" xmlns:xsi=\"");
    w.raw(XSI);
    w.raw("\" xmlns:cwmp=\"");
    w.raw(env.version.urn());
    w.raw("\">");
    w.header(&env.header);
    w.raw("<soap-env:Body>");
    w.body(&env.body);
    w.raw("</soap-env:Body></soap-env:Envelope>");
}

/// A writer over the output buffer.
struct W<'a>(&'a mut Vec<u8>);

impl W<'_> {
    fn raw(&mut self, s: &str) {
        self.0.extend_from_slice(s.as_bytes());
    }

    /// Escaped character data. `\r` is written as a reference because a literal one would be
    /// normalized away by the reader; other C0 controls cannot appear in XML 1.0 at all and are
    /// written as references too (our reader accepts them), except NUL, which is dropped.
    fn text(&mut self, s: &str) {
        self.escaped(s, false);
    }

    /// Escaped attribute value: additionally protects tabs and newlines from normalization.
    fn attr(&mut self, s: &str) {
        self.escaped(s, true);
    }

    fn escaped(&mut self, s: &str, attr: bool) {
        let bytes = s.as_bytes();
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            let rep: Option<&str> = match b {
                b'&' => Some("&amp;"),
                b'<' => Some("&lt;"),
                b'>' => Some("&gt;"),
                b'"' => Some("&quot;"),
                b'\'' => Some("&apos;"),
                0 => Some(""),
                b'\t' | b'\n' if !attr => None,
                1..=0x1f => {
                    self.0.extend_from_slice(&bytes[start..i]);
                    let _ = write!(self.0, "&#{b};");
                    start = i + 1;
                    continue;
                }
                _ => None,
            };
            if let Some(rep) = rep {
                self.0.extend_from_slice(&bytes[start..i]);
                self.raw(rep);
                start = i + 1;
            }
        }
        self.0.extend_from_slice(&bytes[start..]);
    }

    /// `<name>text</name>` with `text` escaped.
    fn leaf(&mut self, name: &str, text: &str) {
        self.open(name);
        self.text(text);
        self.close(name);
    }

    fn time(&mut self, name: &str, t: &str) {
        self.leaf(name, if t.is_empty() { UNKNOWN_TIME } else { t });
    }

    fn num(&mut self, name: &str, n: impl std::fmt::Display) {
        self.open(name);
        let _ = write!(self.0, "{n}");
        self.close(name);
    }

    fn bool(&mut self, name: &str, b: bool) {
        self.leaf(name, if b { "1" } else { "0" });
    }

    fn open(&mut self, name: &str) {
        self.0.push(b'<');
        self.raw(name);
        self.0.push(b'>');
    }

    fn close(&mut self, name: &str) {
        self.raw("</");
        self.raw(name);
        self.0.push(b'>');
    }

    /// Opens a SOAP-encoded array: `<name soap-enc:arrayType="ty[len]">`.
    fn array(&mut self, name: &str, ty: &str, len: usize) {
        let _ = write!(self.0, "<{name} soap-enc:arrayType=\"{ty}[{len}]\">");
    }

    fn strings(&mut self, name: &str, items: &[String]) {
        self.array(name, "xsd:string", items.len());
        for s in items {
            self.leaf("string", s);
        }
        self.close(name);
    }

    fn header(&mut self, h: &Header) {
        if h.id.is_none()
            && h.hold_requests.is_none()
            && h.session_timeout.is_none()
            && h.supported_cwmp_versions.is_none()
            && h.use_cwmp_version.is_none()
        {
            return;
        }
        self.raw("<soap-env:Header>");
        if let Some(id) = &h.id {
            self.raw(r#"<cwmp:ID soap-env:mustUnderstand="1">"#);
            self.text(id);
            self.raw("</cwmp:ID>");
        }
        if let Some(hold) = h.hold_requests {
            self.raw(r#"<cwmp:HoldRequests soap-env:mustUnderstand="1">"#);
            self.raw(if hold { "1" } else { "0" });
            self.raw("</cwmp:HoldRequests>");
        }
        if let Some(t) = h.session_timeout {
            let _ = write!(
                self.0,
                r#"<cwmp:SessionTimeout soap-env:mustUnderstand="0">{t}</cwmp:SessionTimeout>"#
            );
        }
        if let Some(v) = &h.supported_cwmp_versions {
            self.raw(r#"<cwmp:SupportedCWMPVersions soap-env:mustUnderstand="0">"#);
            self.text(v);
            self.raw("</cwmp:SupportedCWMPVersions>");
        }
        if let Some(v) = &h.use_cwmp_version {
            self.raw(r#"<cwmp:UseCWMPVersion soap-env:mustUnderstand="1">"#);
            self.text(v);
            self.raw("</cwmp:UseCWMPVersion>");
        }
        self.raw("</soap-env:Header>");
    }

    fn values(&mut self, params: &[ParameterValue]) {
        self.array("ParameterList", "cwmp:ParameterValueStruct", params.len());
        for p in params {
            self.raw("<ParameterValueStruct>");
            self.leaf("Name", &p.name);
            self.raw("<Value xsi:type=\"");
            self.raw("xsd:");
            self.attr(p.xsd_type.local_name());
            self.raw("\">");
            self.text(&p.value);
            self.raw("</Value></ParameterValueStruct>");
        }
        self.raw("</ParameterList>");
    }

    fn fault_struct(&mut self, f: &FaultStruct) {
        self.raw("<FaultStruct>");
        self.num("FaultCode", f.code);
        self.leaf("FaultString", &f.string);
        self.raw("</FaultStruct>");
    }

    fn body(&mut self, body: &Body) {
        let name = body.name();
        if let Body::Fault(f) = body {
            self.fault(f);
            return;
        }
        self.raw("<cwmp:");
        self.raw(name);
        self.raw(">");
        self.body_content(body);
        self.raw("</cwmp:");
        self.raw(name);
        self.raw(">");
    }

    fn body_content(&mut self, body: &Body) {
        match body {
            Body::GetParameterNames { path, next_level } => {
                self.leaf("ParameterPath", path);
                self.bool("NextLevel", *next_level);
            }
            Body::GetParameterValues { names } | Body::GetParameterAttributes { names } => {
                self.strings("ParameterNames", names);
            }
            Body::SetParameterValues {
                parameters,
                parameter_key,
            } => {
                self.values(parameters);
                self.leaf("ParameterKey", parameter_key);
            }
            Body::SetParameterAttributes { parameters } => {
                let ty = "cwmp:SetParameterAttributesStruct";
                self.array("ParameterList", ty, parameters.len());
                for p in parameters {
                    self.raw("<SetParameterAttributesStruct>");
                    self.leaf("Name", &p.name);
                    self.bool("NotificationChange", p.notification_change);
                    self.num("Notification", p.notification);
                    self.bool("AccessListChange", p.access_list_change);
                    self.strings("AccessList", &p.access_list);
                    self.raw("</SetParameterAttributesStruct>");
                }
                self.close("ParameterList");
            }
            Body::AddObject {
                object_name,
                parameter_key,
            }
            | Body::DeleteObject {
                object_name,
                parameter_key,
            } => {
                self.leaf("ObjectName", object_name);
                self.leaf("ParameterKey", parameter_key);
            }
            Body::Reboot { command_key } => self.leaf("CommandKey", command_key),
            Body::Download(d) => {
                self.leaf("CommandKey", &d.command_key);
                self.leaf("FileType", &d.file_type);
                self.leaf("URL", &d.url);
                self.leaf("Username", &d.username);
                self.leaf("Password", &d.password);
                self.num("FileSize", d.file_size);
                self.leaf("TargetFileName", &d.target_file_name);
                self.num("DelaySeconds", d.delay_seconds);
                self.leaf("SuccessURL", &d.success_url);
                self.leaf("FailureURL", &d.failure_url);
            }
            Body::Upload(u) => {
                self.leaf("CommandKey", &u.command_key);
                self.leaf("FileType", &u.file_type);
                self.leaf("URL", &u.url);
                self.leaf("Username", &u.username);
                self.leaf("Password", &u.password);
                self.num("DelaySeconds", u.delay_seconds);
            }
            Body::ScheduleInform {
                delay_seconds,
                command_key,
            } => {
                self.num("DelaySeconds", delay_seconds);
                self.leaf("CommandKey", command_key);
            }
            Body::ScheduleDownload(d) => {
                self.leaf("CommandKey", &d.command_key);
                self.leaf("FileType", &d.file_type);
                self.leaf("URL", &d.url);
                self.leaf("Username", &d.username);
                self.leaf("Password", &d.password);
                self.num("FileSize", d.file_size);
                self.leaf("TargetFileName", &d.target_file_name);
                let ty = "cwmp:TimeWindowStruct";
                self.array("TimeWindowList", ty, d.time_windows.len());
                for w in &d.time_windows {
                    self.raw("<TimeWindowStruct>");
                    self.num("WindowStart", w.window_start);
                    self.num("WindowEnd", w.window_end);
                    self.leaf("WindowMode", &w.window_mode);
                    self.leaf("UserMessage", &w.user_message);
                    self.num("MaxRetries", w.max_retries);
                    self.raw("</TimeWindowStruct>");
                }
                self.close("TimeWindowList");
            }
            Body::CancelTransfer { command_key } => self.leaf("CommandKey", command_key),
            Body::SetVouchers { vouchers } => {
                self.array("VoucherList", "xsd:base64", vouchers.len());
                for v in vouchers {
                    self.leaf("base64", v);
                }
                self.close("VoucherList");
            }
            Body::GetOptions { option_name } => self.leaf("OptionName", option_name),
            Body::GetOptionsResponse { options } => {
                self.array("OptionList", "cwmp:OptionStruct", options.len());
                for o in options {
                    self.raw("<OptionStruct>");
                    self.leaf("OptionName", &o.option_name);
                    self.leaf("VoucherSN", &o.voucher_sn);
                    self.num("State", o.state);
                    self.leaf("Mode", &o.mode);
                    self.time("StartDate", &o.start_date);
                    self.time("ExpirationDate", &o.expiration_date);
                    self.bool("IsTransferable", o.is_transferable);
                    self.raw("</OptionStruct>");
                }
                self.close("OptionList");
            }
            Body::Kicked {
                command,
                referer,
                arg,
                next,
            } => {
                self.leaf("Command", command);
                self.leaf("Referer", referer);
                self.leaf("Arg", arg);
                self.leaf("Next", next);
            }
            Body::KickedResponse { next_url } => self.leaf("NextURL", next_url),
            Body::ChangeDuState {
                operations,
                command_key,
            } => {
                self.array("Operations", "cwmp:OperationStruct", operations.len());
                for op in operations {
                    self.du_operation(op);
                }
                self.close("Operations");
                self.leaf("CommandKey", command_key);
            }
            Body::GetQueuedTransfersResponse { transfers } => {
                let ty = "cwmp:QueuedTransferStruct";
                self.array("TransferList", ty, transfers.len());
                for t in transfers {
                    self.raw("<QueuedTransferStruct>");
                    self.leaf("CommandKey", &t.command_key);
                    self.num("State", t.state);
                    self.raw("</QueuedTransferStruct>");
                }
                self.close("TransferList");
            }
            Body::GetAllQueuedTransfersResponse { transfers } => {
                let ty = "cwmp:AllQueuedTransferStruct";
                self.array("TransferList", ty, transfers.len());
                for t in transfers {
                    self.raw("<AllQueuedTransferStruct>");
                    self.leaf("CommandKey", &t.command_key);
                    self.num("State", t.state);
                    self.bool("IsDownload", t.is_download);
                    self.leaf("FileType", &t.file_type);
                    self.num("FileSize", t.file_size);
                    self.leaf("TargetFileName", &t.target_file_name);
                    self.raw("</AllQueuedTransferStruct>");
                }
                self.close("TransferList");
            }
            Body::DuStateChangeComplete {
                results,
                command_key,
            } => {
                self.op_results("cwmp:OpResultStruct", "OpResultStruct", results, false);
                self.leaf("CommandKey", command_key);
            }
            Body::AutonomousDuStateChangeComplete { results } => {
                let (ty, entry) = ("cwmp:AutonOpResultStruct", "AutonOpResultStruct");
                self.op_results(ty, entry, results, true);
            }
            Body::GetRpcMethodsResponse { methods } => self.strings("MethodList", methods),
            Body::GetParameterNamesResponse { parameters } => {
                self.array(
                    "ParameterList",
                    "cwmp:ParameterInfoStruct",
                    parameters.len(),
                );
                for p in parameters {
                    self.raw("<ParameterInfoStruct>");
                    self.leaf("Name", &p.name);
                    self.bool("Writable", p.writable);
                    self.raw("</ParameterInfoStruct>");
                }
                self.close("ParameterList");
            }
            Body::GetParameterValuesResponse { parameters } => self.values(parameters),
            Body::SetParameterValuesResponse { status } | Body::DeleteObjectResponse { status } => {
                self.num("Status", status)
            }
            Body::GetParameterAttributesResponse { parameters } => {
                self.array(
                    "ParameterList",
                    "cwmp:ParameterAttributeStruct",
                    parameters.len(),
                );
                for p in parameters {
                    self.raw("<ParameterAttributeStruct>");
                    self.leaf("Name", &p.name);
                    self.num("Notification", p.notification);
                    self.strings("AccessList", &p.access_list);
                    self.raw("</ParameterAttributeStruct>");
                }
                self.close("ParameterList");
            }
            Body::AddObjectResponse {
                instance_number,
                status,
            } => {
                self.num("InstanceNumber", instance_number);
                self.num("Status", status);
            }
            Body::DownloadResponse {
                status,
                start_time,
                complete_time,
            }
            | Body::UploadResponse {
                status,
                start_time,
                complete_time,
            } => {
                self.num("Status", status);
                self.time("StartTime", start_time);
                self.time("CompleteTime", complete_time);
            }
            Body::Inform(i) => self.inform(i),
            Body::TransferComplete(t) => {
                self.leaf("CommandKey", &t.command_key);
                self.fault_struct(&t.fault);
                self.time("StartTime", &t.start_time);
                self.time("CompleteTime", &t.complete_time);
            }
            Body::AutonomousTransferComplete(t) => {
                self.leaf("AnnounceURL", &t.announce_url);
                self.leaf("TransferURL", &t.transfer_url);
                self.bool("IsDownload", t.is_download);
                self.leaf("FileType", &t.file_type);
                self.num("FileSize", t.file_size);
                self.leaf("TargetFileName", &t.target_file_name);
                self.fault_struct(&t.fault);
                self.time("StartTime", &t.start_time);
                self.time("CompleteTime", &t.complete_time);
            }
            Body::RequestDownload {
                file_type,
                arguments,
            } => {
                self.leaf("FileType", file_type);
                self.array("FileTypeArg", "cwmp:ArgStruct", arguments.len());
                for (n, v) in arguments {
                    self.raw("<ArgStruct>");
                    self.leaf("Name", n);
                    self.leaf("Value", v);
                    self.raw("</ArgStruct>");
                }
                self.close("FileTypeArg");
            }
            Body::InformResponse { max_envelopes } => self.num("MaxEnvelopes", max_envelopes),
            // Bodies without arguments (GetRPCMethods, FactoryReset, the empty responses).
            _ => {}
        }
    }

    fn du_operation(&mut self, op: &DuOperation) {
        let name = op.element();
        self.open(name);
        match op {
            DuOperation::Install {
                url,
                uuid,
                username,
                password,
                execution_env_ref,
            } => {
                self.leaf("URL", url);
                self.leaf("UUID", uuid);
                self.leaf("Username", username);
                self.leaf("Password", password);
                self.leaf("ExecutionEnvRef", execution_env_ref);
            }
            DuOperation::Update {
                uuid,
                version,
                url,
                username,
                password,
            } => {
                self.leaf("UUID", uuid);
                self.leaf("Version", version);
                self.leaf("URL", url);
                self.leaf("Username", username);
                self.leaf("Password", password);
            }
            DuOperation::Uninstall {
                uuid,
                version,
                execution_env_ref,
            } => {
                self.leaf("UUID", uuid);
                self.leaf("Version", version);
                self.leaf("ExecutionEnvRef", execution_env_ref);
            }
        }
        self.close(name);
    }

    /// The `Results` array; `autonomous` adds each result's `OperationPerformed`.
    fn op_results(&mut self, ty: &str, entry: &str, results: &[OpResult], autonomous: bool) {
        self.array("Results", ty, results.len());
        for r in results {
            self.open(entry);
            self.leaf("UUID", &r.uuid);
            self.leaf("DeploymentUnitRef", &r.deployment_unit_ref);
            self.leaf("Version", &r.version);
            self.leaf("CurrentState", &r.current_state);
            self.bool("Resolved", r.resolved);
            self.leaf("ExecutionUnitRefList", &r.execution_unit_ref_list);
            self.time("StartTime", &r.start_time);
            self.time("CompleteTime", &r.complete_time);
            self.raw("<Fault>");
            self.num("FaultCode", r.fault.code);
            self.leaf("FaultString", &r.fault.string);
            self.raw("</Fault>");
            if autonomous {
                self.leaf("OperationPerformed", &r.operation_performed);
            }
            self.close(entry);
        }
        self.close("Results");
    }

    fn inform(&mut self, i: &Inform) {
        let d = &i.device_id;
        self.raw("<DeviceId>");
        self.leaf("Manufacturer", &d.manufacturer);
        self.leaf("OUI", &d.oui);
        self.leaf("ProductClass", &d.product_class);
        self.leaf("SerialNumber", &d.serial_number);
        self.raw("</DeviceId>");
        self.array("Event", "cwmp:EventStruct", i.events.len());
        for e in &i.events {
            self.raw("<EventStruct>");
            self.leaf("EventCode", &e.code);
            self.leaf("CommandKey", &e.command_key);
            self.raw("</EventStruct>");
        }
        self.close("Event");
        self.num("MaxEnvelopes", i.max_envelopes);
        self.time("CurrentTime", &i.current_time);
        self.num("RetryCount", i.retry_count);
        self.values(&i.parameters);
    }

    fn fault(&mut self, f: &Fault) {
        let soap_code = if f.soap_code.is_empty() {
            "Server"
        } else {
            &f.soap_code
        };
        self.raw("<soap-env:Fault>");
        self.leaf("faultcode", soap_code);
        self.raw("<faultstring>CWMP fault</faultstring><detail><cwmp:Fault>");
        self.num("FaultCode", f.code);
        self.leaf("FaultString", &f.string);
        for s in &f.set_parameter_values_faults {
            self.raw("<SetParameterValuesFault>");
            self.leaf("ParameterName", &s.name);
            self.num("FaultCode", s.code);
            self.leaf("FaultString", &s.string);
            self.raw("</SetParameterValuesFault>");
        }
        self.raw("</cwmp:Fault></detail></soap-env:Fault>");
    }
}
