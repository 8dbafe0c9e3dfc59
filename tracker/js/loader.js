// @ts-check
// Mindbox Edge tracker loader: the one script a shop adds.
//
//   <script src="https://shop.example/mbx/tracker.js" data-endpoint-id="shop-website" async></script>
//
// It keeps Mindbox's snippet contract: `window.mindbox(...)` calls made before the tracker is ready are
// queued in `mindbox.queue` (the official snippet creates that queue too) and replayed in order once the
// wasm module is ready. The collector defaults to the script's own directory; `data-collector`
// overrides it. Nothing here throws into the page. Types: mindbox.d.ts.
//
// The tracker is two halves: the Rust half (tracker/src/shell.rs and the model, compiled to
// tracker.wasm, loaded by wasm.js and called through core.js) checks
// calls, makes events and decides; this JS shell keeps the device id (device.js), stores the events
// (outbox.js), sends them (sender.js, which wires role.js, flush.js, callbacks.js, consent.js and
// tabs.js), asks `sync` calls and the typed questions such as `getBalance` (sync.js), keeps the calls
// it dropped for QA (dropped.js) and serves QA (qa.js).
import { core as rustHalf } from "./core.js";
import { load } from "./wasm.js";
import { openOutbox } from "./outbox.js";
import { deviceId, ensure } from "./device.js";
import { Sender } from "./sender.js";
import { call } from "./callbacks.js";
import { sync, ask } from "./sync.js";
import { qa } from "./qa.js";
import { remember } from "./dropped.js";

(function () {
  /** @type {any} */
  var w = window;
  var script = /** @type {HTMLScriptElement | null} */ (document.currentScript);
  var src = (script && script.src) || "";
  var base = src.replace(/[?#].*$/, "").replace(/[^/]*$/, "");
  var collector = (script && script.getAttribute("data-collector")) || base;
  if (collector && collector.slice(-1) !== "/") collector += "/";
  var endpointId = (script && script.getAttribute("data-endpoint-id")) || undefined;

  var stub = w.mindbox;
  if (typeof stub !== "function" || !stub.queue) {
    stub = function () {
      stub.queue.push(arguments);
    };
    stub.queue = (w.mindbox && w.mindbox.queue) || [];
    w.mindbox = stub;
  }

  Promise.all([load(base + "tracker.wasm"), openOutbox()])
    .then(function (r) {
      ensure();
      r[0].init(endpointId);
      var core = rustHalf(r[0]);
      var outbox = r[1];
      var sender = Sender(core, outbox, collector);
      var mindbox = function (method, arg, extra) {
        try {
          method = String(method);
          if (method === "sync") sync(collector, arg);
          else if (method === "consent") sender.consent(arg);
          else if (method === "helpers.getDeviceUUID")
            call(typeof arg === "function" ? arg : extra, deviceId());
          else {
            // The page's callbacks: in `extra` for typed calls, else in the argument itself.
            var cbs = (extra && typeof extra === "object" ? extra : arg) || {};
            var r = core.call(method, arg);
            if (r.error !== undefined) {
              remember(method, r.error);
              call(cbs.onError, r.error);
            }
            else if (r.made && !r.made[0]) ask(collector, r.made[1], r.made[3], cbs.onSuccess, cbs.onError);
            else if (r.made) sender.track(r.made, cbs.onSuccess, cbs.onError);
          }
        } catch (e) {
          console.warn("mindbox: internal error", e);
        }
      };
      mindbox.queue = { push: function (args) { mindbox.apply(null, args); } };
      mindbox.qa = qa(core, outbox, sender, collector);
      mindbox.deviceUUID = deviceId;
      var queued = stub.queue;
      w.mindbox = mindbox;
      for (var i = 0; i < queued.length; i++) mindbox.apply(null, queued[i]);
      try {
        w.dispatchEvent(new Event("mindbox:ready"));
      } catch (e) {}
    })
    .catch(function (e) {
      console.warn("mindbox: the tracker could not start; calls stay queued", e);
    });
})();
