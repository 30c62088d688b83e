//! Mapping of each RPC element to its [`Body`] variant, with element names from the CWMP XSDs.

use super::dom::{Doc, NONE, Streamed};
use crate::error::ParseError;
use crate::rpc::*;

type R<T> = Result<T, ParseError>;

impl Doc<'_> {
    pub(super) fn body(&mut self, n: usize) -> R<Body> {
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
            "ScheduleDownload" => Body::ScheduleDownload(ScheduleDownload {
                command_key: self.s(n, "CommandKey"),
                file_type: self.s(n, "FileType"),
                url: self.s(n, "URL"),
                username: self.s(n, "Username"),
                password: self.s(n, "Password"),
                file_size: self.u64(n, "FileSize")?,
                target_file_name: self.s(n, "TargetFileName"),
                time_windows: self.time_windows(n)?,
            }),
            "CancelTransfer" => Body::CancelTransfer {
                command_key: self.s(n, "CommandKey"),
            },
            "GetQueuedTransfers" => Body::GetQueuedTransfers,
            "GetAllQueuedTransfers" => Body::GetAllQueuedTransfers,
            "ChangeDUState" => Body::ChangeDuState {
                operations: self.du_operations(n),
                command_key: self.s(n, "CommandKey"),
            },
            "SetVouchers" => Body::SetVouchers {
                vouchers: match self.child(n, "VoucherList") {
                    Some(list) => self
                        .children(list, "base64")
                        .into_iter()
                        .map(|c| self.take(c))
                        .collect(),
                    None => Vec::new(),
                },
            },
            "GetOptions" => Body::GetOptions {
                option_name: self.s(n, "OptionName"),
            },
            "SetVouchersResponse" => Body::SetVouchersResponse,
            "GetOptionsResponse" => {
                let mut options = Vec::new();
                if let Some(list) = self.child(n, "OptionList") {
                    for c in self.children(list, "OptionStruct") {
                        options.push(OptionInfo {
                            option_name: self.s(c, "OptionName"),
                            voucher_sn: self.s(c, "VoucherSN"),
                            state: self.u32(c, "State")?,
                            mode: self.s(c, "Mode"),
                            start_date: self.time(c, "StartDate"),
                            expiration_date: self.time(c, "ExpirationDate"),
                            is_transferable: self.bool(c, "IsTransferable")?,
                        });
                    }
                }
                Body::GetOptionsResponse { options }
            }
            "Kicked" => Body::Kicked {
                command: self.s(n, "Command"),
                referer: self.s(n, "Referer"),
                arg: self.s(n, "Arg"),
                next: self.s(n, "Next"),
            },
            "KickedResponse" => Body::KickedResponse {
                next_url: self.s(n, "NextURL"),
            },
            "ScheduleDownloadResponse" => Body::ScheduleDownloadResponse,
            "CancelTransferResponse" => Body::CancelTransferResponse,
            "ChangeDUStateResponse" => Body::ChangeDuStateResponse,
            "GetQueuedTransfersResponse" => {
                let mut transfers = Vec::new();
                if let Some(list) = self.child(n, "TransferList") {
                    for c in self.children(list, "QueuedTransferStruct") {
                        transfers.push(QueuedTransfer {
                            command_key: self.s(c, "CommandKey"),
                            state: self.u32(c, "State")?,
                        });
                    }
                }
                Body::GetQueuedTransfersResponse { transfers }
            }
            "GetAllQueuedTransfersResponse" => {
                let mut transfers = Vec::new();
                if let Some(list) = self.child(n, "TransferList") {
                    for c in self.children(list, "AllQueuedTransferStruct") {
                        transfers.push(AllQueuedTransfer {
                            command_key: self.s(c, "CommandKey"),
                            state: self.u32(c, "State")?,
                            is_download: self.bool(c, "IsDownload")?,
                            file_type: self.s(c, "FileType"),
                            file_size: self.u64(c, "FileSize")?,
                            target_file_name: self.s(c, "TargetFileName"),
                        });
                    }
                }
                Body::GetAllQueuedTransfersResponse { transfers }
            }
            "DUStateChangeComplete" => Body::DuStateChangeComplete {
                results: self.op_results(n, "OpResultStruct")?,
                command_key: self.s(n, "CommandKey"),
            },
            "AutonomousDUStateChangeComplete" => Body::AutonomousDuStateChangeComplete {
                results: self.op_results(n, "AutonOpResultStruct")?,
            },
            "DUStateChangeCompleteResponse" => Body::DuStateChangeCompleteResponse,
            "AutonomousDUStateChangeCompleteResponse" => {
                Body::AutonomousDuStateChangeCompleteResponse
            }
            "GetRPCMethodsResponse" => Body::GetRpcMethodsResponse {
                methods: self.strings(n, "MethodList")?,
            },
            "GetParameterNamesResponse" => {
                let list = self.req(n, "ParameterList")?;
                if let Some(Streamed::Infos(parameters)) = self.streamed(list) {
                    return Ok(Body::GetParameterNamesResponse { parameters });
                }
                let mut parameters = Vec::with_capacity(self.count(list, "ParameterInfoStruct"));
                let mut c = self.nodes[list].first_child;
                while c != NONE {
                    if self.nodes[c].name == "ParameterInfoStruct" {
                        let name = self.take(self.req(c, "Name")?);
                        parameters.push(ParameterInfo {
                            name,
                            writable: self.bool(c, "Writable")?,
                        });
                    }
                    c = self.nodes[c].next_sibling;
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

    /// The `TimeWindowList` of a ScheduleDownload (absent reads as no window).
    fn time_windows(&mut self, n: usize) -> R<Vec<TimeWindow>> {
        let mut out = Vec::new();
        if let Some(list) = self.child(n, "TimeWindowList") {
            for c in self.children(list, "TimeWindowStruct") {
                out.push(TimeWindow {
                    window_start: self.u32(c, "WindowStart")?,
                    window_end: self.u32(c, "WindowEnd")?,
                    window_mode: self.s(c, "WindowMode"),
                    user_message: self.s(c, "UserMessage"),
                    max_retries: self.i32(c, "MaxRetries")?,
                });
            }
        }
        Ok(out)
    }

    /// The `Operations` of a ChangeDUState, each named by its struct's element, in order.
    fn du_operations(&mut self, n: usize) -> Vec<DuOperation> {
        let mut out = Vec::new();
        let Some(list) = self.child(n, "Operations") else {
            return out;
        };
        let mut c = self.nodes[list].first_child;
        while c != NONE {
            let next = self.nodes[c].next_sibling;
            let op = match self.nodes[c].name {
                "InstallOpStruct" => Some(DuOperation::Install {
                    url: self.s(c, "URL"),
                    uuid: self.s(c, "UUID"),
                    username: self.s(c, "Username"),
                    password: self.s(c, "Password"),
                    execution_env_ref: self.s(c, "ExecutionEnvRef"),
                }),
                "UpdateOpStruct" => Some(DuOperation::Update {
                    uuid: self.s(c, "UUID"),
                    version: self.s(c, "Version"),
                    url: self.s(c, "URL"),
                    username: self.s(c, "Username"),
                    password: self.s(c, "Password"),
                }),
                "UninstallOpStruct" => Some(DuOperation::Uninstall {
                    uuid: self.s(c, "UUID"),
                    version: self.s(c, "Version"),
                    execution_env_ref: self.s(c, "ExecutionEnvRef"),
                }),
                _ => None,
            };
            out.extend(op);
            c = next;
        }
        out
    }

    /// The `Results` of a (possibly autonomous) DUStateChangeComplete.
    fn op_results(&mut self, n: usize, entry: &str) -> R<Vec<OpResult>> {
        let mut out = Vec::new();
        let Some(list) = self.child(n, "Results") else {
            return Ok(out);
        };
        for c in self.children(list, entry) {
            let fault = match self.child(c, "Fault") {
                Some(f) => FaultStruct {
                    code: self.u32(f, "FaultCode")?,
                    string: self.s(f, "FaultString"),
                },
                None => FaultStruct::default(),
            };
            out.push(OpResult {
                uuid: self.s(c, "UUID"),
                deployment_unit_ref: self.s(c, "DeploymentUnitRef"),
                version: self.s(c, "Version"),
                current_state: self.s(c, "CurrentState"),
                resolved: self.bool(c, "Resolved")?,
                execution_unit_ref_list: self.s(c, "ExecutionUnitRefList"),
                start_time: self.time(c, "StartTime"),
                complete_time: self.time(c, "CompleteTime"),
                fault,
                operation_performed: self.s(c, "OperationPerformed"),
            });
        }
        Ok(out)
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

    fn fault_struct(&mut self, n: usize) -> R<FaultStruct> {
        Ok(match self.child(n, "FaultStruct") {
            Some(f) => FaultStruct {
                code: self.u32(f, "FaultCode")?,
                string: self.s(f, "FaultString"),
            },
            None => FaultStruct::default(),
        })
    }
}
