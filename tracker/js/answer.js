// @ts-check
// Reading the collector's answer to one batch (the wire contract: contract.js, model/src/wire.rs).

import { SETTLED, SPLIT, ACCEPTED, REJECTED } from "./contract.js";

/** Why nothing was settled when no answer came (the page's `sync` callbacks get it too). */
export var UNREACHABLE = "the collector is unreachable";

/**
 * What an answer means, as one of:
 * - `{reasons, device, trace}`: the batch is settled, one reason per event (`null`: accepted); `trace`:
 *   QA traces the device (said only for a batch the collector looked its device up for, not `fresh`);
 * - `{split}`: the collector refused the request as a whole (its body is not a batch it can read, or
 *   it is too big). That is never blamed on every event: the sender halves the batch and resends until
 *   only the bad event is left, which is then rejected with this reason;
 * - `{error}`: nothing was accepted (no answer at all, 403, 429, 5xx); try again later.
 *
 * @typedef {{reasons: (string|null)[], device?: string, trace?: boolean, split?: undefined, error?: undefined}
 *   | {split: string, reasons?: undefined, error?: undefined}
 *   | {error: string, reasons?: undefined, split?: undefined}} Answer
 */

/**
 * Reads the answer with HTTP `status` (0: none) and body `text` to a batch of `records`. An event the
 * answer has no result for is rejected, never dropped.
 *
 * @param {{id: string}[]} records
 * @param {number} status
 * @param {string} text
 * @returns {Answer}
 */
export function answer(records, status, text) {
  /** @type {any} */
  var body;
  try {
    body = JSON.parse(text);
  } catch (e) {}
  body = body || {};
  var why = status
    ? "collector answered HTTP " + status + ": " + (body.reason || text)
    : UNREACHABLE;
  if (SPLIT.indexOf(status) >= 0) return { split: why };
  if (SETTLED.indexOf(status) < 0) return { error: why };
  /** @type {{id?: string, status?: string, path?: string, reason?: string}[]} */
  var results = Array.isArray(body.results) ? body.results : [];
  return {
    device: typeof body.deviceUUID === "string" ? body.deviceUUID : undefined,
    trace: body.trace === true,
    reasons: records.map(function (r, i) {
      var x = results.filter(function (x) {
        return x && x.id === r.id;
      })[0];
      if (!x && results[i] && results[i].id == null) x = results[i];
      if (!x) return "the collector's answer had no result for this event";
      if (x.status === ACCEPTED) return null;
      return x.reason ? (x.path || "") + ": " + x.reason : REJECTED;
    }),
  };
}
