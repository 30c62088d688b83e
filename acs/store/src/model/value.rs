//! Typed CWMP parameter values that always reproduce their wire text exactly.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// A parameter value with its XSD type.
///
/// Typed variants exist so that numbers and booleans are stored compactly (varints, one byte), but
/// a value is only given a typed variant when formatting it back yields the very same text. Anything
/// else (`" 42"`, `"+1"`, `"007"`, a boolean sent as `"1"`) is kept verbatim in [`Value::Other`], so
/// the store never alters what a CPE reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Value {
    /// `xsd:string`.
    String(String),
    /// `xsd:int` (32-bit range).
    Int(i64),
    /// `xsd:unsignedInt` (32-bit range).
    UnsignedInt(u64),
    /// `xsd:long`.
    Long(i64),
    /// `xsd:unsignedLong`.
    UnsignedLong(u64),
    /// `xsd:boolean` sent as `true` or `false`.
    Boolean(bool),
    /// `xsd:dateTime`, kept as text because CPEs send many non-canonical forms.
    DateTime(String),
    /// `xsd:base64`.
    Base64(String),
    /// `xsd:hexBinary`.
    HexBinary(String),
    /// Any other type, or a typed value whose text is not in canonical form.
    Other {
        /// The XSD local type name as received.
        xsd_type: String,
        /// The text as received.
        text: String,
    },
}

impl Value {
    /// Builds a value from its wire form: the XSD local type name (e.g. `unsignedInt`) and text.
    pub fn from_wire(xsd_local_type: &str, text: &str) -> Self {
        let typed = match xsd_local_type {
            "string" => Some(Self::String(text.to_owned())),
            "dateTime" => Some(Self::DateTime(text.to_owned())),
            "base64" => Some(Self::Base64(text.to_owned())),
            "hexBinary" => Some(Self::HexBinary(text.to_owned())),
            "boolean" => match text {
                "true" => Some(Self::Boolean(true)),
                "false" => Some(Self::Boolean(false)),
                _ => None,
            },
            "int" => canonical::<i32>(text).map(|v| Self::Int(v.into())),
            "unsignedInt" => canonical::<u32>(text).map(|v| Self::UnsignedInt(v.into())),
            "long" => canonical::<i64>(text).map(Self::Long),
            "unsignedLong" => canonical::<u64>(text).map(Self::UnsignedLong),
            _ => None,
        };
        typed.unwrap_or_else(|| Self::Other {
            xsd_type: xsd_local_type.to_owned(),
            text: text.to_owned(),
        })
    }

    /// Like [`Value::from_wire`], but takes the text by value so string-like values keep its
    /// allocation (a registration stores thousands of them).
    pub fn from_wire_owned(xsd_local_type: &str, text: String) -> Self {
        match xsd_local_type {
            "string" => Self::String(text),
            "dateTime" => Self::DateTime(text),
            "base64" => Self::Base64(text),
            "hexBinary" => Self::HexBinary(text),
            _ => Self::from_wire(xsd_local_type, &text),
        }
    }

    /// The wire text of the value.
    pub fn text(&self) -> Cow<'_, str> {
        match self {
            Self::String(s) | Self::DateTime(s) | Self::Base64(s) | Self::HexBinary(s) => {
                Cow::Borrowed(s)
            }
            Self::Other { text, .. } => Cow::Borrowed(text),
            Self::Int(v) | Self::Long(v) => Cow::Owned(v.to_string()),
            Self::UnsignedInt(v) | Self::UnsignedLong(v) => Cow::Owned(v.to_string()),
            Self::Boolean(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
        }
    }

    /// The XSD local type name, e.g. `unsignedInt`.
    pub fn xsd_type(&self) -> &str {
        match self {
            Self::String(_) => "string",
            Self::Int(_) => "int",
            Self::UnsignedInt(_) => "unsignedInt",
            Self::Long(_) => "long",
            Self::UnsignedLong(_) => "unsignedLong",
            Self::Boolean(_) => "boolean",
            Self::DateTime(_) => "dateTime",
            Self::Base64(_) => "base64",
            Self::HexBinary(_) => "hexBinary",
            Self::Other { xsd_type, .. } => xsd_type,
        }
    }
}

/// Parses `text` as `T` only if formatting the result gives back exactly `text`.
fn canonical<T: std::str::FromStr + ToString>(text: &str) -> Option<T> {
    let v = text.parse::<T>().ok()?;
    (v.to_string() == text).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_only_when_canonical() {
        assert_eq!(Value::from_wire("int", "42"), Value::Int(42));
        assert_eq!(Value::from_wire("int", "-7"), Value::Int(-7));
        for odd in [" 42", "+1", "007", "-0", "4294967296", ""] {
            let v = Value::from_wire("int", odd);
            assert!(matches!(v, Value::Other { .. }), "{odd:?} -> {v:?}");
            assert_eq!(v.text(), odd);
            assert_eq!(v.xsd_type(), "int");
        }
        assert_eq!(
            Value::from_wire("unsignedInt", "4294967295"),
            Value::UnsignedInt(u32::MAX.into())
        );
        assert!(matches!(
            Value::from_wire("unsignedInt", "4294967296"),
            Value::Other { .. }
        ));
        assert_eq!(
            Value::from_wire("unsignedLong", "18446744073709551615").text(),
            "18446744073709551615"
        );
        assert_eq!(Value::from_wire("boolean", "true"), Value::Boolean(true));
        let one = Value::from_wire("boolean", "1");
        assert_eq!((one.xsd_type(), one.text().as_ref()), ("boolean", "1"));
        let odd = Value::from_wire("decimal", "1.50");
        assert_eq!((odd.xsd_type(), odd.text().as_ref()), ("decimal", "1.50"));
    }
}
