//! Storage, behind one module each: the events queue ([`queue`], its interface and Cloudflare Queues;
//! [`events_queue`], the one this deployment has), the [`ledger`] (dead letters and counters), event
//! ids already queued per device ([`seen`], with QA's trace notes, [`trace_notes`]), the snapshot
//! order ([`snapshot_order`]), Mindbox's per-minute budget ([`rate_budget`]), and what they share:
//! calling a Durable Object ([`objects`]) and forgetting expired state ([`expiry`]).
//!
//! Each module's functions take the invocation's [`Store`] and keep their state where this
//! deployment keeps it: in Durable Objects on Cloudflare, in PostgreSQL on the self-hosted profile
//! (the `postgres` build with `DATABASE_URL` set; its halves are in `pg`).

pub mod attempts;
pub mod events_queue;
pub mod expiry;
pub mod ledger;
pub mod objects;
#[cfg(feature = "postgres")]
pub mod pg;
pub mod queue;
pub mod rate_budget;
pub mod seen;
pub mod snapshot_order;
pub mod trace_notes;

use std::rc::Rc;

use worker::Env;

/// What one invocation (a request, a queue batch, an alarm) reaches its state through: the worker's
/// bindings (it dereferences to [`Env`]) and, on the self-hosted profile, its PostgreSQL database,
/// connected on first use and shared by every statement of the invocation. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    env: Env,
    #[cfg(feature = "postgres")]
    db: Option<Rc<pg::Db>>,
    /// Why the state cannot be reached at all (`DATABASE_URL` unreadable, or set in a build without
    /// PostgreSQL).
    broken: Option<Rc<str>>,
}

impl std::ops::Deref for Store {
    type Target = Env;

    fn deref(&self) -> &Env {
        &self.env
    }
}

/// The setting that puts the state in PostgreSQL (a secret: it holds the password).
pub const DATABASE_URL: &str = "DATABASE_URL";

impl Store {
    /// The state of this invocation: PostgreSQL when `DATABASE_URL` is set, else Durable Objects.
    pub fn new(env: &Env) -> Store {
        let url = env
            .secret(DATABASE_URL)
            .map(|s| s.to_string())
            .or_else(|_| env.var(DATABASE_URL).map(|v| v.to_string()))
            .ok()
            .filter(|u| !u.trim().is_empty());
        let mut store = Store {
            env: env.clone(),
            #[cfg(feature = "postgres")]
            db: None,
            broken: None,
        };
        let Some(url) = url else { return store };
        #[cfg(feature = "postgres")]
        match pg::Target::parse(&url) {
            Ok(target) => store.db = Some(Rc::new(pg::Db::new(target))),
            Err(e) => store.broken = Some(e.into()),
        }
        #[cfg(not(feature = "postgres"))]
        {
            let _ = url;
            store.broken = Some(
                "DATABASE_URL is set, but this build has no PostgreSQL (build with --features postgres)"
                    .into(),
            );
        }
        store
    }

    /// The invocation's PostgreSQL database, on the self-hosted profile.
    #[cfg(feature = "postgres")]
    pub fn db(&self) -> Option<&pg::Db> {
        self.db.as_deref()
    }

    /// The invocation's PostgreSQL database, shared.
    #[cfg(feature = "postgres")]
    pub fn db_handle(&self) -> Option<Rc<pg::Db>> {
        self.db.clone()
    }

    /// Whether the state is in PostgreSQL.
    pub fn on_postgres(&self) -> bool {
        #[cfg(feature = "postgres")]
        return self.db.is_some();
        #[cfg(not(feature = "postgres"))]
        false
    }

    /// Why the state cannot be reached at all, if it cannot.
    pub fn broken(&self) -> Option<&str> {
        self.broken.as_deref()
    }

    /// An error for a store call that cannot run.
    pub fn broken_error(&self) -> Option<worker::Error> {
        self.broken
            .as_deref()
            .map(|b| worker::Error::RustError(b.to_string()))
    }
}

/// What keeps this deployment's state out of reach, if anything: `DATABASE_URL` unusable, PostgreSQL
/// unreachable or a read-only standby, or its schema behind this build's (migrations not applied) or
/// ahead of it (a newer build migrated it: upgrade this node).
pub async fn state_problem(store: &Store) -> Option<String> {
    if let Some(b) = store.broken() {
        return Some(b.to_string());
    }
    #[cfg(feature = "postgres")]
    if let Some(db) = store.db() {
        let client = match db.client().await {
            Ok(c) => c,
            Err(e) => return Some(e.to_string()),
        };
        match client.query_typed("SELECT pg_is_in_recovery()", &[]).await {
            Ok(rows) if rows[0].get::<_, bool>(0) => {
                return Some(
                    "PostgreSQL at DATABASE_URL is a read-only standby, not the primary (after a \
                     failover, the host name may still lead to the old primary)"
                        .into(),
                )
            }
            Ok(_) => {}
            Err(e) => return Some(format!("PostgreSQL: {e}")),
        }
        let want = pg::schema_version();
        return match pg::applied_version(&client).await {
            Err(e) => Some(format!("PostgreSQL: {e}")),
            Ok(v) if v.unwrap_or(0) < want => Some(format!(
                "PostgreSQL's schema is behind: at migration {}, this build needs {want}",
                v.unwrap_or(0)
            )),
            Ok(Some(v)) if v > want => Some(format!(
                "PostgreSQL's schema is at migration {v}, newer than this build's {want}: upgrade this node"
            )),
            Ok(_) => None,
        };
    }
    None
}
