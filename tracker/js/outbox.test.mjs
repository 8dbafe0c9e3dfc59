// Unit tests of the outbox (outbox.js) in Node, where there is no IndexedDB: its memory fallback
// (IndexedDB missing, throwing, failing, blocked, or failing a write), the record it keeps, and its
// bounds (eviction decided by the real Rust half, tracker/dist/tracker.wasm, built by `cargo xtask
// build`). IndexedDB itself is tested in a browser by tracker/tests/browser.rs.
import { test, beforeEach, afterEach, mock } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Outbox, openOutbox, pending, PENDING, SENT, REJECTED, MAX_PENDING, MAX_SENT, MAX_REJECTED, NAME, TX_MS } from "./outbox.js";
import { rust } from "./wasm.js";
import { core } from "./core.js";

beforeEach(() => mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000_000 }));
afterEach(() => {
  mock.timers.reset();
  delete globalThis.indexedDB;
});

/** A pending record made at time `n`. */
const record = (n, data = "{}") => pending([`id-${n}`, "Website.ViewProduct", n, data]);
const records = (from, to, data) => Array.from({ length: to - from }, (_, i) => record(from + i, data));
const settled = (r, state, reason = null) => ({ ...r, state, reason, settledAt: Date.now() });
const ids = (list) => list.map((r) => r.id);

/** An `indexedDB` whose `open` returns a request the test answers (`succeed`, `fail`), or throws. */
function fakeIndexedDB({ throws } = {}) {
  const opened = [];
  return {
    opened,
    open(name, version) {
      if (throws) throw new DOMException("no storage here", throws);
      const request = { name, version, result: undefined };
      opened.push(request);
      return request;
    },
  };
}

/** A database whose every transaction fails: at once (`throws`), or by aborting after it began. */
function failingDb({ throws = false } = {}) {
  const db = {
    closed: false,
    stores: [],
    close() {
      db.closed = true;
    },
    createObjectStore(name, options) {
      db.stores.push([name, options]);
    },
    transaction() {
      if (throws) throw new DOMException("the database is closing", "InvalidStateError");
      const store = { put() {}, get: () => ({}), getAll: () => ({}), delete() {}, clear() {} };
      const t = { error: new DOMException("over quota", "QuotaExceededError"), objectStore: () => store };
      queueMicrotask(() => t.onabort());
      return t;
    },
  };
  return db;
}

test("a record is the event the Rust half made, pending, with every field QA lists", () => {
  const r = pending(["id-1", "Website.ViewProduct", 5, '{"a":1}'], "id-0");
  assert.deepEqual(r, {
    id: "id-1", operation: "Website.ViewProduct", createdAt: 5, data: '{"a":1}', state: PENDING,
    attempts: 0, lastError: null, reason: null, settledAt: null, replayOf: "id-0",
  });
  assert.equal(pending(["id-2", "Op", 6, "{}"]).replayOf, null, "no replay: null, never undefined");
  assert.deepEqual([PENDING, SENT, REJECTED], ["pending", "sent", "rejected"], "the states mindbox.d.ts names");
});

test("without indexedDB the outbox opens in memory at once", async () => {
  const outbox = await openOutbox(3000);
  assert.equal(outbox.storage, "memory");
});

test("an indexedDB that throws (private modes), or fails to open, leaves the outbox in memory", async () => {
  globalThis.indexedDB = fakeIndexedDB({ throws: "InvalidStateError" });
  assert.equal((await openOutbox(3000)).storage, "memory");

  globalThis.indexedDB = fakeIndexedDB();
  const opening = openOutbox(3000);
  indexedDB.opened[0].onerror();
  assert.equal((await opening).storage, "memory");
});

test("a blocked open gives up after its time; the database that opens later is closed", async () => {
  globalThis.indexedDB = fakeIndexedDB();
  let outbox;
  openOutbox(500).then((o) => (outbox = o));
  mock.timers.tick(499);
  await null;
  assert.equal(outbox, undefined);
  mock.timers.tick(1);
  await null;
  assert.equal(outbox.storage, "memory");
  const late = failingDb();
  indexedDB.opened[0].result = late;
  indexedDB.opened[0].onsuccess();
  assert.ok(late.closed);
});

test("an open that succeeds creates the three stores once and keeps the events there", async () => {
  globalThis.indexedDB = fakeIndexedDB();
  const db = failingDb();
  const opening = openOutbox();
  const request = indexedDB.opened[0];
  assert.deepEqual([request.name, request.version], [NAME, 1]);
  request.result = db;
  request.onupgradeneeded();
  request.onsuccess();
  assert.equal((await opening).storage, "indexeddb");
  assert.deepEqual(db.stores, [["outbox", { keyPath: "id" }], ["history", { keyPath: "id" }], ["meta", undefined]]);
});

/** A database whose transactions never answer until aborted (one waiting behind a frozen page's). */
function hangingDb() {
  const db = {
    aborted: 0,
    transaction() {
      const store = { put() {}, get: () => ({}), getAll: () => ({}), delete() {}, clear() {} };
      const t = {
        error: null,
        objectStore: () => store,
        abort() {
          db.aborted++;
          queueMicrotask(() => t.onabort());
        },
      };
      return t;
    },
  };
  return db;
}

test("a transaction IndexedDB never answers is given up after TX_MS: its events are kept in memory and sent from this tab", async () => {
  const db = hangingDb();
  const outbox = new Outbox(db);
  let added = false;
  const adding = outbox.add([record(1)]).then(() => (added = true));
  mock.timers.tick(TX_MS - 1);
  await null;
  assert.deepEqual([db.aborted, added], [0, false], "still waiting");
  mock.timers.tick(1);
  await adding;
  assert.equal(db.aborted, 1, "the stuck write is aborted, so it cannot commit later");
  assert.deepEqual(ids(outbox.local()), ["id-1"]);
  const reading = outbox.pending();
  mock.timers.tick(TX_MS);
  assert.deepEqual(ids(await reading), ["id-1"], "a stuck read sees memory");
  const listing = outbox.all();
  mock.timers.tick(TX_MS);
  assert.deepEqual(ids(await listing), ["id-1"]);
});

for (const [how, db] of [["throws", () => failingDb({ throws: true })], ["aborts (quota)", () => failingDb()]]) {
  test(`a write IndexedDB ${how} on keeps the events in memory, and they are sent from this tab`, async () => {
    const outbox = new Outbox(db());
    await outbox.add([record(2), record(1)]);
    assert.equal(outbox.storage, "indexeddb");
    assert.deepEqual(ids(outbox.local()), ["id-2", "id-1"]);
    assert.deepEqual(ids(await outbox.pending()), ["id-1", "id-2"], "oldest first");
    await outbox.settle([settled(record(1), SENT)]);
    assert.deepEqual(ids(await outbox.pending()), ["id-2"]);
    assert.deepEqual(ids(await outbox.history()), ["id-1"]);
    assert.equal(await outbox.evicted(), 0);
  });
}

test("in memory: a failed attempt is counted on the event, settling moves it to the history", async () => {
  const outbox = new Outbox();
  await outbox.add([record(1), record(2)]);
  await outbox.failed((await outbox.pending()).slice(0, 1), "the collector is unreachable");
  await outbox.failed((await outbox.pending()).slice(0, 1), "collector answered HTTP 503: busy");
  const first = (await outbox.pending())[0];
  assert.deepEqual([first.attempts, first.lastError], [2, "collector answered HTTP 503: busy"]);
  await outbox.settle([settled(first, REJECTED, "events[0].data: bad")]);
  assert.deepEqual(ids(await outbox.pending()), ["id-2"]);
  const [h] = await outbox.history();
  assert.deepEqual([h.id, h.state, h.reason, h.settledAt], ["id-1", REJECTED, "events[0].data: bad", 1_000_000]);
  assert.deepEqual(ids(await outbox.all()), ["id-1", "id-2"]);
});

test("in memory: an event forgotten while its batch was in flight is not brought back by the answer", async () => {
  const outbox = new Outbox();
  await outbox.add([record(1)]);
  await outbox.clear();
  await outbox.failed([record(1)], "offline");
  await outbox.settle([settled(record(1), SENT)]);
  assert.deepEqual(await outbox.all(), []);
});

test("the history keeps the newest sent and rejected events within their bounds", async () => {
  const outbox = new Outbox();
  const sent = records(0, MAX_SENT + 3);
  const rejected = records(1000, 1000 + MAX_REJECTED + 2);
  await outbox.add(sent.concat(rejected));
  await outbox.settle(sent.map((r) => settled(r, SENT)));
  await outbox.settle(rejected.map((r) => settled(r, REJECTED, "bad")));
  const history = await outbox.history();
  assert.deepEqual(ids(history.filter((r) => r.state === SENT)), ids(sent.slice(3)));
  assert.deepEqual(ids(history.filter((r) => r.state === REJECTED)), ids(rejected.slice(2)));
  assert.deepEqual(await outbox.pending(), []);
});

test("a QA import is kept as it is; clearing the history keeps what is pending", async () => {
  const outbox = new Outbox();
  await outbox.add([record(1)]);
  const imported = settled(record(2), REJECTED, "imported");
  await outbox.remember([imported]);
  assert.deepEqual(await outbox.history(), [imported]);
  await outbox.clearHistory();
  assert.deepEqual(await outbox.history(), []);
  assert.deepEqual(ids(await outbox.pending()), ["id-1"]);
});

const bytes = readFileSync(new URL("../dist/tracker.wasm", import.meta.url));
async function rustHalf() {
  const { instance } = await WebAssembly.instantiate(bytes, {});
  const w = rust(instance.exports);
  w.init("shop");
  return core(w);
}

test("MAX_PENDING is the Rust half's bound on pending events", async () => {
  const c = await rustHalf();
  assert.equal(c.evict(records(0, MAX_PENDING)), 0);
  assert.equal(c.evict(records(0, MAX_PENDING + 1)), 1);
});

test("in memory: the oldest pending events beyond the Rust half's bounds are evicted and counted", async () => {
  const c = await rustHalf();
  const outbox = new Outbox();
  const made = records(0, MAX_PENDING + 5);
  await outbox.add(made);
  let all = await outbox.pending();
  const n = c.evict(all);
  assert.equal(n, 5, "the five oldest go");
  await outbox.evict(all.slice(0, n));
  assert.deepEqual(ids(await outbox.pending()), ids(made.slice(5)));
  assert.equal(await outbox.evicted(), 5);

  // The byte bound: four events of a quarter of the 2 MiB each, with their operations, overflow by one.
  await outbox.clear();
  await outbox.add(records(0, 4, "x".repeat(512 * 1024)));
  all = await outbox.pending();
  await outbox.evict(all.slice(0, c.evict(all)));
  assert.deepEqual(ids(await outbox.pending()), ["id-1", "id-2", "id-3"]);
  assert.equal(await outbox.evicted(), 6);
});

/** A database over a Map: requests answer in a microtask, the transaction completes after them. */
function mapDb(map) {
  return {
    transaction() {
      let open = 0;
      const t = {};
      const done = () => queueMicrotask(() => open === 0 && t.oncomplete && t.oncomplete());
      const request = (result) => {
        const r = { result };
        open++;
        queueMicrotask(() => {
          open--;
          if (r.onsuccess) r.onsuccess();
          done();
        });
        return r;
      };
      const store = {
        put: (v) => (map.set(v.id, v), request(v.id)),
        get: (k) => request(map.get(k)),
        delete: (k) => (map.delete(k), request(undefined)),
      };
      t.objectStore = () => store;
      done();
      return t;
    },
  };
}

test("an event made from a kept call replaces it only while it is there, and says which it did not store", async () => {
  mock.timers.reset();
  const map = new Map([["call-a", { id: "call-a", state: "call" }]]);
  const outbox = new Outbox(mapDb(map));
  const [a, b, c] = [record(1), record(2), record(3)];
  const skipped = await outbox.add([a, b, c], ["call-a", "call-b", undefined]);
  assert.deepEqual(skipped, [b.id], "call-b was made into its event by another tab already");
  assert.deepEqual([...map.keys()].sort(), [a.id, c.id].sort());
});
