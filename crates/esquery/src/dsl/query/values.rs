//! Typed views of `_source` values and query values, per mapped field type.
//!
//! Each function reads one JSON value the way Elasticsearch indexes it for a field of that type
//! (with the default `coerce: true`): numbers in strings are parsed, fractions are truncated for
//! integer types, `float` and `half_float` values lose precision, `scaled_float` values are
//! rounded to `round(value * scaling_factor)`, a JSON `null` is replaced by `null_value` when
//! the mapping has one. A value the type cannot index (for example an object under a keyword
//! field, or `"abc"` under a long) yields `None`: Elasticsearch would have rejected the document
//! or ignored the value, so it can never match.

use crate::dsl::analysis::lowercase;
use crate::dsl::date::{DateFormat, Nanos, NANOS_PER_MILLI};
use crate::dsl::error::DslError;
use crate::dsl::mapping::{FieldMapping, FieldType};
use serde_json::Value;
use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;

/// How a keyword-like field (keyword, constant_keyword, wildcard, flattened) reads values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct KeywordDom {
    /// `ignore_above`, in UTF-16 code units like Java's `String.length()`.
    pub ignore_above: Option<usize>,
    /// The built-in `lowercase` normalizer.
    pub lowercase: bool,
    /// `null_value`.
    pub null_value: Option<String>,
}

impl KeywordDom {
    /// The keyword reading of a field; custom normalizers (defined in index settings) are
    /// refused, only the built-in `lowercase` is evaluated.
    pub(crate) fn of(fm: &FieldMapping) -> Result<KeywordDom, DslError> {
        let lowercase = match fm.normalizer.as_deref() {
            None => false,
            Some("lowercase") => true,
            Some(other) => {
                return Err(DslError::unsupported_feature(
                    "normalizer",
                    format!("normalizer [{other}] (only the built-in lowercase normalizer is evaluated)"),
                ));
            }
        };
        Ok(KeywordDom {
            ignore_above: fm.ignore_above,
            lowercase,
            null_value: fm
                .null_value
                .as_ref()
                .and_then(scalar_text)
                .map(Cow::into_owned),
        })
    }

    /// The indexed keyword for a `_source` value.
    pub(crate) fn value<'v>(&self, v: &'v Value) -> Option<Cow<'v, str>> {
        let s: Cow<'v, str> = match v {
            Value::Null => Cow::Owned(self.null_value.clone()?),
            other => scalar_text(other)?,
        };
        if let Some(limit) = self.ignore_above {
            if s.len() > limit && s.encode_utf16().count() > limit {
                return None;
            }
        }
        Some(if self.lowercase {
            Cow::Owned(lowercase(&s))
        } else {
            s
        })
    }

    /// A query term normalized like indexed values.
    pub(crate) fn normalize(&self, s: &str) -> String {
        if self.lowercase {
            lowercase(s)
        } else {
            s.to_string()
        }
    }
}

/// The text of a scalar (string, number, boolean); `None` for null, arrays and objects.
pub(crate) fn scalar_text(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::String(s) => Some(Cow::Borrowed(s)),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        _ => None,
    }
}

/// Integer-valued field kinds (including booleans and scaled floats, which index integers).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum IntKind {
    Long,
    Integer,
    Short,
    Byte,
    UnsignedLong,
    Boolean,
    /// `scaled_float` with its scaling factor.
    Scaled(f64),
}

/// How an integer-valued field reads values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct IntDom {
    pub kind: IntKind,
    pub null_value: Option<i128>,
}

impl IntKind {
    /// Inclusive range of indexable values.
    pub(crate) fn bounds(self) -> (i128, i128) {
        match self {
            IntKind::Long | IntKind::Scaled(_) => (i128::from(i64::MIN), i128::from(i64::MAX)),
            IntKind::Integer => (i128::from(i32::MIN), i128::from(i32::MAX)),
            IntKind::Short => (i128::from(i16::MIN), i128::from(i16::MAX)),
            IntKind::Byte => (i128::from(i8::MIN), i128::from(i8::MAX)),
            IntKind::UnsignedLong => (0, i128::from(u64::MAX)),
            IntKind::Boolean => (0, 1),
        }
    }

    /// The Elasticsearch type name, for error messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            IntKind::Long => "long",
            IntKind::Integer => "integer",
            IntKind::Short => "short",
            IntKind::Byte => "byte",
            IntKind::UnsignedLong => "unsigned_long",
            IntKind::Boolean => "boolean",
            IntKind::Scaled(_) => "scaled_float",
        }
    }
}

impl IntDom {
    /// The indexed integer for a `_source` value.
    pub(crate) fn value(&self, v: &Value) -> Option<i128> {
        let n = match v {
            Value::Null => return self.null_value,
            Value::Bool(b) if self.kind == IntKind::Boolean => i128::from(*b),
            Value::String(s) if self.kind == IntKind::Boolean => match s.as_str() {
                "true" => 1,
                "false" | "" => 0,
                _ => return None,
            },
            _ if self.kind == IntKind::Boolean => return None,
            Value::Number(_) | Value::String(_) => self.coerce(parse_number(v)?)?,
            _ => return None,
        };
        let (lo, hi) = self.kind.bounds();
        (lo..=hi).contains(&n).then_some(n)
    }

    /// Coerces a number the way indexing does: truncation for integers, scaling for
    /// `scaled_float`.
    fn coerce(&self, n: Num) -> Option<i128> {
        match (self.kind, n) {
            (IntKind::Scaled(f), n) => {
                let scaled = n.as_f64() * f;
                scaled.is_finite().then(|| (scaled + 0.5).floor() as i128)
            }
            (_, Num::Int(i)) => Some(i),
            (_, Num::Float(x)) => x.is_finite().then(|| x.trunc() as i128),
        }
    }
}

/// A number read from JSON or text: exact integers stay exact.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Num {
    Int(i128),
    Float(f64),
}

impl Num {
    pub(crate) fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }

    /// Whether the number has a fractional part.
    pub(crate) fn has_fraction(self) -> bool {
        matches!(self, Num::Float(f) if f.fract() != 0.0)
    }
}

/// Reads a JSON number or numeric string (`"12"`, `"1.5"`, `"1e3"`).
pub(crate) fn parse_number(v: &Value) -> Option<Num> {
    match v {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Some(Num::Int(i128::from(i)))
            } else if let Some(u) = n.as_u64() {
                Some(Num::Int(i128::from(u)))
            } else {
                n.as_f64().filter(|f| f.is_finite()).map(Num::Float)
            }
        }
        Value::String(s) => parse_number_text(s),
        _ => None,
    }
}

/// Reads numeric text.
pub(crate) fn parse_number_text(s: &str) -> Option<Num> {
    if let Ok(i) = s.parse::<i128>() {
        return Some(Num::Int(i));
    }
    let f: f64 = s.parse().ok()?;
    if !f.is_finite() {
        return None;
    }
    if f.fract() == 0.0 && f.abs() < 1e18 {
        return Some(Num::Int(f as i128));
    }
    Some(Num::Float(f))
}

/// Precision of a floating-point field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum FloatKind {
    Double,
    Float,
    Half,
}

/// How a floating-point field reads values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FloatDom {
    pub kind: FloatKind,
    pub null_value: Option<f64>,
}

impl FloatDom {
    pub(crate) fn value(&self, v: &Value) -> Option<f64> {
        match v {
            Value::Null => self.null_value,
            Value::Number(_) | Value::String(_) => Some(self.round(parse_number(v)?.as_f64())),
            _ => None,
        }
    }

    /// Rounds to the field's precision (also applied to query values).
    pub(crate) fn round(&self, x: f64) -> f64 {
        match self.kind {
            FloatKind::Double => x,
            FloatKind::Float => f64::from(x as f32),
            FloatKind::Half => to_half_precision(x),
        }
    }
}

/// Rounds to the nearest IEEE 754 half-precision value (ties to even), as `half_float` stores.
pub(crate) fn to_half_precision(x: f64) -> f64 {
    if !x.is_finite() || x == 0.0 {
        return x;
    }
    let ax = x.abs();
    if ax >= 65520.0 {
        return f64::INFINITY.copysign(x);
    }
    let exp = ax.log2().floor() as i32;
    let quantum = if exp < -14 {
        2f64.powi(-24)
    } else {
        2f64.powi(exp - 10)
    };
    ((ax / quantum).round_ties_even() * quantum).copysign(x)
}

/// How a date field reads values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DateDom {
    /// `date_nanos` (nanosecond resolution, dates from 1970 on).
    pub nanos: bool,
    pub format: Arc<DateFormat>,
    pub null_value: Option<Nanos>,
}

impl DateDom {
    pub(crate) fn of(fm: &FieldMapping) -> Result<DateDom, DslError> {
        let format = match &fm.format {
            Some(f) => DateFormat::parse(f)?,
            None => DateFormat::default_format(),
        };
        let mut dom = DateDom {
            nanos: fm.ty == FieldType::DateNanos,
            format: Arc::new(format),
            null_value: None,
        };
        dom.null_value = fm.null_value.as_ref().and_then(|v| dom.value(v));
        Ok(dom)
    }

    /// The indexed instant of a `_source` value (truncated to milliseconds for `date`).
    pub(crate) fn value(&self, v: &Value) -> Option<Nanos> {
        let n = match v {
            Value::Null => return self.null_value,
            Value::String(s) => self.format.parse_instant(s, false, 0)?,
            Value::Number(n) if self.format.has_epoch() => {
                self.format.parse_instant(&n.to_string(), false, 0)?
            }
            _ => return None,
        };
        self.truncate(n)
    }

    /// Applies the field's resolution; `None` when `date_nanos` cannot hold the instant.
    pub(crate) fn truncate(&self, n: Nanos) -> Option<Nanos> {
        if self.nanos {
            (n >= 0 && n <= Nanos::from(i64::MAX)).then_some(n)
        } else {
            Some(n.div_euclid(NANOS_PER_MILLI) * NANOS_PER_MILLI)
        }
    }

    /// A query bound truncated to the field's resolution (no range check, unlike values).
    pub(crate) fn truncate_bound(&self, n: Nanos) -> Nanos {
        if self.nanos {
            n
        } else {
            n.div_euclid(NANOS_PER_MILLI) * NANOS_PER_MILLI
        }
    }

    /// The smallest step between two indexed values.
    pub(crate) fn resolution(&self) -> Nanos {
        if self.nanos {
            1
        } else {
            NANOS_PER_MILLI
        }
    }
}

/// How an `ip` field reads values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct IpDom {
    pub null_value: Option<u128>,
}

impl IpDom {
    pub(crate) fn value(&self, v: &Value) -> Option<u128> {
        match v {
            Value::Null => self.null_value,
            Value::String(s) => parse_ip(s),
            _ => None,
        }
    }
}

/// An address as a 128-bit number; IPv4 addresses map into `::ffff:0:0/96`, as Lucene's
/// `InetAddressPoint` stores them.
pub(crate) fn parse_ip(s: &str) -> Option<u128> {
    match s.parse::<IpAddr>().ok()? {
        IpAddr::V4(v4) => Some(0xffff_0000_0000 | u128::from(u32::from(v4))),
        IpAddr::V6(v6) => Some(u128::from(v6)),
    }
}

/// An address or CIDR block (`10.0.0.0/8`, `2001:db8::/32`) as an inclusive range.
pub(crate) fn parse_ip_or_cidr(s: &str) -> Option<(u128, u128)> {
    let Some((addr, len)) = s.split_once('/') else {
        let ip = parse_ip(s)?;
        return Some((ip, ip));
    };
    let len: u32 = len.parse().ok()?;
    let is_v4 = addr.parse::<std::net::Ipv4Addr>().is_ok();
    let bits = if is_v4 {
        if len > 32 {
            return None;
        }
        len + 96
    } else {
        if len > 128 {
            return None;
        }
        len
    };
    let ip = parse_ip(addr)?;
    let host_mask = if bits == 0 {
        u128::MAX
    } else {
        u128::MAX >> bits
    };
    Some((ip & !host_mask, ip | host_mask))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ints_coerce_and_truncate() {
        let d = IntDom {
            kind: IntKind::Integer,
            null_value: Some(7),
        };
        assert_eq!(d.value(&json!(5)), Some(5));
        assert_eq!(d.value(&json!("12")), Some(12));
        assert_eq!(d.value(&json!(5.9)), Some(5));
        assert_eq!(d.value(&json!("x")), None);
        assert_eq!(d.value(&json!(null)), Some(7));
        assert_eq!(d.value(&json!(1e12)), None);
        let s = IntDom {
            kind: IntKind::Scaled(100.0),
            null_value: None,
        };
        assert_eq!(s.value(&json!(1.006)), Some(101));
        let b = IntDom {
            kind: IntKind::Boolean,
            null_value: None,
        };
        assert_eq!(b.value(&json!("false")), Some(0));
        assert_eq!(b.value(&json!(true)), Some(1));
        assert_eq!(b.value(&json!("yes")), None);
    }

    #[test]
    fn floats_round_to_precision() {
        let f = FloatDom {
            kind: FloatKind::Float,
            null_value: None,
        };
        assert_eq!(f.value(&json!(0.1)), Some(f64::from(0.1f32)));
        assert_eq!(to_half_precision(0.1), 0.0999755859375);
        assert_eq!(to_half_precision(1.0), 1.0);
        assert_eq!(to_half_precision(70000.0), f64::INFINITY);
    }

    #[test]
    fn ips_and_cidrs() {
        assert_eq!(parse_ip("10.1.2.3"), parse_ip("::ffff:10.1.2.3"));
        let (lo, hi) = parse_ip_or_cidr("10.0.0.0/8").unwrap();
        assert!(lo <= parse_ip("10.200.0.1").unwrap() && parse_ip("10.200.0.1").unwrap() <= hi);
        assert!(parse_ip("11.0.0.0").unwrap() > hi);
        let (lo6, hi6) = parse_ip_or_cidr("2001:db8::/32").unwrap();
        let x = parse_ip("2001:db8:1::1").unwrap();
        assert!(lo6 <= x && x <= hi6);
        assert_eq!(parse_ip_or_cidr("1.2.3.4/33"), None);
        assert_eq!(parse_ip("nope"), None);
    }

    #[test]
    fn keywords_respect_ignore_above() {
        let d = KeywordDom {
            ignore_above: Some(3),
            lowercase: false,
            null_value: None,
        };
        assert_eq!(d.value(&json!("abc")).as_deref(), Some("abc"));
        assert_eq!(d.value(&json!("abcd")), None);
        assert_eq!(d.value(&json!(12)).as_deref(), Some("12"));
        assert_eq!(d.value(&json!({"a": 1})), None);
    }
}
