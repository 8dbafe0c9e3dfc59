// End to end in a real browser: Debian's Chromium (driven by playwright-core) opens the demo shop, whose
// one script tag loads the tracker from the collector in local workerd; the Mindbox emulator must then
// hold exactly the event the page made.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { startStack, waitFor } from "../stack.mjs";

const CHROMIUM_ARGS = [
  "--headless=new",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

let stack;
let browser;

before(async () => {
  stack = await startStack();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_BIN || "/usr/bin/chromium",
    args: CHROMIUM_ARGS,
  });
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

test("the demo product page delivers exactly one Website.ViewProduct to Mindbox", async () => {
  await stack.emulator.reset();
  const context = await browser.newContext();
  const page = await context.newPage();
  const consoleErrors = [];
  page.on("console", (m) => (m.type() === "error" || m.type() === "warning") && consoleErrors.push(m.text()));
  const batches = [];
  page.on("request", (r) => {
    if (r.url() === `${stack.collectorUrl}/v1/events`) batches.push(JSON.parse(r.postData()));
  });

  await page.goto(`${stack.shopUrl}/`);
  await page.waitForFunction(() => document.getElementById("status").textContent !== "sending…");
  assert.equal(await page.textContent("#status"), "sent", consoleErrors.join("\n"));

  const [req] = await waitFor("the event at the emulator", async () => {
    const reqs = await stack.emulator.requests();
    return reqs.length ? reqs : null;
  });
  const cookie = (await context.cookies(stack.shopUrl)).find((c) => c.name === "mindboxDeviceUUID");
  assert.ok(cookie, "the page has a mindboxDeviceUUID cookie");
  assert.match(cookie.value, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);

  assert.equal(batches.length, 1, "one batch sent");
  assert.equal(batches[0].events.length, 1);
  const event = batches[0].events[0];

  assert.equal(req.operation, "Website.ViewProduct");
  assert.equal(req.endpointId, stack.endpointId);
  assert.equal(req.deviceUUID, cookie.value);
  assert.equal(req.transactionId, event.id);
  assert.equal(req.headers.authorization, `SecretKey ${stack.secretKey}`);
  assert.deepEqual(req.body, { viewProduct: { product: { ids: { website: "123" } } } });

  // Exactly one, even counting anything still on the queue.
  const delivered = await stack.drain();
  assert.deepEqual(delivered.map((q) => q.transactionId), [event.id]);
  await context.close();
});

test("the secret key is in nothing the browser received", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const bodies = [];
  page.on("response", async (r) => {
    try {
      bodies.push(JSON.stringify(await r.allHeaders()), (await r.body()).toString("latin1"));
    } catch {
      // Redirects and aborted responses have no body.
    }
  });
  await page.goto(`${stack.shopUrl}/`);
  await page.waitForFunction(() => document.getElementById("status").textContent === "sent");
  await waitFor("the collector's answer", () => bodies.some((b) => b.includes('"results"')));
  const all = bodies.join("\n");
  assert.ok(all.includes("tracker"), "the tracker files were captured");
  assert.ok(!all.includes(stack.secretKey));
  await context.close();
});
