//! Builds the three deliverables: the tracker files, the collector worker, the emulator.

use crate::util::{cargo_bin, npm_bin, root, run, run_in, Cmd};

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
    let renames = Cmd::new(
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
    )
    .output()?;
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

#[cfg(test)]
mod tests {
    use super::rename_in_glue;

    const GLUE: &str = r#"
function __wbg_get_imports() {
    const import0 = {
        __proto__: null,
        __wbg_random_1a: function() { return Math.random(); },
        __wbg_random_1ab: function() { return 2; },
        __wbg_set_2b: function(a, b, c) { a[b] = c; },
    };
    return { __proto__: null, "./mindbox_tracker_bg.js": import0 };
}
function call(x) { return wasm.tracker_call(x) + wasm.tracker_call_many(x) + wasm.tracker_callx; }
"#;

    #[test]
    fn renames_whole_names_only_and_moves_imports_to_one_module() {
        let report = r#"
["./mindbox_tracker_bg.js", "__wbg_random_1a", "a"]
["./mindbox_tracker_bg.js", "__wbg_set_2b", "b"]
["tracker_call", "c"]
["tracker_call_many", "d"]
"#;
        let out = rename_in_glue(GLUE, report).unwrap();
        assert!(out.contains("a: function() { return Math.random(); }"));
        assert!(
            out.contains("__wbg_random_1ab: function() { return 2; }"),
            "a longer name with the same start is left alone"
        );
        assert!(out.contains("b: function(a, b, c)"));
        assert!(out.contains("wasm.c(x) + wasm.d(x) + wasm.tracker_callx"));
        assert!(out.contains(r#""a": import0"#));
        assert!(!out.contains("./mindbox_tracker_bg.js"));
    }

    #[test]
    fn refuses_a_report_it_cannot_use() {
        assert!(rename_in_glue(GLUE, "").is_err(), "nothing renamed");
        let two_modules = r#"
["./one.js", "__wbg_random_1a", "a"]
["./two.js", "__wbg_set_2b", "b"]
"#;
        assert!(rename_in_glue(GLUE, two_modules).is_err());
    }
}
