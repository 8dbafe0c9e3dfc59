// The harness's throwaway PostgreSQL server, for the self-hosted collector's tests, the demo and the
// benchmarks: a fresh cluster in a temporary folder (Debian's package, the highest version under
// /usr/lib/postgresql), on a free port, with a login role and database for the collector, TLS from a
// CA made on the spot, and no flushing to disk (fsync, full-page writes) since nothing in it outlives
// the test. A server crash (`restart({mode: "immediate"})`) still loses no committed transaction: the
// WAL is in the OS's cache by then. That is why synchronous_commit stays on: off, a commit's WAL waits
// in the server's memory for up to ~0.6 s, and a crash loses it (measured: an insert acknowledged just
// before an immediate restart was gone after it); with fsync off, on costs no measurable speed.
//
// PostgreSQL refuses to run as root: as root, initdb, pg_ctl and psql run as Debian's `postgres`
// system user (runuser), and the folder belongs to it.
//
// A test process that dies without `destroy()` (a crash, a kill, Ctrl-C) does not leave the server
// running: a small shell "reaper", in its own process group, waits on a pipe from this process and,
// when the pipe closes without the word "done", stops the server and removes the folder.
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, chownSync, closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import net from "node:net";
import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";
import { freePort } from "./http.mjs";
import { signalGroup } from "./processes.mjs";

/** Where Debian installs PostgreSQL: one folder per major version, each with a `bin/`. */
const PG_ROOT = "/usr/lib/postgresql";
/** The collector's role and database. */
const USER = "mindbox_edge";
const DATABASE = "mindbox_edge";
/** What to do when PostgreSQL is missing. */
const INSTALL_HINT = "install Debian's postgresql package: cargo xtask setup";
/** util-linux's runuser (in /usr/sbin, which a root shell's PATH may lack). */
const RUNUSER = existsSync("/usr/sbin/runuser") ? "/usr/sbin/runuser" : "runuser";
/** How long `sql()` may take. */
const SQL_TIMEOUT_MS = 10000;
/** How long pg_ctl waits for a start or a stop (its `-t`, seconds); the harness gives it 10 s more. */
const PG_CTL_WAIT_S = 30;
/** How long initdb, openssl and the setup's psql may take. */
const SETUP_TIMEOUT_MS = 60000;

/**
 * Starts a throwaway cluster and returns it (its fields and calls: `pg` below). With `tls`, the
 * server speaks TLS with a certificate for localhost, 127.0.0.1 and ::1 from a fresh CA (`caPem`,
 * `caFile`), and TCP connections without TLS are refused; without it, TCP is plain. With `echo`, the
 * server's log is copied to stdout as it grows, each line marked `[postgres]`. It listens on
 * 127.0.0.1, and on ::1 too where this machine has IPv6 (libpq and Node try both for "localhost").
 * The role's password is stored as a SCRAM verifier of `scramIterations` rounds (PostgreSQL's 4 096
 * by default): what each new connection costs the collector to authenticate.
 */
export async function startPostgres({ tls = true, echo = false, scramIterations = 4096 } = {}) {
  postgresBin("initdb"); // fails with the install hint when PostgreSQL is missing
  const account = runAs();
  if (tls) requireOpenssl();
  const dir = mkdtempSync(join(tmpdir(), "mindbox-pg-"));
  if (account) chownSync(dir, account.uid, account.gid);
  const data = join(dir, "data");
  const logFile = join(dir, "log");
  const pidFile = join(data, "postmaster.pid");
  const password = randomBytes(18).toString("base64url");
  const listen = (await ipv6Bindable()) ? "127.0.0.1,::1" : "127.0.0.1";
  const reaper = startReaper(dir, asPostgres(account, postgresBin("pg_ctl"), ["-D", data, "-m", "immediate", "-w", "-t", "10", "stop"]));
  const follower = echo ? followLog(logFile) : null;
  let certs = null;
  let destroying;

  /** pg_ctl with `args`, failing (with the log's tail) unless it exits 0. */
  const pgCtl = (what, args) =>
    must(what, postgresBin("pg_ctl"), ["-D", data, ...args], { account, cwd: dir, timeoutMs: (PG_CTL_WAIT_S + 10) * 1000, logFile });

  /** psql as the superuser over the unix socket, to `db`, running each of `commands` in turn. */
  const psql = (db, commands, timeoutMs) =>
    must(
      "psql",
      postgresBin("psql"),
      ["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", dir, "-p", String(pg.port), "-U", "postgres", "-d", db, ...commands.flatMap((c) => ["-c", c])],
      { account, cwd: dir, timeoutMs },
    );

  /** Starts the server on `pg.port`; true once it is up, false when the port was taken (`retryPort`). */
  const startServer = async ({ retryPort = false } = {}) => {
    const from = logSize(logFile);
    const opts = [
      `-p ${pg.port}`,
      `-k ${sh(dir)}`,
      `-c listen_addresses=${listen}`,
      "-c fsync=off",
      "-c full_page_writes=off",
      "-c max_connections=200",
      ...(certs ? ["-c ssl=on", `-c ssl_cert_file=${sh(certs.certFile)}`, `-c ssl_key_file=${sh(certs.keyFile)}`] : []),
    ].join(" ");
    try {
      await pgCtl("pg_ctl start", ["-l", logFile, "-w", "-t", String(PG_CTL_WAIT_S), "-o", opts, "start"]);
      return true;
    } catch (e) {
      if (retryPort && /could not bind|Address already in use/.test(logSince(logFile, from))) return false;
      throw e;
    }
  };

  const pg = {
    host: "localhost",
    port: 0,
    user: USER,
    password,
    database: DATABASE,
    /** The collector's connection URL (`sslmode=require` with TLS, `disable` without). */
    get url() {
      return `postgres://${USER}:${password}@localhost:${pg.port}/${DATABASE}?sslmode=${tls ? "require" : "disable"}`;
    },
    /** The CA's certificate (PEM text) and its file; null without TLS. */
    caPem: null,
    caFile: null,
    /** The cluster's temporary folder (data in `data/`, the server's log in `log`, the socket). */
    dir,
    /** The server's log so far. */
    log: () => readText(logFile),
    /**
     * Runs `text` as the superuser through psql over the unix socket, in the collector's database;
     * resolves to psql's output, trimmed (unaligned, tuples only: `a|b` rows on lines, a command's tag
     * such as `INSERT 0 1`), and rejects with psql's error. Several statements in `text` run as one
     * transaction (so not VACUUM, ALTER SYSTEM or CREATE DATABASE: one call each).
     */
    sql: async (text) => (await psql(DATABASE, [text], SQL_TIMEOUT_MS)).trim(),
    /**
     * Stops the server (`mode`: "smart", "fast", or "immediate", which is a crash: the next start
     * recovers from the WAL) and waits until it has. Does nothing when it is not running.
     */
    stop: async ({ mode = "fast" } = {}) => {
      if (!["smart", "fast", "immediate"].includes(mode)) throw new Error(`postgres stop: unknown mode ${mode}`);
      if (!existsSync(pidFile)) return;
      await pgCtl(`pg_ctl stop -m ${mode}`, ["-m", mode, "-w", "-t", String(PG_CTL_WAIT_S), "stop"]);
    },
    /** Starts the server again, on the same port and data, and waits until it takes connections. */
    start: async () => {
      if (destroying) throw new Error("postgres start: the cluster was destroyed");
      await startServer();
    },
    /** Stops the server (`mode`, by default a crash) and starts it again. */
    restart: async ({ mode = "immediate" } = {}) => {
      await pg.stop({ mode });
      await pg.start();
    },
    /**
     * Stops the server (immediate; a kill when pg_ctl cannot) and removes the folder. Safe to call
     * twice, or on a cluster whose start failed.
     */
    destroy: () =>
      (destroying ||= (async () => {
        follower?.stop();
        if (existsSync(pidFile)) {
          await pgCtl("pg_ctl stop -m immediate", ["-m", "immediate", "-w", "-t", "10", "stop"]).catch(() => killPostmaster(pidFile));
        }
        rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
        reaper.cancel();
      })()),
  };

  try {
    await must("initdb", postgresBin("initdb"), ["-D", data, "-U", "postgres", "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync", "-E", "UTF8", "--locale=C"], {
      account,
      cwd: dir,
      timeoutMs: SETUP_TIMEOUT_MS,
    });
    writeFileSync(join(data, "pg_hba.conf"), hba(tls));
    if (tls) {
      certs = await makeCertificates(dir, account);
      pg.caFile = certs.caFile;
      pg.caPem = readFileSync(certs.caFile, "utf8");
    }
    // freePort's port may be taken before the server binds it (or taken on ::1 only): try a few.
    for (let attempt = 1; ; attempt++) {
      pg.port = await freePort();
      if (await startServer({ retryPort: attempt < 5 })) break;
    }
    await psql("postgres", [`CREATE ROLE ${USER} LOGIN PASSWORD '${scramVerifier(password, scramIterations)}'`, `CREATE DATABASE ${DATABASE} OWNER ${USER}`], SETUP_TIMEOUT_MS);
  } catch (e) {
    await pg.destroy().catch(() => {});
    throw e;
  }
  return pg;
}

/** The path of PostgreSQL's program `name`, from the highest version installed; fails when there is none. */
export function postgresBin(name) {
  const dir = binDir();
  if (!dir) throw new Error(`PostgreSQL is not installed (no ${PG_ROOT}/*/bin/initdb): ${INSTALL_HINT}`);
  return join(dir, name);
}

/** Whether `startPostgres` can run here: PostgreSQL is installed and, as root, its system user exists. */
export function havePostgres() {
  return binDir() !== null && (!isRoot() || postgresAccount() !== null);
}

let binDirCache;
/** The `bin/` of the highest PostgreSQL version with an initdb (`9.6` < `15` < `16`), or null. */
function binDir() {
  if (binDirCache === undefined) {
    const versions = existsSync(PG_ROOT)
      ? readdirSync(PG_ROOT).filter((v) => !Number.isNaN(parseFloat(v)) && existsSync(join(PG_ROOT, v, "bin/initdb")))
      : [];
    versions.sort((a, b) => parseFloat(b) - parseFloat(a));
    binDirCache = versions.length ? join(PG_ROOT, versions[0], "bin") : null;
  }
  return binDirCache;
}

function isRoot() {
  return process.getuid?.() === 0;
}

let accountCache;
/** The `postgres` system user's `{uid, gid}`, or null when there is no such user. */
function postgresAccount() {
  if (accountCache === undefined) {
    const id = (flag) => spawnSync(existsSync("/usr/bin/id") ? "/usr/bin/id" : "id", [flag, "postgres"], { encoding: "utf8" });
    const uid = id("-u");
    const gid = id("-g");
    accountCache = uid.status === 0 && gid.status === 0 ? { uid: Number(uid.stdout), gid: Number(gid.stdout) } : null;
  }
  return accountCache;
}

/** Whom PostgreSQL's programs run as: the `postgres` account as root (fails when it is missing), else null (this user). */
function runAs() {
  if (!isRoot()) return null;
  const account = postgresAccount();
  if (!account) throw new Error(`running as root, PostgreSQL needs the 'postgres' system user, which does not exist: ${INSTALL_HINT}`);
  return account;
}

/** Fails with a clear message when the openssl CLI (for the TLS certificates) is missing. */
function requireOpenssl() {
  const r = spawnSync("openssl", ["version"], { encoding: "utf8" });
  if (r.error || r.status !== 0) throw new Error("the openssl command is missing (the TLS certificates need it): install Debian's openssl package: cargo xtask setup");
}

/** Whether this machine can listen on ::1 (not in containers without IPv6). */
function ipv6Bindable() {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", () => resolve(false));
    srv.listen(0, "::1", () => srv.close(() => resolve(true)));
  });
}

/**
 * pg_hba.conf: the unix socket trusted (it is in the cluster's own folder), TCP with a password
 * (SCRAM), over TLS only (`hostssl`) when the server has TLS, else plain (`host`: a `hostssl` line
 * without TLS only adds a warning to the log).
 */
function hba(tls) {
  const lines = ["local all all trust"];
  for (const addr of ["127.0.0.1/32", "::1/128"]) lines.push(`${tls ? "hostssl" : "host"} all all ${addr} scram-sha-256`);
  return lines.join("\n") + "\n";
}

/**
 * A throwaway CA (EC P-256, CA:TRUE) and a server certificate it signs, for CN localhost with
 * subjectAltName localhost, 127.0.0.1 and ::1, valid for two days; the server's files belong to
 * `account` (the key mode 0600, as PostgreSQL wants). `{caFile, certFile, keyFile}`.
 */
async function makeCertificates(dir, account) {
  const f = (name) => join(dir, name);
  writeFileSync(
    f("openssl.cnf"),
    [
      "[req]",
      "distinguished_name = dn",
      "prompt = no",
      "[dn]",
      "CN = localhost",
      "[ca]",
      "basicConstraints = critical, CA:TRUE",
      "keyUsage = critical, keyCertSign, cRLSign",
      "subjectKeyIdentifier = hash",
      "[server]",
      "basicConstraints = critical, CA:FALSE",
      "keyUsage = critical, digitalSignature, keyEncipherment",
      "extendedKeyUsage = serverAuth",
      "subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1",
      "subjectKeyIdentifier = hash",
      "authorityKeyIdentifier = keyid, issuer",
      "",
    ].join("\n"),
  );
  const newKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  const openssl = (args) => must("openssl", "openssl", args, { cwd: dir, timeoutMs: SETUP_TIMEOUT_MS });
  await openssl(["req", "-x509", ...newKey, "-keyout", f("ca.key"), "-out", f("ca.pem"), "-days", "2", "-subj", "/CN=Mindbox Edge test CA", "-config", f("openssl.cnf"), "-extensions", "ca"]);
  await openssl(["req", "-new", ...newKey, "-keyout", f("server.key"), "-out", f("server.csr"), "-subj", "/CN=localhost", "-config", f("openssl.cnf")]);
  await openssl([
    "x509", "-req", "-in", f("server.csr"), "-CA", f("ca.pem"), "-CAkey", f("ca.key"), "-set_serial", `0x${randomBytes(8).toString("hex")}`,
    "-days", "2", "-extfile", f("openssl.cnf"), "-extensions", "server", "-out", f("server.pem"),
  ]);
  chmodSync(f("ca.pem"), 0o644);
  chmodSync(f("server.pem"), 0o644);
  chmodSync(f("server.key"), 0o600);
  chmodSync(f("ca.key"), 0o600);
  if (account) {
    chownSync(f("server.pem"), account.uid, account.gid);
    chownSync(f("server.key"), account.uid, account.gid);
  }
  return { caFile: f("ca.pem"), certFile: f("server.pem"), keyFile: f("server.key") };
}

/** `[program, args]` for running `cmd args` as `account` (runuser), or as this user when it is null. */
function asPostgres(account, cmd, args) {
  return account ? [RUNUSER, ["-u", "postgres", "--", cmd, ...args]] : [cmd, args];
}

/** This process's environment without PG* variables (PGHOST, PGSSLMODE, ...), which would steer psql and pg_ctl elsewhere. */
function cleanEnv() {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("PG")));
}

/**
 * Runs `cmd args` (as `account` when given) in its own process group, in `cwd`; resolves to its
 * stdout when it exits 0 and rejects otherwise with its output and, given `logFile`, the tail of the
 * server's log. After `timeoutMs` the group gets SIGTERM (SIGKILL 2 s later) and the call rejects.
 */
function must(what, cmd, args, { account = null, cwd, timeoutMs, logFile = null, env = cleanEnv() }) {
  const [program, argv] = asPostgres(account, cmd, args);
  const fail = (why, output) => {
    const log = logFile ? logTail(logFile) : "";
    return new Error(`${what} ${why}${output.trim() ? `:\n${output.trim()}` : ""}${log ? `\n--- server log (tail) ---\n${log}` : ""}`);
  };
  return new Promise((resolve, reject) => {
    const child = spawn(program, argv, { cwd, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => (stdout += c));
    child.stderr.on("data", (c) => (stderr += c));
    let killer;
    const timer = setTimeout(() => {
      signalGroup(child.pid, "SIGTERM");
      killer = setTimeout(() => signalGroup(child.pid, "SIGKILL"), 2000);
      reject(fail(`did not finish within ${timeoutMs} ms`, stderr || stdout));
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`${what}: cannot run ${program}: ${e.message}`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      clearTimeout(killer);
      if (code === 0) resolve(stdout);
      else reject(fail(signal ? `was killed (${signal})` : `failed (exit code ${code})`, stderr || stdout));
    });
  });
}

/**
 * Starts the reaper: `sh` in its own process group (so Ctrl-C at the terminal does not reach it),
 * reading a line from a pipe this process holds. `cancel()` sends "done" and it exits; if the pipe
 * closes without it (this process has gone), it runs `[program, args]` (pg_ctl stop) and removes `dir`.
 * Neither the reaper nor its pipe keeps this process alive.
 */
function startReaper(dir, [program, args]) {
  const script = 'dir=$1; shift; read line; [ "$line" = done ] && exit 0; "$@" >/dev/null 2>&1; rm -rf "$dir"';
  const child = spawn("sh", ["-c", script, "postgres-reaper", dir, program, ...args], {
    cwd: "/",
    env: cleanEnv(),
    detached: true,
    stdio: ["pipe", "ignore", "ignore"],
  });
  child.on("error", () => {}); // no sh: no reaper; destroy() still cleans up
  child.stdin.on("error", () => {}); // EPIPE when the reaper has gone
  child.unref();
  child.stdin.unref();
  return { cancel: () => child.stdin.end("done\n") };
}

/** Kills the postmaster named in `pidFile` (when pg_ctl could not stop it); its backends follow it. */
function killPostmaster(pidFile) {
  const pid = Number(readText(pidFile).split("\n")[0]);
  if (pid > 0) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
  }
}

/** Copies what is added to `file` to stdout, each line marked `[postgres]`, until `stop()`. */
function followLog(file) {
  let offset = 0;
  let partial = ""; // a line the server has not finished writing
  const poll = () => {
    const text = logSince(file, offset);
    offset += Buffer.byteLength(text);
    const lines = (partial + text).split("\n");
    partial = lines.pop();
    for (const line of lines) process.stdout.write(`[postgres] ${line}\n`);
  };
  const timer = setInterval(poll, 200);
  timer.unref();
  return {
    stop: () => {
      poll();
      clearInterval(timer);
    },
  };
}

/** The text of `file`, "" when it cannot be read. */
function readText(file) {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

/** The size of `file` in bytes, 0 when it does not exist. */
function logSize(file) {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** What `file` holds after its first `offset` bytes ("" when it cannot be read). */
function logSince(file, offset) {
  let fd;
  try {
    fd = openSync(file, "r");
    const size = statSync(file).size;
    if (size <= offset) return "";
    const buf = Buffer.alloc(size - offset);
    const n = readSync(fd, buf, 0, buf.length, offset);
    return buf.subarray(0, n).toString("utf8");
  } catch {
    return "";
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The last `lines` lines of the server's log. */
function logTail(file, lines = 20) {
  return readText(file).trimEnd().split("\n").slice(-lines).join("\n");
}

/** `s` quoted for sh (pg_ctl hands `-o` to a shell). */
function sh(s) {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for `password` with `iterations` (RFC 5802/7677): set
 * as the role's password, it makes the server ask clients for that many PBKDF2 rounds (PostgreSQL
 * 15 always hashes a plain password with 4 096; 16 and later have `scram_iterations`).
 */
export function scramVerifier(password, iterations) {
  const salt = randomBytes(16);
  const salted = pbkdf2Sync(password, salt, iterations, 32, "sha256");
  const hmac = (key, text) => createHmac("sha256", key).update(text).digest();
  const storedKey = createHash("sha256").update(hmac(salted, "Client Key")).digest();
  const serverKey = hmac(salted, "Server Key");
  return `SCRAM-SHA-256$${iterations}:${salt.toString("base64")}$${storedKey.toString("base64")}:${serverKey.toString("base64")}`;
}
