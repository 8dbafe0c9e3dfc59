//! The worker's configuration: `[vars]` in wrangler.toml plus the `MINDBOX_SECRET_KEY` secret.

use std::fmt;

use mindbox_tracker::check::{Limits, Policy};
use worker::Env;

/// Everything the collector needs to know, read from the environment.
pub struct Config {
    /// Base URL of the Mindbox API, e.g. `https://api.mindbox.ru` (`MINDBOX_API_BASE`).
    pub api_base: String,
    /// Mindbox endpoint (integration point) id (`MINDBOX_ENDPOINT_ID`).
    pub endpoint_id: String,
    /// The endpoint's secret key (`MINDBOX_SECRET_KEY`, a secret). Never logged, never returned.
    pub secret_key: SecretKey,
    /// Origins allowed to call `/v1/*` from a browser (`ALLOWED_ORIGINS`, comma list; `*` = any).
    pub allowed_origins: Vec<String>,
    /// What the checker allows (`ALLOWED_OPERATIONS`).
    pub policy: Policy,
    /// Request caps.
    pub limits: Limits,
}

/// The Mindbox secret key. Its `Debug` and `Display` print a placeholder, so it cannot leak by
/// formatting.
pub struct SecretKey(String);

impl SecretKey {
    /// The key itself, for the one place that builds the `Authorization` header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

fn var(env: &Env, name: &str) -> Option<String> {
    env.var(name)
        .ok()
        .map(|v| v.to_string())
        .filter(|v| !v.trim().is_empty())
}

impl Config {
    /// Reads the configuration; the error names the missing or bad setting and how to fix it.
    pub fn from_env(env: &Env) -> Result<Config, String> {
        let api_base = var(env, "MINDBOX_API_BASE")
            .unwrap_or_else(|| "https://api.mindbox.ru".into())
            .trim_end_matches('/')
            .to_string();
        let endpoint_id = var(env, "MINDBOX_ENDPOINT_ID").ok_or(
            "MINDBOX_ENDPOINT_ID is not set: put your Mindbox endpoint id in wrangler.toml [vars]",
        )?;
        let secret_key = env
            .secret("MINDBOX_SECRET_KEY")
            .ok()
            .map(|s| s.to_string())
            .filter(|s| !s.is_empty())
            .ok_or(
                "MINDBOX_SECRET_KEY is not set: run `wrangler secret put MINDBOX_SECRET_KEY` (locally: .dev.vars)",
            )?;
        let allowed_origins = var(env, "ALLOWED_ORIGINS")
            .unwrap_or_default()
            .split(',')
            .map(|s| s.trim().trim_end_matches('/').to_string())
            .filter(|s| !s.is_empty())
            .collect();
        let operations =
            mindbox_tracker::operation::parse_list(var(env, "ALLOWED_OPERATIONS").as_deref())
                .map_err(|e| format!("ALLOWED_OPERATIONS: {e}"))?;
        Ok(Config {
            api_base,
            endpoint_id,
            secret_key: SecretKey(secret_key),
            allowed_origins,
            policy: Policy { operations },
            limits: Limits::default(),
        })
    }
}
