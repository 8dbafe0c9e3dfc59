//! Small helpers: the project root, running commands with a clear error, and the shared environment.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root (the directory above `xtask/`).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// `~/.cargo/bin` (or `$CARGO_HOME/bin`), where `cargo install` puts tools.
pub fn cargo_bin() -> PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cargo")
        });
    home.join("bin")
}

/// `node_modules/.bin/<name>` of the project.
pub fn npm_bin(name: &str) -> PathBuf {
    root().join("node_modules/.bin").join(name)
}

/// The environment every step shares: tools found without downloads, wrangler kept off the network.
pub fn tool_env(cmd: &mut Command) -> &mut Command {
    cmd.env("WASM_BINDGEN_BIN", cargo_bin().join("wasm-bindgen"))
        .env("WASM_OPT_BIN", npm_bin("wasm-opt"))
        .env("ESBUILD_BIN", npm_bin("esbuild"))
        .env("CHROMEDRIVER", "/usr/bin/chromedriver")
        .env("CHROMIUM_BIN", "/usr/bin/chromium")
        .env("WRANGLER_SEND_METRICS", "false")
        .env("WRANGLER_SEND_ERROR_REPORTS", "false")
        .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
        .env("NO_UPDATE_NOTIFIER", "1")
}

/// A command to run: in the project root with [`tool_env`], echoed before it runs, and failing with
/// an error that names it. The one way xtask runs anything.
pub struct Cmd {
    cmd: Command,
    shown: String,
}

impl Cmd {
    /// `program args…`, in the project root.
    pub fn new(program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> Cmd {
        let program = program.as_ref();
        let mut cmd = Command::new(program);
        tool_env(&mut cmd).args(args).current_dir(root());
        let shown = format!("{} {}", program.to_string_lossy(), args.join(" "));
        Cmd { cmd, shown }
    }

    /// Runs it in `dir` instead.
    pub fn dir(mut self, dir: &Path) -> Cmd {
        self.cmd.current_dir(dir);
        self
    }

    /// Sets an environment variable for it.
    pub fn env(mut self, key: &str, value: &str) -> Cmd {
        self.cmd.env(key, value);
        self
    }

    /// Runs it with the console; `Err` names it and its exit status.
    pub fn run(mut self) -> Result<(), String> {
        eprintln!("xtask: $ {}", self.shown);
        let status = self
            .cmd
            .status()
            .map_err(|e| format!("could not start `{}`: {e}", self.shown))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("`{}` failed ({status})", self.shown))
        }
    }

    /// Runs it and returns its standard output as it is; `Err` carries its standard error.
    pub fn output_bytes(mut self) -> Result<Vec<u8>, String> {
        eprintln!("xtask: $ {}", self.shown);
        let out = self
            .cmd
            .output()
            .map_err(|e| format!("could not start `{}`: {e}", self.shown))?;
        if !out.status.success() {
            return Err(format!(
                "`{}` failed: {}",
                self.shown,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(out.stdout)
    }

    /// Its standard output's first line if it runs and succeeds, silently (probing what is installed).
    pub fn probe(mut self) -> Option<String> {
        let out = self.cmd.output().ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    }
}

/// Runs a command in the project root ([`Cmd::run`]).
pub fn run(program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> Result<(), String> {
    Cmd::new(program, args).run()
}

/// Runs a command in `dir` ([`Cmd::run`]).
pub fn run_in(
    dir: &Path,
    program: impl AsRef<std::ffi::OsStr>,
    args: &[&str],
) -> Result<(), String> {
    Cmd::new(program, args).dir(dir).run()
}

/// The first line a command prints, if it runs ([`Cmd::probe`]).
pub fn output(program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> Option<String> {
    Cmd::new(program, args).probe()
}
