// @ts-check
// The Rust half (tracker.wasm: tracker/src/shell.rs, through wasm.js) as the shell uses it. Only text
// and numbers cross between the two: the page's argument goes in as `JSON.stringify` text (which
// leaves out the callbacks), events and batches come back as text framed by the separators of
// wasm.js (`FIELD`, `RECORD`, `MESSAGE`).

import { FIELD, RECORD, MESSAGE } from "./wasm.js";

/** @typedef {import("./outbox.js").Record} Record */

/**
 * The page's argument as JSON text, as the Rust half reads it (`undefined`: it cannot be).
 *
 * @param {unknown} arg
 * @returns {string | undefined}
 */
export function json(arg) {
  try {
    return JSON.stringify(arg === undefined ? null : arg);
  } catch (e) {
    return undefined;
  }
}

/** @typedef {ReturnType<typeof import("./wasm.js").rust>} Wasm */

/**
 * The shell's view of the Rust half: `call`, plus what the flush loop needs (flush.js `Core`).
 *
 * @param {Wasm} wasm
 */
export function core(wasm) {
  /** @type {{[message: string]: 1}} */
  var warned = {};
  /** `console.warn`s a message once per page. @param {string} message */
  function warn(message) {
    if (!warned[message]) {
      warned[message] = 1;
      console.warn("mindbox: " + message);
    }
  }
  return {
    warn: warn,

    /**
     * One page call: the event to store as `[id, operation, createdAt, data]`, or the message that
     * says why the call was dropped (already on the console), or neither (a setting was taken).
     *
     * @param {string} method
     * @param {unknown} arg
     * @param {{at: number, rand: ArrayLike<number>}} [when] when the call was made and the random
     *   numbers of its event id (a call kept from before the Rust half was in); default: now, fresh
     * @returns {{made?: [string, string, number, string], error?: string}}
     */
    call: function (method, arg, when) {
      return this.made(method, json(arg), when);
    },

    /**
     * `call` with the argument already as JSON text (`undefined`: it had none).
     *
     * @param {string} method
     * @param {string | undefined} text
     * @param {{at: number, rand: ArrayLike<number>}} [when]
     * @returns {{made?: [string, string, number, string], error?: string}}
     */
    made: function (method, text, when) {
      when = when || { at: Date.now(), rand: crypto.getRandomValues(new Uint32Array(4)) };
      var out = text === undefined ? MESSAGE + "mindbox(\"" + method + "\"): the argument is not JSON" : wasm.call(method, text, when.at, when.rand);
      if (!out) return {};
      if (out.charAt(0) === MESSAGE) {
        warn(out.slice(1));
        return { error: out.slice(1) };
      }
      var f = out.split(FIELD);
      return { made: [f[0], f[1], +f[2], f.slice(3).join(FIELD)] };
    },

    /**
     * Pending records (oldest first) as batches to post in order, after one entry per event too big
     * to send (with the reason).
     *
     * @param {Record[]} records
     * @param {string} device
     * @param {(r: Record) => boolean} [fresh] which were never sent before (a batch of only such
     *   events says so, and the collector does not look for resends of them)
     * @returns {{records: Record[], body?: string, reason?: string}[]}
     */
    batches: function (records, device, fresh) {
      var text = records
        .map(function (r) {
          return [(fresh && fresh(r) ? "+" : "") + r.id, r.operation, String(r.createdAt), r.data].join(FIELD);
        })
        .join(RECORD);
      var out = wasm.batches(device, text);
      return !out
        ? []
        : out.split(RECORD).map(function (e) {
            var at = e.indexOf(FIELD);
            var range = e.slice(1, at).split(",");
            var part = records.slice(+range[0], +range[1]);
            return e.charAt(0) === "b" ? { records: part, body: e.slice(at + 1) } : { records: part, reason: e.slice(at + 1) };
          });
    },

    /** How many of the oldest to evict. @param {Record[]} records */
    evict: function (records) {
      return wasm.evict(
        records.map(function (r) {
          return r.operation.length + String(r.data).length;
        })
      );
    },

    /** @param {number} failures @param {string | null | undefined} retryAfter */
    retryDelay: function (failures, retryAfter) {
      return wasm.retryDelay(failures, retryAfter == null ? undefined : retryAfter);
    },

    /**
     * Whether a record QA imports can be an event: a canonical id, an operation name, a number time
     * and JSON text data without the separators (`RECORD`, `FIELD`, `MESSAGE`: U+0000 to U+0002).
     *
     * @param {any} r
     */
    isEvent: function (r) {
      return (
        !!r &&
        typeof r.id === "string" &&
        typeof r.operation === "string" &&
        typeof r.createdAt === "number" &&
        typeof r.data === "string" &&
        !/[\u0000-\u0002]/.test(r.data) &&
        wasm.isEvent(r.id, r.operation)
      );
    },
  };
}
