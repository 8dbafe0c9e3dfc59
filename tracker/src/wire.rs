//! Writing batches for `POST /v1/events` (the format [`crate::batch`] documents) without `serde`, and
//! splitting the outbox into batches the collector accepts (≤ 64 KiB, ≤ 100 events).

use std::ops::Range;

use crate::json::{push_str, push_u64};

/// Largest batch body, in bytes: the collector's cap, and what `sendBeacon` reliably takes.
pub const MAX_BATCH_BYTES: usize = 64 * 1024;
/// Most events per batch: the collector's cap.
pub const MAX_BATCH_EVENTS: usize = 100;

/// Writes one event as JSON: `{"id","operation","createdAt","data"}`; `data` must already be JSON text.
/// `createdAt` keeps microseconds (`1795000000000.001`): events made in the same millisecond keep
/// their call order on the wire.
pub fn event_json(id: &str, operation: &str, created_at: f64, data: &str) -> String {
    let mut out = String::with_capacity(80 + operation.len() + data.len());
    out.push_str("{\"id\":");
    push_str(&mut out, id);
    out.push_str(",\"operation\":");
    push_str(&mut out, operation);
    out.push_str(",\"createdAt\":");
    push_time(&mut out, created_at);
    out.push_str(",\"data\":");
    out.push_str(data);
    out.push('}');
    out
}

/// Milliseconds since the Unix epoch with up to three decimals (microseconds), without float
/// formatting (the wasm carries none).
pub fn push_time(out: &mut String, ms: f64) {
    let micros = (ms.max(0.0) * 1000.0).round() as u64;
    push_u64(out, micros / 1000);
    let frac = micros % 1000;
    if frac > 0 {
        out.push('.');
        for d in [frac / 100, frac / 10 % 10, frac % 10] {
            out.push((b'0' + d as u8) as char);
        }
    }
}

/// Bytes a batch adds around its events: `{"deviceUUID":"<36>","sentAt":<17>,"events":[` … `]}`.
const OVERHEAD: usize = r#"{"deviceUUID":"","sentAt":,"events":[]}"#.len() + 36 + 17;

/// Writes a batch body from events written by [`event_json`]; `sent_at` is the tracker's clock now
/// (ms), which lets the collector measure each event's age without trusting the clock.
pub fn batch_body<S: AsRef<str>>(device_uuid: &str, sent_at: f64, events: &[S]) -> String {
    let len: usize = events.iter().map(|e| e.as_ref().len() + 1).sum();
    let mut out = String::with_capacity(OVERHEAD + len);
    out.push_str("{\"deviceUUID\":");
    push_str(&mut out, device_uuid);
    out.push_str(",\"sentAt\":");
    push_time(&mut out, sent_at);
    out.push_str(",\"events\":[");
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(e.as_ref());
    }
    out.push_str("]}");
    out
}

/// Splits events of the given JSON sizes, in order, into consecutive batches of at most `max_bytes`
/// (body size) and `max_events`. Events too big for any batch are returned apart: they can never be
/// sent and belong in the rejected store.
pub fn split(
    sizes: &[usize],
    max_bytes: usize,
    max_events: usize,
) -> (Vec<Range<usize>>, Vec<usize>) {
    let mut batches = Vec::new();
    let mut oversize = Vec::new();
    let mut start = 0;
    let mut bytes = OVERHEAD;
    let mut count = 0;
    for (i, &size) in sizes.iter().enumerate() {
        if OVERHEAD + size > max_bytes {
            if count > 0 {
                batches.push(start..i);
            }
            oversize.push(i);
            start = i + 1;
            bytes = OVERHEAD;
            count = 0;
            continue;
        }
        let add = size + usize::from(count > 0);
        if count == max_events || bytes + add > max_bytes {
            batches.push(start..i);
            start = i;
            bytes = OVERHEAD + size;
            count = 1;
        } else {
            bytes += add;
            count += 1;
        }
    }
    if count > 0 {
        batches.push(start..sizes.len());
    }
    (batches, oversize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{check_batch, Limits, Policy};

    const ID: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";

    #[test]
    fn written_batches_pass_the_collectors_check() {
        let e = event_json(
            ID,
            "Website.ViewProduct",
            1_795_000_000_000.002,
            r#"{"a":"б\"c"}"#,
        );
        let body = batch_body(ID, 1_795_000_000_500.0, &[e]);
        let checked = check_batch(body.as_bytes(), &Limits::default(), &Policy::default()).unwrap();
        let ev = checked.events[0].as_ref().unwrap();
        assert_eq!(ev.data["a"], "б\"c");
        assert_eq!(ev.created_at, Some(1_795_000_000_000.002));
        assert_eq!(checked.sent_at, Some(1_795_000_000_500.0));
    }

    #[test]
    fn times_keep_microseconds() {
        for (t, text) in [
            (0.0, "0"),
            (1_795_000_000_000.0, "1795000000000"),
            (1_795_000_000_000.001, "1795000000000.001"),
            (1_795_000_000_000.25, "1795000000000.250"),
            (-5.0, "0"),
        ] {
            let mut out = String::new();
            push_time(&mut out, t);
            assert_eq!(out, text);
        }
    }

    #[test]
    fn splits_at_the_byte_and_count_caps() {
        let (b, o) = split(&[10, 10, 10], 1000, 2);
        assert_eq!((b, o), (vec![0..2, 2..3], vec![]));
        // 64 KiB: three 30 000-byte events cannot share one batch, two can.
        let (b, o) = split(&[30_000, 30_000, 30_000], MAX_BATCH_BYTES, 100);
        assert_eq!(b, vec![0..2, 2..3]);
        assert!(o.is_empty());
        let (b, o) = split(&[10, 70_000, 10], MAX_BATCH_BYTES, 100);
        assert_eq!((b, o), (vec![0..1, 2..3], vec![1]));
        assert_eq!(split(&[], MAX_BATCH_BYTES, 100), (vec![], vec![]));
    }

    #[test]
    fn every_split_batch_fits() {
        let sizes: Vec<usize> = (0..500).map(|i| (i * 7919) % 20_000 + 50).collect();
        let (batches, oversize) = split(&sizes, MAX_BATCH_BYTES, MAX_BATCH_EVENTS);
        assert!(oversize.is_empty());
        let mut next = 0;
        for r in batches {
            assert_eq!(r.start, next);
            next = r.end;
            let body = OVERHEAD + sizes[r.clone()].iter().sum::<usize>() + r.len() - 1;
            assert!(body <= MAX_BATCH_BYTES && r.len() <= MAX_BATCH_EVENTS);
        }
        assert_eq!(next, sizes.len());
    }
}
