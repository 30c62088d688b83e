//! Byte encodings of stored records.
//!
//! Small records (metadata, tasks, faults) are postcard behind a format byte, so a later layout
//! change can be detected and migrated rather than misread. Parameter trees use the hand-rolled
//! chunk layout in [`chunk`] because they dominate disk use; the varint and typed-value helpers it
//! shares live here.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::StoreError;
use crate::model::Value;

pub(crate) mod chunk;

#[cfg(test)]
use crate::model::Param;
#[cfg(test)]
pub(crate) use chunk::{decode_section, encode_section};

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

// Value tags, stored in the low four bits of an entry's head byte. Booleans carry their value
// in the tag so they cost nothing beyond the head.
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
/// Highest valid tag.
const T_MAX: u8 = T_OTHER;

/// The tag of a value.
fn value_tag(value: Option<&Value>) -> u8 {
    match value {
        None => T_NONE,
        Some(Value::String(_)) => T_STRING,
        Some(Value::Int(_)) => T_INT,
        Some(Value::UnsignedInt(_)) => T_UINT,
        Some(Value::Long(_)) => T_LONG,
        Some(Value::UnsignedLong(_)) => T_ULONG,
        Some(Value::Boolean(false)) => T_FALSE,
        Some(Value::Boolean(true)) => T_TRUE,
        Some(Value::DateTime(_)) => T_DATETIME,
        Some(Value::Base64(_)) => T_BASE64,
        Some(Value::HexBinary(_)) => T_HEX,
        Some(Value::Other { .. }) => T_OTHER,
    }
}

/// The bytes that follow a value's tag.
fn put_payload(out: &mut Vec<u8>, value: Option<&Value>) {
    match value {
        None | Some(Value::Boolean(_)) => {}
        Some(Value::String(s) | Value::DateTime(s) | Value::Base64(s) | Value::HexBinary(s)) => {
            put_str(out, s);
        }
        Some(Value::Int(v) | Value::Long(v)) => put_i(out, *v),
        Some(Value::UnsignedInt(v) | Value::UnsignedLong(v)) => put_u(out, *v),
        Some(Value::Other { xsd_type, text }) => {
            put_str(out, xsd_type);
            put_str(out, text);
        }
    }
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

impl<'a> Reader<'a> {
    fn err(&self, why: &str) -> StoreError {
        StoreError::Corrupt(format!("tree chunk: {why} ({} bytes left)", self.buf.len()))
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

    fn bytes(&mut self) -> Result<&'a [u8], StoreError> {
        let n = self.len()?;
        let (s, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(s)
    }

    fn str_ref(&mut self) -> Result<&'a str, StoreError> {
        let bytes = self.bytes()?;
        std::str::from_utf8(bytes).map_err(|_| self.err("invalid UTF-8"))
    }

    fn str(&mut self) -> Result<String, StoreError> {
        self.str_ref().map(str::to_owned)
    }

    /// Skips the payload of a value with this tag, without decoding or allocating.
    fn skip_payload(&mut self, tag: u8) -> Result<(), StoreError> {
        match tag {
            T_NONE | T_FALSE | T_TRUE => {}
            T_INT | T_LONG | T_UINT | T_ULONG => {
                self.u()?;
            }
            T_STRING | T_DATETIME | T_BASE64 | T_HEX => {
                self.bytes()?;
            }
            T_OTHER => {
                self.bytes()?;
                self.bytes()?;
            }
            _ => return Err(self.err("unknown value tag")),
        }
        Ok(())
    }

    /// Decodes the payload of a value with this tag.
    fn value(&mut self, tag: u8) -> Result<Option<Value>, StoreError> {
        Ok(Some(match tag {
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
