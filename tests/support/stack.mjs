// The stack fixture: the Mindbox emulator, the collector in local workerd (`wrangler dev`, or workerd
// for the self-hosted profile) and the demo shop (demo/shop-server.mjs), started from one place.
//
// Test files call `useStack(options)`, which starts a stack before the file's tests and stops it after;
// the benchmarks and the demo (demo/run.mjs) call `startStack()`. Both need the build from
// `cargo xtask build` (tracker/dist, edge-collector/build, target/debug/mindbox-emulator).
//
// Configuration, for the demo from the environment (the collector's own names):
//   MINDBOX_API_BASE     Mindbox-compatible API (default: the emulator this starts)
//   MINDBOX_ENDPOINT_ID  endpoint id (default demo-shop)
//   MINDBOX_SECRET_KEY   secret key (default demo-secret-key)
//   ALLOWED_ORIGINS      origins allowed to call the collector (default: the demo shop)
import { before, after, beforeEach } from "node:test";
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { randomUUID } from "node:crypto";
import { selfHostedConfig } from "../../edge-collector/selfhosted.mjs";
import { startPostgres } from "./postgres.mjs";
import { startBalancer } from "./balancer.mjs";
import { startShop } from "../../demo/shop-server.mjs";
import { ticket, emailTicket, phoneTicket } from "../../demo/tickets.mjs";
import { timedFetch, freePort, waitFor } from "./http.mjs";
import { startProcess } from "./processes.mjs";
import { collectorClient } from "./client.mjs";

export { timedFetch, answerOf, postChunked, freePort, waitFor, startOfAMinute, FETCH_TIMEOUT_MS } from "./http.mjs";
export { startProcess, running, signalGroup } from "./processes.mjs";
export { ticket, emailTicket, phoneTicket };

/** The repository's root. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");

/**
 * Which runtime runs the collector in this test process (`COLLECTOR_PROFILE`): "cloudflare" (the
 * default, `wrangler dev`) or "self-hosted" (workerd). `cargo xtask test` runs some files on both.
 */
export const PROFILE = process.env.COLLECTOR_PROFILE || "cloudflare";

/**
 * Why a chunked over-long-body test runs only on the self-hosted profile: the collector answers 413
 * once it has read the cap, before the client has finished uploading. workerd does that and keeps
 * serving; `wrangler dev`'s local proxy in front of workerd instead resets the upload and answers 503
 * "Your worker restarted mid-request" (Cloudflare's edge does not have that proxy).
 */
export const CHUNKED_413_SKIP =
  PROFILE === "self-hosted" ? false : "wrangler dev's local proxy resets an upload answered early; run with COLLECTOR_PROFILE=self-hosted";

/**
 * The stack a test file shares: started (`startStack(options)`) before the file's first test and
 * stopped after its last; with `resetEach`, the emulator forgets what it received before each test.
 * Returns the stack as soon as the file is loaded: its fields and calls (the collector client's
 * too, support/client.mjs) may be used once the tests run.
 */
export function useStack(options = {}, { resetEach = false } = {}) {
  let stack;
  before(async () => {
    stack = await startStack(options);
  }, { timeout: 180000 });
  after(async () => {
    await stack?.stop();
  }, { timeout: 60000 });
  if (resetEach) {
    beforeEach(async () => {
      await stack.emulator.reset();
    });
  }
  return lazy(() => stack, "the stack");
}

/**
 * An object that stands for `get()`'s value, which a `before` hook makes later: every property is read
 * from that value when it is used (methods bound to it).
 */
export function lazy(get, what) {
  return new Proxy({}, {
    get(_, key) {
      // Not a promise, nor anything the inspector asks for.
      if (typeof key === "symbol" || key === "then") return undefined;
      const target = get();
      if (!target) throw new Error(`${what} is not started yet (reading ${key}): use it in a test or hook`);
      const value = target[key];
      return typeof value === "function" ? value.bind(target) : value;
    },
    has: (_, key) => key in (get() || {}),
  });
}

/**
 * How to start `wrangler dev`: `[program, arguments before "dev"]`. `inspector: false` (the CPU
 * benchmarks) starts wrangler's dev server without its DevTools relay (`quiet-dev.mjs`).
 */
export function wranglerDev(inspector = true) {
  return inspector === false ? [process.execPath, [join(ROOT, "tests/support/quiet-dev.mjs")]] : [join(ROOT, "node_modules/.bin/wrangler"), []];
}

/**
 * Starts emulator, collector and shop. Returns URLs, tokens, tickets signed with the secret key, the
 * emulator's control API, the collector client (support/client.mjs), the processes' logs and `stop()`.
 *
 * Options: `profile` (`"cloudflare"`, the default: `wrangler dev`; or `"self-hosted"`: workerd with
 * the generated configuration of `selfHostedConfig`), `vars` (collector vars over the defaults),
 * `config` (a function from wrangler.toml's text to the text to run with: a broken binding, other
 * queue settings; Cloudflare profile), `omitSecretKey`, `env`, `ports`, `echo`, `signTickets` (the
 * shop's /api/login; default: only when Mindbox is the emulator this starts), `proxyless`
 * (self-hosted: `false` gives requests without X-Real-IP no client IP, as behind a proxy that sets
 * none; by default they are from 127.0.0.1, this machine, with no proxy in front), `nodes`
 * (self-hosted: how many workerd nodes share its throwaway PostgreSQL, 1 by default), `balancer`
 * (self-hosted: a round-robin balancer over the nodes on the collector's port, support/balancer.mjs)
 * and `onAnswer` (sees every answer of the client's `post` and `sync`).
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
  /** The self-hosted profile's PostgreSQL server (a throwaway cluster), when this stack started it. */
  let postgres = null;
  /** The load balancer in front of the self-hosted nodes (`balancer` option), on the collector's port. */
  let balancer = null;
  /** The folder with the secrets file and the collector's local state: removed at stop. */
  let tempDir;
  const stop = async () => {
    await Promise.all(procs.map((p) => p.stop()));
    if (balancer) await balancer.close();
    if (postgres) await postgres.destroy();
    if (shop) await new Promise((r) => shop.close(r));
    for (const f of configFiles) rmSync(f, { force: true });
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  };
  try {
    const emulatorBin = join(ROOT, "target/debug/mindbox-emulator");
    const emulatorProcess = startProcess("emulator", emulatorBin, ["--port", String(emulatorPort), "--endpoint-id", endpointId], {
      env: { ...process.env, MINDBOX_SECRET_KEY: secretKey },
      echo,
    });
    procs.push(emulatorProcess);
    const emulatorUrl = `http://127.0.0.1:${emulatorPort}`;
    await waitFor("the emulator to listen", () => emulatorProcess.log().includes("listening on"));
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
    // Behind the balancer, the first node has a port of its own; else it is the collector's.
    const firstNodePort = options.balancer ? await freePort() : collectorPort;
    // A SCRAM verifier of 64 rounds, as docs/operate.md recommends with a long random password.
    if (options.profile === "self-hosted") postgres = await startPostgres({ echo, scramIterations: 64 });
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
      const [bin, launcher] = wranglerDev(options.inspector);
      const proc = startProcess(
        "collector",
        bin,
        [
          ...launcher,
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
    // The self-hosted profile: the collector's postgres build in open-source workerd, with a
    // generated config (selfHostedConfig), its state in the stack's throwaway PostgreSQL.
    const launchWorkerd = async (port = firstNodePort, dir = dirname(secrets), name = "collector") => {
      // The emulator listens on loopback, which a real deployment's network service does not allow.
      // No TLS proxy in front: requests without X-Real-IP are from this machine (`proxyless: false`
      // leaves them without a client IP, as behind a proxy that sets no header).
      const clientIpWithoutProxy = options.proxyless === false ? null : "127.0.0.1";
      selfHostedConfig({ listen: `127.0.0.1:${port}`, dir, vars: settings.vars, localNetwork: true, clientIpWithoutProxy, dbCa: postgres.caPem });
      const proc = startProcess(name, join(ROOT, "node_modules/.bin/workerd"), ["serve", "--verbose", join(dir, "config.capnp")], {
        cwd: dir,
        env: {
          ...process.env,
          ...(options.omitSecretKey ? {} : { MINDBOX_SECRET_KEY: secretKey }),
          ADMIN_TOKEN: adminToken,
          BACKEND_TOKEN: backendToken,
          QA_TOKEN: qaToken,
          DATABASE_URL: postgres.url,
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
          return [200, 503].includes((await timedFetch(`http://127.0.0.1:${port}/v1/health`, { timeoutMs: 2000 })).status);
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
    // More self-hosted nodes on the same PostgreSQL: each its own workerd, port and state folder,
    // all started at once (their first connections race to migrate the fresh database).
    const more = [];
    for (let i = 1; i < (options.nodes || 1); i++) {
      const port = await freePort();
      const dir = join(tempDir, `node-${i}`);
      mkdirSync(dir, { recursive: true });
      const node = { url: `http://127.0.0.1:${port}`, port, dir };
      node.proc = () => node.current;
      node.start = async () => {
        node.current = await launchWorkerd(port, dir, `collector-${i + 1}`);
      };
      more.push(node);
    }
    const [first] = await Promise.all([launchCollector(), ...more.map((n) => n.start())]);
    let collector = first;
    const nodes = [{ url: `http://127.0.0.1:${firstNodePort}`, proc: () => collector }, ...more];
    if (options.balancer) {
      balancer = await startBalancer({ port: collectorPort, upstreams: nodes.map((n) => n.url) });
    }
    // The shop's login signs tickets for anyone: only for the emulator, unless the caller says.
    shop = await startShop({ port: shopPort, collectorUrl, secretKey, backendToken, signTickets: options.signTickets ?? apiBase === emulatorUrl });

    const control = async (path, body) => {
      const res = await timedFetch(`${emulatorUrl}/__emulator/${path}`, body === undefined ? {} : { method: "POST", body: JSON.stringify(body) });
      if (!res.ok) throw new Error(`emulator ${path}: HTTP ${res.status} ${await res.text()}`);
      return res.json();
    };
    const emulator = {
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
    };
    const urls = { collectorUrl, shopUrl, adminToken, backendToken, emulator };
    return {
      ...collectorClient(urls, { onAnswer: options.onAnswer }),
      collectorUrl,
      shopUrl,
      emulatorUrl,
      secretKey,
      adminToken,
      backendToken,
      qaToken,
      endpointId,
      /** A ticket for customer `id`, signed with this stack's secret key (or `key`) at `issued` (now). */
      ticket: (id, { key = secretKey, issued } = {}) => ticket(id, key, issued),
      /** A ticket for an email, signed with this stack's secret key. */
      emailTicket: (email) => emailTicket(email, secretKey),
      /** A ticket for a phone, signed with this stack's secret key. */
      phoneTicket: (phone) => phoneTicket(phone, secretKey),
      /**
       * The self-hosted nodes (`nodes` option; the first is `collectorUrl`): `url`, and for the others
       * `kill()` (SIGKILL) and `start()` again on the same port.
       */
      nodes: nodes.map((n, i) => ({
        url: n.url,
        kill: async () => {
          const proc = n.proc();
          try {
            process.kill(-proc.child.pid, "SIGKILL");
          } catch {}
          await proc.exited;
        },
        ...(i > 0 ? { start: n.start } : {}),
      })),
      /** The self-hosted profile's PostgreSQL server (`sql`, `restart`, …; tests/support/postgres.mjs), else null. */
      postgres,
      /** The collector's local state (Durable Objects; on the self-hosted profile, its delivery timers only). */
      stateDir: join(dirname(secrets), "state"),
      emulator,
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
        const others = await waitFor("the sentinel at the emulator", async () => {
          const reqs = await control("requests");
          return reqs.some((q) => q.transactionId === id) && reqs.filter((q) => !q.body?.sentinel);
        });
        // Self-hosted, several delivery timers run at once, so the sentinel can overtake: wait too
        // until nothing is in flight or due within seconds (a long backoff is not waited for).
        if (!postgres) return others;
        const busy = "SELECT count(*) FROM queue WHERE lease IS NOT NULL OR due_at < now_ms() + 5000";
        await waitFor("the queue to settle", async () => (await postgres.sql(busy)) === "0", { timeoutMs: 60000, intervalMs: 100 });
        return (await control("requests")).filter((q) => !q.body?.sentinel);
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

