//! Installs what the build and tests need and a fresh machine lacks. Each step checks first, so a
//! second run costs a few milliseconds per step.

use std::path::Path;

use crate::util::{self, cargo_bin, npm_bin, output, root, run};

/// The `worker-build` version: the same minor as the `worker` crate.
const WORKER_BUILD_VERSION: &str = "0.8.7";
/// geckodriver, Firefox's WebDriver server, from crates.io (Mozilla's downloads are out of reach).
const GECKODRIVER_VERSION: &str = "0.37.1";

/// Runs every setup step.
pub fn all() -> Result<(), String> {
    wasm_target()?;
    wasm_bindgen_cli()?;
    worker_build()?;
    npm_packages()?;
    chromium()?;
    engines()?;
    postgres()?;
    geckodriver()
}

fn wasm_target() -> Result<(), String> {
    let installed = output("rustup", &["target", "list", "--installed"]).unwrap_or_default();
    if !installed.lines().any(|l| l == "wasm32-unknown-unknown") {
        run("rustup", &["target", "add", "wasm32-unknown-unknown"])?;
    }
    // The standard library's source, for the size-optimised tracker build (see build.rs). Without it
    // the tracker builds the ordinary way, a few kilobytes bigger.
    let components = output("rustup", &["component", "list", "--installed"]).unwrap_or_default();
    if !components.lines().any(|l| l.starts_with("rust-src")) {
        if let Err(e) = run("rustup", &["component", "add", "rust-src"]) {
            eprintln!("xtask: rust-src is unavailable ({e}); the tracker will build without it");
        }
    }
    Ok(())
}

/// The `wasm-bindgen` version in Cargo.lock: the CLI must be exactly that version.
pub fn locked_wasm_bindgen() -> Result<String, String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock"))
        .map_err(|e| format!("cannot read Cargo.lock: {e}"))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"wasm-bindgen\"" {
            if let Some(v) = lines.next().and_then(|l| l.strip_prefix("version = \"")) {
                return Ok(v.trim_end_matches('"').to_string());
            }
        }
    }
    Err("Cargo.lock has no wasm-bindgen package".into())
}

fn wasm_bindgen_cli() -> Result<(), String> {
    let want = locked_wasm_bindgen()?;
    let have = output(cargo_bin().join("wasm-bindgen"), &["--version"]).unwrap_or_default();
    if have == format!("wasm-bindgen {want}") {
        return Ok(());
    }
    // No --locked: the CLI's own lockfile pins a crate release this registry does not serve.
    run(
        "cargo",
        &[
            "install",
            "wasm-bindgen-cli",
            "--version",
            &format!("={want}"),
        ],
    )
}

fn worker_build() -> Result<(), String> {
    let have = output(cargo_bin().join("worker-build"), &["--version"]).unwrap_or_default();
    if have.ends_with(WORKER_BUILD_VERSION) {
        return Ok(());
    }
    run(
        "cargo",
        &[
            "install",
            "worker-build",
            "--version",
            &format!("={WORKER_BUILD_VERSION}"),
            "--locked",
        ],
    )
}

fn npm_packages() -> Result<(), String> {
    let stamp = root().join("node_modules/.package-lock.json");
    let fresh = modified(&stamp)
        .zip(modified(&root().join("package-lock.json")))
        .is_some_and(|(installed, lock)| installed >= lock);
    if fresh && npm_bin("wrangler").exists() {
        return Ok(());
    }
    run("npm", &["ci", "--no-audit", "--no-fund"])
}

fn modified(p: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(p).ok()?.modified().ok()
}

/// `apt-get` with `args`, as root or through sudo.
fn apt(args: &[&str]) -> Result<(), String> {
    let mut full = vec![];
    let is_root = output("id", &["-u"]).as_deref() == Some("0");
    let program = if is_root { "apt-get" } else { "sudo" };
    if !is_root {
        full.push("apt-get");
    }
    full.extend_from_slice(args);
    util::run_in(&root(), program, &full)
}

fn chromium() -> Result<(), String> {
    if Path::new("/usr/bin/chromium").exists() && Path::new("/usr/bin/chromedriver").exists() {
        return Ok(());
    }
    apt(&["update"])?;
    apt(&["install", "-y", "chromium", "chromium-driver"])
        .map_err(|e| format!("{e}: the browser tests need Debian's chromium and chromium-driver"))
}

/// Firefox ESR and WebKitGTK's WebDriver (with its MiniBrowser), and Xvfb for MiniBrowser's window,
/// from Debian's packages.
fn engines() -> Result<(), String> {
    let have = [
        "/usr/bin/firefox-esr",
        "/usr/bin/WebKitWebDriver",
        "/usr/bin/Xvfb",
    ];
    if have.iter().all(|p| Path::new(p).exists()) {
        return Ok(());
    }
    apt_install(
        &["firefox-esr", "webkit2gtk-driver", "xvfb", "xauth"],
        "the engine tests need firefox-esr, webkit2gtk-driver and xvfb",
    )
}

/// Debian's `packages`, without the recommended extras; `why` they are needed, on failure.
fn apt_install(packages: &[&str], why: &str) -> Result<(), String> {
    apt(&["update"])?;
    let mut args = vec!["install", "-y", "--no-install-recommends"];
    args.extend_from_slice(packages);
    apt(&args).map_err(|e| format!("{e}: {why}"))
}

/// PostgreSQL (any version: the tests take the highest under /usr/lib/postgresql) and the openssl
/// CLI for its throwaway TLS certificates, from Debian's packages, for the self-hosted collector's
/// tests (tests/support/postgres.mjs).
fn postgres() -> Result<(), String> {
    let initdb = std::fs::read_dir("/usr/lib/postgresql")
        .map(|versions| {
            versions
                .flatten()
                .any(|v| v.path().join("bin/initdb").exists())
        })
        .unwrap_or(false);
    if initdb && Path::new("/usr/bin/openssl").exists() {
        return Ok(());
    }
    apt_install(
        &["postgresql", "openssl"],
        "the self-hosted collector's tests need Debian's postgresql and openssl",
    )
}

fn geckodriver() -> Result<(), String> {
    let have = output(cargo_bin().join("geckodriver"), &["--version"]).unwrap_or_default();
    if have.starts_with(&format!("geckodriver {GECKODRIVER_VERSION}")) {
        return Ok(());
    }
    run(
        "cargo",
        &[
            "install",
            "geckodriver",
            "--version",
            &format!("={GECKODRIVER_VERSION}"),
            "--locked",
        ],
    )
}
