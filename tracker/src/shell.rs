//! The tracker's Rust half as the JS shell calls it: text in, text out, the clock and randomness
//! passed in. Pure Rust (host-tested); `ffi` exposes it to the wasm module's caller.
//!
//! Every event walks one pipeline, one file per step: page call (`tracker/js/loader.js` →
//! `tracker/js/core.js` → [`Tracker::call`], decided by [`crate::page`], arguments read by
//! [`crate::args`], payload from [`crate::payload`]) → event → IndexedDB outbox
//! (`tracker/js/outbox.js`, bounds from [`crate::eviction`]) → batch ([`Tracker::batches`], wire
//! format from [`crate::wire`]) → collector (`tracker/js/flush.js` posts, `answer.js` reads the
//! answer; [`retry_delay`] picks the retry delay from [`crate::backoff`]).
//!
//! **Why the I/O is JS, and why only text crosses.** Everything that decides — argument checks,
//! payloads, event ids, the wire format, batch splitting, retry delays, eviction — is Rust and shares
//! its model with the collector. IndexedDB, `fetch`, timers, listeners, the sending-tab lock and the
//! device cookie are a few hundred lines of JS. Only text and numbers cross between the two, in the
//! small formats below, through a few plain wasm exports (`ffi.rs`) and a few lines of JS
//! (`tracker/js/wasm.js`): generated glue that reads JS objects field by field cost kilobytes every
//! shopper downloads (see docs/measurements.md).

use crate::json::concat;
use crate::page::Page;
use crate::{backoff, json, wire};

/// Separates the fields of a record (and of a made event, and a batch's range from its body).
pub const FIELD: char = '\u{1}';
/// Separates records (and batches).
pub const RECORD: char = '\u{0}';
/// Starts what [`Tracker::call`] returns for a message (for the console and the call's `onError`).
pub const MESSAGE: char = '\u{2}';

/// The tracker's Rust half in one tab: the page's settings and the decisions.
pub struct Tracker {
    page: Page,
    last_at: f64,
}

impl Tracker {
    /// The tracker of a page whose script tag names `endpoint_id`.
    pub fn new(endpoint_id: Option<String>) -> Tracker {
        Tracker {
            page: Page::new(endpoint_id),
            last_at: 0.0,
        }
    }

    /// One `mindbox(method, arg)` call from the page, other than `sync`, `consent` and `helpers.*` (the
    /// JS shell answers those), with `arg` as JSON text, at `now` (ms), with 16 random bytes for the
    /// event id. Returns the event to store as `id␁operation␁createdAt␁data`, `""` when the call only
    /// set something, or [`MESSAGE`] and what was expected when the call is dropped.
    pub fn call(&mut self, method: &str, arg: &str, now: f64, random: [u8; 16]) -> String {
        match self.page.call(method, arg) {
            Ok(Some(made)) => {
                // Strictly increasing within the tab: events of one millisecond keep call order.
                let at = now.max(self.last_at + 0.001);
                let mut time = String::new();
                wire::push_time(&mut time, at);
                let id = crate::uuid::v4_from_bytes(random);
                // An event no batch can carry is refused now: stored, it would only push older
                // events out of the outbox and never be sent.
                let size =
                    wire::EVENT_OVERHEAD + made.operation.len() + time.len() + made.data.len();
                if !wire::fits_a_batch(size) {
                    return concat(&[
                        &MESSAGE.to_string(),
                        "mindbox(\"",
                        method,
                        "\"): the event is larger than a 64 KiB batch; it cannot be sent",
                    ]);
                }
                self.last_at = at;
                let f = FIELD.to_string();
                concat(&[&id, &f, &made.operation, &f, &time, &f, &made.data])
            }
            Ok(None) => String::new(),
            Err(message) => {
                let mut out = String::from(MESSAGE);
                out.push_str(&message);
                out
            }
        }
    }

    /// The pending records (oldest first, `id␁operation␁createdAt␁data` joined by `␀`, as
    /// `core.js` writes them; neither separator can occur in an id, an operation, a number or JSON
    /// text; an id after a `+` is an event never sent before) as batches from `device` for the page's
    /// endpoint, sent at `now`: `b<start>,<end>␁<body>` for records `start..end` (`"fresh": true`
    /// when each of them was never sent), after `r<i>,<i+1>␁<reason>` for each event too big to send;
    /// joined by `␀`.
    pub fn batches(&self, device: &str, records: &str, now: f64) -> String {
        let mut fresh = Vec::new();
        let jsons: Vec<String> = if records.is_empty() {
            Vec::new()
        } else {
            fields(records, RECORD, usize::MAX)
                .map(|r| {
                    let new = r.starts_with('+');
                    fresh.push(new);
                    event_json(if new { &r[1..] } else { r })
                })
                .collect()
        };
        let sizes: Vec<usize> = jsons.iter().map(String::len).collect();
        let (ranges, oversize) = wire::split(&sizes, wire::MAX_BATCH_BYTES, wire::MAX_BATCH_EVENTS);
        let mut out = String::new();
        let mut entry = |kind: char, start: usize, end: usize, text: &str| {
            if !out.is_empty() {
                out.push(RECORD);
            }
            out.push(kind);
            json::push_u64(&mut out, start as u64);
            out.push(',');
            json::push_u64(&mut out, end as u64);
            out.push(FIELD);
            out.push_str(text);
        };
        for i in oversize {
            entry(
                'r',
                i,
                i + 1,
                "the event is larger than a 64 KiB batch; it cannot be sent",
            );
        }
        let endpoint = self.page.endpoint_id.as_deref();
        for r in ranges {
            let never_sent = fresh[r.clone()].iter().all(|&f| f);
            let body = wire::batch_body(
                device,
                endpoint,
                self.page.opt_in,
                never_sent,
                now,
                &jsons[r.clone()],
            );
            entry('b', r.start, r.end, &body);
        }
        out
    }
}

/// One record as the wire's event JSON.
fn event_json(record: &str) -> String {
    let mut f = fields(record, FIELD, 4);
    let mut next = || f.next().unwrap_or_default();
    let (id, op, at, data) = (next(), next(), next(), next());
    // `createdAt` as the shell's number text when it is plain decimal milliseconds, else `null` (the
    // collector then counts the event as made when it arrived).
    let b = at.as_bytes();
    let dots = b.iter().filter(|&&c| c == b'.').count();
    let plain = !b.is_empty()
        && b[0] != b'.'
        && b[b.len() - 1] != b'.'
        && dots <= 1
        && b.iter().all(|&c| c == b'.' || c.is_ascii_digit());
    let data = if data.is_empty() { "{}" } else { data };
    wire::event_json_text(id, op, if plain { at } else { "null" }, data)
}

/// The parts of `text` between the ASCII separator `sep`, at most `max` (the last takes the rest).
/// (Cheaper in wasm than `str::split`.)
pub fn fields(text: &str, sep: char, max: usize) -> impl Iterator<Item = &str> {
    let sep = sep as u8;
    let mut rest = Some(text);
    let mut n = 0;
    std::iter::from_fn(move || {
        let t = rest?;
        n += 1;
        match t.bytes().position(|c| c == sep).filter(|_| n < max) {
            Some(at) => {
                rest = t.get(at + 1..);
                t.get(..at)
            }
            None => {
                rest = None;
                Some(t)
            }
        }
    })
}

/// A whole number written in ASCII digits, or `None`.
pub fn digits(text: &str) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    text.bytes().try_fold(0u64, |n, c| {
        c.is_ascii_digit()
            .then(|| n.saturating_mul(10).saturating_add(u64::from(c - b'0')))
    })
}

/// How many of the oldest pending events, of these sizes (operation + data, oldest first), to evict
/// to stay within the outbox's bounds ([`crate::eviction`]).
pub fn evict(sizes: &[usize]) -> usize {
    crate::eviction::evict_count(
        sizes,
        crate::eviction::MAX_EVENTS,
        crate::eviction::MAX_BYTES,
    )
}

/// Whether a record QA imports can be an event of this tracker: a canonical id and an operation name.
pub fn is_event(id: &str, operation: &str) -> bool {
    crate::uuid::is_canonical(id) && crate::operation::is_valid_name(operation)
}

/// Milliseconds to wait after `failures` consecutive failed posts (≥ 1), at least the answer's
/// `Retry-After` seconds: the [`crate::backoff`] tracker schedule, `jitter` in 0..1.
pub fn retry_delay(failures: u32, retry_after: Option<&str>, jitter: f64) -> u64 {
    let retry_after_ms = retry_after
        .and_then(|s| digits(s.trim_ascii()))
        .map(|s| s.saturating_mul(1000));
    backoff::delay_ms(backoff::TRACKER, failures, jitter, retry_after_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{check_batch, Limits, Policy};

    #[test]
    fn a_call_makes_an_event_in_call_order_and_batches_pass_the_collectors_check() {
        let mut t = Tracker::new(Some("shop".into()));
        let a = t.call("viewProduct", r#"{"productId":"1"}"#, 1000.0, [1; 16]);
        let b = t.call("clearCart", "{}", 1000.0, [2; 16]);
        let fa: Vec<&str> = a.split(FIELD).collect();
        let fb: Vec<&str> = b.split(FIELD).collect();
        assert_eq!(fa[1], "Website.ViewProduct");
        assert_eq!(
            (fa[2], fb[2]),
            ("1000", "1000.001"),
            "same millisecond, call order kept"
        );
        let m = t.call("viewProduct", "{}", 1000.0, [3; 16]);
        assert!(m.starts_with(MESSAGE));
        assert_eq!(
            t.call("create", r#"{"endpointId":"shop"}"#, 0.0, [0; 16]),
            ""
        );
        let records = [a.as_str(), b.as_str()].join(&RECORD.to_string());
        let out = t.batches("0f8fad5b-d9cb-469f-a165-70867728950e", &records, 2000.0);
        let body = out.strip_prefix("b0,2\u{1}").expect(&out);
        let checked = check_batch(body.as_bytes(), &Limits::default(), &Policy::default()).unwrap();
        assert_eq!(checked.endpoint_id.as_deref(), Some("shop"));
        assert_eq!(checked.sent_at, Some(2000.0));
        assert_eq!(
            checked.events[1].as_ref().unwrap().created_at,
            Some(1000.001)
        );
        assert!(!checked.consent);
        assert_eq!(t.batches("d", "", 0.0), "");
        // An opt-in page's batches say that the visitor consented (it sends nothing before).
        assert_eq!(
            t.call("create", r#"{"consent":"opt-in"}"#, 0.0, [0; 16]),
            ""
        );
        let out = t.batches("0f8fad5b-d9cb-469f-a165-70867728950e", &records, 2000.0);
        let body = out.strip_prefix("b0,2\u{1}").expect(&out);
        let checked = check_batch(body.as_bytes(), &Limits::default(), &Policy::default()).unwrap();
        assert!(checked.consent && !checked.fresh);
        // A batch says it is fresh only when every event of it was never sent before (`+` ids).
        let marked = |r: &str| format!("+{r}");
        let both = [marked(&a), marked(&b)].join(&RECORD.to_string());
        let out = t.batches("0f8fad5b-d9cb-469f-a165-70867728950e", &both, 2000.0);
        let body = out.strip_prefix("b0,2\u{1}").expect(&out);
        let checked = check_batch(body.as_bytes(), &Limits::default(), &Policy::default()).unwrap();
        assert!(checked.fresh);
        assert!(
            checked.events.iter().all(Result::is_ok),
            "the ids lose their mark"
        );
        let one = [marked(&a), b.clone()].join(&RECORD.to_string());
        let out = t.batches("0f8fad5b-d9cb-469f-a165-70867728950e", &one, 2000.0);
        let body = out.strip_prefix("b0,2\u{1}").expect(&out);
        assert!(
            !check_batch(body.as_bytes(), &Limits::default(), &Policy::default())
                .unwrap()
                .fresh
        );
        assert!(t
            .call("create", r#"{"consent":"yes"}"#, 0.0, [0; 16])
            .starts_with(MESSAGE));
        // A record whose time is not plain milliseconds goes with `createdAt: null`, still valid JSON.
        for at in ["1.", ".5", "1.2.3", "1e5", ""] {
            let rec = format!(
                "{}{FIELD}Website.ViewProduct{FIELD}{at}{FIELD}{{}}",
                "0f8fad5b-d9cb-469f-a165-70867728950e"
            );
            let out = t.batches("0f8fad5b-d9cb-469f-a165-70867728950e", &rec, 1.0);
            let body = out.split_once(FIELD).unwrap().1;
            let checked =
                check_batch(body.as_bytes(), &Limits::default(), &Policy::default()).unwrap();
            assert_eq!(
                checked.events[0].as_ref().unwrap().created_at,
                None,
                "{at:?}"
            );
        }
    }

    #[test]
    fn an_event_no_batch_can_carry_is_refused_at_the_call() {
        let mut t = Tracker::new(None);
        let big = format!(
            r#"{{"operation":"Website.X","data":{{"s":"{}"}}}}"#,
            "x".repeat(70_000)
        );
        let out = t.call("async", &big, 1.0, [0; 16]);
        assert!(
            out.starts_with(MESSAGE) && out.contains("64 KiB"),
            "{}",
            &out[..40]
        );
        let fits = format!(
            r#"{{"operation":"Website.X","data":{{"s":"{}"}}}}"#,
            "x".repeat(60_000)
        );
        assert!(!t.call("async", &fits, 1.0, [0; 16]).starts_with(MESSAGE));
        // Data that would nest deeper than the collector reads is refused.
        let deep = format!(
            r#"{{"operation":"Website.X","data":{{"x":{}1{}}}}}"#,
            "[".repeat(70),
            "]".repeat(70)
        );
        let out = t.call("async", &deep, 1.0, [0; 16]);
        assert!(out.contains("nests too deeply"), "{out}");
    }

    #[test]
    fn retry_delays_honour_retry_after() {
        assert!(retry_delay(1, Some("30"), 0.5) >= 30_000);
        assert!(retry_delay(1, None, 1.0) <= 1_000);
        assert!(retry_delay(1, Some("soon"), 1.0) <= 1_000);
    }

    #[test]
    fn fields_and_digits() {
        let parts: Vec<&str> = fields("a\u{1}b\u{1}\u{1}c", FIELD, 9).collect();
        assert_eq!(parts, ["a", "b", "", "c"]);
        let two: Vec<&str> = fields("a\u{1}b\u{1}c", FIELD, 2).collect();
        assert_eq!(two, ["a", "b\u{1}c"]);
        assert_eq!(fields("", FIELD, 9).collect::<Vec<_>>(), [""]);
        assert_eq!(digits("120"), Some(120));
        for bad in ["", "1.5", "-1", "x"] {
            assert_eq!(digits(bad), None, "{bad}");
        }
    }
}
