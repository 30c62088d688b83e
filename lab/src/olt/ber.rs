//! A small BER reader and writer for SNMP (X.690 definite-length, single-byte tags), with limits:
//! every length is checked against the remaining input, nesting depth is capped by the caller's
//! fixed message shape, and OIDs are capped at 128 sub-identifiers of at most 32 bits.

use std::fmt;

/// Tags used by SNMP.
pub(crate) mod tag {
    pub(crate) const INTEGER: u8 = 0x02;
    pub(crate) const OCTETS: u8 = 0x04;
    pub(crate) const NULL: u8 = 0x05;
    pub(crate) const OID: u8 = 0x06;
    pub(crate) const SEQUENCE: u8 = 0x30;
    pub(crate) const COUNTER32: u8 = 0x41;
    pub(crate) const TIMETICKS: u8 = 0x43;
    pub(crate) const NO_SUCH_OBJECT: u8 = 0x80;
    pub(crate) const NO_SUCH_INSTANCE: u8 = 0x81;
    pub(crate) const END_OF_MIB_VIEW: u8 = 0x82;
    pub(crate) const GET: u8 = 0xa0;
    pub(crate) const GET_NEXT: u8 = 0xa1;
    pub(crate) const RESPONSE: u8 = 0xa2;
    pub(crate) const SET: u8 = 0xa3;
    pub(crate) const GET_BULK: u8 = 0xa5;
    pub(crate) const REPORT: u8 = 0xa8;
}

/// Longest OID accepted.
pub(crate) const MAX_OID: usize = 128;

/// Why a datagram was not understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BerError(pub(crate) &'static str);

impl fmt::Display for BerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

pub(crate) type Result<T> = std::result::Result<T, BerError>;

/// Reads TLVs from a slice.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The next TLV's tag and content.
    pub(crate) fn any(&mut self) -> Result<(u8, &'a [u8])> {
        let (&t, rest) = self.buf.split_first().ok_or(BerError("truncated tag"))?;
        if t & 0x1f == 0x1f {
            return Err(BerError("multi-byte tag"));
        }
        let (&l0, mut rest) = rest.split_first().ok_or(BerError("truncated length"))?;
        let len = if l0 < 0x80 {
            usize::from(l0)
        } else {
            let n = usize::from(l0 & 0x7f);
            if n == 0 || n > 4 || rest.len() < n {
                return Err(BerError("bad length"));
            }
            let mut len = 0usize;
            for &b in &rest[..n] {
                len = (len << 8) | usize::from(b);
            }
            rest = &rest[n..];
            len
        };
        if rest.len() < len {
            return Err(BerError("length beyond input"));
        }
        let (content, rest) = rest.split_at(len);
        self.buf = rest;
        Ok((t, content))
    }

    /// The next TLV, which must have tag `want`.
    pub(crate) fn expect(&mut self, want: u8) -> Result<&'a [u8]> {
        let (t, c) = self.any()?;
        if t != want {
            return Err(BerError("unexpected tag"));
        }
        Ok(c)
    }

    pub(crate) fn integer(&mut self) -> Result<i64> {
        int(self.expect(tag::INTEGER)?)
    }

    pub(crate) fn octets(&mut self) -> Result<&'a [u8]> {
        self.expect(tag::OCTETS)
    }

    pub(crate) fn sequence(&mut self) -> Result<Self> {
        Ok(Self::new(self.expect(tag::SEQUENCE)?))
    }
}

/// A two's-complement INTEGER of 1 to 8 bytes.
pub(crate) fn int(c: &[u8]) -> Result<i64> {
    if c.is_empty() || c.len() > 8 {
        return Err(BerError("bad integer length"));
    }
    let mut v: i64 = if c[0] & 0x80 != 0 { -1 } else { 0 };
    for &b in c {
        v = (v << 8) | i64::from(b);
    }
    Ok(v)
}

/// An OBJECT IDENTIFIER's content.
pub(crate) fn oid(c: &[u8]) -> Result<Vec<u32>> {
    if c.is_empty() {
        return Err(BerError("empty OID"));
    }
    let mut out = Vec::with_capacity(c.len() + 1);
    let mut acc: u64 = 0;
    let mut first = true;
    for (i, &b) in c.iter().enumerate() {
        acc = (acc << 7) | u64::from(b & 0x7f);
        if acc > u64::from(u32::MAX) + 80 {
            return Err(BerError("OID sub-identifier too large"));
        }
        if b & 0x80 == 0 {
            if first {
                let (a, b) = if acc < 80 {
                    (acc / 40, acc % 40)
                } else {
                    (2, acc - 80)
                };
                out.push(u32::try_from(a).map_err(|_| BerError("bad OID"))?);
                out.push(u32::try_from(b).map_err(|_| BerError("OID sub-identifier too large"))?);
                first = false;
            } else {
                out.push(u32::try_from(acc).map_err(|_| BerError("OID sub-identifier too large"))?);
            }
            acc = 0;
            if out.len() > MAX_OID {
                return Err(BerError("OID too long"));
            }
        } else if i == c.len() - 1 {
            return Err(BerError("truncated OID"));
        }
    }
    Ok(out)
}

/// Appends a tag and a definite length.
pub(crate) fn header(out: &mut Vec<u8>, t: u8, len: usize) {
    out.push(t);
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = (len as u32).to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (4 - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// Appends a TLV.
pub(crate) fn tlv(out: &mut Vec<u8>, t: u8, content: &[u8]) {
    header(out, t, content.len());
    out.extend_from_slice(content);
}

/// Minimal two's-complement bytes of a signed integer.
pub(crate) fn int_bytes(v: i64) -> Vec<u8> {
    let b = v.to_be_bytes();
    let mut i = 0;
    while i < 7 && ((b[i] == 0 && b[i + 1] & 0x80 == 0) || (b[i] == 0xff && b[i + 1] & 0x80 != 0)) {
        i += 1;
    }
    b[i..].to_vec()
}

/// Minimal bytes of an unsigned integer (a leading zero when the top bit is set).
pub(crate) fn uint_bytes(v: u64) -> Vec<u8> {
    let b = v.to_be_bytes();
    let skip = b.iter().take_while(|x| **x == 0).count().min(7);
    let mut out = Vec::with_capacity(9);
    if b[skip] & 0x80 != 0 {
        out.push(0);
    }
    out.extend_from_slice(&b[skip..]);
    out
}

pub(crate) fn integer(out: &mut Vec<u8>, v: i64) {
    tlv(out, tag::INTEGER, &int_bytes(v));
}

/// Appends an OID's encoding (a `[0, 0]` OID for anything shorter than two arcs).
pub(crate) fn oid_tlv(out: &mut Vec<u8>, o: &[u32]) {
    let mut c = Vec::with_capacity(o.len() + 8);
    let (a, b) = match o {
        [a, b, ..] => (*a, *b),
        _ => (0, 0),
    };
    push_base128(&mut c, u64::from(a) * 40 + u64::from(b));
    for &x in o.iter().skip(2) {
        push_base128(&mut c, u64::from(x));
    }
    tlv(out, tag::OID, &c);
}

fn push_base128(out: &mut Vec<u8>, v: u64) {
    let mut tmp = [0u8; 10];
    let mut n = 0;
    let mut v = v;
    loop {
        tmp[n] = (v & 0x7f) as u8;
        n += 1;
        v >>= 7;
        if v == 0 {
            break;
        }
    }
    for i in (0..n).rev() {
        out.push(tmp[i] | if i > 0 { 0x80 } else { 0 });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_round_trip() {
        for v in [
            0,
            1,
            127,
            128,
            255,
            256,
            -1,
            -128,
            -129,
            2_147_483_647,
            -80_000,
            i64::MIN,
            i64::MAX,
        ] {
            let mut out = Vec::new();
            integer(&mut out, v);
            assert_eq!(Reader::new(&out).integer().unwrap(), v, "{v}");
        }
    }

    #[test]
    fn oids_round_trip_above_2_pow_31() {
        let o = vec![
            1,
            3,
            6,
            1,
            4,
            1,
            2011,
            6,
            128,
            1,
            1,
            2,
            46,
            1,
            15,
            4_194_312_192,
            0,
        ];
        let mut out = Vec::new();
        oid_tlv(&mut out, &o);
        let c = Reader::new(&out).expect(tag::OID).unwrap();
        assert_eq!(oid(c).unwrap(), o);
        assert!(oid(&[0x2b, 0x90, 0x80, 0x80, 0x80, 0x80, 0x00]).is_err());
        assert!(oid(&[0x2b, 0x81]).is_err());
    }

    #[test]
    fn long_lengths() {
        let mut out = Vec::new();
        tlv(&mut out, tag::OCTETS, &[7u8; 300]);
        assert_eq!(&out[..4], &[0x04, 0x82, 0x01, 0x2c]);
        assert_eq!(Reader::new(&out).octets().unwrap().len(), 300);
        assert!(Reader::new(&[0x04, 0x82, 0x01]).any().is_err());
        assert!(Reader::new(&[0x04, 0x05, 1]).any().is_err());
    }
}
