//! Native timing of the shared checker on a 50-event batch (the Rust part of the collector's accept
//! path, without workerd). Run by `cargo xtask bench`; prints µs per batch.

use std::time::Instant;

use mindbox_tracker::check::{check_batch, Limits, Policy};

fn main() {
    let events: Vec<String> = (0..50)
        .map(|i| {
            format!(
                r#"{{"id":"{}","operation":"Website.ViewProduct","createdAt":1795000000000,"data":{{"viewProduct":{{"product":{{"ids":{{"website":"{}"}}}},"price":1990}}}}}}"#,
                mindbox_tracker::uuid::v4_from_bytes([i as u8; 16]),
                1000 + i
            )
        })
        .collect();
    let body = format!(
        r#"{{"deviceUUID":"0f8fad5b-d9cb-469f-a165-70867728950e","events":[{}]}}"#,
        events.join(",")
    );
    let (limits, policy) = (Limits::default(), Policy::default());
    let runs = 20_000;
    for _ in 0..1000 {
        std::hint::black_box(check_batch(body.as_bytes(), &limits, &policy).unwrap());
    }
    let t = Instant::now();
    for _ in 0..runs {
        std::hint::black_box(check_batch(body.as_bytes(), &limits, &policy).unwrap());
    }
    let per_batch = t.elapsed().as_secs_f64() / runs as f64;
    println!(
        "check_batch (native, {} bytes, 50 events): {:.1} µs per batch, {:.0} events/s on one core",
        body.len(),
        per_batch * 1e6,
        50.0 / per_batch
    );
}
