// Side-by-side start-up benchmark (not a test): this tracker against Segment's analytics.js, in one
// Debian Chromium run, each page in a fresh browser context (cold HTTP cache, no storage).
//
//   node tests/bench/compare.mjs [rounds=15]
//
// Needs Segment's browser build in target/bench/segment (`cargo xtask bench` unpacks the pinned npm
// package `@segment/analytics-next` there). Segment's files, its settings and its tracking API are
// served by a small local server, which serves this tracker's files too (`COMPARE_FROM=collector`:
// from the collector's assets instead); this tracker's events go to the local collector.
//
// Each round, for each tracker, a page of the shop's origin makes one call through the tracker's
// official snippet (its queue) before the tracker's script is added, then adds the script; the clock
// starts when the script tag is added. Measured:
// - bytes: the gzip -9 size of each script, wasm or settings file the tracker fetched (its events
//   apart), and which of them it downloads before it takes over;
// - ready: until the tracker owns its global (`window.mindbox` / `window.analytics` replaced by the
//   tracker's own object, which then runs the snippet's queue);
// - durable (this tracker only): until the queued call is committed to IndexedDB;
// - first event: until the queued call reaches the tracking API (for this tracker: Mindbox, after the
//   collector and its queue; for Segment: its API, one hop);
// and the long tasks (over 50 ms) the page saw.
import { createServer } from "node:http";
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { startStack, waitFor, ROOT } from "../support/stack.mjs";
import { launchChromium } from "../support/browser.mjs";

const ROUNDS = Number(process.argv[2] || 15);
const SEGMENT = join(ROOT, "target/bench/segment/package/dist/umd");
if (!existsSync(join(SEGMENT, "standalone.js"))) {
  console.error(`compare: ${SEGMENT}/standalone.js is missing; run \`cargo xtask bench\``);
  process.exit(2);
}
const WRITE_KEY = "benchWriteKey";
/**
 * Where this tracker's files come from: by default the same local static server as Segment's (in
 * production both come from a CDN; the events still go to the collector, named by
 * `data-collector`); with `COMPARE_FROM=collector`, the collector's own assets (`wrangler dev`).
 */
const STATIC = process.env.COMPARE_FROM !== "collector";

/** Segment's CDN and API on one local server; `arrivals` notes when each tracked event arrived. */
async function startSegmentServer() {
  const arrivals = new Map();
  const server = createServer((req, res) => {
    if (process.env.BENCH_DEBUG) console.log("segment server:", req.method, req.url);
    const url = new URL(req.url, "http://x");
    const cors = { "access-control-allow-origin": "*", "access-control-allow-headers": "content-type, authorization" };
    if (req.method === "OPTIONS") return res.writeHead(204, cors).end();
    if (url.pathname === `/v1/projects/${WRITE_KEY}/settings`) {
      const host = `127.0.0.1:${server.address().port}/v1`;
      const settings = {
        integrations: { "Segment.io": { apiKey: WRITE_KEY, apiHost: host, protocol: "http", unbundledIntegrations: [], addBundledMetadata: true } },
        plan: { track: { __default: { enabled: true } }, identify: { __default: { enabled: true } } },
        edgeFunction: {},
        analyticsNextEnabled: true,
        middlewareSettings: {},
        enabledMiddleware: {},
        metrics: { sampleRate: 0 },
        legacyVideoPluginsEnabled: false,
        remotePlugins: [],
      };
      return res.writeHead(200, { ...cors, "content-type": "application/json" }).end(JSON.stringify(settings));
    }
    if (req.method === "POST" && url.pathname.startsWith("/v1/")) {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        const at = Date.now();
        try {
          const id = JSON.parse(body).properties?.productId;
          if (id && !arrivals.has(id)) arrivals.set(id, at);
        } catch {}
        res.writeHead(200, { ...cors, "content-type": "application/json" }).end("{}");
      });
      return;
    }
    // This tracker's files, served the same way as Segment's (its events go to the collector).
    const ours = /^\/mbx\/(tracker(-extras|-qa)?\.(js|wasm))$/.exec(url.pathname);
    if (ours) {
      const type = ours[1].endsWith(".wasm") ? "application/wasm" : "text/javascript";
      return res.writeHead(200, { ...cors, "content-type": type }).end(readFileSync(join(ROOT, "tracker/dist", ours[1])));
    }
    const file = url.pathname.startsWith(`/analytics.js/v1/${WRITE_KEY}/`)
      ? "standalone.js"
      : url.pathname.startsWith("/analytics-next/bundles/")
        ? url.pathname.slice("/analytics-next/bundles/".length)
        : null;
    if (file && /^[\w.-]+\.js$/.test(file) && existsSync(join(SEGMENT, file))) {
      return res.writeHead(200, { ...cors, "content-type": "text/javascript" }).end(readFileSync(join(SEGMENT, file)));
    }
    res.writeHead(404, cors).end();
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, arrivals, close: () => server.close() };
}

/**
 * In the page: notes when `name` on window is replaced by the tracker's own object (`isStub` tells
 * the snippet's from it), and the long tasks. Runs before any script of the page.
 */
function watch({ name }) {
  const w = window;
  w.__bench = { longTasks: 0, readyAt: null };
  try {
    new PerformanceObserver((l) => (w.__bench.longTasks += l.getEntries().length)).observe({ type: "longtask" });
  } catch {}
  let value;
  Object.defineProperty(w, name, {
    configurable: true,
    get: () => value,
    set: (v) => {
      if (value && v !== value && w.__bench.readyAt === null) w.__bench.readyAt = performance.now();
      value = v;
    },
  });
}

/** One page with one tracker; returns its figures. */
async function round(browser, kind, id, stack, segment) {
  const context = await browser.newContext();
  await context.addInitScript(watch, { name: kind === "segment" ? "analytics" : "mindbox" });
  const page = await context.newPage();
  if (process.env.BENCH_DEBUG) page.on("console", (m) => console.log("page:", m.text()));
  const fetched = [];
  page.on("response", (r) => fetched.push(r.url()));
  try {
    await page.goto(`${stack.shopUrl}/no-tracker-here`);
    const start = await page.evaluate(
      ({ kind, id, trackerSrc, collector, cdn, key }) =>
        new Promise((resolve) => {
          const w = window;
          const t0 = performance.now();
          const wall = Date.now();
          if (kind === "segment") {
            // Segment's snippet, as `analytics.load(key)` builds it (the queue is the array itself).
            const analytics = [];
            analytics._writeKey = key;
            analytics._cdn = cdn;
            for (const m of ["track", "page", "identify", "ready"])
              analytics[m] = function () {
                analytics.push([m, ...arguments]);
                return analytics;
              };
            w.analytics = analytics;
            w.analytics.track("View Product", { productId: id });
            const s = document.createElement("script");
            s.async = true;
            s.src = `${cdn}/analytics.js/v1/${key}/analytics.min.js`;
            document.head.appendChild(s);
          } else {
            // Mindbox's snippet (its queue), then the one tag.
            w.__bench.durableAt = null;
            const channel = new BroadcastChannel("mindbox-edge");
            channel.onmessage = (m) => {
              if (m.data === "written" && w.__bench.durableAt === null) w.__bench.durableAt = performance.now();
            };
            const stub = function () {
              stub.queue.push(arguments);
            };
            stub.queue = [];
            w.mindbox = stub;
            w.mindbox("viewProduct", { productId: id });
            const s = document.createElement("script");
            s.async = true;
            s.src = trackerSrc;
            if (collector) s.setAttribute("data-collector", collector);
            document.head.appendChild(s);
          }
          resolve({ t0, wall });
        }),
      STATIC
        ? { kind, id, trackerSrc: `${segment.url}/mbx/tracker.js`, collector: stack.collectorUrl, cdn: segment.url, key: WRITE_KEY }
        : { kind, id, trackerSrc: `${stack.collectorUrl}/tracker.js`, collector: null, cdn: segment.url, key: WRITE_KEY },
    );
    let arrivedAt;
    await waitFor(`${kind}'s event ${id} at its API`, async () => {
      if (kind === "segment") arrivedAt = segment.arrivals.get(id);
      else {
        const reqs = await stack.emulator.requests();
        arrivedAt = reqs.find((q) => q.body?.viewProduct?.product?.ids?.website === id)?.receivedAt;
      }
      return arrivedAt !== undefined;
    }, { timeoutMs: 20000, intervalMs: 3 });
    if (kind !== "segment")
      await waitFor("the event durable", () => page.evaluate(() => window.__bench.durableAt !== null), { timeoutMs: 10000, intervalMs: 5 });
    const b = await page.evaluate(() => window.__bench);
    // The tracker's files (not its events, nor the page's own), and whether each was requested
    // before the tracker took over (no file requested after that can hold ready back).
    const entries = await page.evaluate(({ readyAt, page }) =>
      performance.getEntriesByType("resource")
        .filter((e) => !/\/v1\/(events|[tpi])$|favicon/.test(e.name) && !e.name.startsWith(page))
        .map((e) => ({ url: e.name, beforeReady: e.responseEnd <= readyAt })), { readyAt: b.readyAt, page: stack.shopUrl });
    if (process.env.BENCH_DEBUG) console.log(kind, JSON.stringify(await page.evaluate(() => performance.getEntriesByType("resource").map((e) => [e.name.replace(/^.*\//, ""), Math.round(e.startTime), Math.round(e.responseStart), Math.round(e.responseEnd)]))), "t0", Math.round(start.t0), "ready", Math.round(b.readyAt));
    return {
      ready: b.readyAt - start.t0,
      durable: b.durableAt == null ? null : b.durableAt - start.t0,
      first: arrivedAt - start.wall,
      longTasks: b.longTasks,
      beforeReady: entries,
      fetched,
    };
  } finally {
    await context.close();
  }
}

/** gzip -9 size of what a URL served. */
async function gzipSize(url) {
  const r = await fetch(url, { signal: AbortSignal.timeout(10000) });
  return gzipSync(Buffer.from(await r.arrayBuffer()), { level: 9 }).length;
}

const stack = await startStack();
const segment = await startSegmentServer();
const browser = await launchChromium();
try {
  const results = { mindbox: [], segment: [] };
  for (let i = 0; i < ROUNDS; i++) {
    // Alternate who goes first, so neither always meets a warmer machine.
    const order = i % 2 ? ["segment", "mindbox"] : ["mindbox", "segment"];
    for (const kind of order) results[kind].push(await round(browser, kind, `cmp-${kind}-${i}`, stack, segment));
  }
  const median = (xs) => {
    const s = xs.filter((x) => x != null).sort((a, b) => a - b);
    return s.length ? s[Math.floor(s.length / 2)] : NaN;
  };
  const rows = {};
  for (const kind of ["mindbox", "segment"]) {
    const rs = results[kind];
    const last = rs.at(-1);
    const files = [];
    for (const f of last.beforeReady) files.push({ name: f.url.replace(/^.*\/|\?.*$/g, ""), gz: await gzipSize(f.url), beforeReady: f.beforeReady });
    rows[kind] = {
      ready: median(rs.map((r) => r.ready)),
      durable: median(rs.map((r) => r.durable)),
      first: median(rs.map((r) => r.first)),
      longTasks: rs.reduce((n, r) => n + r.longTasks, 0),
      files,
    };
  }
  const m = rows.mindbox;
  const s = rows.segment;
  console.log(`compare (${ROUNDS} rounds, cold contexts, medians; Segment analytics.js from @segment/analytics-next's standalone build; our files from ${STATIC ? "the same static server as Segment's" : "the collector"}):`);
  const list = (fs) => fs.map((f) => `${f.name} ${f.gz} B${f.beforeReady ? " (before ready)" : ""}`).join(", ");
  const sum = (fs) => fs.reduce((n, f) => n + f.gz, 0);
  console.log(`  files, gzip -9: us ${sum(m.files)} B: ${list(m.files)}; Segment ${sum(s.files)} B: ${list(s.files)}`);
  console.log(`  ready (owns its global and the snippet's queue): us ${m.ready.toFixed(1)} ms, Segment ${s.ready.toFixed(1)} ms = ${(m.ready / s.ready).toFixed(2)}×`);
  console.log(`  first call durable in IndexedDB: us ${m.durable.toFixed(1)} ms (Segment keeps it in localStorage, not measured)`);
  console.log(`  first event at the API: us ${m.first} ms (at Mindbox, through the collector and its queue), Segment ${s.first} ms = ${(m.first / s.first).toFixed(2)}×`);
  console.log(`  long tasks over all rounds: us ${m.longTasks}, Segment ${s.longTasks}`);
} finally {
  await browser.close();
  segment.close();
  await stack.stop();
}
