//! Timestamps and durations as they appear in CloudTrail records, rule files and the command line.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, Utc};
use std::fmt;

/// Parses the timestamp shapes found in CloudTrail and ECS data: RFC 3339
/// (`2026-03-14T10:00:00Z`, with any fraction or offset), `2026-03-14 10:00:00[.fff…][Z]` (space
/// separator, as in some exports), and a bare date `2026-03-14` (midnight UTC).
pub fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    let naive = text.strip_suffix('Z').unwrap_or(text);
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(naive, format) {
            return Some(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
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
#[error("invalid duration `{text}`: expected a number and a unit (ms, s, m, h, d, w), e.g. `5m`, of at most 100 years")]
pub struct SpanError {
    /// The offending text.
    pub text: String,
}

impl Span {
    /// Parses `5m`, `90s`, `1h`, `2d`, `1w`, `250ms`. Zero and negative spans are rejected.
    pub fn parse(text: &str) -> Result<Span, SpanError> {
        let error = || SpanError {
            text: text.to_string(),
        };
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
        if delta <= TimeDelta::zero() || delta > TimeDelta::days(MAX_DAYS) {
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

/// Formats a time the way eshunt writes it everywhere: RFC 3339, UTC, milliseconds.
pub fn format(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
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
        ] {
            assert_eq!(format(parse_timestamp(text).unwrap()), expected, "{text}");
        }
        assert_eq!(
            format(parse_timestamp("2025-03-26").unwrap()),
            "2025-03-26T00:00:00.000Z"
        );
        for junk in ["...", "redacted", "eventTime", ""] {
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
