//! Builds the three deliverables: the tracker files, the collector worker, the emulator.

use crate::util::{cargo_bin, npm_bin, root, run, run_in, Cmd};

/// Builds everything.
pub fn all() -> Result<(), String> {
    tracker()?;
    collector()?;
    run("cargo", &["build", "-p", "mindbox-emulator"])
}

/// `tracker/dist/tracker.js` (loader and JS shell, minified), `tracker/dist/tracker.wasm` (the Rust
/// half; its exports are plain functions called by `tracker/js/wasm.js`, no generated glue) and
/// `tracker/dist/tracker-extras.js` (the calls only some pages make, fetched on the first) and
/// `tracker/dist/tracker-qa.js` (the QA API, fetched on its first call).
pub fn tracker() -> Result<(), String> {
    let wasm = tracker_wasm()?;
    let dist = root().join("tracker/dist");
    std::fs::create_dir_all(&dist).map_err(|e| format!("cannot create {}: {e}", dist.display()))?;
    // binaryen from npm: Debian's wasm-opt 108 emits code Chromium rejects.
    run(
        npm_bin("wasm-opt"),
        &[
            "-Oz",
            "--enable-bulk-memory",
            "--enable-nontrapping-float-to-int",
            "--enable-sign-ext",
            "--enable-mutable-globals",
            "--strip-debug",
            "--strip-producers",
            &wasm,
            "-o",
            "tracker/dist/tracker.wasm",
        ],
    )?;
    run(
        npm_bin("esbuild"),
        &[
            "tracker/js/loader.js",
            "--bundle",
            "--format=iife",
            "--minify",
            // Properties named with a trailing `_` are the shell's internals: short names in the bundle.
            "--mangle-props=_$",
            "--target=es2019",
            "--log-level=warning",
            "--outfile=tracker/dist/tracker.js",
        ],
    )?;
    // What only some pages call, and the QA API, each fetched by the loader on its first call.
    for (entry, out) in [
        ("tracker/js/extras.js", "tracker/dist/tracker-extras.js"),
        ("tracker/js/qa.js", "tracker/dist/tracker-qa.js"),
    ] {
        run(
            npm_bin("esbuild"),
            &[
                entry,
                "--bundle",
                "--format=iife",
                "--minify",
                "--target=es2019",
                "--log-level=warning",
                &format!("--outfile={out}"),
            ],
        )?;
    }
    std::fs::write(dist.join("_headers"), ASSET_HEADERS)
        .map_err(|e| format!("writing tracker/dist/_headers: {e}"))?;
    std::fs::copy(
        root().join("tracker/js/mindbox.d.ts"),
        dist.join("mindbox.d.ts"),
    )
    .map(|_| ())
    .map_err(|e| format!("copying mindbox.d.ts: {e}"))
}

/// Headers of the tracker files, which Cloudflare (and local workerd) serve as static assets without
/// running the worker: any shop page may fetch them (the wasm is fetched by pages on the shop's
/// origin), and a new deploy reaches every page within five minutes.
const ASSET_HEADERS: &str =
    "/*\n  Access-Control-Allow-Origin: *\n  Cache-Control: public, max-age=300\n";

/// Compiles the tracker's wasm; returns its path.
///
/// The shipped build recompiles the standard library with `panic=immediate-abort`, which drops the
/// panic-message formatting (`core::fmt`) and source paths: about 3.5 KB of gzip that every shopper
/// downloads. Those are unstable flags, enabled on this stable toolchain with `RUSTC_BOOTSTRAP=1` for
/// this one build; the tests' builds do not use them. If the toolchain refuses (no `rust-src`, a
/// renamed flag), the ordinary release build is used and a warning says so.
fn tracker_wasm() -> Result<String, String> {
    const BUILD: [&str; 8] = [
        "build",
        "-p",
        "mindbox-tracker",
        "--target",
        "wasm32-unknown-unknown",
        "--release",
        "--features",
        "browser",
    ];
    const TARGET_DIR: &str = "target/tracker-min";
    let min_args: Vec<&str> = BUILD
        .iter()
        .copied()
        .chain([
            "-Z",
            "build-std=std,panic_abort",
            "--target-dir",
            TARGET_DIR,
        ])
        .collect();
    let min = Cmd::new("cargo", &min_args)
        .env("RUSTC_BOOTSTRAP", "1")
        .env("RUSTFLAGS", "-Zunstable-options -Cpanic=immediate-abort")
        .run();
    if min.is_ok() {
        return Ok(format!(
            "{TARGET_DIR}/wasm32-unknown-unknown/release/mindbox_tracker.wasm"
        ));
    }
    eprintln!(
        "xtask: warning: the size-optimised tracker build failed; building the ordinary way \
         (a few KB bigger)"
    );
    run("cargo", &BUILD)?;
    Ok("target/wasm32-unknown-unknown/release/mindbox_tracker.wasm".into())
}

/// The collector twice through worker-build, with wasm-bindgen, wasm-opt and esbuild from this
/// machine (worker-build would otherwise download them): `edge-collector/build/` for Cloudflare
/// (no PostgreSQL client in it), `edge-collector/build-selfhosted/` with the `postgres` feature for
/// the self-hosted profile. Both with Cargo's `collector` profile: optimised for speed, not size.
pub fn collector() -> Result<(), String> {
    let dir = root().join("edge-collector");
    run_in(
        &dir,
        cargo_bin().join("worker-build"),
        &["--profile", "collector"],
    )?;
    // The Cloudflare build carries no PostgreSQL client (its SCRAM mechanism's name would be in it).
    let wasm = dir.join("build/index_bg.wasm");
    let bytes = std::fs::read(&wasm).map_err(|e| format!("{}: {e}", wasm.display()))?;
    if bytes.windows(13).any(|w| w == b"SCRAM-SHA-256") {
        return Err(
            "edge-collector/build links the PostgreSQL client: only build-selfhosted may".into(),
        );
    }
    run_in(
        &dir,
        cargo_bin().join("worker-build"),
        &[
            "--profile",
            "collector",
            "--out-dir",
            "build-selfhosted",
            ".",
            "--features",
            "postgres",
        ],
    )
}
