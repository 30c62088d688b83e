//! A syntax check of provision and virtual-parameter scripts, so that `PUT /provisions/<name>`
//! refuses broken JavaScript with `400 SyntaxError: …` as GenieACS does (it compiles the script
//! with Node's `vm`).
//!
//! This is not a JavaScript parser: it tokenizes the whole script (comments, strings, template
//! literals with nested `${}`, regular-expression literals, numbers, names, punctuators) and
//! checks what a token stream alone can tell — brackets that balance and nest, and operators
//! followed by an operand — which catches the mistakes people make while editing a provision
//! (`let x = ;`, an unclosed call, an unterminated string). Running scripts, and so parsing them
//! fully, belongs to the script engine. Messages follow V8's wording where they overlap
//! (`Unexpected token ';'`, `Unexpected end of input`, `Invalid or unexpected token`).

/// Longest script checked (the NBI refuses larger bodies before this).
pub const MAX_SCRIPT_BYTES: usize = 1 << 20;
/// Deepest bracket nesting accepted.
pub const MAX_NESTING: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A name, number, string, template or regular expression: something with a value.
    Operand,
    /// A keyword after which an expression must follow (`return` excepted: it may stand alone).
    Keyword,
    /// `( [ {`.
    Open(u8),
    /// `) ] }`.
    Close(u8),
    /// An operator that needs an operand after it (`=`, `+`, `&&`, `,`, …).
    Binary,
    /// `;`.
    Semi,
    /// Postfix `++`/`--`, `?.`, `.`, `=>`, `...` and other tokens the check does not judge.
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Tok {
    kind: Kind,
    text: String,
}

/// Checks a script's syntax; the error is the text after `SyntaxError: `.
pub fn check(src: &str) -> Result<(), String> {
    if src.len() > MAX_SCRIPT_BYTES {
        return Err(format!("script longer than {MAX_SCRIPT_BYTES} bytes"));
    }
    let toks = tokenize(src)?;
    let mut stack: Vec<u8> = Vec::new();
    let mut prev: Option<&Tok> = None;
    for t in &toks {
        if let Some(p) = prev {
            let needs_operand = matches!(p.kind, Kind::Binary | Kind::Keyword)
                || matches!(p.kind, Kind::Open(b'(' | b'['));
            let cannot_start = matches!(t.kind, Kind::Semi | Kind::Close(_))
                || (t.kind == Kind::Binary && !is_prefix(&t.text));
            // `()` (arguments or an arrow's parameters) and `[]` are fine; a keyword such as
            // `else` or `try` is followed by a block.
            let empty_pair =
                matches!((p.kind, t.kind), (Kind::Open(a), Kind::Close(b)) if pair(a) == b);
            let optional_after = p.kind == Kind::Keyword && !expects_expression(&p.text);
            if needs_operand && cannot_start && !empty_pair && !optional_after {
                // `,` in an array literal may be followed by another `,` (holes) or `]`.
                let hole = p.text == ","
                    && matches!(stack.last(), Some(b'['))
                    && (t.text == "," || t.text == "]");
                let trailing = p.text == "," && matches!(t.kind, Kind::Close(_));
                if !hole && !trailing {
                    return Err(format!("Unexpected token '{}'", t.text));
                }
            }
        }
        match t.kind {
            Kind::Open(c) => {
                stack.push(c);
                if stack.len() > MAX_NESTING {
                    return Err(format!("brackets nested deeper than {MAX_NESTING}"));
                }
            }
            Kind::Close(c) => match stack.pop() {
                Some(open) if pair(open) == c => {}
                _ => return Err(format!("Unexpected token '{}'", t.text)),
            },
            _ => {}
        }
        prev = Some(t);
    }
    if !stack.is_empty()
        || prev.is_some_and(|p| {
            p.kind == Kind::Binary || p.kind == Kind::Keyword && expects_expression(&p.text)
        })
    {
        return Err("Unexpected end of input".into());
    }
    Ok(())
}

fn pair(open: u8) -> u8 {
    match open {
        b'(' => b')',
        b'[' => b']',
        b'$' => b'$',
        _ => b'}',
    }
}

/// Operators that may also start an expression.
fn is_prefix(op: &str) -> bool {
    matches!(op, "+" | "-" | "!" | "~" | "++" | "--")
}

/// Keywords that must be followed by an expression.
fn expects_expression(kw: &str) -> bool {
    matches!(
        kw,
        "typeof" | "void" | "delete" | "new" | "throw" | "in" | "instanceof" | "case"
    )
}

const KEYWORDS: [&str; 10] = [
    "typeof",
    "void",
    "delete",
    "new",
    "throw",
    "in",
    "instanceof",
    "case",
    "else",
    "do",
];

/// Whether a `/` after this token starts a regular expression rather than a division.
fn regex_allowed(prev: Option<&Tok>) -> bool {
    match prev {
        None => true,
        Some(t) => match t.kind {
            Kind::Operand | Kind::Close(_) => false,
            Kind::Other => !matches!(t.text.as_str(), "++" | "--"),
            _ => true,
        },
    }
}

fn tokenize(src: &str) -> Result<Vec<Tok>, String> {
    let b = src.as_bytes();
    let mut out: Vec<Tok> = Vec::new();
    let mut i = 0;
    // Brackets open now, counting a template's `${`; and the depths at which each open `${`
    // began, so that the `}` closing it resumes the template's text.
    let mut depth = 0usize;
    let mut templates: Vec<usize> = Vec::new();
    let bad = || "Invalid or unexpected token".to_owned();
    let tok = |kind, text: &str| Tok {
        kind,
        text: text.to_owned(),
    };
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if b[i..].starts_with(b"//") {
            i = b[i..]
                .iter()
                .position(|&x| x == b'\n')
                .map_or(b.len(), |n| i + n);
            continue;
        }
        if b[i..].starts_with(b"/*") {
            let end = src[i + 2..].find("*/").ok_or_else(bad)?;
            i += end + 4;
            continue;
        }
        let resumes = c == b'}' && templates.last() == Some(&depth);
        if c == b'`' || resumes {
            if resumes {
                templates.pop();
                depth -= 1;
                out.push(tok(Kind::Close(b'$'), "}"));
            }
            let (end, opened) = skip_template(b, i + 1).ok_or_else(bad)?;
            i = end;
            if opened {
                depth += 1;
                templates.push(depth);
                out.push(tok(Kind::Open(b'$'), "${"));
            } else if !resumes {
                out.push(tok(Kind::Operand, "`"));
            }
            continue;
        }
        let start = i;
        let kind = if c == b'"' || c == b'\'' {
            i = skip_string(b, i, c).ok_or_else(bad)?;
            Kind::Operand
        } else if c == b'/' && regex_allowed(out.last()) {
            i = skip_regex(b, i).ok_or_else(bad)?;
            Kind::Operand
        } else if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.' || b[i] == b'_') {
                i += 1;
            }
            Kind::Operand
        } else if c.is_ascii_alphabetic() || c == b'_' || c == b'$' || c >= 0x80 {
            while i < b.len()
                && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'_' | b'$') || b[i] >= 0x80)
            {
                i += 1;
            }
            if KEYWORDS.contains(&&src[start..i]) {
                Kind::Keyword
            } else {
                Kind::Operand
            }
        } else if let Some(p) = punctuator(&src[i..]) {
            i += p.len();
            match p {
                "(" | "[" | "{" => {
                    depth += 1;
                    Kind::Open(p.as_bytes()[0])
                }
                ")" | "]" | "}" => {
                    depth = depth.saturating_sub(1);
                    Kind::Close(p.as_bytes()[0])
                }
                ";" => Kind::Semi,
                "." | "?." | "=>" | "..." | "++" | "--" | ":" | "?" => Kind::Other,
                _ => Kind::Binary,
            }
        } else {
            return Err(bad());
        };
        out.push(tok(kind, &src[start..i]));
    }
    Ok(out)
}

fn punctuator(s: &str) -> Option<&'static str> {
    const P: [&str; 51] = [
        ">>>=", "...", "===", "!==", "**=", "<<=", ">>=", ">>>", "&&=", "||=", "??=", "=>", "==",
        "!=", "<=", ">=", "&&", "||", "??", "?.", "++", "--", "+=", "-=", "*=", "/=", "%=", "&=",
        "|=", "^=", "**", "<<", ">>", "{", "}", "(", ")", "[", "]", ";", ",", "<", ">", "+", "-",
        "*", "/", "%", "&", "|", "^",
    ];
    const Q: [&str; 6] = ["!", "~", "?", ":", "=", "."];
    P.iter()
        .chain(Q.iter())
        .find(|p| s.starts_with(**p))
        .copied()
}

/// The index after a quoted string starting at `i`.
fn skip_string(b: &[u8], mut i: usize, quote: u8) -> Option<usize> {
    i += 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'\n' => return None,
            c if c == quote => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// Scans template text from `i`; returns where it stopped and whether a `${` opened there.
fn skip_template(b: &[u8], mut i: usize) -> Option<(usize, bool)> {
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'`' => return Some((i + 1, false)),
            b'$' if b.get(i + 1) == Some(&b'{') => return Some((i + 2, true)),
            _ => i += 1,
        }
    }
    None
}

/// The index after a regular-expression literal starting at `i` (with its flags).
fn skip_regex(b: &[u8], mut i: usize) -> Option<usize> {
    i += 1;
    let mut class = false;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'\n' => return None,
            b'[' => class = true,
            b']' => class = false,
            b'/' if !class => {
                i += 1;
                while i < b.len() && b[i].is_ascii_alphabetic() {
                    i += 1;
                }
                return Some(i);
            }
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_provisions_pass() {
        for ok in [
            "",
            "// nothing\n/* at all */",
            r#"const now = Date.now();
declare("Device.ManagementServer.PeriodicInformInterval", {value: now}, {value: 300});
let ssid = declare("Device.WiFi.SSID.*.SSID", {value: 1});
for (let s of ssid) { if (s.value[0] !== `G-${args[0] || "x"}`) log("odd " + s.path); }
const re = /^v\d+\.\d+$/i, half = 10 / 2;
if (re.test(declare("Device.DeviceInfo.SoftwareVersion", {value: 1}).value[0])) { commit(); }
else { throw new Error('bad'); }
let a = [1, , 3,]; let f = (x, y) => ({x, y}); x++; --y; obj?.p; [...a];
switch (x) { case 1: break; default: }"#,
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn broken_provisions_fail_with_v8_words() {
        assert_eq!(check("let x = ;"), Err("Unexpected token ';'".into()));
        assert_eq!(
            check("declare(\"A\", {value: 1}"),
            Err("Unexpected end of input".into())
        );
        assert_eq!(check("f(1, 2));"), Err("Unexpected token ')'".into()));
        assert_eq!(check("x = [1, 2};"), Err("Unexpected token '}'".into()));
        assert_eq!(
            check("let s = 'open;"),
            Err("Invalid or unexpected token".into())
        );
        assert_eq!(check("a = b *;"), Err("Unexpected token ';'".into()));
        assert_eq!(check("a = `x${1"), Err("Unexpected end of input".into()));
        assert_eq!(check("a = `x"), Err("Invalid or unexpected token".into()));
        assert_eq!(check("a = 1 +"), Err("Unexpected end of input".into()));
        assert_eq!(check("a = #"), Err("Invalid or unexpected token".into()));
        assert!(check(&"(".repeat(MAX_NESTING + 1)).is_err());
    }

    proptest::proptest! {
        #[test]
        fn any_text_is_checked_without_panicking(src in "\\PC{0,120}") {
            let _ = check(&src);
        }

        #[test]
        fn a_valid_script_cut_anywhere_never_panics(cut in 0usize..200) {
            let s = "declare(`A.${x}`, {value: /a\\/b/g.test(y) ? 1 : 2}); // done\n let z = [1, {a: '}'}];";
            let at = cut.min(s.len());
            if s.is_char_boundary(at) {
                let _ = check(&s[..at]);
            }
        }
    }
}
