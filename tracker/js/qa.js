// @ts-check
// The QA API (`mindbox.qa`, used by www/qa.html): list the outbox with states and the calls dropped for
// bad arguments, replay chosen events, export and import them as JSON, flush now, clear the history.
//
// Built into its own file, `tracker-qa.js`, which `mindbox.qa` (qa-front.js) fetches on the first
// call: only the QA page and tests use it. It imports nothing; what it uses of the tracker is lent.

/**
 * What the tracker lends this file.
 *
 * @typedef {object} Lent
 * @property {ReturnType<typeof import("./core.js").core>} core the Rust half
 * @property {import("./outbox.js").Outbox | null} outbox none before an opt-in visitor consents
 * @property {ReturnType<typeof import("./sender.js").Sender> | null} sender likewise
 * @property {string} collector the collector's base URL, as this tracker sends to it
 * @property {import("./consent.js").Consent} consent
 * @property {import("./waiting.js").Waiting} waiting the calls held for consent
 * @property {typeof import("./waiting.js").ask} ask every tab's held calls
 * @property {typeof import("./dropped.js").dropped} dropped the calls dropped for bad arguments
 * @property {typeof import("./dropped.js").forget} forget forgets them
 * @property {typeof import("./outbox.js").pending} pending a new pending record
 * @property {{sent: import("./outbox.js").State, rejected: import("./outbox.js").State}} states outbox.js `SENT` and `REJECTED`
 */

/**
 * The QA API over what the tracker lends, as mindbox.d.ts declares it. Before an opt-in visitor
 * consents there is no outbox nor sender (nothing is opened): QA then sees no events, the consent
 * state and the calls waiting for it.
 *
 * @param {Lent} lent
 * @returns {import("./mindbox").QA}
 */
export function qa(lent) {
  var core = lent.core;
  var collector = lent.collector;
  var consent = lent.consent;
  var waiting = lent.waiting;
  var ask = lent.ask;
  var dropped = lent.dropped;
  var forget = lent.forget;
  var pending = lent.pending;
  var SENT = lent.states.sent;
  var REJECTED = lent.states.rejected;
  if (!lent.outbox || !lent.sender) {
    var none = function () {
      return Promise.resolve(0);
    };
    return {
      collector: collector,
      list: function () {
        return Promise.resolve({ storage: "none", sender: false, evicted: 0, dropped: dropped().reverse(), events: [], consent: consent.state() });
      },
      waiting: function () {
        return ask(waiting);
      },
      replay: none,
      exportJSON: function () {
        return Promise.resolve("[]");
      },
      importJSON: none,
      flush: function () {
        return Promise.resolve();
      },
      clearHistory: function () {
        forget();
        return Promise.resolve();
      },
    };
  }
  var box = lent.outbox;
  var send = lent.sender;
  return {
    collector: collector,

    /**
     * `{storage, sender, evicted, events, dropped}`: the records (mindbox.d.ts `OutboxRecord`) and
     * the dropped calls, newest first, `data` parsed.
     */
    list: function () {
      return Promise.all([box.all(), box.evicted()]).then(function (r) {
        return {
          storage: box.storage,
          sender: send.isLeader(),
          consent: consent.state(),
          evicted: r[1],
          dropped: dropped().reverse(),
          events: r[0].reverse().map(function (e) {
            var data;
            try {
              data = JSON.parse(e.data);
            } catch (x) {}
            return Object.assign({}, e, { data: data });
          }),
        };
      });
    },

    waiting: function () {
      return ask(waiting);
    },

    /**
     * Replays copies of the given events with new ids (a replay is a new Mindbox transaction), made
     * the way a raw call is (`mindbox("async", {operation, data})`) and marked `replayOf`.
     */
    replay: function (ids) {
      return box.all().then(function (all) {
        var n = 0;
        all.forEach(function (r) {
          if ((ids || []).indexOf(r.id) < 0) return;
          var data;
          try {
            data = JSON.parse(r.data);
          } catch (e) {
            return core.warn("qa replay: event " + r.id + " has data that is not JSON");
          }
          var made = core.call("async", { operation: r.operation, data: data }).made;
          if (made) {
            send.track(made, null, null, r.id);
            n++;
          }
        });
        return n;
      });
    },

    /** Every record as a JSON array. */
    exportJSON: function () {
      return box.all().then(function (all) {
        return JSON.stringify(all);
      });
    },

    /**
     * Imports exported records into the history (pending ones as rejected "imported", so they are
     * not sent from here unless QA replays them); resolves to how many were new.
     */
    importJSON: function (json) {
      return box.all().then(function (all) {
        var known = all.map(function (r) {
          return r.id;
        });
        var list;
        try {
          list = JSON.parse(String(json));
        } catch (e) {}
        if (!Array.isArray(list)) {
          core.warn("qa import: expected the JSON array that export produced");
          list = [];
        }
        var fresh = list
          .filter(function (r) {
            return core.isEvent(r) && known.indexOf(r.id) < 0;
          })
          .map(function (r) {
            // Pending here means "not sent from this browser": kept as rejected until QA replays it.
            var unsent = r.state !== SENT && r.state !== REJECTED;
            return Object.assign(pending([r.id, r.operation, r.createdAt, r.data], typeof r.replayOf === "string" ? r.replayOf : null), {
              state: unsent ? REJECTED : r.state,
              attempts: +r.attempts || 0,
              lastError: typeof r.lastError === "string" ? r.lastError : null,
              reason: unsent ? "imported: replay to send it from this browser" : typeof r.reason === "string" ? r.reason : null,
              settledAt: typeof r.settledAt === "number" ? r.settledAt : null,
            });
          });
        return box.remember(fresh).then(function () {
          return fresh.length;
        });
      });
    },

    /** Sends what is pending now, in the sending tab (this one, or the one it wakes). */
    flush: function () {
      send.written();
      return send.flush();
    },

    /**
     * Forgets sent and rejected events and dropped calls in this browser (pending events stay and
     * are still sent).
     */
    clearHistory: function () {
      forget();
      return box.clearHistory();
    },
  };
}

/** @type {any} */ (window).mindboxEdgeQA = qa;
