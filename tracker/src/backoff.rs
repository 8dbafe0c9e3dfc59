//! The tracker's retry schedule when the collector is unreachable or refuses for now.

/// First retry delay.
pub const BASE_MS: u64 = 1_000;
/// Longest delay between two tries.
pub const MAX_MS: u64 = 5 * 60 * 1_000;

/// Delay before the next try after `failures` consecutive failures (≥ 1): `1 s · 2^(failures-1)`
/// capped at 5 minutes, with equal jitter (`jitter` in 0..1 picks a point in the upper half), and never
/// less than the collector's `Retry-After`.
pub fn delay_ms(failures: u32, jitter: f64, retry_after_ms: Option<u64>) -> u64 {
    let exp = failures.saturating_sub(1).min(20);
    let base = BASE_MS.saturating_mul(1 << exp).min(MAX_MS);
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
        assert_eq!(delay_ms(1, 0.0, None), 500);
        assert_eq!(delay_ms(1, 1.0, None), 1_000);
        assert_eq!(delay_ms(4, 1.0, None), 8_000);
        assert_eq!(delay_ms(4, 0.0, None), 4_000);
        assert_eq!(delay_ms(30, 1.0, None), MAX_MS);
        assert_eq!(delay_ms(1, 0.5, Some(30_000)), 30_000);
        assert_eq!(delay_ms(1, f64::NAN, None), 750);
    }
}
