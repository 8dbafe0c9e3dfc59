// Unit tests of fetching the tracker's other files (fetch-file.js), over a fake document and mocked
// timers.
import { test, mock } from "node:test";
import assert from "node:assert/strict";
import { fileLoader, FETCH_LIMIT_MS } from "./fetch-file.js";

/** A document whose script tags are kept in `added` until removed; nothing loads by itself. */
function fakeDocument() {
  const added = [];
  const head = {
    appendChild(s) {
      s.parentNode = head;
      added.push(s);
    },
    removeChild(s) {
      s.parentNode = null;
      added.splice(added.indexOf(s), 1);
    },
  };
  return { added, head, createElement: () => ({ parentNode: null }) };
}

/** Whether `p` has settled once pending callbacks ran: "pending", or its outcome. */
async function state(p) {
  let r = "pending";
  p.then((v) => (r = ["resolved", v]), (e) => (r = ["rejected", e.message]));
  await new Promise((resolve) => setImmediate(resolve));
  return r;
}

test("a file is fetched once for every ask while it comes, and resolves with the global it set", async () => {
  const doc = fakeDocument();
  const win = {};
  const load = fileLoader("https://t.example/", win, doc);
  const a = load("tracker-qa.js", "mindboxEdgeQA");
  const b = load("tracker-qa.js", "mindboxEdgeQA");
  assert.equal(doc.added.length, 1);
  assert.equal(doc.added[0].src, "https://t.example/tracker-qa.js");
  assert.equal(doc.added[0].async, true);
  const qa = () => {};
  win.mindboxEdgeQA = qa;
  doc.added[0].onload();
  assert.deepEqual(await state(a), ["resolved", qa]);
  assert.deepEqual(await state(b), ["resolved", qa]);
  // Once in, no other tag.
  assert.deepEqual(await state(load("tracker-qa.js", "mindboxEdgeQA")), ["resolved", qa]);
  assert.equal(doc.added.length, 1);
});

test("a file the browser cannot fetch rejects at once with why, and the next ask tries again", async () => {
  const doc = fakeDocument();
  const win = {};
  const load = fileLoader("https://t.example/", win, doc);
  const a = load("tracker-extras.js", "mindboxEdgeExtras");
  doc.added[0].onerror();
  assert.deepEqual(await state(a), ["rejected", "the tracker could not load https://t.example/tracker-extras.js (offline, or the file is missing)"]);
  assert.equal(doc.added.length, 0, "the failed tag is removed");
  const b = load("tracker-extras.js", "mindboxEdgeExtras");
  assert.equal(doc.added.length, 1, "asked again: a new tag");
  win.mindboxEdgeExtras = () => {};
  doc.added[0].onload();
  assert.equal((await state(b))[0], "resolved");
});

test("a file that neither loads nor fails rejects after the limit; if it comes later, the next ask uses it", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const doc = fakeDocument();
  const win = {};
  const load = fileLoader("https://t.example/", win, doc);
  const a = load("tracker-qa.js", "mindboxEdgeQA");
  t.mock.timers.tick(FETCH_LIMIT_MS - 1);
  assert.equal(await state(a), "pending");
  t.mock.timers.tick(1);
  assert.deepEqual(await state(a), ["rejected", "the tracker could not load https://t.example/tracker-qa.js (no answer within 10 s)"]);
  // The script ran after all (a slow network): its global is there, and no new tag is needed.
  const qa = () => {};
  win.mindboxEdgeQA = qa;
  assert.deepEqual(await state(load("tracker-qa.js", "mindboxEdgeQA")), ["resolved", qa]);
  assert.equal(doc.added.length, 0);
});

test("a file that loads without setting its global rejects and says so", async () => {
  const doc = fakeDocument();
  const load = fileLoader("https://t.example/", {}, doc);
  const a = load("tracker-qa.js", "mindboxEdgeQA");
  doc.added[0].onload();
  assert.deepEqual(await state(a), ["rejected", "the tracker could not load https://t.example/tracker-qa.js (it set no mindboxEdgeQA)"]);
});
