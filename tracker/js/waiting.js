// @ts-check
// Calls waiting for the visitor's consent (opt-in mode): held in this tab's memory only, the newest
// MAX_WAITING, each with the time it was made (its event already carries that time), until
// `mindbox("consent", true)` runs them or `consent(false)` (or the page going away) drops them.
//
// QA asks every open tab what it holds over a BroadcastChannel (`ask`): messages, never storage.

import { call } from "./callbacks.js";
import { NAME } from "./outbox.js";

/** Most calls held; past it the oldest is dropped (its `onError` is told) and counted. */
export var MAX_WAITING = 100;
/** How long QA waits for the other tabs' answers. */
export var ASK_MS = 300;

/**
 * A held call: what QA sees (`at`, `method`, `operation`), what runs it once consent is given, and
 * its `onError`.
 *
 * @typedef {import("./mindbox").WaitingCall & {run: () => void, onError?: unknown}} Held
 */

export class Waiting {
  constructor() {
    /** @type {Held[]} */
    this.calls_ = [];
    /** Calls dropped past MAX_WAITING. */
    this.dropped = 0;
    /** @type {BroadcastChannel | null} */
    this.channel_ = null;
    /** The id of this tab's last question to the others. */
    this.asking_ = "";
  }

  /** Holds a call. @param {Held} c */
  add(c) {
    this.calls_.push(c);
    if (this.calls_.length > MAX_WAITING) {
      var old = /** @type {Held} */ (this.calls_.shift());
      this.dropped++;
      call(old.onError, "dropped: more than " + MAX_WAITING + " calls were waiting for the visitor's consent");
    }
  }

  /** Runs every held call, oldest first (consent given). */
  run() {
    var calls = this.calls_;
    this.calls_ = [];
    calls.forEach(function (c) {
      c.run();
    });
  }

  /** Drops every held call, telling each `onError` (consent refused). */
  drop() {
    var calls = this.calls_;
    this.calls_ = [];
    calls.forEach(function (c) {
      call(c.onError, "dropped: the visitor did not consent");
    });
  }

  /** What QA sees of this tab's held calls. @returns {import("./mindbox").WaitingCall[]} */
  list() {
    return this.calls_.map(function (c) {
      return { at: c.at, method: c.method, operation: c.operation };
    });
  }

  /** Answers QA's questions from other tabs (the channel lives as long as the page). */
  listen() {
    if (this.channel_ || typeof BroadcastChannel !== "function") return;
    var self = this;
    var channel = (this.channel_ = new BroadcastChannel(NAME + "-waiting"));
    channel.onmessage = function (m) {
      // This tab's own question is answered by `ask` itself.
      if (m.data && m.data.ask && m.data.ask !== self.asking_) {
        try {
          channel.postMessage({ answer: m.data.ask, calls: self.list(), dropped: self.dropped });
        } catch (e) {}
      }
    };
  }
}

/**
 * The held calls of every open tab of the shop: this tab's `mine` and what the others answer within
 * ASK_MS.
 *
 * @param {Waiting} mine
 * @returns {Promise<{calls: import("./mindbox").WaitingCall[], dropped: number}>}
 */
export function ask(mine) {
  var out = { calls: mine.list(), dropped: mine.dropped };
  if (typeof BroadcastChannel !== "function") return Promise.resolve(out);
  var id = (mine.asking_ = String(Math.random()).slice(2));
  var channel = new BroadcastChannel(NAME + "-waiting");
  channel.onmessage = function (m) {
    if (m.data && m.data.answer === id) {
      out.calls = out.calls.concat(m.data.calls || []);
      out.dropped += +m.data.dropped || 0;
    }
  };
  channel.postMessage({ ask: id });
  return new Promise(function (resolve) {
    setTimeout(function () {
      channel.close();
      out.calls.sort(function (a, b) {
        return a.at - b.at;
      });
      resolve(out);
    }, ASK_MS);
  });
}
