//! Byte encodings of stored records.
//!
//! Small records (metadata, tasks, faults) are postcard behind a format byte, so a later layout
//! change can be detected and migrated rather than misread. Tree sections use a hand-rolled
//! layout because they dominate disk use: paths are interned per data model (a varint id instead
//! of a 40-byte string), ids are delta-coded, timestamps are deduplicated into a small table per
//! section, and numbers and booleans are varints and tag bytes rather than text.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::StoreError;
use crate::model::{Param, Value};

/// Version byte in front of every record; bump when a layout changes.
const FORMAT: u8 = 1;

/// Encodes a small record as `FORMAT` + postcard.
pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    postcard::to_extend(value, vec![FORMAT]).map_err(|e| StoreError::Encode(e.to_string()))
}

/// Decodes a record written by [`encode`]; `what` names it in the error.
pub(crate) fn decode<T: DeserializeOwned>(
    bytes: &[u8],
    what: &dyn Fn() -> String,
) -> Result<T, StoreError> {
    let corrupt = |why: &str| StoreError::Corrupt(format!("{}: {why}", what()));
    let Some((&FORMAT, body)) = bytes.split_first() else {
        return Err(corrupt("unknown format byte"));
    };
    match postcard::take_from_bytes(body) {
        Ok((value, [])) => Ok(value),
        Ok(_) => Err(corrupt("trailing bytes")),
        Err(e) => Err(corrupt(&e.to_string())),
    }
}

const F_OBJECT: u64 = 1;
const F_WRITABLE_KNOWN: u64 = 2;
const F_WRITABLE: u64 = 4;
const FLAG_BITS: u32 = 3;

/// Encodes one tree section. `entries` are `(interned path id, node)`; `model` names the
/// dictionary the ids belong to, stored in the section so it stays decodable even if the
/// device's model changes later.
pub(crate) fn encode_section(model: &str, mut entries: Vec<(u32, &Param)>) -> Vec<u8> {
    // Sorting by id makes every delta positive and, since ids are handed out in the order paths
    // are first seen, usually 1: one byte per path.
    entries.sort_by_key(|(id, _)| *id);
    let mut stamps: Vec<i64> = entries.iter().map(|(_, p)| p.timestamp_ms).collect();
    stamps.sort_unstable();
    stamps.dedup();

    let mut out = vec![FORMAT];
    put_str(&mut out, model);
    put_u(&mut out, stamps.len() as u64);
    let mut prev = 0i64;
    for &t in &stamps {
        put_i(&mut out, t.wrapping_sub(prev));
        prev = t;
    }
    put_u(&mut out, entries.len() as u64);
    let mut prev_id = 0u64;
    for (id, p) in entries {
        put_u(&mut out, u64::from(id) - prev_id);
        prev_id = u64::from(id);
        let ts_idx = stamps.binary_search(&p.timestamp_ms).unwrap_or_default() as u64;
        let mut flags = if p.object { F_OBJECT } else { 0 };
        if let Some(w) = p.writable {
            flags |= F_WRITABLE_KNOWN | if w { F_WRITABLE } else { 0 };
        }
        put_u(&mut out, ts_idx << FLAG_BITS | flags);
        put_value(&mut out, p.value.as_ref());
    }
    out
}

/// Decodes a section into its model name and `(path id, node)` pairs. Never panics on bad input.
pub(crate) fn decode_section(bytes: &[u8]) -> Result<(String, Vec<(u32, Param)>), StoreError> {
    let mut r = Reader { buf: bytes };
    if r.byte()? != FORMAT {
        return Err(r.err("unknown format byte"));
    }
    let model = r.str()?;
    let n_stamps = r.len()?;
    let mut stamps = Vec::with_capacity(n_stamps);
    let mut prev = 0i64;
    for _ in 0..n_stamps {
        prev = prev.wrapping_add(r.i()?);
        stamps.push(prev);
    }
    let n = r.len()?;
    let mut entries = Vec::with_capacity(n);
    let mut id = 0u64;
    for _ in 0..n {
        id = id
            .checked_add(r.u()?)
            .ok_or_else(|| r.err("path id overflow"))?;
        let path_id = u32::try_from(id).map_err(|_| r.err("path id overflow"))?;
        let head = r.u()?;
        let timestamp_ms = *usize::try_from(head >> FLAG_BITS)
            .ok()
            .and_then(|i| stamps.get(i))
            .ok_or_else(|| r.err("timestamp index out of range"))?;
        let writable = (head & F_WRITABLE_KNOWN != 0).then_some(head & F_WRITABLE != 0);
        let value = r.value()?;
        entries.push((
            path_id,
            Param {
                object: head & F_OBJECT != 0,
                writable,
                value,
                timestamp_ms,
            },
        ));
    }
    if !r.buf.is_empty() {
        return Err(r.err("trailing bytes"));
    }
    Ok((model, entries))
}

// Value tags. Booleans carry their value in the tag so they cost one byte in total.
const T_NONE: u8 = 0;
const T_STRING: u8 = 1;
const T_INT: u8 = 2;
const T_UINT: u8 = 3;
const T_LONG: u8 = 4;
const T_ULONG: u8 = 5;
const T_FALSE: u8 = 6;
const T_TRUE: u8 = 7;
const T_DATETIME: u8 = 8;
const T_BASE64: u8 = 9;
const T_HEX: u8 = 10;
const T_OTHER: u8 = 11;

fn put_value(out: &mut Vec<u8>, value: Option<&Value>) {
    let Some(value) = value else {
        out.push(T_NONE);
        return;
    };
    match value {
        Value::String(s) => tagged_str(out, T_STRING, s),
        Value::DateTime(s) => tagged_str(out, T_DATETIME, s),
        Value::Base64(s) => tagged_str(out, T_BASE64, s),
        Value::HexBinary(s) => tagged_str(out, T_HEX, s),
        Value::Int(v) => tagged_i(out, T_INT, *v),
        Value::Long(v) => tagged_i(out, T_LONG, *v),
        Value::UnsignedInt(v) => {
            out.push(T_UINT);
            put_u(out, *v);
        }
        Value::UnsignedLong(v) => {
            out.push(T_ULONG);
            put_u(out, *v);
        }
        Value::Boolean(b) => out.push(if *b { T_TRUE } else { T_FALSE }),
        Value::Other { xsd_type, text } => {
            tagged_str(out, T_OTHER, xsd_type);
            put_str(out, text);
        }
    }
}

fn tagged_str(out: &mut Vec<u8>, tag: u8, s: &str) {
    out.push(tag);
    put_str(out, s);
}

fn tagged_i(out: &mut Vec<u8>, tag: u8, v: i64) {
    out.push(tag);
    put_i(out, v);
}

fn put_u(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_i(out: &mut Vec<u8>, v: i64) {
    put_u(out, ((v << 1) ^ (v >> 63)) as u64);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_u(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// A bounds-checked cursor: every read returns `Corrupt` instead of panicking.
struct Reader<'a> {
    buf: &'a [u8],
}

impl Reader<'_> {
    fn err(&self, why: &str) -> StoreError {
        StoreError::Corrupt(format!(
            "tree section: {why} ({} bytes left)",
            self.buf.len()
        ))
    }

    fn byte(&mut self) -> Result<u8, StoreError> {
        let (&b, rest) = self
            .buf
            .split_first()
            .ok_or_else(|| self.err("truncated"))?;
        self.buf = rest;
        Ok(b)
    }

    fn u(&mut self) -> Result<u64, StoreError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7F) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(self.err("varint too long"))
    }

    fn i(&mut self) -> Result<i64, StoreError> {
        let u = self.u()?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    /// A count that must be plausible for the bytes left, so a corrupt length cannot make us
    /// allocate gigabytes before failing.
    fn len(&mut self) -> Result<usize, StoreError> {
        let n = self.u()?;
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= self.buf.len())
            .ok_or_else(|| self.err("bad length"))
    }

    fn str(&mut self) -> Result<String, StoreError> {
        let n = self.len()?;
        let (s, rest) = self.buf.split_at(n);
        let s = String::from_utf8(s.to_vec()).map_err(|_| self.err("invalid UTF-8"))?;
        self.buf = rest;
        Ok(s)
    }

    fn value(&mut self) -> Result<Option<Value>, StoreError> {
        Ok(Some(match self.byte()? {
            T_NONE => return Ok(None),
            T_STRING => Value::String(self.str()?),
            T_DATETIME => Value::DateTime(self.str()?),
            T_BASE64 => Value::Base64(self.str()?),
            T_HEX => Value::HexBinary(self.str()?),
            T_INT => Value::Int(self.i()?),
            T_LONG => Value::Long(self.i()?),
            T_UINT => Value::UnsignedInt(self.u()?),
            T_ULONG => Value::UnsignedLong(self.u()?),
            T_FALSE => Value::Boolean(false),
            T_TRUE => Value::Boolean(true),
            T_OTHER => Value::Other {
                xsd_type: self.str()?,
                text: self.str()?,
            },
            _ => return Err(self.err("unknown value tag")),
        }))
    }
}

#[cfg(test)]
mod tests;
