// @ts-check
// Type checks only (run by `tsc -p tracker/js`, never bundled): the shell's stored record and the
// record the QA API lists (mindbox.d.ts, what pages and QA code are typed against) have the same
// fields, in both directions; `data` is JSON text in the outbox and parsed in the listing.

/**
 * @param {import("./flush.js").Record} r
 * @returns {Omit<import("./mindbox").OutboxRecord, "data">}
 */
export function listed(r) {
  return r;
}

/**
 * @param {import("./mindbox").OutboxRecord} r
 * @returns {Omit<import("./flush.js").Record, "data">}
 */
export function stored(r) {
  return r;
}
