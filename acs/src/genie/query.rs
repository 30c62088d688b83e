//! GenieACS's query language: MongoDB query JSON, rewritten the way GenieACS rewrites it for each
//! collection, evaluated against [`Node`] documents, and planned onto the store's indexes.
//!
//! For devices, GenieACS appends `._value` to every field whose last segment does not start with
//! `_`, and reads each string operand in every way that applies: as itself, as a regular
//! expression (`/pattern/flags`), as a number, as a date, and as a wildcard pattern (`*`). A
//! field then matches if any reading matches (for `$ne` and `$nin`: if no reading does). Other
//! operators keep MongoDB's meaning on the raw document.
//!
//! Differences from GenieACS, all in the direction of answering instead of failing: several
//! operators on one field may be mixed freely (GenieACS throws when `$ne` or `$not` is among
//! them), and a wildcard escapes every special character and turns every `*` into "anything"
//! (GenieACS converts only the first ones, a quirk not worth copying).

use crate::genie::date;
use crate::genie::doc::Node;
use regex::{Regex, RegexBuilder};
use serde_json::Value as Json;

/// Most bytes of query JSON accepted.
pub const MAX_QUERY_BYTES: usize = 64 * 1024;
/// Deepest nesting of operators accepted.
pub const MAX_DEPTH: usize = 32;
/// Longest regular expression accepted, in bytes.
pub const MAX_REGEX_BYTES: usize = 1024;

/// Why a query was refused; the text is the 400 body.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum QueryError {
    /// Not JSON (the message follows GenieACS's `SyntaxError: …` form).
    #[error("SyntaxError: {0}")]
    Syntax(String),
    /// JSON, but not a query this language has.
    #[error("Invalid query: {0}")]
    Invalid(String),
}

/// Which collection a query runs against: the rewriting rules differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    /// `devices`: `._value` appending and alternative readings.
    Devices,
    /// `tasks` and `faults`: `timestamp` strings are dates, `retries` strings numbers.
    TasksOrFaults,
    /// Everything else: raw MongoDB semantics.
    Raw,
}

/// A parsed query.
#[derive(Debug, Clone)]
pub struct Query {
    root: Expr,
}

#[derive(Debug, Clone)]
enum Expr {
    And(Vec<Self>),
    Or(Vec<Self>),
    Nor(Vec<Self>),
    Field { path: Vec<String>, test: Test },
}

#[derive(Debug, Clone)]
enum Test {
    Cmp(Cmp, Operand),
    In(Vec<Operand>),
    Exists(bool),
    Not(Box<Self>),
    All(Vec<Self>),
    Any(Vec<Self>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Eq,
    Gt,
    Gte,
    Lt,
    Lte,
}

#[derive(Debug, Clone)]
enum Operand {
    Value(Node),
    Regex(Regex),
}

/// How a query can use the store's indexes: every device it matches is among the candidates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// These ids.
    Ids(Vec<String>),
    /// Devices with one of these serial numbers.
    Serials(Vec<String>),
    /// Devices with one of these tags.
    Tags(Vec<String>),
    /// Devices with one of these MAC addresses (in one of their own interfaces' parameters).
    Macs(Vec<String>),
    /// Devices of this `<OUI>-<ProductClass>`.
    Model(String),
    /// Devices of one of these product classes.
    ProductClasses(Vec<String>),
    /// Devices whose last Inform lies in this range (milliseconds, inclusive, either open).
    InformRange(Option<i64>, Option<i64>),
    /// Every device.
    Scan,
}

impl Query {
    /// A query that matches everything (an absent or empty `query` parameter).
    pub fn all() -> Self {
        Self {
            root: Expr::And(Vec::new()),
        }
    }

    /// Parses query JSON for a collection.
    pub fn parse(text: &str, collection: Collection) -> Result<Self, QueryError> {
        if text.len() > MAX_QUERY_BYTES {
            return Err(QueryError::Invalid(format!(
                "longer than {MAX_QUERY_BYTES} bytes"
            )));
        }
        if text.trim().is_empty() {
            return Ok(Self::all());
        }
        let json: Json =
            serde_json::from_str(text).map_err(|e| QueryError::Syntax(e.to_string()))?;
        Self::from_json(&json, collection)
    }

    /// Builds a query from parsed JSON (presets store their preconditions this way).
    pub fn from_json(json: &Json, collection: Collection) -> Result<Self, QueryError> {
        Ok(Self {
            root: parse_doc(json, collection, 0)?,
        })
    }

    /// Whether the document matches.
    pub fn matches(&self, doc: &Node) -> bool {
        self.root.eval(doc)
    }

    /// Whether evaluating needs anything but the `_`-fields of a device (its parameter tree).
    pub fn needs_tree(&self) -> bool {
        self.root.needs_tree()
    }

    /// Whether the plan's candidates are exactly the matches: the query is nothing but one
    /// equality on the serial-number, tag or product-class index, so candidates need not be read to be counted.
    pub fn plan_is_exact(&self) -> bool {
        matches!(self.root, Expr::Field { .. })
            && matches!(
                self.plan(),
                Plan::Serials(_) | Plan::Tags(_) | Plan::ProductClasses(_)
            )
    }

    /// The narrowest index lookup whose results contain every match.
    pub fn plan(&self) -> Plan {
        let conjuncts: Vec<&Expr> = match &self.root {
            Expr::And(items) => items.iter().collect(),
            other => vec![other],
        };
        let mut best = Plan::Scan;
        let mut oui = None;
        let mut class = None;
        let mut informed: Option<(Option<i64>, Option<i64>)> = None;
        for c in conjuncts {
            let Expr::Field { path, test } = c else {
                continue;
            };
            if path.len() == 1 && path[0] == "_lastInform" {
                // Several ranges on one field narrow each other.
                if let Some(b) = test.time_bounds() {
                    informed = Some(informed.map_or(b, |a| intersect(a, b)));
                }
                continue;
            }
            let Some(keys) = test.exact_strings() else {
                continue;
            };
            let path = path.join(".");
            let plan = match path.as_str() {
                "_id" => Plan::Ids(keys),
                "_deviceId._SerialNumber" => Plan::Serials(keys),
                "_tags" => Plan::Tags(keys),
                "_deviceId._OUI" if keys.len() == 1 => {
                    oui = keys.into_iter().next();
                    continue;
                }
                "_deviceId._ProductClass" if keys.len() == 1 => {
                    class = keys.into_iter().next();
                    continue;
                }
                "_deviceId._ProductClass" => Plan::ProductClasses(keys),
                p if p
                    .strip_suffix("._value")
                    .is_some_and(crate::indexed_mac_path) =>
                {
                    Plan::Macs(keys)
                }
                _ => continue,
            };
            // Ids are the cheapest lookup; otherwise the first usable conjunct wins.
            if matches!(best, Plan::Scan) || matches!(plan, Plan::Ids(_)) {
                best = plan;
            }
        }
        if matches!(best, Plan::Scan) {
            best = match (oui, class, informed) {
                (Some(o), Some(c), _) => Plan::Model(format!("{o}-{c}")),
                (None, Some(c), _) => Plan::ProductClasses(vec![c]),
                (_, _, Some((from, to))) => Plan::InformRange(from, to),
                _ => Plan::Scan,
            };
        }
        best
    }
}

fn invalid(msg: impl Into<String>) -> QueryError {
    QueryError::Invalid(msg.into())
}

fn parse_doc(json: &Json, coll: Collection, depth: usize) -> Result<Expr, QueryError> {
    if depth > MAX_DEPTH {
        return Err(invalid(format!("nested deeper than {MAX_DEPTH}")));
    }
    let Json::Object(map) = json else {
        return Err(invalid("a query is a JSON object"));
    };
    let mut items = Vec::with_capacity(map.len());
    for (key, value) in map {
        items.push(match key.as_str() {
            "$and" | "$or" | "$nor" => {
                let Json::Array(list) = value else {
                    return Err(invalid(format!("{key} needs an array")));
                };
                if list.is_empty() {
                    return Err(invalid(format!("{key} needs a non-empty array")));
                }
                let subs = list
                    .iter()
                    .map(|q| parse_doc(q, coll, depth + 1))
                    .collect::<Result<Vec<_>, _>>()?;
                match key.as_str() {
                    "$and" => Expr::And(subs),
                    "$or" => Expr::Or(subs),
                    _ => Expr::Nor(subs),
                }
            }
            k if k.starts_with('$') => return Err(invalid(format!("unknown operator {k}"))),
            field => field_expr(field, value, coll, depth)?,
        });
    }
    Ok(if items.len() == 1 {
        items.remove(0)
    } else {
        Expr::And(items)
    })
}

fn field_expr(
    field: &str,
    value: &Json,
    coll: Collection,
    depth: usize,
) -> Result<Expr, QueryError> {
    if field.is_empty() || field.split('.').any(str::is_empty) {
        return Err(invalid(format!("invalid field name {field:?}")));
    }
    let mut path: Vec<String> = field.split('.').map(str::to_owned).collect();
    if coll == Collection::Devices && !path.last().is_some_and(|s| s.starts_with('_')) {
        path.push("_value".into());
    }
    let typed = Typing::of(coll, &path);
    let test = match value {
        Json::Object(ops) if ops.keys().next().is_some_and(|k| k.starts_with('$')) => {
            operators(ops, typed, depth)?
        }
        v => typed.readings(Cmp::Eq, v)?,
    };
    Ok(Expr::Field { path, test })
}

/// How string operands of a field are read.
#[derive(Debug, Clone, Copy)]
enum Typing {
    /// Devices: every applicable reading.
    Readings,
    /// A date field of tasks and faults.
    Date,
    /// A number field of tasks and faults.
    Number,
    /// As given.
    Raw,
}

impl Typing {
    fn of(coll: Collection, path: &[String]) -> Self {
        match (coll, path) {
            (Collection::Devices, _) => Self::Readings,
            (Collection::TasksOrFaults, [f]) if f == "timestamp" || f == "expiry" => Self::Date,
            (Collection::TasksOrFaults, [f]) if f == "retries" => Self::Number,
            _ => Self::Raw,
        }
    }

    /// The operands a JSON value stands for.
    fn operands(self, v: &Json, with_patterns: bool) -> Result<Vec<Operand>, QueryError> {
        let Json::String(s) = v else {
            return Ok(vec![Operand::Value(Node::from_json(v))]);
        };
        let mut out = Vec::new();
        match self {
            Self::Raw => out.push(Operand::Value(Node::Str(s.clone()))),
            Self::Date => out.push(Operand::Value(
                date::parse(s).map_or_else(|| Node::Str(s.clone()), Node::Date),
            )),
            Self::Number => out.push(Operand::Value(
                js_number(s).map_or_else(|| Node::Str(s.clone()), Node::Num),
            )),
            Self::Readings => {
                out.push(Operand::Value(Node::Str(s.clone())));
                if with_patterns && let Some(re) = slash_regex(s)? {
                    out.push(Operand::Regex(re));
                }
                if let Some(n) = js_number(s) {
                    out.push(Operand::Value(Node::Num(n)));
                }
                if s.len() >= 8
                    && let Some(ms) = date::parse(s)
                    && date::year(ms) > 1983
                {
                    out.push(Operand::Value(Node::Date(ms)));
                }
                if with_patterns && s.contains('*') {
                    out.push(Operand::Regex(wildcard(s)?));
                }
            }
        }
        Ok(out)
    }

    /// `field: value` or one comparison operator, over every reading.
    fn readings(self, cmp: Cmp, v: &Json) -> Result<Test, QueryError> {
        let mut tests: Vec<Test> = self
            .operands(v, cmp == Cmp::Eq)?
            .into_iter()
            .map(|o| Test::Cmp(cmp, o))
            .collect();
        Ok(if tests.len() == 1 {
            tests.remove(0)
        } else {
            Test::Any(tests)
        })
    }

    fn list(self, v: &Json) -> Result<Vec<Operand>, QueryError> {
        let Json::Array(items) = v else {
            return Err(invalid("$in and $nin need an array"));
        };
        let mut out = Vec::new();
        for item in items {
            out.extend(self.operands(item, true)?);
        }
        Ok(out)
    }
}

fn operators(
    ops: &serde_json::Map<String, Json>,
    typed: Typing,
    depth: usize,
) -> Result<Test, QueryError> {
    if depth > MAX_DEPTH {
        return Err(invalid(format!("nested deeper than {MAX_DEPTH}")));
    }
    let mut tests = Vec::new();
    let options = ops.get("$options").and_then(Json::as_str).unwrap_or("");
    for (op, v) in ops {
        let test = match op.as_str() {
            "$eq" => typed.readings(Cmp::Eq, v)?,
            "$ne" => Test::Not(Box::new(typed.readings(Cmp::Eq, v)?)),
            "$gt" => typed.readings(Cmp::Gt, v)?,
            "$gte" => typed.readings(Cmp::Gte, v)?,
            "$lt" => typed.readings(Cmp::Lt, v)?,
            "$lte" => typed.readings(Cmp::Lte, v)?,
            "$in" => Test::In(typed.list(v)?),
            "$nin" => Test::Not(Box::new(Test::In(typed.list(v)?))),
            "$exists" => Test::Exists(truthy(v)),
            "$regex" => {
                let Json::String(p) = v else {
                    return Err(invalid("$regex needs a string"));
                };
                Test::Cmp(Cmp::Eq, Operand::Regex(regex(p, options)?))
            }
            "$options" if ops.contains_key("$regex") => continue,
            "$not" => match v {
                Json::Object(inner) if inner.keys().all(|k| k.starts_with('$')) => {
                    Test::Not(Box::new(operators(inner, typed, depth + 1)?))
                }
                Json::String(s) => match slash_regex(s)? {
                    Some(re) => Test::Not(Box::new(Test::Cmp(Cmp::Eq, Operand::Regex(re)))),
                    None => return Err(invalid("$not needs an operator object or a regex")),
                },
                _ => return Err(invalid("$not needs an operator object or a regex")),
            },
            other => return Err(invalid(format!("unsupported operator {other}"))),
        };
        tests.push(test);
    }
    Ok(if tests.len() == 1 {
        tests.remove(0)
    } else {
        Test::All(tests)
    })
}

fn truthy(v: &Json) -> bool {
    match v {
        Json::Null => false,
        Json::Bool(b) => *b,
        Json::Number(n) => n.as_f64() != Some(0.0),
        _ => true,
    }
}

/// JavaScript's `+s === parseFloat(s)`: a decimal number, possibly with an exponent, nothing else.
fn js_number(s: &str) -> Option<f64> {
    let t = s.trim();
    let ok = !t.is_empty()
        && t.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
        && t.bytes().any(|b| b.is_ascii_digit());
    ok.then(|| t.parse::<f64>().ok())
        .flatten()
        .filter(|n| n.is_finite())
}

/// `/pattern/flags` as a regular expression.
fn slash_regex(s: &str) -> Result<Option<Regex>, QueryError> {
    let Some(rest) = s.strip_prefix('/') else {
        return Ok(None);
    };
    let Some(end) = rest.rfind('/') else {
        return Ok(None);
    };
    let (pattern, flags) = (&rest[..end], &rest[end + 1..]);
    if !flags.bytes().all(|f| b"gimsuy".contains(&f)) {
        return Ok(None);
    }
    regex(pattern, flags).map(Some)
}

fn regex(pattern: &str, flags: &str) -> Result<Regex, QueryError> {
    if pattern.len() > MAX_REGEX_BYTES {
        return Err(invalid(format!(
            "regular expression longer than {MAX_REGEX_BYTES} bytes"
        )));
    }
    RegexBuilder::new(pattern)
        .case_insensitive(flags.contains('i'))
        .multi_line(flags.contains('m'))
        .dot_matches_new_line(flags.contains('s'))
        .size_limit(1 << 20)
        .build()
        .map_err(|e| invalid(format!("invalid regular expression: {e}")))
}

/// `V100*` → `^V100.*$`: `*` matches anything, everything else literally.
fn wildcard(s: &str) -> Result<Regex, QueryError> {
    let body: Vec<String> = s.split('*').map(regex::escape).collect();
    regex(&format!("^{}$", body.join(".*")), "")
}

impl Expr {
    fn eval(&self, doc: &Node) -> bool {
        match self {
            Self::And(items) => items.iter().all(|e| e.eval(doc)),
            Self::Or(items) => items.iter().any(|e| e.eval(doc)),
            Self::Nor(items) => !items.iter().any(|e| e.eval(doc)),
            Self::Field { path, test } => {
                let mut found = Vec::new();
                resolve(doc, path, &mut found);
                test.eval(&found)
            }
        }
    }

    fn needs_tree(&self) -> bool {
        match self {
            Self::And(items) | Self::Or(items) | Self::Nor(items) => {
                items.iter().any(Self::needs_tree)
            }
            Self::Field { path, .. } => !path[0].starts_with('_'),
        }
    }
}

/// Collects the values at `path`, descending into arrays as MongoDB does.
fn resolve<'a>(node: &'a Node, path: &[String], out: &mut Vec<&'a Node>) {
    let Some((first, rest)) = path.split_first() else {
        out.push(node);
        return;
    };
    match node {
        Node::Obj(_) => {
            if let Some(child) = node.get(first) {
                resolve(child, rest, out);
            }
        }
        Node::Arr(items) => match first.parse::<usize>() {
            Ok(i) => {
                if let Some(item) = items.get(i) {
                    resolve(item, rest, out);
                }
            }
            Err(_) => items.iter().for_each(|i| resolve(i, path, out)),
        },
        _ => {}
    }
}

impl Test {
    /// Whether the values found at the field (none when it is missing) pass.
    fn eval(&self, found: &[&Node]) -> bool {
        match self {
            Self::Exists(want) => found.is_empty() != *want,
            Self::Not(t) => !t.eval(found),
            Self::All(ts) => ts.iter().all(|t| t.eval(found)),
            Self::Any(ts) => ts.iter().any(|t| t.eval(found)),
            Self::In(ops) => ops.iter().any(|o| Self::eq_any(o, found)),
            Self::Cmp(Cmp::Eq, o) => Self::eq_any(o, found),
            Self::Cmp(cmp, o) => found.iter().any(|v| {
                std::iter::once(*v)
                    .chain(match v {
                        Node::Arr(items) => items.iter().collect::<Vec<_>>(),
                        _ => Vec::new(),
                    })
                    .any(|v| compare(*cmp, v, o))
            }),
        }
    }

    /// Equality: a missing field equals null; an array matches if it or any element does.
    fn eq_any(o: &Operand, found: &[&Node]) -> bool {
        if found.is_empty() {
            return matches!(o, Operand::Value(Node::Null));
        }
        found.iter().any(|v| {
            eq(v, o)
                || match v {
                    Node::Arr(items) => items.iter().any(|i| eq(i, o)),
                    _ => false,
                }
        })
    }

    /// The string values an index lookup can use, when this test is plain equality with strings
    /// (readings of other types cannot match a string field, so they may be ignored).
    /// For a test on a date field: a time range that holds every date it can match (dates
    /// compare only with dates, so readings of another type add nothing), or `None` if it can
    /// match dates anywhere.
    fn time_bounds(&self) -> Option<(Option<i64>, Option<i64>)> {
        let date = |o: &Operand| match o {
            Operand::Value(Node::Date(ms)) => Some(*ms),
            _ => None,
        };
        match self {
            Self::Cmp(cmp, o) => {
                let Some(ms) = date(o) else {
                    // This reading never matches a date: an empty range.
                    return Some((Some(i64::MAX), Some(i64::MIN)));
                };
                Some(match cmp {
                    Cmp::Eq => (Some(ms), Some(ms)),
                    Cmp::Gt | Cmp::Gte => (Some(ms), None),
                    Cmp::Lt | Cmp::Lte => (None, Some(ms)),
                })
            }
            // Any reading may match: the smallest range holding all of them.
            Self::Any(ts) => {
                let mut out: Option<(Option<i64>, Option<i64>)> = None;
                for t in ts {
                    let b = t.time_bounds()?;
                    if b.0.zip(b.1).is_some_and(|(from, to)| from > to) {
                        continue;
                    }
                    out = Some(match out {
                        None => b,
                        Some(a) => (
                            a.0.zip(b.0).map(|(x, y)| x.min(y)),
                            a.1.zip(b.1).map(|(x, y)| x.max(y)),
                        ),
                    });
                }
                Some(out.unwrap_or((Some(i64::MAX), Some(i64::MIN))))
            }
            Self::All(ts) => {
                let mut out = (None, None);
                let mut any = false;
                for b in ts.iter().filter_map(Self::time_bounds) {
                    out = intersect(out, b);
                    any = true;
                }
                any.then_some(out)
            }
            _ => None,
        }
    }

    fn exact_strings(&self) -> Option<Vec<String>> {
        let strings = |ops: &[&Operand]| -> Option<Vec<String>> {
            let mut out = Vec::new();
            for o in ops {
                match o {
                    Operand::Value(Node::Str(s)) => out.push(s.clone()),
                    Operand::Value(Node::Num(_) | Node::Date(_)) => {}
                    _ => return None,
                }
            }
            (!out.is_empty()).then_some(out)
        };
        match self {
            Self::Cmp(Cmp::Eq, o) => strings(&[o]),
            Self::In(ops) => strings(&ops.iter().collect::<Vec<_>>()),
            Self::Any(ts) => {
                let mut ops = Vec::new();
                for t in ts {
                    match t {
                        Self::Cmp(Cmp::Eq, o) => ops.push(o),
                        _ => return None,
                    }
                }
                strings(&ops)
            }
            _ => None,
        }
    }
}

/// The overlap of two time ranges.
fn intersect(
    a: (Option<i64>, Option<i64>),
    b: (Option<i64>, Option<i64>),
) -> (Option<i64>, Option<i64>) {
    let later = |x: Option<i64>, y: Option<i64>| match (x, y) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, y) => x.or(y),
    };
    let earlier = |x: Option<i64>, y: Option<i64>| match (x, y) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    };
    (later(a.0, b.0), earlier(a.1, b.1))
}

fn eq(v: &Node, o: &Operand) -> bool {
    match o {
        Operand::Regex(re) => matches!(v, Node::Str(s) if re.is_match(s)),
        Operand::Value(want) => v == want,
    }
}

fn compare(cmp: Cmp, v: &Node, o: &Operand) -> bool {
    use std::cmp::Ordering;
    let Operand::Value(want) = o else {
        return false;
    };
    let ord = match (v, want) {
        (Node::Num(a), Node::Num(b)) => a.partial_cmp(b),
        (Node::Str(a), Node::Str(b)) => Some(a.cmp(b)),
        (Node::Date(a), Node::Date(b)) => Some(a.cmp(b)),
        (Node::Bool(a), Node::Bool(b)) => Some(a.cmp(b)),
        _ => None,
    };
    match (cmp, ord) {
        (_, None) => false,
        (Cmp::Eq, Some(o)) => o == Ordering::Equal,
        (Cmp::Gt, Some(o)) => o == Ordering::Greater,
        (Cmp::Gte, Some(o)) => o != Ordering::Less,
        (Cmp::Lt, Some(o)) => o == Ordering::Less,
        (Cmp::Lte, Some(o)) => o != Ordering::Greater,
    }
}
