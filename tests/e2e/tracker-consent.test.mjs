// End to end in Chromium: opt-in consent (152-FZ). Until the visitor accepts, the tracker sets no
// cookie, writes nothing (localStorage, sessionStorage, IndexedDB) and sends nothing; the page's calls
// wait in memory with their time, and go to Mindbox on "accept" with that time. The demo's
// /consent.html has the tag with data-consent="opt-in" and a banner whose buttons call
// mindbox("consent", true | false).
import { test } from "node:test";
import assert from "node:assert/strict";
import { waitFor } from "../support/stack.mjs";
import { useShopInChromium } from "../support/browser.mjs";

const { stack, browser, open, delivered } = useShopInChromium();

/** What the tracker left in this browser for the shop: cookies, storage keys, IndexedDB databases. */
async function traces(context, page) {
  const cookies = (await context.cookies()).filter((c) => c.name.startsWith("mindbox")).map((c) => c.name);
  const stored = await page.evaluate(async () => ({
    local: Object.keys(localStorage).filter((k) => k.toLowerCase().includes("mindbox")),
    session: Object.keys(sessionStorage),
    databases: (await indexedDB.databases()).map((d) => d.name),
  }));
  return { cookies, ...stored };
}

const NOTHING = { cookies: [], local: [], session: [], databases: [] };

test("opt-in: nothing set, written or sent before consent; on accept the waiting calls reach Mindbox with their own time", async () => {
  const context = await browser.newContext();
  const toCollector = [];
  const batches = [];
  context.on("request", (r) => {
    if (!r.url().startsWith(stack.collectorUrl)) return;
    toCollector.push(r.url());
    if (r.url().endsWith("/v1/events")) batches.push(JSON.parse(r.postData()));
  });
  const page = await open(context, "/consent.html");
  const madeAt = await page.evaluate(() => {
    mindbox("addToCart", { productId: "124", price: 3990 });
    return Date.now();
  });
  assert.equal(await page.textContent("#status"), "ждёт согласия");
  const list = await page.evaluate(() => mindbox.qa.list());
  assert.equal(list.consent, "opt-in");
  assert.equal(list.storage, "none");
  const waiting = await page.evaluate(() => mindbox.qa.waiting());
  assert.deepEqual(waiting.calls.map((c) => c.operation), ["Website.ViewProduct", "Website.AddToCart"]);
  assert.equal(await page.evaluate(() => mindbox.deviceUUID()), "", "no device id before consent");
  // The visitor reads the banner for a while before accepting.
  await page.waitForTimeout(1500);
  assert.deepEqual(await traces(context, page), NOTHING);
  assert.deepEqual(toCollector.filter((u) => u.includes("/v1/")), [], "nothing sent");
  const acceptedAt = Date.now();
  await page.click("#accept");
  const reqs = await delivered(2);
  assert.deepEqual(reqs.map((q) => q.operation).sort(), ["Website.AddToCart", "Website.ViewProduct"]);
  for (const q of reqs) {
    // Mindbox's dateTimeOffset: how long before the call to Mindbox the event happened.
    assert.ok(q.dateTimeOffset >= acceptedAt - madeAt - 50, `${q.operation}: dateTimeOffset ${q.dateTimeOffset} ms`);
  }
  await page.waitForFunction(() => document.getElementById("status").textContent === "viewProduct: sent");
  const after = await traces(context, page);
  assert.ok(after.cookies.includes("mindboxDeviceUUID"), JSON.stringify(after));
  assert.ok(batches.length && batches.every((b) => b.consent === true), "an opt-in page's batches say the visitor consented");
  assert.ok(after.local.includes("mindboxEdgeConsent") && after.databases.includes("mindbox-edge"), JSON.stringify(after));
  // The choice is remembered: the next page collects at once.
  await stack.emulator.reset();
  const next = await open(context, "/consent.html");
  assert.equal((await next.evaluate(() => mindbox.qa.list())).consent, "given");
  await next.waitForFunction(() => document.getElementById("status").textContent === "viewProduct: sent");
  assert.equal((await delivered(1)).length, 1);
  await context.close();
});

test("opt-in: declined, the waiting calls are dropped with onError and nothing is kept; past 100 the oldest go", async () => {
  const context = await browser.newContext();
  const page = await open(context, "/consent.html");
  const errors = await page.evaluate(() => {
    window.errors = [];
    for (let i = 0; i < 100; i++) mindbox("viewCategory", { categoryId: String(i) }, { onError: (e) => window.errors.push(e) });
    return window.errors.length;
  });
  assert.equal(errors, 0);
  await page.waitForFunction(() => /more than 100 calls/.test(document.getElementById("status").textContent));
  // Only true consents: a banner's 1, "true" or nothing is not the visitor saying yes.
  await page.evaluate(() => {
    mindbox("consent", 1);
    mindbox("consent", "true");
    mindbox("consent");
  });
  assert.equal((await page.evaluate(() => mindbox.qa.list())).consent, "opt-in");
  const waiting = await page.evaluate(() => mindbox.qa.waiting());
  assert.equal(waiting.calls.length, 100);
  assert.equal(waiting.dropped, 1);
  await page.click("#decline");
  assert.equal(await page.evaluate(() => window.errors.length), 100);
  assert.match(await page.evaluate(() => window.errors[0]), /did not consent/);
  assert.deepEqual(await traces(context, page), NOTHING, "a refusal is not written either");
  assert.equal((await page.evaluate(() => mindbox.qa.waiting())).calls.length, 0);
  // After a refusal, a call is refused at once, not held for a later consent.
  const later = await page.evaluate(() => new Promise((resolve) => mindbox("viewProduct", { productId: "1" }, { onError: resolve })));
  assert.match(later, /did not consent/);
  assert.deepEqual(await stack.drain(), []);
  await context.close();
});

test("opt-in: consent given in another tab starts this one, and its waiting calls go too", async () => {
  const context = await browser.newContext();
  const one = await open(context, "/consent.html");
  const two = await open(context, "/consent.html");
  await one.evaluate(() => mindbox("viewCategory", { categoryId: "42" }));
  // QA in any tab sees what every tab holds.
  const seen = await two.evaluate(() => mindbox.qa.waiting());
  assert.equal(seen.calls.length, 3, JSON.stringify(seen));
  await two.click("#accept");
  const reqs = await delivered(3);
  assert.deepEqual(reqs.map((q) => q.operation).sort(), ["Website.ViewCategory", "Website.ViewProduct", "Website.ViewProduct"]);
  await waitFor("the first tab's status", async () => (await one.textContent("#status")) === "viewProduct: sent");
  await context.close();
});
