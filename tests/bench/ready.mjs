// Tracker start-up benchmark (not a test): from the script tag to the first call durable in IndexedDB,
// in Debian's Chromium, each run in a fresh browser context (cold HTTP cache, no outbox yet).
//
//   node tests/bench/ready.mjs [runs=15]
//
// The page queues `mindbox("viewProduct", …)` in the official snippet's queue, notes the time, and
// adds the script tag; the end is the tracker's "written" message on its BroadcastChannel, sent once
// the first events are committed to IndexedDB.
import { startStack } from "../support/stack.mjs";
import { launchChromium } from "../support/browser.mjs";

const RUNS = Number(process.argv[2] || 15);
const stack = await startStack();
const browser = await launchChromium();
try {
  const times = [];
  for (let run = 0; run < RUNS; run++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    // A page of the shop's origin without the tracker (the shop server's "not found" page).
    await page.goto(`${stack.shopUrl}/no-tracker-here`);
    const ms = await page.evaluate(
      (src) =>
        new Promise((resolve, reject) => {
          document.body.innerHTML = "";
          const timer = setTimeout(() => reject(new Error("no event durable within 10 s")), 10000);
          const channel = new BroadcastChannel("mindbox-edge");
          let t0;
          channel.onmessage = (m) => {
            if (m.data !== "written") return;
            clearTimeout(timer);
            resolve(performance.now() - t0);
          };
          window.mindbox = function () {
            window.mindbox.queue.push(arguments);
          };
          window.mindbox.queue = [];
          window.mindbox("viewProduct", { productId: "ready" });
          const script = document.createElement("script");
          script.src = src;
          script.async = true;
          t0 = performance.now();
          document.head.appendChild(script);
        }),
      `${stack.collectorUrl}/tracker.js`,
    );
    times.push(ms);
    await context.close();
  }
  const sorted = times.slice().sort((a, b) => a - b);
  const pick = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))].toFixed(1);
  console.log(`tracker ready (script tag → first call durable in IndexedDB, ${RUNS} cold runs): median ${pick(0.5)} ms, p10 ${pick(0.1)} ms, p90 ${pick(0.9)} ms`);
} finally {
  await browser.close();
  await stack.stop();
}
