//! Mutations of valid inputs: byte-level damage (bit flips, inserts, deletes, truncation,
//! splicing) and format-aware attacks (deep nesting, huge tokens, invalid UTF-8, XML entity
//! tricks, duplicated keys, wrong JSON types). Every mutation is a pure function of the seed
//! stream, so a failing input can be regenerated from the seed.

use crate::rng::Rng;

/// How an input is structured, for the format-aware mutations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// SOAP/XML (CWMP envelopes).
    Xml,
    /// JSON (task bodies, Kuma payloads, modem answers, NBI queries).
    Json,
    /// BER (SNMP datagrams).
    Ber,
    /// JavaScript-ish or HTML text (the modem's pages).
    Text,
}

/// Nesting depth of the deep-nesting attack (the issue asks for 10^5).
pub(crate) const DEEP: usize = 100_000;
/// Length of a huge token.
const HUGE: usize = 200_000;

/// The kinds of mutation, for counting which ones an input went through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Op {
    /// Flip 1–8 random bits.
    BitFlip,
    /// Insert 1–64 random bytes.
    Insert,
    /// Delete a random range.
    Delete,
    /// Cut the input short.
    Truncate,
    /// Splice the head of this input onto the tail of another.
    Splice,
    /// 10^5 nested elements, arrays or BER sequences.
    DeepNest,
    /// A 200 kB number, string or attribute value.
    HugeToken,
    /// Bytes that are not UTF-8.
    InvalidUtf8,
    /// XML external entities and billion laughs.
    Entities,
    /// A key or element repeated.
    DuplicateKey,
    /// A value of another JSON type.
    WrongType,
}

/// Every op, in a fixed order (the index is the op's counter slot).
pub(crate) const OPS: [Op; 11] = [
    Op::BitFlip,
    Op::Insert,
    Op::Delete,
    Op::Truncate,
    Op::Splice,
    Op::DeepNest,
    Op::HugeToken,
    Op::InvalidUtf8,
    Op::Entities,
    Op::DuplicateKey,
    Op::WrongType,
];

/// Picks an op: the cheap byte-level ones are common; the expensive, large ones (deep nesting,
/// huge tokens) rare, so a million inputs stay within minutes while each attack still runs
/// thousands of times.
fn choose(rng: &mut Rng, format: Format) -> Op {
    let r = rng.below(1000);
    let op = match r {
        0..=199 => Op::BitFlip,
        200..=329 => Op::Insert,
        330..=459 => Op::Delete,
        460..=559 => Op::Truncate,
        560..=659 => Op::Splice,
        660..=674 => Op::DeepNest,
        675..=689 => Op::HugeToken,
        690..=779 => Op::InvalidUtf8,
        780..=839 => Op::Entities,
        840..=919 => Op::DuplicateKey,
        _ => Op::WrongType,
    };
    match (op, format) {
        (Op::Entities, f) if f != Format::Xml => Op::BitFlip,
        (Op::WrongType, Format::Ber) => Op::Delete,
        _ => op,
    }
}

/// Mutates `seed` (with `other` for splicing) by one to three ops; returns the input and the
/// ops applied.
pub(crate) fn mutate(
    rng: &mut Rng,
    format: Format,
    seed: &[u8],
    other: &[u8],
) -> (Vec<u8>, Vec<Op>) {
    let mut out = seed.to_vec();
    let n = 1 + rng.below(3);
    let mut ops = Vec::with_capacity(n);
    for _ in 0..n {
        let op = choose(rng, format);
        apply(rng, format, op, &mut out, other);
        ops.push(op);
    }
    (out, ops)
}

fn apply(rng: &mut Rng, format: Format, op: Op, out: &mut Vec<u8>, other: &[u8]) {
    let at = rng.below(out.len() + 1);
    match op {
        Op::BitFlip => {
            for _ in 0..1 + rng.below(8) {
                if !out.is_empty() {
                    let i = rng.below(out.len());
                    out[i] ^= 1 << rng.below(8);
                }
            }
        }
        Op::Insert => {
            let bytes: Vec<u8> = (0..1 + rng.below(64))
                .map(|_| match rng.below(3) {
                    0 => *rng.pick(b"<>&\"'{}[]:,=;/\\\0\r\n"),
                    _ => rng.next_u64() as u8,
                })
                .collect();
            out.splice(at..at, bytes);
        }
        Op::Delete => {
            let end = (at + 1 + rng.below(64)).min(out.len());
            if at < end {
                out.drain(at..end);
            }
        }
        Op::Truncate => out.truncate(at),
        Op::Splice => {
            let cut = rng.below(other.len() + 1);
            out.truncate(at);
            out.extend_from_slice(&other[cut..]);
        }
        Op::DeepNest => deep(format, at, out),
        Op::HugeToken => huge(rng, format, at, out),
        Op::InvalidUtf8 => {
            let bad: &[&[u8]] = &[
                b"\xff",
                b"\xc0\x80",
                b"\xed\xa0\x80",
                b"\xf8\x88\x80\x80\x80",
                b"\xe2\x82",
            ];
            let b = rng.pick(bad).to_vec();
            out.splice(at..at, b);
        }
        Op::Entities => entities(rng, out),
        Op::DuplicateKey => duplicate(rng, format, out),
        Op::WrongType => wrong_type(rng, out),
    }
}

fn deep(format: Format, at: usize, out: &mut Vec<u8>) {
    let (open, close): (&[u8], &[u8]) = match format {
        Format::Xml => (b"<a>", b"</a>"),
        Format::Json | Format::Text => (b"[", b"]"),
        // A definite-length SEQUENCE header claiming a 4-byte length, repeated.
        Format::Ber => (b"\x30\x84\x00\x0f\xff\xff", b""),
    };
    let mut nest = Vec::with_capacity(DEEP * (open.len() + close.len()));
    for _ in 0..DEEP {
        nest.extend_from_slice(open);
    }
    for _ in 0..DEEP {
        nest.extend_from_slice(close);
    }
    out.splice(at..at, nest);
}

fn huge(rng: &mut Rng, format: Format, at: usize, out: &mut Vec<u8>) {
    let token: Vec<u8> = match (format, rng.below(3)) {
        (_, 0) => std::iter::repeat_n(b'9', HUGE).collect(),
        (Format::Xml, 1) => {
            let mut t = b"<x a=\"".to_vec();
            t.extend(std::iter::repeat_n(b'A', HUGE));
            t.extend_from_slice(b"\"/>");
            t
        }
        (Format::Ber, _) => {
            // An OCTET STRING header announcing 200 kB, then the bytes.
            let mut t = vec![0x04, 0x83];
            t.extend_from_slice(&(HUGE as u32).to_be_bytes()[1..]);
            t.extend(std::iter::repeat_n(b'A', HUGE));
            t
        }
        _ => {
            let mut t = b"\"".to_vec();
            t.extend(std::iter::repeat_n(b'x', HUGE));
            t.push(b'"');
            t
        }
    };
    out.splice(at..at, token);
}

const LAUGHS: &[u8] = b"<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">\
<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\
<!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\
<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">]>";
const XXE: &[u8] =
    b"<?xml version=\"1.0\"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>";

fn entities(rng: &mut Rng, out: &mut Vec<u8>) {
    let (decl, use_) = if rng.chance(1, 2) {
        (LAUGHS, &b"&lol3;"[..])
    } else {
        (XXE, &b"&xxe;"[..])
    };
    // Put the reference where text would be: after the first '>' of a value element.
    if let Some(i) = find(out, b"</Value>").or_else(|| find(out, b"</")) {
        out.splice(i..i, use_.iter().copied());
    }
    let start = if out.starts_with(b"<?xml") {
        find(out, b"?>").map_or(0, |i| i + 2)
    } else {
        0
    };
    let decl = if start > 0 {
        &decl[find(decl, b"?>").map_or(0, |i| i + 2)..]
    } else {
        decl
    };
    out.splice(start..start, decl.iter().copied());
}

fn duplicate(rng: &mut Rng, format: Format, out: &mut Vec<u8>) {
    match format {
        Format::Json | Format::Text => {
            // Repeat the first key-value pair of the first object right after its brace.
            if let Some(open) = out.iter().position(|&b| b == b'{') {
                let end = out[open..]
                    .iter()
                    .position(|&b| b == b',' || b == b'}')
                    .map_or(out.len(), |e| open + e);
                let mut pair = out[open + 1..end].to_vec();
                if !pair.is_empty() {
                    pair.push(b',');
                    out.splice(open + 1..open + 1, pair);
                }
            }
        }
        Format::Xml => {
            // Repeat one element (from a '<' that is not a closing tag to the next "</…>").
            let starts: Vec<usize> = (0..out.len().saturating_sub(1))
                .filter(|&i| out[i] == b'<' && out[i + 1].is_ascii_alphabetic())
                .collect();
            if starts.is_empty() {
                return;
            }
            let s = *rng.pick(&starts);
            if let Some(c) = find(&out[s..], b"</")
                && let Some(e) = out[s + c..].iter().position(|&b| b == b'>')
            {
                let elem = out[s..s + c + e + 1].to_vec();
                out.splice(s..s, elem);
            }
        }
        Format::Ber => {
            // Repeat a random tail: a varbind repeated or a length now wrong.
            let from = rng.below(out.len() + 1);
            let tail = out[from..].to_vec();
            out.extend_from_slice(&tail);
        }
    }
}

fn wrong_type(rng: &mut Rng, out: &mut Vec<u8>) {
    // Replace the value after a random ':' with another type.
    let colons: Vec<usize> = (0..out.len()).filter(|&i| out[i] == b':').collect();
    if colons.is_empty() {
        return;
    }
    let c = *rng.pick(&colons) + 1;
    let end = out[c..]
        .iter()
        .position(|&b| b == b',' || b == b'}')
        .map_or(out.len(), |e| c + e);
    const TYPES: &[&[u8]] = &[
        b"null",
        b"true",
        b"-1e999",
        b"18446744073709551616",
        b"[]",
        b"{}",
        b"\"\"",
        b"[[[]]]",
        b"{\"$ne\":null}",
        b"\"\\ud800\"",
    ];
    let replacement = *rng.pick(TYPES);
    out.splice(c..end, replacement.iter().copied());
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutation_is_deterministic_and_the_big_attacks_are_big() {
        let seed = br#"{"name":"getParameterValues","parameterNames":["A.B"]}"#;
        let run = |s: u64| {
            let mut rng = Rng::new(s);
            (0..200)
                .map(|_| mutate(&mut rng, Format::Json, seed, b"[1,2]").0)
                .collect::<Vec<_>>()
        };
        assert_eq!(run(3), run(3));
        let mut out = seed.to_vec();
        deep(Format::Xml, 0, &mut out);
        assert!(out.starts_with(b"<a><a>") && out.len() > 7 * DEEP);
        let mut out = b"<A><Value>x</Value></A>".to_vec();
        entities(&mut Rng::new(1), &mut out);
        assert!(find(&out, b"<!DOCTYPE").is_some() && find(&out, b"&").is_some());
        let mut out = seed.to_vec();
        duplicate(&mut Rng::new(1), Format::Json, &mut out);
        assert!(out.starts_with(br#"{"name":"getParameterValues","name""#));
    }
}
