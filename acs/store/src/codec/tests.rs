//! Round-trip and robustness properties of the section codec.

use proptest::prelude::*;

use super::*;

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        ".{0,20}".prop_map(Value::String),
        any::<i64>().prop_map(Value::Int),
        any::<u64>().prop_map(Value::UnsignedInt),
        any::<i64>().prop_map(Value::Long),
        any::<u64>().prop_map(Value::UnsignedLong),
        any::<bool>().prop_map(Value::Boolean),
        ".{0,12}".prop_map(Value::DateTime),
        "[A-Za-z0-9+/=]{0,12}".prop_map(Value::Base64),
        "[0-9a-f]{0,12}".prop_map(Value::HexBinary),
        ("[a-zA-Z]{0,8}", ".{0,12}").prop_map(|(xsd_type, text)| Value::Other { xsd_type, text }),
    ]
}

fn attributes() -> impl Strategy<Value = crate::model::Attributes> {
    (
        any::<u8>(),
        proptest::collection::vec(".{0,10}", 0..3),
        any::<i64>(),
    )
        .prop_map(
            |(notification, access_list, timestamp_ms)| crate::model::Attributes {
                notification,
                access_list,
                timestamp_ms,
            },
        )
}

fn param() -> impl Strategy<Value = Param> {
    (
        any::<bool>(),
        any::<Option<bool>>(),
        proptest::option::of(value()),
        any::<i64>(),
        proptest::option::weighted(0.3, attributes()),
    )
        .prop_map(|(object, writable, value, timestamp_ms, attrs)| Param {
            object,
            writable,
            value,
            timestamp_ms,
            attributes: attrs.map(Box::new),
        })
}

proptest! {
    #[test]
    fn sections_round_trip_exactly(
        model in ".{0,16}",
        entries in proptest::collection::btree_map(any::<u32>(), param(), 0..40),
    ) {
        let input: Vec<(u32, &Param)> = entries.iter().map(|(id, p)| (*id, p)).collect();
        let bytes = encode_section(&model, input);
        let (got_model, got) = decode_section(&bytes).unwrap();
        prop_assert_eq!(got_model, model);
        prop_assert_eq!(got, entries.into_iter().collect::<Vec<_>>());
    }

    #[test]
    fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        // Any outcome but a panic is fine; a successful decode must re-encode to a valid section.
        if let Ok((model, entries)) = decode_section(&bytes) {
            let refs = entries.iter().map(|(id, p)| (*id, p)).collect();
            prop_assert!(decode_section(&encode_section(&model, refs)).is_ok());
        }
        let _ = decode::<crate::model::TaskRecord>(&bytes, &|| "task".into());
    }
}

#[test]
fn truncations_are_corrupt_not_panics() {
    let p = Param {
        object: false,
        writable: Some(false),
        value: Some(Value::Int(-3)),
        timestamp_ms: 99,
        attributes: None,
    };
    let mut with_attrs = p.clone();
    with_attrs.attributes = Some(Box::new(crate::model::Attributes {
        notification: 2,
        access_list: vec!["Subscriber".into()],
        timestamp_ms: 120,
    }));
    let bytes = encode_section("202BC1-Device2", vec![(1, &p), (2, &with_attrs), (300, &p)]);
    let (_, back) = decode_section(&bytes).unwrap();
    assert_eq!(back[1].1, with_attrs);
    for cut in 0..bytes.len() {
        assert!(
            matches!(decode_section(&bytes[..cut]), Err(StoreError::Corrupt(_))),
            "cut {cut}"
        );
    }
    assert!(matches!(
        decode::<u64>(&[9, 1], &|| "x".into()),
        Err(StoreError::Corrupt(_))
    ));
    assert_eq!(
        decode::<u64>(&encode(&300u64).unwrap(), &|| "x".into()).unwrap(),
        300
    );
}
