//! Builds the three deliverables: the tracker files, the collector worker, the emulator.

use crate::util::{cargo_bin, npm_bin, root, run, run_in};

/// Builds everything.
pub fn all() -> Result<(), String> {
    tracker()?;
    collector()?;
    run("cargo", &["build", "-p", "mindbox-emulator"])
}

/// `tracker/dist/tracker.js` (loader + wasm-bindgen glue, minified) and `tracker/dist/tracker.wasm`.
pub fn tracker() -> Result<(), String> {
    run(
        "cargo",
        &[
            "build",
            "-p",
            "mindbox-tracker",
            "--target",
            "wasm32-unknown-unknown",
            "--release",
            "--features",
            "browser",
        ],
    )?;
    let dist = root().join("tracker/dist");
    std::fs::create_dir_all(&dist).map_err(|e| format!("cannot create {}: {e}", dist.display()))?;
    run(
        cargo_bin().join("wasm-bindgen"),
        &[
            "--target",
            "web",
            "--no-typescript",
            "--out-dir",
            "tracker/pkg",
            "target/wasm32-unknown-unknown/release/mindbox_tracker.wasm",
        ],
    )?;
    // binaryen from npm: Debian's wasm-opt 108 emits code Chromium rejects.
    run(
        npm_bin("wasm-opt"),
        &[
            "-Oz",
            "--enable-bulk-memory",
            "--enable-nontrapping-float-to-int",
            "--enable-sign-ext",
            "--enable-reference-types",
            "--enable-multivalue",
            "--enable-mutable-globals",
            "--strip-debug",
            "--strip-producers",
            "tracker/pkg/mindbox_tracker_bg.wasm",
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
            "--target=es2019",
            "--log-level=warning",
            // The glue's default wasm URL uses import.meta; the loader always passes the URL instead.
            "--log-override:empty-import-meta=silent",
            "--outfile=tracker/dist/tracker.js",
        ],
    )?;
    std::fs::copy(
        root().join("tracker/js/mindbox.d.ts"),
        dist.join("mindbox.d.ts"),
    )
    .map(|_| ())
    .map_err(|e| format!("copying mindbox.d.ts: {e}"))
}

/// `edge-collector/build/` through worker-build, with wasm-bindgen, wasm-opt and esbuild from this
/// machine (worker-build would otherwise download them).
pub fn collector() -> Result<(), String> {
    run_in(
        &root().join("edge-collector"),
        cargo_bin().join("worker-build"),
        &["--release"],
    )
}
