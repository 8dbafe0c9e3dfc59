// @ts-check
// The flush loop: what this tab sends → batches → `POST /v1/events`, in order, until nothing is left
// or a post fails.
//
// A flush evicts beyond the outbox bounds, splits what is pending into batches and posts them one after
// another. Accepted events move to the `sent` history, rejected ones to `rejected` with the collector's
// reason; nothing leaves the outbox without an answer. A batch refused as a whole (400, 413) is halved
// and resent until only the bad event is left. No answer, 403, 429 and 5xx: the events stay, and the
// next try waits on the backoff schedule (at least `Retry-After`). Batch bodies, eviction and retry
// delays come from the Rust half; this file does the I/O and reads the answers (answer.js).

import { answer } from "./answer.js";
import { SENT, REJECTED } from "./outbox.js";

/** @typedef {import("./outbox.js").Record} Record */

/**
 * The Rust half's decisions the loop needs (core.js over tracker/src/shell.rs).
 *
 * @typedef {object} Core
 * @property {(records: Record[], device: string, fresh?: (r: Record) => boolean) => {records: Record[], body?: string, reason?: string}[]} batches
 * @property {(records: Record[]) => number} evict how many of the oldest to evict
 * @property {(failures: number, retryAfter: string | null | undefined) => number} retryDelay ms
 * @property {(message: string) => void} warn
 */

/**
 * The outbox operations the loop uses (outbox.js).
 *
 * @typedef {object} OutboxPort
 * @property {(records: Record[]) => Promise<void>} settle
 * @property {(records: Record[], error: string) => Promise<void>} failed
 * @property {(victims: Record[]) => Promise<void>} evict
 */

/**
 * @typedef {{status: number, retryAfter: string | null, text: string}} Posted
 *
 * @typedef {object} FlushDeps
 * @property {Core} core
 * @property {OutboxPort} outbox
 * @property {() => Promise<Record[]>} source what this tab sends, oldest first
 * @property {(records: Record[]) => Record[]} [unclaimed] of these, the ones no beacon has just
 *   taken (asked again right before each post: a beacon may leave while a round is under way)
 * @property {() => boolean} active whether this tab sends anything now (its role, and consent)
 * @property {() => boolean} allowed whether sending may go on (consent, asked before every batch)
 * @property {(body: string) => Promise<Posted>} post one request (status 0: no answer)
 * @property {() => string} device the device id for the batches
 * @property {(id: string) => void} adopt the collector's device id
 * @property {(records: Record[]) => void} settled events were settled (callbacks, other tabs)
 * @property {(r: Record) => boolean} [fresh] whether an event was never sent before
 * @property {(records: Record[]) => void} [sending] these are about to be posted
 * @property {(on: boolean) => void} [traced] whether QA traces the device, as an answer said
 */

/**
 * The settled copy of `r`: sent when `reason` is null, else rejected with it.
 *
 * @param {Record} r
 * @param {string | null | undefined} reason
 * @returns {Record}
 */
export function mark(r, reason) {
  return Object.assign({}, r, {
    state: reason == null ? SENT : REJECTED,
    reason: reason == null ? null : reason,
    settledAt: Date.now(),
  });
}

/** One tab's flush loop; one flush runs at a time, and a flush asked for meanwhile runs after it. */
export class Flusher {
  /** @param {FlushDeps} deps */
  constructor(deps) {
    this.d_ = deps;
    /** Consecutive failed posts. */
    this.failures_ = 0;
    /** No post before this time (ms), after a failure. */
    this.nextTryAt_ = 0;
    this.flushing_ = false;
    this.again_ = false;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.timer_ = null;
    this.timerAt_ = 0;
    /** whether this round left events to a beacon */
    this.skipped_ = false;
    /** @type {string[]} ids of the batch being posted: a beacon leaves them to that request */
    this.inFlight_ = [];
  }

  /** Schedules a flush in `ms` (an earlier one already scheduled stands). @param {number} ms */
  kick(ms) {
    var at = Date.now() + ms;
    if (this.timer_ !== null && this.timerAt_ <= at) return;
    if (this.timer_ !== null) clearTimeout(this.timer_);
    this.timerAt_ = at;
    var self = this;
    this.timer_ = setTimeout(function () {
      self.timer_ = null;
      self.flush();
    }, ms);
  }

  /** The network is back: try at once, whatever the backoff said. */
  online() {
    this.nextTryAt_ = 0;
    this.kick(0);
  }

  /** Sends what is pending, batch by batch, until nothing is left or a post fails. */
  flush() {
    var self = this;
    if (!this.d_.active()) return Promise.resolve();
    if (this.flushing_) {
      this.again_ = true;
      return Promise.resolve();
    }
    var wait = this.nextTryAt_ - Date.now();
    if (wait > 0) {
      this.kick(wait);
      return Promise.resolve();
    }
    this.flushing_ = true;
    return this.round_()
      .catch(function (e) {
        console.warn("mindbox: sending failed", e);
      })
      .then(function () {
        self.flushing_ = false;
      });
  }

  /** @returns {Promise<unknown>} */
  round_() {
    var self = this;
    var d = this.d_;
    this.again_ = false;
    this.skipped_ = false;
    return d
      .source()
      .then(function (pending) {
        var n = d.core.evict(pending);
        if (!n) return pending;
        return d.outbox.evict(pending.splice(0, n)).then(function () {
          return pending;
        });
      })
      .then(function (pending) {
        return pending.length ? self.sendAll_(d.core.batches(pending, d.device(), d.fresh), 0) : false;
      })
      .then(function (more) {
        // Events left to a beacon stay pending: another round now would only find them again.
        if (!more || self.skipped_) return;
        if (self.again_) return self.round_();
        return d.source().then(function (p) {
          if (p.length) return self.round_();
        });
      });
  }

  /**
   * Posts batches from `i` on; resolves true when all were settled, false when one could not be sent
   * (a retry is scheduled) or consent was withdrawn meanwhile (nothing more is sent).
   *
   * @param {{records: Record[], body?: string, reason?: string}[]} batches
   * @param {number} i
   * @returns {Promise<boolean>}
   */
  sendAll_(batches, i) {
    var self = this;
    var d = this.d_;
    var b = batches[i];
    if (!d.allowed()) return Promise.resolve(false);
    if (!b) return Promise.resolve(true);
    var next = function () {
      return self.sendAll_(batches, i + 1);
    };
    if (b.body === undefined) return this.settle_([mark(b.records[0], b.reason)]).then(next);
    var free = d.unclaimed ? d.unclaimed(b.records) : b.records;
    if (free.length < b.records.length) {
      this.skipped_ = true;
      batches.splice(i, 1, ...(free.length ? d.core.batches(free, d.device(), d.fresh) : []));
      return this.sendAll_(batches, i);
    }
    this.inFlight_ = b.records.map(function (r) {
      return r.id;
    });
    var fresh = !!d.fresh && b.records.every(d.fresh);
    if (d.sending) d.sending(b.records);
    return d.post(b.body).then(function (res) {
      self.inFlight_ = [];
      var a = answer(b.records, res.status, res.text);
      if (a.split !== undefined) {
        if (b.records.length < 2) return self.settle_([mark(b.records[0], a.split)]).then(next);
        var half = Math.ceil(b.records.length / 2);
        var parts = d.core
          .batches(b.records.slice(0, half), d.device())
          .concat(d.core.batches(b.records.slice(half), d.device()));
        batches.splice(i, 1, ...parts);
        return self.sendAll_(batches, i);
      }
      if (a.error !== undefined) {
        self.failures_++;
        var delay = d.core.retryDelay(self.failures_, res.retryAfter);
        self.nextTryAt_ = Date.now() + delay;
        var error = a.error;
        return d.outbox.failed(b.records, error).then(function () {
          self.kick(delay);
          return false;
        });
      }
      self.failures_ = 0;
      if (a.device) d.adopt(a.device);
      // Only an answer to a batch the collector looked up says whether the device is traced.
      if (d.traced && !fresh) d.traced(!!a.trace);
      var reasons = a.reasons;
      return self
        .settle_(
          b.records.map(function (r, k) {
            return mark(r, reasons[k]);
          })
        )
        .then(next);
    });
  }

  /** @param {Record[]} records settled copies @returns {Promise<void>} */
  settle_(records) {
    var d = this.d_;
    records.forEach(function (r) {
      if (r.state === REJECTED) d.core.warn("event " + r.operation + " rejected: " + r.reason);
    });
    return d.outbox.settle(records).then(function () {
      d.settled(records);
    });
  }
}

/**
 * Largest body sent with `keepalive`, in UTF-16 units: the browser's quota for all such requests and
 * beacons in flight is 64 KiB of bytes, and Cyrillic text takes two bytes a unit.
 */
var KEEPALIVE_MAX = 30000;

/**
 * A batch body without its `"fresh": true` (model/src/wire.rs `batch_body` writes it in the frame,
 * right before `sentAt` and before the events, whose data may hold anything).
 *
 * @param {string} body
 */
export function notFresh(body) {
  var mark = ',"fresh":true,"sentAt":';
  var at = body.indexOf(mark);
  return at >= 0 && at < body.indexOf('"events":[') ? body.slice(0, at) + body.slice(at + 13) : body;
}

/**
 * Posts a batch body to `url` with credentials (so the collector sees and renews its device cookie).
 * A collector that takes the request and never answers must not stall the sender: it gives up after
 * 30 s, as no answer (status 0).
 *
 * @param {string} url
 * @returns {(body: string) => Promise<Posted>}
 */
export function poster(url) {
  return function (body) {
    var status = 0;
    /** @type {string | null} */
    var retryAfter = null;
    var timeout = AbortSignal.timeout && AbortSignal.timeout(30000);
    // `keepalive`: a batch in flight when the page goes away still arrives (the browser allows 64 KiB
    // of such requests at once; a larger body goes without).
    /** @type {RequestInit} */
    var init = { method: "POST", body: body, credentials: "include", signal: timeout };
    var keepalive = body.length <= KEEPALIVE_MAX;
    return fetch(url, Object.assign({ keepalive: keepalive }, init))
      .catch(function (e) {
        // Refused at once over the keepalive quota (beacons in flight share it): send it plainly. The
        // failed request may have arrived all the same, so the second one is not `fresh`.
        if (keepalive) return fetch(url, Object.assign({}, init, { body: notFresh(body) }));
        throw e;
      })
      .then(function (res) {
        status = res.status;
        retryAfter = res.headers.get("Retry-After");
        return res.text();
      })
      .catch(function () {
        status = 0;
        return "";
      })
      .then(function (text) {
        return { status: status, retryAfter: retryAfter, text: text };
      });
  };
}
