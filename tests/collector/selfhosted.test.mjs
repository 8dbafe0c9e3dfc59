// The self-hosted profile: the collector's postgres build in open-source workerd (no Cloudflare
// service), its events queue in PostgreSQL (edge-collector/src/store/pg/queue.rs). What the local
// Cloudflare Queues cannot show: a crash (SIGKILL) in the middle of delivering a burst loses and
// duplicates nothing once the collector is started again. Two nodes: tests/collector/cluster.test.mjs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { useStack, waitFor, timedFetch } from "../support/stack.mjs";
import { view } from "../support/events.mjs";

const stack = useStack({ profile: "self-hosted", vars: { MINDBOX_TIMEOUT_MS: "1500" } }, { resetEach: true });
/** Posts `events` from a new device; each must be accepted. */
const post = (events) => stack.sendAccepted(events, randomUUID());

test("the tracker files are served with the asset headers, and /v1/* reaches the collector", async () => {
  for (const [path, type] of [["/tracker.js", /javascript/], ["/tracker.wasm", /application\/wasm/], ["/tracker-extras.js", /javascript/], ["/tracker-qa.js", /javascript/]]) {
    const res = await timedFetch(`${stack.collectorUrl}${path}`);
    assert.equal(res.status, 200, path);
    assert.match(res.headers.get("content-type"), type);
    assert.equal(res.headers.get("access-control-allow-origin"), "*");
    assert.equal(res.headers.get("cache-control"), "public, max-age=300");
    await res.arrayBuffer();
  }
  for (const path of ["/_headers", "/../wrangler.toml", "/nope"]) {
    const res = await timedFetch(`${stack.collectorUrl}${path}`);
    assert.equal(res.status, 404, path);
    await res.arrayBuffer();
  }
  assert.deepEqual(await (await timedFetch(`${stack.collectorUrl}/v1/health`)).json(), { ok: true, status: "ok" });
});

test("the client IP comes only from the TLS proxy's header, never from a CF-Connecting-IP the client sent", async () => {
  const ips = [];
  for (const headers of [{ "x-real-ip": "203.0.113.7" }, { "cf-connecting-ip": "6.6.6.6" }, { "cf-connecting-ip": "6.6.6.6", "x-real-ip": "203.0.113.8" }]) {
    const event = view();
    const res = await stack.post({ events: [event] }, { headers });
    assert.equal(res.status, 202, res.text);
    const req = await waitFor("the event at Mindbox", async () => (await stack.emulator.requests()).find((q) => q.transactionId === event.id));
    ips.push(req.headers["x-customer-ip"]);
  }
  // Without X-Real-IP the request is from this machine (the test stack has no proxy in front; behind
  // one, it would have no client IP and be refused): never the 6.6.6.6 the client claimed.
  assert.deepEqual(ips, ["203.0.113.7", "127.0.0.1", "203.0.113.8"]);
  // The proxy's X-Forwarded-Proto makes the server-set device cookie Secure.
  for (const [proto, secure] of [["https", true], [undefined, false]]) {
    const res = await stack.post({ events: [] }, { headers: proto ? { "x-forwarded-proto": proto } : {} });
    assert.equal(res.status, 202);
    assert.equal(/; Secure/.test(res.headers.get("set-cookie")), secure, res.headers.get("set-cookie"));
  }
});

test("accepted events go through the PostgreSQL queue: a 5xx and a hang are retried, each event arrives once", async () => {
  await stack.emulator.fail({ count: 1, status: 503 });
  await stack.emulator.fail({ count: 1, mode: "timeout", ms: 3000 });
  const events = [view(), view(), view()];
  await post(events);
  await waitFor("every event at Mindbox", async () => (await stack.acceptedCounts(events.map((e) => e.id))).every((n) => n === 1), { timeoutMs: 30000 });
  await stack.drain();
  assert.deepEqual(await stack.acceptedCounts(events.map((e) => e.id)), [1, 1, 1]);
  const tried = (await stack.emulator.attempts()).filter((q) => events.some((e) => e.id === q.transactionId));
  assert.ok(tried.length >= 5, `two failed tries and three deliveries: ${tried.length}`);
});

test("the delivery timers keep their PostgreSQL connection from one round to the next: a connection per batch accepted, none per round", async () => {
  // PostgreSQL counts the sessions each database has had (pg_stat_database.sessions, 14 and later).
  const sessions = async () => Number(await stack.postgres.sql("SELECT sessions FROM pg_stat_database WHERE datname = current_database()"));
  const before = await sessions();
  const batches = 30;
  const ids = [];
  for (let b = 0; b < batches; b++) {
    const events = Array.from({ length: 50 }, () => view());
    ids.push(...events.map((e) => e.id));
    await post(events);
  }
  await waitFor("every event at Mindbox", async () => (await stack.acceptedCounts(ids)).every((n) => n === 1), { timeoutMs: 60000 });
  // A session is counted when its backend reports it: the requests' connections close with them.
  const opened = await waitFor("the sessions counted", async () => {
    const n = (await sessions()) - before;
    return n >= batches && n;
  });
  // Each request connects once (workerd keeps no connection across requests). The timers' rounds
  // (at least one per 50-event batch) add none, but for a timer reconnecting; the two reads here
  // are sessions too.
  assert.ok(opened < batches + 10, `${opened} sessions for ${batches} batches`);
});

test("a Mindbox validation error is dead-lettered with its reason, and redrive delivers it", async () => {
  await stack.emulator.fail({ count: 1, mode: "validation" });
  const event = view();
  await post([event]);
  const letter = await waitFor("the dead letter", async () => (await stack.deadLetters()).find((l) => l.key === event.id));
  assert.match(letter.reason, /ValidationError/);
  assert.deepEqual((await stack.admin("dead-letters/redrive", { ids: [event.id] })).redriven, [event.id]);
  await waitFor("the redriven event at Mindbox", async () => (await stack.acceptedCounts([event.id]))[0] === 1);
});

test("killed with SIGKILL while delivering a burst, started again: every accepted event arrives exactly once", async () => {
  // Mindbox hangs on the first tries, so deliveries are in flight when the collector dies.
  await stack.emulator.fail({ count: 20, mode: "timeout", ms: 2500 });
  const events = Array.from({ length: 200 }, () => view());
  for (let i = 0; i < events.length; i += 50) await post(events.slice(i, i + 50));
  const ids = events.map((e) => e.id);
  await waitFor("deliveries in flight", async () => (await stack.emulator.attempts()).length >= 10, { timeoutMs: 30000 });
  const before = (await stack.acceptedCounts(ids)).filter((n) => n > 0).length;
  assert.ok(before < ids.length, `killed before the burst was delivered (${before} of ${ids.length})`);
  await stack.killCollector();
  await stack.startCollector();
  await waitFor("every event at Mindbox after the restart", async () => (await stack.acceptedCounts(ids)).every((n) => n >= 1), { timeoutMs: 120000, intervalMs: 500 });
  await stack.drain();
  const counts = await stack.acceptedCounts(ids);
  assert.deepEqual(counts.filter((n) => n !== 1), [], "each exactly once");
});

test("/metrics speaks Prometheus' text format with the admin token: outcomes, the call-time histogram, the queue's depth and age", async () => {
  const events = [view(), view()];
  await post(events);
  await stack.drain();
  const scrape = (headers) => timedFetch(`${stack.collectorUrl}/metrics`, { headers });
  const refused = await scrape({});
  assert.equal(refused.status, 401);
  await refused.arrayBuffer();
  const res = await scrape({ authorization: `Bearer ${stack.adminToken}` });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type"), /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  const value = (line) => Number(text.split("\n").find((l) => l.startsWith(line + " "))?.slice(line.length + 1));
  assert.ok(value('mindbox_edge_events_total{outcome="delivered",source="browser"}') >= 3, text);
  assert.ok(value("mindbox_edge_mindbox_call_seconds_count") >= 3, text);
  assert.equal(value('mindbox_edge_mindbox_call_seconds_bucket{le="+Inf"}'), value("mindbox_edge_mindbox_call_seconds_count"));
  assert.equal(value("mindbox_edge_queue_depth"), 0, "delivered: nothing left on the queue");
  assert.equal(value("mindbox_edge_queue_oldest_age_seconds"), 0);
});

test("health says when PostgreSQL is unreachable or its schema is behind, and /v1/events waits it out with 503", async () => {
  const health = async () => ({ admin: await stack.admin("health"), plain: (await timedFetch(`${stack.collectorUrl}/v1/health`)).status });
  await stack.postgres.stop({ mode: "immediate" });
  try {
    const down = await health();
    assert.equal(down.plain, 503);
    assert.equal(down.admin.ok, false);
    assert.match(down.admin.problem, /PostgreSQL unreachable/);
    const r = await stack.post({ events: [view()] });
    assert.equal(r.status, 503, r.text);
    assert.ok(r.headers.get("retry-after"));
  } finally {
    await stack.postgres.start();
  }
  assert.deepEqual(await health(), { admin: { ok: true, problem: null }, plain: 200 });
  const version = await stack.postgres.sql("SELECT max(version) FROM schema_migrations");
  await stack.postgres.sql(`DELETE FROM schema_migrations WHERE version = ${version}`);
  try {
    const behind = await health();
    assert.match(behind.admin.problem, /schema is behind/);
    assert.equal(behind.plain, 503);
  } finally {
    await stack.postgres.sql(`INSERT INTO schema_migrations (version) VALUES (${version})`);
  }
  assert.equal((await health()).plain, 200);
});

test("the sweep forgets what expired and keeps a trace's notes a day after it was switched off", async () => {
  const device = randomUUID();
  await stack.admin("trace", { deviceUUID: device, hours: 1 });
  const event = view();
  await stack.sendAccepted([event], device);
  await waitFor("the traced event delivered", async () => (await stack.admin(`trace?device=${device}`)).events.some((n) => n.id === event.id && n.state === "delivered"));
  await stack.admin("trace", { deviceUUID: device, hours: 0 });
  // A row long expired: gone once a sweep has run. A restarted node's timers sweep on their first round.
  const stale = randomUUID();
  await stack.postgres.sql(`INSERT INTO seen (device, id, expires_at) VALUES ('${stale}', 'x', 0)`);
  await stack.killCollector();
  await stack.startCollector();
  await waitFor("a sweep", async () => (await stack.postgres.sql(`SELECT count(*) FROM seen WHERE device = '${stale}'`)) === "0", { timeoutMs: 30000 });
  const trace = await stack.admin(`trace?device=${device}`);
  assert.equal(trace.until, 0, "switched off");
  assert.deepEqual(trace.events.map((n) => n.id), [event.id], "its notes are still there");
});
