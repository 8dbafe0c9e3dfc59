//! Builds the three deliverables: the tracker files, the collector worker, the emulator.

use crate::util::{cargo_bin, npm_bin, root, run, run_in};

/// Builds everything.
pub fn all() -> Result<(), String> {
    tracker()?;
    collector()?;
    run("cargo", &["build", "-p", "mindbox-emulator"])
}

/// `tracker/dist/tracker.js` (loader, JS shell and wasm-bindgen glue, minified) and
/// `tracker/dist/tracker.wasm`.
pub fn tracker() -> Result<(), String> {
    let wasm = tracker_wasm()?;
    let dist = root().join("tracker/dist");
    std::fs::create_dir_all(&dist).map_err(|e| format!("cannot create {}: {e}", dist.display()))?;
    run(
        cargo_bin().join("wasm-bindgen"),
        &["--target", "web", "--out-dir", "tracker/pkg", &wasm],
    )?;
    // binaryen from npm: Debian's wasm-opt 108 emits code Chromium rejects.
    let renames = output_of(
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
            // One-letter import, export and module names (the glue is rewritten to match below):
            // wasm-bindgen's hashed names cost about a kilobyte of gzip.
            "--minify-imports-and-exports-and-modules",
            "tracker/pkg/mindbox_tracker_bg.wasm",
            "-o",
            "tracker/dist/tracker.wasm",
        ],
    )?;
    let glue = root().join("tracker/pkg/mindbox_tracker.js");
    let text = std::fs::read_to_string(&glue).map_err(|e| format!("reading the glue: {e}"))?;
    std::fs::write(&glue, rename_in_glue(&text, &renames)?)
        .map_err(|e| format!("writing the glue: {e}"))?;
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
    let min = std::process::Command::new("cargo")
        .args(BUILD)
        .args([
            "-Z",
            "build-std=std,panic_abort",
            "--target-dir",
            TARGET_DIR,
        ])
        .env("RUSTC_BOOTSTRAP", "1")
        .env("RUSTFLAGS", "-Zunstable-options -Cpanic=immediate-abort")
        .current_dir(root())
        .status();
    if matches!(min, Ok(s) if s.success()) {
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

/// Runs a command and returns its standard output.
fn output_of(program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> Result<String, String> {
    let program = program.as_ref();
    let shown = format!("{} {}", program.to_string_lossy(), args.join(" "));
    eprintln!("xtask: $ {shown}");
    let out = std::process::Command::new(program)
        .args(args)
        .current_dir(root())
        .output()
        .map_err(|e| format!("could not start `{shown}`: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`{shown}` failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Rewrites wasm-bindgen's glue for the names `wasm-opt --minify-imports-and-exports-and-modules`
/// gave: `renames` is its JSON report, `["module", "import", "new"]` per import and `["export",
/// "new"]` per export. Every import moves to module `"a"`.
fn rename_in_glue(glue: &str, renames: &str) -> Result<String, String> {
    let mut out = glue.to_string();
    let mut modules = Vec::new();
    let mut count = 0;
    for line in renames.lines() {
        let quoted: Vec<&str> = line.split('"').skip(1).step_by(2).collect();
        let (old_key, new_key) = match quoted.as_slice() {
            [module, name, new] => {
                if !modules.contains(module) {
                    modules.push(*module);
                }
                (format!("{name}: function"), format!("{new}: function"))
            }
            [name, new] => (format!("wasm.{name}"), format!("wasm.{new}")),
            _ => continue,
        };
        count += 1;
        // Whole names only: the next character must not continue an identifier.
        let mut rebuilt = String::with_capacity(out.len());
        let mut rest = out.as_str();
        while let Some(at) = rest.find(&old_key) {
            let after = rest[at + old_key.len()..].chars().next();
            let before = rest[..at].chars().next_back();
            let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
            rebuilt.push_str(&rest[..at]);
            if ident(after) || (!old_key.starts_with("wasm.") && ident(before)) {
                rebuilt.push_str(&old_key);
            } else {
                rebuilt.push_str(&new_key);
            }
            rest = &rest[at + old_key.len()..];
        }
        rebuilt.push_str(rest);
        out = rebuilt;
    }
    if count == 0 {
        return Err("wasm-opt reported no renamed imports or exports".into());
    }
    match modules.as_slice() {
        [module] => Ok(out.replace(&format!("\"{module}\":"), "\"a\":")),
        _ => Err(format!("expected one import module, found {modules:?}")),
    }
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
