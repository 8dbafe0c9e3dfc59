// @ts-check
// Mindbox Edge tracker loader: the one script a shop adds.
//
//   <script src="https://shop.example/mbx/tracker.js" data-endpoint-id="shop-website" async></script>
//
// It keeps Mindbox's snippet contract and owns `window.mindbox` as soon as it runs: the calls the
// snippet queued in `mindbox.queue` and every later call wait, in order and with their own time, until
// the wasm module is in; those that may be events are kept in the outbox at once (kept.js), so a page
// closed before the wasm came loses none of them. The collector defaults to the script's own
// directory; `data-collector` overrides it. Nothing here throws into the page. Types: mindbox.d.ts.
//
// The tracker is two halves: the Rust half (tracker/src/shell.rs and the model, compiled to
// tracker.wasm, loaded by wasm.js and called through core.js) checks calls, makes events and decides;
// this JS shell keeps the device id (device.js), stores the events (outbox.js), sends them (sender.js,
// which wires role.js, flush.js, callbacks.js, consent.js and tabs.js), asks `sync` calls (sync.js),
// keeps the calls it dropped for QA (dropped.js) and serves QA (qa-front.js).
//
// Two files are fetched only when first needed: the calls only some pages make (extras.js, built to
// tracker-extras.js: the customer calls, the loyalty questions, cards by SMS code, back-in-stock) and
// the QA API (qa.js, built to tracker-qa.js); fetch-file.js fetches them.
//
// Opt-in (`data-consent="opt-in"` or a queued `create({consent: "opt-in"})`, 152-FZ): until the
// visitor consents, nothing is opened, set or written (no cookie, no storage, no IndexedDB, no lock)
// and nothing is sent; calls are checked and made at once, and wait in memory (waiting.js).
import { core as rustHalf } from "./core.js";
import { load } from "./wasm.js";
import { openOutbox, pending, SENT, REJECTED } from "./outbox.js";
import { deviceId, ensure, storage } from "./device.js";
import { Sender } from "./sender.js";
import { call } from "./callbacks.js";
import { sync, ask } from "./sync.js";
import { qaFront } from "./qa-front.js";
import { remember, dropped, forget } from "./dropped.js";
import { Consent, CONSENT_KEY } from "./consent.js";
import { Waiting, ask as askTabs } from "./waiting.js";
import { Kept } from "./kept.js";
import { fileLoader } from "./fetch-file.js";

/** Methods of extras.js, fetched on their first call (tracker/src/page.rs `LAZY_METHODS`). */
var LAZY = ["subscribeToProduct", "sendPhoneCode", "bindCard", "getCards", "authorize", "register", "editCustomer", "subscribe", "getBalance", "getPointsHistory", "getTier", "calculateCart"];

(function () {
  /** @type {any} */
  var w = window;
  var script = /** @type {HTMLScriptElement | null} */ (document.currentScript);
  var src = (script && script.src) || "";
  var base = src.replace(/[?#].*$/, "").replace(/[^/]*$/, "");
  /** Fetches one of the tracker's other files, once, for the global it sets. */
  var fetchFile = fileLoader(base, w, document);
  /** `mindbox.qa` over what it may use of this tracker. @param {any} lent */
  function qa(lent) {
    return qaFront(
      Object.assign(lent, { ask: askTabs, dropped: dropped, forget: forget, pending: pending, states: { sent: SENT, rejected: REJECTED } }),
      function () {
        return fetchFile("tracker-qa.js", "mindboxEdgeQA");
      }
    );
  }
  // The Rust half's module first: the one download before calls can be made into events.
  var wasm = load(base + "tracker.wasm");
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
  var optIn = !!script && script.getAttribute("data-consent") === "opt-in";
  for (var q = 0; q < stub.queue.length; q++) {
    var a = stub.queue[q];
    if (a[0] === "create" && a[1] && a[1].consent === "opt-in") optIn = true;
  }
  var consent = new Consent(storage(), optIn);
  var waiting = new Waiting();
  var allowed = consent.allowed();
  var opening = allowed || !optIn ? openOutbox() : Promise.resolve(null);
  var early = Kept(function () {
    return opening;
  }, consent);
  /** The tracker once the Rust half is in; until then calls wait in `early`. @type {any} */
  var run = null;
  /** @type {any} */
  var front = function () {
    if (run) run.apply(null, arguments);
    else early.add(arguments);
  };
  front.queue = {
    push: function (/** @type {any} */ args) {
      front.apply(null, args);
    },
  };
  // The tracker owns `window.mindbox` from here on; the snippet's queue waits with later calls.
  var queued = stub.queue;
  w.mindbox = front;
  for (var i = 0; i < queued.length; i++) early.add(queued[i]);

  Promise.all([wasm, opening])
    .then(function (r) {
      r[0].init(endpointId);
      var core = rustHalf(r[0]);
      if (optIn) core.call("create", { consent: "opt-in" });
      /** @type {ReturnType<typeof Sender> | null} */
      var sender = null;
      /** @type {import("./outbox.js").Outbox | null} */
      var outbox = null;
      /** Whether the sender is started, or its outbox being opened. */
      var starting = false;
      /** Starts sending from the outbox `o`, then runs the calls that waited. @param {any} o */
      function begin(o) {
        ensure();
        outbox = o;
        opening = Promise.resolve(o);
        sender = Sender(core, o, collector, consent, function (calls) {
          return early.adopt(calls, o, function (method, text, when, kept) {
            if (LAZY.indexOf(method) >= 0) {
              // Made by extras.js, once here (and once only, though flushes ask again meanwhile).
              if (!adopting[kept]) {
                adopting[kept] = 1;
                lazy(method, JSON.parse(text), {}, { when: when, kept: kept });
              }
              return true;
            }
            var r = core.made(method, text, when);
            var made = r.made;
            if (r.error !== undefined) remember(method, r.error);
            if (made && made[0]) /** @type {ReturnType<typeof Sender>} */ (sender).track(made, null, null, null, kept);
            return !!(made && made[0]);
          });
        });
        front.qa = qa({ core: core, outbox: o, sender: sender, collector: collector, consent: consent, waiting: waiting });
        waiting.run();
      }
      /** Opens the outbox (unless given) and begins; once. @param {any} [outbox] */
      function start(outbox) {
        if (starting) return;
        starting = true;
        if (outbox) begin(outbox);
        else openOutbox().then(begin);
      }
      /** What `create` set that extras.js reads. @type {{operations?: any, productIdSystem?: string}} */
      var settings = {};
      /** extras.js, once it is in. @type {any} */
      var extrasIn = null;
      /** Kept calls of other pages being made by extras.js. @type {{[id: string]: 1}} */
      var adopting = {};
      /**
       * The call extras.js is making, when it was kept (its time, its random numbers and its kept
       * id): its event replaces the kept call.
       * @type {{when: {at: number, rand: ArrayLike<number>}, kept?: string} | null}
       */
      var making = null;
      /** What extras.js may do. */
      var api = {
        settings: settings,
        event: function (method, operation, data, cbs) {
          var r = core.call("async", { operation: operation, data: data }, making ? making.when : undefined);
          if (r.made)
            /** @type {ReturnType<typeof Sender>} */ (sender).track(r.made, cbs.onSuccess, cbs.onError, null, making ? making.kept : undefined);
          else api.fail(method, String(r.error).replace('"async"', '"' + method + '"'), cbs);
        },
        ask: function (operation, data, cbs) {
          ask(collector, operation, JSON.stringify(data), cbs.onSuccess, cbs.onError);
        },
        fail: function (method, message, cbs) {
          if (making && making.kept && outbox) outbox.drop([making.kept]);
          message = message.indexOf("mindbox(") ? 'mindbox("' + method + '"): ' + message : message;
          core.warn(message);
          remember(method, message);
          call(cbs.onError, message);
        },
      };
      /** Runs a call of extras.js; `ctx`: it was kept (its event replaces the kept call). */
      function runExtras(method, arg, cbs, ctx) {
        making = ctx || null;
        try {
          extrasIn(method, arg, cbs, api);
        } finally {
          making = null;
        }
      }
      /**
       * A call of extras.js, fetched on the first (after consent: fetching is not collecting). Until it
       * is in, a call that may be an event is kept in the outbox like the calls made before the wasm.
       */
      function lazy(method, arg, cbs, ctx) {
        if (extrasIn) return runExtras(method, arg, cbs, ctx);
        if (!ctx && outbox) {
          var e = early.entry([method, arg]);
          return Promise.resolve(e.writing).then(function () {
            lazy(method, arg, cbs, e);
          });
        }
        fetchFile("tracker-extras.js", "mindboxEdgeExtras").then(
          function (run) {
            extrasIn = run;
            runExtras(method, arg, cbs, ctx);
          },
          function (e) {
            adopting = {};
            call(cbs.onError, e.message);
          }
        );
      }
      /** The visitor refused on this page (opt-in, before consenting): calls are refused, not held. */
      var refused = false;
      /**
       * Runs `run` now; holds it until an opt-in visitor consents; or, where they refused or withdrew,
       * tells `onError` at once.
       */
      function whenAllowed(method, operation, run, onError, at) {
        if (sender && (!consent.optIn || consent.allowed())) return run();
        if (refused || consent.state() === "withdrawn")
          return call(onError, "collection is off: the visitor did not consent");
        waiting.add({ at: at || Date.now(), method: method, operation: operation, run: run, onError: onError });
      }
      /**
       * One page call; `e` is set for a call made before the Rust half was in.
       * @param {any} method @param {any} [arg] @param {any} [extra] @param {import("./kept.js").Early} [e]
       */
      var mindbox = function (method, arg, extra, e) {
        try {
          method = String(method);
          if (method === "consent") {
            // Only a boolean says it: a banner's 0, "false" or nothing must not consent for anyone.
            if (arg === true) {
              refused = false;
              if (sender) sender.consent(true);
              else {
                consent.set(true);
                start();
              }
            } else if (arg !== false) core.warn('mindbox("consent"): expected true or false');
            else if (sender) sender.consent(false);
            else {
              refused = true;
              consent.set(false);
              waiting.drop();
            }
          } else if (LAZY.indexOf(method) >= 0) {
            var lc = (extra && typeof extra === "object" ? extra : arg) || {};
            whenAllowed(method, undefined, function () {
              lazy(method, arg, lc, e);
            }, lc.onError, e && e.when.at);
          } else if (method === "sync")
            whenAllowed(method, arg && String(arg.operation), function () {
              sync(collector, arg);
            }, arg && arg.onError);
          else if (method === "helpers.getDeviceUUID")
            whenAllowed(method, undefined, function () {
              call(typeof arg === "function" ? arg : extra, deviceId());
            });
          else {
            // The page's callbacks: in `extra` for typed calls, else in the argument itself.
            var cbs = (extra && typeof extra === "object" ? extra : arg) || {};
            var r = core.call(method, arg, e && e.when);
            var made = r.made;
            if (method === "create" && arg && arg.consent === "opt-in" && !consent.optIn) {
              // Too late to have kept everything back: from now on nothing more is collected or
              // sent, and what was kept is cleared, until the visitor consents.
              core.warn('create: consent "opt-in" came after the tracker started; put data-consent="opt-in" on the tag');
              consent.optIn = true;
              if (sender && !consent.allowed()) sender.consent(false);
            }
            if (method === "create" && arg && r.error === undefined) {
              if (arg.operations) settings.operations = Object.assign(settings.operations || {}, arg.operations);
              if (arg.productIdSystem) settings.productIdSystem = arg.productIdSystem;
            }
            var kept = e && e.kept;
            if (r.error !== undefined) {
              if (consent.allowed()) remember(method, r.error);
              call(cbs.onError, r.error);
            } else if (made) {
              var m = made;
              var from = kept;
              whenAllowed(method, m[1], function () {
                /** @type {ReturnType<typeof Sender>} */ (sender).track(m, cbs.onSuccess, cbs.onError, null, from);
              }, cbs.onError, e && e.when.at);
              kept = undefined;
            }
            // A kept call that made no event here is forgotten.
            if (kept && outbox) outbox.drop([kept]);
          }
        } catch (e) {
          console.warn("mindbox: internal error", e);
        }
      };
      front.qa = qa({ core: core, outbox: null, sender: null, collector: collector, consent: consent, waiting: waiting });
      front.deviceUUID = function () {
        return sender ? deviceId() : "";
      };
      // A visitor who withdrew consent without opt-in gets the sender as before (its calls are
      // refused with onError); an opt-in visitor, nothing until they consent.
      if (allowed || !optIn) start(r[1] || undefined);
      else {
        // Consent given in another tab of the shop starts this one too.
        waiting.listen();
        addEventListener("storage", function (e) {
          if (e.key === CONSENT_KEY && consent.allowed()) start();
        });
      }
      // The calls made meanwhile, in order with their own time; then the page's calls go straight in.
      (function drain() {
        early.take().then(function (list) {
          list.forEach(function (e) {
            mindbox(e.args[0], e.args[1], e.args[2], e);
          });
          if (early.size()) return drain();
          run = mindbox;
          try {
            w.dispatchEvent(new Event("mindbox:ready"));
          } catch (e) {}
        });
      })();
    })
    .catch(function (e) {
      console.warn("mindbox: the tracker could not start; calls stay queued", e);
    });
})();
