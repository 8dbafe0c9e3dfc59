// The whole local stack, started from one place: the Mindbox emulator, the collector in local workerd
// (`wrangler dev`) and the demo shop (www/, served by this file).
//
// Tests import `startStack()`; `cargo xtask demo` runs `node tests/stack.mjs --demo`. Both need the
// build from `cargo xtask build` (tracker/dist, edge-collector/build, target/debug/mindbox-emulator).
//
// Configuration, for the demo from the environment (the collector's own names):
//   MINDBOX_API_BASE     Mindbox-compatible API (default: the emulator this starts)
//   MINDBOX_ENDPOINT_ID  endpoint id (default demo-shop)
//   MINDBOX_SECRET_KEY   secret key (default demo-secret-key)
//   ALLOWED_ORIGINS      origins allowed to call the collector (default: the demo shop)
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import net from "node:net";
import { selfHostedConfig } from "../edge-collector/selfhosted.mjs";
import { randomUUID } from "node:crypto";
import { startShop, ticket, emailTicket } from "./shop.mjs";

export { ticket, emailTicket };

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * Which runtime runs the collector in this test process (`COLLECTOR_PROFILE`): "cloudflare" (the
 * default, `wrangler dev`) or "self-hosted" (workerd). `cargo xtask test` runs some files on both.
 */
export const PROFILE = process.env.COLLECTOR_PROFILE || "cloudflare";

/** How long one HTTP call of the harness or a test may take before it fails (a hang must fail, not wait). */
export const FETCH_TIMEOUT_MS = 15000;

/**
 * `fetch` with a timeout: every network call in tests/ goes through this (test files import it as
 * `fetch`), so a server that takes a request and never answers fails the test with a message.
 */
export function timedFetch(url, options = {}) {
  const timeout = AbortSignal.timeout(options.timeoutMs || FETCH_TIMEOUT_MS);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  return fetch(url, { ...options, signal }).catch((e) => {
    if (timeout.aborted) throw new Error(`${options.method || "GET"} ${url}: no answer within ${options.timeoutMs || FETCH_TIMEOUT_MS} ms`);
    // Name the call and the network's reason ("fetch failed" alone says neither).
    throw new Error(`${options.method || "GET"} ${url}: ${e.message}${e.cause ? ` (${e.cause.code || e.cause.message})` : ""}`, { cause: e });
  });
}

/**
 * Why a chunked over-long-body test runs only on the self-hosted profile: the collector answers 413
 * once it has read the cap, before the client has finished uploading. workerd does that and keeps
 * serving; `wrangler dev`'s local proxy in front of workerd instead resets the upload and answers 503
 * "Your worker restarted mid-request" (Cloudflare's edge does not have that proxy).
 */
export const CHUNKED_413_SKIP =
  PROFILE === "self-hosted" ? false : "wrangler dev's local proxy resets an upload answered early; run with COLLECTOR_PROFILE=self-hosted";

/**
 * POSTs `bytes` spaces as a chunked body (no `Content-Length`), in 16 KiB chunks, with `headers`:
 * what a client does that does not say how long its body is. `{status, json}` of the answer.
 */
export async function postChunked(url, bytes, headers = {}) {
  const body = new ReadableStream({
    start(c) {
      for (let i = 0; i < bytes; i += 16384) c.enqueue(new Uint8Array(Math.min(16384, bytes - i)).fill(0x20));
      c.close();
    },
  });
  return answerOf(await timedFetch(url, { method: "POST", headers, body, duplex: "half" }));
}

/** An answer's `{status, json, text}` (`json` undefined when the body is not JSON). */
export async function answerOf(res) {
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, json, text };
}

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Polls `check` until it returns a truthy value or `timeoutMs` passes (then throws `what`). An error
 * marked `fatal` stops the wait at once.
 */
export async function waitFor(what, check, { timeoutMs = 20000, intervalMs = 100 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      if (e.fatal) throw e;
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last}` : ""}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Every process `startProcess` started that has not exited yet (the demo stops them all on a crash). */
export const running = new Set();

/**
 * Starts `cmd` in its own process group (so `stop()` ends it with whatever it started, and Ctrl-C at
 * the terminal reaches only this process, which stops it), keeping its output.
 */
export function startProcess(name, cmd, args, opts) {
  const child = spawn(cmd, args, { ...opts, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const output = [];
  const keep = (chunk) => {
    output.push(chunk.toString());
    if (opts.echo) process.stdout.write(`[${name}] ${chunk}`);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const exited = new Promise((resolve) => child.on("exit", resolve));
  const proc = {
    name,
    child,
    output,
    exited,
    log: () => output.join(""),
    /**
     * Ends the whole process group: SIGTERM, SIGKILL after 3 s. What outlives the group's leader
     * (workerd under a wrangler that died) gets the same 3 s once the leader has gone.
     */
    stop: async () => {
      if (!signalGroup(child.pid, "SIGTERM")) return;
      const killer = setTimeout(() => signalGroup(child.pid, "SIGKILL"), 3000);
      await exited;
      clearTimeout(killer);
      if (!signalGroup(child.pid, 0)) return;
      await waitFor("the rest of the group to exit", () => !signalGroup(child.pid, 0), { timeoutMs: 3000, intervalMs: 50 }).catch(() => {
        signalGroup(child.pid, "SIGKILL");
      });
    },
  };
  running.add(proc);
  child.on("exit", () => running.delete(proc));
  return proc;
}

/** Sends `signal` to the process group `pgid` (0: only checks it exists); false when no process is in it. */
function signalGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts emulator, collector and shop. Returns URLs, the emulator's control API, the processes'
 * logs and `stop()`.
 *
 * Options: `profile` (`"cloudflare"`, the default: `wrangler dev`; or `"self-hosted"`: workerd with
 * the generated configuration of `selfHostedConfig`), `vars` (collector vars over the defaults),
 * `config` (a function from wrangler.toml's text to the text to run with: a broken binding, other
 * queue settings; Cloudflare profile), `omitSecretKey`, `env`, `ports`, `echo`, `signTickets` (the
 * shop's /api/login; default: only when Mindbox is the emulator this starts), and `proxyless`
 * (self-hosted: `false` gives requests without X-Real-IP no client IP, as behind a proxy that sets
 * none; by default they are from 127.0.0.1, this machine, with no proxy in front).
 */
export async function startStack(options = {}) {
  const env = options.env || {};
  const secretKey = env.MINDBOX_SECRET_KEY || "test-secret-key-do-not-leak-7f3a";
  const endpointId = env.MINDBOX_ENDPOINT_ID || "demo-shop";
  const ports = options.ports || {};
  const collectorPort = ports.collector || (await freePort());
  const shopPort = ports.shop || (await freePort());
  const emulatorPort = ports.emulator || (await freePort());
  const collectorUrl = `http://127.0.0.1:${collectorPort}`;
  const shopUrl = `http://127.0.0.1:${shopPort}`;
  const echo = !!options.echo;
  const procs = [];
  const configFiles = [];
  let shop;
  /** The folder with the secrets file and the collector's local state: removed at stop. */
  let tempDir;
  const stop = async () => {
    await Promise.all(procs.map((p) => p.stop()));
    if (shop) await new Promise((r) => shop.close(r));
    for (const f of configFiles) rmSync(f, { force: true });
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  };
  try {
    const emulatorBin = join(ROOT, "target/debug/mindbox-emulator");
    const emulator = startProcess("emulator", emulatorBin, ["--port", String(emulatorPort), "--endpoint-id", endpointId], {
      env: { ...process.env, MINDBOX_SECRET_KEY: secretKey },
      echo,
    });
    procs.push(emulator);
    const emulatorUrl = `http://127.0.0.1:${emulatorPort}`;
    await waitFor("the emulator to listen", () => emulator.log().includes("listening on"));
    const apiBase = env.MINDBOX_API_BASE || emulatorUrl;

    // The secret goes to wrangler through an env file, never on a command line or in [vars].
    tempDir = mkdtempSync(join(tmpdir(), "mindbox-edge-"));
    const secrets = join(tempDir, ".dev.vars");
    const adminToken = env.ADMIN_TOKEN || "test-admin-token-do-not-leak-91c2";
    const backendToken = env.BACKEND_TOKEN || "test-backend-token-do-not-leak-5e0d";
    const qaToken = env.QA_TOKEN || "test-qa-token-do-not-leak-3b7e";
    const keyLine = options.omitSecretKey ? "" : `MINDBOX_SECRET_KEY=${secretKey}\n`;
    writeFileSync(secrets, `${keyLine}ADMIN_TOKEN=${adminToken}\nBACKEND_TOKEN=${backendToken}\nQA_TOKEN=${qaToken}\n`, { mode: 0o600 });
    const baseVars = {
      MINDBOX_API_BASE: apiBase,
      MINDBOX_ENDPOINT_ID: endpointId,
      ALLOWED_ORIGINS: env.ALLOWED_ORIGINS || shopUrl,
    };
    const vars = { ...baseVars, ...(options.vars || {}) };
    // What the collector runs with now: `startCollector(settings)` can change it for a restart.
    let settings = { vars, config: options.config };
    let inspectorPort = await freePort();
    const launchOnce = async () => {
      if (options.profile === "self-hosted") return launchWorkerd();
      const configArgs = [];
      if (settings.config) {
        // A changed copy of wrangler.toml beside it, so its relative paths still resolve.
        const file = join(ROOT, "edge-collector", `.wrangler-test-${randomUUID().slice(0, 8)}.toml`);
        writeFileSync(file, settings.config(readFileSync(join(ROOT, "edge-collector/wrangler.toml"), "utf8")));
        configFiles.push(file);
        configArgs.push("-c", file);
      }
      const proc = startProcess(
        "collector",
        join(ROOT, "node_modules/.bin/wrangler"),
        [
          "dev",
          ...configArgs,
          "--ip", "127.0.0.1",
          "--port", String(collectorPort),
          "--inspector-port", String(inspectorPort),
          "--env-file", secrets,
          "--show-interactive-dev-session=false",
          "--persist-to", join(dirname(secrets), "state"),
          ...Object.entries(settings.vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
        ],
        {
          cwd: join(ROOT, "edge-collector"),
          env: {
            ...process.env,
            WRANGLER_SEND_METRICS: "false",
            WRANGLER_SEND_ERROR_REPORTS: "false",
            CLOUDFLARE_CF_FETCH_ENABLED: "false",
            NO_UPDATE_NOTIFIER: "1",
            CI: "true",
          },
          echo,
        },
      );
      procs.push(proc);
      await waitFor(
        "the collector to answer /v1/health",
        async () => {
          if (proc.child.exitCode !== null) {
            throw Object.assign(new Error(`wrangler exited:\n${proc.log()}`), { fatal: true });
          }
          // Any answer will do: a deliberately misconfigured collector answers 503 "misconfigured".
          return [200, 503].includes((await timedFetch(`${collectorUrl}/v1/health`, { timeoutMs: 2000 })).status);
        },
        { timeoutMs: 60000, intervalMs: 200 },
      );
      return proc;
    };
    // The self-hosted profile: the same worker build in open-source workerd, with a generated config
    // (selfHostedConfig below), Durable Objects on local disk and the events queue in them.
    const launchWorkerd = async () => {
      const dir = dirname(secrets);
      // The emulator listens on loopback, which a real deployment's network service does not allow.
      // No TLS proxy in front: requests without X-Real-IP are from this machine (`proxyless: false`
      // leaves them without a client IP, as behind a proxy that sets no header).
      const clientIpWithoutProxy = options.proxyless === false ? null : "127.0.0.1";
      selfHostedConfig({ listen: `127.0.0.1:${collectorPort}`, dir, vars: settings.vars, localNetwork: true, clientIpWithoutProxy });
      const proc = startProcess("collector", join(ROOT, "node_modules/.bin/workerd"), ["serve", "--verbose", join(dir, "config.capnp")], {
        cwd: dir,
        env: {
          ...process.env,
          ...(options.omitSecretKey ? {} : { MINDBOX_SECRET_KEY: secretKey }),
          ADMIN_TOKEN: adminToken,
          BACKEND_TOKEN: backendToken,
          QA_TOKEN: qaToken,
        },
        echo,
      });
      procs.push(proc);
      await waitFor(
        "the self-hosted collector to answer /v1/health",
        async () => {
          if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
            throw Object.assign(new Error(`workerd exited:\n${proc.log()}`), { fatal: true });
          }
          return [200, 503].includes((await timedFetch(`${collectorUrl}/v1/health`, { timeoutMs: 2000 })).status);
        },
        { timeoutMs: 60000, intervalMs: 200 },
      );
      return proc;
    };
    // A port picked free can be taken again before workerd binds it (by an outgoing connection's
    // ephemeral port): workerd then exits with "Address already in use". Start again after a pause
    // that lets such a connection go, with a fresh inspector port (the collector's own port is in the
    // shop's pages, so it stays).
    const launchCollector = async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await launchOnce();
        } catch (e) {
          if (attempt >= 3 || !String(e.message).includes("Address already in use")) throw e;
          console.error(`collector: a port was taken while starting (attempt ${attempt}); starting again`);
          inspectorPort = await freePort();
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
    };
    let collector = await launchCollector();
    // The shop's login signs tickets for anyone: only for the emulator, unless the caller says.
    shop = await startShop({ port: shopPort, collectorUrl, secretKey, backendToken, signTickets: options.signTickets ?? apiBase === emulatorUrl });

    const control = async (path, body) => {
      const res = await timedFetch(`${emulatorUrl}/__emulator/${path}`, body === undefined ? {} : { method: "POST", body: JSON.stringify(body) });
      if (!res.ok) throw new Error(`emulator ${path}: HTTP ${res.status} ${await res.text()}`);
      return res.json();
    };
    return {
      collectorUrl,
      shopUrl,
      emulatorUrl,
      secretKey,
      adminToken,
      backendToken,
      qaToken,
      endpointId,
      /** The collector's local state (Durable Objects; on the self-hosted profile, one folder per class). */
      stateDir: join(dirname(secrets), "state"),
      /** Posts `body` to the backend route with `token` (default: the right one); `{status, json}`. */
      backend: async (body, token = backendToken) => {
        const res = await timedFetch(`${collectorUrl}/v1/backend/operations`, {
          method: "POST",
          headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
          body: typeof body === "string" ? body : JSON.stringify(body),
        });
        return answerOf(res);
      },
      /** Calls an admin route with the bearer token. */
      admin: async (path, body) => {
        const res = await timedFetch(`${collectorUrl}/v1/admin/${path}`, {
          method: body === undefined ? "GET" : "POST",
          headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        if (!res.ok) throw new Error(`admin ${path}: HTTP ${res.status} ${await res.text()}`);
        return res.json();
      },
      emulator: {
        /** Requests Mindbox accepted (answered Success). */
        requests: () => control("requests"),
        /** Every request Mindbox saw, with status and answer. */
        attempts: () => control("attempts"),
        /** Fail the next requests: {count, status} or {count, mode: "timeout"|"validation"}. */
        fail: (spec) => control("fail", spec),
        reset: () => control("reset", {}),
        /** {accepted, attempts} counts. */
        count: () => control("count"),
        /** Random failures from now on: {failRate, timeoutRate, timeoutMs} ({} stops them). */
        chaos: (spec) => control("chaos", spec),
        /** Every operations request takes `ms` to answer from now on. */
        latency: (ms) => control("latency", { ms }),
      },
      /**
       * Sends a "sentinel" event straight to the collector and waits until Mindbox has it; returns
       * every other accepted request. Whatever was queued before the sentinel has been delivered by
       * then, so this shows "nothing (else) was enqueued" without sleeping.
       */
      drain: async () => {
        const id = randomUUID();
        const res = await timedFetch(`${collectorUrl}/v1/events`, {
          method: "POST",
          // X-Real-IP: what a self-hosted collector's proxy writes (Cloudflare's ignores it).
          headers: { origin: vars.ALLOWED_ORIGINS.split(",")[0], "content-type": "text/plain", "x-real-ip": "127.0.0.1" },
          body: JSON.stringify({ events: [{ id, operation: "Website.ViewProduct", data: { sentinel: true } }] }),
        });
        if (res.status !== 202) throw new Error(`sentinel refused: ${res.status} ${await res.text()}`);
        return waitFor("the sentinel at the emulator", async () => {
          const reqs = await control("requests");
          return reqs.some((q) => q.transactionId === id) && reqs.filter((q) => !q.body?.sentinel);
        });
      },
      logs: () => procs.map((p) => p.log()).join("\n"),
      collectorLog: () => procs.filter((p) => /(wrangler|workerd)$/.test(p.child.spawnfile)).map((p) => p.log()).join("\n"),
      /** Which runtime the collector runs on: "cloudflare" (wrangler dev) or "self-hosted" (workerd). */
      profile: options.profile || "cloudflare",
      /** Kills the collector at once (SIGKILL, no shutdown): a crash. */
      killCollector: async () => {
        try {
          process.kill(-collector.child.pid, "SIGKILL");
        } catch {}
        await collector.exited;
      },
      /** Stops the collector (the emulator and shop stay up): "the collector is down". */
      stopCollector: async () => {
        await collector.stop();
        // workerd may outlive wrangler's node process by a moment: wait until nothing answers on
        // the port, so a restart binds it afresh instead of racing a dying instance.
        await waitFor("the collector's port to close", async () => {
          try {
            await fetch(`${collectorUrl}/v1/health`, { signal: AbortSignal.timeout(500) });
            return false;
          } catch {
            return true;
          }
        });
      },
      /**
       * Starts it again on the same port, with the same state (Durable Objects; local queues are
       * in memory and start empty). `{vars, config}` replace the `startStack` options of those names
       * (the emulator's URL, endpoint and origins stay): `startCollector({})` restores the defaults.
       */
      startCollector: async (next) => {
        if (next) settings = { vars: { ...baseVars, ...(next.vars || {}) }, config: next.config };
        collector = await launchCollector();
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Calls `gone()` once the process that started this one has exited (this one is adopted then). */
function watchParent(gone) {
  const parent = process.ppid;
  setInterval(() => process.ppid !== parent && gone(), 1000).unref();
}

/**
 * Runs the demo's stack, `start()`, and resolves to it once it is up. Until Ctrl-C, when a part dies
 * (the emulator's or the collector's process exits, this process, which is the shop, has an uncaught
 * error) or the process that started the demo is gone (a killed `cargo xtask demo`), it says which,
 * stops every other part and exits non-zero, so that no part is left holding a port. When the demo
 * stops before it is up, the returned promise never settles: the process exits.
 */
export async function superviseDemo(start) {
  const exiting = () => new Promise(() => {});
  let stopping = false;
  const starting = start();
  // Stops every process, then the stack (the shop, the temporary folder), and exits with `code`.
  const stopAll = async (code, why) => {
    if (stopping) return;
    stopping = true;
    if (why) console.error(`\ndemo: ${why}; stopping the other parts`);
    // A stop that hangs (a shop connection that never closes) still ends, with every group killed.
    setTimeout(() => {
      for (const p of running) signalGroup(p.child.pid, "SIGKILL");
      process.exit(1);
    }, 15000).unref();
    try {
      await Promise.all([...running].map((p) => p.stop()));
      // A stack still starting fails once its processes are gone, and removes its folder itself.
      await starting.then((stack) => stack.stop(), () => {});
    } catch (e) {
      console.error(`demo: stopping failed: ${e.message}`);
      code = 1;
    }
    process.exit(code);
  };
  process.on("SIGINT", () => stopAll(0));
  process.on("SIGTERM", () => stopAll(0));
  process.on("uncaughtException", (e) => stopAll(1, `the demo process (the shop) failed: ${e?.stack || e}`));
  process.on("unhandledRejection", (e) => stopAll(1, `the demo process (the shop) failed: ${e?.stack || e}`));
  watchParent(() => stopAll(1, "the process that started the demo is gone"));
  let stack;
  try {
    stack = await starting;
  } catch (e) {
    stopAll(1, `it could not start: ${e.message}`);
    return exiting();
  }
  const parts = [...running];
  const missing = ["emulator", "collector"].find((name) => !parts.some((p) => p.name === name));
  if (missing) stopAll(1, `the ${missing} exited while the demo was starting`);
  if (stopping) return exiting();
  for (const p of parts) {
    p.exited.then(() => stopAll(1, `the ${p.name} (pid ${p.child.pid}) exited unexpectedly (${p.child.signalCode || `exit code ${p.child.exitCode}`})`));
  }
  console.log(`Parts: ${parts.map((p) => `${p.name} pid ${p.child.pid}`).join(", ")}, the shop in this process (pid ${process.pid}); if one stops, the demo stops.`);
  return stack;
}

/** The demo's ports: DEMO_COLLECTOR_PORT, DEMO_SHOP_PORT, DEMO_EMULATOR_PORT (8787, 8080, 8788). */
function demoPorts() {
  const port = (name, fallback) => Number(process.env[name] || fallback);
  return { collector: port("DEMO_COLLECTOR_PORT", 8787), shop: port("DEMO_SHOP_PORT", 8080), emulator: port("DEMO_EMULATOR_PORT", 8788) };
}

// `node tests/stack.mjs --demo`: fixed ports (or DEMO_*_PORT), logs on the console, until Ctrl-C.
if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.includes("--demo")) {
  const selfHosted = process.argv.includes("--self-hosted");
  const ports = demoPorts();
  const apiBase = process.env.MINDBOX_API_BASE;
  // A Mindbox other than the emulator started here: the shop's login (tickets for anyone) is off.
  const realMindbox = !!apiBase && apiBase !== `http://127.0.0.1:${ports.emulator}`;
  const stack = await superviseDemo(() => startStack({
    profile: selfHosted ? "self-hosted" : "cloudflare",
    ports,
    signTickets: !realMindbox,
    env: {
      ...process.env,
      MINDBOX_SECRET_KEY: process.env.MINDBOX_SECRET_KEY || "demo-secret-key",
      ADMIN_TOKEN: process.env.ADMIN_TOKEN || "demo-admin-token",
      BACKEND_TOKEN: process.env.BACKEND_TOKEN || "demo-backend-token",
      QA_TOKEN: process.env.QA_TOKEN || "demo-qa-token",
    },
    echo: true,
  }));
  const from = (name) => (process.env[name] ? `from the environment's ${name}` : `the demo's own; set ${name} to choose`);
  console.log(`
Mindbox Edge demo is running:
  demo shop        ${stack.shopUrl}/          (QA page: ${stack.shopUrl}/qa.html)
  collector        ${stack.collectorUrl}   (tracker: ${stack.collectorUrl}/tracker.js; ${selfHosted ? "self-hosted: workerd, queue on local disk" : "local Cloudflare: wrangler dev"})
  Mindbox          ${process.env.MINDBOX_API_BASE || `${stack.emulatorUrl}   (emulator; what it received: ${stack.emulatorUrl}/__emulator/requests)`}
  admin token      ${stack.adminToken}   (${from("ADMIN_TOKEN")}): curl -H "Authorization: Bearer …" ${stack.collectorUrl}/v1/admin/counters
                   (from a terminal: the collector refuses it from a web page)
  QA token         ${stack.qaToken}   (${from("QA_TOKEN")}): enter it on the QA page and tick "Трассировка"
                   to see each event delivered, retried or refused
  backend token    ${stack.backendToken}   (${from("BACKEND_TOKEN")}): POST ${stack.collectorUrl}/v1/backend/operations
  make Mindbox fail  curl -X POST ${stack.emulatorUrl}/__emulator/fail -d '{"count": 3, "status": 503}'
                     (or {"count": 1, "mode": "validation"} for a dead letter; see the README's QA section)
Press Ctrl-C to stop (the temporary folder with the secrets file is removed).`);
  if (realMindbox) console.log("The shop's login is off (it would sign tickets for anyone): /api/login answers 403 login_off.");
}
