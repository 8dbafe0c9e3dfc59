//! Running things: the test suites, the demo stack, the benchmarks.

use crate::util::{npm_bin, root, run, Cmd};

/// The suites of `cargo xtask test`, fastest first.
pub const SUITES: &[&str] = &["lint", "unit", "wasm", "collector", "e2e", "engines"];

/// The suites of Node test files, each a folder of `*.test.mjs`: the collector's integration tests
/// (local workerd and the Mindbox emulator, no browser), then the end-to-end tests (Chromium, the demo).
const NODE_SUITES: &[(&str, &str)] = &[("collector", "tests/collector"), ("e2e", "tests/e2e")];

/// The browser engines the scenario file (tests/engines/scenarios.test.mjs) runs in, over WebDriver.
pub const ENGINES: &[&str] = &["chromium", "firefox", "webkit"];

/// Every test, fastest first, or only the suites `filters` name: `lint`, `unit`, `wasm`, `collector`,
/// `e2e`, `engines` (the browser scenarios in each engine; `engines/<engine>` for one), or files of a
/// Node suite as `collector/<name>` or `e2e/<name>` (`collector/gate` runs
/// `tests/collector/gate.test.mjs`; `e2e/tracker` runs every `tests/e2e/tracker-*.test.mjs`). Stops
/// at the first failing suite.
pub fn test(filters: &[String]) -> Result<(), String> {
    for f in filters {
        let known = SUITES.contains(&f.as_str())
            || f.strip_prefix("engines/")
                .is_some_and(|e| ENGINES.contains(&e))
            || NODE_SUITES.iter().any(|(suite, dir)| {
                f.strip_prefix(suite)
                    .and_then(|rest| rest.strip_prefix('/'))
                    .is_some_and(|name| !test_files(dir, &[name]).unwrap_or_default().is_empty())
            });
        if !known {
            return Err(format!(
                "no test suite {f:?}: give {}, engines/<{}>, collector/<file> (tests/collector/<file>.test.mjs) \
                 or e2e/<file> (tests/e2e/<file>.test.mjs, or <file>-*.test.mjs)",
                SUITES.join(", "),
                ENGINES.join("|")
            ));
        }
    }
    let wanted = |suite: &str| filters.is_empty() || filters.iter().any(|f| f == suite);
    if wanted("lint") {
        lint()?;
    }
    if wanted("unit") {
        run("cargo", &["test", "--workspace"])?;
        // The tracker's JS shell, module by module, with mocked timers (tracker/js/*.test.mjs).
        node_test_files("tracker/js", &[], None)?;
    }
    if wanted("wasm") {
        // wasm-bindgen-test in headless Chromium, then Firefox ESR (flags in tracker/webdriver.json);
        // the driver is named, or the runner would pick whichever it finds first.
        let gecko = crate::util::cargo_bin().join("geckodriver");
        for (var, driver) in [
            ("CHROMEDRIVER", "/usr/bin/chromedriver".to_string()),
            ("GECKODRIVER", gecko.to_string_lossy().into_owned()),
        ] {
            let started = std::time::Instant::now();
            Cmd::new(
                "cargo",
                &[
                    "test",
                    "--target",
                    "wasm32-unknown-unknown",
                    "--features",
                    "browser",
                ],
            )
            .dir(&root().join("tracker"))
            .env(var, &driver)
            .run()?;
            println!(
                "xtask: wasm tests with {var}: {:.0} s",
                started.elapsed().as_secs_f64()
            );
        }
    }
    for (suite, dir) in NODE_SUITES {
        let files: Vec<&str> = filters
            .iter()
            .filter_map(|f| {
                f.strip_prefix(suite)
                    .and_then(|rest| rest.strip_prefix('/'))
            })
            .collect();
        if wanted(suite) {
            node_tests(dir, &[])?;
        } else if !files.is_empty() {
            node_tests(dir, &files)?;
        }
    }
    for engine in ENGINES {
        if wanted("engines")
            || filters
                .iter()
                .any(|f| f.strip_prefix("engines/") == Some(engine))
        {
            engine_scenarios(engine)?;
        }
    }
    Ok(())
}

/// The browser scenarios (tests/engines/scenarios.test.mjs) in one engine, timed.
fn engine_scenarios(engine: &str) -> Result<(), String> {
    let started = std::time::Instant::now();
    let file = root().join("tests/engines/scenarios.test.mjs");
    Cmd::new(
        "node",
        &[
            "--test",
            "--test-timeout=300000",
            "--test-reporter=spec",
            &file.to_string_lossy(),
        ],
    )
    .env("ENGINE", engine)
    .run()?;
    println!(
        "xtask: browser scenarios in {engine}: {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Format and lint checks: `cargo fmt --check`, clippy for the host and for the tracker's wasm, and
/// the JS shell's types (`tsc` over its JSDoc, tracker/js/tsconfig.json).
fn lint() -> Result<(), String> {
    run("cargo", &["fmt", "--all", "--", "--check"])?;
    run(npm_bin("tsc"), &["-p", "tracker/js"])?;
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
    // The collector as it ships: wasm, and its self-hosted build with the PostgreSQL client.
    for features in [&[][..], &["--features", "postgres"][..]] {
        let mut args = vec![
            "clippy",
            "-p",
            "edge-collector",
            "--target",
            "wasm32-unknown-unknown",
            "--all-targets",
        ];
        args.extend_from_slice(features);
        args.extend_from_slice(&["--", "-D", "warnings"]);
        run("cargo", &args)?;
    }
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
    )
}

/// A Node suite's tests (`dir`): Node's test runner, one file at a time (each starts its own stack);
/// `only` names files (`gate` for `tests/collector/gate.test.mjs`; `tracker` for every
/// `tracker-*.test.mjs` too), empty runs them all.
fn node_tests(dir: &str, only: &[&str]) -> Result<(), String> {
    node_test_files(dir, only, None)?;
    // The tests named in SELF_HOSTED_TOO again on the self-hosted profile (workerd, state in a
    // throwaway PostgreSQL): the same files, `COLLECTOR_PROFILE=self-hosted`.
    let both: Vec<String> = test_files(dir, only)?
        .iter()
        .filter(|f| SELF_HOSTED_TOO.contains(&stem(f)))
        .cloned()
        .collect();
    if both.is_empty() {
        return Ok(());
    }
    run_node_tests(&both, Some("self-hosted"))
}

/// The test files (tests/collector/<name>.test.mjs, tests/e2e/<name>.test.mjs) that also run on the
/// self-hosted profile.
const SELF_HOSTED_TOO: &[&str] = &[
    "backend",
    "budget",
    "cards",
    "collector",
    "demo",
    "delivery",
    "gate",
    "ledger",
    "ratelimit",
    "sync",
    "trace",
];

/// A test file's name without the folder and `.test.mjs`.
fn stem(path: &str) -> &str {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.strip_suffix(".test.mjs").unwrap_or(name)
}

/// The `*.test.mjs` files of `dir` (all, or those `only` names: `<name>.test.mjs` or
/// `<name>-*.test.mjs`), sorted.
fn test_files(dir: &str, only: &[&str]) -> Result<Vec<String>, String> {
    let dir = root().join(dir);
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            name.strip_suffix(".test.mjs").is_some_and(|n| {
                only.is_empty()
                    || only
                        .iter()
                        .any(|o| n == *o || n.strip_prefix(o).is_some_and(|r| r.starts_with('-')))
            })
        })
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    files.sort();
    Ok(files)
}

/// Runs the `*.test.mjs` files of `dir` (all, or those `only` names) with Node's test runner.
/// `profile` sets `COLLECTOR_PROFILE` for the files (tests/support/stack.mjs: which runtime runs the
/// collector).
fn node_test_files(dir: &str, only: &[&str], profile: Option<&str>) -> Result<(), String> {
    run_node_tests(&test_files(dir, only)?, profile)
}

/// Runs `files` with Node's test runner, one at a time.
fn run_node_tests(files: &[String], profile: Option<&str>) -> Result<(), String> {
    // Every test fails after 5 minutes with a message instead of running into CI's limit (the
    // harness's own HTTP calls time out sooner: tests/support/http.mjs `timedFetch`).
    let mut args = vec![
        "--test",
        "--test-concurrency=1",
        "--test-timeout=300000",
        "--test-reporter=spec",
    ];
    args.extend(files.iter().map(String::as_str));
    let cmd = Cmd::new("node", &args);
    match profile {
        Some(p) => cmd.env("COLLECTOR_PROFILE", p).run(),
        None => cmd.run(),
    }
}

/// The demo stack on fixed ports, until Ctrl-C (`node demo/run.mjs`); `--self-hosted` runs the
/// collector as two workerd nodes on a throwaway PostgreSQL instead of `wrangler dev`.
///
/// Node runs every part in its own process group and stops them all when it ends (Ctrl-C, a part
/// that died, or this process gone). Ctrl-C reaches node and this process alike: this one lets it
/// pass and waits for node, so the ports are free when the prompt comes back.
pub fn demo(args: &[String]) -> Result<(), String> {
    let mut node_args = vec!["demo/run.mjs"];
    if args.iter().any(|a| a == "--self-hosted") {
        node_args.push("--self-hosted");
    }
    ignore_ctrl_c();
    run("node", &node_args)
}

/// Ignores SIGINT in this process (node, started after, handles it: it resets every signal's handling
/// when it starts).
#[cfg(unix)]
fn ignore_ctrl_c() {
    extern "C" {
        fn signal(signum: i32, handler: usize) -> usize;
    }
    const SIGINT: i32 = 2;
    const SIG_IGN: usize = 1;
    // SAFETY: `signal` from the C library, with SIG_IGN: no handler code runs in this process.
    unsafe {
        signal(SIGINT, SIG_IGN);
    }
}

#[cfg(not(unix))]
fn ignore_ctrl_c() {}

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
    run("node", &["tests/bench/ready.mjs", "15"])?;
    segment()?;
    run("node", &["tests/bench/compare.mjs", "15"])?;
    run("node", &["tests/bench/latency.mjs", "21"])?;
    Cmd::new("node", &["tests/bench/latency.mjs", "21"])
        .env("COLLECTOR_PROFILE", "self-hosted")
        .run()?;
    run("node", &["tests/bench/collector.mjs", "200", "8"])?;
    for nodes in ["1", "2"] {
        Cmd::new("node", &["tests/bench/collector.mjs", "200", "8", nodes])
            .env("COLLECTOR_PROFILE", "self-hosted")
            .run()?;
    }
    run("node", &["tests/bench/load.mjs", "30", "60", "5", "1500"])?;
    Cmd::new("node", &["tests/bench/load.mjs", "30", "60", "5", "1500"])
        .env("COLLECTOR_PROFILE", "self-hosted")
        .run()
}

/// The tracker the start-up comparison measures against: Segment's analytics.js, the browser build
/// in the npm package `@segment/analytics-next`, unpacked once into `target/bench/segment`.
fn segment() -> Result<(), String> {
    const PACKAGE: &str = "@segment/analytics-next@1.84.3";
    let dir = root().join("target/bench/segment");
    if dir.join("package/dist/umd/standalone.js").exists() {
        return Ok(());
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let d = dir.to_string_lossy();
    run(
        "npm",
        &["pack", "--silent", PACKAGE, "--pack-destination", &d],
    )?;
    run(
        "tar",
        &[
            "xzf",
            &format!("{d}/segment-analytics-next-1.84.3.tgz"),
            "-C",
            &d,
        ],
    )
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
    for (file, when) in [
        (
            "tracker/dist/tracker-extras.js",
            "the first customer call, loyalty question, card call or back-in-stock",
        ),
        ("tracker/dist/tracker-qa.js", "the first `mindbox.qa` call"),
    ] {
        println!(
            "{file} (fetched on {when}): {} bytes gzip -9",
            gzip_len(&root().join(file))?
        );
    }
    Ok(())
}

fn gzip_len(path: &std::path::Path) -> Result<usize, String> {
    let path = path.to_string_lossy();
    Ok(Cmd::new("gzip", &["-9", "-c", &path]).output_bytes()?.len())
}
