//! Timestamps, durations and time windows as they appear in CloudTrail records, rule files and
//! the command line.

use chrono::{DateTime, NaiveDate, TimeDelta, TimeZone, Utc};
use std::fmt;

/// Parses the timestamp shapes found in CloudTrail and ECS data — and accepted on the command
/// line: ISO 8601 / RFC 3339 with `T` or a space between date and time, optional seconds and
/// fraction (up to nanoseconds), zone `Z`, `±hh:mm`, `±hhmm`, `±hh` or none (UTC); the basic
/// form `20131102T010628Z`; a bare date (midnight UTC). These are the shapes the AWS
/// integration's date processor reads, so event times and mapped `@timestamp`s agree.
pub fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<u32> {
        let part = b.get(from..from + len)?;
        part.iter().all(u8::is_ascii_digit).then(|| {
            part.iter()
                .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'))
        })
    };
    // Date: YYYY-MM-DD or YYYYMMDD.
    let (year, month, day, mut i, basic) = if b.get(4) == Some(&b'-') {
        if b.get(7) != Some(&b'-') {
            return None;
        }
        (num(0, 4)?, num(5, 2)?, num(8, 2)?, 10, false)
    } else {
        (num(0, 4)?, num(4, 2)?, num(6, 2)?, 8, true)
    };
    let date = NaiveDate::from_ymd_opt(year as i32, month, day)?;
    let (mut hour, mut minute, mut second, mut nanos) = (0, 0, 0, 0u32);
    if i < b.len() {
        if !matches!(b[i], b'T' | b't' | b' ') {
            return None;
        }
        i += 1;
        hour = num(i, 2)?;
        i += 2;
        let colon = |i: &mut usize| {
            if !basic && b.get(*i) == Some(&b':') {
                *i += 1;
            }
        };
        colon(&mut i);
        minute = num(i, 2)?;
        i += 2;
        if i < b.len() && b[i].is_ascii_digit() || b.get(i) == Some(&b':') {
            colon(&mut i);
            second = num(i, 2)?;
            i += 2;
        }
        if matches!(b.get(i), Some(b'.' | b',')) {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let frac = &s[start..i];
            if frac.is_empty() || frac.len() > 9 {
                return None;
            }
            nanos = frac.parse::<u32>().ok()? * 10u32.pow(9 - frac.len() as u32);
        }
    }
    let offset_secs: i32 = match &s[i..] {
        "" | "Z" | "z" => 0,
        zone => {
            let zb = zone.as_bytes();
            let sign = match zb[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let digits: String = zone[1..].chars().filter(|c| *c != ':').collect();
            if !digits.bytes().all(|d| d.is_ascii_digit()) {
                return None;
            }
            let (h, m) = match digits.len() {
                2 => (digits.parse::<i32>().ok()?, 0),
                4 => (
                    digits[..2].parse::<i32>().ok()?,
                    digits[2..].parse::<i32>().ok()?,
                ),
                _ => return None,
            };
            if h > 18 || m > 59 {
                return None;
            }
            sign * (h * 3600 + m * 60)
        }
    };
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let naive = date.and_hms_nano_opt(hour, minute, second.min(59), nanos)?;
    let utc = Utc.from_utc_datetime(&naive);
    Some(utc - chrono::Duration::seconds(i64::from(offset_secs)))
}

/// A span of time written as `<n><unit>` with units `ms`, `s`, `m`, `h`, `d`, `w`
/// (`5m`, `90s`, `1h`), as in rule schedules and `--chunk`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span(TimeDelta);

/// The longest span accepted (100 years): anything longer is a typo, and time arithmetic
/// stays far inside the calendar's range.
const MAX_DAYS: i64 = 36_525;

/// Why a duration could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpanError {
    /// Not `<n><unit>`, or longer than 100 years.
    #[error("invalid duration `{0}`: expected a number and a unit (ms, s, m, h, d, w), e.g. `5m`, of at most 100 years")]
    Invalid(String),
    /// A span of no time.
    #[error("invalid duration `{0}`: it must be longer than zero")]
    Zero(String),
}

impl Span {
    /// Parses `5m`, `90s`, `1h`, `2d`, `1w`, `250ms`. Zero and negative spans are rejected.
    pub fn parse(text: &str) -> Result<Span, SpanError> {
        let error = || SpanError::Invalid(text.to_string());
        let trimmed = text.trim();
        let split = trimmed
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(error)?;
        let (number, unit) = trimmed.split_at(split);
        let n: i64 = number.parse().map_err(|_| error())?;
        let delta = match unit {
            "ms" => TimeDelta::try_milliseconds(n),
            "s" => TimeDelta::try_seconds(n),
            "m" => TimeDelta::try_minutes(n),
            "h" => TimeDelta::try_hours(n),
            "d" => TimeDelta::try_days(n),
            "w" => TimeDelta::try_weeks(n),
            _ => None,
        }
        .ok_or_else(error)?;
        if delta.is_zero() {
            return Err(SpanError::Zero(text.to_string()));
        }
        if delta > TimeDelta::days(MAX_DAYS) {
            return Err(error());
        }
        Ok(Span(delta))
    }

    /// Builds a span from a chrono delta.
    pub fn from_delta(delta: TimeDelta) -> Span {
        Span(delta)
    }

    /// The span as a chrono delta.
    pub fn delta(self) -> TimeDelta {
        self.0
    }

    /// The span in a unit Elasticsearch and OpenSearch accept (`d` at most: they have no `w`).
    pub fn es_time(self) -> String {
        let text = self.to_string();
        match text.strip_suffix('w') {
            Some(weeks) => format!("{}d", weeks.parse::<i64>().unwrap_or(0) * 7),
            None => text,
        }
    }

    /// The span as a std duration (zero if negative).
    pub fn std(self) -> std::time::Duration {
        self.0.to_std().unwrap_or_default()
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.num_milliseconds();
        let units = [
            (604_800_000, "w"),
            (86_400_000, "d"),
            (3_600_000, "h"),
            (60_000, "m"),
            (1_000, "s"),
        ];
        for (size, unit) in units {
            if ms % size == 0 {
                return write!(f, "{}{unit}", ms / size);
            }
        }
        write!(f, "{ms}ms")
    }
}

impl<'de> serde::Deserialize<'de> for Span {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Span::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Parses a time given on the command line: a timestamp (see [`parse_timestamp`]), `now`, or
/// `now-<span>` / `now+<span>` (e.g. `now-6m`, `now-30d`).
pub fn parse_time_arg(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if let Some(rest) = text.strip_prefix("now") {
        if rest.is_empty() {
            return Ok(now);
        }
        let invalid = || format!("invalid time `{text}`: expected now-<span> or now+<span>");
        let (earlier, span) = match (rest.strip_prefix('-'), rest.strip_prefix('+')) {
            (Some(span), _) => (true, span),
            (None, Some(span)) => (false, span),
            _ => return Err(invalid()),
        };
        let delta = Span::parse(span).map_err(|e| e.to_string())?.delta();
        let moved = if earlier {
            now.checked_sub_signed(delta)
        } else {
            now.checked_add_signed(delta)
        };
        return moved.ok_or_else(invalid);
    }
    parse_timestamp(text).ok_or_else(|| {
        format!("invalid time `{text}`: expected RFC 3339 (2026-03-14T10:00:00Z), a date (2026-03-14), now or now-6m")
    })
}

/// Formats a time the way eshunt writes it everywhere: RFC 3339, UTC, milliseconds (also the
/// date processor's output format, `yyyy-MM-dd'T'HH:mm:ss.SSSZ`).
pub fn format(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A half-open window `[start, end)` on a rule's timestamp field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Window {
    /// Inclusive start.
    pub start: DateTime<Utc>,
    /// Exclusive end.
    pub end: DateTime<Utc>,
}

impl Window {
    /// The window of length `width` holding `t`, aligned to the Unix epoch: `[k·width,
    /// (k+1)·width)`. Any run places `t` in the same one, however its own windows are cut.
    pub fn aligned(t: DateTime<Utc>, width: Span) -> Window {
        let width = width.delta().num_milliseconds().max(1);
        let start_ms = t.timestamp_millis().div_euclid(width) * width;
        let start = DateTime::from_timestamp_millis(start_ms).unwrap_or(t);
        Window {
            start,
            end: start + TimeDelta::milliseconds(width),
        }
    }
}

impl std::fmt::Display for Window {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}, {})", format(self.start), format(self.end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cloudtrail_timestamp_shapes() {
        let expected = "2025-03-26T16:43:57.000Z";
        for text in [
            "2025-03-26T16:43:57Z",
            "2025-03-26T16:43:57.000Z",
            "2025-03-26 16:43:57.000000000",
            "2025-03-26 16:43:57",
            "2025-03-26 16:43:57Z",
            "2025-03-26T18:43:57+02:00",
            "2025-03-26T18:43:57+0200",
            "20250326T164357Z",
        ] {
            assert_eq!(format(parse_timestamp(text).unwrap()), expected, "{text}");
        }
        assert_eq!(
            format(parse_timestamp("2025-03-26").unwrap()),
            "2025-03-26T00:00:00.000Z"
        );
        for junk in [
            "...",
            "redacted",
            "eventTime",
            "",
            "2025-03x26",
            "2025-03-26T16",
        ] {
            assert_eq!(parse_timestamp(junk), None, "{junk}");
        }
    }

    #[test]
    fn command_line_times() {
        let now = parse_timestamp("2026-03-14T10:00:00Z").unwrap();
        assert_eq!(parse_time_arg("now", now).unwrap(), now);
        assert_eq!(
            format(parse_time_arg("now-6m", now).unwrap()),
            "2026-03-14T09:54:00.000Z"
        );
        assert_eq!(
            format(parse_time_arg("now+1d", now).unwrap()),
            "2026-03-15T10:00:00.000Z"
        );
        assert_eq!(
            parse_time_arg("2026-01-01", now).unwrap(),
            parse_timestamp("2026-01-01T00:00:00Z").unwrap()
        );
        assert!(parse_time_arg("now*3", now).is_err());
        assert!(
            parse_time_arg("now\u{2212}7d", now).is_err(),
            "a Unicode minus is an error, not a panic"
        );
        assert!(parse_time_arg("yesterday", now).is_err());
    }

    #[test]
    fn spans_round_trip() {
        for text in ["5m", "90s", "1h", "2d", "1w", "250ms"] {
            assert_eq!(Span::parse(text).unwrap().to_string(), text);
        }
        assert_eq!(Span::parse("60m").unwrap().to_string(), "1h");
        assert_eq!(Span::parse("2w").unwrap().es_time(), "14d");
        assert_eq!(Span::parse("90s").unwrap().es_time(), "90s");
        for bad in [
            "",
            "5",
            "m",
            "0m",
            "-5m",
            "5 parsecs",
            "5x",
            "300000000w",
            "99999999999999999999d",
        ] {
            assert!(Span::parse(bad).is_err(), "{bad}");
        }
    }
}
