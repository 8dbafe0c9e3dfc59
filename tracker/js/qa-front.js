// @ts-check
// `mindbox.qa` as tracker.js defines it: the QA API's methods, each of which fetches `tracker-qa.js`
// (qa.js) on the first call and then answers from it. Every method answers with a promise, so the
// page sees no difference but the first call's fetch.

/** The QA API's methods (mindbox.d.ts `QA`). */
var METHODS = ["list", "waiting", "replay", "exportJSON", "importJSON", "flush", "clearHistory"];

/**
 * @param {import("./qa.js").Lent} lent what qa.js may use of this tracker
 * @param {() => Promise<(lent: import("./qa.js").Lent) => import("./mindbox").QA>} load fetches
 *   qa.js's `qa` (once); rejects with why it could not
 * @returns {import("./mindbox").QA}
 */
export function qaFront(lent, load) {
  /** @type {any} */
  var api = null;
  /** @type {any} */
  var front = { collector: lent.collector };
  METHODS.forEach(function (m) {
    front[m] = function () {
      var args = arguments;
      return load().then(function (qa) {
        api = api || qa(lent);
        return api[m].apply(api, args);
      });
    };
  });
  return front;
}
