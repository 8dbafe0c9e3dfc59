//! Running things: the test suites, the demo stack, the benchmarks.

use std::process::Command;

use crate::util::{root, run, run_in, tool_env};

/// Every test, fastest first; stops at the first failing suite.
pub fn test() -> Result<(), String> {
    run("cargo", &["fmt", "--all", "--", "--check"])?;
    run(
        "cargo",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    run(
        "cargo",
        &[
            "clippy",
            "-p",
            "mindbox-tracker",
            "--target",
            "wasm32-unknown-unknown",
            "--features",
            "browser",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    run("cargo", &["test", "--workspace"])?;
    // wasm-bindgen-test in headless Chromium (flags in tracker/webdriver.json).
    run_in(
        &root().join("tracker"),
        "cargo",
        &[
            "test",
            "--target",
            "wasm32-unknown-unknown",
            "--features",
            "browser",
        ],
    )?;
    node_tests()
}

/// Collector and end-to-end tests: Node's test runner, one file at a time (each starts its own stack).
fn node_tests() -> Result<(), String> {
    let dir = root().join("tests/e2e");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".test.mjs"))
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    files.sort();
    // Every test fails after 5 minutes with a message instead of running into CI's limit (the
    // harness's own HTTP calls time out sooner: tests/stack.mjs `timedFetch`).
    let mut args = vec![
        "--test",
        "--test-concurrency=1",
        "--test-timeout=300000",
        "--test-reporter=spec",
    ];
    args.extend(files.iter().map(String::as_str));
    run("node", &args)
}

/// The demo stack on fixed ports, until Ctrl-C.
pub fn demo() -> Result<(), String> {
    run("node", &["tests/stack.mjs", "--demo"])
}

/// Benchmarks (numbers to write down, not pass/fail): the tracker's size, the checker natively, and
/// the collector in local workerd.
pub fn bench() -> Result<(), String> {
    tracker_size()?;
    run(
        "cargo",
        &[
            "run",
            "--quiet",
            "--release",
            "-p",
            "mindbox-tracker",
            "--example",
            "check_bench",
        ],
    )?;
    run("node", &["tests/bench/tracker.mjs", "1000"])?;
    run("node", &["tests/bench/collector.mjs", "200", "8"])
}

/// Size of what a shop's visitor downloads.
fn tracker_size() -> Result<(), String> {
    let mut total = 0;
    for file in ["tracker/dist/tracker.js", "tracker/dist/tracker.wasm"] {
        let bytes = std::fs::read(root().join(file)).map_err(|e| format!("{file}: {e}"))?;
        let gz = gzip_len(&root().join(file))?;
        println!("{file}: {} bytes raw, {gz} bytes gzip -9", bytes.len());
        total += gz;
    }
    println!("tracker total (loader + wasm): {total} bytes gzip -9");
    Ok(())
}

fn gzip_len(path: &std::path::Path) -> Result<usize, String> {
    let mut cmd = Command::new("gzip");
    tool_env(&mut cmd).arg("-9").arg("-c").arg(path);
    let out = cmd.output().map_err(|e| format!("gzip: {e}"))?;
    Ok(out.stdout.len())
}
