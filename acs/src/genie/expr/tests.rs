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
