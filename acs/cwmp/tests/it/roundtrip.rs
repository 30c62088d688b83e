//! Property test: every generated envelope written by `write_envelope` parses back equal.

use cwmp::*;
use proptest::collection::vec;
use proptest::prelude::*;

/// Text with every character that needs escaping, a carriage return and some non-ASCII.
fn text() -> impl Strategy<Value = String> {
    "[ -~éü€\t\n\r]{0,12}"
}

fn xsd_type() -> impl Strategy<Value = XsdType> {
    prop_oneof![
        Just(XsdType::String),
        Just(XsdType::Int),
        Just(XsdType::UnsignedInt),
        Just(XsdType::Long),
        Just(XsdType::UnsignedLong),
        Just(XsdType::Boolean),
        Just(XsdType::DateTime),
        Just(XsdType::Base64),
        Just(XsdType::HexBinary),
        "[a-z]{1,8}X".prop_map(XsdType::Other),
    ]
}

fn values() -> impl Strategy<Value = Vec<ParameterValue>> {
    vec(
        (text(), text(), xsd_type()).prop_map(|(n, v, t)| ParameterValue::new(n, v, t)),
        0..4,
    )
}

fn strings() -> impl Strategy<Value = Vec<String>> {
    vec(text(), 0..4)
}

fn fault_struct() -> impl Strategy<Value = FaultStruct> {
    (any::<u32>(), text()).prop_map(|(code, string)| FaultStruct { code, string })
}

fn time_window() -> impl Strategy<Value = TimeWindow> {
    (any::<u32>(), any::<u32>(), text(), text(), any::<i32>()).prop_map(
        |(window_start, window_end, window_mode, user_message, max_retries)| TimeWindow {
            window_start,
            window_end,
            window_mode,
            user_message,
            max_retries,
        },
    )
}

fn du_operation() -> impl Strategy<Value = DuOperation> {
    prop_oneof![
        (text(), text(), text(), text(), text()).prop_map(|(url, uuid, username, password, e)| {
            DuOperation::Install {
                url,
                uuid,
                username,
                password,
                execution_env_ref: e,
            }
        }),
        (text(), text(), text(), text(), text()).prop_map(
            |(uuid, version, url, username, password)| DuOperation::Update {
                uuid,
                version,
                url,
                username,
                password,
            }
        ),
        (text(), text(), text()).prop_map(|(uuid, version, e)| DuOperation::Uninstall {
            uuid,
            version,
            execution_env_ref: e,
        }),
    ]
}

/// An operation result; `autonomous` ones name the operation, others leave it empty (their
/// struct has no such element).
fn op_result(autonomous: bool) -> impl Strategy<Value = OpResult> {
    (
        (text(), text(), text(), text()),
        any::<bool>(),
        text(),
        (text(), text()),
        fault_struct(),
        text(),
    )
        .prop_map(
            move |((uuid, du, version, state), resolved, eu, (s, c), fault, op)| OpResult {
                uuid,
                deployment_unit_ref: du,
                version,
                current_state: state,
                resolved,
                execution_unit_ref_list: eu,
                start_time: s,
                complete_time: c,
                fault,
                operation_performed: if autonomous { op } else { String::new() },
            },
        )
}

fn inform() -> impl Strategy<Value = Inform> {
    (
        (text(), text(), text(), text()),
        vec((text(), text()), 0..3),
        any::<u32>(),
        text(),
        any::<u32>(),
        values(),
    )
        .prop_map(
            |((m, o, p, s), ev, max_envelopes, current_time, retry_count, parameters)| Inform {
                device_id: DeviceIdStruct {
                    manufacturer: m,
                    oui: o,
                    product_class: p,
                    serial_number: s,
                },
                events: ev
                    .into_iter()
                    .map(|(code, command_key)| EventStruct { code, command_key })
                    .collect(),
                max_envelopes,
                current_time,
                retry_count,
                parameters,
            },
        )
}

fn acs_request() -> impl Strategy<Value = Body> {
    prop_oneof![
        Just(Body::GetRpcMethods),
        (text(), any::<bool>())
            .prop_map(|(path, next_level)| Body::GetParameterNames { path, next_level }),
        strings().prop_map(|names| Body::GetParameterValues { names }),
        (values(), text()).prop_map(|(parameters, parameter_key)| Body::SetParameterValues {
            parameters,
            parameter_key
        }),
        strings().prop_map(|names| Body::GetParameterAttributes { names }),
        vec(
            (
                text(),
                any::<bool>(),
                any::<u32>(),
                any::<bool>(),
                strings()
            )
                .prop_map(
                    |(name, notification_change, notification, access_list_change, access_list)| {
                        SetParameterAttribute {
                            name,
                            notification_change,
                            notification,
                            access_list_change,
                            access_list,
                        }
                    }
                ),
            0..3
        )
        .prop_map(|parameters| Body::SetParameterAttributes { parameters }),
        (text(), text()).prop_map(|(object_name, parameter_key)| Body::AddObject {
            object_name,
            parameter_key
        }),
        (text(), text()).prop_map(|(object_name, parameter_key)| Body::DeleteObject {
            object_name,
            parameter_key
        }),
        text().prop_map(|command_key| Body::Reboot { command_key }),
        Just(Body::FactoryReset),
        (
            (text(), text(), text(), text(), text()),
            any::<u64>(),
            text(),
            any::<u32>(),
            text(),
            text()
        )
            .prop_map(|((c, f, u, n, p), file_size, t, delay_seconds, s, fl)| {
                Body::Download(Download {
                    command_key: c,
                    file_type: f,
                    url: u,
                    username: n,
                    password: p,
                    file_size,
                    target_file_name: t,
                    delay_seconds,
                    success_url: s,
                    failure_url: fl,
                })
            }),
        (text(), text(), text(), text(), text(), any::<u32>()).prop_map(|(c, f, u, n, p, d)| {
            Body::Upload(Upload {
                command_key: c,
                file_type: f,
                url: u,
                username: n,
                password: p,
                delay_seconds: d,
            })
        }),
        (any::<u32>(), text()).prop_map(|(delay_seconds, command_key)| Body::ScheduleInform {
            delay_seconds,
            command_key
        }),
        (
            (text(), text(), text(), text(), text()),
            any::<u64>(),
            text(),
            vec(time_window(), 0..3)
        )
            .prop_map(|((c, f, u, n, p), file_size, t, time_windows)| {
                Body::ScheduleDownload(ScheduleDownload {
                    command_key: c,
                    file_type: f,
                    url: u,
                    username: n,
                    password: p,
                    file_size,
                    target_file_name: t,
                    time_windows,
                })
            }),
        text().prop_map(|command_key| Body::CancelTransfer { command_key }),
        Just(Body::GetQueuedTransfers),
        Just(Body::GetAllQueuedTransfers),
        strings().prop_map(|vouchers| Body::SetVouchers { vouchers }),
        text().prop_map(|option_name| Body::GetOptions { option_name }),
        (vec(du_operation(), 0..4), text()).prop_map(|(operations, command_key)| {
            Body::ChangeDuState {
                operations,
                command_key,
            }
        }),
    ]
}

fn cpe_response() -> impl Strategy<Value = Body> {
    prop_oneof![
        strings().prop_map(|methods| Body::GetRpcMethodsResponse { methods }),
        vec(
            (text(), any::<bool>()).prop_map(|(name, writable)| ParameterInfo { name, writable }),
            0..4
        )
        .prop_map(|parameters| Body::GetParameterNamesResponse { parameters }),
        values().prop_map(|parameters| Body::GetParameterValuesResponse { parameters }),
        any::<u32>().prop_map(|status| Body::SetParameterValuesResponse { status }),
        vec(
            (text(), any::<u32>(), strings()).prop_map(|(name, notification, access_list)| {
                ParameterAttribute {
                    name,
                    notification,
                    access_list,
                }
            }),
            0..3
        )
        .prop_map(|parameters| Body::GetParameterAttributesResponse { parameters }),
        Just(Body::SetParameterAttributesResponse),
        (any::<u32>(), any::<u32>()).prop_map(|(instance_number, status)| {
            Body::AddObjectResponse {
                instance_number,
                status,
            }
        }),
        any::<u32>().prop_map(|status| Body::DeleteObjectResponse { status }),
        Just(Body::RebootResponse),
        Just(Body::FactoryResetResponse),
        (any::<u32>(), text(), text()).prop_map(|(status, start_time, complete_time)| {
            Body::DownloadResponse {
                status,
                start_time,
                complete_time,
            }
        }),
        (any::<u32>(), text(), text()).prop_map(|(status, start_time, complete_time)| {
            Body::UploadResponse {
                status,
                start_time,
                complete_time,
            }
        }),
        Just(Body::ScheduleInformResponse),
        Just(Body::ScheduleDownloadResponse),
        Just(Body::CancelTransferResponse),
        Just(Body::ChangeDuStateResponse),
        Just(Body::SetVouchersResponse),
        vec(
            (
                (text(), text(), any::<u32>(), text()),
                (text(), text(), any::<bool>())
            )
                .prop_map(|((option_name, voucher_sn, state, mode), (s, e, t))| {
                    OptionInfo {
                        option_name,
                        voucher_sn,
                        state,
                        mode,
                        start_date: s,
                        expiration_date: e,
                        is_transferable: t,
                    }
                }),
            0..3
        )
        .prop_map(|options| Body::GetOptionsResponse { options }),
        vec(
            (text(), any::<u32>())
                .prop_map(|(command_key, state)| QueuedTransfer { command_key, state }),
            0..4
        )
        .prop_map(|transfers| Body::GetQueuedTransfersResponse { transfers }),
        vec(
            (
                text(),
                any::<u32>(),
                any::<bool>(),
                text(),
                any::<u64>(),
                text()
            )
                .prop_map(
                    |(command_key, state, is_download, file_type, file_size, target_file_name)| {
                        AllQueuedTransfer {
                            command_key,
                            state,
                            is_download,
                            file_type,
                            file_size,
                            target_file_name,
                        }
                    }
                ),
            0..4
        )
        .prop_map(|transfers| Body::GetAllQueuedTransfersResponse { transfers }),
    ]
}

fn cpe_request_or_acs_response() -> impl Strategy<Value = Body> {
    prop_oneof![
        inform().prop_map(Body::Inform),
        (text(), fault_struct(), text(), text()).prop_map(|(command_key, fault, s, c)| {
            Body::TransferComplete(TransferComplete {
                command_key,
                fault,
                start_time: s,
                complete_time: c,
            })
        }),
        (
            (text(), text(), any::<bool>(), text()),
            any::<u64>(),
            text(),
            fault_struct(),
            text(),
            text()
        )
            .prop_map(|((a, t, is_download, ft), file_size, tf, fault, s, c)| {
                Body::AutonomousTransferComplete(AutonomousTransferComplete {
                    announce_url: a,
                    transfer_url: t,
                    is_download,
                    file_type: ft,
                    file_size,
                    target_file_name: tf,
                    fault,
                    start_time: s,
                    complete_time: c,
                })
            }),
        (text(), vec((text(), text()), 0..3)).prop_map(|(file_type, arguments)| {
            Body::RequestDownload {
                file_type,
                arguments,
            }
        }),
        any::<u32>().prop_map(|max_envelopes| Body::InformResponse { max_envelopes }),
        Just(Body::TransferCompleteResponse),
        Just(Body::AutonomousTransferCompleteResponse),
        Just(Body::RequestDownloadResponse),
        (vec(op_result(false), 0..3), text()).prop_map(|(results, command_key)| {
            Body::DuStateChangeComplete {
                results,
                command_key,
            }
        }),
        vec(op_result(true), 0..3)
            .prop_map(|results| Body::AutonomousDuStateChangeComplete { results }),
        Just(Body::DuStateChangeCompleteResponse),
        (text(), text(), text(), text()).prop_map(|(command, referer, arg, next)| {
            Body::Kicked {
                command,
                referer,
                arg,
                next,
            }
        }),
        text().prop_map(|next_url| Body::KickedResponse { next_url }),
        Just(Body::AutonomousDuStateChangeCompleteResponse),
        (
            prop_oneof![Just("Client"), Just("Server")],
            any::<u32>(),
            text(),
            vec(
                (text(), any::<u32>(), text()).prop_map(|(name, code, string)| {
                    SetParameterValuesFault { name, code, string }
                }),
                0..3
            )
        )
            .prop_map(|(soap_code, code, string, set_parameter_values_faults)| {
                Body::Fault(Fault {
                    soap_code: soap_code.to_owned(),
                    code,
                    string,
                    set_parameter_values_faults,
                })
            }),
    ]
}

pub(crate) fn body() -> impl Strategy<Value = Body> {
    prop_oneof![acs_request(), cpe_response(), cpe_request_or_acs_response()]
}

fn header() -> impl Strategy<Value = Header> {
    let token = "[A-Za-z0-9.,]{0,10}";
    (
        proptest::option::of(text()),
        proptest::option::of(any::<bool>()),
        proptest::option::of(any::<u32>()),
        proptest::option::of(token),
        proptest::option::of(token),
    )
        .prop_map(|(id, hold_requests, session_timeout, s, u)| Header {
            id,
            hold_requests,
            session_timeout,
            supported_cwmp_versions: s,
            use_cwmp_version: u,
            no_more_requests: false,
        })
}

pub(crate) fn envelope() -> impl Strategy<Value = Envelope> {
    (
        proptest::sample::select(CwmpVersion::ALL.to_vec()),
        header(),
        body(),
    )
        .prop_map(|(version, header, body)| Envelope {
            version,
            header,
            body,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn write_then_parse_is_identity(env in envelope()) {
        let bytes = to_bytes(&env);
        let parsed = parse_envelope(&bytes, &Limits::default());
        prop_assert_eq!(parsed.as_ref(), Ok(&env), "{}", String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn writer_uses_the_documented_layout() {
    let mut env = Envelope::new(
        CwmpVersion::V1_2,
        "x&1",
        Body::GetParameterValuesResponse {
            parameters: vec![ParameterValue::new("A.B", "<1>", XsdType::UnsignedInt)],
        },
    );
    env.header.hold_requests = Some(false);
    let xml = String::from_utf8(to_bytes(&env)).unwrap();
    assert!(xml.starts_with(r#"<?xml version="1.0" encoding="UTF-8"?>"#));
    for needle in [
        r#"xmlns:cwmp="urn:dslforum-org:cwmp-1-2""#,
        r#"<cwmp:ID soap-env:mustUnderstand="1">x&amp;1</cwmp:ID>"#,
        r#"<cwmp:HoldRequests soap-env:mustUnderstand="1">0</cwmp:HoldRequests>"#,
        r#"<ParameterList soap-enc:arrayType="cwmp:ParameterValueStruct[1]">"#,
        r#"<Value xsi:type="xsd:unsignedInt">&lt;1&gt;</Value>"#,
    ] {
        assert!(xml.contains(needle), "{needle} not in {xml}");
    }
    let fault = Envelope::new(
        CwmpVersion::V1_0,
        "1",
        Body::Fault(Fault::new(8005, "Retry")),
    );
    let xml = String::from_utf8(to_bytes(&fault)).unwrap();
    assert!(xml.contains("<soap-env:Fault><faultcode>Server</faultcode><faultstring>CWMP fault</faultstring><detail><cwmp:Fault><FaultCode>8005</FaultCode><FaultString>Retry</FaultString></cwmp:Fault></detail></soap-env:Fault>"), "{xml}");
    let dl = Envelope::new(
        CwmpVersion::V1_0,
        "1",
        Body::DownloadResponse {
            status: 1,
            start_time: String::new(),
            complete_time: String::new(),
        },
    );
    let xml = String::from_utf8(to_bytes(&dl)).unwrap();
    assert!(
        xml.contains("<StartTime>0001-01-01T00:00:00Z</StartTime>"),
        "{xml}"
    );
}

#[test]
fn large_gpv_response_round_trips() {
    let parameters: Vec<_> = (0..6400)
        .map(|i| {
            ParameterValue::new(
                format!("Device.X.{i}.Value"),
                i.to_string(),
                XsdType::UnsignedInt,
            )
        })
        .collect();
    let env = Envelope::new(
        CwmpVersion::V1_2,
        "acs-1",
        Body::GetParameterValuesResponse { parameters },
    );
    let bytes = to_bytes(&env);
    assert_eq!(parse_envelope(&bytes, &Limits::default()).unwrap(), env);
}
