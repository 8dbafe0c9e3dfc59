//! Fuzzes the collector's request parser: any body must give a result, never a panic.
//! Run: `cd tracker && cargo fuzz run check_batch` (see docs/architecture.md, "Tests").
#![no_main]

use libfuzzer_sys::fuzz_target;
use mindbox_tracker::check::{check_batch, Limits, Policy};

fuzz_target!(|data: &[u8]| {
    let _ = check_batch(data, &Limits::default(), &Policy::default());
});
