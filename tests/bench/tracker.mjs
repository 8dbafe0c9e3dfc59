// Tracker benchmark (not a test): main-thread time per event call, in Debian's Chromium.
//
//   node tests/bench/tracker.mjs [calls=1000]
//
// "sync" is the time the page's `mindbox("viewProduct", …)` call takes before it returns (argument
// checks, payload, event record; the IndexedDB write and the send run later, asynchronously).
// "stored" is the wall time until all events are durable in IndexedDB, per event.
import { startStack } from "../support/stack.mjs";
import { launchChromium } from "../support/browser.mjs";

const CALLS = Number(process.argv[2] || 1000);
const stack = await startStack();
const browser = await launchChromium();
try {
  const page = await browser.newPage();
  await page.goto(`${stack.shopUrl}/index.html`);
  await page.waitForFunction(() => window.mindbox && window.mindbox.qa);
  // The QA API's file (the durability round reads the outbox through it) is fetched before the
  // collector, which serves it, stops.
  await page.evaluate(() => mindbox.qa.list());
  // Measure with the collector unreachable, so sending does not compete with the calls.
  await stack.stopCollector();
  const result = await page.evaluate(async (calls) => {
    const ROUNDS = 7;
    const median = (xs) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
    for (let i = 0; i < 50; i++) mindbox("viewProduct", { productId: "warm" + i, price: 100 });
    await null;
    const inCall = [];
    const withWrite = [];
    for (let round = 0; round < ROUNDS; round++) {
      const t0 = performance.now();
      for (let i = 0; i < calls; i++) mindbox("viewProduct", { productId: String(i), price: 100 + i });
      inCall.push(performance.now() - t0);
      // The tracker writes a task's events to IndexedDB in a microtask right after it: count that too.
      await null;
      withWrite.push(performance.now() - t0);
      // Let the write commit, then empty the outbox (withdrawing consent clears it) so that no round
      // runs into the outbox's 1 000-event bound.
      await new Promise((r) => setTimeout(r, 100));
      mindbox("consent", false);
      mindbox("consent", true);
    }
    await new Promise((r) => setTimeout(r, 100));
    // Durability: one more round, timed until every event of it is pending in the outbox.
    const t1 = performance.now();
    for (let i = 0; i < calls; i++) mindbox("viewProduct", { productId: "d" + i, price: 1 });
    for (;;) {
      const list = await mindbox.qa.list();
      if (list.events.filter((e) => e.state === "pending").length >= calls) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    return { inCall: median(inCall), withWrite: median(withWrite), stored: performance.now() - t1 };
  }, CALLS);
  const us = (ms) => ((ms * 1000) / CALLS).toFixed(1);
  console.log(`tracker main-thread time per mindbox("viewProduct") call (median of 7 rounds of ${CALLS}): ${us(result.inCall)} µs in the call, ${us(result.withWrite)} µs with its share of the IndexedDB write`);
  console.log(`until ${CALLS} events made in one task are durable in IndexedDB: ${(result.stored / CALLS).toFixed(3)} ms per event (wall time)`);
} finally {
  await browser.close();
  await stack.stop();
}
