// @ts-check
// Questions for the collector's `/v1/sync`, answered to the page's callbacks (nothing is stored: a
// question is not an event). `mindbox("sync", {operation, data, onSuccess, onError})` asks any
// operation on the collector's `SYNC_OPERATIONS`; the typed questions (`getBalance`, `calculateCart`,
// …) are made by the Rust half and asked here with `ask`.

import { call } from "./callbacks.js";
import { deviceId } from "./device.js";
import { UNREACHABLE } from "./answer.js";

/**
 * @param {string} collector the collector's base URL (ends with `/`)
 * @param {{operation?: unknown, data?: unknown, onSuccess?: unknown, onError?: unknown} | undefined} a
 */
export function sync(collector, a) {
  a = a || {};
  var data;
  try {
    data = JSON.stringify(a.data === undefined ? {} : a.data);
  } catch (e) {
    return call(a.onError, "data must be JSON");
  }
  ask(collector, String(a.operation), data, a.onSuccess, a.onError);
}

/**
 * Posts one question; `onSuccess` gets the collector's answer (the fields `SYNC_OPERATIONS` lets
 * through), `onError` the collector's refusal, or a message when it cannot be reached.
 *
 * @param {string} collector
 * @param {string} operation
 * @param {string} data the operation's body as JSON text
 * @param {unknown} onSuccess
 * @param {unknown} onError
 */
export function ask(collector, operation, data, onSuccess, onError) {
  var body = '{"operation":' + JSON.stringify(operation) + ',"data":' + data + ',"deviceUUID":' + JSON.stringify(deviceId()) + "}";
  fetch(collector + "v1/sync", { method: "POST", body: body, credentials: "include" }).then(
    function (res) {
      return res
        .json()
        .catch(function () {
          return null;
        })
        .then(function (v) {
          call(res.ok ? onSuccess : onError, v);
        });
    },
    function () {
      call(onError, UNREACHABLE);
    }
  );
}
