// The harness's HTTP calls and waits: a `fetch` that fails instead of hanging, answers read whole, a
// chunked upload, a free port, and polling until something is true.
import net from "node:net";
import { readFileSync } from "node:fs";

/** How long one HTTP call of the harness or a test may take before it fails (a hang must fail, not wait). */
export const FETCH_TIMEOUT_MS = 15000;

/**
 * `fetch` with a timeout: every network call in tests/ goes through this (or through the collector
 * client, support/client.mjs, which uses it), so a server that takes a request and never answers
 * fails the test with a message.
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

/** An answer's `{status, headers, json, text}` (`json` undefined when the body is not JSON). */
export async function answerOf(res) {
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, headers: res.headers, json, text };
}

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

/** A free TCP port on 127.0.0.1. */
export async function freePort() {
  // Below the kernel's ephemeral range (where port 0 would pick from), so no outgoing connection's
  // source port can take it between this check and the server's bind.
  const [low] = ephemeralRange();
  for (let tries = 0; tries < 200; tries++) {
    const port = 10000 + Math.floor(Math.random() * Math.max(1, low - 10000));
    if (await bindable(port)) return port;
  }
  throw new Error("no free port below the ephemeral range");
}

/** The kernel's ephemeral port range (Linux), or the IANA one elsewhere. */
function ephemeralRange() {
  try {
    return readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
  } catch {
    return [49152, 65535];
  }
}

/** Whether `port` can be listened on at 127.0.0.1 now. */
function bindable(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
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

/**
 * For a test that spends a rate limit's budget: the limits are fixed one-minute windows, so a run that
 * crossed into the next minute would count two. With less than `marginMs` of this minute left (a run
 * takes a few seconds), resolves at the start of the next one; else at once.
 */
export async function startOfAMinute(marginMs = 20000) {
  const left = 60000 - (Date.now() % 60000);
  if (left < marginMs) await new Promise((resolve) => setTimeout(resolve, left + 100));
}
