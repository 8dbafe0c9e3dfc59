//! The worker's configuration, every setting in one place ([`SETTINGS`]): `[vars]` in wrangler.toml
//! and the secrets, read through one lookup function, so that each is tested on the host.
//!
//! * [`Config`] — what the routes and the consumer need; it fails without the secret key or with a
//!   malformed operation list (the collector then accepts nothing), and notes settings only delivery
//!   needs in [`Config::delivery_problems`].
//! * [`StorageSettings`] — what the storage objects need (caps, how long state is kept); it never
//!   fails, so dead letters are kept and state expires even when the rest is broken.
//! * [`Tokens`] — the bearer tokens of the admin, QA and backend routes; each route is off without
//!   its token, whatever the rest says.

use std::cell::OnceCell;
use std::fmt;
use std::rc::Rc;

use mindbox_model::check::{Limits, Policy};

use crate::projection::{self, SyncOperation};
use worker::Env;

/// `UNVERIFIED_OPERATIONS` unless set: the newsletter form and the back-in-stock list.
pub const DEFAULT_UNVERIFIED_OPERATIONS: &[&str] =
    &["Website.SubscribeCustomer", "Website.AddToWaitingList"];

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
    /// default [`DEFAULT_UNVERIFIED_OPERATIONS`]).
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
    /// `CONSENT=opt-in`: the device cookie is set only in answer to a batch that says the visitor
    /// consented (`"consent": true`, which the tracker sends in opt-in mode). Unset: on every batch.
    pub consent_opt_in: bool,
    /// How many codes one client address may have texted, and how many codes it may try, in ten
    /// minutes (`CODE_ATTEMPTS_PER_IP`; unset: as one phone, 3 and 5). Raise it where many shoppers
    /// share an address (a store's Wi-Fi, a carrier's NAT).
    pub code_attempts_per_ip: Option<u32>,
    /// Codes the shop lets Mindbox text in an hour, all phones together (`CODES_PER_HOUR`, default
    /// 300): the ceiling on what SMS pumping can cost.
    pub codes_per_hour: u32,
    /// Country codes of the phones codes may be texted to (`CODE_PHONE_PREFIXES`, comma-separated
    /// digits, default `7`: Russia and Kazakhstan; `*`: any).
    pub code_phone_prefixes: Vec<String>,
    /// What the storage objects need (also read by the objects themselves).
    pub storage: StorageSettings,
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

/// Whether a setting is a variable (`[vars]`) or a secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A plain variable: wrangler.toml `[vars]`, `--var`, the dashboard.
    Var,
    /// A secret: `wrangler secret put`, the environment on the self-hosted profile.
    Secret,
}

/// Every setting, with its kind: the collector's, and the self-hosted router's `CLIENT_IP_HEADER`.
/// The operators' table (`docs/operate.md`, "Configuration") lists exactly these (a test checks).
pub const SETTINGS: &[(&str, Kind)] = &[
    ("MINDBOX_API_BASE", Kind::Var),
    ("MINDBOX_ENDPOINT_ID", Kind::Var),
    ("MINDBOX_SECRET_KEY", Kind::Secret),
    ("ADMIN_TOKEN", Kind::Secret),
    ("QA_TOKEN", Kind::Secret),
    ("BACKEND_TOKEN", Kind::Secret),
    ("BACKEND_OPERATIONS", Kind::Var),
    ("ALLOWED_ORIGINS", Kind::Var),
    ("ALLOWED_OPERATIONS", Kind::Var),
    ("UNVERIFIED_OPERATIONS", Kind::Var),
    ("SYNC_OPERATIONS", Kind::Var),
    ("TRACE_KEEP", Kind::Var),
    ("DEAD_LETTER_CAP", Kind::Var),
    ("BACKEND_DEAD_LETTER_CAP", Kind::Var),
    ("DEVICE_STATE_SECONDS", Kind::Var),
    ("PRODUCT_ID_SYSTEM", Kind::Var),
    ("SNAPSHOT_OPERATIONS", Kind::Var),
    ("MINDBOX_RATE_LIMIT_PER_MINUTE", Kind::Var),
    ("MINDBOX_TIMEOUT_MS", Kind::Var),
    ("COOKIE_DOMAIN", Kind::Var),
    ("CONSENT", Kind::Var),
    ("CODE_ATTEMPTS_PER_IP", Kind::Var),
    ("CODES_PER_HOUR", Kind::Var),
    ("CODE_PHONE_PREFIXES", Kind::Var),
    ("CLIENT_IP_HEADER", Kind::Var),
    ("DATABASE_URL", Kind::Secret),
];

/// A setting's value: what `lookup` gives for `name`, unless blank.
type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

fn var(lookup: Lookup, name: &str) -> Option<String> {
    lookup(name).filter(|v| !v.trim().is_empty())
}

/// The worker's environment as a lookup: a variable, else a secret, by name.
fn env_lookup(env: &Env) -> impl Fn(&str) -> Option<String> + '_ {
    move |name| {
        env.var(name)
            .map(|v| v.to_string())
            .or_else(|_| env.secret(name).map(|s| s.to_string()))
            .ok()
    }
}

/// Default for `TRACE_KEEP`: QA's trace notes kept per traced device, the newest.
pub const DEFAULT_TRACE_KEEP: usize = 500;
/// Default for `DEAD_LETTER_CAP`, the most dead letters of browser events kept (over all shards).
pub const DEFAULT_DEAD_LETTER_CAP: usize = 100_000;
/// Default for `BACKEND_DEAD_LETTER_CAP`, the most dead letters of backend operations kept.
pub const DEFAULT_BACKEND_DEAD_LETTER_CAP: usize = 100_000;
/// Default for `DEVICE_STATE_SECONDS`: a week, past the queue's four-day retention, and longer than
/// most shoppers take to come back.
pub const DEFAULT_DEVICE_STATE_SECONDS: f64 = 7.0 * 24.0 * 3600.0;

/// What the storage objects need. Read by the objects themselves ([`StorageSettings::from_env`]) and
/// never failing: a value that is not a positive number is its default.
#[derive(Clone, Debug, PartialEq)]
pub struct StorageSettings {
    /// QA's trace notes kept per traced device (`TRACE_KEEP`).
    pub trace_keep: usize,
    /// Dead letters of browser events kept in all (`DEAD_LETTER_CAP`).
    pub dead_letter_cap: usize,
    /// Dead letters of backend operations kept in all (`BACKEND_DEAD_LETTER_CAP`).
    pub backend_dead_letter_cap: usize,
    /// How long a device's state is kept after its last event, in ms (`DEVICE_STATE_SECONDS`).
    pub device_state_ms: f64,
}

impl StorageSettings {
    /// Reads them through `lookup`.
    pub fn from_lookup(lookup: Lookup) -> StorageSettings {
        let count = |name: &str, default: usize| {
            var(lookup, name)
                .and_then(|v| v.trim().parse::<usize>().ok())
                .filter(|&n| n > 0)
                .unwrap_or(default)
        };
        let seconds = var(lookup, "DEVICE_STATE_SECONDS")
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s > 0.0)
            .unwrap_or(DEFAULT_DEVICE_STATE_SECONDS);
        StorageSettings {
            trace_keep: count("TRACE_KEEP", DEFAULT_TRACE_KEEP),
            dead_letter_cap: count("DEAD_LETTER_CAP", DEFAULT_DEAD_LETTER_CAP),
            backend_dead_letter_cap: count(
                "BACKEND_DEAD_LETTER_CAP",
                DEFAULT_BACKEND_DEAD_LETTER_CAP,
            ),
            device_state_ms: seconds * 1000.0,
        }
    }

    /// Reads them from the worker's environment.
    pub fn from_env(env: &Env) -> StorageSettings {
        StorageSettings::from_lookup(&env_lookup(env))
    }
}

/// The bearer tokens; a route whose token is unset is off.
pub struct Tokens {
    /// The operator's admin token (`ADMIN_TOKEN`).
    pub admin: Option<SecretKey>,
    /// QA's token for the QA page (`QA_TOKEN`).
    pub qa: Option<SecretKey>,
    /// The shop backend's token (`BACKEND_TOKEN`).
    pub backend: Option<SecretKey>,
}

impl Tokens {
    /// Reads them through `lookup`.
    pub fn from_lookup(lookup: Lookup) -> Tokens {
        let token = |name: &str| lookup(name).filter(|t| !t.is_empty()).map(SecretKey);
        Tokens {
            admin: token("ADMIN_TOKEN"),
            qa: token("QA_TOKEN"),
            backend: token("BACKEND_TOKEN"),
        }
    }

    /// Reads them from the worker's environment.
    pub fn from_env(env: &Env) -> Tokens {
        Tokens::from_lookup(&env_lookup(env))
    }
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

    /// Reads the configuration from the worker's environment ([`Config::from_lookup`]).
    pub fn from_env(env: &Env) -> Result<Config, ConfigError> {
        Config::from_lookup(&env_lookup(env))
    }

    /// Reads the configuration through `lookup`; the error names the missing or bad setting the
    /// collector cannot accept events without (the secret key, the operation lists) and how to fix it.
    /// Settings only delivery needs are reported in [`Config::delivery_problems`] instead.
    pub fn from_lookup(lookup: Lookup) -> Result<Config, ConfigError> {
        let env = lookup;
        let mut problems: Vec<ConfigError> = Vec::new();
        let api_base = var(env, "MINDBOX_API_BASE")
            .unwrap_or_else(|| "https://api.mindbox.ru".into())
            .trim_end_matches('/')
            .to_string();
        // Parsed here, once: delivery appends its path and query to it as text.
        let is_url = worker::Url::parse(&api_base).is_ok_and(|u| {
            matches!(u.scheme(), "http" | "https") && u.query().is_none() && u.fragment().is_none()
        });
        if !is_url || !(api_base.starts_with("https://") || api_base.starts_with("http://")) {
            problems.push(invalid(
                "MINDBOX_API_BASE",
                format!("must be an http(s) URL without a query, got {api_base:?}"),
            ));
        }
        let endpoint_id = var(env, "MINDBOX_ENDPOINT_ID").unwrap_or_else(|| {
            problems.push(ConfigError::Missing {
                name: "MINDBOX_ENDPOINT_ID",
                fix: "put your Mindbox endpoint id in wrangler.toml [vars]",
            });
            String::new()
        });
        let secret_key =
            env("MINDBOX_SECRET_KEY")
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
            None => DEFAULT_UNVERIFIED_OPERATIONS
                .iter()
                .map(|s| s.to_string())
                .collect(),
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
        let code_attempts_per_ip =
            match var(env, "CODE_ATTEMPTS_PER_IP") {
                None => None,
                Some(v) => Some(v.trim().parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(
                    || {
                        invalid(
                            "CODE_ATTEMPTS_PER_IP",
                            format!("must be a whole number ≥ 1, got {v:?}"),
                        )
                    },
                )?),
            };
        let codes_per_hour = match var(env, "CODES_PER_HOUR") {
            None => 300,
            Some(v) => v
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| {
                    invalid(
                        "CODES_PER_HOUR",
                        format!("must be a whole number ≥ 1, got {v:?}"),
                    )
                })?,
        };
        let prefixes = var(env, "CODE_PHONE_PREFIXES").unwrap_or_else(|| "7".into());
        let code_phone_prefixes: Vec<String> = if prefixes.trim() == "*" {
            Vec::new()
        } else {
            let list: Vec<String> = prefixes
                .split(',')
                .map(|p| p.trim().trim_start_matches('+').to_string())
                .filter(|p| !p.is_empty())
                .collect();
            if list.is_empty() || list.iter().any(|p| !p.bytes().all(|c| c.is_ascii_digit())) {
                return Err(invalid(
                    "CODE_PHONE_PREFIXES",
                    format!("must be country codes such as 7,375 (or * for any), got {prefixes:?}"),
                ));
            }
            list
        };
        let consent_opt_in = match var(env, "CONSENT").as_deref().map(str::trim) {
            None | Some("") | Some("opt-out") => false,
            Some("opt-in") => true,
            Some(other) => {
                return Err(invalid(
                    "CONSENT",
                    format!("must be opt-in or opt-out, got {other:?}"),
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
            consent_opt_in,
            code_attempts_per_ip,
            codes_per_hour,
            code_phone_prefixes,
            storage: StorageSettings::from_lookup(env),
            delivery_problems: problems,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn defaults_and_what_each_part_needs() {
        let none = lookup(&[]);
        let Err(ConfigError::Missing { name, .. }) = Config::from_lookup(&none) else {
            panic!("the secret key is required");
        };
        assert_eq!(name, "MINDBOX_SECRET_KEY");
        // Without it, the storage settings and the tokens are still read.
        let storage = StorageSettings::from_lookup(&none);
        assert_eq!(storage.trace_keep, DEFAULT_TRACE_KEEP);
        assert_eq!(
            storage.device_state_ms,
            DEFAULT_DEVICE_STATE_SECONDS * 1000.0
        );
        assert!(Tokens::from_lookup(&none).admin.is_none());
        let c = Config::from_lookup(&lookup(&[
            ("MINDBOX_SECRET_KEY", "k"),
            ("MINDBOX_ENDPOINT_ID", "shop"),
            ("DEAD_LETTER_CAP", "32"),
            ("DEVICE_STATE_SECONDS", "60"),
            ("TRACE_KEEP", "not a number"),
        ]))
        .unwrap();
        assert_eq!(c.api_base, "https://api.mindbox.ru");
        assert!(c.delivery_problems.is_empty());
        assert_eq!(c.storage.dead_letter_cap, 32);
        assert_eq!(c.storage.device_state_ms, 60_000.0);
        assert_eq!(
            c.storage.trace_keep, DEFAULT_TRACE_KEEP,
            "a bad count is its default"
        );
        assert_eq!(c.snapshot_kind("Website.UpdateOrderStatus"), Some("order"));
        let bad = Config::from_lookup(&lookup(&[
            ("MINDBOX_SECRET_KEY", "k"),
            ("MINDBOX_TIMEOUT_MS", "soon"),
        ]))
        .unwrap();
        let problem = bad.delivery_problem().unwrap();
        assert!(problem.contains("MINDBOX_ENDPOINT_ID") && problem.contains("MINDBOX_TIMEOUT_MS"));
        let tokens = Tokens::from_lookup(&lookup(&[("QA_TOKEN", "q"), ("ADMIN_TOKEN", "")]));
        assert!(tokens.admin.is_none(), "an empty token is no token");
        assert_eq!(tokens.qa.unwrap().expose(), "q");
    }

    /// Delivery appends its path and query to `MINDBOX_API_BASE` as text: a base that is no URL, or
    /// carries a query or fragment, is a delivery problem (events wait), never a wrong request.
    #[test]
    fn the_api_base_is_an_http_url_without_a_query() {
        let with = |base: &str| {
            Config::from_lookup(&lookup(&[
                ("MINDBOX_SECRET_KEY", "k"),
                ("MINDBOX_ENDPOINT_ID", "shop"),
                ("MINDBOX_API_BASE", base),
            ]))
            .unwrap()
        };
        for good in [
            "https://api.mindbox.ru",
            "http://127.0.0.1:8080/",
            "https://proxy.shop.ru/mindbox",
        ] {
            let c = with(good);
            assert!(
                c.delivery_problems.is_empty(),
                "{good}: {:?}",
                c.delivery_problem()
            );
            assert!(!c.api_base.ends_with('/'));
        }
        for bad in [
            "api.mindbox.ru",
            "ftp://api.mindbox.ru",
            "https://api.mindbox.ru?x=1",
            "https://api.mindbox.ru#a",
            "https://exa mple.ru",
            "https://",
        ] {
            let problem = with(bad).delivery_problem();
            assert!(
                problem.is_some_and(|p| p.contains("MINDBOX_API_BASE")),
                "{bad} taken"
            );
        }
    }

    /// The operators' table in docs/operate.md lists every setting and nothing else, with its kind;
    /// wrangler.toml's `[vars]` are settings, and the defaults it writes out are the code's.
    #[test]
    fn the_operators_table_and_wrangler_toml_agree_with_the_code() {
        let docs = include_str!("../../docs/operate.md");
        let table = docs
            .split("## Configuration")
            .nth(1)
            .expect("docs/operate.md has a Configuration section");
        let rows: Vec<(String, String, String)> = table
            .lines()
            .skip_while(|l| !l.starts_with('|'))
            .take_while(|l| l.starts_with('|'))
            .skip(2)
            .map(|l| {
                let cells: Vec<&str> = l.split(" | ").collect();
                let name = cells[0].trim_start_matches('|').trim().trim_matches('`');
                (
                    name.to_string(),
                    cells[1].trim().to_string(),
                    cells[2..].join(" | "),
                )
            })
            .collect();
        let documented: Vec<&str> = rows.iter().map(|(n, _, _)| n.as_str()).collect();
        for (name, kind) in SETTINGS {
            let row = rows
                .iter()
                .find(|(n, _, _)| n == name)
                .unwrap_or_else(|| panic!("docs/operate.md's table has no {name}"));
            let said = if *kind == Kind::Secret {
                "**secret**"
            } else {
                "var"
            };
            assert_eq!(row.1, said, "{name}'s kind");
        }
        for name in &documented {
            assert!(
                SETTINGS.iter().any(|(n, _)| n == name),
                "docs/operate.md lists {name}, which nothing reads"
            );
        }
        let row_of = |name: &str| &rows.iter().find(|(n, _, _)| n == name).unwrap().2;
        assert!(
            row_of("SNAPSHOT_OPERATIONS").contains(DEFAULT_SNAPSHOT_OPERATIONS),
            "the table's SNAPSHOT_OPERATIONS default is the code's"
        );
        let toml = include_str!("../wrangler.toml");
        let vars = toml
            .split("[vars]")
            .nth(1)
            .unwrap()
            .split("\n[")
            .next()
            .unwrap();
        for line in vars
            .lines()
            .filter(|l| l.contains(" = ") && !l.starts_with('#'))
        {
            let (name, value) = line.split_once(" = ").unwrap();
            let value = value.trim_matches('"');
            assert!(
                SETTINGS.iter().any(|(n, k)| *n == name && *k == Kind::Var),
                "wrangler.toml sets {name}, which is not a variable the collector reads"
            );
            let default = match name {
                "SNAPSHOT_OPERATIONS" => DEFAULT_SNAPSHOT_OPERATIONS,
                "BACKEND_OPERATIONS" => DEFAULT_BACKEND_OPERATIONS,
                "SYNC_OPERATIONS" => projection::DEFAULT_SYNC_OPERATIONS,
                _ => continue,
            };
            assert_eq!(
                value, default,
                "wrangler.toml's {name} is the code's default"
            );
        }
    }
}
