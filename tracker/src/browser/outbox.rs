//! The durable outbox: every event is written here before any attempt to send it, and leaves only when
//! the collector acknowledged it (to the bounded `sent` history) or rejected it (to the `rejected`
//! store, with the reason).
//!
//! IndexedDB holds it, shared by all tabs of the shop. When IndexedDB is missing, blocked, throws
//! (`InvalidStateError` in private modes) or fails a write (quota), the record is kept in memory
//! instead and the tracker goes on: no storage error ever reaches the page.

use std::cell::{Cell, RefCell};

use js_sys::{Array, Object};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::IdbDatabase;

use super::idb::{self, HISTORY, META, OUTBOX};
use super::js::{get, set, text};
use super::timer;

/// Most pending events kept; older ones are evicted (and counted) beyond it.
pub const MAX_EVENTS: usize = 1000;
/// Most pending bytes (operation + data) kept.
pub const MAX_BYTES: usize = 2 * 1024 * 1024;
/// Sent events kept for QA.
const MAX_SENT: usize = 200;
/// Rejected events kept.
const MAX_REJECTED: usize = 500;

/// Where an event is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Waiting to be sent (or being sent).
    Pending,
    /// Acknowledged by the collector.
    Sent,
    /// Refused by the collector or too big to send; never sent again by itself.
    Rejected,
}

impl State {
    fn name(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Sent => "sent",
            State::Rejected => "rejected",
        }
    }

    fn from_name(s: &str) -> State {
        match s {
            "sent" => State::Sent,
            "rejected" => State::Rejected,
            _ => State::Pending,
        }
    }
}

/// One event in the outbox or the history.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// Event id (Mindbox transactionId).
    pub id: String,
    /// Operation name.
    pub operation: String,
    /// When the page made the call (ms).
    pub created_at: f64,
    /// The operation body, JSON text.
    pub data: String,
    /// Where it is.
    pub state: State,
    /// Failed send attempts so far.
    pub attempts: u32,
    /// The last send error.
    pub last_error: Option<String>,
    /// Why it was rejected.
    pub reason: Option<String>,
    /// When it was sent or rejected (ms).
    pub settled_at: Option<f64>,
    /// For a QA replay: the event it repeats.
    pub replay_of: Option<String>,
}

impl Record {
    /// A new pending event.
    pub fn new(id: String, operation: String, created_at: f64, data: String) -> Record {
        Record {
            id,
            operation,
            created_at,
            data,
            state: State::Pending,
            attempts: 0,
            last_error: None,
            reason: None,
            settled_at: None,
            replay_of: None,
        }
    }

    /// Bytes it takes against [`MAX_BYTES`].
    pub fn size(&self) -> usize {
        self.operation.len() + self.data.len()
    }

    /// As a JS object (what IndexedDB stores and the QA API returns).
    pub fn to_js(&self) -> JsValue {
        let o: JsValue = Object::new().into();
        set(&o, "id", &self.id.as_str().into());
        set(&o, "operation", &self.operation.as_str().into());
        set(&o, "createdAt", &self.created_at.into());
        set(&o, "data", &self.data.as_str().into());
        set(&o, "state", &self.state.name().into());
        set(&o, "attempts", &self.attempts.into());
        let opt = |v: &Option<String>| v.as_deref().map_or(JsValue::NULL, JsValue::from_str);
        set(&o, "lastError", &opt(&self.last_error));
        set(&o, "reason", &opt(&self.reason));
        set(
            &o,
            "settledAt",
            &self.settled_at.map_or(JsValue::NULL, JsValue::from_f64),
        );
        set(&o, "replayOf", &opt(&self.replay_of));
        o
    }

    /// From a JS object written by [`Record::to_js`] (or imported by QA); `None` if it is not one.
    pub fn from_js(v: &JsValue) -> Option<Record> {
        let s = |k: &str| text(&get(v, k));
        Some(Record {
            id: s("id").filter(|i| crate::uuid::is_canonical(i))?,
            operation: s("operation").filter(|o| crate::operation::is_valid_name(o))?,
            created_at: get(v, "createdAt").as_f64()?,
            data: s("data")?,
            state: State::from_name(&s("state").unwrap_or_default()),
            attempts: get(v, "attempts").as_f64().unwrap_or(0.0) as u32,
            last_error: s("lastError"),
            reason: s("reason"),
            settled_at: get(v, "settledAt").as_f64(),
            replay_of: s("replayOf"),
        })
    }
}

/// The outbox: IndexedDB when it works, memory for whatever it could not take.
pub struct Outbox {
    db: RefCell<Option<IdbDatabase>>,
    mem: RefCell<Vec<Record>>,
    mem_history: RefCell<Vec<Record>>,
    mem_evicted: Cell<u32>,
}

/// Oldest first. An insertion sort: lists are small (≤ a few thousand, mostly in order already) and
/// it is a fraction of the size of the standard library's sorts in the wasm.
pub fn sort_by_time(v: &mut [Record]) {
    for i in 1..v.len() {
        let mut j = i;
        while j > 0 && v[j - 1].created_at > v[j].created_at {
            v.swap(j - 1, j);
            j -= 1;
        }
    }
}

fn records(v: JsValue) -> Vec<Record> {
    v.dyn_into::<Array>()
        .map(|a| a.iter().filter_map(|r| Record::from_js(&r)).collect())
        .unwrap_or_default()
}

impl Outbox {
    /// Opens IndexedDB (giving up after 3 s, e.g. when blocked), or falls back to memory.
    pub async fn open() -> Outbox {
        let db = match timer::race(idb::open(), 3000).await {
            Some(Ok(db)) => Some(db),
            _ => None,
        };
        Outbox::with(db)
    }

    /// An outbox on `db`, or in memory only.
    pub fn with(db: Option<IdbDatabase>) -> Outbox {
        Outbox {
            db: RefCell::new(db),
            mem: RefCell::new(Vec::new()),
            mem_history: RefCell::new(Vec::new()),
            mem_evicted: Cell::new(0),
        }
    }

    /// `"indexeddb"` or `"memory"`.
    pub fn storage(&self) -> &'static str {
        if self.db.borrow().is_some() {
            "indexeddb"
        } else {
            "memory"
        }
    }

    fn db(&self) -> Option<IdbDatabase> {
        self.db.borrow().clone()
    }

    /// Stores a pending event; resolves once it is durable (or kept in memory).
    pub async fn add(&self, r: Record) {
        if let Some(db) = self.db() {
            if put(&db, OUTBOX, std::slice::from_ref(&r)).await.is_ok() {
                return;
            }
        }
        self.mem.borrow_mut().push(r);
    }

    /// Every pending event, oldest first.
    pub async fn pending(&self) -> Vec<Record> {
        self.read(&self.mem, OUTBOX).await
    }

    /// Sent and rejected events, oldest first.
    pub async fn history(&self) -> Vec<Record> {
        self.read(&self.mem_history, HISTORY).await
    }

    /// The records of one store: those kept in memory plus those in IndexedDB, oldest first.
    async fn read(&self, mem: &RefCell<Vec<Record>>, store: &str) -> Vec<Record> {
        let mut all = mem.borrow().clone();
        if let Some(db) = self.db() {
            all.extend(get_all(&db, store).await);
        }
        sort_by_time(&mut all);
        all
    }

    /// Events evicted so far because the outbox was full.
    pub async fn evicted(&self) -> u32 {
        let mut n = self.mem_evicted.get();
        if let Some(db) = self.db() {
            n += read_evicted(&db).await;
        }
        n
    }

    /// Moves settled events (state `Sent` or `Rejected`) from the outbox to the history, and prunes
    /// the history to its bounds.
    pub async fn settle(&self, settled: Vec<Record>) {
        if settled.is_empty() {
            return;
        }
        let ids: Vec<&str> = settled.iter().map(|r| r.id.as_str()).collect();
        self.mem
            .borrow_mut()
            .retain(|r| !ids.contains(&r.id.as_str()));
        if let Some(db) = self.db() {
            if move_to_history(&db, &settled).await.is_ok() {
                let _ = prune_history(&db).await;
                return;
            }
        }
        let mut h = self.mem_history.borrow_mut();
        h.extend(settled);
        prune(&mut h);
    }

    /// Records a failed attempt on pending events.
    pub async fn failed(&self, mut batch: Vec<Record>, error: &str) {
        for r in &mut batch {
            r.attempts += 1;
            r.last_error = Some(error.to_string());
        }
        {
            let mut mem = self.mem.borrow_mut();
            for m in mem.iter_mut() {
                if let Some(r) = batch.iter().find(|r| r.id == m.id) {
                    *m = r.clone();
                }
            }
        }
        if let Some(db) = self.db() {
            let in_db: Vec<Record> = {
                let mem = self.mem.borrow();
                batch
                    .into_iter()
                    .filter(|r| !mem.iter().any(|m| m.id == r.id))
                    .collect()
            };
            let _ = put(&db, OUTBOX, &in_db).await;
        }
    }

    /// Evicts the oldest pending events beyond `max_events` / `max_bytes`; returns the pending events
    /// that remain, oldest first.
    pub async fn trim(&self, max_events: usize, max_bytes: usize) -> Vec<Record> {
        let mut all = self.pending().await;
        let mut bytes: usize = all.iter().map(Record::size).sum();
        let mut drop = 0;
        while drop < all.len() && (all.len() - drop > max_events || bytes > max_bytes) {
            bytes -= all[drop].size();
            drop += 1;
        }
        if drop == 0 {
            return all;
        }
        let victims: Vec<&str> = all[..drop].iter().map(|r| r.id.as_str()).collect();
        let before = self.mem.borrow().len();
        self.mem
            .borrow_mut()
            .retain(|r| !victims.contains(&r.id.as_str()));
        let from_mem = before - self.mem.borrow().len();
        self.mem_evicted
            .set(self.mem_evicted.get() + from_mem as u32);
        if let Some(db) = self.db() {
            let _ = evict(&db, &victims, (drop - from_mem) as u32).await;
        }
        all.drain(..drop);
        all
    }

    /// Forgets everything (consent withdrawn).
    pub async fn clear(&self) {
        self.mem.borrow_mut().clear();
        self.mem_history.borrow_mut().clear();
        if let Some(db) = self.db() {
            if let Ok((tx, stores)) = idb::tx(&db, &[OUTBOX, HISTORY], true) {
                for s in &stores {
                    let _ = s.clear();
                }
                let _ = idb::committed(&tx).await;
            }
        }
    }
}

fn prune(history: &mut Vec<Record>) {
    sort_by_time(history);
    for (state, max) in [(State::Sent, MAX_SENT), (State::Rejected, MAX_REJECTED)] {
        let n = history.iter().filter(|r| r.state == state).count();
        let mut extra = n.saturating_sub(max);
        history.retain(|r| {
            if extra > 0 && r.state == state {
                extra -= 1;
                false
            } else {
                true
            }
        });
    }
}

async fn put(db: &IdbDatabase, store: &str, records: &[Record]) -> Result<(), JsValue> {
    let (tx, stores) = idb::tx(db, &[store], true)?;
    for r in records {
        stores[0].put(&r.to_js())?;
    }
    idb::committed(&tx).await
}

async fn get_all(db: &IdbDatabase, store: &str) -> Vec<Record> {
    let Ok((_tx, stores)) = idb::tx(db, &[store], false) else {
        return Vec::new();
    };
    match stores[0].get_all() {
        Ok(req) => idb::request(req).await.map(records).unwrap_or_default(),
        Err(_) => Vec::new(),
    }
}

async fn read_evicted(db: &IdbDatabase) -> u32 {
    let Ok((_tx, stores)) = idb::tx(db, &[META], false) else {
        return 0;
    };
    match stores[0].get(&JsValue::from_str("evicted")) {
        Ok(req) => idb::request(req)
            .await
            .ok()
            .and_then(|v| v.as_f64())
            .unwrap_or(0.0) as u32,
        Err(_) => 0,
    }
}

async fn move_to_history(db: &IdbDatabase, settled: &[Record]) -> Result<(), JsValue> {
    let (tx, stores) = idb::tx(db, &[OUTBOX, HISTORY], true)?;
    for r in settled {
        stores[0].delete(&JsValue::from_str(&r.id))?;
        stores[1].put(&r.to_js())?;
    }
    idb::committed(&tx).await
}

async fn prune_history(db: &IdbDatabase) -> Result<(), JsValue> {
    let all = get_all(db, HISTORY).await;
    let mut kept = all.clone();
    prune(&mut kept);
    if kept.len() == all.len() {
        return Ok(());
    }
    let (tx, stores) = idb::tx(db, &[HISTORY], true)?;
    for r in all.iter().filter(|r| !kept.iter().any(|k| k.id == r.id)) {
        stores[0].delete(&JsValue::from_str(&r.id))?;
    }
    idb::committed(&tx).await
}

async fn evict(db: &IdbDatabase, ids: &[&str], count: u32) -> Result<(), JsValue> {
    let before = read_evicted(db).await;
    let (tx, stores) = idb::tx(db, &[OUTBOX, META], true)?;
    for id in ids {
        stores[0].delete(&JsValue::from_str(id))?;
    }
    stores[1].put_with_key(
        &JsValue::from_f64(f64::from(before + count)),
        &JsValue::from_str("evicted"),
    )?;
    idb::committed(&tx).await
}
