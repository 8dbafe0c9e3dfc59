// The demo: its shop answers a malformed URL with 400 and keeps serving, serves only files of its own
// folder, signs no login tickets when the demo points at a real Mindbox; and the demo stops every
// part (and frees their ports) when one of them dies.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHmac, randomUUID } from "node:crypto";
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import net from "node:net";
import { startShop } from "../../demo/shop-server.mjs";
import { ROOT, PROFILE, freePort, timedFetch, answerOf, waitFor } from "../support/stack.mjs";

const SECRET_KEY = "demo-test-secret-key-3b9e";
const OWN_PAGE = "<p>the shop's own page</p>";
const SIBLING = "a file of www-old, beside www: never served";

/** A folder with the shop's pages, www/, and a sibling whose name starts the same, www-old/. */
let dir;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "mindbox-demo-test-"));
  mkdirSync(join(dir, "www"));
  writeFileSync(join(dir, "www/index.html"), OWN_PAGE);
  mkdirSync(join(dir, "www-old"));
  writeFileSync(join(dir, "www-old/x"), SIBLING);
}, { timeout: 10000 });
after(() => rmSync(dir, { recursive: true, force: true }), { timeout: 10000 });

/** Starts a shop (pages from the temporary www/) on a free port; its URL. Closed when `t` ends. */
async function shop(t, options = {}) {
  const port = await freePort();
  const server = await startShop({ port, collectorUrl: "http://127.0.0.1:9", secretKey: SECRET_KEY, backendToken: "unused", www: join(dir, "www"), ...options });
  t.after(() => new Promise((r) => server.close(r)));
  return `http://127.0.0.1:${port}`;
}

const get = async (url) => answerOf(await timedFetch(url));
const login = async (url, body) =>
  answerOf(await timedFetch(`${url}/api/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }));

test("a malformed URL gets 400 with a short text, and the shop keeps serving", { timeout: 30000 }, async (t) => {
  const url = await shop(t);
  for (const path of ["/%", "/%zz/index.html", "/a%E0%A4%A"]) {
    const r = await get(`${url}${path}`);
    assert.equal(r.status, 400, `${path}: ${r.text}`);
    assert.match(r.text, /malformed/, path);
    assert.ok(r.text.length < 100, `${path}: a short text, not ${r.text}`);
  }
  // A path the URL parser cannot take relative to a base ("//") is a path all the same.
  assert.equal((await get(`${url}//`)).status, 200);
  const next = await get(`${url}/`);
  assert.equal(next.status, 200);
  assert.equal(next.text, OWN_PAGE);
});

test("an encoded traversal never reads a file outside www/, not even in a sibling named www-old", { timeout: 30000 }, async (t) => {
  const url = await shop(t);
  assert.equal((await get(`${url}/index.html`)).text, OWN_PAGE, "the shop serves the folder it was given");
  for (const path of ["/..%2Fwww-old/x", "/..%2fwww-old%2fx", "/%2E%2E%2Fwww-old/x", "/img/..%2F..%2Fwww-old/x", "/..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd"]) {
    const r = await get(`${url}${path}`);
    assert.ok([400, 404].includes(r.status), `${path}: HTTP ${r.status} ${r.text}`);
    assert.ok(!r.text.includes(SIBLING) && !r.text.includes("root:"), `${path} read a file outside www/: ${r.text}`);
  }
});

test("with a real Mindbox (signTickets: false) /api/login refuses with 403 login_off", { timeout: 30000 }, async (t) => {
  const url = await shop(t, { signTickets: false });
  for (const body of [{ userId: "u1" }, { userId: "u2", email: "u2@example.com" }]) {
    const r = await login(url, body);
    assert.equal(r.status, 403, r.text);
    assert.equal(r.json?.error, "login_off");
    assert.match(r.json.reason, /signs tickets for anyone.*real Mindbox \(MINDBOX_API_BASE\)/);
    assert.ok(!("ticket" in r.json));
  }
});

test("with the emulator (the default) /api/login still signs a ticket with the secret key", { timeout: 30000 }, async (t) => {
  const url = await shop(t);
  const r = await login(url, { userId: "u7" });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.userId, "u7");
  const [hex, mac] = r.json.ticket.split("|");
  const msg = Buffer.from(hex, "hex").toString();
  assert.match(msg, /^ExternalIdentityAuthentication\|websiteID\|u7\|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  assert.equal(mac, createHmac("sha512", SECRET_KEY).update(msg).digest("hex"));
});

/** Whether this process can listen on 127.0.0.1:`port` (nothing holds it). */
function portFree(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

/** Whether a process of the group `pgid` is still running. */
function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * `node demo/run.mjs` on `ports`, its output kept. `stop()` asks it to stop (SIGTERM), then
 * kills whatever is left of it and of the parts it named.
 */
function startDemo(ports, env) {
  const args = ["demo/run.mjs", ...(PROFILE === "self-hosted" ? ["--self-hosted"] : [])];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env, DEMO_COLLECTOR_PORT: String(ports.collector), DEMO_SHOP_PORT: String(ports.shop), DEMO_EMULATOR_PORT: String(ports.emulator) },
  });
  let output = "";
  child.stdout.on("data", (c) => (output += c));
  child.stderr.on("data", (c) => (output += c));
  const pidOf = (name) => Number(new RegExp(`\\b${name} pid (\\d+)`).exec(output)?.[1]) || undefined;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(child.pid, "SIGTERM");
      await waitFor("the demo to stop", () => child.exitCode !== null || child.signalCode !== null, { timeoutMs: 20000 }).catch(() => {});
    }
    for (const pid of [child.pid, pidOf("emulator"), pidOf("collector")]) {
      if (pid && groupAlive(pid)) process.kill(-pid, "SIGKILL");
    }
  };
  return { child, output: () => output, pidOf, stop };
}

test("when the emulator dies, the demo says so, stops the other parts, frees their ports and exits non-zero", { timeout: 150000 }, async (t) => {
  const ports = { collector: await freePort(), shop: await freePort(), emulator: await freePort() };
  // A Mindbox that is not the demo's emulator: the shop's login must be off.
  const realMindbox = `http://127.0.0.1:${await freePort()}`;
  const demo = startDemo(ports, { MINDBOX_API_BASE: realMindbox });
  t.after(() => demo.stop());
  await waitFor(
    "the demo to list its parts",
    () => {
      if (demo.child.exitCode !== null) throw Object.assign(new Error(`the demo exited:\n${demo.output()}`), { fatal: true });
      return demo.pidOf("emulator") && demo.pidOf("collector");
    },
    { timeoutMs: 90000, intervalMs: 200 },
  );
  const shopUrl = `http://127.0.0.1:${ports.shop}`;
  assert.equal((await login(shopUrl, { userId: "u1" })).status, 403, "the demo's login is off for a real Mindbox");
  assert.equal((await get(`${shopUrl}/%`)).status, 400);
  assert.equal((await timedFetch(`http://127.0.0.1:${ports.collector}/v1/health`)).ok, true);

  process.kill(demo.pidOf("emulator"), "SIGKILL");
  await waitFor("the demo to exit", () => demo.child.exitCode !== null || demo.child.signalCode !== null, { timeoutMs: 30000 });
  assert.notEqual(demo.child.exitCode, 0, demo.output());
  assert.equal(demo.child.signalCode, null, "the demo exits by itself, with a code");
  assert.match(demo.output(), /the emulator \(pid \d+\) exited unexpectedly/);
  assert.equal(groupAlive(demo.pidOf("collector")), false, "the collector's processes are stopped");
  for (const [name, port] of Object.entries(ports)) {
    await waitFor(`the ${name}'s port ${port} to be free`, () => portFree(port), { timeoutMs: 10000, intervalMs: 100 });
  }
});

test("the self-hosted demo: two nodes behind the balancer on one PostgreSQL; one killed, events still reach Mindbox through the other", { timeout: 150000, skip: PROFILE !== "self-hosted" && "the self-hosted demo (COLLECTOR_PROFILE=self-hosted)" }, async (t) => {
  const ports = { collector: await freePort(), shop: await freePort(), emulator: await freePort() };
  const demo = startDemo(ports, {});
  t.after(() => demo.stop());
  await waitFor("the demo to list its parts", () => {
    if (demo.child.exitCode !== null) throw Object.assign(new Error(`the demo exited:\n${demo.output()}`), { fatal: true });
    return demo.pidOf("collector-2") && /Press Ctrl-C/.test(demo.output());
  }, { timeoutMs: 90000, intervalMs: 200 });
  const collector = `http://127.0.0.1:${ports.collector}`;
  const emulator = `http://127.0.0.1:${ports.emulator}`;
  const send = async () => {
    const id = randomUUID();
    const res = await timedFetch(`${collector}/v1/events`, {
      method: "POST",
      headers: { origin: `http://127.0.0.1:${ports.shop}`, "content-type": "text/plain" },
      body: JSON.stringify({ deviceUUID: randomUUID(), events: [{ id, operation: "Website.ViewProduct", data: { viewProduct: { product: { ids: { website: "1" } } } } }] }),
    });
    assert.equal(res.status, 202, await res.text());
    return id;
  };
  const arrived = (ids) => waitFor("the events at Mindbox", async () => {
    const reqs = await (await timedFetch(`${emulator}/__emulator/requests`)).json();
    return ids.every((id) => reqs.some((q) => q.transactionId === id));
  }, { timeoutMs: 30000 });
  // Round robin: four batches reach both nodes.
  await arrived([await send(), await send(), await send(), await send()]);
  process.kill(-demo.pidOf("collector-2"), "SIGKILL");
  await waitFor("the demo to say the node went", () => /collector-2 \(pid \d+\) exited/.test(demo.output()), { timeoutMs: 10000 });
  await arrived([await send(), await send(), await send(), await send()]);
  assert.equal(demo.child.exitCode, null, "the demo goes on");
});
