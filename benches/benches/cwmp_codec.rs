//! Criterion benchmark of CWMP envelope parse and serialize: a typical XX230v Inform, and the
//! GetParameterNamesResponse and GetParameterValuesResponse of its whole tree (the two heaviest
//! messages of a registration).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use cwmp::{Body, CwmpVersion, Envelope, Limits, ParameterInfo, ParameterValue, XsdType};
use fibreplane_schemas::DataModel;
use std::hint::black_box;

fn xx230v_inform(model: &DataModel) -> Envelope {
    let forced = [
        "Device.RootDataModelVersion",
        "Device.DeviceInfo.HardwareVersion",
        "Device.DeviceInfo.SoftwareVersion",
        "Device.DeviceInfo.ProvisioningCode",
        "Device.ManagementServer.ParameterKey",
        "Device.ManagementServer.ConnectionRequestURL",
        "Device.ManagementServer.AliasBasedAddressing",
    ];
    let parameters = forced
        .iter()
        .map(|p| ParameterValue::new(*p, model.value(p).unwrap_or(""), XsdType::String))
        .collect();
    Envelope::new(
        CwmpVersion::V1_0,
        "1",
        Body::Inform(cwmp::Inform {
            device_id: cwmp::DeviceIdStruct {
                manufacturer: "TP-Link".into(),
                oui: "1C61B4".into(),
                product_class: "Device2".into(),
                serial_number: "22275A7000395".into(),
            },
            events: vec![cwmp::EventStruct::new("2 PERIODIC")],
            max_envelopes: 1,
            current_time: "2026-11-25T10:00:00Z".into(),
            retry_count: 0,
            parameters,
        }),
    )
}

fn full_gpv(model: &DataModel) -> Envelope {
    let parameters = model
        .params
        .iter()
        .filter(|p| !p.object)
        .map(|p| ParameterValue::new(&p.path, &p.value, XsdType::parse(&p.xsd_type)))
        .collect();
    Envelope::new(
        CwmpVersion::V1_0,
        "7",
        Body::GetParameterValuesResponse { parameters },
    )
}

fn full_gpn(model: &DataModel) -> Envelope {
    // Objects carry no trailing dot in the model but do on the wire.
    let parameters = model
        .params
        .iter()
        .map(|p| ParameterInfo {
            name: if p.object {
                format!("{}.", p.path)
            } else {
                p.path.clone()
            },
            writable: p.writable,
        })
        .collect();
    Envelope::new(
        CwmpVersion::V1_0,
        "6",
        Body::GetParameterNamesResponse { parameters },
    )
}

fn codec(c: &mut Criterion) {
    let model = DataModel::xx230v();
    let limits = Limits::default();
    for (name, env) in [
        ("inform", xx230v_inform(&model)),
        ("gpn_response_full_xx230v", full_gpn(&model)),
        ("gpv_response_full_xx230v", full_gpv(&model)),
    ] {
        let bytes = cwmp::to_bytes(&env);
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_function("parse", |b| {
            b.iter(|| cwmp::parse_envelope(black_box(&bytes), &limits))
        });
        g.bench_function("serialize", |b| {
            let mut out = Vec::with_capacity(bytes.len());
            b.iter(|| {
                out.clear();
                cwmp::write_envelope(black_box(&env), &mut out);
            })
        });
        g.bench_function("parse_and_serialize", |b| {
            b.iter(|| {
                let e = cwmp::parse_envelope(black_box(&bytes), &limits);
                e.map(|e| cwmp::to_bytes(&e))
            })
        });
        g.finish();
    }
}

criterion_group!(benches, codec);
criterion_main!(benches);
