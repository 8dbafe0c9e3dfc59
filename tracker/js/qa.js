// @ts-check
// The QA API (`mindbox.qa`, used by www/qa.html): list the outbox with states, replay chosen events,
// export and import them as JSON, flush now.

/** The QA API over the Rust half `core`, the `outbox` and the `sender`. */
export function qa(core, outbox, sender) {
  return {
    /**
     * `{storage, sender, evicted, events: [{id, operation, createdAt, data, state, attempts,
     * lastError, reason, settledAt, replayOf}]}`, newest first, `data` parsed.
     */
    list: function () {
      return Promise.all([outbox.all(), outbox.evicted()]).then(function (r) {
        return {
          storage: outbox.storage,
          sender: sender.isLeader(),
          evicted: r[1],
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

    /** Replays copies of the given events with new ids (a replay is a new Mindbox transaction). */
    replay: function (ids) {
      return outbox.all().then(function (all) {
        var copies = all
          .filter(function (r) {
            return (ids || []).indexOf(r.id) >= 0;
          })
          .map(function (r) {
            return core.replay(r);
          });
        return outbox.add(copies).then(function () {
          sender.written();
          return copies.length;
        });
      });
    },

    /** Every record as a JSON array. */
    exportJSON: function () {
      return outbox.all().then(function (all) {
        return JSON.stringify(all);
      });
    },

    /**
     * Imports exported records into the history (pending ones as rejected "imported", so they are
     * not sent from here unless QA replays them); resolves to how many were new.
     */
    importJSON: function (json) {
      return outbox.all().then(function (all) {
        var known = all.map(function (r) {
          return r.id;
        });
        var fresh = core.imported(String(json)).filter(function (r) {
          return known.indexOf(r.id) < 0;
        });
        return outbox.settle(fresh).then(function () {
          return fresh.length;
        });
      });
    },

    /** Sends what is pending now. */
    flush: function () {
      return sender.flush();
    },
  };
}
