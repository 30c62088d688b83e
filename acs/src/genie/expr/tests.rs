use super::*;
use std::collections::HashMap;

struct Map(HashMap<&'static str, Val>);

impl Facts for Map {
    fn value(&self, path: &str) -> Val {
        self.0.get(path).cloned().unwrap_or(Val::Null)
    }
    fn now_ms(&self) -> i64 {
        1_000_000
    }
}

fn facts() -> Map {
    Map(HashMap::from([
        ("DeviceID.ProductClass", Val::Str("Device2".into())),
        ("Tags.vip", Val::Bool(true)),
        ("Device.DeviceInfo.UpTime", Val::Num(300.0)),
        (
            "Device.DeviceInfo.SoftwareVersion",
            Val::Str("1.2.3 Build 2024".into()),
        ),
    ]))
}

fn eval(src: &str) -> Val {
    Expr::parse(src).unwrap().eval(&facts())
}

#[test]
fn preconditions_as_genieacs_users_write_them() {
    assert_eq!(
        eval(r#"DeviceID.ProductClass = "Device2" AND Tags.vip IS NOT NULL"#),
        Val::Bool(true)
    );
    assert_eq!(eval("Tags.other IS NULL"), Val::Bool(true));
    assert_eq!(eval("Device.DeviceInfo.UpTime > '100'"), Val::Bool(true));
    assert_eq!(
        eval("Device.DeviceInfo.UpTime >= 300 AND Device.DeviceInfo.UpTime < 301"),
        Val::Bool(true)
    );
    assert_eq!(
        eval("Device.DeviceInfo.SoftwareVersion LIKE '1.2.%'"),
        Val::Bool(true)
    );
    assert_eq!(
        eval("Device.DeviceInfo.SoftwareVersion NOT LIKE '1._.3%'"),
        Val::Bool(false)
    );
    assert_eq!(
        eval("LOWER(DeviceID.ProductClass) = 'device2'"),
        Val::Bool(true)
    );
    assert_eq!(eval("NOT (Tags.vip = TRUE)"), Val::Bool(false));
    assert_eq!(eval("NOW() - 1000 * 60"), Val::Num(940_000.0));
    assert_eq!(eval("ROUND(2.345, 2) || 'x'"), Val::Str("2.35x".into()));
    assert_eq!(
        eval("COALESCE(Missing.Thing, 'fallback')"),
        Val::Str("fallback".into())
    );
    assert_eq!(
        eval("CASE WHEN Tags.vip THEN 'gold' ELSE 'plain' END"),
        Val::Str("gold".into())
    );
    assert_eq!(eval("'it''s'"), Val::Str("it's".into()));
}

#[test]
fn unknowns_follow_three_valued_logic() {
    assert_eq!(eval("Missing.X = 1"), Val::Null);
    assert_eq!(eval("Missing.X = 1 AND FALSE"), Val::Bool(false));
    assert_eq!(eval("Missing.X = 1 OR TRUE"), Val::Bool(true));
    assert_eq!(eval("NOT Missing.X"), Val::Null);
    assert!(!eval("Missing.X <> 1").truthy());
}

#[test]
fn parameters_read_are_listed() {
    let e = Expr::parse("A.B = 1 OR UPPER(C.D) LIKE 'X%' AND Tags.t IS NULL").unwrap();
    assert_eq!(e.params(), ["A.B", "C.D", "Tags.t"]);
}

#[test]
fn bad_expressions_are_errors() {
    for bad in [
        "",
        "A =",
        "(A = 1",
        "A = 1)",
        "FOO(1)",
        "'open",
        "A = 1 AND",
        "CASE END",
        "A IS 3",
        "{\"_tags\":\"vip\"}",
        "#",
    ] {
        assert!(Expr::parse(bad).is_err(), "{bad:?}");
    }
    let deep = "(".repeat(MAX_DEPTH + 5) + "1" + &")".repeat(MAX_DEPTH + 5);
    assert!(Expr::parse(&deep).is_err());
    let long = "A = 1 OR ".repeat(MAX_LEN / 8) + "TRUE";
    assert!(Expr::parse(&long).is_err());
}

#[test]
fn like_handles_escapes_and_backtracking() {
    assert!(like("abcabc", "%abc"));
    assert!(like("a%b", "a\\%b"));
    assert!(!like("axb", "a\\%b"));
    assert!(like("", "%"));
    assert!(!like("abc", "ab"));
    assert!(like("héllo", "h_llo"));
    assert!(like("a\\", "a\\"));
    assert!(!like("ab", "a\\"));
}

proptest::proptest! {
    #[test]
    fn any_input_parses_or_errs_without_panicking(src in ".{0,80}") {
        if let Ok(e) = Expr::parse(&src) {
            let _ = e.eval(&facts());
        }
    }

    #[test]
    fn mutated_preconditions_never_panic(
        cut in 0usize..60,
        insert in proptest::sample::select(vec!["(", ")", "'", "AND", "NOT", "=", "%", "-", ","]),
    ) {
        let base = "DeviceID.ProductClass = 'Device2' AND (Tags.vip IS NOT NULL OR UPPER(A.B) LIKE 'X%')";
        let at = cut.min(base.len());
        let src = format!("{}{}{}", &base[..at], insert, &base[at..]);
        if let Ok(e) = Expr::parse(&src) {
            let _ = e.eval(&facts());
        }
    }
}

/// Facts of a request that presented `u`/`p`, at 127.0.0.1.
struct Request(&'static str, &'static str);

impl Facts for Request {
    fn value(&self, path: &str) -> Val {
        facts().value(path)
    }
    fn now_ms(&self) -> i64 {
        0
    }
    fn auth(&self, u: &Val, p: &Val) -> Val {
        Val::Bool(*u == Val::Str(self.0.into()) && *p == Val::Str(self.1.into()))
    }
    fn remote_address(&self) -> Val {
        Val::Str("127.0.0.1".into())
    }
}

#[test]
fn double_quoted_strings_take_javascript_escapes() {
    assert_eq!(eval(r#""a\"b""#), Val::Str("a\"b".into()));
    assert_eq!(eval(r#""tab\there\n""#), Val::Str("tab\there\n".into()));
    assert_eq!(eval(r#""caf\u00e9""#), Val::Str("café".into()));
    assert_eq!(eval(r#""back\\slash\q""#), Val::Str("back\\slashq".into()));
    // Single quotes are SQL's: a backslash is itself, the quote doubled is one quote.
    assert_eq!(eval(r"'a\n''b'"), Val::Str("a\\n'b".into()));
    for bad in [r#""open"#, r#""\u12""#, r#""\uzzzz""#, r#""a\"#] {
        assert!(Expr::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn auth_and_remote_address_are_answered_by_the_request() {
    let e = Expr::parse("AUTH(DeviceID.ProductClass, 'pw') AND REMOTE_ADDRESS() = '127.0.0.1'")
        .unwrap();
    assert_eq!(e.eval(&Request("Device2", "pw")), Val::Bool(true));
    assert_eq!(e.eval(&Request("Device2", "other")), Val::Bool(false));
    // Where no request is being authenticated (a preset's precondition), AUTH is unknown.
    assert_eq!(eval("AUTH('a', 'b')"), Val::Null);
    assert_eq!(eval("auth('a', 'b') OR TRUE"), Val::Bool(true));
    assert!(e.calls_auth());
    assert!(!Expr::parse("A = 1").unwrap().calls_auth());
    for bad in [
        "AUTH('a')",
        "AUTH('a', 'b', 'c')",
        "NOW(1)",
        "REMOTE_ADDRESS(x)",
    ] {
        let err = Expr::parse(bad).unwrap_err();
        assert!(err.0.contains("arguments"), "{bad}: {err}");
    }
}

#[test]
fn an_expression_needs_credentials_when_auth_must_be_true() {
    let needs = |s: &str| Expr::parse(s).unwrap().needs_credentials();
    assert!(needs("AUTH('a', 'b')"));
    assert!(needs("DeviceID.OUI = 'X' AND AUTH(serialNumber, 'p')"));
    assert!(needs("AUTH('a', 'b') AND (A = 1 OR B = 2)"));
    assert!(!needs("AUTH('a', 'b') OR DeviceID.OUI = 'X'"));
    assert!(!needs("TRUE"));
    assert!(!needs("NOT AUTH('a', 'b')"));
    assert!(!needs("CASE WHEN A THEN AUTH('a', 'b') ELSE TRUE END"));
}

#[test]
fn division_by_zero_is_null_as_in_genieacs() {
    assert_eq!(eval("1 / 0"), Val::Null);
    assert_eq!(eval("5 % 0"), Val::Null);
    assert_eq!(eval("COALESCE(1 / 0, 7)"), Val::Num(7.0));
}

#[test]
fn long_operator_chains_count_toward_the_depth() {
    let within = vec!["A = 1"; MAX_DEPTH / 2].join(" OR ");
    assert!(Expr::parse(&within).is_ok());
    for op in [" OR ", " AND ", " + ", " * ", " || "] {
        let chain = vec!["1"; MAX_DEPTH + 2].join(op);
        let err = Expr::parse(&chain).unwrap_err();
        assert!(err.0.contains("deeper"), "{op}: {err}");
    }
    // Chains inside nesting share the budget.
    let nested =
        "(".repeat(MAX_DEPTH / 2) + &vec!["1"; MAX_DEPTH].join("+") + &")".repeat(MAX_DEPTH / 2);
    assert!(Expr::parse(&nested).is_err());
}

/// A random well-formed expression, as text, at most `depth` levels deep.
fn arb_expr() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        (0u32..1000).prop_map(|n| n.to_string()),
        "[a-z%_ ]{0,6}".prop_map(|s| format!("'{s}'")),
        "[a-z\"\\\\]{0,6}".prop_map(|s| format!("{s:?}")),
        proptest::sample::select(vec![
            "DeviceID.ProductClass",
            "Tags.vip",
            "Device.DeviceInfo.UpTime",
            "Missing.X",
            "TRUE",
            "NULL",
            "NOW()",
            "REMOTE_ADDRESS()",
        ])
        .prop_map(str::to_owned),
    ];
    leaf.prop_recursive(6, 64, 3, |inner| {
        let ops = proptest::sample::select(vec![
            "AND", "OR", "=", "<>", "<", ">=", "LIKE", "NOT LIKE", "||", "+", "-", "*", "/", "%",
        ]);
        prop_oneof![
            (inner.clone(), ops, inner.clone()).prop_map(|(a, op, b)| format!("({a} {op} {b})")),
            inner.clone().prop_map(|a| format!("(NOT ({a}))")),
            inner.clone().prop_map(|a| format!("(({a}) IS NOT NULL)")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("AUTH({a}, {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("COALESCE({a}, {b})")),
            inner.clone().prop_map(|a| format!("UPPER({a})")),
            (inner.clone(), inner.clone(), inner)
                .prop_map(|(c, a, b)| format!("CASE WHEN {c} THEN {a} ELSE {b} END")),
        ]
    })
}

proptest::proptest! {
    #[test]
    fn well_formed_expressions_parse_and_evaluate(src in arb_expr()) {
        let e = Expr::parse(&src);
        proptest::prop_assert!(e.is_ok(), "{src}: {e:?}");
        if let Ok(e) = e {
            let _ = e.eval(&Request("a", "b"));
            let _ = e.eval(&facts());
            let _ = e.needs_credentials();
        }
    }

    #[test]
    fn nesting_beyond_the_limit_is_an_error_not_a_stack_overflow(
        depth in (MAX_DEPTH + 1)..4000usize,
        open in proptest::sample::select(vec!["(", "NOT ", "-", "UPPER(", "CASE WHEN 1 THEN "]),
    ) {
        let src = open.repeat(depth) + "1";
        proptest::prop_assert!(Expr::parse(&src).is_err());
    }

    #[test]
    fn random_token_soup_never_panics(
        toks in proptest::collection::vec(
            proptest::sample::select(vec![
                "AUTH", "(", ")", ",", "'x'", "\"y\\\"\"", "\"\\u00", "AND", "OR", "NOT", "IS",
                "NULL", "LIKE", "CASE", "WHEN", "THEN", "ELSE", "END", "=", "<>", "||", "-",
                "/", "%", "0", "1.5", "A.B", "Tags.t", "REMOTE_ADDRESS", "NOW", "\\",
            ]),
            0..40,
        )
    ) {
        let src = toks.join(" ");
        if let Ok(e) = Expr::parse(&src) {
            let _ = e.eval(&Request("x", "y"));
        }
    }
}
