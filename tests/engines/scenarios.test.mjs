// The browser scenarios, one file run per engine (`ENGINE=chromium|firefox|webkit`), over W3C
// WebDriver (drivers.mjs) against the demo shop, the collector in local workerd and the Mindbox
// emulator: the events must reach the emulator exactly once, counted by transactionId.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { useStack, lazy, waitFor } from "../support/stack.mjs";
import { startEngine, installed } from "./drivers.mjs";

const ENGINE = process.env.ENGINE || "firefox";
const stack = useStack({}, { resetEach: true });
let engine;
before(async () => {
  assert.ok(installed(ENGINE), `${ENGINE} is not installed: run cargo xtask setup`);
  engine = await startEngine(ENGINE);
  console.log(`engine: ${engine.version}`);
}, { timeout: 180000 });
after(async () => {
  await engine?.stop();
}, { timeout: 60000 });
/** The WebDriver client of the engine's session. */
const browser = lazy(() => engine?.client, `${ENGINE}'s session`);

/** Opens a shop page in the current window and waits until the tracker has started. */
async function open(path) {
  await browser.navigateTo(`${stack.shopUrl}${path}`);
  await waitFor("the tracker", () => browser.executeScript("return !!(window.mindbox && window.mindbox.qa)", []), { timeoutMs: 20000, intervalMs: 100 });
}

/** Runs `fn` (a function's source, called with `args`) in the page. */
const run = (fn, ...args) => browser.executeScript(`return (${fn}).apply(null, arguments)`, args);

/**
 * Opens the shop's home page in the current window, lets what it sent settle, and makes five views
 * whose product ids start with the returned marker (`prefix-<time>`).
 */
async function fiveEvents(prefix) {
  await open("/index.html");
  await stack.drain();
  await stack.emulator.reset();
  const marker = `${prefix}-${Date.now()}`;
  await run((m) => {
    for (let i = 0; i < 5; i++) window.mindbox("viewProduct", { productId: `${m}-${i}` });
  }, marker);
  return marker;
}

/** Requests at the emulator whose product id starts with `marker`, once there are `n`. */
async function arrived(marker, n, timeoutMs = 20000) {
  const ours = async () => (await stack.emulator.requests()).filter((q) => String(q.body?.viewProduct?.product?.ids?.website || "").startsWith(marker));
  await waitFor(`${n} events ${marker}* at the emulator`, async () => (await ours()).length >= n, { timeoutMs });
  await stack.drain();
  const reqs = await ours();
  const ids = reqs.map((q) => q.transactionId);
  assert.equal(new Set(ids).size, ids.length, `a transactionId arrived twice: ${ids}`);
  return reqs;
}

// First, while the browser has nothing of the shop's yet.
test("opt-in consent: nothing set, written or sent before the visitor accepts; then the waiting calls arrive", async () => {
  await open("/consent.html");
  const marker = `optin-${Date.now()}`;
  await run((m) => window.mindbox("viewProduct", { productId: m }), marker);
  const before = await run(async () => ({
    cookie: document.cookie,
    local: Object.keys(localStorage).filter((k) => k.toLowerCase().includes("mindbox")),
    session: sessionStorage.length,
    databases: indexedDB.databases ? (await indexedDB.databases()).map((d) => d.name) : [],
    status: document.getElementById("status").textContent,
  }));
  assert.deepEqual(before, { cookie: "", local: [], session: 0, databases: [], status: "ждёт согласия" });
  assert.deepEqual(await stack.drain(), [], "nothing sent");
  await run(() => document.getElementById("accept").click());
  const reqs = await arrived(marker, 1);
  assert.equal(reqs.length, 1);
  await waitFor("the page's own call", () => run(() => document.getElementById("status").textContent === "viewProduct: sent"));
  assert.match(await run(() => document.cookie), /mindboxDeviceUUID=/);
});

test("the product page delivers exactly one Website.ViewProduct with the page's device id", async () => {
  await open("/product.html?id=124");
  const reqs = await waitFor("the view", async () => {
    const r = (await stack.emulator.requests()).filter((q) => q.operation === "Website.ViewProduct");
    return r.length ? r : null;
  });
  await stack.drain();
  const views = (await stack.emulator.requests()).filter((q) => q.operation === "Website.ViewProduct" && !q.body?.sentinel);
  assert.equal(views.length, 1, JSON.stringify(views.map((q) => [q.transactionId, q.deviceUUID, q.body, q.headers["user-agent"]])));
  const cookie = await run(() => (document.cookie.match(/mindboxDeviceUUID=([^;]+)/) || [])[1]);
  assert.equal(reqs[0].deviceUUID, cookie);
  assert.deepEqual(reqs[0].body, { viewProduct: { product: { ids: { website: "124" } }, price: 3990 } });
});

test("the official snippet with calls queued before load keeps working, in order", async () => {
  await browser.navigateTo(`${stack.shopUrl}/snippet.html`);
  await waitFor("the snippet's callback", async () => (await run(() => document.getElementById("status").textContent)) === "sent");
  const reqs = await stack.drain();
  assert.deepEqual(reqs.map((q) => q.operation).sort(), ["Website.ViewCategory", "Website.ViewProduct"]);
  assert.equal(reqs[0].deviceUUID, await run(() => window.snippetDevice));
});

test("leaving the page right after five events: all five arrive at once, without coming back", async () => {
  const marker = await fiveEvents("leave");
  // Straight on to a page without the tracker: nothing of the shop is left to send them later.
  await browser.navigateTo(`${stack.shopUrl}/no-tracker-here`);
  const reqs = await arrived(marker, 5, 15000);
  assert.equal(reqs.length, 5);
});

test("closing the tab right after five events: all five arrive at once, without coming back", async () => {
  const first = await browser.getWindowHandle();
  const { handle } = await browser.createWindow("tab");
  await browser.switchToWindow(handle);
  const marker = await fiveEvents("close");
  await browser.closeWindow();
  await browser.switchToWindow(first);
  // The remaining tab shows a page without the tracker: only the closed tab could have sent them.
  await browser.navigateTo("about:blank");
  const reqs = await arrived(marker, 5, 15000);
  assert.equal(reqs.length, 5);
});

test("leaving for another site right after five events: all five arrive at once", async () => {
  const marker = await fiveEvents("away");
  // Another origin (localhost is not 127.0.0.1): the shop's storage and tracker are out of reach.
  await browser.navigateTo(stack.emulatorUrl.replace("127.0.0.1", "localhost") + "/elsewhere");
  const reqs = await arrived(marker, 5, 15000);
  assert.equal(reqs.length, 5);
});

test("consent withdrawn: nothing is collected; granted again: collection resumes", async () => {
  await open("/index.html");
  await stack.drain();
  await stack.emulator.reset();
  const marker = `consent-${Date.now()}`;
  await run((m) => {
    window.mindbox("consent", false);
    window.mindbox("viewProduct", { productId: `${m}-no` });
    window.mindbox("consent", true);
    window.mindbox("viewProduct", { productId: `${m}-yes` });
  }, marker);
  const reqs = await arrived(marker, 1);
  assert.deepEqual(reqs.map((q) => q.body.viewProduct.product.ids.website), [`${marker}-yes`]);
});

test("the collector unreachable, then back (the browser's online event): everything arrives once", async () => {
  await open("/index.html");
  await stack.drain();
  await stack.emulator.reset();
  // The QA API's file comes from the collector, on its first call: fetched before it goes away.
  await run(() => window.mindbox.qa.list());
  // WebDriver has no offline switch in every engine: the collector going away is the same to the page.
  await stack.stopCollector();
  const marker = `offline-${Date.now()}`;
  try {
    await run((m) => {
      for (let i = 0; i < 3; i++) window.mindbox("viewProduct", { productId: `${m}-${i}` });
    }, marker);
    await waitFor("a failed attempt", () => run(() => window.mindbox.qa.list().then((l) => l.events.some((e) => e.attempts > 0))), { timeoutMs: 20000 });
  } finally {
    await stack.startCollector({});
  }
  await run(() => window.dispatchEvent(new Event("online")));
  const reqs = await arrived(marker, 3, 30000);
  assert.equal(reqs.length, 3);
});

test("IndexedDB unavailable: the tracker keeps working from memory", async () => {
  // A page of the shop's origin without the tracker; IndexedDB is taken away before the tracker loads.
  await browser.navigateTo(`${stack.shopUrl}/no-tracker-here`);
  const marker = `noidb-${Date.now()}`;
  await run((src, m) => {
    Object.defineProperty(window, "indexedDB", { get: () => { throw new Error("IndexedDB is blocked"); } });
    window.mindbox = function () { window.mindbox.queue.push(arguments); };
    window.mindbox.queue = [];
    window.mindbox("viewProduct", { productId: `${m}-0` });
    const script = document.createElement("script");
    script.src = src;
    document.head.appendChild(script);
  }, `${stack.collectorUrl}/tracker.js`, marker);
  await waitFor("the tracker", () => run(() => !!(window.mindbox && window.mindbox.qa)), { timeoutMs: 20000 });
  assert.equal(await run(() => window.mindbox.qa.list().then((l) => l.storage)), "memory");
  await run((m) => window.mindbox("viewProduct", { productId: `${m}-1` }), marker);
  const reqs = await arrived(marker, 2);
  assert.equal(reqs.length, 2);
});

test("three tabs emit at once: every event arrives exactly once", async () => {
  const marker = `tabs-${Date.now()}`;
  const first = await browser.getWindowHandle();
  const handles = [first];
  await open("/index.html");
  for (let i = 1; i < 3; i++) {
    const { handle } = await browser.createWindow("tab");
    await browser.switchToWindow(handle);
    await open("/index.html");
    handles.push(handle);
  }
  for (const [i, h] of handles.entries()) {
    await browser.switchToWindow(h);
    await run((m, i) => {
      for (let n = 0; n < 5; n++) window.mindbox("viewProduct", { productId: `${m}-${i}-${n}` });
    }, marker, i);
  }
  const reqs = await arrived(marker, 15, 30000);
  assert.equal(reqs.length, 15);
  for (const h of handles.slice(1)) {
    await browser.switchToWindow(h);
    await browser.closeWindow();
  }
  await browser.switchToWindow(first);
});
