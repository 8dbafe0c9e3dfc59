// Tracker benchmark (not a test): main-thread time per event call, in Debian's Chromium.
//
//   node tests/bench/tracker.mjs [calls=1000]
//
// "sync" is the time the page's `mindbox("viewProduct", …)` call takes before it returns (argument
// checks, payload, event record; the IndexedDB write and the send run later, asynchronously).
// "stored" is the wall time until all events are durable in IndexedDB, per event.
import { chromium } from "playwright-core";
import { startStack } from "../stack.mjs";

const CALLS = Number(process.argv[2] || 1000);
const stack = await startStack();
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_BIN || "/usr/bin/chromium",
  args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
});
try {
  const page = await browser.newPage();
  await page.goto(`${stack.shopUrl}/index.html`);
  await page.waitForFunction(() => window.mindbox && window.mindbox.qa);
  // Measure with the collector unreachable, so sending does not compete with the calls.
  await stack.stopCollector();
  const result = await page.evaluate(async (calls) => {
    for (let i = 0; i < 50; i++) mindbox("viewProduct", { productId: "warm" + i, price: 100 });
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) mindbox("viewProduct", { productId: String(i), price: 100 + i });
    const sync = performance.now() - t0;
    // The tracker writes a task's events to IndexedDB in a microtask right after it: count that too.
    await null;
    const withWrite = performance.now() - t0;
    const t1 = performance.now();
    for (;;) {
      const list = await mindbox.qa.list();
      if (list.events.filter((e) => e.state === "pending").length >= calls + 50) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    return { sync, withWrite, stored: performance.now() - t0, list: performance.now() - t1 };
  }, CALLS);
  console.log(`tracker main-thread time per mindbox("viewProduct") call: ${((result.sync * 1000) / CALLS).toFixed(1)} µs in the call, ${((result.withWrite * 1000) / CALLS).toFixed(1)} µs with its share of the IndexedDB write (${CALLS} calls)`);
  console.log(`until all ${CALLS} events are durable in IndexedDB: ${(result.stored / CALLS).toFixed(2)} ms per event (wall time)`);
} finally {
  await browser.close();
  await stack.stop();
}
