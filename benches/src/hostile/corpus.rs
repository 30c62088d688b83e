//! The valid inputs the mutator starts from: real CWMP envelopes (the cwmp crate's captures and
//! XX230v messages written by the cwmp serializer), NBI queries and task bodies (the GenieACS
//! captures and the query language's operators), Uptime Kuma payloads (the incidents crate's
//! fixtures and the form and query variants), and TP-Link EX answers. SNMP responses are
//! captured at run time from the lab's olt-sim (see `snmp.rs`).

use cwmp::{Body, CwmpVersion, Envelope, ParameterInfo, ParameterValue, XsdType};

/// The device the corpora's Informs and task bodies name.
pub(crate) const OUI: &str = "1C61B4";
/// Its product class.
pub(crate) const PRODUCT_CLASS: &str = "Device2";
/// Its serial.
pub(crate) const SERIAL: &str = "22275A7000395";

macro_rules! fixtures {
    ($dir:literal: $($f:literal),* $(,)?) => {
        [$(include_str!(concat!("../../../", $dir, "/", $f))),*]
    };
}

/// CWMP envelopes a CPE sends: Informs of every version, GPV/GPN/SPV responses, Faults,
/// TransferComplete, plus the cwmp crate's hostile captures (they seed mutations too).
pub(crate) fn cwmp() -> Vec<Vec<u8>> {
    let files = fixtures!("acs/cwmp/testdata":
        "inform-1-0-notes.xml", "inform-1-1-soapenv.xml", "inform-1-2-soap_env-default-ns.xml",
        "inform-1-3-session-timeout.xml", "inform-1-4-supported-versions.xml",
        "inform-no-namespace.xml", "gpv-response.xml", "spv-fault.xml", "transfer-complete.xml",
        "broken-doctype-entity-bomb.xml", "broken-too-deep.xml", "broken-truncated.xml",
        "broken-cwmp-namespace.xml");
    let mut out: Vec<Vec<u8>> = files.iter().map(|s| s.as_bytes().to_vec()).collect();
    out.extend(xx230v_messages().iter().map(cwmp::to_bytes));
    out
}

/// The XX230v's own messages, written by the cwmp serializer: an Inform with its forced
/// parameters, and answers to the RPCs a session sends.
fn xx230v_messages() -> Vec<Envelope> {
    let model = fibreplane_schemas::DataModel::xx230v();
    let forced = [
        "Device.DeviceInfo.HardwareVersion",
        "Device.DeviceInfo.SoftwareVersion",
        "Device.DeviceInfo.ProvisioningCode",
        "Device.ManagementServer.ParameterKey",
        "Device.ManagementServer.ConnectionRequestURL",
    ];
    let parameters = forced
        .iter()
        .map(|p| ParameterValue::new(*p, model.value(p).unwrap_or(""), XsdType::String))
        .collect();
    let inform = Body::Inform(cwmp::Inform {
        device_id: cwmp::DeviceIdStruct {
            manufacturer: "TP-Link".into(),
            oui: OUI.into(),
            product_class: PRODUCT_CLASS.into(),
            serial_number: SERIAL.into(),
        },
        events: vec![cwmp::EventStruct::new("2 PERIODIC")],
        max_envelopes: 1,
        current_time: "2026-11-25T10:00:00Z".into(),
        retry_count: 0,
        parameters,
    });
    let values: Vec<ParameterValue> = model
        .params
        .iter()
        .filter(|p| !p.object && p.path.starts_with("Device.WiFi."))
        .take(40)
        .map(|p| ParameterValue::new(&p.path, &p.value, XsdType::parse(&p.xsd_type)))
        .collect();
    let names: Vec<ParameterInfo> = model
        .params
        .iter()
        .filter(|p| p.path.starts_with("Device.Hosts."))
        .take(40)
        .map(|p| ParameterInfo {
            name: if p.object {
                format!("{}.", p.path)
            } else {
                p.path.clone()
            },
            writable: false,
        })
        .collect();
    let v = CwmpVersion::V1_0;
    vec![
        Envelope::new(v, "1", inform),
        Envelope::new(
            v,
            "2",
            Body::GetParameterValuesResponse { parameters: values },
        ),
        Envelope::new(
            v,
            "3",
            Body::GetParameterNamesResponse { parameters: names },
        ),
        Envelope::new(v, "4", Body::SetParameterValuesResponse { status: 0 }),
        Envelope::new(
            v,
            "5",
            Body::Fault(cwmp::Fault::new(9005, "Invalid parameter name")),
        ),
        Envelope::new(
            v,
            "6",
            Body::AddObjectResponse {
                instance_number: 3,
                status: 0,
            },
        ),
    ]
}

/// NBI query strings (the `query` parameter): GenieACS's operators on devices, tasks, faults.
pub(crate) fn nbi_queries() -> Vec<Vec<u8>> {
    let mut q: Vec<String> = [
        r#"{"_id":"1C61B4-Device2-22275A7000395"}"#,
        r#"{"_deviceId._SerialNumber":"22275A7000395"}"#,
        r#"{"_tags":"vip"}"#,
        r#"{"_lastInform":{"$gt":"2026-01-01T00:00:00Z"}}"#,
        r#"{"$or":[{"_tags":"a"},{"_deviceId._ProductClass":{"$in":["Device2","HG8245"]}}]}"#,
        r#"{"Device.DeviceInfo.SoftwareVersion":{"$regex":"^1\\."}}"#,
        r#"{"$and":[{"_lastInform":{"$lt":"2030-01-01"}},{"_tags":{"$ne":"x"}}]}"#,
        r#"{"InternetGatewayDevice.WANDevice.1.WANConnectionDevice.1.WANIPConnection.1.MACAddress":"1C:61:B4:FB:2A:C8"}"#,
        r#"{"_deviceId._OUI":{"$exists":true},"_registered":{"$gte":0}}"#,
        r#"{"$nor":[{"_tags":{"$all":["a","b"]}}],"_id":{"$not":{"$eq":"x"}}}"#,
        r#"{"device":"1C61B4-Device2-22275A7000395","retries":{"$gt":"0"}}"#,
        "",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    q.extend(captured("query"));
    q.into_iter().map(String::into_bytes).collect()
}

/// NBI task bodies: every task kind GenieACS accepts, and the captures' bodies.
pub(crate) fn nbi_tasks() -> Vec<Vec<u8>> {
    let mut t: Vec<String> = [
        r#"{"name":"getParameterValues","parameterNames":["Device.DeviceInfo.","Device.WiFi.SSID.1.SSID"]}"#,
        r#"{"name":"setParameterValues","parameterValues":[["Device.WiFi.SSID.1.SSID","home",
            "xsd:string"],["Device.ManagementServer.PeriodicInformInterval",300]]}"#,
        r#"{"name":"refreshObject","objectName":"Device.Hosts."}"#,
        r#"{"name":"addObject","objectName":"Device.NAT.PortMapping.","parameterValues":[["Enable",true]]}"#,
        r#"{"name":"deleteObject","objectName":"Device.NAT.PortMapping.2."}"#,
        r#"{"name":"reboot","expiry":60}"#,
        r#"{"name":"factoryReset"}"#,
        r#"{"name":"download","fileType":"1 Firmware Upgrade Image","fileName":"fw.bin"}"#,
        r#"{"name":"getParameterNames","parameterPath":"Device.","nextLevel":true}"#,
        r#"{"name":"setParameterAttributes","parameterAttributes":[["Device.WiFi.SSID.1.SSID",2,true]]}"#,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    t.extend(captured("body"));
    t.into_iter().map(String::into_bytes).collect()
}

/// Strings under `request.query.<field>` or `request.<field>` of the GenieACS captures.
fn captured(field: &str) -> Vec<String> {
    let files = fixtures!("acs/nbi/tests/fixtures/genieacs/nbi":
        "01-get-device-with-projection.json", "02-task-with-connection-request-200.json",
        "03-task-queued-202.json", "05-retry-then-delete-task.json",
        "06-task-cr-device-offline-202.json", "09-errors.json");
    let mut out = Vec::new();
    for f in files {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(f) else {
            continue;
        };
        let mut requests = vec![v["request"].clone()];
        if let Some(ex) = v["exchanges"].as_array() {
            requests.extend(ex.iter().map(|e| e["request"].clone()));
        }
        for r in requests {
            let s = if field == "query" {
                r["query"]["query"].as_str()
            } else {
                r[field].as_str()
            };
            if let Some(s) = s {
                out.push(s.to_owned());
            }
        }
    }
    out
}

/// A Kuma webhook request: content type, body, query string.
#[derive(Debug, Clone)]
pub(crate) struct KumaSeed {
    /// The `Content-Type` header.
    pub content_type: Option<&'static str>,
    /// The body.
    pub body: Vec<u8>,
}

/// Uptime Kuma payloads: the fixtures as JSON, one as `multipart/form-data`, one urlencoded.
pub(crate) fn kuma() -> Vec<KumaSeed> {
    let files = fixtures!("incidents/testdata/kuma":
        "down.json", "up.json", "test.json", "legacy-1.23-down.json");
    let mut out: Vec<KumaSeed> = files
        .iter()
        .map(|f| KumaSeed {
            content_type: Some("application/json"),
            body: f.as_bytes().to_vec(),
        })
        .collect();
    let down = files[0].trim();
    let multipart = format!(
        "--XyZ\r\nContent-Disposition: form-data; name=\"data\"\r\n\r\n{down}\r\n--XyZ--\r\n"
    );
    out.push(KumaSeed {
        content_type: Some("multipart/form-data; boundary=XyZ"),
        body: multipart.into_bytes(),
    });
    let form: String = form_encode(&[("msg", "[OLT-1] [🔴 Down] timeout"), ("data", down)]);
    out.push(KumaSeed {
        content_type: Some("application/x-www-form-urlencoded"),
        body: form.into_bytes(),
    });
    out.push(KumaSeed {
        content_type: Some("text/plain"),
        body: files[1].as_bytes().to_vec(),
    });
    out
}

fn form_encode(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                    char::from(b).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// TP-Link EX answers in the clear: the `getGDPRParm` announcement, login results, the page
/// with the token, and data-model answers (objects, lists, refusals).
pub(crate) fn modem_plain() -> Vec<Vec<u8>> {
    [
        "var ee=\"010001\";\nvar nn=\"C0F1A5E5B2D9E8C3A1F4B7D2E9C6A3F0B5D8E1C4A7F2B9D6E3C0A5F8B1D4E7C2\
A9F6B3D0E5C8A1F4B7D2E9C6A3F0B5D8E1C4A7F2B9D6E3C0A5F8B1D4E7C2A9F6B3D0E5C8A1F4B7D2E9C6A3F0B5\";\n\
var seq=\"584930021\";\n$.ret=0;\n",
        "$.ret=0;\n",
        "$.ret=71239;\nvar currAuthTimes=1;\n",
        "<html><script type=\"text/javascript\">var token=\"a1b2c3d4e5f60718293a4b5c6d7e8f90\";\
</script></html>",
        r#"{"success":true,"data":{"modelName":"XX230v","serialNumber":"22275A7000395","upTime":86400}}"#,
        r#"{"success":true,"data":[{"stack":"1,0,0,0,0,0","ssid":"home","enable":"1"},{"stack":"2,0,0,0,0,0","ssid":"home-5G","enable":"1"}]}"#,
        r#"{"success":false,"errorcode":71017}"#,
        r#"{"success":true,"data":{"opticalRxPower":"-18.52","opticalTxPower":"2.31","temperature":"45"}}"#,
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_corpus_is_valid_where_it_should_be() {
        let limits = cwmp::Limits::default();
        let parsed = cwmp()
            .iter()
            .filter(|e| cwmp::parse_envelope(e, &limits).is_ok())
            .count();
        assert!(parsed >= 14, "most CWMP seeds parse: {parsed}");
        let url = |f: &str| format!("http://127.0.0.1:7567/{f}");
        // Some seeds are GenieACS-shaped names the NBI refuses on purpose (a 400, not a crash).
        let tasks = nbi_tasks();
        let valid = tasks
            .iter()
            .filter(|t| nbi::task_body::parse(t, &|_| None, Some(&url)).is_ok())
            .count();
        assert!(
            valid * 2 >= tasks.len(),
            "most task seeds are valid: {valid} of {}",
            tasks.len()
        );
        let queries = nbi_queries();
        assert!(queries.len() > 12, "captures add queries");
        for k in kuma() {
            let req = incidents::kuma::WebhookRequest {
                content_type: k.content_type,
                body: &k.body,
                query: None,
            };
            incidents::kuma::parse(&req, Default::default()).expect("every Kuma seed parses");
        }
    }
}
