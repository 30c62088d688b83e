//! Lexical helpers of the fast scanner: names, text runs and namespace-declaration keys.

use crate::codec::names::same_bytes;

#[inline]
pub(super) fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Byte classes, as a table because names and attribute values are a third of an envelope's
/// bytes: `START` may start a name part, `NAME` only continue one, `STOP` ends a quoted
/// attribute value or makes the scanner give up on it.
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        if b.is_ascii_alphabetic() || b == b'_' {
            t[c] = START | NAME;
        } else if b.is_ascii_digit() || b == b'-' || b == b'.' {
            t[c] = NAME;
        } else if matches!(b, b'"' | b'\'' | b'<' | b'&' | b'\t' | b'\r' | b'\n') {
            t[c] = STOP;
        }
        c += 1;
    }
    t
};
const START: u8 = 1;
const NAME: u8 = 2;
const STOP: u8 = 4;

/// The end of the attribute value starting at `i` and quoted with `q`; `None` at the end of
/// input or where the value needs normalization or unescaping (left to quick-xml).
#[inline]
pub(super) fn scan_value(b: &[u8], mut i: usize, q: u8) -> Option<usize> {
    loop {
        while CLASS[usize::from(*b.get(i)?)] & STOP == 0 {
            i += 1;
        }
        match b[i] {
            c if c == q => return Some(i),
            b'"' | b'\'' => i += 1,
            _ => return None,
        }
    }
}

/// The end of the name at `i` if it is exactly `hint` (an unprefixed name), which is what
/// [`scan_name`] would find, in one comparison instead of a table lookup per byte.
#[inline]
pub(super) fn predicted(b: &[u8], i: usize, hint: &str) -> Option<usize> {
    let end = i + hint.len();
    let next = *b.get(end)?;
    let ends = CLASS[usize::from(next)] & NAME == 0 && next != b':';
    (ends && same_bytes(b.get(i..end)?, hint.as_bytes())).then_some(end)
}

/// [`scan_name`]'s colon position for an unprefixed name.
pub(super) const NO_COLON: usize = usize::MAX;

/// The end of an ASCII (at most once prefixed) XML name starting at `i`, and the offset of its
/// colon from `i` (or [`NO_COLON`]); `None` if there is no name. Narrower than XML allows,
/// which only means more fallbacks.
#[inline]
pub(super) fn scan_name(b: &[u8], start: usize) -> Option<(usize, usize)> {
    let first = |c: u8| CLASS[usize::from(c)] & START != 0;
    let more = |c: u8| CLASS[usize::from(c)] & NAME != 0;
    let mut colon = NO_COLON;
    let mut i = start;
    loop {
        if !first(*b.get(i)?) {
            return None;
        }
        i += 1;
        while b.get(i).is_some_and(|&c| more(c)) {
            i += 1;
        }
        if colon != NO_COLON || b.get(i) != Some(&b':') {
            return Some((i, colon));
        }
        colon = i - start;
        i += 1;
    }
}

/// The index of the first `<`, `&` or `\r` at or after `i` (or `b.len()`). Text is most of an
/// envelope's bytes, so this looks at eight bytes per step; within a word only the lowest flag
/// is exact, which is the one taken.
#[inline]
pub(super) fn find_special(b: &[u8], mut i: usize) -> usize {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let zero = |x: u64| x.wrapping_sub(LO) & !x & HI;
    while let Some(chunk) = b.get(i..i + 8) {
        let x = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        let hits = zero(x ^ (LO * u64::from(b'<')))
            | zero(x ^ (LO * u64::from(b'&')))
            | zero(x ^ (LO * u64::from(b'\r')));
        if hits != 0 {
            return i + (hits.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while b.get(i).is_some_and(|&c| !matches!(c, b'<' | b'&' | b'\r')) {
        i += 1;
    }
    i
}

/// Splits a qualified name into prefix and local name at the first colon (`colon` as returned
/// by [`scan_name`]), as quick-xml does.
#[inline]
pub(super) fn split(qname: &str, colon: usize) -> (Option<&str>, &str) {
    match colon {
        NO_COLON => (None, qname),
        c => (Some(&qname[..c]), &qname[c + 1..]),
    }
}

/// The prefix an attribute key declares (`""` for the default namespace), if it is one.
#[inline]
pub(super) fn declared(key: &str) -> Option<&str> {
    match key.strip_prefix("xmlns")? {
        "" => Some(""),
        rest => rest.strip_prefix(':'),
    }
}

/// Prefixes starting with `xml` are reserved; their special cases are left to quick-xml.
#[inline]
pub(super) fn reserved(prefix: &str) -> bool {
    prefix.len() >= 3 && prefix.as_bytes()[..3].eq_ignore_ascii_case(b"xml")
}

/// `\r\n` and lone `\r` become `\n` (XML 1.0 end-of-line handling), as in quick-xml.
pub(super) fn normalize_eols(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('\r') {
        out.push_str(&rest[..i]);
        out.push('\n');
        rest = &rest[i + 1..];
        rest = rest.strip_prefix('\n').unwrap_or(rest);
    }
    out.push_str(rest);
    out
}
