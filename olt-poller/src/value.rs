//! Owned SNMP values and varbinds.
//!
//! `snmp2` hands out values that borrow its receive buffer; the walker copies each varbind into
//! these owned types before the next request reuses the buffer.

use crate::error::OltError;
use crate::oid::Oid;

/// Longest OCTET STRING kept from a peer; longer ones are cut (descriptions are ≤ 128 bytes).
pub(crate) const MAX_OCTETS: usize = 1024;

/// One SNMP value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SnmpValue {
    /// INTEGER / Integer32.
    Integer(i64),
    /// OCTET STRING.
    Octets(Vec<u8>),
    /// OBJECT IDENTIFIER.
    ObjectId(Oid),
    /// IpAddress.
    IpAddress([u8; 4]),
    /// Counter32.
    Counter32(u32),
    /// Gauge32 / Unsigned32.
    Unsigned32(u32),
    /// TimeTicks.
    Timeticks(u32),
    /// Counter64.
    Counter64(u64),
    /// NULL (or Opaque, which we never interpret).
    Null,
    /// The agent has no such object.
    NoSuchObject,
    /// The agent has no such instance.
    NoSuchInstance,
    /// The walk ran off the end of the agent's MIB view.
    EndOfMibView,
}

impl SnmpValue {
    /// Whether the value is one of the three v2 exceptions (no data for this varbind).
    pub fn is_exception(&self) -> bool {
        matches!(
            self,
            Self::NoSuchObject | Self::NoSuchInstance | Self::EndOfMibView
        )
    }

    /// The value as a signed integer, for any integral type.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Self::Integer(v) => Some(v),
            Self::Counter32(v) | Self::Unsigned32(v) | Self::Timeticks(v) => Some(i64::from(v)),
            Self::Counter64(v) => i64::try_from(v).ok(),
            _ => None,
        }
    }

    /// The value as bytes, for OCTET STRINGs.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Self::Octets(b) => Some(b),
            _ => None,
        }
    }

    /// Copies a borrowed `snmp2` value; constructed and PDU-typed values are a peer error.
    pub(crate) fn from_snmp2(v: &snmp2::Value<'_>) -> Result<Self, OltError> {
        use snmp2::Value as V;
        Ok(match v {
            V::Integer(i) => Self::Integer(*i),
            V::OctetString(b) => Self::Octets(b[..b.len().min(MAX_OCTETS)].to_vec()),
            V::ObjectIdentifier(o) => Self::ObjectId(Oid::from_snmp2(o)?),
            V::IpAddress(a) => Self::IpAddress(*a),
            V::Counter32(c) => Self::Counter32(*c),
            V::Unsigned32(c) => Self::Unsigned32(*c),
            V::Timeticks(c) => Self::Timeticks(*c),
            V::Counter64(c) => Self::Counter64(*c),
            V::Null | V::Opaque(_) => Self::Null,
            V::NoSuchObject => Self::NoSuchObject,
            V::NoSuchInstance => Self::NoSuchInstance,
            V::EndOfMibView => Self::EndOfMibView,
            other => return Err(OltError::Peer(format!("unexpected value type {other:?}"))),
        })
    }

    /// A rough encoded size in bytes, used to keep responses under the configured size.
    pub(crate) fn encoded_len(&self) -> usize {
        2 + match self {
            Self::Integer(_) | Self::Counter32(_) | Self::Unsigned32(_) | Self::Timeticks(_) => 5,
            Self::Counter64(_) => 9,
            Self::Octets(b) => b.len() + 2,
            Self::ObjectId(o) => o.parts().len() * 2,
            Self::IpAddress(_) => 4,
            _ => 0,
        }
    }
}

/// One variable binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarBind {
    /// The instance OID.
    pub oid: Oid,
    /// Its value.
    pub value: SnmpValue,
}

impl VarBind {
    /// A rough encoded size in bytes (sequence header, OID, value).
    pub(crate) fn encoded_len(&self) -> usize {
        4 + self.oid.parts().len() * 2 + self.value.encoded_len()
    }
}
