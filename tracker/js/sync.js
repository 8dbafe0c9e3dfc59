// @ts-check
// `mindbox("sync", {operation, data, onSuccess, onError})`: one call through the collector's `/v1/sync`,
// answered to the page's callbacks (nothing is stored: a sync call is a question, not an event).

import { call } from "./callbacks.js";
import { deviceId } from "./device.js";

/**
 * @param {string} collector the collector's base URL (ends with `/`)
 * @param {{operation?: unknown, data?: unknown, onSuccess?: unknown, onError?: unknown} | undefined} a
 */
export function sync(collector, a) {
  a = a || {};
  var body;
  try {
    body = JSON.stringify({ operation: a.operation, data: a.data, deviceUUID: deviceId() });
  } catch (e) {
    return call(a.onError, "data must be JSON");
  }
  var done = a;
  fetch(collector + "v1/sync", { method: "POST", body: body, credentials: "include" }).then(
    function (res) {
      return res
        .json()
        .catch(function () {
          return null;
        })
        .then(function (v) {
          call(res.ok ? done.onSuccess : done.onError, v);
        });
    },
    function () {
      call(done.onError, "the collector is unreachable");
    }
  );
}
