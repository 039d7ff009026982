//! Event times: a span split into buckets weighted by a working-day curve, a weekend dip and
//! random bursts; slot `i` of `n` gets the time where the cumulative weight reaches
//! `(i + ½) / n`, so times increase with the slot, plus a little jitter.

use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc};

use super::rng::{mix, Rng};

/// Parses `30s`, `15m`, `12h`, `1d`, `2w` (a bare number is seconds).
pub fn parse_span(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = num
        .parse()
        .map_err(|_| format!("bad span {s:?}: expected e.g. 1d, 12h, 30m"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        "w" => n * 7 * 86_400,
        _ => return Err(format!("bad span unit in {s:?}: use s, m, h, d or w")),
    };
    if secs <= 0 {
        return Err("span must be positive".into());
    }
    Ok(Duration::seconds(secs))
}

/// Parses an RFC 3339 start time.
pub fn parse_start(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("bad --start {s:?}: {e}"))
}

/// The time distribution over a span.
#[derive(Debug, Clone)]
pub struct Timeline {
    start: DateTime<Utc>,
    span_ms: i64,
    bucket_ms: i64,
    cumulative: Vec<f64>,
}

fn intensity(t: DateTime<Utc>) -> f64 {
    // Working hours around 13:00–23:00 UTC (US east coast day) and a quieter night.
    let h = f64::from(t.hour()) + f64::from(t.minute()) / 60.0;
    let day = (-((h - 18.0) / 4.0).powi(2)).exp();
    let weekend = matches!(t.weekday(), chrono::Weekday::Sat | chrono::Weekday::Sun);
    (0.35 + 1.6 * day) * if weekend { 0.45 } else { 1.0 }
}

impl Timeline {
    /// A timeline over `[start, start + span)` with bursts drawn from `seed`.
    pub fn new(start: DateTime<Utc>, span: Duration, seed: u64) -> Timeline {
        let span_ms = span.num_milliseconds().max(1);
        let buckets = (span_ms / 300_000).clamp(1, 200_000);
        let bucket_ms = (span_ms / buckets).max(1);
        let mut rng = Rng::new(mix(&[seed, 0x7131]));
        let mut acc = 0.0;
        let cumulative = (0..buckets)
            .map(|b| {
                let mid = start + Duration::milliseconds(b * bucket_ms + bucket_ms / 2);
                let burst = if rng.chance(0.03) {
                    2.0 + rng.unit() * 5.0
                } else {
                    1.0
                };
                acc += intensity(mid) * burst * (0.85 + 0.3 * rng.unit());
                acc
            })
            .collect();
        Timeline {
            start,
            span_ms,
            bucket_ms,
            cumulative,
        }
    }

    /// The time of slot `i` of `n`, with up to ±`jitter_ms` of noise (kept inside the span).
    pub fn at(&self, i: u64, n: u64, jitter_ms: i64, rng: &mut Rng) -> DateTime<Utc> {
        let total = *self.cumulative.last().unwrap_or(&1.0);
        let target = (i as f64 + 0.5) / n.max(1) as f64 * total;
        let b = self
            .cumulative
            .partition_point(|c| *c < target)
            .min(self.cumulative.len() - 1);
        let before = if b == 0 { 0.0 } else { self.cumulative[b - 1] };
        let frac = ((target - before) / (self.cumulative[b] - before).max(f64::MIN_POSITIVE))
            .clamp(0.0, 1.0);
        let mut ms = b as i64 * self.bucket_ms + (frac * self.bucket_ms as f64) as i64;
        if jitter_ms > 0 {
            ms += rng.range(0, 2 * jitter_ms as u64) as i64 - jitter_ms;
        }
        let ms = ms.clamp(0, self.span_ms - 1);
        let t = self.start + Duration::milliseconds(ms);
        Utc.timestamp_opt(t.timestamp(), 0).single().unwrap_or(t)
    }
}
