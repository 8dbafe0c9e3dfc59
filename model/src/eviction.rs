//! The browser outbox's bounds, and which events go when it is full.
//!
//! The outbox (`tracker/js/outbox.js`) keeps every event until the collector answers for it; these
//! bounds keep a shopper who is offline for weeks from filling the disk. Beyond them the oldest
//! pending events are evicted, and the eviction is counted where QA sees it.

/// Most pending events kept.
pub const MAX_EVENTS: usize = 1000;
/// Most pending bytes (operation + data) kept.
pub const MAX_BYTES: usize = 2 * 1024 * 1024;

/// How many of the oldest pending events (of these sizes, oldest first) to evict so that at most
/// `max_events` events and `max_bytes` bytes remain.
pub fn evict_count(sizes: &[usize], max_events: usize, max_bytes: usize) -> usize {
    let mut bytes: usize = sizes.iter().sum();
    let mut drop = 0;
    while drop < sizes.len() && (sizes.len() - drop > max_events || bytes > max_bytes) {
        bytes -= sizes[drop];
        drop += 1;
    }
    drop
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_the_oldest_beyond_either_bound() {
        assert_eq!(evict_count(&[1, 1, 1], 3, 10), 0);
        assert_eq!(evict_count(&[1, 1, 1, 1, 1], 3, 10), 2);
        assert_eq!(evict_count(&[6, 3, 3], 10, 7), 1);
        assert_eq!(evict_count(&[6, 3, 3], 10, 5), 2);
        assert_eq!(evict_count(&[20], 10, 5), 1);
        assert_eq!(evict_count(&[], 0, 0), 0);
    }
}
