//! The worker's configuration: `[vars]` in wrangler.toml plus the `MINDBOX_SECRET_KEY` secret.

use std::cell::OnceCell;
use std::fmt;
use std::rc::Rc;

use mindbox_model::check::{Limits, Policy};

use crate::routes::projection::{self, SyncOperation};
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
    /// Operations whose customer data needs no authentication ticket (`UNVERIFIED_OPERATIONS`,
    /// default `Website.SubscribeCustomer`).
    pub unverified_operations: Vec<String>,
    /// Request caps.
    pub limits: Limits,
    /// Snapshot operations and the list each replaces (`SNAPSHOT_OPERATIONS`, `op=kind` pairs).
    pub snapshot_operations: Vec<(String, String)>,
    /// Mindbox requests per minute per operation (`MINDBOX_RATE_LIMIT_PER_MINUTE`, default 8000).
    pub rate_limit_per_minute: u32,
    /// How long one Mindbox call may take (`MINDBOX_TIMEOUT_MS`, default 10 000).
    pub timeout_ms: u32,
    /// Operations the shop's backend may send through `/v1/backend/operations` (`BACKEND_OPERATIONS`,
    /// default [`DEFAULT_BACKEND_OPERATIONS`]); the browser route never takes them unless they are on
    /// `ALLOWED_OPERATIONS` too.
    pub backend_operations: Vec<String>,
    /// Sync operations a browser may call through `/v1/sync`, each with what of its answer reaches
    /// the page (`SYNC_OPERATIONS`, default [`projection::DEFAULT_SYNC_OPERATIONS`]).
    pub sync_operations: Vec<SyncOperation>,
    /// The shop's Mindbox product id system (`PRODUCT_ID_SYSTEM`, e.g. `bitrixId`): ids under the
    /// tracker's default `website` are renamed to it, on every route. `None` (unset or `website`):
    /// ids stay as the page wrote them.
    pub product_id_system: Option<String>,
    /// Domain of the server-set device cookie (`COOKIE_DOMAIN`, e.g. `shop.example`); host-only if unset.
    pub cookie_domain: Option<String>,
    /// What is wrong with the settings only delivery needs (`MINDBOX_ENDPOINT_ID`, `MINDBOX_API_BASE`,
    /// `MINDBOX_RATE_LIMIT_PER_MINUTE`, `MINDBOX_TIMEOUT_MS`, `SNAPSHOT_OPERATIONS`). The collector
    /// still accepts events (they wait on the queue) while there is any; the consumer does not deliver.
    pub delivery_problems: Vec<ConfigError>,
}

impl Config {
    /// The list kind (`cart`, `wishlist`) an operation replaces, if it is a snapshot.
    pub fn snapshot_kind(&self, operation: &str) -> Option<&str> {
        self.snapshot_operations
            .iter()
            .find(|(op, _)| op == operation)
            .map(|(_, kind)| kind.as_str())
    }
}

/// Default for `SNAPSHOT_OPERATIONS`. The `order` kind is keyed by the order's ids, not the device: an
/// older status of one order is never sent after a newer one.
pub const DEFAULT_SNAPSHOT_OPERATIONS: &str =
    "Website.SetCart=cart,Website.ClearCart=cart,Website.SetWishList=wishlist,Website.ClearWishList=wishlist,Website.UpdateOrderStatus=order";

/// Default for `BACKEND_OPERATIONS`: orders and their statuses, customer edits, and the customer
/// updates shops push from their own rules.
pub const DEFAULT_BACKEND_OPERATIONS: &str = "Website.CreateAuthorizedOrder,Website.CreateUnauthorizedOrder,Website.UpdateOrder,Website.UpdateOrderStatus,Website.EditCustomer,Website.RegisterCustomer,Website.UpdateCustomerSegments,Website.UpdateCustomerCustomFields";

fn parse_snapshots(list: &str) -> Result<Vec<(String, String)>, ConfigError> {
    list.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (op, kind) = pair.split_once('=').ok_or_else(|| {
                invalid(
                    "SNAPSHOT_OPERATIONS",
                    format!("{pair:?} is not operation=kind (e.g. Website.SetCart=cart)"),
                )
            })?;
            Ok((op.trim().to_string(), kind.trim().to_string()))
        })
        .collect()
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

/// What is wrong with one setting. Its text names the setting and how to fix it, never a secret's value.
#[derive(Clone, Debug, PartialEq)]
pub enum ConfigError {
    /// A required setting is not set.
    Missing {
        /// The setting.
        name: &'static str,
        /// How to set it.
        fix: &'static str,
    },
    /// A setting is set but cannot be used.
    Invalid {
        /// The setting.
        name: &'static str,
        /// What is wrong and what was expected.
        problem: String,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Missing { name, fix } => write!(f, "{name} is not set: {fix}"),
            ConfigError::Invalid { name, problem } => write!(f, "{name}: {problem}"),
        }
    }
}

impl std::error::Error for ConfigError {}

fn invalid(name: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        name,
        problem: problem.into(),
    }
}

thread_local! {
    /// This isolate's configuration, read once: vars and secrets are fixed for the isolates of one
    /// deployment (changing one deploys new isolates).
    static LOADED: OnceCell<Result<Rc<Config>, ConfigError>> = const { OnceCell::new() };
}

impl Config {
    /// This isolate's configuration: read from `env` on first use ([`Config::from_env`]), then kept.
    pub fn get(env: &Env) -> Result<Rc<Config>, ConfigError> {
        LOADED.with(|loaded| {
            loaded
                .get_or_init(|| Config::from_env(env).map(Rc::new))
                .clone()
        })
    }

    /// What is wrong with the settings only delivery needs, in one line, if anything.
    pub fn delivery_problem(&self) -> Option<String> {
        (!self.delivery_problems.is_empty()).then(|| {
            self.delivery_problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    /// Reads the configuration; the error names the missing or bad setting the collector cannot accept
    /// events without (the secret key, the operation lists) and how to fix it. Settings only delivery
    /// needs are reported in [`Config::delivery_problems`] instead.
    pub fn from_env(env: &Env) -> Result<Config, ConfigError> {
        let mut problems: Vec<ConfigError> = Vec::new();
        let api_base = var(env, "MINDBOX_API_BASE")
            .unwrap_or_else(|| "https://api.mindbox.ru".into())
            .trim_end_matches('/')
            .to_string();
        if !api_base.starts_with("https://") && !api_base.starts_with("http://") {
            problems.push(invalid(
                "MINDBOX_API_BASE",
                format!("must be an http(s) URL, got {api_base:?}"),
            ));
        }
        let endpoint_id = var(env, "MINDBOX_ENDPOINT_ID").unwrap_or_else(|| {
            problems.push(ConfigError::Missing {
                name: "MINDBOX_ENDPOINT_ID",
                fix: "put your Mindbox endpoint id in wrangler.toml [vars]",
            });
            String::new()
        });
        let secret_key = env
            .secret("MINDBOX_SECRET_KEY")
            .ok()
            .map(|s| s.to_string())
            .filter(|s| !s.is_empty())
            .ok_or(ConfigError::Missing {
                name: "MINDBOX_SECRET_KEY",
                fix: "run `wrangler secret put MINDBOX_SECRET_KEY` (locally: .dev.vars)",
            })?;
        let allowed_origins = var(env, "ALLOWED_ORIGINS")
            .unwrap_or_default()
            .split(',')
            .map(|s| s.trim().trim_end_matches('/').to_string())
            .filter(|s| !s.is_empty())
            .collect();
        let operations =
            mindbox_model::operation::parse_list(var(env, "ALLOWED_OPERATIONS").as_deref())
                .map_err(|e| invalid("ALLOWED_OPERATIONS", e))?;
        let unverified_operations = match var(env, "UNVERIFIED_OPERATIONS") {
            Some(list) => mindbox_model::operation::parse_list(Some(&list))
                .map_err(|e| invalid("UNVERIFIED_OPERATIONS", e))?,
            None => vec!["Website.SubscribeCustomer".to_string()],
        };
        let snapshot_operations = parse_snapshots(
            &var(env, "SNAPSHOT_OPERATIONS").unwrap_or_else(|| DEFAULT_SNAPSHOT_OPERATIONS.into()),
        )
        .unwrap_or_else(|e| {
            problems.push(e);
            parse_snapshots(DEFAULT_SNAPSHOT_OPERATIONS).expect("defaults parse")
        });
        let rate_limit_per_minute = match var(env, "MINDBOX_RATE_LIMIT_PER_MINUTE") {
            Some(v) => v.trim().parse().unwrap_or_else(|_| {
                problems.push(invalid(
                    "MINDBOX_RATE_LIMIT_PER_MINUTE",
                    format!("must be a whole number, got {v:?}"),
                ));
                0
            }),
            None => 8000,
        };
        let timeout_ms = match var(env, "MINDBOX_TIMEOUT_MS") {
            Some(v) => v.trim().parse().unwrap_or_else(|_| {
                problems.push(invalid(
                    "MINDBOX_TIMEOUT_MS",
                    format!("must be milliseconds, got {v:?}"),
                ));
                0
            }),
            None => 10_000,
        };
        let backend_operations = mindbox_model::operation::parse_list(Some(
            &var(env, "BACKEND_OPERATIONS").unwrap_or_else(|| DEFAULT_BACKEND_OPERATIONS.into()),
        ))
        .map_err(|e| invalid("BACKEND_OPERATIONS", e))?;
        let sync_operations = projection::parse(
            &var(env, "SYNC_OPERATIONS")
                .unwrap_or_else(|| projection::DEFAULT_SYNC_OPERATIONS.into()),
        )
        .map_err(|e| invalid("SYNC_OPERATIONS", e))?;
        let product_id_system = match var(env, "PRODUCT_ID_SYSTEM").map(|s| s.trim().to_string()) {
            None => None,
            Some(s) if s.is_empty() || s == mindbox_model::DEFAULT_ID_SYSTEM => None,
            Some(s) if mindbox_model::operation::is_valid_name(&s) && s.len() <= 64 => Some(s),
            Some(s) => {
                return Err(invalid(
                    "PRODUCT_ID_SYSTEM",
                    format!("must be an id system's name such as bitrixId, got {s:?}"),
                ))
            }
        };
        Ok(Config {
            api_base,
            endpoint_id,
            secret_key: SecretKey(secret_key),
            allowed_origins,
            policy: Policy { operations },
            unverified_operations,
            limits: Limits::default(),
            snapshot_operations,
            rate_limit_per_minute,
            timeout_ms,
            backend_operations,
            sync_operations,
            product_id_system,
            cookie_domain: var(env, "COOKIE_DOMAIN")
                .map(|d| d.trim().trim_start_matches('.').to_string()),
            delivery_problems: problems,
        })
    }
}
