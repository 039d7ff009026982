//! Date formats: parsing a date string the way an Elasticsearch `date` field's `format` does.
//!
//! Supported: the built-in formats eshunt meets in practice (`strict_date_optional_time`,
//! `date_optional_time`, `strict_date_optional_time_nanos`, `epoch_millis`, `epoch_second`,
//! `strict_date`, `basic_date`, `strict_date_time`, `strict_year_month`, …, each also without
//! the `strict_` prefix) and custom Java-style patterns built from `y u M d H m s S Z X x` and
//! quoted literals. Several formats may be joined with `||`; the first that parses wins.
//!
//! Round-up parsing follows Elasticsearch's documented rule for range queries ("missing date
//! components"): when a bound is parsed rounding up, a missing hour, minute, second or fraction
//! is filled with its largest value (`23:59:59.999999999`), while a missing month or day is `01`.

use crate::dsl::error::DslError;
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

/// Nanoseconds since the Unix epoch, UTC. `i128` comfortably covers every date Elasticsearch's
/// `date` type accepts.
pub(crate) type Nanos = i128;

/// Nanoseconds in one millisecond.
pub(crate) const NANOS_PER_MILLI: Nanos = 1_000_000;
const NANOS_PER_SEC: Nanos = 1_000_000_000;

/// A parsed `format` mapping parameter: one or more alternatives tried in order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DateFormat {
    alternatives: Vec<Alternative>,
}

#[derive(Debug, Clone, PartialEq)]
enum Alternative {
    /// ISO-8601 with optional time and zone; `strict` requires two-digit fields.
    Iso {
        strict: bool,
    },
    EpochMillis,
    EpochSecond,
    Pattern(Vec<PatTok>),
}

/// One element of a custom pattern.
#[derive(Debug, Clone, PartialEq)]
enum PatTok {
    Literal(char),
    /// A numeric field with its minimum and maximum digit count.
    Num(NumField, usize, usize),
    /// Two-digit year (`yy`), read as 2000–2099.
    ShortYear,
    /// Month name, abbreviated (`MMM`) or full (`MMMM`); both forms are accepted.
    MonthName,
    /// Fraction of a second with exactly this many digits.
    Fraction(usize),
    /// Zone offset; `allow_z` accepts a literal `Z`.
    Offset {
        allow_z: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum NumField {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
}

/// Date-time fields read from a string, before defaults are filled in.
#[derive(Debug, Default, Clone, Copy)]
struct Fields {
    year: Option<i64>,
    month: Option<u32>,
    day: Option<u32>,
    hour: Option<u32>,
    minute: Option<u32>,
    second: Option<u32>,
    nano: Option<u32>,
    /// Offset east of UTC in seconds.
    offset: Option<i32>,
}

impl DateFormat {
    /// Parses a `format` string such as `strict_date_optional_time||epoch_millis`.
    pub(crate) fn parse(spec: &str) -> Result<DateFormat, DslError> {
        let mut alternatives = Vec::new();
        for part in spec.split("||") {
            let part = part.trim();
            if part.is_empty() {
                return Err(DslError::mapping(format!("invalid date format [{spec}]")));
            }
            alternatives.push(Alternative::parse(part)?);
        }
        Ok(DateFormat { alternatives })
    }

    /// The default `date` field format.
    pub(crate) fn default_format() -> DateFormat {
        DateFormat {
            alternatives: vec![Alternative::Iso { strict: true }, Alternative::EpochMillis],
        }
    }

    /// Parses `text` into an instant. `round_up` fills missing time parts with their maximum;
    /// `default_offset` (seconds east of UTC) applies when the text carries no zone.
    pub(crate) fn parse_instant(
        &self,
        text: &str,
        round_up: bool,
        default_offset: i32,
    ) -> Option<Nanos> {
        self.alternatives
            .iter()
            .find_map(|alt| alt.parse_instant(text, round_up, default_offset))
    }

    /// Whether a JSON number may be read by this format (Elasticsearch reads numbers through
    /// the format too, as their decimal text).
    pub(crate) fn has_epoch(&self) -> bool {
        self.alternatives
            .iter()
            .any(|a| matches!(a, Alternative::EpochMillis | Alternative::EpochSecond))
    }
}

impl Alternative {
    fn parse(name: &str) -> Result<Alternative, DslError> {
        let base = name.strip_prefix("strict_").unwrap_or(name);
        let strict = base.len() != name.len();
        let pattern = |p: &str| compile_pattern(p).map(Alternative::Pattern);
        match base {
            "date_optional_time"
            | "date_optional_time_nanos"
            | "date_time"
            | "date_time_no_millis" => Ok(Alternative::Iso { strict }),
            "iso8601" => Ok(Alternative::Iso { strict: false }),
            "epoch_millis" => Ok(Alternative::EpochMillis),
            "epoch_second" => Ok(Alternative::EpochSecond),
            "date" | "year_month_day" => pattern("yyyy-MM-dd"),
            "year_month" => pattern("yyyy-MM"),
            "year" => pattern("yyyy"),
            "date_hour_minute_second" => pattern("yyyy-MM-dd'T'HH:mm:ss"),
            "date_hour_minute_second_millis" | "date_hour_minute_second_fraction" => {
                pattern("yyyy-MM-dd'T'HH:mm:ss.SSS")
            }
            "date_hour_minute" => pattern("yyyy-MM-dd'T'HH:mm"),
            "date_hour" => pattern("yyyy-MM-dd'T'HH"),
            "basic_date" => pattern("yyyyMMdd"),
            "basic_date_time" => pattern("yyyyMMdd'T'HHmmss.SSSX"),
            "basic_date_time_no_millis" => pattern("yyyyMMdd'T'HHmmssX"),
            "hour_minute_second" => pattern("HH:mm:ss"),
            "hour_minute" => pattern("HH:mm"),
            _ if name.chars().all(|c| c.is_ascii_lowercase() || c == '_') && name.len() > 2 => Err(
                DslError::mapping(format!("unsupported date format [{name}]")),
            ),
            _ => pattern(name),
        }
    }

    fn parse_instant(&self, text: &str, round_up: bool, default_offset: i32) -> Option<Nanos> {
        match self {
            Alternative::Iso { strict } => {
                parse_iso(text, *strict)?.to_instant(round_up, default_offset)
            }
            Alternative::EpochMillis => parse_epoch(text, NANOS_PER_MILLI, round_up),
            Alternative::EpochSecond => parse_epoch(text, NANOS_PER_SEC, round_up),
            Alternative::Pattern(toks) => {
                parse_pattern(toks, text)?.to_instant(round_up, default_offset)
            }
        }
    }
}

impl Fields {
    /// Fills defaults (month/day `01`; time parts `0` or, rounding up, their maximum) and
    /// converts to an instant.
    fn to_instant(self, round_up: bool, default_offset: i32) -> Option<Nanos> {
        let (hour, minute, second, nano) = if round_up {
            (23, 59, 59, 999_999_999)
        } else {
            (0, 0, 0, 0)
        };
        let year = i32::try_from(self.year.unwrap_or(1970)).ok()?;
        let date = NaiveDate::from_ymd_opt(year, self.month.unwrap_or(1), self.day.unwrap_or(1))?;
        let time = NaiveTime::from_hms_nano_opt(
            self.hour.unwrap_or(hour),
            self.minute.unwrap_or(minute),
            self.second.unwrap_or(second),
            self.nano.unwrap_or(nano),
        )?;
        let local = naive_to_nanos(&NaiveDateTime::new(date, time));
        let offset = self.offset.unwrap_or(default_offset);
        Some(local - Nanos::from(offset) * NANOS_PER_SEC)
    }
}

/// Nanoseconds since the epoch of a naive (UTC-interpreted) date-time.
pub(crate) fn naive_to_nanos(dt: &NaiveDateTime) -> Nanos {
    let utc = dt.and_utc();
    Nanos::from(utc.timestamp()) * NANOS_PER_SEC + Nanos::from(utc.timestamp_subsec_nanos())
}

/// The naive UTC date-time of an instant, if chrono can represent it.
pub(crate) fn nanos_to_naive(n: Nanos) -> Option<NaiveDateTime> {
    let secs = i64::try_from(n.div_euclid(NANOS_PER_SEC)).ok()?;
    let sub = u32::try_from(n.rem_euclid(NANOS_PER_SEC)).ok()?;
    chrono::DateTime::from_timestamp(secs, sub).map(|d| d.naive_utc())
}

/// `epoch_millis` / `epoch_second`: an optionally signed integer with an optional fraction.
fn parse_epoch(text: &str, unit: Nanos, round_up: bool) -> Option<Nanos> {
    let (neg, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int_part, frac_part) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    if int_part.is_empty() || int_part.len() > 20 || !int_part.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: Nanos = int_part.parse().ok()?;
    let mut value = whole.checked_mul(unit)?;
    match frac_part {
        Some(f) => {
            if f.is_empty() || f.len() > 9 || !f.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let scale = 10_i128.pow(u32::try_from(f.len()).ok()?);
            value += f.parse::<Nanos>().ok()? * unit / scale;
        }
        // Elasticsearch's round-up parser for epoch formats fills the sub-unit nanoseconds.
        None if round_up => value += unit - 1,
        None => {}
    }
    Some(if neg { -value } else { value })
}

/// A cursor over the bytes of a date string.
struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Self {
        Cursor {
            s: text.as_bytes(),
            pos: 0,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn done(&self) -> bool {
        self.pos == self.s.len()
    }

    /// Reads `min..=max` ASCII digits.
    fn digits(&mut self, min: usize, max: usize) -> Option<(u64, usize)> {
        let start = self.pos;
        let mut value: u64 = 0;
        while self.pos - start < max {
            match self.peek() {
                Some(b) if b.is_ascii_digit() => {
                    value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
                    self.pos += 1;
                }
                _ => break,
            }
        }
        let n = self.pos - start;
        if n < min {
            self.pos = start;
            return None;
        }
        Some((value, n))
    }

    fn num(&mut self, min: usize, max: usize) -> Option<u32> {
        self.digits(min, max)
            .and_then(|(v, _)| u32::try_from(v).ok())
    }

    /// A fraction of 1–9 digits, as nanoseconds.
    fn fraction(&mut self, min: usize, max: usize) -> Option<u32> {
        let (v, n) = self.digits(min, max)?;
        let scale = 10_u64.pow(u32::try_from(9 - n.min(9)).ok()?);
        u32::try_from(v * scale).ok()
    }

    /// A zone: `Z`, `±HH`, `±HH:mm`, `±HHmm`, or `UTC`/`GMT` (optionally followed by an offset).
    fn zone(&mut self, allow_z: bool) -> Option<i32> {
        if allow_z && self.eat(b'Z') {
            return Some(0);
        }
        for name in [&b"UTC"[..], b"GMT"] {
            if self.s[self.pos..].starts_with(name) {
                self.pos += name.len();
                if self.done() {
                    return Some(0);
                }
                return self.offset();
            }
        }
        self.offset()
    }

    fn offset(&mut self) -> Option<i32> {
        let sign = match self.peek()? {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        self.pos += 1;
        let hours = i32::try_from(self.num(2, 2)?).ok()?;
        self.eat(b':');
        let minutes = match self.num(2, 2) {
            Some(m) => i32::try_from(m).ok()?,
            None => 0,
        };
        if hours > 18 || minutes > 59 {
            return None;
        }
        Some(sign * (hours * 3600 + minutes * 60))
    }
}

/// ISO-8601 as `strict_date_optional_time` reads it:
/// `yyyy[-MM[-dd[Thh[:mm[:ss[.fffffffff]]][zone]]]]`.
fn parse_iso(text: &str, strict: bool) -> Option<Fields> {
    let mut c = Cursor::new(text);
    let mut f = Fields::default();
    let two_min = if strict { 2 } else { 1 };
    let (year, _) = c.digits(if strict { 4 } else { 1 }, 9)?;
    f.year = Some(i64::try_from(year).ok()?);
    if c.eat(b'-') {
        f.month = Some(c.num(two_min, 2)?);
        if c.eat(b'-') {
            f.day = Some(c.num(two_min, 2)?);
            if c.eat(b'T') {
                parse_iso_time(&mut c, &mut f, two_min)?;
            }
        }
    }
    c.done().then_some(f)
}

fn parse_iso_time(c: &mut Cursor<'_>, f: &mut Fields, two_min: usize) -> Option<()> {
    if c.done() {
        return Some(());
    }
    if let Some(h) = c.num(two_min, 2) {
        f.hour = Some(h);
        if c.eat(b':') {
            f.minute = Some(c.num(two_min, 2)?);
            if c.eat(b':') {
                f.second = Some(c.num(two_min, 2)?);
                if c.eat(b'.') || c.eat(b',') {
                    f.nano = Some(c.fraction(1, 9)?);
                }
            }
        }
    }
    if !c.done() {
        f.offset = Some(c.zone(true)?);
    }
    Some(())
}

/// Compiles a Java-style pattern such as `yyyy/MM/dd HH:mm:ss Z`.
fn compile_pattern(p: &str) -> Result<Vec<PatTok>, DslError> {
    let chars: Vec<char> = p.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let ch = chars[i];
        if ch == '\'' {
            let end = chars[i + 1..]
                .iter()
                .position(|&c| c == '\'')
                .map(|e| e + i + 1);
            let Some(end) = end else {
                return Err(DslError::mapping(format!(
                    "invalid date format [{p}]: unclosed quote"
                )));
            };
            if end == i + 1 {
                toks.push(PatTok::Literal('\''));
            }
            toks.extend(chars[i + 1..end].iter().map(|&c| PatTok::Literal(c)));
            i = end + 1;
            continue;
        }
        let run = chars[i..].iter().take_while(|&&c| c == ch).count();
        i += run;
        if !ch.is_ascii_alphabetic() {
            toks.extend(std::iter::repeat_n(PatTok::Literal(ch), run));
            continue;
        }
        toks.push(pattern_letter(ch, run).ok_or_else(|| {
            DslError::mapping(format!(
                "unsupported date format [{p}]: pattern letter [{ch}]"
            ))
        })?);
    }
    Ok(toks)
}

fn pattern_letter(ch: char, run: usize) -> Option<PatTok> {
    let two = |field| PatTok::Num(field, if run == 1 { 1 } else { run }, 2.max(run));
    Some(match ch {
        'y' | 'u' if run == 2 => PatTok::ShortYear,
        'y' | 'u' => PatTok::Num(NumField::Year, run.max(1), 9.max(run)),
        'M' if run >= 3 => PatTok::MonthName,
        'M' => two(NumField::Month),
        'd' => two(NumField::Day),
        'H' => two(NumField::Hour),
        'm' => two(NumField::Minute),
        's' => two(NumField::Second),
        'S' => PatTok::Fraction(run),
        'Z' | 'X' => PatTok::Offset { allow_z: true },
        'x' => PatTok::Offset { allow_z: false },
        _ => return None,
    })
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

fn parse_month_name(c: &mut Cursor<'_>) -> Option<u32> {
    let rest = std::str::from_utf8(&c.s[c.pos..]).ok()?;
    let lower: String = rest
        .chars()
        .take(9)
        .collect::<String>()
        .to_ascii_lowercase();
    for (i, name) in MONTHS.iter().enumerate() {
        for len in [name.len(), 3] {
            if lower.starts_with(&name[..len]) {
                c.pos += len;
                return u32::try_from(i + 1).ok();
            }
        }
    }
    None
}

fn parse_pattern(toks: &[PatTok], text: &str) -> Option<Fields> {
    let mut c = Cursor::new(text);
    let mut f = Fields::default();
    for tok in toks {
        match tok {
            PatTok::Literal(ch) => {
                let mut buf = [0u8; 4];
                let enc = ch.encode_utf8(&mut buf).as_bytes();
                if !c.s[c.pos..].starts_with(enc) {
                    return None;
                }
                c.pos += enc.len();
            }
            PatTok::Num(field, min, max) => {
                let v = c.num(*min, *max)?;
                match field {
                    NumField::Year => f.year = Some(i64::from(v)),
                    NumField::Month => f.month = Some(v),
                    NumField::Day => f.day = Some(v),
                    NumField::Hour => f.hour = Some(v),
                    NumField::Minute => f.minute = Some(v),
                    NumField::Second => f.second = Some(v),
                }
            }
            PatTok::ShortYear => f.year = Some(2000 + i64::from(c.num(2, 2)?)),
            PatTok::MonthName => f.month = Some(parse_month_name(&mut c)?),
            PatTok::Fraction(n) => f.nano = Some(c.fraction(*n, *n)?),
            PatTok::Offset { allow_z } => f.offset = Some(c.zone(*allow_z)?),
        }
    }
    c.done().then_some(f)
}

/// Parses a `time_zone` parameter. Only fixed offsets are evaluated: `Z`, `UTC`, `GMT`,
/// `Etc/UTC`, `+01:00`, `-0500`, `UTC+02:00`. A region such as `America/Phoenix` is refused
/// rather than guessed, since its offset depends on the date.
pub(crate) fn parse_time_zone(tz: &str, query_type: &str) -> Result<i32, DslError> {
    let trimmed = tz.trim();
    let body = trimmed
        .strip_prefix("Etc/")
        .map(|r| {
            if r == "UTC" || r == "GMT" || r == "UCT" || r == "Zulu" {
                "Z"
            } else {
                r
            }
        })
        .unwrap_or(trimmed);
    if matches!(body, "Z" | "UTC" | "GMT" | "UT" | "Zulu" | "UCT") {
        return Ok(0);
    }
    let mut c = Cursor::new(body);
    if let Some(off) = c.zone(true) {
        if c.done() {
            return Ok(off);
        }
    }
    Err(DslError::unsupported_feature(
        query_type,
        format!("time_zone [{tz}] (only fixed offsets such as +01:00 or UTC are evaluated)"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(s: &str, up: bool) -> Option<Nanos> {
        DateFormat::default_format().parse_instant(s, up, 0)
    }

    fn ms(n: Option<Nanos>) -> Option<i128> {
        n.map(|v| v.div_euclid(NANOS_PER_MILLI))
    }

    #[test]
    fn iso_forms() {
        assert_eq!(ms(iso("1970-01-01T00:00:01Z", false)), Some(1000));
        assert_eq!(ms(iso("1970-01-01T01:00:00+01:00", false)), Some(0));
        assert_eq!(ms(iso("1970-01-01T00:00:00.5", false)), Some(500));
        assert_eq!(ms(iso("1970-01-02", false)), Some(86_400_000));
        assert_eq!(ms(iso("1970", false)), Some(0));
        assert_eq!(iso("1970-1-01", false), None);
        assert_eq!(iso("not a date", false), None);
    }

    #[test]
    fn round_up_fills_time_not_date() {
        // "2099-12" rounding up becomes 2099-12-01T23:59:59.999999999 (ES "missing date components").
        let up = iso("2099-12", true).unwrap();
        let down = iso("2099-12-01T23:59:59.999999999Z", false).unwrap();
        assert_eq!(up, down);
    }

    #[test]
    fn epoch_millis_numbers() {
        assert_eq!(ms(iso("1704067200000", false)), Some(1_704_067_200_000));
        assert_eq!(ms(iso("-1000", false)), Some(-1000));
    }

    #[test]
    fn custom_patterns() {
        let f = DateFormat::parse("yyyy/MM/dd HH:mm:ss||yyyy/MM/dd").unwrap();
        assert_eq!(
            ms(f.parse_instant("1970/01/01 00:00:02", false, 0)),
            Some(2000)
        );
        assert_eq!(
            ms(f.parse_instant("1970/01/02", false, 0)),
            Some(86_400_000)
        );
        let g = DateFormat::parse("dd-MMM-yyyy").unwrap();
        assert_eq!(
            ms(g.parse_instant("02-Jan-1970", false, 0)),
            Some(86_400_000)
        );
        assert!(DateFormat::parse("no_such_format").is_err());
    }

    #[test]
    fn time_zones() {
        assert_eq!(parse_time_zone("+01:00", "range").unwrap(), 3600);
        assert_eq!(
            parse_time_zone("-0530", "range").unwrap(),
            -(5 * 3600 + 1800)
        );
        assert_eq!(parse_time_zone("UTC", "range").unwrap(), 0);
        assert!(parse_time_zone("America/Phoenix", "range").is_err());
    }
}
