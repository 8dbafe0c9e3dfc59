// The sender: outbox → batches → `POST /v1/events`, in the one tab that holds the sender role.
//
// * One sending tab: the tab holding the Web Lock `mindbox-edge-sender` sends the shared outbox, so no
//   event is sent twice by two tabs; where Web Locks are missing, a lease in localStorage
//   (`tab id|expiry`, renewed every second, 3 s long) stands in.
// * A flush evicts beyond the outbox bounds, splits what is pending into batches and posts them in
//   order, with credentials so the collector sees and renews its device cookie. Accepted events move
//   to the `sent` history, rejected ones to `rejected` with the collector's reason; nothing leaves the
//   outbox without an answer. Batch bodies, eviction and retry delays come from the Rust half
//   (tracker/src/browser/collector.rs); this file does the I/O and reads the answers.
// * No answer, 429, 403 and 5xx: the events stay, and the next try waits on the backoff schedule (at
//   least `Retry-After`); the `online` event and the next page load try again at once.
// * Page hide (`visibilitychange` → hidden, `pagehide`): what is pending is sent with `sendBeacon`. It
//   stays in the outbox until a later answer; the event id (Mindbox's transactionId) makes the resend
//   harmless.

import { adopt, deviceId, storage } from "./device.js";
import { answer } from "./answer.js";

var LOCK = "mindbox-edge-sender";
var LEASE_KEY = "mindboxEdgeSender";
var LEASE_MS = 3000;
var CONSENT_KEY = "mindboxEdgeConsent";

/** Calls `f(arg)` if it is a function; what it throws stays out of the tracker. */
export function call(f, arg) {
  if (typeof f === "function") {
    try {
      f(arg);
    } catch (e) {}
  }
}

/**
 * The sender of this tab, for the Rust half `core`, the `outbox` and the collector's base URL.
 * Returns `{track, flush, written, consent, sync, isLeader}`.
 */
export function Sender(core, outbox, collector) {
  var url = collector + "v1/events";
  var leader = false;
  var failures = 0;
  var nextTryAt = 0;
  var flushing = false;
  var again = false;
  var timer = null;
  var timerAt = 0;
  /** Ids of the batch being posted: a beacon leaves them to that request. */
  var inFlight = [];
  /**
   * Events this tab made while it was the sending tab (or did not know yet) and has not seen settled,
   * for beacons. A tab that does not send leaves its events to the sending tab through the shared
   * outbox; a list of them here would only go stale and be beaconed again if it became the sender.
   */
  var own = [];
  /** Events of the current task, written together after it. */
  var unwritten = [];
  /** Event id → [onSuccess, onError] of this tab's pending calls. */
  var callbacks = {};
  var store = storage();
  /** Consent where localStorage is unavailable (this tab only). */
  var consentHere = true;
  /**
   * Whether the visitor lets the shop collect: read from localStorage each time, so
   * `mindbox("consent", false)` in one tab stops every tab of the shop at once, the sending one too.
   */
  function consent() {
    try {
      if (store) return store.getItem(CONSENT_KEY) !== "0";
    } catch (e) {}
    return consentHere;
  }

  /** Whether this tab knows yet if it sends. */
  var decided = false;

  function gain() {
    decided = true;
    if (!leader) {
      leader = true;
      kick(0);
    }
  }

  function lose() {
    if (!decided) own = [];
    decided = true;
    leader = false;
  }

  /** Holds the lock until the tab goes away. */
  function hold(lock) {
    if (!lock) return lose();
    gain();
    return new Promise(function () {});
  }

  // The sending-tab role: try for the lock at once (so the tab knows where it stands), else queue for it.
  var locks = navigator.locks;
  if (locks && locks.request) {
    locks
      .request(LOCK, { ifAvailable: true }, function (lock) {
        var held = hold(lock);
        if (!lock) locks.request(LOCK, hold).catch(function () {});
        return held;
      })
      .catch(function () {});
  } else {
    var tab = String(Math.random()).slice(2);
    var lease = function () {
      if (!store) return gain();
      var t = Date.now();
      var current = (store.getItem(LEASE_KEY) || "").split("|");
      if (current[0] === tab || !(+current[1] >= t)) {
        try {
          store.setItem(LEASE_KEY, tab + "|" + (t + LEASE_MS));
        } catch (e) {}
        if ((store.getItem(LEASE_KEY) || "").split("|")[0] === tab) return gain();
      }
      lose();
    };
    lease();
    setInterval(lease, 1000);
  }

  /** Schedules a flush in `ms` (an earlier one already scheduled stands). */
  function kick(ms) {
    var at = Date.now() + ms;
    if (timer !== null && timerAt <= at) return;
    clearTimeout(timer);
    timerAt = at;
    timer = setTimeout(function () {
      timer = null;
      flush();
    }, ms);
  }

  /** Calls and forgets the page callbacks of settled events. */
  function settled(records) {
    var ids = records.map(function (r) {
      return r.id;
    });
    own = own.filter(function (r) {
      return ids.indexOf(r.id) < 0;
    });
    records.forEach(function (r) {
      var cb = callbacks[r.id];
      if (cb) {
        delete callbacks[r.id];
        if (r.state === "sent") call(cb[0]);
        else call(cb[1], r.reason || "rejected");
      }
    });
  }

  function settle(records) {
    records.forEach(function (r) {
      if (r.state === "rejected") core.warn("event " + r.operation + " rejected: " + r.reason);
    });
    return outbox.settle(records).then(function () {
      settled(records);
      tell("settled");
    });
  }

  function mark(r, reason) {
    return Object.assign({}, r, {
      state: reason == null ? "sent" : "rejected",
      reason: reason == null ? null : reason,
      settledAt: Date.now(),
    });
  }

  /**
   * Whether this tab has something to send: the sending tab sends the shared outbox; any tab sends
   * the events only it holds, in memory (IndexedDB unavailable or failing), which no other tab sees.
   */
  function mine() {
    return leader || outbox.mem.length > 0;
  }

  /** What this tab sends, oldest first. */
  function toSend() {
    return leader ? outbox.pending() : Promise.resolve(outbox.mem.slice());
  }

  /** Sends what is pending, batch by batch, until the outbox is empty or a send fails. */
  function flush() {
    if (!mine() || !consent()) return Promise.resolve();
    if (flushing) {
      again = true;
      return Promise.resolve();
    }
    var wait = nextTryAt - Date.now();
    if (wait > 0) {
      kick(wait);
      return Promise.resolve();
    }
    flushing = true;
    function round() {
      again = false;
      return toSend()
        .then(function (pending) {
          var n = core.evict(pending);
          return n ? outbox.evict(pending.splice(0, n)).then(function () {
            return pending;
          }) : pending;
        })
        .then(function (pending) {
          return pending.length && sendAll(core.batches(pending, deviceId()), 0);
        })
        .then(function (more) {
          if (!more) return;
          if (again) return round();
          return toSend().then(function (p) {
            if (p.length) return round();
          });
        });
    }
    return round()
      .catch(function (e) {
        console.warn("mindbox: sending failed", e);
      })
      .then(function () {
        flushing = false;
      });
  }

  /** Posts batches from `i` on; resolves false when one could not be sent (a retry is scheduled). */
  function sendAll(batches, i) {
    var b = batches[i];
    if (!b || !consent()) return Promise.resolve(true);
    if (b.body === undefined) {
      return settle([mark(b.records[0], b.reason)]).then(function () {
        return sendAll(batches, i + 1);
      });
    }
    inFlight = b.records.map(function (r) {
      return r.id;
    });
    var status = 0;
    var retryAfter;
    // A collector that takes the request and never answers must not stall the sender: give up after
    // 30 s (the events stay, and the backoff applies).
    var timeout = AbortSignal.timeout && AbortSignal.timeout(30000);
    return fetch(url, { method: "POST", body: b.body, credentials: "include", signal: timeout })
      .then(function (res) {
        status = res.status;
        retryAfter = res.headers.get("Retry-After");
        return res.text();
      })
      .catch(function () {
        return "";
      })
      .then(function (text) {
        inFlight = [];
        var a = answer(b.records, status, text);
        if (a.split !== undefined) {
          if (b.records.length < 2) {
            return settle([mark(b.records[0], a.split)]).then(function () {
              return sendAll(batches, i + 1);
            });
          }
          var half = Math.ceil(b.records.length / 2);
          var parts = core
            .batches(b.records.slice(0, half), deviceId())
            .concat(core.batches(b.records.slice(half), deviceId()));
          batches.splice.apply(batches, [i, 1].concat(parts));
          return sendAll(batches, i);
        }
        if (a.error) {
          failures++;
          var delay = core.retryDelay(failures, retryAfter);
          nextTryAt = Date.now() + delay;
          return outbox.failed(b.records, a.error).then(function () {
            kick(delay);
            return false;
          });
        }
        failures = 0;
        if (a.device) adopt(a.device);
        return settle(
          b.records.map(function (r, k) {
            return mark(r, a.reasons[k]);
          })
        ).then(function () {
          return sendAll(batches, i + 1);
        });
      });
  }

  /**
   * Page hide: `sendBeacon` what is pending here: the events only this tab holds (in memory), and, in
   * the sending tab, its own unsettled events. Other tabs' events are in the shared outbox and go with
   * the next sending tab or page load.
   */
  function beacon() {
    if (!consent()) return;
    var ids = {};
    var rest = outbox.mem.concat(leader ? own : []).filter(function (r) {
      var fresh = !ids[r.id] && inFlight.indexOf(r.id) < 0;
      ids[r.id] = 1;
      return fresh;
    });
    if (!rest.length) return;
    core.batches(rest, deviceId()).forEach(function (b) {
      if (b.body !== undefined) navigator.sendBeacon(url, b.body);
    });
  }

  // Tabs tell each other through a BroadcastChannel: "written" wakes the sending tab (even in the
  // background, where Chromium throttles its timers to once a minute), "settled" lets a tab with
  // callbacks waiting look at the shared history. A poll stays as the fallback: every second without
  // a channel, every 5 s with one.
  function onSettled() {
    if (Object.keys(callbacks).length) outbox.history().then(settled);
  }
  var channel = typeof BroadcastChannel === "function" ? new BroadcastChannel("mindbox-edge") : null;
  function tell(what) {
    try {
      if (channel) channel.postMessage(what);
    } catch (e) {}
  }
  if (channel) {
    channel.onmessage = function (m) {
      if (m.data === "written") {
        if (leader) kick(0);
      } else if (m.data === "consent" || m.data === "no-consent") {
        if (!store) consentHere = m.data === "consent";
        withdrawnOrGranted();
      } else onSettled();
    };
  }
  setInterval(
    function () {
      if (mine()) kick(0);
      else onSettled();
    },
    channel ? 5000 : 1000
  );
  /** Events were stored: send them, here if this tab sends, else in the sending tab. */
  function written() {
    kick(0);
    tell("written");
  }
  /** Consent changed (here or in another tab): forget what is unsent, or start sending again. */
  function withdrawnOrGranted() {
    if (!consent()) {
      own = [];
      unwritten = [];
      outbox.clear();
    } else kick(0);
  }
  addEventListener("storage", function (e) {
    if (e.key === CONSENT_KEY) withdrawnOrGranted();
  });
  addEventListener("online", function () {
    nextTryAt = 0;
    kick(0);
  });
  addEventListener("pagehide", beacon);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") beacon();
    else kick(0);
  });

  return {
    /**
     * Stores an event made by the Rust half (`[id, operation, createdAt, data, onSuccess, onError]`,
     * the fields of tracker/src/browser/record.rs), then lets the sender take it.
     */
    track: function (made) {
      var r = {
        id: made[0],
        operation: made[1],
        createdAt: made[2],
        data: made[3],
        state: "pending",
        attempts: 0,
        lastError: null,
        reason: null,
        settledAt: null,
        replayOf: null,
      };
      if (!consent()) {
        // Collection is off (mindbox("consent", false)): the page learns why nothing was sent.
        return call(made[5], "collection is off: consent was withdrawn");
      }
      if (made[4] || made[5]) callbacks[r.id] = [made[4], made[5]];
      if (leader || !decided) {
        own.push(r);
        // Bounded like the outbox; the oldest are still in the outbox and go with the next flush.
        if (own.length > 1000) own.shift();
      }
      // Events made in the same task are written in one transaction, right after it (a microtask):
      // the page's call returns at once, and nothing is sent before the write has committed.
      if (!unwritten.length) {
        Promise.resolve().then(function () {
          var batch = unwritten;
          unwritten = [];
          outbox.add(batch).then(written);
        });
      }
      unwritten.push(r);
    },

    flush: flush,
    written: written,

    isLeader: function () {
      return leader;
    },

    /** `mindbox("consent", on)`: off stops collection and clears the outbox; on resumes. */
    consent: function (on) {
      consentHere = on !== false;
      try {
        store.setItem(CONSENT_KEY, consentHere ? "1" : "0");
      } catch (e) {}
      withdrawnOrGranted();
      tell(consentHere ? "consent" : "no-consent");
    },

    /** `mindbox("sync", {operation, data, onSuccess, onError})` through the collector's `/v1/sync`. */
    sync: function (a) {
      a = a || {};
      var body;
      try {
        body = JSON.stringify({ operation: a.operation, data: a.data, deviceUUID: deviceId() });
      } catch (e) {
        return call(a.onError, "data must be JSON");
      }
      fetch(collector + "v1/sync", { method: "POST", body: body, credentials: "include" }).then(
        function (res) {
          return res
            .json()
            .catch(function () {
              return null;
            })
            .then(function (v) {
              call(res.ok ? a.onSuccess : a.onError, v);
            });
        },
        function () {
          call(a.onError, "the collector is unreachable");
        }
      );
    },
  };
}
