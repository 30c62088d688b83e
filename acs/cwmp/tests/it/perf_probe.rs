use std::time::Instant;
use cwmp::*;
#[test]
fn perf_probe() {
    let mut inform = crate::pair::sample_inform();
    inform.parameters = (0..12).map(|i| ParameterValue::new(format!("Device.DeviceInfo.Param{i}"), "value-1.2.3", XsdType::String)).collect();
    let env = Envelope::new(CwmpVersion::V1_0, "fp-0001", Body::Inform(inform));
    let bytes = to_bytes(&env);
    let l = Limits::default();
    let n = 20000;
    let t = Instant::now();
    let mut out = Vec::with_capacity(4096);
    for _ in 0..n {
        let e = parse_envelope(std::hint::black_box(&bytes), &l).unwrap();
        out.clear();
        write_envelope(&e, &mut out);
    }
    eprintln!("inform parse+write: {:?}/iter ({} bytes)", t.elapsed() / n, bytes.len());
    let parameters: Vec<_> = (0..6400).map(|i| ParameterValue::new(format!("Device.X.{i}.Value"), i.to_string(), XsdType::UnsignedInt)).collect();
    let env = Envelope::new(CwmpVersion::V1_2, "acs-1", Body::GetParameterValuesResponse { parameters });
    let bytes = to_bytes(&env);
    let t = Instant::now();
    for _ in 0..20 { parse_envelope(std::hint::black_box(&bytes), &l).unwrap(); }
    eprintln!("gpv 6400 parse: {:?}/iter ({} bytes)", t.elapsed() / 20, bytes.len());
}
