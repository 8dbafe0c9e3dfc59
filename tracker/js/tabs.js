// @ts-check
// Messages between the shop's tabs, through a BroadcastChannel: "written" wakes the sending tab (even in
// the background, where Chromium throttles its timers to once a minute), "settled" lets a tab with
// callbacks waiting look at the shared history, "consent" / "no-consent" carry the visitor's choice.

import { NAME } from "./outbox.js";

/** @typedef {"written" | "settled" | "consent" | "no-consent"} TabMessage */

/**
 * The channel, or a silent stand-in where BroadcastChannel is missing (`available` tells which).
 *
 * @param {(what: TabMessage) => void} onMessage what another tab said
 */
export function tabs(onMessage) {
  /** @type {BroadcastChannel | null} */
  var channel = typeof BroadcastChannel === "function" ? new BroadcastChannel(NAME) : null;
  if (channel) {
    channel.onmessage = function (m) {
      onMessage(m.data);
    };
  }
  return {
    available: !!channel,
    /** @param {TabMessage} what */
    tell: function (what) {
      try {
        if (channel) channel.postMessage(what);
      } catch (e) {}
    },
  };
}
