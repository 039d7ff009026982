//! Elasticsearch date math: `now-6m`, `now/d`, `2024-01-01||+1M/d`.
//!
//! Semantics follow Elasticsearch's `JavaDateMathParser` as documented in "Date math" and in
//! the `range` query reference:
//! - an expression is `now` or a date followed by `||`, then any number of operations
//!   `+N<unit>`, `-N<unit>` (N defaults to 1) and `/<unit>` (rounding);
//! - units are `y` years, `M` months, `w` weeks, `d` days, `h`/`H` hours, `m` minutes,
//!   `s` seconds; weeks round to Monday;
//! - `now` has millisecond precision;
//! - rounding *up* (used for `gt` and `lte` bounds) moves to the last millisecond of the unit:
//!   `now/d` rounded up is `23:59:59.999` of today;
//! - a date written without `||` is parsed with the field's format; when rounding up, missing
//!   time parts are filled with their maximum (`23:59:59.999…`);
//! - rounding happens in the query's `time_zone` (UTC by default).

use crate::dsl::date::{naive_to_nanos, nanos_to_naive, DateFormat, Nanos, NANOS_PER_MILLI};
use crate::dsl::error::DslError;
use chrono::{DateTime, Datelike, Duration, Months, NaiveDateTime, NaiveTime, Timelike, Utc};

/// Evaluates a date-math expression against `now`, with the default date format
/// (`strict_date_optional_time||epoch_millis`) and UTC.
///
/// `round_up` selects Elasticsearch's upper-bound behaviour (used for `gt` and `lte`):
/// `/d` goes to the last millisecond of the day and a date without time goes to 23:59:59.999….
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use esquery::dsl::datemath;
/// let now = Utc.with_ymd_and_hms(2024, 5, 17, 13, 45, 10).unwrap();
/// let start = datemath::parse("now/d", now, false).unwrap();
/// assert_eq!(start, Utc.with_ymd_and_hms(2024, 5, 17, 0, 0, 0).unwrap());
/// let month = datemath::parse("2024-01-31||+1M", now, false).unwrap();
/// assert_eq!(month, Utc.with_ymd_and_hms(2024, 2, 29, 0, 0, 0).unwrap());
/// ```
pub fn parse(expr: &str, now: DateTime<Utc>, round_up: bool) -> Result<DateTime<Utc>, DslError> {
    let math = DateMath::compile(expr, &DateFormat::default_format(), 0)?;
    let nanos = math
        .resolve(now, round_up)
        .ok_or_else(|| DslError::date(expr, "date out of range"))?;
    let naive = nanos_to_naive(nanos).ok_or_else(|| DslError::date(expr, "date out of range"))?;
    Ok(naive.and_utc())
}

/// A compiled date-math expression: an anchor and a list of operations.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DateMath {
    anchor: Anchor,
    ops: Vec<Op>,
    /// Zone (seconds east of UTC) in which rounding and calendar arithmetic happen.
    offset: i32,
}

#[derive(Debug, Clone, PartialEq)]
enum Anchor {
    Now,
    /// A parsed date; the two values are the round-down and round-up readings (they differ
    /// only when the text lacks time parts and is used without `||`).
    Fixed {
        down: Nanos,
        up: Nanos,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Add(i64, Unit),
    Round(Unit),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Unit {
    Year,
    Month,
    Week,
    Day,
    Hour,
    Minute,
    Second,
}

impl DateMath {
    /// Compiles `expr`; a date part is read with `format`, in zone `offset` when it has none.
    pub(crate) fn compile(
        expr: &str,
        format: &DateFormat,
        offset: i32,
    ) -> Result<DateMath, DslError> {
        let (anchor, math) = if let Some(rest) = expr.strip_prefix("now") {
            (Anchor::Now, rest)
        } else if let Some((date, rest)) = expr.split_once("||") {
            let down = parse_date(date, format, false, offset)?;
            (Anchor::Fixed { down, up: down }, rest)
        } else {
            let down = parse_date(expr, format, false, offset)?;
            let up = parse_date(expr, format, true, offset)?;
            (Anchor::Fixed { down, up }, "")
        };
        Ok(DateMath {
            anchor,
            ops: parse_ops(math)?,
            offset,
        })
    }

    /// Whether the value depends on `now`.
    pub(crate) fn is_now_relative(&self) -> bool {
        self.anchor == Anchor::Now
    }

    /// The instant this expression denotes at `now`. `None` only if the arithmetic leaves the
    /// range chrono can represent.
    pub(crate) fn resolve(&self, now: DateTime<Utc>, round_up: bool) -> Option<Nanos> {
        let start = match self.anchor {
            Anchor::Now => Nanos::from(now.timestamp_millis()) * NANOS_PER_MILLI,
            Anchor::Fixed { down, up } => {
                if self.ops.is_empty() {
                    return Some(if round_up { up } else { down });
                }
                down
            }
        };
        if self.ops.is_empty() {
            return Some(start);
        }
        let shift = Nanos::from(self.offset) * 1_000_000_000;
        let mut local = nanos_to_naive(start + shift)?;
        for op in &self.ops {
            local = apply(local, *op, round_up)?;
        }
        Some(naive_to_nanos(&local) - shift)
    }
}

fn parse_date(
    text: &str,
    format: &DateFormat,
    round_up: bool,
    offset: i32,
) -> Result<Nanos, DslError> {
    if text.is_empty() {
        return Err(DslError::date(text, "cannot parse empty datetime"));
    }
    format
        .parse_instant(text, round_up, offset)
        .ok_or_else(|| DslError::date(text, "does not match the date format"))
}

fn parse_ops(math: &str) -> Result<Vec<Op>, DslError> {
    let b = math.as_bytes();
    let mut ops = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        i += 1;
        let (round, sign) = match c {
            b'/' => (true, 1),
            b'+' => (false, 1),
            b'-' => (false, -1),
            _ => {
                return Err(DslError::date(
                    math,
                    format!("operator not supported for date math [{math}]"),
                ));
            }
        };
        if i >= b.len() {
            return Err(DslError::date(
                math,
                format!("truncated date math [{math}]"),
            ));
        }
        let num_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let num: i64 = if i == num_start {
            1
        } else {
            if i >= b.len() {
                return Err(DslError::date(
                    math,
                    format!("truncated date math [{math}]"),
                ));
            }
            math[num_start..i]
                .parse()
                .map_err(|_| DslError::date(math, "number too large in date math"))?
        };
        if round && num != 1 {
            return Err(DslError::date(
                math,
                format!("rounding `/` can only be used on single unit types [{math}]"),
            ));
        }
        let unit = match b[i] {
            b'y' => Unit::Year,
            b'M' => Unit::Month,
            b'w' => Unit::Week,
            b'd' => Unit::Day,
            b'h' | b'H' => Unit::Hour,
            b'm' => Unit::Minute,
            b's' => Unit::Second,
            other => {
                let unit = char::from(other);
                return Err(DslError::date(
                    math,
                    format!("unit [{unit}] not supported for date math [{math}]"),
                ));
            }
        };
        i += 1;
        ops.push(if round {
            Op::Round(unit)
        } else {
            Op::Add(sign * num, unit)
        });
    }
    Ok(ops)
}

fn apply(dt: NaiveDateTime, op: Op, round_up: bool) -> Option<NaiveDateTime> {
    match op {
        Op::Add(n, unit) => add(dt, n, unit),
        Op::Round(unit) => {
            let down = round_down(dt, unit)?;
            if round_up {
                add(down, 1, unit)?.checked_sub_signed(Duration::milliseconds(1))
            } else {
                Some(down)
            }
        }
    }
}

fn add(dt: NaiveDateTime, n: i64, unit: Unit) -> Option<NaiveDateTime> {
    let months = |m: i64| -> Option<NaiveDateTime> {
        let abs = Months::new(u32::try_from(m.unsigned_abs()).ok()?);
        if m >= 0 {
            dt.checked_add_months(abs)
        } else {
            dt.checked_sub_months(abs)
        }
    };
    match unit {
        Unit::Year => months(n.checked_mul(12)?),
        Unit::Month => months(n),
        Unit::Week => dt.checked_add_signed(Duration::try_weeks(n)?),
        Unit::Day => dt.checked_add_signed(Duration::try_days(n)?),
        Unit::Hour => dt.checked_add_signed(Duration::try_hours(n)?),
        Unit::Minute => dt.checked_add_signed(Duration::try_minutes(n)?),
        Unit::Second => dt.checked_add_signed(Duration::try_seconds(n)?),
    }
}

fn round_down(dt: NaiveDateTime, unit: Unit) -> Option<NaiveDateTime> {
    let date = dt.date();
    let midnight = NaiveTime::MIN;
    Some(match unit {
        Unit::Year => date.with_ordinal(1)?.and_time(midnight),
        Unit::Month => date.with_day(1)?.and_time(midnight),
        Unit::Week => {
            let back = i64::from(date.weekday().num_days_from_monday());
            date.checked_sub_signed(Duration::try_days(back)?)?
                .and_time(midnight)
        }
        Unit::Day => date.and_time(midnight),
        Unit::Hour => date.and_hms_opt(dt.hour(), 0, 0)?,
        Unit::Minute => date.and_hms_opt(dt.hour(), dt.minute(), 0)?,
        Unit::Second => date.and_hms_opt(dt.hour(), dt.minute(), dt.second())?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 5, 17, 13, 45, 10).unwrap() + Duration::milliseconds(123)
    }

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, ms: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap() + Duration::milliseconds(ms)
    }

    #[test]
    fn now_minus_minutes() {
        assert_eq!(
            parse("now-6m", now(), false).unwrap(),
            at(2024, 5, 17, 13, 39, 10, 123)
        );
        assert_eq!(parse("now", now(), true).unwrap(), now());
    }

    #[test]
    fn rounding_down_and_up() {
        assert_eq!(
            parse("now/d", now(), false).unwrap(),
            at(2024, 5, 17, 0, 0, 0, 0)
        );
        assert_eq!(
            parse("now/d", now(), true).unwrap(),
            at(2024, 5, 17, 23, 59, 59, 999)
        );
        assert_eq!(
            parse("now/M", now(), true).unwrap(),
            at(2024, 5, 31, 23, 59, 59, 999)
        );
        // 2024-05-17 is a Friday; weeks start on Monday.
        assert_eq!(
            parse("now/w", now(), false).unwrap(),
            at(2024, 5, 13, 0, 0, 0, 0)
        );
        assert_eq!(
            parse("now-1y/y", now(), false).unwrap(),
            at(2023, 1, 1, 0, 0, 0, 0)
        );
        assert_eq!(
            parse("now/h", now(), false).unwrap(),
            at(2024, 5, 17, 13, 0, 0, 0)
        );
        assert_eq!(
            parse("now/H", now(), true).unwrap(),
            at(2024, 5, 17, 13, 59, 59, 999)
        );
    }

    #[test]
    fn anchored_dates() {
        assert_eq!(
            parse("2024-01-01||+1M/d", now(), false).unwrap(),
            at(2024, 2, 1, 0, 0, 0, 0)
        );
        // The doc example: 2014-11-18||/M rounds up to the end of November.
        assert_eq!(
            parse("2014-11-18||/M", now(), true).unwrap(),
            at(2014, 11, 30, 23, 59, 59, 999)
        );
        assert_eq!(
            parse("2014-11-18||/M", now(), false).unwrap(),
            at(2014, 11, 1, 0, 0, 0, 0)
        );
        // A date without time rounds up to the end of its day.
        assert_eq!(
            parse("2014-11-18", now(), true).unwrap().timestamp_millis(),
            at(2014, 11, 18, 23, 59, 59, 999).timestamp_millis()
        );
        assert_eq!(
            parse("1704067200000", now(), false).unwrap(),
            at(2024, 1, 1, 0, 0, 0, 0)
        );
        assert_eq!(
            parse("2024-01-01T10:00:00+02:00", now(), false).unwrap(),
            at(2024, 1, 1, 8, 0, 0, 0)
        );
    }

    #[test]
    fn errors() {
        assert!(parse("now-", now(), false).is_err());
        assert!(parse("now/2d", now(), false).is_err());
        assert!(parse("now+1x", now(), false).is_err());
        assert!(parse("now*1d", now(), false).is_err());
        assert!(parse("yesterday", now(), false).is_err());
        assert!(parse("", now(), false).is_err());
    }

    #[test]
    fn rounding_in_a_time_zone() {
        let math = DateMath::compile("now/d", &DateFormat::default_format(), 3600).unwrap();
        // 13:45Z is 14:45 at +01:00; the local day starts at 23:00Z the day before.
        let n = math.resolve(now(), false).unwrap();
        assert_eq!(
            n,
            Nanos::from(at(2024, 5, 16, 23, 0, 0, 0).timestamp_millis()) * NANOS_PER_MILLI
        );
    }
}
