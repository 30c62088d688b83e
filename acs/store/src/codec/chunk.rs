//! Tree chunks: the on-disk form of a device's parameter tree.
//!
//! A device's tree is a sequence of entries ordered by interned path id (see `engine::dict`), cut
//! into chunks that each fit one redb leaf page together with their key. Page-sized values are
//! what makes the file small: redb splits a full leaf in half, so many small values appended in
//! key order leave pages half empty, and a value larger than a page gets a power-of-two run of
//! pages; one value per 4 KiB page wastes only the few bytes where the last entry did not fit.
//!
//! Layout of one chunk (all integers LEB128 varints, signed ones zigzag):
//!
//! ```text
//! CHUNK_FORMAT  model:str  count  entry*count
//! entry = head  [id-delta]  [ts-delta]  [tag]  payload
//! head  = bit 7: a timestamp delta follows (else: the previous entry's timestamp)
//!         bit 6: the id is the previous one plus one (else: an id delta follows)
//!         bits 5-4: writable (0 unknown, 1 false, 2 true)
//!         bits 3-0: kind: a value tag (a leaf), 12 an object without value, 13 an object
//!                   with a value, whose tag follows, or 14 a node with attributes, whose
//!                   `ext` byte follows (bit 6 object, bits 3-0 value tag)
//! attrs = notification  ts-delta(from the entry's ts)  count  str*count   (kind 14 only)
//! ```
//!
//! Attributes (GetParameterAttributes) are rare, so they cost nothing to the other entries: only a
//! node that has them takes the extended kind, and its attributes follow its value.
//!
//! The first entry's id and timestamp are relative to 0, later ones to the previous entry: ids are
//! strictly increasing and mostly consecutive, so most entries carry no id at all, and one refresh
//! writes all of its nodes with one timestamp, so most entries carry none either. That leaves one
//! head byte plus the value's own bytes per entry. The model names the dictionary the ids belong
//! to, so a chunk stays decodable after its device changes model.
//! Entries decode to [`RawEntry`] without copying or allocating, so a partial update re-emits
//! untouched entries byte for byte.

use super::{Reader, T_MAX, T_NONE, put_i, put_payload, put_str, put_u, value_tag};
use crate::StoreError;
use crate::model::{Attributes, Param, Value};

/// Version byte of the chunk layout (1 was the earlier one-record-per-section layout).
const CHUNK_FORMAT: u8 = 2;

// Wire head bits.
const H_NEW_TS: u8 = 0x80;
const H_NEXT_ID: u8 = 0x40;
const H_WRITABLE: u8 = 0x30;
const H_KIND: u8 = 0x0F;
const K_OBJECT: u8 = 12;
const K_OBJECT_VALUE: u8 = 13;
const K_EXTENDED: u8 = 14;
const X_OBJECT: u8 = 0x40;
/// Most access-list entries a node may have (TR-069 defines one, `Subscriber`).
const MAX_ACCESS_LIST: usize = 64;

// In memory an entry's flags are one byte too, in a form that is easy to test: the tag, the
// writable bits where the wire has them, and an object bit.
const M_OBJECT: u8 = 0x40;
const M_ATTRS: u8 = 0x80;
const M_TAG: u8 = 0x0F;
const WRITABLE_SHIFT: u32 = 4;

/// One entry of a decoded chunk; `payload` borrows the chunk's bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawEntry<'a> {
    pub(crate) id: u32,
    /// Object bit, writable bits and value tag (`M_*`).
    flags: u8,
    ts: i64,
    payload: &'a [u8],
}

impl RawEntry<'_> {
    /// Decodes the entry into a node (allocating its strings).
    pub(crate) fn param(&self) -> Result<Param, StoreError> {
        let mut r = Reader { buf: self.payload };
        let value = r.value(self.flags & M_TAG)?;
        let attributes = if self.flags & M_ATTRS != 0 {
            Some(Box::new(read_attributes(&mut r, self.ts)?))
        } else {
            None
        };
        Ok(Param {
            object: self.flags & M_OBJECT != 0,
            writable: match (self.flags & H_WRITABLE) >> WRITABLE_SHIFT {
                1 => Some(false),
                2 => Some(true),
                _ => None,
            },
            value,
            timestamp_ms: self.ts,
            attributes,
        })
    }
}

/// The in-memory flags of a node.
fn flags_of(p: &Param) -> u8 {
    let writable = match p.writable {
        None => 0,
        Some(false) => 1,
        Some(true) => 2,
    };
    value_tag(p.value.as_ref())
        | (writable << WRITABLE_SHIFT)
        | if p.object { M_OBJECT } else { 0 }
        | if p.attributes.is_some() { M_ATTRS } else { 0 }
}

/// Reads the attributes that follow an extended entry's value.
fn read_attributes(r: &mut Reader<'_>, ts: i64) -> Result<Attributes, StoreError> {
    let notification = u8::try_from(r.u()?).map_err(|_| r.err("bad notification"))?;
    let timestamp_ms = ts.wrapping_add(r.i()?);
    let n = r.len()?;
    if n > MAX_ACCESS_LIST {
        return Err(r.err("access list too long"));
    }
    let access_list = (0..n).map(|_| r.str()).collect::<Result<_, _>>()?;
    Ok(Attributes {
        notification,
        access_list,
        timestamp_ms,
    })
}

fn skip_attributes(r: &mut Reader<'_>) -> Result<(), StoreError> {
    r.u()?;
    r.i()?;
    let n = r.len()?;
    if n > MAX_ACCESS_LIST {
        return Err(r.err("access list too long"));
    }
    for _ in 0..n {
        r.bytes()?;
    }
    Ok(())
}

fn put_attributes(out: &mut Vec<u8>, a: &Attributes, ts: i64) {
    put_u(out, u64::from(a.notification));
    put_i(out, a.timestamp_ms.wrapping_sub(ts));
    put_u(out, a.access_list.len() as u64);
    for s in &a.access_list {
        put_str(out, s);
    }
}

/// What follows an entry's head: a node's value, or bytes copied from an existing chunk.
enum Payload<'a> {
    Value(Option<&'a Value>, Option<&'a Attributes>),
    Raw(&'a [u8]),
}

/// Encodes entries, given in strictly increasing id order, into chunks of at most `limit` bytes
/// (a single entry larger than that gets a chunk of its own).
pub(crate) struct ChunkWriter<'m> {
    model: &'m str,
    limit: usize,
    body: Vec<u8>,
    count: u64,
    first_id: u32,
    prev_id: u32,
    prev_ts: i64,
    chunks: Vec<(u32, Vec<u8>)>,
}

impl<'m> ChunkWriter<'m> {
    pub(crate) fn new(model: &'m str, limit: usize) -> Self {
        Self {
            model,
            limit,
            body: Vec::with_capacity(limit.min(1 << 16)),
            count: 0,
            first_id: 0,
            prev_id: 0,
            prev_ts: 0,
            chunks: Vec::new(),
        }
    }

    /// Appends a node.
    pub(crate) fn push_param(&mut self, id: u32, p: &Param) {
        self.push(
            id,
            p.timestamp_ms,
            flags_of(p),
            Payload::Value(p.value.as_ref(), p.attributes.as_deref()),
        );
    }

    /// Appends an entry of an existing chunk unchanged.
    pub(crate) fn push_raw(&mut self, e: &RawEntry<'_>) {
        self.push(e.id, e.ts, e.flags, Payload::Raw(e.payload));
    }

    /// The finished chunks as `(first id, bytes)`, in id order.
    pub(crate) fn finish(mut self) -> Vec<(u32, Vec<u8>)> {
        if self.count > 0 {
            self.flush();
        }
        self.chunks
    }

    fn push(&mut self, id: u32, ts: i64, flags: u8, payload: Payload<'_>) {
        let mark = self.body.len();
        self.write_entry(id, ts, flags, &payload);
        // Three bytes bound the count varint for any chunk that fits a page.
        let header = 1 + 5 + self.model.len() + 3;
        if self.count > 0 && header + self.body.len() > self.limit {
            self.body.truncate(mark);
            self.flush();
            self.write_entry(id, ts, flags, &payload);
        }
        if self.count == 0 {
            self.first_id = id;
        }
        self.count += 1;
        self.prev_id = id;
        self.prev_ts = ts;
    }

    fn write_entry(&mut self, id: u32, ts: i64, flags: u8, payload: &Payload<'_>) {
        let first = self.count == 0;
        let (prev_id, prev_ts) = if first {
            (0, 0)
        } else {
            (self.prev_id, self.prev_ts)
        };
        let tag = flags & M_TAG;
        let (kind, tag_byte) = match (flags & M_OBJECT != 0, tag) {
            _ if flags & M_ATTRS != 0 => (
                K_EXTENDED,
                Some(tag | if flags & M_OBJECT != 0 { X_OBJECT } else { 0 }),
            ),
            (false, _) => (tag, None),
            (true, T_NONE) => (K_OBJECT, None),
            (true, _) => (K_OBJECT_VALUE, Some(tag)),
        };
        let next_id = !first && id == prev_id.wrapping_add(1);
        let head = kind
            | (flags & H_WRITABLE)
            | if next_id { H_NEXT_ID } else { 0 }
            | if ts == prev_ts { 0 } else { H_NEW_TS };
        self.body.push(head);
        if !next_id {
            put_u(&mut self.body, u64::from(id.wrapping_sub(prev_id)));
        }
        if ts != prev_ts {
            put_i(&mut self.body, ts.wrapping_sub(prev_ts));
        }
        self.body.extend(tag_byte);
        match payload {
            Payload::Value(v, attrs) => {
                put_payload(&mut self.body, *v);
                if let Some(a) = attrs {
                    put_attributes(&mut self.body, a, ts);
                }
            }
            Payload::Raw(bytes) => self.body.extend_from_slice(bytes),
        }
    }

    fn flush(&mut self) {
        let mut out = Vec::with_capacity(self.body.len() + self.model.len() + 8);
        out.push(CHUNK_FORMAT);
        put_str(&mut out, self.model);
        put_u(&mut out, self.count);
        out.extend_from_slice(&self.body);
        self.chunks.push((self.first_id, out));
        self.body.clear();
        self.count = 0;
    }
}

/// The model a chunk's ids belong to, reading only its header.
pub(crate) fn chunk_model(bytes: &[u8]) -> Result<&str, StoreError> {
    let mut r = Reader { buf: bytes };
    if r.byte()? != CHUNK_FORMAT {
        return Err(r.err("unknown format byte"));
    }
    r.str_ref()
}

/// Splits a chunk into its model and entries without decoding values. Never panics on bad input.
pub(crate) fn decode_raw(bytes: &[u8]) -> Result<(&str, Vec<RawEntry<'_>>), StoreError> {
    let mut r = Reader { buf: bytes };
    if r.byte()? != CHUNK_FORMAT {
        return Err(r.err("unknown format byte"));
    }
    let model = r.str_ref()?;
    // Every entry takes at least a byte, which bounds a corrupt count's allocation.
    let n = r.len()?;
    let mut entries = Vec::with_capacity(n);
    let (mut id, mut ts) = (0u32, 0i64);
    for i in 0..n {
        let head = r.byte()?;
        let delta = if head & H_NEXT_ID != 0 && i > 0 {
            1
        } else {
            r.u()?
        };
        if i > 0 && delta == 0 {
            return Err(r.err("path ids out of order"));
        }
        id = u64::from(id)
            .checked_add(delta)
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| r.err("path id overflow"))?;
        if head & H_NEW_TS != 0 {
            ts = ts.wrapping_add(r.i()?);
        }
        let (object, tag, attrs) = match head & H_KIND {
            K_OBJECT => (M_OBJECT, T_NONE, 0),
            K_OBJECT_VALUE => (M_OBJECT, r.byte()?, 0),
            K_EXTENDED => {
                let ext = r.byte()?;
                if ext & !(X_OBJECT | M_TAG) != 0 {
                    return Err(r.err("bad extended entry"));
                }
                let object = if ext & X_OBJECT != 0 { M_OBJECT } else { 0 };
                (object, ext & M_TAG, M_ATTRS)
            }
            tag => (0, tag, 0),
        };
        // Reject what the writer never produces, so every chunk has one encoding.
        let odd_object = object != 0 && attrs == 0 && tag == T_NONE && head & H_KIND != K_OBJECT;
        if head & H_WRITABLE == H_WRITABLE || tag > T_MAX || odd_object {
            return Err(r.err("bad entry head"));
        }
        let start = r.buf;
        r.skip_payload(tag)?;
        if attrs != 0 {
            skip_attributes(&mut r)?;
        }
        let payload = &start[..start.len() - r.buf.len()];
        entries.push(RawEntry {
            id,
            flags: object | attrs | (head & H_WRITABLE) | tag,
            ts,
            payload,
        });
    }
    if !r.buf.is_empty() {
        return Err(r.err("trailing bytes"));
    }
    Ok((model, entries))
}

/// Encodes entries as one chunk whatever their size (the codec tests' entry point).
#[cfg(test)]
pub(crate) fn encode_section(model: &str, mut entries: Vec<(u32, &Param)>) -> Vec<u8> {
    entries.sort_by_key(|(id, _)| *id);
    let mut w = ChunkWriter::new(model, usize::MAX);
    for (id, p) in entries {
        w.push_param(id, p);
    }
    match w.finish().pop() {
        Some((_, bytes)) => bytes,
        None => {
            let mut out = vec![CHUNK_FORMAT];
            put_str(&mut out, model);
            put_u(&mut out, 0);
            out
        }
    }
}

/// Decodes a chunk into its model name and `(path id, node)` pairs.
#[cfg(test)]
pub(crate) fn decode_section(bytes: &[u8]) -> Result<(String, Vec<(u32, Param)>), StoreError> {
    let (model, raw) = decode_raw(bytes)?;
    let entries = raw
        .iter()
        .map(|e| Ok((e.id, e.param()?)))
        .collect::<Result<_, StoreError>>()?;
    Ok((model.to_owned(), entries))
}
