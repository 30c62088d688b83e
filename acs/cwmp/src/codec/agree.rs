//! The fast scanner must build exactly the arena quick-xml does whenever it does not give up.
//! These tests hold it to that on the golden envelopes, on what our own writer produces, on
//! hand-picked namespace and syntax corner cases, and on random mutations of all of them.

use std::path::PathBuf;

use proptest::collection::vec;
use proptest::prelude::*;

use super::{fast, slow};
use crate::limits::Limits;
use crate::rpc::*;

fn goldens() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    out.sort();
    out
}

/// Whether the fast path took `bytes`; panics if it took them and disagrees with quick-xml:
/// the arenas must be equal unless a list was streamed, and the mapped results always.
fn agrees(bytes: &[u8], limits: &Limits) -> bool {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    let Some(mut doc) = fast::build(text, limits) else {
        return false;
    };
    let mut reference = slow::build(text, limits).expect(text);
    if doc.streamed.is_none() {
        assert_eq!(doc, reference, "{text}");
    }
    assert_eq!(doc.envelope(), reference.envelope(), "{text}");
    true
}

const TIGHT: Limits = Limits {
    max_body_bytes: 4096,
    max_depth: 6,
    max_parameters: 3,
    max_string_len: 24,
    max_elements: 40,
};

#[test]
fn plain_goldens_take_the_fast_path() {
    for (name, bytes) in goldens() {
        let fast = agrees(&bytes, &Limits::default());
        // Only CDATA, character references and input that fails before mapping need
        // quick-xml; an unknown CWMP namespace is well-formed and fails in the mapper.
        let expected = name.contains("broken-cwmp-namespace")
            || !["1-1-soapenv", "1-4-supported", "broken-"]
                .iter()
                .any(|s| name.contains(s));
        assert_eq!(fast, expected, "{name}");
    }
}

#[test]
fn written_envelopes_take_the_fast_path() {
    let parameters: Vec<_> = (0..500)
        .map(|i| {
            let value = format!("v{i} <&>\"' x");
            ParameterValue::new(format!("Device.X.{i}.Y"), value, XsdType::UnsignedInt)
        })
        .collect();
    for body in [
        Body::GetParameterValuesResponse { parameters },
        Body::GetParameterNames {
            path: "Device.".into(),
            next_level: true,
        },
        Body::GetParameterNamesResponse {
            parameters: (0..300)
                .map(|i| ParameterInfo {
                    name: format!("Device.X.{i}."),
                    writable: i % 3 == 0,
                })
                .collect(),
        },
        Body::SetParameterValues {
            parameters: vec![ParameterValue::new("A.B", "", XsdType::Other("x".into()))],
            parameter_key: "k".into(),
        },
        Body::InformResponse { max_envelopes: 1 },
        Body::ScheduleDownload(ScheduleDownload {
            command_key: "sd".into(),
            time_windows: vec![TimeWindow {
                window_start: 5,
                window_end: 60,
                window_mode: "1 At Any Time".into(),
                user_message: "<now>".into(),
                max_retries: -1,
            }],
            ..ScheduleDownload::default()
        }),
        Body::ChangeDuState {
            operations: vec![
                DuOperation::Install {
                    url: "http://127.0.0.1/a.ipk".into(),
                    uuid: String::new(),
                    username: String::new(),
                    password: String::new(),
                    execution_env_ref: "Device.SoftwareModules.ExecEnv.1".into(),
                },
                DuOperation::Uninstall {
                    uuid: "u-1".into(),
                    version: "1.0".into(),
                    execution_env_ref: String::new(),
                },
            ],
            command_key: "du".into(),
        },
        Body::DuStateChangeComplete {
            results: vec![OpResult {
                uuid: "u-1".into(),
                current_state: "Installed".into(),
                fault: FaultStruct {
                    code: 9018,
                    string: "x".into(),
                },
                ..OpResult::default()
            }],
            command_key: "du".into(),
        },
        Body::GetAllQueuedTransfersResponse {
            transfers: vec![AllQueuedTransfer {
                command_key: "k".into(),
                state: 2,
                is_download: true,
                ..AllQueuedTransfer::default()
            }],
        },
    ] {
        for version in CwmpVersion::ALL {
            let bytes = super::to_bytes(&Envelope::new(version, "id-1", body.clone()));
            assert!(agrees(&bytes, &Limits::default()));
        }
    }
}

/// Attribute-like pieces, spliced in just before the end of a tag.
const ATTRS: &[&str] = &[
    " xmlns=\"urn:dslforum-org:cwmp-1-3\"",
    " xmlns=\"\"",
    " xmlns:cwmp=\"urn:dslforum-org:cwmp-1-4\"",
    " xmlns:cwmp=\"\"",
    " xmlns:x=\" urn:dslforum-org:cwmp-1-2 \"",
    " xmlns:soap-env=\"urn:other\"",
    " xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"",
    " xmlns:xsi=\"urn:not-xsi\"",
    " xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"",
    " xmlns:xml=\"http://www.w3.org/XML/1998/namespace\"",
    " xmlns:p=\"http://www.w3.org/2000/xmlns/\"",
    " xsi:type=\"xsd:int\"",
    " foo:type='xsd:boolean'",
    " xmlns:foo='urn:foo'",
    " type=\"xsd:long\"",
    " a=\"1\" a=\"2\"",
    " a = \"1\"",
    " a=\"x&amp;y\"",
    " a=\"x\ty\"",
    "\r\n",
    " ",
    "/",
];

/// Content-like pieces, spliced in just after the end of a tag.
const CONTENT: &[&str] = &[
    "<Value xsi:type=\"xsd:int\">7</Value>",
    "<Value x:type=\"xsd:int\" xmlns:x=\"http://www.w3.org/2001/XMLSchema-instance\"/>",
    "<cwmp:Inform>",
    "</cwmp:Inform>",
    "<x:Fault xmlns:x=\"urn:dslforum-org:cwmp-1-1\"/>",
    "<y:Name xmlns:y=\"urn:dslforum-org:cwmp-1-0\">n</y:Name>",
    "<soap-env:Body>",
    "<Body/>",
    "<?pi x?>",
    "<?>",
    "<!-- c -->",
    "&amp;",
    "&quot;&apos;&gt;",
    "&lt",
    "&#65;",
    "\r\n",
    "\r",
    " text ",
    "\u{a0}",
    ">",
    "<a/>",
    "</a >",
    "<a b='>'>",
    "<ParameterValueStruct><Name>p</Name><Value>v</Value></ParameterValueStruct>",
    "<ParameterValueStruct><Value>v</Value></ParameterValueStruct>",
    "<ParameterInfoStruct><Name>p.</Name><Writable> 0 </Writable></ParameterInfoStruct>",
    "<ParameterInfoStruct><Name>p.</Name><Writable>maybe</Writable></ParameterInfoStruct>",
    "<Name>again</Name>",
    "<Name/>",
    "<Value/>",
    "<Writable>1</Writable>",
    "<ParameterList></ParameterList>",
    "<ParameterList/>",
];

/// The goldens plus small written list responses (there is no GetParameterNamesResponse
/// golden), with some layout so that text between entries is exercised.
fn corpus() -> &'static [(String, Vec<u8>)] {
    static CACHE: std::sync::OnceLock<Vec<(String, Vec<u8>)>> = std::sync::OnceLock::new();
    CACHE.get_or_init(|| {
        let infos = (0..3)
            .map(|i| ParameterInfo {
                name: format!("Device.X.{i}."),
                writable: i == 1,
            })
            .collect();
        let mut all = goldens();
        for body in [
            Body::GetParameterNamesResponse { parameters: infos },
            Body::SetParameterValues {
                parameters: vec![ParameterValue::new("A.B", "1", XsdType::Int)],
                parameter_key: "k".into(),
            },
        ] {
            let env = Envelope::new(CwmpVersion::V1_2, "w", body);
            let text = String::from_utf8(super::to_bytes(&env)).unwrap();
            all.push(("written".into(), text.replace("><", ">\n <").into_bytes()));
        }
        all
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn fast_path_agrees_with_quick_xml(
        idx in 0..32usize,
        edits in vec((any::<usize>(), any::<usize>(), 0..4u8), 1..4),
    ) {
        let all = corpus();
        let mut data = all[idx % all.len()].1.clone();
        for (at, what, kind) in edits {
            let ends: Vec<usize> = (0..data.len()).filter(|&i| data[i] == b'>').collect();
            let end = ends.get(at % ends.len().max(1)).copied().unwrap_or(0);
            let (at, piece): (usize, &[u8]) = match kind {
                0 => {
                    let before = if end > 0 && data[end - 1] == b'/' { end - 1 } else { end };
                    (before, ATTRS[what % ATTRS.len()].as_bytes())
                }
                1 => ((end + 1).min(data.len()), CONTENT[what % CONTENT.len()].as_bytes()),
                2 => {
                    let at = at % (data.len() + 1);
                    (at, CONTENT[what % CONTENT.len()].as_bytes())
                }
                _ => {
                    let at = at % (data.len() + 1);
                    let end = (at + what % 8).min(data.len());
                    data.drain(at..end);
                    continue;
                }
            };
            data.splice(at..at, piece.iter().copied());
        }
        agrees(&data, &Limits::default());
        agrees(&data, &TIGHT);
    }
}
