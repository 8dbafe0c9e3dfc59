// @ts-check
// The page's callbacks (`onSuccess`, `onError`) of this tab's events, called once when each settles.

import { SENT, REJECTED } from "./outbox.js";

/**
 * Calls `f(arg)` if it is a function; what it throws stays out of the tracker.
 *
 * @param {unknown} f
 * @param {unknown} [arg]
 */
export function call(f, arg) {
  if (typeof f === "function") {
    try {
      f(arg);
    } catch (e) {}
  }
}

/** Event id → the page's callbacks, for the events this tab made that have not settled yet. */
export class Callbacks {
  constructor() {
    /** @type {Map<string, [unknown, unknown]>} */
    this.pending_ = new Map();
  }

  /**
   * Remembers the callbacks of event `id` (nothing to remember without either).
   *
   * @param {string} id
   * @param {unknown} onSuccess
   * @param {unknown} onError
   */
  add(id, onSuccess, onError) {
    if (onSuccess || onError) this.pending_.set(id, [onSuccess, onError]);
  }

  /** How many events still wait for their callbacks. */
  get size() {
    return this.pending_.size;
  }

  /**
   * Calls and forgets the callbacks of these settled events: `onSuccess()` for a sent one,
   * `onError(reason)` for a rejected one. Events without callbacks here are skipped.
   *
   * @param {{id: string, state: string, reason?: string|null}[]} records
   */
  settle(records) {
    for (var i = 0; i < records.length; i++) {
      var r = records[i];
      var cb = this.pending_.get(r.id);
      if (!cb) continue;
      this.pending_.delete(r.id);
      if (r.state === SENT) call(cb[0]);
      else call(cb[1], r.reason || REJECTED);
    }
  }
}
