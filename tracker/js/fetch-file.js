// @ts-check
// The tracker's other files (beside tracker.js), fetched by a script tag when first needed: each
// resolves with the global it sets, or rejects with why not, at the latest after a time limit; a
// failed fetch is tried again by the next ask.

/** How long a file may take before its ask rejects (ms). */
export var FETCH_LIMIT_MS = 10000;

/**
 * @param {string} base the URL the files sit under (tracker.js's folder)
 * @param {any} win the window (where each file sets its global)
 * @param {Document} doc the document the script tags go in
 * @returns {(file: string, global: string) => Promise<any>} fetches `file` once, for its `global`
 */
export function fileLoader(base, win, doc) {
  /** The files fetched or being fetched, by name. @type {{[file: string]: Promise<any>}} */
  var fetched = {};
  return function (file, global) {
    if (typeof win[global] == "function") return Promise.resolve(win[global]);
    return (
      fetched[file] ||
      (fetched[file] = new Promise(function (resolve, reject) {
        var s = doc.createElement("script");
        /** @param {string} [why] */
        function done(why) {
          clearTimeout(timer);
          s.onload = s.onerror = null;
          if (typeof win[global] == "function") return resolve(win[global]);
          delete fetched[file];
          if (s.parentNode) s.parentNode.removeChild(s);
          reject(new Error("the tracker could not load " + base + file + " (" + (why || "it set no " + global) + ")"));
        }
        var timer = setTimeout(done, FETCH_LIMIT_MS, "no answer within " + FETCH_LIMIT_MS / 1000 + " s");
        s.onload = function () {
          done();
        };
        s.onerror = function () {
          done("offline, or the file is missing");
        };
        s.src = base + file;
        s.async = true;
        (doc.head || doc.documentElement).appendChild(s);
      }))
    );
  };
}
