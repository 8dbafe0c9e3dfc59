// Unit tests of the sending-tab role (role.js) in Node: a fake LockManager and a fake localStorage
// stand in for the browser's, with mocked timers and clock for the lease.
import { test, beforeEach, afterEach, mock } from "node:test";
import assert from "node:assert/strict";
import { SenderRole, LEASE_KEY } from "./role.js";

beforeEach(() => mock.timers.enable({ apis: ["setInterval", "Date"], now: 1_000_000 }));
afterEach(() => mock.timers.reset());
const settleDown = () => new Promise((r) => setImmediate(r));

/** A LockManager with one lock: `request(name, {ifAvailable}?, cb)`; `release()` ends the holder's hold. */
function fakeLocks() {
  let held = false;
  const waiting = [];
  const grant = (cb) => {
    held = true;
    cb({ name: "mindbox-edge-sender" });
  };
  return {
    request(name, opts, cb) {
      if (typeof opts === "function") [cb, opts] = [opts, {}];
      if (!held) grant(cb);
      else if (opts.ifAvailable) cb(null);
      else waiting.push(cb);
      return Promise.resolve();
    },
    release() {
      held = false;
      const next = waiting.shift();
      if (next) grant(next);
    },
  };
}

function fakeStorage() {
  const m = new Map();
  return { getItem: (k) => (m.has(k) ? m.get(k) : null), setItem: (k, v) => m.set(k, String(v)), map: m };
}

function role(env) {
  const seen = { gained: 0, decided: 0 };
  const r = new SenderRole({ onGain: () => seen.gained++, onDecided: () => seen.decided++, ...env });
  return Object.assign(r, { seen });
}

test("Web Locks: the first tab sends at once; the next knows at once it does not, and takes over when the first goes", async () => {
  const locks = fakeLocks();
  const a = role({ locks });
  const b = role({ locks });
  await settleDown();
  assert.equal(a.leader, true);
  assert.deepEqual(a.seen, { gained: 1, decided: 0 });
  assert.equal(b.leader, false);
  assert.equal(b.decided, true, "b knows where it stands without waiting for the lock");
  assert.deepEqual(b.seen, { gained: 0, decided: 1 });
  locks.release(); // a's tab goes away
  assert.equal(b.leader, true);
  assert.equal(b.seen.gained, 1);
});

test("the lease: one tab holds it while it renews; when it stops, another takes it after it expires", () => {
  const store = fakeStorage();
  const a = role({ store });
  const b = role({ store });
  assert.equal(a.leader, true);
  assert.equal(b.leader, false);
  mock.timers.tick(10_000);
  assert.equal(a.leader, true, "renewed every second");
  assert.equal(b.leader, false);
  a.stop();
  mock.timers.tick(3000);
  assert.equal(b.leader, false, "not before the lease expires");
  mock.timers.tick(1000);
  assert.equal(b.leader, true);
  assert.match(store.map.get(LEASE_KEY), /^\d+\|\d+$/);
  b.stop();
});

test("without Web Locks or localStorage, or with storage that throws, every tab sends (nothing shared to send twice)", () => {
  const bare = role({});
  assert.equal(bare.leader, true);
  bare.stop();
  const full = role({ store: { getItem: () => null, setItem: () => { throw new Error("QuotaExceededError"); } } });
  assert.equal(full.leader, true);
  full.stop();
});
