// End to end in Chromium: the tracker's page API: typed calls and the official snippet's raw ones, bad
// arguments, odd data, another endpoint's snippet, the QA API's own file, and the tracker served from
// the shop's own origin.
import { test } from "node:test";
import assert from "node:assert/strict";
import { waitFor } from "../support/stack.mjs";
import { useShopInChromium, exactlyOnce } from "../support/browser.mjs";

const { stack, browser, open, delivered } = useShopInChromium();

test("a phone typed as 8 (912) 345-67-89 reaches Mindbox as 79123456789 from the typed API and a raw snippet call", async () => {
  const context = await browser.newContext();
  const page = await open(context, "/");
  await page.evaluate(() => {
    mindbox("subscribe", { mobilePhone: "8 (912) 345-67-89", subscriptions: [{ pointOfContact: "Sms" }] });
    mindbox("async", {
      operation: "Website.SubscribeCustomer",
      data: { customer: { mobilePhone: "+7 912 345-67-89", email: " Fan@Example.COM ", subscriptions: [{ pointOfContact: "Sms", isSubscribed: true }] } },
    });
  });
  const reqs = (await delivered(2)).filter((q) => q.operation === "Website.SubscribeCustomer");
  const phones = reqs.map((q) => q.body.customer.mobilePhone);
  assert.deepEqual(phones, ["79123456789", "79123456789"]);
  assert.deepEqual(reqs.map((q) => q.body.customer.email).filter(Boolean), ["fan@example.com"]);
  // What cannot be a phone is rejected by the collector with the reason, to onError, and not sent.
  await stack.emulator.reset();
  const error = await page.evaluate(
    () => new Promise((resolve) => mindbox("subscribe", { mobilePhone: "call me" }, { onSuccess: () => resolve("sent"), onError: resolve })),
  );
  assert.match(String(error), /customer\.mobilePhone: a phone holds only the digits/);
  assert.equal((await stack.drain()).filter((q) => !q.body?.sentinel).length, 0);
  await context.close();
});

test("the QA API is a file fetched on its first call: a shopper's page never loads it, and one that does not come says why", async () => {
  const context = await browser.newContext();
  const fetched = [];
  context.on("request", (r) => r.url().endsWith("/tracker-qa.js") && fetched.push(r.url()));
  await context.route("**/tracker-qa.js", (route) => route.abort());
  const page = await open(context, "/product.html?id=123");
  await delivered(1);
  assert.deepEqual(fetched, [], "a shopper's page does not fetch the QA file");
  const failed = await page.evaluate(() => mindbox.qa.list().then(() => "listed", (e) => e.message));
  assert.match(failed, /^the tracker could not load http:.*\/tracker-qa\.js \(offline, or the file is missing\)$/);
  await context.unroute("**/tracker-qa.js");
  // Asked again, it comes, and the QA API answers.
  const list = await page.evaluate(() => mindbox.qa.list());
  assert.equal(list.storage, "indexeddb");
  assert.ok(list.events.some((e) => e.operation === "Website.ViewProduct" && e.state === "sent"), JSON.stringify(list.events));
  assert.equal(fetched.length, 2, "one refused fetch, then one that came");
  await context.close();
});

test("a customer call made while tracker-extras.js is on its way is stored at once: a login form that leaves the page loses nothing", async () => {
  const context = await browser.newContext();
  // The extras file never arrives on this page.
  await context.route("**/tracker-extras.js", () => {});
  const page = await open(context, "/");
  const email = `leaving-${Date.now()}@example.com`;
  await page.evaluate((e) => mindbox("subscribe", { email: e }), email);
  await page.waitForFunction(
    (e) =>
      new Promise((resolve) => {
        const r = indexedDB.open("mindbox-edge");
        r.onsuccess = () => {
          const q = r.result.transaction("outbox").objectStore("outbox").getAll();
          q.onsuccess = () => resolve(q.result.some((x) => x.state === "call" && x.data.includes(e)));
        };
      }),
    email,
  );
  await page.close();
  await context.unroute("**/tracker-extras.js");
  await open(context, "/category.html?id=42");
  await waitFor("the kept subscription at Mindbox", async () =>
    (await stack.emulator.requests()).some((q) => q.body?.customer?.email === email), { timeoutMs: 30000 });
  const reqs = (await stack.drain()).filter((q) => q.body?.customer?.email === email);
  assert.equal(reqs.length, 1);
  assert.equal(reqs[0].operation, "Website.SubscribeCustomer");
  assert.deepEqual(reqs[0].body.customer.subscriptions, [{ pointOfContact: "Email", isSubscribed: true }]);
  await context.close();
});

test("the official snippet with calls queued before load keeps working, in order", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const sent = [];
  page.on("request", (r) => r.url() === `${stack.collectorUrl}/v1/events` && sent.push(...JSON.parse(r.postData()).events));
  await page.goto(`${stack.shopUrl}/snippet.html`);
  await page.waitForFunction(() => document.getElementById("status").textContent === "sent");
  const reqs = await delivered(2);
  assert.deepEqual(sent.map((e) => e.operation), ["Website.ViewProduct", "Website.ViewCategory"], "replayed in call order");
  assert.deepEqual(reqs.map((q) => q.operation).sort(), ["Website.ViewCategory", "Website.ViewProduct"]);
  const device = await page.evaluate(() => window.snippetDevice);
  assert.equal(reqs[0].deviceUUID, device);
  await context.close();
});

test("bad arguments are reported once on the console and nothing is sent", async () => {
  const context = await browser.newContext();
  const page = await open(context, "/snippet.html");
  await delivered(2);
  await stack.emulator.reset();
  const warnings = [];
  page.on("console", (m) => m.type() === "warning" && warnings.push(m.text()));
  await page.evaluate(() => {
    mindbox("viewProduct", {});
    mindbox("viewProduct", {});
    mindbox("setCart", [{ productId: "1", count: -1 }]);
    mindbox("async", { operation: "not an operation" });
    mindbox("noSuchMethod", {});
  });
  await waitFor("the console warnings", () => warnings.length >= 4);
  assert.equal(warnings.filter((w) => w.includes("viewProduct")).length, 1, warnings.join("\n"));
  assert.ok(warnings.some((w) => w.includes("count: expected a positive number")), warnings.join("\n"));
  assert.ok(warnings.some((w) => w.includes("noSuchMethod")));
  assert.deepEqual(await stack.drain(), []);
  await context.close();
});

test("clearCart then setCart in one handler, or queued in the snippet before load, end as the set cart every time", async () => {
  const lines = [{ productId: "124", count: 3, price: 3990 }];
  const runs = [];
  for (let i = 0; i < 16; i++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    if (i % 2) {
      // The official snippet's queue, filled before the tracker loads, with raw calls.
      await page.addInitScript(() => {
        window.mindbox = function () { window.mindbox.queue.push(arguments); };
        window.mindbox.queue = [];
        mindbox("async", { operation: "Website.ClearCart", data: {} });
        mindbox("async", { operation: "Website.SetCart", data: { productList: [{ product: { ids: { website: "124" } }, count: 3 }] } });
      });
      await page.goto(`${stack.shopUrl}/index.html`);
      await page.waitForFunction(() => window.mindbox && window.mindbox.qa);
    } else {
      await page.goto(`${stack.shopUrl}/index.html`);
      await page.waitForFunction(() => window.mindbox && window.mindbox.qa);
      await page.evaluate((l) => {
        mindbox("clearCart");
        mindbox("setCart", l);
      }, lines);
    }
    runs.push(await page.evaluate(() => mindbox.deviceUUID()));
    // Both accepted by the collector (a superseded clear is accepted too) before the tab goes.
    await page.waitForFunction(async () => (await mindbox.qa.list()).events.filter((e) => e.state === "sent").length >= 2);
    await context.close();
  }
  // A snapshot waits (2 s) while another of its list is in flight, so poll rather than drain.
  const lastCart = (reqs, device) => reqs.filter((q) => q.deviceUUID === device && /Cart$/.test(q.operation)).at(-1);
  const reqs =
    (await waitFor("every device's set cart", async () => {
      const r = await stack.emulator.requests();
      return runs.every((d) => lastCart(r, d)?.operation === "Website.SetCart") && r;
    }, { timeoutMs: 30000 }).catch(() => null)) || (await stack.emulator.requests());
  for (const device of runs) {
    const last = lastCart(reqs, device);
    assert.equal(last?.operation, "Website.SetCart", `device ${device}`);
    assert.equal(last.body.productList[0].count, 3);
  }
});

test("a raw call with half an emoji or too-deep data costs only itself", async () => {
  const context = await browser.newContext();
  const page = await open(context, "/index.html");
  const warnings = [];
  page.on("console", (m) => m.type() === "warning" && warnings.push(m.text()));
  await page.evaluate(() => {
    let deep = 1;
    for (let i = 0; i < 80; i++) deep = [deep];
    mindbox("viewProduct", { productId: "before" });
    mindbox("async", { operation: "Website.ViewProduct", data: { viewProduct: { product: { ids: { website: "half" } } }, note: "😀".slice(0, 1) } });
    mindbox("async", { operation: "Website.ViewProduct", data: { deep } });
    mindbox("viewProduct", { productId: "after" });
  });
  const reqs = (await delivered(3)).filter((q) => q.operation === "Website.ViewProduct");
  exactlyOnce(reqs);
  const ids = reqs.map((q) => q.body.viewProduct.product.ids.website).sort();
  assert.deepEqual(ids, ["after", "before", "half"]);
  assert.equal(reqs.find((q) => q.body.viewProduct.product.ids.website === "half").body.note, "\ufffd");
  assert.ok(warnings.some((w) => /nests too deeply/.test(w)), warnings.join("\n"));
  const rejected = await page.evaluate(async () => (await mindbox.qa.list()).events.filter((e) => e.state === "rejected"));
  assert.deepEqual(rejected, []);
  await context.close();
});

test("a snippet set up for another Mindbox endpoint: its events are rejected with a reason that names both", async () => {
  const context = await browser.newContext();
  const page = await open(context, "/index.html");
  const warnings = [];
  page.on("console", (m) => m.type() === "warning" && warnings.push(m.text()));
  const reason = await page.evaluate(
    () =>
      new Promise((resolve) => {
        mindbox("create", { endpointId: "someone-elses-shop" });
        mindbox("viewProduct", { productId: "wrong-endpoint" }, { onError: resolve, onSuccess: () => resolve("delivered") });
      }),
  );
  assert.match(reason, /"someone-elses-shop".*"demo-shop"/);
  assert.ok(warnings.some((w) => /rejected.*data-endpoint-id/.test(w)), warnings.join("\n"));
  await page.evaluate(() => {
    mindbox("create", { endpointId: "demo-shop" });
    mindbox("viewProduct", { productId: "right-endpoint" });
  });
  await waitFor("the event for the right endpoint", async () =>
    (await stack.emulator.requests()).some((q) => q.body?.viewProduct?.product?.ids?.website === "right-endpoint"),
  );
  const reqs = await stack.drain();
  assert.ok(!reqs.some((q) => q.body?.viewProduct?.product?.ids?.website === "wrong-endpoint"), "the wrong endpoint's event never reached Mindbox");
  await context.close();
});

test("the tracker served from the shop's own origin (any static host) with data-collector delivers", async () => {
  const context = await browser.newContext();
  const fetched = [];
  context.on("request", (r) => fetched.push(r.url()));
  await open(context, "/own-origin.html");
  const reqs = await delivered(1);
  assert.deepEqual(reqs.map((q) => q.body.viewProduct.product.ids.website), ["own-origin"]);
  assert.ok(fetched.includes(`${stack.shopUrl}/mbx/tracker.wasm`), "the wasm comes from beside the script");
  assert.ok(!fetched.some((u) => u.startsWith(stack.collectorUrl) && /tracker\.(js|wasm)/.test(u)), "nothing of the tracker from the collector");
  await context.close();
});
