// Mindbox Edge tracker loader: the one script a shop adds.
//
//   <script src="https://shop.example/mbx/tracker.js" data-endpoint-id="shop-website" async></script>
//
// It keeps Mindbox's snippet contract: `window.mindbox(...)` calls made before the tracker is ready are
// queued in `mindbox.queue` (the official snippet creates that queue too) and replayed in order once the
// wasm module is ready. The collector defaults to the script's own directory; `data-collector`
// overrides it. Nothing here throws into the page. Types: mindbox.d.ts.
import init, { start } from "../pkg/mindbox_tracker.js";

(function () {
  var w = window;
  var script = document.currentScript;
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

  var ready = init({ module_or_path: base + "tracker.wasm" }).then(function () {
    return start(collector, endpointId);
  });
  ready
    .then(function (tracker) {
      var mindbox = function (method, arg, extra) {
        try {
          tracker.call(String(method), arg, extra);
        } catch (e) {
          console.warn("mindbox: internal error", e);
        }
      };
      mindbox.queue = { push: function (args) { mindbox.apply(null, args); } };
      // The QA API (www/qa.html): list, replay, export, import, flush.
      var qa = function (command) {
        return function (arg) { return tracker.qa(command, arg); };
      };
      mindbox.qa = {
        list: qa("list"),
        replay: qa("replay"),
        exportJSON: qa("export"),
        importJSON: qa("import"),
        flush: qa("flush"),
      };
      mindbox.deviceUUID = function () { return tracker.deviceUUID; };
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
