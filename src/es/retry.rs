//! Retrying requests: exponential backoff with full jitter, bounded, for the failures that are
//! worth retrying (429, 502, 503, 504, connection errors and timeouts).

use std::time::Duration;

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The delay ceiling of the first retry; it doubles per retry.
    pub initial: Duration,
    /// The delay ceiling never exceeds this.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 6,
            initial: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The delay before retry number `attempt` (1-based): uniformly random in
    /// `[0, min(max_delay, initial × 2^(attempt-1))]` ("full jitter").
    pub fn delay(&self, attempt: u32, jitter: &mut Jitter) -> Duration {
        let ceiling = self
            .initial
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
            .min(self.max_delay);
        ceiling.mul_f64(jitter.next_unit())
    }
}

/// True for HTTP statuses worth retrying: overload and gateway errors.
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 429 | 502 | 503 | 504)
}

/// A small xorshift generator for jitter (no need for cryptographic randomness).
#[derive(Debug, Clone)]
pub struct Jitter(u64);

impl Jitter {
    /// Seeded from the clock and a per-call counter so concurrent callers spread out.
    pub fn new() -> Jitter {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0x9E37_79B9_7F4A_7C15);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64);
        Jitter::seeded(nanos ^ COUNTER.fetch_add(0x9E37_79B9, Ordering::Relaxed))
    }

    /// A generator with a fixed seed (tests).
    pub fn seeded(seed: u64) -> Jitter {
        Jitter(seed | 1)
    }

    /// A number in `[0, 1)`.
    pub fn next_unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

impl Default for Jitter {
    fn default() -> Self {
        Jitter::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_exponentially_within_their_ceiling() {
        let policy = RetryPolicy {
            max_retries: 10,
            initial: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
        };
        let mut jitter = Jitter::seeded(42);
        for attempt in 1..=10 {
            let ceiling =
                Duration::from_millis(100 * (1 << (attempt - 1))).min(Duration::from_secs(2));
            for _ in 0..50 {
                let d = policy.delay(attempt, &mut jitter);
                assert!(d <= ceiling, "attempt {attempt}: {d:?} > {ceiling:?}");
            }
        }
    }

    #[test]
    fn jitter_spreads_over_the_unit_interval() {
        let mut jitter = Jitter::seeded(7);
        let samples: Vec<f64> = (0..1000).map(|_| jitter.next_unit()).collect();
        assert!(samples.iter().all(|x| (0.0..1.0).contains(x)));
        let mean = samples.iter().sum::<f64>() / samples.len() as f64;
        assert!((0.4..0.6).contains(&mean), "{mean}");
    }

    #[test]
    fn retryable_statuses() {
        for s in [429, 502, 503, 504] {
            assert!(is_retryable_status(s));
        }
        for s in [200, 400, 401, 403, 404, 409, 500] {
            assert!(!is_retryable_status(s));
        }
    }
}
