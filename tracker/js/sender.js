// @ts-check
// The sender of this tab: takes the events the Rust half makes, stores them, and has them sent by the
// one tab that sends. It wires the parts together; each part is its own module:
//
// * role.js — which tab sends (Web Locks, else a localStorage lease);
// * flush.js — the flush loop (batches, posting, answers, backoff);
// * callbacks.js — the page's onSuccess / onError;
// * consent.js — the visitor's consent, shared by every tab;
// * tabs.js — messages between tabs.
//
// Page hide (`visibilitychange` → hidden, `pagehide`): what only this tab holds and no request is
// carrying yet is sent with `sendBeacon`, once; while the page stays hidden the flush loop leaves
// those events to the beacon (batches go with `keepalive`, so one in flight survives the page too).
// They stay in the outbox until a later answer; the collector drops an event id it has already
// queued, and Mindbox a transactionId it has seen, so a resend at the next visit costs nothing.

import { adopt, deviceId, forgetDevice, storage } from "./device.js";
import { Callbacks, call } from "./callbacks.js";
import { CONSENT_KEY } from "./consent.js";
import { forget as forgetDropped } from "./dropped.js";
import { Flusher, poster } from "./flush.js";
import { pending, MAX_PENDING } from "./outbox.js";
import { SenderRole } from "./role.js";
import { tabs } from "./tabs.js";

/** @typedef {import("./outbox.js").Record} Record */
/** @typedef {ReturnType<typeof import("./core.js").core>} Core */
/** @typedef {import("./outbox.js").Outbox} Outbox */

/** How long a beaconed event is left to its beacon. */
var BEACON_MS = 30000;
/**
 * localStorage: QA traces this device (set by the QA page, and by the collector's answers), so no
 * batch is marked fresh: each is looked up, and traced, on the way in.
 */
export var TRACED_KEY = "mindboxEdgeTraced";

/**
 * The sender of this tab, for the Rust half `core`, the `outbox`, the collector's base URL and the
 * visitor's `consent`.
 *
 * @param {Core} core
 * @param {Outbox} outbox
 * @param {string} collector
 * @param {import("./consent.js").Consent} consent
 * @param {(calls: Record[]) => unknown} [adoptCalls] makes the kept calls other pages left into their
 *   events (the sending tab, with each flush's read of the outbox)
 */
export function Sender(core, outbox, collector, consent, adoptCalls) {
  var url = collector + "v1/events";
  var callbacks = new Callbacks();
  /**
   * Events this tab made while it was the sending tab (or did not know yet) and has not seen settled,
   * for beacons. A tab that does not send leaves its events to the sending tab through the shared
   * outbox; a list of them here would only go stale and be beaconed again if it became the sender.
   * @type {Record[]}
   */
  var own = [];
  /** @type {Record[]} events of the current task, written together after it */
  var unwritten = [];
  /** @type {(string | undefined)[]} the kept call each of `unwritten` is made from */
  var from = [];
  /**
   * Events no tab can have sent yet: made here while this tab sends (or before it knew it does), and
   * neither posted nor beaconed since. A batch of only such events says so (`fresh`), and the
   * collector does not look for resends of them. Forgotten whenever another tab may have sent them.
   * @type {{[id: string]: 1}}
   */
  var unsent = {};
  /** Times this tab became the sending tab: after the first, another tab may have sent its events. */
  var gains = 0;
  var store = storage();
  /** @param {Record} r */
  function fresh(r) {
    try {
      if (store && store.getItem(TRACED_KEY)) return false;
    } catch (e) {}
    return !!unsent[r.id];
  }
  /**
   * When each id was beaconed. For BEACON_MS the beacon has it: it is neither posted nor beaconed
   * again (the page is probably going away); after that, or once the page shows again, it is sent
   * like any pending event (a beacon gets no answer and may have been refused or lost).
   * @type {{[id: string]: number}}
   */
  var beaconed = {};
  /** @param {Record[]} records */
  function notBeaconed(records) {
    var since = Date.now() - BEACON_MS;
    return records.filter(function (r) {
      return !(beaconed[r.id] > since);
    });
  }

  /**
   * Whether this tab has something to send: the sending tab sends the shared outbox; any tab sends
   * the events only it holds, in memory (IndexedDB unavailable or failing), which no other tab sees.
   */
  function mine() {
    return role.leader || outbox.local().length > 0;
  }

  var flusher = new Flusher({
    core: core,
    outbox: outbox,
    source: function () {
      return (role.leader ? outbox.pendingAndCalls().then(function (both) {
        if (adoptCalls && both[1].length) adoptCalls(both[1]);
        return both[0];
      }) : Promise.resolve(outbox.local())).then(notBeaconed);
    },
    unclaimed: notBeaconed,
    active: function () {
      return mine() && consent.allowed();
    },
    allowed: function () {
      return consent.allowed();
    },
    post: poster(url),
    device: deviceId,
    adopt: adopt,
    fresh: fresh,
    sending: function (records) {
      records.forEach(function (r) {
        delete unsent[r.id];
      });
    },
    traced: function (on) {
      try {
        if (on) /** @type {Storage} */ (store).setItem(TRACED_KEY, "1");
        else /** @type {Storage} */ (store).removeItem(TRACED_KEY);
      } catch (e) {}
    },
    settled: function (records) {
      forget(records);
      channel.tell("settled");
    },
  });

  var role = new SenderRole({
    locks: navigator.locks,
    store: storage(),
    onGain: function () {
      if (gains++) unsent = {};
      flusher.kick(0);
    },
    onDecided: function () {
      own = [];
      unsent = {};
    },
  });

  /** Settled events: no beacon for them, and their callbacks are called. @param {Record[]} records */
  function forget(records) {
    var ids = records.map(function (r) {
      return r.id;
    });
    own = own.filter(function (r) {
      return ids.indexOf(r.id) < 0;
    });
    callbacks.settle(records);
  }

  /**
   * Page hide: `sendBeacon` what only this tab holds (in memory) and, in the sending tab, its own
   * unsettled events. Other tabs' events are in the shared outbox and go with the next sending tab.
   */
  function beacon() {
    if (!consent.allowed()) return;
    /** @type {{[id: string]: 1}} */
    var ids = {};
    var rest = notBeaconed(outbox.local().concat(role.leader ? own : [])).filter(function (r) {
      var fresh = !ids[r.id] && flusher.inFlight_.indexOf(r.id) < 0;
      ids[r.id] = 1;
      return fresh;
    });
    if (!rest.length) return;
    core.batches(rest, deviceId()).forEach(function (b) {
      // A beacon the browser refused (over its quota) leaves its events to the next send.
      if (b.body !== undefined && navigator.sendBeacon(url, b.body)) {
        var now = Date.now();
        b.records.forEach(function (r) {
          beaconed[r.id] = now;
          delete unsent[r.id];
        });
      }
    });
  }

  /** Another tab's settled events: call this tab's callbacks for any of them. */
  function onSettled() {
    if (callbacks.size) outbox.history().then(forget);
  }

  /** Consent changed (here or in another tab): forget what is unsent, or start sending again. */
  function withdrawnOrGranted() {
    if (!consent.allowed()) {
      own = [];
      unwritten = [];
      from = [];
      outbox.clear();
      forgetDropped();
      // Opt-in: the device id goes too (its cookie and copy), as it came with the consent.
      if (consent.optIn) forgetDevice();
    } else flusher.kick(0);
  }

  var channel = tabs(function (what) {
    if (what === "written") {
      if (role.leader) flusher.kick(0);
    } else if (what === "consent" || what === "no-consent") {
      consent.heard(what === "consent");
      withdrawnOrGranted();
    } else onSettled();
  });
  // The poll stays as the fallback for missed messages: every second without a channel, every 5 s with.
  setInterval(
    function () {
      if (mine()) flusher.kick(0);
      else onSettled();
    },
    channel.available ? 5000 : 1000
  );

  /** Events were stored: send them, here if this tab sends, else in the sending tab. */
  function written() {
    flusher.kick(0);
    channel.tell("written");
  }

  addEventListener("storage", function (e) {
    if (e.key === CONSENT_KEY) withdrawnOrGranted();
  });
  addEventListener("online", function () {
    flusher.online();
  });
  addEventListener("pagehide", beacon);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") beacon();
    else {
      // Back on the page: whatever a beacon took and got no answer for is sent again.
      beaconed = {};
      flusher.kick(0);
    }
  });

  return {
    /**
     * Stores an event made by the Rust half (`[id, operation, createdAt, data]`), then lets the sender
     * take it; the page's callbacks hear how it ends.
     *
     * @param {[string, string, number, string]} made
     * @param {unknown} [onSuccess]
     * @param {unknown} [onError]
     * @param {string | null} [replayOf] the event a QA replay repeats
     * @param {string} [kept] the kept call (outbox.js `CALL`) it is made from, which it replaces
     */
    track: function (made, onSuccess, onError, replayOf, kept) {
      if (!consent.allowed()) {
        // Collection is off (mindbox("consent", false)): the page learns why nothing was sent.
        return call(onError, "collection is off: consent was withdrawn");
      }
      var r = pending(made, replayOf);
      callbacks.add(r.id, onSuccess, onError);
      if (role.leader || !role.decided) {
        own.push(r);
        unsent[r.id] = 1;
        // Bounded like the outbox; the oldest are still in the outbox and go with the next flush.
        if (own.length > MAX_PENDING) own.shift();
      }
      // Events made in the same task are written in one transaction, right after it (a microtask):
      // the page's call returns at once, and nothing is sent before the write has committed.
      if (!unwritten.length) {
        Promise.resolve().then(function () {
          var batch = unwritten;
          var calls = from;
          unwritten = [];
          from = [];
          outbox.add(batch, calls).then(function (skipped) {
            // Made by another tab meanwhile: that tab may have sent them already.
            skipped.forEach(function (id) {
              delete unsent[id];
            });
            written();
          });
        });
      }
      unwritten.push(r);
      from.push(kept);
    },

    /** Sends now (QA). */
    flush: function () {
      return flusher.flush();
    },
    written: written,

    /** Whether this tab is the sending tab. */
    isLeader: function () {
      return role.leader;
    },

    /** `mindbox("consent", on)`: off stops collection and clears the outbox; on resumes. @param {boolean} on */
    consent: function (on) {
      consent.set(on);
      withdrawnOrGranted();
      channel.tell(on ? "consent" : "no-consent");
    },
  };
}
