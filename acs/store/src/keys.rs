//! Order-preserving composite keys over one flat byte keyspace.
//!
//! Every backend stores plain `bytes -> bytes`; the domain layout (one keyspace per record kind,
//! composite keys such as `(device, first path id)`) is encoded here once, so redb and sled hold exactly
//! the same keys and the engine code above them is shared. A key is a one-byte keyspace tag
//! followed by components: strings are escaped (`00` becomes `00 01`) and terminated by `00 00`,
//! which keeps byte order equal to component order and makes no encoded string a prefix of
//! another; integers are big-endian.

use crate::StoreError;
use crate::model::DeviceId;

/// Device metadata: `(device) -> MetaRecord`.
pub(crate) const META: u8 = 1;
/// Parameter-tree chunks: `(device, first path id u32) -> chunk bytes` (`codec::chunk`).
pub(crate) const TREE: u8 = 2;
/// Path dictionary: `(model, path id u32) -> path`. The path-to-id direction exists only in
/// memory, rebuilt from these entries, so each path is stored once per model. (4 held that
/// direction on disk in an earlier layout.)
pub(crate) const DICT: u8 = 3;
/// Named counters: `(name) -> u64`.
pub(crate) const COUNTER: u8 = 5;
/// Tasks: `(task id) -> TaskRecord`.
pub(crate) const TASK: u8 = 6;
/// Task-by-device index: `(device, task id) -> ()`.
pub(crate) const TASK_BY_DEVICE: u8 = 7;
/// Faults: `(device, channel) -> FaultRecord`.
pub(crate) const FAULT: u8 = 8;
/// Secondary indexes: `(index kind, key, device) -> ()`.
pub(crate) const INDEX: u8 = 9;
/// Last-inform times written by [`crate::Op::NoteInform`]: `(device) -> i64`. Kept apart from
/// `META` so that the commonest write touches a few densely packed pages, not the metadata's.
pub(crate) const INFORMED: u8 = 10;
/// Configuration documents: `(collection, name) -> bytes` (presets, provisions, files' metadata).
pub(crate) const DOC: u8 = 11;
/// The last-inform index's record of a device: `(device) -> (metadata's last-inform ms i64,
/// hour filed under u64)`, so that a noted Inform reads one small record, not the metadata.
pub(crate) const INFORM_HOUR: u8 = 12;

/// Builds a key component by component.
#[derive(Debug, Clone)]
pub(crate) struct Key(Vec<u8>);

impl Key {
    /// Starts a key in the given keyspace.
    pub(crate) fn new(space: u8) -> Self {
        Self(vec![space])
    }

    /// Appends a terminated string component.
    pub(crate) fn str(mut self, s: &str) -> Self {
        self.push_escaped(s);
        self.0.extend_from_slice(&[0, 0]);
        self
    }

    /// Appends a device id component.
    pub(crate) fn dev(self, id: &DeviceId) -> Self {
        self.str(id.as_str())
    }

    /// Appends a big-endian u64.
    pub(crate) fn u64(mut self, n: u64) -> Self {
        self.0.extend_from_slice(&n.to_be_bytes());
        self
    }

    /// Appends a big-endian u32.
    pub(crate) fn u32(mut self, n: u32) -> Self {
        self.0.extend_from_slice(&n.to_be_bytes());
        self
    }

    /// Appends a single byte.
    pub(crate) fn byte(mut self, b: u8) -> Self {
        self.0.push(b);
        self
    }

    /// The encoded key.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// The smallest key greater than every key that starts with this one: the exclusive end of a
    /// prefix range. Keys always start with a keyspace tag below `0xFF`, so it always exists.
    pub(crate) fn prefix_end(&self) -> Vec<u8> {
        let mut end = self.0.clone();
        while let Some(last) = end.pop() {
            if last < 0xFF {
                end.push(last + 1);
                return end;
            }
        }
        vec![0xFF]
    }

    fn push_escaped(&mut self, s: &str) {
        for &b in s.as_bytes() {
            self.0.push(b);
            if b == 0 {
                self.0.push(1);
            }
        }
    }
}

/// Reads components back out of a key.
pub(crate) struct KeyReader<'a> {
    rest: &'a [u8],
}

impl<'a> KeyReader<'a> {
    /// Starts reading after the keyspace tag, which must be `space`.
    pub(crate) fn new(key: &'a [u8], space: u8) -> Result<Self, StoreError> {
        match key.split_first() {
            Some((&tag, rest)) if tag == space => Ok(Self { rest }),
            _ => Err(corrupt_key(key)),
        }
    }

    /// Reads a terminated string component.
    pub(crate) fn str(&mut self) -> Result<String, StoreError> {
        let mut out = Vec::new();
        let mut i = 0;
        loop {
            match (self.rest.get(i), self.rest.get(i + 1)) {
                (Some(0), Some(0)) => break,
                (Some(0), Some(1)) => {
                    out.push(0);
                    i += 2;
                }
                (Some(&b), _) if b != 0 => {
                    out.push(b);
                    i += 1;
                }
                _ => return Err(corrupt_key(self.rest)),
            }
        }
        self.rest = &self.rest[i + 2..];
        String::from_utf8(out).map_err(|_| corrupt_key(self.rest))
    }

    /// Reads a device id component.
    pub(crate) fn dev(&mut self) -> Result<DeviceId, StoreError> {
        DeviceId::parse(&self.str()?).map_err(|e| StoreError::Corrupt(format!("key: {e}")))
    }

    /// Reads a single-byte component.
    pub(crate) fn byte(&mut self) -> Result<u8, StoreError> {
        let (&b, rest) = self
            .rest
            .split_first()
            .ok_or_else(|| corrupt_key(self.rest))?;
        self.rest = rest;
        Ok(b)
    }

    /// Reads a big-endian u64 component.
    pub(crate) fn u64(&mut self) -> Result<u64, StoreError> {
        let (head, rest) = self
            .rest
            .split_first_chunk::<8>()
            .ok_or_else(|| corrupt_key(self.rest))?;
        self.rest = rest;
        Ok(u64::from_be_bytes(*head))
    }
}

/// Decodes an 8-byte big-endian counter value.
pub(crate) fn decode_u64(bytes: &[u8]) -> Result<u64, StoreError> {
    let arr: [u8; 8] = bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt("counter value".into()))?;
    Ok(u64::from_be_bytes(arr))
}

fn corrupt_key(bytes: &[u8]) -> StoreError {
    StoreError::Corrupt(format!(
        "undecodable key bytes {:02x?}",
        &bytes[..bytes.len().min(64)]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_components_order_like_tuples() {
        let k = |a: &str, b: u64| Key::new(TREE).str(a).u64(b).0;
        assert!(k("ab", u64::MAX) < k("ab\0", 0));
        assert!(k("ab", u64::MAX) < k("abc", 0));
        assert!(k("a", 5) < k("a", 6));
        let key = Key::new(FAULT).str("x\0y").str("").u64(7);
        let mut r = KeyReader::new(key.bytes(), FAULT).unwrap();
        assert_eq!(
            (r.str().unwrap(), r.str().unwrap(), r.u64().unwrap()),
            ("x\0y".into(), "".into(), 7)
        );
        assert!(
            KeyReader::new(&[FAULT, b'a', 0], FAULT)
                .unwrap()
                .str()
                .is_err()
        );
        assert_eq!(Key::new(3).byte(0xFF).prefix_end(), vec![4]);
    }
}
