//! The self-hosted profile's state in PostgreSQL (the `postgres` build): every store module's
//! PostgreSQL half lives here, one file each, and [`Db`] is the connection they share.
//!
//! A connection belongs to the request that opened it: workerd refuses I/O on behalf of another
//! request, so there is no pool. [`Db`] connects on first use, once per invocation, and every
//! statement of that invocation goes over it. A Durable Object's I/O outlives the request, so the
//! delivery timers (`crate::self_hosted`) keep one [`Db`] from one alarm to the next. Statements are
//! unnamed (`query_typed`, `execute_typed`, `batch_execute`), so a pooler in transaction mode
//! (pgbouncer, Odyssey) can sit in front. No
//! statement spans a transaction the others could interleave with: each is atomic alone, and
//! read-modify-write uses a version check ([`slots`]).
//!
//! The schema is in numbered files (`migrations/NNNN_*.sql`), applied by the first connection of
//! each isolate that finds them missing, in one transaction under an advisory lock, so nodes starting
//! together apply each once ([`migrate`]).

pub mod attempts;
pub mod ledger;
pub mod queue;
pub mod seen;
pub mod slots;
pub mod sweep;
pub mod windows;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::str::FromStr;

use futures_util::future::{select, Either};
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Config, Row};
use worker::{SecureTransport, Socket};

/// The schema's migrations, in order: `(version, SQL)`.
pub const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("migrations/0001_state.sql")),
    (2, include_str!("migrations/0002_attempts.sql")),
];

/// The schema version this build needs.
pub fn schema_version() -> i32 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

/// How long connecting (TCP, TLS, authentication) may take before the database counts as
/// unreachable for this invocation.
pub const CONNECT_TIMEOUT_MS: u64 = 5_000;

/// The advisory lock migrations run under (any fixed number no other application uses).
const MIGRATION_LOCK: i64 = 0x6d62_6564_6765; // "mbedge"

thread_local! {
    /// This isolate has seen the schema at [`schema_version`]: later connections skip the check.
    static MIGRATED: Cell<bool> = const { Cell::new(false) };
}

/// Where the database is: `DATABASE_URL`, a `postgres://user:password@host:port/database?sslmode=…`
/// URL. `sslmode=require` (or `verify-full`, `verify-ca`) connects with StartTLS and workerd checks
/// the server's certificate against its `tlsOptions`; `disable` connects in the clear.
#[derive(Clone)]
pub struct Target {
    config: Config,
    host: String,
    port: u16,
    tls: bool,
}

impl Target {
    /// Parses `DATABASE_URL`. The error names what is wrong, never the password.
    pub fn parse(url: &str) -> Result<Target, String> {
        let lowered = url.to_ascii_lowercase();
        let tls = !lowered.contains("sslmode=disable") && !lowered.contains("sslmode=prefer");
        // tokio-postgres knows disable, prefer and require; verify-* is workerd's job (its
        // tlsOptions), so it reads as require here.
        let url = url
            .replace("sslmode=verify-full", "sslmode=require")
            .replace("sslmode=verify-ca", "sslmode=require");
        let config = Config::from_str(&url)
            .map_err(|e| format!("DATABASE_URL is not a PostgreSQL URL: {e}"))?;
        let host = match config.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
            _ => return Err("DATABASE_URL names no host".into()),
        };
        if config.get_user().is_none() {
            return Err("DATABASE_URL names no user".into());
        }
        let port = config.get_ports().first().copied().unwrap_or(5432);
        Ok(Target {
            config,
            host,
            port,
            tls,
        })
    }
}

/// A database error as the collector reports it (the SQL error's text; never a parameter's value).
pub fn error(e: impl std::fmt::Display) -> worker::Error {
    worker::Error::RustError(format!("PostgreSQL: {e}"))
}

/// How long one statement may take before its connection is given up (a half-open socket after a
/// failover would otherwise hang the invocation).
pub const STATEMENT_TIMEOUT_MS: u64 = 15_000;

/// How long migrations may take (apart from connecting).
const MIGRATE_TIMEOUT_MS: u64 = 60_000;

/// How long a failed connect is answered from memory before the next statement tries again.
const RETRY_CONNECT_MS: f64 = 1_000.0;

/// The database of one invocation: connects on first use and keeps the connection for the rest of
/// the invocation. For a moment after a failed connect it answers the same error at once (so a
/// request does not wait out the timeout once per statement).
pub struct Db {
    target: Target,
    client: RefCell<Option<Rc<Client>>>,
    /// The last connect's failure, and when (ms).
    failed: RefCell<Option<(String, f64)>>,
    connecting: futures_util::lock::Mutex<()>,
}

/// `work`, or an error once `ms` have passed.
async fn within<T>(
    ms: u64,
    what: &str,
    work: impl std::future::Future<Output = Result<T, String>>,
) -> Result<T, String> {
    let timeout = worker::Delay::from(std::time::Duration::from_millis(ms));
    match select(Box::pin(work), timeout).await {
        Either::Left((result, _)) => result,
        Either::Right(_) => Err(format!("{what}: no answer within {ms} ms")),
    }
}

impl Db {
    /// A database handle for this invocation; nothing is connected yet.
    pub fn new(target: Target) -> Db {
        Db {
            target,
            client: RefCell::new(None),
            failed: RefCell::new(None),
            connecting: futures_util::lock::Mutex::new(()),
        }
    }

    /// The invocation's connection, opened (and the schema brought up to date) on first use.
    pub async fn client(&self) -> worker::Result<Rc<Client>> {
        let _one_at_a_time = self.connecting.lock().await;
        if let Some(c) = self.client.borrow().as_ref().filter(|c| !c.is_closed()) {
            return Ok(c.clone());
        }
        let now = worker::Date::now().as_millis() as f64;
        if let Some((e, at)) = self.failed.borrow().as_ref() {
            if now - at < RETRY_CONNECT_MS {
                return Err(worker::Error::RustError(e.clone()));
            }
        }
        match self.connect().await {
            Ok(c) => {
                let c = Rc::new(c);
                *self.client.borrow_mut() = Some(c.clone());
                Ok(c)
            }
            Err(e) => {
                let e = format!("PostgreSQL unreachable: {e}");
                *self.failed.borrow_mut() = Some((e.clone(), now));
                Err(worker::Error::RustError(e))
            }
        }
    }

    async fn connect(&self) -> Result<Client, String> {
        let t = &self.target;
        let open = async {
            let socket = Socket::builder()
                .secure_transport(if t.tls {
                    SecureTransport::StartTls
                } else {
                    SecureTransport::Off
                })
                .connect(t.host.clone(), t.port)
                .map_err(|e| e.to_string())?;
            let client = if t.tls {
                let (client, connection) = t
                    .config
                    .connect_raw(socket, worker::postgres_tls::PassthroughTls)
                    .await
                    .map_err(|e| e.to_string())?;
                spawn(connection);
                client
            } else {
                let (client, connection) = t
                    .config
                    .connect_raw(socket, tokio_postgres::NoTls)
                    .await
                    .map_err(|e| e.to_string())?;
                spawn(connection);
                client
            };
            Ok::<Client, String>(client)
        };
        let client = within(CONNECT_TIMEOUT_MS, "connecting", open).await?;
        within(MIGRATE_TIMEOUT_MS, "migrating", migrate(&client)).await?;
        Ok(client)
    }

    /// A statement's error; a connection that hung is forgotten, so the next statement opens
    /// another (a closed one is noticed by [`Db::client`]).
    fn failed_statement(&self, client: &Client, e: String) -> worker::Error {
        if !client.is_closed() && e.contains("no answer within") {
            *self.client.borrow_mut() = None;
        }
        error(e)
    }

    /// Runs a statement with typed parameters; the rows.
    pub async fn query(
        &self,
        sql: &str,
        params: &[(&(dyn ToSql + Sync), Type)],
    ) -> worker::Result<Vec<Row>> {
        let client = self.client().await?;
        let run = async {
            client
                .query_typed(sql, params)
                .await
                .map_err(|e| e.to_string())
        };
        within(STATEMENT_TIMEOUT_MS, "a statement", run)
            .await
            .map_err(|e| self.failed_statement(&client, e))
    }

    /// Runs a statement with typed parameters; how many rows it touched.
    pub async fn execute(
        &self,
        sql: &str,
        params: &[(&(dyn ToSql + Sync), Type)],
    ) -> worker::Result<u64> {
        let client = self.client().await?;
        let run = async {
            client
                .execute_typed(sql, params)
                .await
                .map_err(|e| e.to_string())
        };
        within(STATEMENT_TIMEOUT_MS, "a statement", run)
            .await
            .map_err(|e| self.failed_statement(&client, e))
    }
}

/// Drives a connection until its client is dropped (the end of the invocation) or it fails.
fn spawn<F, E>(connection: F)
where
    F: std::future::Future<Output = Result<(), E>> + 'static,
    E: std::fmt::Display,
{
    worker::wasm_bindgen_futures::spawn_local(async move {
        if let Err(e) = connection.await {
            worker::console_error!("PostgreSQL connection ended: {e}");
        }
    });
}

/// Brings the schema up to [`schema_version`]: skipped once this isolate has seen it there;
/// otherwise the missing migrations run in one transaction under an advisory lock, so two nodes
/// starting at once apply each migration once (the second waits, then finds nothing to do).
pub async fn migrate(client: &Client) -> Result<(), String> {
    if MIGRATED.get() {
        return Ok(());
    }
    let at = applied_version(client).await.map_err(|e| e.to_string())?;
    if at.is_some_and(|v| v >= schema_version()) {
        MIGRATED.set(true);
        return Ok(());
    }
    let e = |e: tokio_postgres::Error| format!("migration failed: {e}");
    client
        .batch_execute(&format!(
            "BEGIN; SET LOCAL lock_timeout = '20s'; SELECT pg_advisory_xact_lock({MIGRATION_LOCK});
             CREATE TABLE IF NOT EXISTS schema_migrations (
               version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());"
        ))
        .await
        .map_err(e)?;
    let result = async {
        let done = client
            .query_typed(
                "SELECT coalesce(max(version), 0) FROM schema_migrations",
                &[],
            )
            .await?;
        let done: i32 = done[0].get(0);
        for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > done) {
            client.batch_execute(sql).await?;
            client
                .execute_typed(
                    "INSERT INTO schema_migrations (version) VALUES ($1)",
                    &[(version, Type::INT4)],
                )
                .await?;
        }
        client.batch_execute("COMMIT").await
    }
    .await;
    if let Err(err) = result {
        let _ = client.batch_execute("ROLLBACK").await;
        return Err(e(err));
    }
    MIGRATED.set(true);
    Ok(())
}

/// The newest migration applied to the database (`None` before the first).
pub async fn applied_version(client: &Client) -> Result<Option<i32>, tokio_postgres::Error> {
    let exists = client
        .query_typed("SELECT to_regclass('schema_migrations') IS NOT NULL", &[])
        .await?;
    if !exists[0].get::<_, bool>(0) {
        return Ok(None);
    }
    let rows = client
        .query_typed("SELECT max(version) FROM schema_migrations", &[])
        .await?;
    Ok(rows[0].get(0))
}
