// @ts-check
// Page calls made before the Rust half is in (tracker.wasm comes after tracker.js): the loader owns
// `window.mindbox` as soon as tracker.js runs, and each call waits here in order, with the time it
// was made. A call that may be an event is also written to the outbox at once, as a kept call
// (outbox.js `CALL`), so a page closed before the wasm came loses nothing: the first tab whose Rust
// half takes it makes it into its event, with its own time and id (the id comes from random numbers
// kept with it, so a call two tabs take is one event).
//
// Nothing is written without consent (in opt-in mode, before it; after a withdrawal, never).

import { CALL } from "./outbox.js";
import { json } from "./core.js";

/** @typedef {import("./outbox.js").Record} Record */
/** @typedef {import("./outbox.js").Outbox} Outbox */

/**
 * Calls that never make an event, so they wait in memory only: settings, consent, and the questions
 * answered to the page (a question of a closed page has no one to answer).
 */
var NOT_EVENTS = [
  "create",
  "consent",
  "sync",
  "helpers.getDeviceUUID",
  "getBalance",
  "getPointsHistory",
  "getTier",
  "calculateCart",
  "sendPhoneCode",
  "bindCard",
  "getCards",
];

/** A kept call of another page is taken once it is this old: its page is gone, or cannot start. */
export var STALE_MS = 5000;

/**
 * One call made before the Rust half was in.
 *
 * @typedef {object} Early
 * @property {IArguments | any[]} args the page's arguments
 * @property {{at: number, rand: Uint32Array}} when when it was made, and its event id's random numbers
 * @property {string} [kept] the id of its kept call, once the outbox has it
 * @property {Promise<unknown>} [writing] settles once it is written (or not)
 */

/**
 * The calls of this page until the Rust half is in.
 *
 * @param {() => Promise<Outbox | null>} outbox where to keep them (`null`: nowhere, memory only)
 * @param {{allowed: () => boolean}} consent
 */
export function Kept(outbox, consent) {
  /** @type {Early[]} */
  var list = [];
  /** @type {{e: Early, r: Record}[]} */
  var unwritten = [];
  /** @type {{[id: string]: 1}} */
  var mine = {};

  /**
   * One call, with its time, and written to the outbox if it may be an event.
   * @param {IArguments | any[]} args
   */
  function entry(args) {
    /** @type {Early} */
    var e = { args: args, when: { at: Date.now(), rand: crypto.getRandomValues(new Uint32Array(4)) } };
    var method = String(args[0]);
    var text = json(args[1]);
    if (!consent.allowed() || NOT_EVENTS.indexOf(method) >= 0 || text === undefined) return e;
    var id = "call-" + [].join.call(e.when.rand, "-");
    mine[id] = 1;
    /** @type {Record} */
    var r = {
      id: id,
      operation: method,
      createdAt: e.when.at,
      data: text,
      state: CALL,
      attempts: 0,
      lastError: null,
      reason: null,
      settledAt: null,
      replayOf: null,
    };
    // The random numbers, for the event id: plain numbers, as IndexedDB keeps them.
    /** @type {any} */ (r).rand = [].slice.call(e.when.rand);
    // Calls of one task are written in one transaction, right after it.
    if (!unwritten.length)
      e.writing = Promise.resolve()
        .then(outbox)
        .then(function (o) {
          var batch = unwritten;
          unwritten = [];
          return o && o.keep(batch.map(function (x) {
            return x.r;
          })).then(function (ok) {
            if (!ok) return;
            batch.forEach(function (x) {
              x.e.kept = x.r.id;
            });
            try {
              // Durable: the bench's and QA's "written" (tabs.js).
              var c = new BroadcastChannel("mindbox-edge");
              c.postMessage("written");
              c.close();
            } catch (err) {}
          });
        });
    else e.writing = unwritten[0].e.writing;
    unwritten.push({ e: e, r: r });
    return e;
  }

  return {
    /** Keeps one call until `take`. @param {IArguments | any[]} args */
    add: function (args) {
      list.push(entry(args));
    },

    /**
     * One call of a method whose maker is not in yet (extras.js), kept like the others but outside
     * the list: the caller makes it once `writing` settles.
     */
    entry: entry,

    /** How many calls wait. */
    size: function () {
      return list.length;
    },

    /**
     * The calls kept so far, in order, once each is written (or not), and forgets them: further
     * calls are kept anew.
     *
     * @returns {Promise<Early[]>}
     */
    take: function () {
      var taken = list;
      list = [];
      return Promise.all(
        taken.map(function (e) {
          return e.writing;
        })
      ).then(function () {
        return taken;
      });
    },

    /**
     * Makes the kept `calls` other pages left (older than STALE_MS) into their events.
     *
     * @param {Record[]} calls
     * @param {Outbox} o
     * @param {(method: string, text: string, when: {at: number, rand: ArrayLike<number>}, kept: string) => boolean} make
     *   makes and tracks one; false: it made no event
     */
    adopt: function (calls, o, make) {
      return Promise.resolve(calls).then(function (calls) {
        var none = calls
          .filter(function (r) {
            return !mine[r.id] && r.createdAt < Date.now() - STALE_MS;
          })
          .filter(function (r) {
            return !make(r.operation, r.data, { at: r.createdAt, rand: /** @type {any} */ (r).rand || [] }, r.id);
          })
          .map(function (r) {
            return r.id;
          });
        if (none.length) return o.drop(none);
      });
    },
  };
}
