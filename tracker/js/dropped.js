// @ts-check
// Calls the tracker dropped for bad arguments, for the QA page: the last few, with the message the
// console got, in localStorage (which the shop's tabs and the QA page share). Never the call's data,
// and nothing while the visitor's consent is withdrawn.
import { storage } from "./device.js";
import { CONSENT_KEY } from "./consent.js";

var KEY = "mindbox.dropped";
/** How many are kept: the newest. */
var KEEP = 20;

/** @typedef {import("./mindbox").DroppedCall} DroppedCall */

/** The dropped calls kept, oldest first. @returns {DroppedCall[]} */
export function dropped() {
  try {
    var list = JSON.parse(/** @type {Storage} */ (storage()).getItem(KEY) || "[]");
    return Array.isArray(list)
      ? list.filter(function (d) {
          return d && typeof d.at === "number" && typeof d.method === "string" && typeof d.message === "string";
        })
      : [];
  } catch (e) {
    return [];
  }
}

/** Keeps one dropped call. @param {string} method @param {string} message */
export function remember(method, message) {
  try {
    if (/** @type {Storage} */ (storage()).getItem(CONSENT_KEY) === "0") return;
  } catch (e) {
    return;
  }
  var list = dropped();
  list.push({ at: Date.now(), method: String(method).slice(0, 100), message: String(message).slice(0, 500) });
  try {
    /** @type {Storage} */ (storage()).setItem(KEY, JSON.stringify(list.slice(-KEEP)));
  } catch (e) {}
}

/** Forgets them (QA's "clear history", consent withdrawn). */
export function forget() {
  try {
    /** @type {Storage} */ (storage()).removeItem(KEY);
  } catch (e) {}
}
