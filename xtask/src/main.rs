//! # xtask: the project's commands
//!
//! `cargo xtask <command>` (an alias in `.cargo/config.toml`):
//!
//! * `demo [--self-hosted]` — set up, build, then start the Mindbox emulator, the collector in local
//!   workerd (`wrangler dev`; with `--self-hosted`, a throwaway PostgreSQL and two open-source
//!   workerd nodes with the generated configuration behind a balancer) and the demo shop; runs until
//!   Ctrl-C and stops what it started.
//! * `test [suite…]` — set up, build, then run every test: format and lint checks (`lint`), host unit
//!   tests (`unit`), the tracker's wasm tests in headless Chromium and Firefox (`wasm`), the collector
//!   tests (`collector`: Node's test runner driving local workerd and the emulator), the end-to-end
//!   tests (`e2e`: the same with Chromium through Playwright) and the browser scenarios in three
//!   engines (`engines`). Naming suites runs only those; `collector/<file>` and `e2e/<file>` run one
//!   file.
//! * `bench` — set up, build, then print the tracker's gzipped size, the checker's native speed and the
//!   collector's CPU per batch and events/s in local workerd.
//! * `build` — set up and build the tracker (`tracker/dist`), the collector (`edge-collector/build`) and
//!   the emulator.
//! * `setup` — install what is missing: the wasm32 target, `wasm-bindgen-cli` at the exact version in
//!   Cargo.lock, `worker-build`, the pinned npm packages, Debian's Chromium and ChromeDriver.
//!
//! Every command installs what it needs first, so a fresh machine runs them as they are. The steps live
//! in [`setup`], [`build`] and [`run`]; this file only dispatches.

mod build;
mod run;
mod setup;
mod util;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("setup") => setup::all(),
        Some("build") => setup::all().and_then(|_| build::all()),
        Some("test") => setup::all()
            .and_then(|_| build::all())
            .and_then(|_| run::test(&args[1..])),
        Some("demo") => setup::all()
            .and_then(|_| build::all())
            .and_then(|_| run::demo(&args[1..])),
        Some("bench") => setup::all()
            .and_then(|_| build::all())
            .and_then(|_| run::bench()),
        _ => Err(format!(
            "usage: cargo xtask <demo|test [{}|collector/<file>|e2e/<file>]…|bench|build|setup>",
            run::SUITES.join("|")
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
