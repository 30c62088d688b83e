//! GenieACS's expression language, as presets use it for preconditions: SQL-like comparisons
//! over device parameters (`DeviceID.ProductClass = "Device2" AND Tags.vip IS NOT NULL`).
//!
//! The grammar, from loosest to tightest: `OR`, `AND`, `NOT`, comparisons (`= <> < <= > >=`,
//! `LIKE`, `NOT LIKE`, `IS NULL`, `IS NOT NULL`), `||` (concatenation), `+ -`, `* / %`, unary
//! minus; operands are numbers, strings (single or double quotes, the quote doubled inside),
//! `TRUE`, `FALSE`, `NULL`, parameter paths, `CASE WHEN … THEN … [ELSE …] END` and the functions
//! `NOW() UPPER() LOWER() ROUND() COALESCE() DATE_STRING()`. Keywords are case-insensitive.
//! Evaluation follows SQL's three-valued logic: a comparison with `NULL` is `NULL`, and a
//! precondition holds only when its value is true in JavaScript's sense.
//!
//! Parsing is bounded (length, depth) and never panics on any input.

use crate::genie::date;

/// Longest expression accepted.
pub const MAX_LEN: usize = 16 * 1024;
/// Deepest nesting accepted.
pub const MAX_DEPTH: usize = 64;

/// A value during evaluation. Dates are numbers of milliseconds, as in GenieACS.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// SQL `NULL`: unknown.
    Null,
    /// A boolean.
    Bool(bool),
    /// A number (dates are milliseconds since the epoch).
    Num(f64),
    /// A string.
    Str(String),
}

impl Val {
    /// JavaScript truthiness, which decides whether a precondition holds.
    pub fn truthy(&self) -> bool {
        match self {
            Self::Null => false,
            Self::Bool(b) => *b,
            Self::Num(n) => *n != 0.0 && !n.is_nan(),
            Self::Str(s) => !s.is_empty(),
        }
    }

    fn text(&self) -> Option<String> {
        match self {
            Self::Null => None,
            Self::Bool(b) => Some(b.to_string()),
            Self::Num(n) => Some(num_text(*n)),
            Self::Str(s) => Some(s.clone()),
        }
    }

    fn num(&self) -> Option<f64> {
        match self {
            Self::Num(n) => Some(*n),
            Self::Bool(b) => Some(f64::from(u8::from(*b))),
            Self::Str(s) => s.trim().parse().ok(),
            Self::Null => None,
        }
    }
}

fn num_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

/// What an expression can read: a parameter's value by path (`Val::Null` when unknown) and the
/// session's time.
pub trait Facts {
    /// The value at `path`.
    fn value(&self, path: &str) -> Val;
    /// The session's time, for `NOW()`.
    fn now_ms(&self) -> i64;
}

/// Why an expression does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expression: {0}")]
pub struct ExprError(pub String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bin {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Like,
    NotLike,
    Concat,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Func {
    Now,
    Upper,
    Lower,
    Round,
    Coalesce,
    DateString,
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A literal.
    Lit(Val),
    /// A parameter path.
    Param(String),
    /// `NOT e`.
    Not(Box<Self>),
    /// `-e`.
    Neg(Box<Self>),
    /// `e IS [NOT] NULL` (true: `IS NULL`).
    IsNull(Box<Self>, bool),
    /// A binary operation.
    #[allow(private_interfaces)]
    Bin(Bin, Box<Self>, Box<Self>),
    /// A function call.
    #[allow(private_interfaces)]
    Call(Func, Vec<Self>),
    /// `CASE WHEN c THEN v … [ELSE e] END`.
    Case(Vec<(Self, Self)>, Option<Box<Self>>),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    Str(String),
    Word(String),
    Sym(&'static str),
}

fn tokenize(src: &str) -> Result<Vec<Tok>, ExprError> {
    let err = |m: String| ExprError(m);
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'"' || c == b'\'' {
            let mut s = Vec::new();
            i += 1;
            loop {
                match b.get(i) {
                    None => return Err(err("unterminated string".into())),
                    Some(&q) if q == c && b.get(i + 1) == Some(&c) => {
                        s.push(c);
                        i += 2;
                    }
                    Some(&q) if q == c => {
                        i += 1;
                        break;
                    }
                    Some(&x) => {
                        s.push(x);
                        i += 1;
                    }
                }
            }
            out.push(Tok::Str(String::from_utf8_lossy(&s).into_owned()));
        } else if c.is_ascii_digit() {
            let start = i;
            while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
                i += 1;
            }
            let text = &src[start..i];
            let n = text
                .parse()
                .map_err(|_| err(format!("bad number {text:?}")))?;
            out.push(Tok::Num(n));
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            // A `*` belongs to a path only as a whole segment (`Device.WiFi.SSID.*.SSID`).
            while i < b.len()
                && (b[i].is_ascii_alphanumeric()
                    || matches!(b[i], b'_' | b'.')
                    || (b[i] == b'*' && b[i - 1] == b'.'))
            {
                i += 1;
            }
            out.push(Tok::Word(src[start..i].to_owned()));
        } else {
            const SYMS: [&str; 14] = [
                "<>", "<=", ">=", "!=", "||", "=", "<", ">", "(", ")", ",", "+", "-", "*",
            ];
            let rest = &src[i..];
            let sym = SYMS
                .iter()
                .chain(&["/", "%"])
                .find(|s| rest.starts_with(**s))
                .ok_or_else(|| err(format!("unexpected character {:?}", rest.chars().next())))?;
            out.push(Tok::Sym(if *sym == "!=" { "<>" } else { sym }));
            i += sym.len();
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek_kw(&self, kw: &str) -> bool {
        matches!(self.toks.get(self.pos), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw))
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        let hit = self.peek_kw(kw);
        self.pos += usize::from(hit);
        hit
    }

    fn eat_sym(&mut self, sym: &str) -> bool {
        let hit = matches!(self.toks.get(self.pos), Some(Tok::Sym(s)) if *s == sym);
        self.pos += usize::from(hit);
        hit
    }

    fn expect_kw(&mut self, kw: &str) -> Result<(), ExprError> {
        if self.eat_kw(kw) {
            Ok(())
        } else {
            Err(ExprError(format!("expected {kw}")))
        }
    }

    fn deeper(&mut self) -> Result<(), ExprError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ExprError(format!("nested deeper than {MAX_DEPTH}")));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Expr, ExprError> {
        self.deeper()?;
        let mut e = self.and()?;
        while self.eat_kw("OR") {
            e = Expr::Bin(Bin::Or, Box::new(e), Box::new(self.and()?));
        }
        self.depth -= 1;
        Ok(e)
    }

    fn and(&mut self) -> Result<Expr, ExprError> {
        let mut e = self.not()?;
        while self.eat_kw("AND") {
            e = Expr::Bin(Bin::And, Box::new(e), Box::new(self.not()?));
        }
        Ok(e)
    }

    fn not(&mut self) -> Result<Expr, ExprError> {
        if self.eat_kw("NOT") {
            self.deeper()?;
            let inner = self.not()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, ExprError> {
        let left = self.concat()?;
        if self.eat_kw("IS") {
            let negated = self.eat_kw("NOT");
            self.expect_kw("NULL")?;
            return Ok(Expr::IsNull(Box::new(left), !negated));
        }
        let op = if self.eat_kw("LIKE") {
            Bin::Like
        } else if self.peek_kw("NOT")
            && matches!(self.toks.get(self.pos + 1), Some(Tok::Word(w)) if w.eq_ignore_ascii_case("LIKE"))
        {
            self.pos += 2;
            Bin::NotLike
        } else {
            let ops = [
                ("=", Bin::Eq),
                ("<>", Bin::Ne),
                ("<=", Bin::Le),
                (">=", Bin::Ge),
                ("<", Bin::Lt),
                (">", Bin::Gt),
            ];
            match ops.iter().find(|(s, _)| self.eat_sym(s)) {
                Some((_, op)) => *op,
                None => return Ok(left),
            }
        };
        Ok(Expr::Bin(op, Box::new(left), Box::new(self.concat()?)))
    }

    fn concat(&mut self) -> Result<Expr, ExprError> {
        let mut e = self.sum()?;
        while self.eat_sym("||") {
            e = Expr::Bin(Bin::Concat, Box::new(e), Box::new(self.sum()?));
        }
        Ok(e)
    }

    fn sum(&mut self) -> Result<Expr, ExprError> {
        let mut e = self.product()?;
        loop {
            let op = if self.eat_sym("+") {
                Bin::Add
            } else if self.eat_sym("-") {
                Bin::Sub
            } else {
                return Ok(e);
            };
            e = Expr::Bin(op, Box::new(e), Box::new(self.product()?));
        }
    }

    fn product(&mut self) -> Result<Expr, ExprError> {
        let mut e = self.unary()?;
        loop {
            let op = if self.eat_sym("*") {
                Bin::Mul
            } else if self.eat_sym("/") {
                Bin::Div
            } else if self.eat_sym("%") {
                Bin::Mod
            } else {
                return Ok(e);
            };
            e = Expr::Bin(op, Box::new(e), Box::new(self.unary()?));
        }
    }

    fn unary(&mut self) -> Result<Expr, ExprError> {
        if self.eat_sym("-") {
            self.deeper()?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Neg(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, ExprError> {
        let tok = self
            .toks
            .get(self.pos)
            .cloned()
            .ok_or_else(|| ExprError("unexpected end".into()))?;
        self.pos += 1;
        Ok(match tok {
            Tok::Num(n) => Expr::Lit(Val::Num(n)),
            Tok::Str(s) => Expr::Lit(Val::Str(s)),
            Tok::Sym("(") => {
                let e = self.or()?;
                if !self.eat_sym(")") {
                    return Err(ExprError("expected )".into()));
                }
                e
            }
            Tok::Sym(s) => return Err(ExprError(format!("unexpected {s:?}"))),
            Tok::Word(w) => self.word(w)?,
        })
    }

    fn word(&mut self, w: String) -> Result<Expr, ExprError> {
        let upper = w.to_ascii_uppercase();
        match upper.as_str() {
            "TRUE" => return Ok(Expr::Lit(Val::Bool(true))),
            "FALSE" => return Ok(Expr::Lit(Val::Bool(false))),
            "NULL" => return Ok(Expr::Lit(Val::Null)),
            "CASE" => return self.case(),
            "AND" | "OR" | "NOT" | "IS" | "LIKE" | "WHEN" | "THEN" | "ELSE" | "END" => {
                return Err(ExprError(format!("unexpected keyword {w}")));
            }
            _ => {}
        }
        if !self.eat_sym("(") {
            return Ok(Expr::Param(w));
        }
        let func = match upper.as_str() {
            "NOW" => Func::Now,
            "UPPER" => Func::Upper,
            "LOWER" => Func::Lower,
            "ROUND" => Func::Round,
            "COALESCE" => Func::Coalesce,
            "DATE_STRING" => Func::DateString,
            _ => return Err(ExprError(format!("unknown function {w}"))),
        };
        let mut args = Vec::new();
        if !self.eat_sym(")") {
            loop {
                args.push(self.or()?);
                if self.eat_sym(")") {
                    break;
                }
                if !self.eat_sym(",") {
                    return Err(ExprError("expected , or )".into()));
                }
            }
        }
        Ok(Expr::Call(func, args))
    }

    fn case(&mut self) -> Result<Expr, ExprError> {
        let mut arms = Vec::new();
        while self.eat_kw("WHEN") {
            let cond = self.or()?;
            self.expect_kw("THEN")?;
            arms.push((cond, self.or()?));
        }
        if arms.is_empty() {
            return Err(ExprError("CASE without WHEN".into()));
        }
        let other = if self.eat_kw("ELSE") {
            Some(Box::new(self.or()?))
        } else {
            None
        };
        self.expect_kw("END")?;
        Ok(Expr::Case(arms, other))
    }
}

impl Expr {
    /// Parses an expression.
    pub fn parse(src: &str) -> Result<Self, ExprError> {
        if src.len() > MAX_LEN {
            return Err(ExprError(format!("longer than {MAX_LEN} bytes")));
        }
        let mut p = Parser {
            toks: tokenize(src)?,
            pos: 0,
            depth: 0,
        };
        let e = p.or()?;
        if p.pos != p.toks.len() {
            return Err(ExprError(format!("unexpected {:?}", p.toks[p.pos])));
        }
        Ok(e)
    }

    /// Every parameter path the expression reads.
    pub fn params(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.visit(&mut |e| {
            if let Self::Param(p) = e {
                out.push(p.as_str());
            }
        });
        out
    }

    fn visit<'a>(&'a self, f: &mut dyn FnMut(&'a Self)) {
        f(self);
        match self {
            Self::Lit(_) | Self::Param(_) => {}
            Self::Not(e) | Self::Neg(e) | Self::IsNull(e, _) => e.visit(f),
            Self::Bin(_, a, b) => {
                a.visit(f);
                b.visit(f);
            }
            Self::Call(_, args) => args.iter().for_each(|a| a.visit(f)),
            Self::Case(arms, other) => {
                for (c, v) in arms {
                    c.visit(f);
                    v.visit(f);
                }
                if let Some(o) = other {
                    o.visit(f);
                }
            }
        }
    }

    /// Evaluates the expression.
    pub fn eval(&self, facts: &dyn Facts) -> Val {
        match self {
            Self::Lit(v) => v.clone(),
            Self::Param(p) => facts.value(p),
            Self::Not(e) => match e.eval(facts) {
                Val::Null => Val::Null,
                v => Val::Bool(!v.truthy()),
            },
            Self::Neg(e) => e.eval(facts).num().map_or(Val::Null, |n| Val::Num(-n)),
            Self::IsNull(e, want_null) => Val::Bool((e.eval(facts) == Val::Null) == *want_null),
            Self::Bin(op, a, b) => binary(*op, a, b, facts),
            Self::Call(f, args) => call(*f, args, facts),
            Self::Case(arms, other) => arms
                .iter()
                .find(|(c, _)| c.eval(facts).truthy())
                .map(|(_, v)| v.eval(facts))
                .or_else(|| other.as_ref().map(|o| o.eval(facts)))
                .unwrap_or(Val::Null),
        }
    }
}

fn binary(op: Bin, a: &Expr, b: &Expr, facts: &dyn Facts) -> Val {
    // AND/OR short-circuit with SQL's unknowns: FALSE AND NULL is FALSE, TRUE OR NULL is TRUE.
    if matches!(op, Bin::And | Bin::Or) {
        let l = a.eval(facts);
        let decisive = op == Bin::Or;
        if l != Val::Null && l.truthy() == decisive {
            return Val::Bool(decisive);
        }
        let r = b.eval(facts);
        if r != Val::Null && r.truthy() == decisive {
            return Val::Bool(decisive);
        }
        return if l == Val::Null || r == Val::Null {
            Val::Null
        } else {
            Val::Bool(!decisive)
        };
    }
    let (l, r) = (a.eval(facts), b.eval(facts));
    if l == Val::Null || r == Val::Null {
        return Val::Null;
    }
    match op {
        Bin::Eq | Bin::Ne | Bin::Lt | Bin::Le | Bin::Gt | Bin::Ge => {
            let ord = compare(&l, &r);
            let hit = match op {
                Bin::Eq => ord == Some(std::cmp::Ordering::Equal),
                Bin::Ne => ord != Some(std::cmp::Ordering::Equal),
                Bin::Lt => ord == Some(std::cmp::Ordering::Less),
                Bin::Le => ord.is_some_and(|o| o.is_le()),
                Bin::Gt => ord == Some(std::cmp::Ordering::Greater),
                _ => ord.is_some_and(|o| o.is_ge()),
            };
            Val::Bool(hit)
        }
        Bin::Like | Bin::NotLike => {
            let hit = like(&l.text().unwrap_or_default(), &r.text().unwrap_or_default());
            Val::Bool(hit == (op == Bin::Like))
        }
        Bin::Concat => Val::Str(l.text().unwrap_or_default() + &r.text().unwrap_or_default()),
        _ => {
            let (Some(x), Some(y)) = (l.num(), r.num()) else {
                return Val::Null;
            };
            Val::Num(match op {
                Bin::Add => x + y,
                Bin::Sub => x - y,
                Bin::Mul => x * y,
                Bin::Div => x / y,
                _ => x % y,
            })
        }
    }
}

/// Orders two non-null values: numbers numerically when both read as numbers, else as text.
fn compare(l: &Val, r: &Val) -> Option<std::cmp::Ordering> {
    match (l, r) {
        (Val::Bool(a), Val::Bool(b)) => Some(a.cmp(b)),
        _ => match (l.num(), r.num()) {
            (Some(a), Some(b)) if !matches!((l, r), (Val::Str(_), Val::Str(_))) => {
                a.partial_cmp(&b)
            }
            _ => Some(l.text()?.cmp(&r.text()?)),
        },
    }
}

/// SQL `LIKE`: `%` any run, `_` one character, `\` escapes; the whole text must match.
fn like(text: &str, pattern: &str) -> bool {
    let t: Vec<char> = text.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    // Iterative matching with backtracking to the last `%`, linear in practice.
    let (mut ti, mut pi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        let (lit, step) = match p.get(pi) {
            Some('\\') => match p.get(pi + 1) {
                Some(c) => (Some(*c), 2),
                None => (Some('\\'), 1),
            },
            Some('%') => {
                star = Some((pi, ti));
                pi += 1;
                continue;
            }
            Some('_') => (None, 1),
            Some(c) => (Some(*c), 1),
            None => (Some('\0'), 0),
        };
        let ok = step > 0 && lit.is_none_or(|c| c == t[ti]);
        if ok {
            ti += 1;
            pi += step;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '%')
}

fn call(f: Func, args: &[Expr], facts: &dyn Facts) -> Val {
    let arg = |i: usize| args.get(i).map_or(Val::Null, |a| a.eval(facts));
    match f {
        Func::Now => Val::Num(facts.now_ms() as f64),
        Func::Upper => arg(0)
            .text()
            .map_or(Val::Null, |s| Val::Str(s.to_uppercase())),
        Func::Lower => arg(0)
            .text()
            .map_or(Val::Null, |s| Val::Str(s.to_lowercase())),
        Func::Round => {
            let Some(x) = arg(0).num() else {
                return Val::Null;
            };
            let digits = arg(1).num().unwrap_or(0.0).clamp(-15.0, 15.0) as i32;
            let scale = 10f64.powi(digits);
            Val::Num((x * scale).round() / scale)
        }
        Func::Coalesce => args
            .iter()
            .map(|a| a.eval(facts))
            .find(|v| *v != Val::Null)
            .unwrap_or(Val::Null),
        Func::DateString => arg(0)
            .num()
            .map_or(Val::Null, |ms| Val::Str(date::iso(ms as i64))),
    }
}

#[cfg(test)]
mod tests {
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
}
