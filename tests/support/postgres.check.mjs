// Checks the throwaway PostgreSQL (support/postgres.mjs) on this machine: starts a TLS cluster, runs
// SQL as the superuser, connects as the collector's role with full certificate checks, crashes and
// restarts the server, and removes it; prints how long each step took. Not a test file (the runner
// does not pick it up): `node tests/support/postgres.check.mjs`.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import assert from "node:assert/strict";
import { startPostgres, postgresBin, havePostgres } from "./postgres.mjs";

/** psql (as this user) with `conninfo` and `password`, running `sql`; resolves to its output, trimmed. */
function psqlAs(conninfo, password, sql) {
  return new Promise((resolve, reject) => {
    const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("PG"))), PGPASSWORD: password, PGCONNECT_TIMEOUT: "5" };
    const child = spawn(postgresBin("psql"), ["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", conninfo, "-c", sql], { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (c) => (out += c));
    child.stderr.on("data", (c) => (err += c));
    const timer = setTimeout(() => child.kill("SIGKILL"), 10000);
    child.on("close", (code) => {
      clearTimeout(timer);
      code === 0 ? resolve(out.trim()) : reject(new Error(`psql ${conninfo}: exit ${code}: ${err.trim()}`));
    });
  });
}

/** Runs `step`, printing its name and how long it took; resolves to `[result, ms]`. */
async function timed(name, step) {
  const t0 = performance.now();
  const result = await step();
  const ms = Math.round(performance.now() - t0);
  console.log(`${name}: ${ms} ms`);
  return [result, ms];
}

assert.ok(havePostgres(), "havePostgres() is false");
console.log(`postgres: ${postgresBin("postgres")}`);
const [pg] = await timed("initdb + TLS + start + role", () => startPostgres({ tls: true }));
try {
  console.log(`url: ${pg.url.replace(pg.password, "***")}`);
  assert.match(pg.caPem, /BEGIN CERTIFICATE/);
  assert.equal(await pg.sql("select 1"), "1");

  const verifyFull = `host=localhost port=${pg.port} user=${pg.user} dbname=${pg.database} sslmode=verify-full sslrootcert=${pg.caFile}`;
  const [ssl] = await timed("verify-full connection", () => psqlAs(verifyFull, pg.password, "select ssl from pg_stat_ssl where pid = pg_backend_pid()"));
  assert.equal(ssl, "t");
  for (const host of ["127.0.0.1", "::1"]) {
    const viaIp = await psqlAs(`host=${host} port=${pg.port} user=${pg.user} dbname=${pg.database} sslmode=verify-full sslrootcert=${pg.caFile}`, pg.password, "select 1").catch((e) => e.message);
    console.log(`verify-full via ${host}: ${viaIp === "1" ? "ok" : viaIp}`);
  }
  // Without TLS the server refuses TCP; a wrong password is refused.
  await assert.rejects(psqlAs(`host=127.0.0.1 port=${pg.port} user=${pg.user} dbname=${pg.database} sslmode=disable`, pg.password, "select 1"), /no encryption/);
  await assert.rejects(psqlAs(`host=127.0.0.1 port=${pg.port} user=${pg.user} dbname=${pg.database} sslmode=require`, "wrong", "select 1"), /password authentication failed/);

  // A transaction committed just before a crash is there after it (synchronous_commit stays on).
  await pg.sql("create table t (n int); insert into t values (42)");
  await timed("restart (immediate)", () => pg.restart({ mode: "immediate" }));
  assert.equal(await pg.sql("select n from t"), "42");
  assert.equal(await psqlAs(verifyFull, pg.password, "select current_user"), "mindbox_edge");
  assert.match(pg.log(), /database system was interrupted|not properly shut down/);
  await timed("stop (fast) + start", async () => {
    await pg.stop();
    await pg.stop(); // nothing to stop
    await pg.start();
  });
  await assert.rejects(pg.sql("select nope"), /column "nope" does not exist/);
} finally {
  await timed("destroy", () => pg.destroy());
  await pg.destroy(); // twice is fine
}
assert.ok(!existsSync(pg.dir), `${pg.dir} is still there`);
console.log("ok");
