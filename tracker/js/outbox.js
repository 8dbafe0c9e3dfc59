// @ts-check
// The durable outbox: every event is written here before any attempt to send it, and leaves only when
// the collector acknowledged it (to the bounded `sent` history) or rejected it (to the history as
// `rejected`, with the reason).
//
// IndexedDB holds it, shared by all tabs of the shop. When IndexedDB is missing, blocked, throws
// (`InvalidStateError` in private modes) or fails a write (quota), the event is kept in memory
// instead and the tracker goes on: no storage error ever reaches the page. Which pending events to
// evict is the Rust half's decision (model/src/eviction.rs).
//
// This module also defines the record and its states for the whole shell (sender.js, flush.js,
// qa.js, callbacks.js import them). It imports nothing at run time: tracker/tests/browser.rs loads it
// on its own.

/**
 * An event as the outbox keeps it: mindbox.d.ts `OutboxRecord` (the record as QA lists it), with
 * `data`, the operation's body, kept as JSON text.
 *
 * @typedef {Omit<import("./mindbox").OutboxRecord, "data"> & {data: string}} Record
 */
/** @typedef {Record["state"]} State */

/** Not settled yet: stored, waiting for the collector's answer. @type {State} */
export var PENDING = "pending";
/** Accepted by the collector (on its queue for Mindbox). @type {State} */
export var SENT = "sent";
/** Will never be accepted as it is (the collector's or the shell's reason in `reason`). @type {State} */
export var REJECTED = "rejected";

/**
 * A page call kept from before the Rust half was in (loader.js): `operation` is the method, `data`
 * the argument as JSON text, `rand` the random numbers of its event id. It is made into its event,
 * in place, by the first tab whose Rust half takes it; it is never sent as it is.
 * @type {State}
 */
export var CALL = "call";

/** Most pending events kept: the Rust half's bound (model/src/eviction.rs `MAX_EVENTS`). */
export var MAX_PENDING = 1000;
/** Sent events kept for QA. */
export var MAX_SENT = 200;
/** Rejected events kept. */
export var MAX_REJECTED = 500;

/** The tracker's name in the browser: its IndexedDB database and its BroadcastChannel (tabs.js). */
export var NAME = "mindbox-edge";
/** Pending events, keyed by event id. */
var OUTBOX = "outbox";
/** Sent (recent) and rejected events, keyed by event id. */
var HISTORY = "history";
/** Counters (`evicted`). */
var META = "meta";
/** How long opening IndexedDB may take (it waits while another tab blocks an upgrade). */
var OPEN_MS = 3000;
/**
 * How long one transaction may go unanswered before the outbox gives it up (aborts it) and treats it
 * as failed: a write then keeps its events in memory, a read sees only memory. IndexedDB answers in
 * milliseconds; a transaction can still wait for ever behind one that never ends (another page's,
 * frozen: seen in WebKitGTK), and collection must not wait with it.
 */
export var TX_MS = 5000;

/**
 * The pending record of an event the Rust half made.
 *
 * @param {[string, string, number, string]} made `[id, operation, createdAt, data]`
 * @param {string | null} [replayOf] the event a QA replay repeats
 * @returns {Record}
 */
export function pending(made, replayOf) {
  return {
    id: made[0],
    operation: made[1],
    createdAt: made[2],
    data: made[3],
    state: PENDING,
    attempts: 0,
    lastError: null,
    reason: null,
    settledAt: null,
    replayOf: replayOf || null,
  };
}

/**
 * Opens the outbox: IndexedDB (giving up after `ms`, default OPEN_MS), else memory.
 *
 * @param {number} [ms]
 * @returns {Promise<Outbox>}
 */
export function openOutbox(ms) {
  return new Promise(function (resolve) {
    var done = false;
    function finish(db) {
      if (done) {
        if (db) db.close();
        return;
      }
      done = true;
      resolve(new Outbox(db));
    }
    setTimeout(finish, ms || OPEN_MS);
    try {
      var r = indexedDB.open(NAME, 1);
      r.onupgradeneeded = function () {
        var db = r.result;
        db.createObjectStore(OUTBOX, { keyPath: "id" });
        db.createObjectStore(HISTORY, { keyPath: "id" });
        db.createObjectStore(META);
      };
      r.onsuccess = function () {
        finish(r.result);
      };
      r.onerror = function () {
        finish();
      };
    } catch (e) {
      finish();
    }
  });
}

/** @param {{createdAt: number}} a @param {{createdAt: number}} b */
function byTime(a, b) {
  return a.createdAt - b.createdAt;
}

function without(list, ids) {
  return list.filter(function (r) {
    return ids.indexOf(r.id) < 0;
  });
}

/**
 * Sent and rejected beyond their bounds, oldest first.
 *
 * @param {Record[]} history
 * @returns {Record[]}
 */
function overflow(history) {
  /** @type {Record[]} */
  var out = [];
  /** @type {[string, number][]} */
  var bounds = [[SENT, MAX_SENT], [REJECTED, MAX_REJECTED]];
  bounds.forEach(function (b) {
    var of = history.filter(function (r) {
      return r.state === b[0];
    });
    out = out.concat(of.slice(0, Math.max(0, of.length - b[1])));
  });
  return out;
}

/** The outbox: IndexedDB when it works, memory for whatever it could not take. */
export function Outbox(db) {
  this.db_ = db || null;
  this.mem_ = [];
  this.memHistory_ = [];
  this.memEvicted_ = 0;
}

Outbox.prototype = {
  /** `"indexeddb"` or `"memory"`. */
  get storage() {
    return this.db_ ? "indexeddb" : "memory";
  },

  /**
   * One transaction over `stores`: `fill` gets the object stores and may return a request; resolves
   * with that request's result once the transaction has committed, rejects if it did not.
   */
  tx_: function (stores, write, fill) {
    var db = this.db_;
    return new Promise(function (resolve, reject) {
      if (!db) return reject();
      var t = db.transaction(stores, write ? "readwrite" : "readonly");
      var req = fill.apply(null, stores.map(function (s) {
        return t.objectStore(s);
      }));
      // Aborted, it cannot commit later: what it carried is only where the caller's fallback puts it.
      var watchdog = setTimeout(function () {
        try {
          t.abort();
        } catch (e) {}
      }, TX_MS);
      t.oncomplete = function () {
        clearTimeout(watchdog);
        resolve(req && req.result);
      };
      t.onabort = t.onerror = function () {
        clearTimeout(watchdog);
        reject(t.error);
      };
    });
  },

  /**
   * Stores pending (or, for QA imports, settled) events; resolves once durable or kept in memory,
   * with the ids of those it did not store. An event made from a kept call (`calls[i]`, its id)
   * replaces that call, and only while the call is still there: a call another tab has already made
   * into its event is not made twice.
   *
   * @param {Record[]} records
   * @param {(string | undefined)[]} [calls]
   * @returns {Promise<string[]>}
   */
  add: function (records, calls) {
    var self = this;
    /** @type {string[]} */
    var skipped = [];
    return this.tx_([OUTBOX], true, function (s) {
      records.forEach(function (r, i) {
        var from = calls && calls[i];
        if (!from) return s.put(r);
        var held = s.get(from);
        held.onsuccess = function () {
          if (held.result) {
            s.delete(from);
            s.put(r);
          } else skipped.push(r.id);
        };
      });
    }).then(
      function () {
        return skipped;
      },
      function () {
        self.mem_ = self.mem_.concat(records);
        return [];
      }
    );
  },

  /**
   * Keeps page calls (records in state CALL) until the Rust half makes them into events; resolves
   * whether IndexedDB took them (no memory fallback: the page still holds them).
   *
   * @param {Record[]} calls
   * @returns {Promise<boolean>}
   */
  keep: function (calls) {
    return this.tx_([OUTBOX], true, function (s) {
      calls.forEach(function (r) {
        s.put(r);
      });
    }).then(
      function () {
        return true;
      },
      function () {
        return false;
      }
    );
  },

  /** Forgets kept calls (made into nothing: dropped, or not events). @param {string[]} ids */
  drop: function (ids) {
    return this.tx_([OUTBOX], true, function (s) {
      ids.forEach(function (id) {
        s.delete(id);
      });
    }).catch(function () {});
  },

  /** The kept calls, oldest first. @returns {Promise<Record[]>} */
  calls: function () {
    return this.read_([], OUTBOX, true);
  },

  /**
   * Every pending event and the kept calls, oldest first, from one read.
   * @returns {Promise<[Record[], Record[]]>}
   */
  pendingAndCalls: function () {
    var mem = this.mem_;
    return this.read_(mem, OUTBOX, null).then(function (all) {
      return [
        all.filter(function (r) {
          return r.state !== CALL;
        }),
        all.filter(function (r) {
          return r.state === CALL;
        }),
      ];
    });
  },

  /**
   * The records of one store: those kept in memory plus those in IndexedDB, oldest first; the kept
   * calls among them only, or (default) everything but them, or (`null`) all.
   *
   * @param {Record[]} mem
   * @param {string} store
   * @param {boolean | null} [calls]
   */
  read_: function (mem, store, calls) {
    return this.tx_([store], false, function (s) {
      return s.getAll();
    })
      .catch(function () {
        return [];
      })
      .then(function (stored) {
        return mem
          .concat(stored || [])
          .filter(function (r) {
            return calls === null || (r.state === CALL) === !!calls;
          })
          .sort(byTime);
      });
  },

  /**
   * The pending events only this tab holds (kept in memory: IndexedDB unavailable or failing), oldest
   * first. No other tab sees them, so this tab sends them whether or not it is the sending tab.
   */
  local: function () {
    return this.mem_.slice();
  },

  /** Every pending event, oldest first. */
  pending: function () {
    return this.read_(this.mem_, OUTBOX);
  },

  /** Sent and rejected events, oldest first. */
  history: function () {
    return this.read_(this.memHistory_, HISTORY);
  },

  /**
   * Pending and settled events and kept calls, oldest first, read in one transaction: an event
   * settling meanwhile is in the list once, as pending or as settled.
   */
  all: function () {
    var mem = this.mem_.concat(this.memHistory_);
    /** @type {Record[]} */
    var stored = [];
    return this.tx_([OUTBOX, HISTORY], false, function (o, h) {
      [o, h].forEach(function (s) {
        s.getAll().onsuccess = function (e) {
          stored = stored.concat(/** @type {IDBRequest} */ (e.target).result);
        };
      });
    })
      .catch(function () {})
      .then(function () {
        return mem.concat(stored).sort(byTime);
      });
  },

  /** Events evicted so far because the outbox was full. */
  evicted: function () {
    var n = this.memEvicted_;
    return this.tx_([META], false, function (s) {
      return s.get("evicted");
    })
      .catch(function () {})
      .then(function (stored) {
        return n + (stored || 0);
      });
  },

  /**
   * Moves settled events (state `sent` or `rejected`) to the history, pruned to its bounds. Only
   * events still pending move: one the outbox forgot meanwhile (consent withdrawn while its batch was
   * in flight) is not brought back.
   *
   * @param {Record[]} settled
   */
  settle: function (settled) {
    return this.toHistory_(settled, true);
  },

  /** Keeps records in the history as they are (a QA import). @param {Record[]} records */
  remember: function (records) {
    return this.toHistory_(records, false);
  },

  /**
   * @param {Record[]} settled
   * @param {boolean} onlyPending
   */
  toHistory_: function (settled, onlyPending) {
    var self = this;
    var ids = settled.map(function (r) {
      return r.id;
    });
    /** @type {{[id: string]: 1}} */
    var inMemory = {};
    this.mem_.forEach(function (r) {
      inMemory[r.id] = 1;
    });
    this.mem_ = without(this.mem_, ids);
    return this.tx_([OUTBOX, HISTORY], true, function (o, h) {
      settled.forEach(function (r) {
        if (!onlyPending || inMemory[r.id]) return h.put(r);
        var held = o.get(r.id);
        held.onsuccess = function () {
          if (held.result) {
            o.delete(r.id);
            h.put(r);
          }
        };
      });
    }).then(
      function () {
        return self.history().then(function (history) {
          var extra = overflow(history);
          if (extra.length) {
            return self
              .tx_([HISTORY], true, function (h) {
                extra.forEach(function (r) {
                  h.delete(r.id);
                });
              })
              .catch(function () {});
          }
        });
      },
      function () {
        // IndexedDB did not take them: the history in memory does, but of settled events only those
        // this tab still held (the others stay pending in IndexedDB, or were forgotten).
        var h = self.memHistory_
          .concat(
            settled.filter(function (r) {
              return !onlyPending || inMemory[r.id];
            })
          )
          .sort(byTime);
        self.memHistory_ = without(h, overflow(h).map(function (r) {
          return r.id;
        }));
      }
    );
  },

  /** Records a failed attempt on pending events. */
  failed: function (batch, error) {
    var self = this;
    var stored = [];
    batch.forEach(function (r) {
      r.attempts = (r.attempts || 0) + 1;
      r.lastError = error;
      var m = self.mem_.filter(function (x) {
        return x.id === r.id;
      })[0];
      if (m) Object.assign(m, r);
      else stored.push(r);
    });
    // Only onto events still pending: one the outbox forgot meanwhile is not brought back.
    return this.tx_([OUTBOX], true, function (s) {
      stored.forEach(function (r) {
        var held = s.get(r.id);
        held.onsuccess = function () {
          if (held.result) s.put(r);
        };
      });
    }).catch(function () {});
  },

  /** Evicts these pending events and counts them. */
  evict: function (victims) {
    var self = this;
    var ids = victims.map(function (r) {
      return r.id;
    });
    var before = this.mem_.length;
    this.mem_ = without(this.mem_, ids);
    var fromMem = before - this.mem_.length;
    this.memEvicted_ += fromMem;
    var fromDb = victims.length - fromMem;
    if (!fromDb) return Promise.resolve();
    return this.evicted().then(function (n) {
      return self
        .tx_([OUTBOX, META], true, function (o, m) {
          ids.forEach(function (id) {
            o.delete(id);
          });
          m.put(n - self.memEvicted_ + fromDb, "evicted");
        })
        .catch(function () {});
    });
  },

  /** Forgets the settled events (QA's "clear history"); pending ones stay and are still sent. */
  clearHistory: function () {
    this.memHistory_ = [];
    return this.tx_([HISTORY], true, function (h) {
      h.clear();
    }).catch(function () {});
  },

  /** Forgets everything (consent withdrawn). */
  clear: function () {
    this.mem_ = [];
    this.memHistory_ = [];
    return this.tx_([OUTBOX, HISTORY], true, function (o, h) {
      o.clear();
      h.clear();
    }).catch(function () {});
  },
};
