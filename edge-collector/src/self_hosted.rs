//! The self-hosted profile's delivery timer: [`PUMPS`] Durable Objects per node (`pump-0` …), each an
//! alarm and nothing else. An alarm claims due messages from the PostgreSQL queue
//! ([`crate::store::pg::queue`]), has them delivered by the same consumer the Cloudflare queue runs,
//! stores their outcomes, sweeps expired state now and then, and sets the next alarm: at once after
//! a full batch, else when the next message is due, and at least every [`IDLE_POLL_MS`]. The objects
//! hold no data that matters: a node started on an empty state folder is armed by its first request
//! (every accepted batch and every `/v1/health` kicks one), and messages accepted on a node that died
//! are delivered by the others when their lease ends. A timer keeps its PostgreSQL connection from one round
//! to the next (a Durable Object's I/O outlives the alarm that opened it), and opens another after a
//! round that failed. Wired here, above both the queue and the
//! delivery code, so neither calls the other.

use std::cell::{Cell, RefCell};

use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

use crate::config::Config;
use crate::delivery::consumer;
use crate::store::pg::queue::{self as pg_queue, Claimed, PgQueue, BATCH};
use crate::store::pg::sweep;
use crate::store::queue::Source;
use crate::store::Store;

/// Delivery timers per node: how many batches one node delivers at once.
pub const PUMPS: u32 = 4;
/// The longest an idle timer sleeps: how soon a node notices messages another node left behind.
pub const IDLE_POLL_MS: f64 = 2_000.0;
/// When a timer wakes again if its handler fails before it sets the next alarm.
const SAFETY_NET_MS: i64 = 30_000;
/// How often a node sweeps expired state (each timer on its own clock).
const SWEEP_EVERY_MS: f64 = 60_000.0;
/// Tries to store a batch's outcomes when the database fails at that moment (a fresh connection
/// each time); past them, the lease ends and the messages are delivered again.
const SETTLE_TRIES: usize = 3;

/// How long a claim holds its messages before another node may take them: three Mindbox timeouts
/// and 15 s. A batch still delivering renews it every third of that ([`Pump::deliver`]), however
/// long its lanes take; a node that died stops renewing, and its messages are due again when it
/// ends.
pub fn lease_ms(timeout_ms: u32) -> f64 {
    3.0 * f64::from(timeout_ms) + 15_000.0
}

/// One delivery timer (the `PUMP` namespace).
#[durable_object(alarm)]
pub struct Pump {
    state: State,
    env: Env,
    /// When this timer last swept (ms).
    swept: Cell<f64>,
    /// A round is running, or the alarm is set to go off at once: a kick has nothing to add.
    busy: Cell<bool>,
    /// The timer's state, kept from one round to the next: its PostgreSQL connection is opened once,
    /// not once a round (a Durable Object's I/O outlives the alarm that started it). A round that
    /// fails replaces it, so the next round connects again (after a failover, to the new primary).
    store: RefCell<Store>,
}

fn now_ms() -> f64 {
    worker::Date::now().as_millis() as f64
}

impl DurableObject for Pump {
    fn new(state: State, env: Env) -> Self {
        Pump {
            state,
            store: RefCell::new(Store::new(&env)),
            env,
            swept: Cell::new(0.0),
            busy: Cell::new(false),
        }
    }

    /// `/kick`: wake now unless already due (a round running will look again when it ends).
    async fn fetch(&self, _req: Request) -> Result<Response> {
        if self.busy.get() {
            return Response::ok("");
        }
        self.busy.set(true);
        let storage = self.state.storage();
        let current = storage.get_alarm().await?;
        if current.is_none_or(|at| at as f64 > now_ms() + 20.0) {
            storage.set_alarm(0).await?;
        }
        Response::ok("")
    }

    async fn alarm(&self) -> Result<Response> {
        let storage = self.state.storage();
        self.busy.set(true);
        storage.set_alarm(SAFETY_NET_MS).await?;
        let next = match self.deliver().await {
            Ok(next) => next,
            Err(e) => {
                worker::console_error!("delivery timer: {e}");
                self.reconnect();
                IDLE_POLL_MS
            }
        };
        // The counts, when a second has passed since this isolate last wrote them; the next round
        // (within IDLE_POLL_MS) writes what is left.
        crate::store::ledger::write_due(&self.store()).await;
        storage.set_alarm(next.max(0.0) as i64).await?;
        // A kick while the next round is not due at once must set the alarm sooner.
        self.busy.set(next <= 0.0);
        Response::ok("")
    }
}

impl Pump {
    /// The timer's state (and its connection), shared by the steps of a round.
    fn store(&self) -> Store {
        self.store.borrow().clone()
    }

    /// Drops the timer's connection: the next round opens another.
    fn reconnect(&self) {
        *self.store.borrow_mut() = Store::new(&self.env);
    }

    /// One round: claim, deliver, settle, maybe sweep. Returns when to wake next (ms from now).
    async fn deliver(&self) -> Result<f64> {
        let store = self.store();
        let Some(db) = store.db_handle() else {
            return Ok(IDLE_POLL_MS);
        };
        let timeout = Config::get(&self.env).map_or(10_000, |c| c.timeout_ms);
        let lease = lease_token()?;
        let lease_ms = lease_ms(timeout);
        let claimed = pg_queue::claim(&db, &lease, lease_ms).await?;
        if !claimed.is_empty() {
            let queue = PgQueue(db.clone());
            let work = consumer::handle_batch(Source::Events, &claimed, Some(&queue), &store);
            // The lease is renewed while the batch delivers, however long its lanes take.
            let renew = async {
                loop {
                    let third = std::time::Duration::from_millis((lease_ms / 3.0) as u64);
                    worker::Delay::from(third).await;
                    if let Err(e) = pg_queue::renew(&db, &lease, lease_ms).await {
                        worker::console_error!("lease not renewed: {e}");
                    }
                }
            };
            match futures_util::future::select(Box::pin(work), Box::pin(renew)).await {
                futures_util::future::Either::Left((done, _)) => done?,
                futures_util::future::Either::Right(_) => unreachable!("renewing never ends"),
            }
            let mut dead = Vec::new();
            for c in claimed.iter().filter(|c| c.out_of_tries()) {
                if dead_letter(&store, c).await {
                    dead.push(c.row());
                }
            }
            if !settle(&self.env, &store, &lease, &claimed, &dead).await {
                self.reconnect();
            }
        }
        if now_ms() - self.swept.get() > SWEEP_EVERY_MS {
            self.swept.set(now_ms());
            let keep = crate::config::StorageSettings::from_env(&self.env).trace_keep;
            match sweep::sweep(&db, keep).await {
                Ok(n) if n > 0 => worker::console_log!("swept {n} expired rows"),
                Ok(_) => {}
                Err(e) => worker::console_error!("sweep failed: {e}"),
            }
        }
        if claimed.len() as i64 == BATCH {
            return Ok(0.0);
        }
        let due = pg_queue::next_due(&db).await?;
        Ok(due.map_or(IDLE_POLL_MS, |d| d.clamp(0.0, IDLE_POLL_MS)))
    }
}

/// Stores the outcomes, on a fresh connection if the first fails. Whether `store`'s own connection
/// stored them: when it did not, the timer connects again for its next round.
async fn settle(env: &Env, store: &Store, lease: &str, claimed: &[Claimed], dead: &[i64]) -> bool {
    let mut store = store.clone();
    for attempt in 1..=SETTLE_TRIES {
        let Some(db) = store.db_handle() else {
            return false;
        };
        match pg_queue::settle(&db, lease, claimed, dead).await {
            Ok(()) => return attempt == 1,
            Err(e) => {
                worker::console_error!(
                    "outcomes not stored (try {attempt} of {SETTLE_TRIES}): {e}"
                );
                worker::Delay::from(std::time::Duration::from_millis(1000)).await;
                store = Store::new(env);
            }
        }
    }
    false
}

/// Keeps a message the queue gave up on in the ledger (the dead-letter consumer's path); whether it
/// was kept.
async fn dead_letter(store: &Store, claimed: &Claimed) -> bool {
    let letter = claimed.letter();
    let none: Option<&PgQueue> = None;
    let kept = consumer::handle_batch(
        Source::DeadLetters,
        std::slice::from_ref(&letter),
        none,
        store,
    )
    .await;
    kept.is_ok() && letter.acked()
}

/// A claim's token: 64 random bits.
fn lease_token() -> Result<String> {
    let mut b = [0u8; 8];
    getrandom::getrandom(&mut b)
        .map_err(|e| worker::Error::RustError(format!("no randomness: {e}")))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// Wakes one of this node's delivery timers (at random) now: messages were just queued.
pub async fn kick(env: &Env) {
    let mut b = [0u8; 1];
    let n = getrandom::getrandom(&mut b).map_or(0, |_| u32::from(b[0]) % PUMPS);
    let stub = env
        .durable_object(crate::bindings::PUMP)
        .and_then(|ns| ns.get_by_name(&format!("pump-{n}")));
    let kicked = match stub {
        Ok(s) => s
            .fetch_with_str("https://pump.internal/kick")
            .await
            .map(|_| ()),
        Err(e) => Err(e),
    };
    if let Err(e) = kicked {
        worker::console_error!("delivery timer not kicked (it wakes by itself): {e}");
    }
}
