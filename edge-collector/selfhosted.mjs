// The self-hosted profile's configuration: the collector (its `postgres` build) in open-source
// workerd, its state in PostgreSQL (DATABASE_URL), the node itself stateless.
//
//   cargo xtask build
//   node edge-collector/selfhosted.mjs /srv/mindbox-edge --listen 127.0.0.1:8787 \
//     --var MINDBOX_ENDPOINT_ID=shop-website --var ALLOWED_ORIGINS=https://shop.example
//     --db-ca /etc/mindbox-edge/db-ca.pem --db-network 10.0.0.0/8
//   DATABASE_URL=postgres://…?sslmode=require MINDBOX_SECRET_KEY=… ADMIN_TOKEN=… \
//     node_modules/.bin/workerd serve /srv/mindbox-edge/config.capnp
//
// The vars are wrangler.toml's `[vars]` with `--var` over them. tests/support/stack.mjs uses the same function
// for the self-hosted test stack and `cargo xtask demo --self-hosted`. See docs/operate.md, "Self-hosting".
import { readFileSync, writeFileSync, mkdirSync, copyFileSync } from "node:fs";
import { join, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** The `[vars]` of edge-collector/wrangler.toml (`KEY = "value"` lines). */
function wranglerVars() {
  const toml = readFileSync(join(ROOT, "edge-collector/wrangler.toml"), "utf8");
  const section = toml.split(/^\[vars\]$/m)[1].split(/^\[/m)[0];
  return Object.fromEntries([...section.matchAll(/^([A-Z_]+) = "(.*)"$/gm)].map((m) => [m[1], m[2]]));
}

const capnpText = (v) => JSON.stringify(String(v));

/**
 * The self-hosted profile's workerd configuration: the collector worker (its `postgres` build:
 * edge-collector/build-selfhosted) with wrangler.toml's vars (and `vars` over them), secrets from the
 * environment (`DATABASE_URL` among them: the state is in PostgreSQL), its delivery timers' alarms
 * under `dir/state` (nothing there matters), outbound to public addresses and `dbNetwork` with
 * `dbCa` trusted for TLS, and a small router in front that serves the tracker files from
 * tracker/dist with the headers Cloudflare's asset server gives them, sends /v1/* to the collector
 * and /metrics to /v1/admin/metrics. Writes `config.capnp`, `router.js` and the worker build into
 * `dir`; run it with `workerd serve dir/config.capnp`, with `DATABASE_URL`, `MINDBOX_SECRET_KEY`
 * and `ADMIN_TOKEN` (and `QA_TOKEN`, `BACKEND_TOKEN`) in the environment.
 *
 * Without its proxy's header a request has no client IP and the collector refuses it (503, and
 * `/v1/admin/health` says why): the rate limits cannot hold without one. `clientIpWithoutProxy` is
 * for a collector only this machine reaches (the tests, the demo): the address to use when there is
 * no proxy to write the header.
 */
export function selfHostedConfig({ listen, dir, vars, localNetwork = false, clientIpWithoutProxy = null, dbCa = null, dbNetwork = [] }) {
  const build = join(ROOT, "edge-collector/build-selfhosted");
  const all = { ...wranglerVars(), ...vars };
  const text = Object.entries(all).map(([k, v]) => `    (name = ${capnpText(k)}, text = ${capnpText(v)}),`).join("\n");
  // The delivery timers: alarms only, no data that matters (their folder may be lost with the node).
  const classes = [["PUMP", "Pump"]];
  // The client IP: only from the TLS proxy's header (CLIENT_IP_HEADER, default X-Real-IP), never
  // from a CF-Connecting-IP the client sent itself (there is no Cloudflare in front to overwrite it).
  const ipHeader = (all.CLIENT_IP_HEADER || "x-real-ip").toLowerCase();
  const router = `
const TYPES = { js: "text/javascript; charset=utf-8", wasm: "application/wasm", ts: "text/plain; charset=utf-8" };
export default {
  async fetch(req, env) {
    const url = new URL(req.url);
    // Prometheus scrapes /metrics (with the admin token).
    if (url.pathname === "/metrics") url.pathname = "/v1/admin/metrics";
    if (url.pathname.startsWith("/v1/")) {
      const headers = new Headers(req.headers);
      headers.delete("cf-connecting-ip");
      // The right-most entry is the one the proxy wrote (a client can only prepend).
      const ip = req.headers.get(${JSON.stringify(ipHeader)}) ?? ${JSON.stringify(clientIpWithoutProxy)};
      if (ip) headers.set("cf-connecting-ip", ip.split(",").pop().trim());
      // Behind the TLS proxy the request arrives as http: the collector sees it as https (so the
      // device cookie is Secure) when the proxy says so.
      const target = new URL(url);
      if (req.headers.get("x-forwarded-proto") === "https") target.protocol = "https:";
      return env.COLLECTOR.fetch(new Request(target, new Request(req, { headers })));
    }
    if (!/^\\/[a-z0-9][a-z0-9.-]*$/.test(url.pathname)) return new Response("not found", { status: 404 });
    const file = await env.TRACKER.fetch("http://tracker" + url.pathname);
    if (file.status !== 200) return new Response("not found", { status: 404 });
    return new Response(file.body, { headers: {
      "content-type": TYPES[url.pathname.split(".").pop()] || "application/octet-stream",
      "access-control-allow-origin": "*",
      "cache-control": "public, max-age=300",
    } });
  },
};`;
  // `embed` reads files beside the configuration.
  writeFileSync(join(dir, "router.js"), router);
  copyFileSync(join(build, "index.js"), join(dir, "index.js"));
  // The tracker files too, so the folder is the whole deployment.
  mkdirSync(join(dir, "tracker"), { recursive: true });
  for (const f of ["tracker.js", "tracker.wasm", "tracker-extras.js", "tracker-qa.js"]) copyFileSync(join(ROOT, "tracker/dist", f), join(dir, "tracker", f));
  copyFileSync(join(build, "index_bg.wasm"), join(dir, "index_bg.wasm"));
  mkdirSync(join(dir, "state"), { recursive: true });
  const config = `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "router", worker = .router),
    (name = "collector", worker = .collector),
    (name = "tracker", disk = (path = ${capnpText(join(dir, "tracker"))}, writable = false)),
    (name = "state", disk = (path = ${capnpText(join(dir, "state"))}, writable = true)),
    (name = "internet", network = (
      allow = ${JSON.stringify(localNetwork ? ["public", "private", "local"] : ["public", ...dbNetwork])},
      tlsOptions = (trustBrowserCas = true${dbCa ? `, trustedCertificates = [${capnpText(dbCa)}]` : ""}),
    )),
  ],
  sockets = [ (name = "http", address = ${capnpText(listen)}, http = (), service = "router") ],
);

const router :Workerd.Worker = (
  modules = [ (name = "router.js", esModule = embed "router.js") ],
  compatibilityDate = "2025-09-01",
  bindings = [ (name = "COLLECTOR", service = "collector"), (name = "TRACKER", service = "tracker") ],
);

const collector :Workerd.Worker = (
  modules = [
    (name = "index.js", esModule = embed "index.js"),
    (name = "index_bg.wasm", wasm = embed "index_bg.wasm"),
  ],
  compatibilityDate = "2025-09-01",
  bindings = [
${text}
    (name = "MINDBOX_SECRET_KEY", fromEnvironment = "MINDBOX_SECRET_KEY"),
    (name = "ADMIN_TOKEN", fromEnvironment = "ADMIN_TOKEN"),
    (name = "BACKEND_TOKEN", fromEnvironment = "BACKEND_TOKEN"),
    (name = "QA_TOKEN", fromEnvironment = "QA_TOKEN"),
    (name = "DATABASE_URL", fromEnvironment = "DATABASE_URL"),
${classes.map(([b, c]) => `    (name = ${capnpText(b)}, durableObjectNamespace = ${capnpText(c)}),`).join("\n")}
  ],
  durableObjectNamespaces = [
${classes.map(([, c]) => `    (className = ${capnpText(c)}, uniqueKey = ${capnpText(`mindbox-edge-${c}`)}, enableSql = true),`).join("\n")}
  ],
  durableObjectStorage = (localDisk = "state"),
  globalOutbound = "internet",
);
`;
  writeFileSync(join(dir, "config.capnp"), config);
  return config;
}


// `node edge-collector/selfhosted.mjs <dir> [--listen host:port] [--var KEY=VALUE]…`
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const dir = args[0] && !args[0].startsWith("--") ? resolve(args[0]) : null;
  if (!dir) {
    console.error("usage: node edge-collector/selfhosted.mjs <dir> [--listen 127.0.0.1:8787] [--db-ca ca.pem] [--db-network CIDR]… [--var KEY=VALUE]…");
    process.exit(2);
  }
  let listen = "127.0.0.1:8787";
  const vars = {};
  let dbCa = null;
  const dbNetwork = [];
  for (let i = 1; i < args.length; i++) {
    if (args[i] === "--listen") listen = args[++i];
    else if (args[i] === "--db-ca") dbCa = readFileSync(args[++i], "utf8");
    else if (args[i] === "--db-network") dbNetwork.push(args[++i]);
    else if (args[i] === "--var") {
      const [k, ...v] = String(args[++i]).split("=");
      vars[k] = v.join("=");
    }
  }
  if (!/^(127\.0\.0\.1|\[::1\]|localhost):/.test(listen)) {
    console.warn(`warning: listening on ${listen}: the client IP is taken from X-Real-IP, which only the TLS proxy may set; let nothing else reach this port`);
  }
  mkdirSync(dir, { recursive: true });
  if (!dbNetwork.length) console.warn("warning: no --db-network: the collector can reach only public addresses, and a database on a private network is refused");
  selfHostedConfig({ listen, dir, vars, dbCa, dbNetwork });
  console.log(`wrote ${join(dir, "config.capnp")}: run DATABASE_URL=… MINDBOX_SECRET_KEY=… ADMIN_TOKEN=… workerd serve ${join(dir, "config.capnp")}`);
}
