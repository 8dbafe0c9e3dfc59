// Latency benchmark (not a test): from the page's call to the request at Mindbox (the emulator), with
// Mindbox healthy, in Debian's Chromium against the collector in local workerd.
//
//   node tests/bench/latency.mjs [runs=21]      (COLLECTOR_PROFILE=self-hosted for workerd's profile)
//
// Each run calls `mindbox("viewProduct", …)` in a page that has the tracker ready, and waits for that
// event at the emulator; the latency is the emulator's `receivedAt` minus the page's `Date.now()` at
// the call (one machine, one clock).
import { startStack, waitFor, PROFILE } from "../support/stack.mjs";
import { launchChromium } from "../support/browser.mjs";

const RUNS = Number(process.argv[2] || 21);
const stack = await startStack({ profile: PROFILE });
const browser = await launchChromium();
try {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${stack.shopUrl}/`);
  await page.waitForFunction(() => window.mindbox && window.mindbox.qa);
  await stack.drain();
  const times = [];
  for (let run = 0; run < RUNS; run++) {
    const id = `latency-${run}`;
    const calledAt = await page.evaluate((productId) => {
      const t = Date.now();
      window.mindbox("viewProduct", { productId });
      return t;
    }, id);
    let arrived;
    await waitFor(`${id} at the emulator`, async () => {
      const reqs = await stack.emulator.requests();
      arrived = reqs.find((q) => q.body?.viewProduct?.product?.ids?.website === id);
      return !!arrived;
    }, { timeoutMs: 20000, intervalMs: 5 });
    times.push(arrived.receivedAt - calledAt);
  }
  const sorted = times.slice().sort((a, b) => a - b);
  const pick = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  console.log(`latency (${stack.profile || PROFILE}; page call → request at Mindbox, ${RUNS} runs): p50 ${pick(0.5)} ms, p90 ${pick(0.9)} ms, p99 ${pick(0.99)} ms, max ${sorted.at(-1)} ms`);
} finally {
  await browser.close();
  await stack.stop();
}
