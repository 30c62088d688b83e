//! Fuzz-style property tests: random and mutated input never panics the parser, and every
//! failure maps to one of the faults the ACS may send (8000, 8003, 8004).

use cwmp::{Limits, ParseError, parse_envelope, to_bytes};
use proptest::collection::vec;
use proptest::prelude::*;

use crate::common::{ALL_GOLDEN, golden};

/// Parses and checks the outcome's classification; a success is re-written to make sure the
/// writer accepts whatever the parser produced.
fn check(bytes: &[u8], limits: &Limits) -> Result<(), TestCaseError> {
    match parse_envelope(bytes, limits) {
        Ok(env) => {
            let _ = to_bytes(&env);
        }
        Err(e) => {
            let code = e.fault().code;
            prop_assert!(matches!(code, 8000 | 8003 | 8004), "{e:?} -> {code}");
            prop_assert!(e.fault().string.chars().count() <= 101);
            prop_assert_eq!(e.is_limit(), code == 8004);
        }
    }
    Ok(())
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Truncate(usize),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    // Insertions favour XML metacharacters, which reach the interesting parser paths.
    let snippet = prop_oneof![
        vec(any::<u8>(), 1..8),
        proptest::sample::select(vec![
            b"<".to_vec(),
            b">".to_vec(),
            b"&".to_vec(),
            b"&#0;".to_vec(),
            b"&#xD800;".to_vec(),
            b"&foo;".to_vec(),
            b"</a>".to_vec(),
            b"<a>".to_vec(),
            b"]]>".to_vec(),
            b"<![CDATA[".to_vec(),
            b"xmlns:x=\"urn:dslforum-org:cwmp-1-2\" ".to_vec(),
            b"<!DOCTYPE x>".to_vec(),
            b"\"".to_vec(),
            b"\xff".to_vec(),
        ]),
    ];
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Mutation::Flip(p, b)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), snippet).prop_map(|(p, s)| Mutation::Insert(p, s)),
        (any::<usize>(), 1..16usize).prop_map(|(p, n)| Mutation::Delete(p, n)),
    ]
}

fn apply(mut data: Vec<u8>, muts: &[Mutation]) -> Vec<u8> {
    for m in muts {
        let len = data.len().max(1);
        match m {
            Mutation::Flip(p, b) if !data.is_empty() => data[p % len] ^= b,
            Mutation::Flip(..) => {}
            Mutation::Truncate(p) => data.truncate(p % len),
            Mutation::Insert(p, s) => {
                let at = p % (data.len() + 1);
                data.splice(at..at, s.iter().copied());
            }
            Mutation::Delete(p, n) => {
                let at = p % len;
                let end = (at + n).min(data.len());
                if at < end {
                    data.drain(at..end);
                }
            }
        }
    }
    data
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(bytes in vec(any::<u8>(), 0..512)) {
        if !bytes.is_empty() {
            check(&bytes, &Limits::default())?;
        }
    }

    #[test]
    fn mutated_golden_envelopes_never_panic(
        idx in 0..ALL_GOLDEN.len(),
        muts in vec(mutation(), 1..6),
    ) {
        let data = apply(golden(ALL_GOLDEN[idx]), &muts);
        if !data.is_empty() {
            check(&data, &Limits::default())?;
            // Tight limits exercise every limit check on the same input.
            let tight = Limits {
                max_body_bytes: 4096,
                max_depth: 6,
                max_parameters: 3,
                max_string_len: 24,
                max_elements: 40,
            };
            check(&data, &tight)?;
        }
    }
}

#[test]
fn pathological_structures_hit_limits_not_the_stack() {
    let l = Limits::default();
    let deep = format!("{}{}", "<a>".repeat(100_000), "</a>".repeat(100_000));
    let env = format!(
        r#"<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body>{deep}</e:Body></e:Envelope>"#
    );
    assert_eq!(
        parse_envelope(env.as_bytes(), &l),
        Err(ParseError::TooDeep { limit: 32 })
    );
    let wide = format!(
        r#"<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body>{}</e:Body></e:Envelope>"#,
        "<a/>".repeat(500_000)
    );
    assert_eq!(
        parse_envelope(wide.as_bytes(), &l),
        Err(ParseError::TooManyElements { limit: 400_000 })
    );
    let names = format!(
        r#"<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body><GetParameterValues><ParameterNames>{}</ParameterNames></GetParameterValues></e:Body></e:Envelope>"#,
        "<string>A.</string>".repeat(20_001)
    );
    assert_eq!(
        parse_envelope(names.as_bytes(), &l),
        Err(ParseError::TooManyParameters { limit: 20_000 })
    );
}
