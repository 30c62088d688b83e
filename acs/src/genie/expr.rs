//! GenieACS's expression language, as presets use it for preconditions and its `config`
//! settings for their values: SQL-like comparisons over device parameters
//! (`DeviceID.ProductClass = "Device2" AND Tags.vip IS NOT NULL`).
//!
//! The grammar, from loosest to tightest: `OR`, `AND`, `NOT`, comparisons (`= <> < <= > >=`,
//! `LIKE`, `NOT LIKE`, `IS NULL`, `IS NOT NULL`), `||` (concatenation), `+ -`, `* / %`, unary
//! minus; operands are numbers, strings (single quotes with the quote doubled inside, as in SQL;
//! double quotes with JavaScript's backslash escapes, as GenieACS reads them), `TRUE`, `FALSE`,
//! `NULL`, parameter paths, `CASE WHEN … THEN … [ELSE …] END` and the functions `NOW() UPPER()
//! LOWER() ROUND() COALESCE() DATE_STRING()`, and for the authentication settings `AUTH(username,
//! password)` and `REMOTE_ADDRESS()`, which only the [`Facts`] of a request can answer.
//! Keywords and function names are case-insensitive; an unknown function is a parse error.
//! Evaluation follows SQL's three-valued logic: a comparison with `NULL` is `NULL`, a division
//! by zero is `NULL` and a boolean in text is `1` or `0` (as in GenieACS), and a precondition
//! holds only when its value is true in JavaScript's sense.
//!
//! Parsing is bounded (length, and depth counting both nesting and chained operators, so
//! evaluation's recursion is bounded too) and never panics on any input.

use crate::genie::date;

/// Longest expression accepted.
pub const MAX_LEN: usize = 16 * 1024;
/// Deepest expression tree accepted: each nesting (parentheses, `NOT`, a function's arguments,
/// `CASE`) and each operator of a chain (`a OR b OR c`) is one level.
pub const MAX_DEPTH: usize = 128;

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
            // As GenieACS writes a boolean in text (`'x' || TRUE` is `x1`).
            Self::Bool(b) => Some(u8::from(*b).to_string()),
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
/// session's time; a request being authenticated also answers `AUTH()` and `REMOTE_ADDRESS()`.
pub trait Facts {
    /// The value at `path`.
    fn value(&self, path: &str) -> Val;
    /// The session's time, for `NOW()`.
    fn now_ms(&self) -> i64;
    /// `AUTH(username, password)`: whether the request being authenticated presented these
    /// credentials. Where there is no such request (a preset's precondition) it is unknown,
    /// `NULL`, as GenieACS leaves the call unevaluated.
    fn auth(&self, _username: &Val, _password: &Val) -> Val {
        Val::Null
    }
    /// `REMOTE_ADDRESS()`: the address of the peer, where there is one.
    fn remote_address(&self) -> Val {
        Val::Null
    }
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
    Auth,
    RemoteAddress,
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
        } else if c == b'"' {
            let (s, next) = js_string(src, i + 1)?;
            out.push(Tok::Str(s));
            i = next;
        } else if c == b'\'' {
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

/// A double-quoted string from just after its opening quote: JavaScript's escapes (`\n`, `\"`,
/// `\u00e9`; any other escaped character stands for itself), as GenieACS reads these strings.
/// Returns the text and the index just after the closing quote.
fn js_string(src: &str, start: usize) -> Result<(String, usize), ExprError> {
    let mut out = String::new();
    let mut chars = src.get(start..).unwrap_or("").char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Ok((out, start + at + 1)),
            '\\' => {
                let Some((_, e)) = chars.next() else { break };
                match e {
                    'b' => out.push('\u{8}'),
                    'f' => out.push('\u{c}'),
                    'n' => out.push('\n'),
                    'r' => out.push('\r'),
                    't' => out.push('\t'),
                    'u' => {
                        let hex: String = chars.by_ref().take(4).map(|(_, h)| h).collect();
                        let code = u32::from_str_radix(&hex, 16)
                            .ok()
                            .filter(|_| {
                                hex.len() == 4 && hex.bytes().all(|h| h.is_ascii_hexdigit())
                            })
                            .ok_or_else(|| ExprError(format!("bad escape \\u{hex}")))?;
                        // A lone surrogate half has no char: it becomes U+FFFD, as JavaScript
                        // would print it.
                        out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                    }
                    other => out.push(other),
                }
            }
            other => out.push(other),
        }
    }
    Err(ExprError("unterminated string".into()))
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

    /// Leaves `levels` levels taken by [`Parser::deeper`].
    fn shallower(&mut self, levels: usize) {
        self.depth = self.depth.saturating_sub(levels);
    }

    fn or(&mut self) -> Result<Expr, ExprError> {
        self.deeper()?;
        let mut e = self.and()?;
        let mut chain = 1;
        while self.eat_kw("OR") {
            self.deeper()?;
            chain += 1;
            e = Expr::Bin(Bin::Or, Box::new(e), Box::new(self.and()?));
        }
        self.shallower(chain);
        Ok(e)
    }

    fn and(&mut self) -> Result<Expr, ExprError> {
        let mut e = self.not()?;
        let mut chain = 0;
        while self.eat_kw("AND") {
            self.deeper()?;
            chain += 1;
            e = Expr::Bin(Bin::And, Box::new(e), Box::new(self.not()?));
        }
        self.shallower(chain);
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
        let mut chain = 0;
        while self.eat_sym("||") {
            self.deeper()?;
            chain += 1;
            e = Expr::Bin(Bin::Concat, Box::new(e), Box::new(self.sum()?));
        }
        self.shallower(chain);
        Ok(e)
    }

    fn sum(&mut self) -> Result<Expr, ExprError> {
        let mut e = self.product()?;
        let mut chain = 0;
        loop {
            let op = if self.eat_sym("+") {
                Bin::Add
            } else if self.eat_sym("-") {
                Bin::Sub
            } else {
                self.shallower(chain);
                return Ok(e);
            };
            self.deeper()?;
            chain += 1;
            e = Expr::Bin(op, Box::new(e), Box::new(self.product()?));
        }
    }

    fn product(&mut self) -> Result<Expr, ExprError> {
        let mut e = self.unary()?;
        let mut chain = 0;
        loop {
            let op = if self.eat_sym("*") {
                Bin::Mul
            } else if self.eat_sym("/") {
                Bin::Div
            } else if self.eat_sym("%") {
                Bin::Mod
            } else {
                self.shallower(chain);
                return Ok(e);
            };
            self.deeper()?;
            chain += 1;
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
            "AUTH" => Func::Auth,
            "REMOTE_ADDRESS" => Func::RemoteAddress,
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
        let arity = match func {
            Func::Auth => Some(2),
            Func::Now | Func::RemoteAddress => Some(0),
            _ => None,
        };
        if arity.is_some_and(|n| n != args.len()) {
            return Err(ExprError(format!(
                "{} takes {} arguments, not {}",
                upper,
                arity.unwrap_or_default(),
                args.len()
            )));
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

    /// Whether the expression calls `AUTH()` anywhere.
    pub fn calls_auth(&self) -> bool {
        let mut found = false;
        self.visit(&mut |e| found |= matches!(e, Self::Call(Func::Auth, _)));
        found
    }

    /// Whether the expression can only be true when an `AUTH()` call is: it is one, or an `AND`
    /// of which one side is. Such an expression refuses a request without credentials whatever
    /// the device, so the request can be challenged before anything is read.
    pub fn needs_credentials(&self) -> bool {
        match self {
            Self::Call(Func::Auth, _) => true,
            Self::Bin(Bin::And, a, b) => a.needs_credentials() || b.needs_credentials(),
            _ => false,
        }
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
            if matches!(op, Bin::Div | Bin::Mod) && y == 0.0 {
                return Val::Null;
            }
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
        Func::Auth => facts.auth(&arg(0), &arg(1)),
        Func::RemoteAddress => facts.remote_address(),
    }
}

#[cfg(test)]
mod tests;
