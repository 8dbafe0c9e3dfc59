// The demo: the whole stack (tests/support/stack.mjs) on fixed ports, its logs on the console, until
// Ctrl-C. `cargo xtask demo [--self-hosted]` runs `node demo/run.mjs [--self-hosted]`.
//
// Ports: DEMO_COLLECTOR_PORT, DEMO_SHOP_PORT, DEMO_EMULATOR_PORT (8787, 8080, 8788). Mindbox and the
// collector's secrets from the environment as the collector names them (MINDBOX_API_BASE,
// MINDBOX_ENDPOINT_ID, MINDBOX_SECRET_KEY, ADMIN_TOKEN, BACKEND_TOKEN, QA_TOKEN), or the demo's own.
import { startStack, running, signalGroup } from "../tests/support/stack.mjs";

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
async function superviseDemo(start) {
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
    const how = (word) => `${p.name} (pid ${p.child.pid}) exited ${word}(${p.child.signalCode || `exit code ${p.child.exitCode}`})`;
    // A second self-hosted node may go (the HA drill): the balancer sends on to the first.
    if (/^collector-\d+$/.test(p.name)) p.exited.then(() => !stopping && console.error(`demo: ${how("")}; the balancer sends everything to the other node`));
    else p.exited.then(() => stopAll(1, `the ${how("unexpectedly ")}`));
  }
  console.log(`Parts: ${parts.map((p) => `${p.name} pid ${p.child.pid}`).join(", ")}, the shop in this process (pid ${process.pid}); if one stops, the demo stops.`);
  return stack;
}

/** The demo's ports: DEMO_COLLECTOR_PORT, DEMO_SHOP_PORT, DEMO_EMULATOR_PORT (8787, 8080, 8788). */
function demoPorts() {
  const port = (name, fallback) => Number(process.env[name] || fallback);
  return { collector: port("DEMO_COLLECTOR_PORT", 8787), shop: port("DEMO_SHOP_PORT", 8080), emulator: port("DEMO_EMULATOR_PORT", 8788) };
}

const selfHosted = process.argv.includes("--self-hosted");
const ports = demoPorts();
const apiBase = process.env.MINDBOX_API_BASE;
// A Mindbox other than the emulator started here: the shop's login (tickets for anyone) is off.
const realMindbox = !!apiBase && apiBase !== `http://127.0.0.1:${ports.emulator}`;
const stack = await superviseDemo(() => startStack({
  profile: selfHosted ? "self-hosted" : "cloudflare",
  // Self-hosted: a throwaway PostgreSQL and two workerd nodes behind a round-robin balancer.
  ...(selfHosted ? { nodes: 2, balancer: true } : {}),
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
  collector        ${stack.collectorUrl}   (tracker: ${stack.collectorUrl}/tracker.js; ${selfHosted ? `self-hosted: two workerd nodes (${stack.nodes.map((n) => n.url).join(", ")}) behind a balancer, state in PostgreSQL` : "local Cloudflare: wrangler dev"})
  Mindbox          ${process.env.MINDBOX_API_BASE || `${stack.emulatorUrl}   (emulator; what it received: ${stack.emulatorUrl}/__emulator/requests)`}
  admin token      ${stack.adminToken}   (${from("ADMIN_TOKEN")}): curl -H "Authorization: Bearer …" ${stack.collectorUrl}/v1/admin/counters
                   (from a terminal: the collector refuses it from a web page)
  QA token         ${stack.qaToken}   (${from("QA_TOKEN")}): enter it on the QA page and tick "Трассировка"
                   to see each event delivered, retried or refused
  backend token    ${stack.backendToken}   (${from("BACKEND_TOKEN")}): POST ${stack.collectorUrl}/v1/backend/operations
  make Mindbox fail  curl -X POST ${stack.emulatorUrl}/__emulator/fail -d '{"count": 3, "status": 503}'
                     (or {"count": 1, "mode": "validation"} for a dead letter; see docs/qa.md)
${selfHosted ? `  PostgreSQL       ${stack.postgres.url.replace(/:[^:@/]+@/, ":…@")}   (psql -h ${stack.postgres.dir} -p ${stack.postgres.port} -U postgres mindbox_edge${process.getuid?.() === 0 ? ", as the postgres user" : ""})
  HA drill         kill one node (${stack.nodes[1].url}): the balancer sends on to the other, nothing is lost
` : ""}Press Ctrl-C to stop (the temporary folder with the secrets file is removed).`);
if (realMindbox) console.log("The shop's login is off (it would sign tickets for anyone): /api/login answers 403 login_off.");
