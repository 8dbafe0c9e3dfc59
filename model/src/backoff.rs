//! Retry schedules: how long to wait after a failure, for the tracker (posting to the collector) and
//! for the collector's queue consumer (calling Mindbox). One rule, two schedules.

/// A retry schedule: the first delay and the longest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// Delay after the first failure (before jitter), in ms.
    pub base_ms: u64,
    /// Longest delay (before `Retry-After`), in ms.
    pub max_ms: u64,
}

/// The tracker's schedule when the collector is unreachable or refuses for now: 1 s up to 5 minutes
/// (a shopper's tab is short-lived; the next page load tries again at once anyway).
pub const TRACKER: Schedule = Schedule {
    base_ms: 1_000,
    max_ms: 5 * 60 * 1_000,
};

/// The queue consumer's schedule when Mindbox fails for now: 1 s up to 15 minutes.
pub const CONSUMER: Schedule = Schedule {
    base_ms: 1_000,
    max_ms: 15 * 60 * 1_000,
};

/// Delay in ms after `failures` consecutive failures (≥ 1): `base · 2^(failures-1)` capped at the
/// schedule's longest, with "equal jitter" (half fixed, half random: `jitter` in 0..1), and never less
/// than `Retry-After` (`retry_after_ms`).
pub fn delay_ms(
    schedule: Schedule,
    failures: u32,
    jitter: f64,
    retry_after_ms: Option<u64>,
) -> u64 {
    let exp = failures.saturating_sub(1).min(30);
    let base = schedule
        .base_ms
        .saturating_mul(1 << exp)
        .min(schedule.max_ms);
    let j = if jitter.is_finite() {
        jitter.clamp(0.0, 1.0)
    } else {
        0.5
    };
    let delay = base / 2 + ((base / 2) as f64 * j) as u64;
    delay.max(retry_after_ms.unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_with_jitter_up_to_the_cap() {
        assert_eq!(delay_ms(TRACKER, 1, 0.0, None), 500);
        assert_eq!(delay_ms(TRACKER, 1, 1.0, None), 1_000);
        assert_eq!(delay_ms(TRACKER, 4, 1.0, None), 8_000);
        assert_eq!(delay_ms(TRACKER, 4, 0.0, None), 4_000);
        assert_eq!(delay_ms(TRACKER, 30, 1.0, None), TRACKER.max_ms);
        assert_eq!(delay_ms(CONSUMER, 40, 1.0, None), CONSUMER.max_ms);
        assert_eq!(delay_ms(TRACKER, 1, 0.5, Some(30_000)), 30_000);
        assert_eq!(delay_ms(TRACKER, 1, f64::NAN, None), 750);
    }
}
