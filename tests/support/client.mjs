// The collector as its callers use it, for the tests: a page of the shop (events, sync), the shop's
// backend, the operator (admin), and what Mindbox made of it (accepted ids, attempts, dead letters).
import assert from "node:assert/strict";
import { timedFetch, answerOf } from "./http.mjs";

/**
 * A client of the collector at `collectorUrl` for the shop at `shopUrl`, with the stack's tokens and
 * its emulator's control API. `onAnswer(answer)` sees every answer of `post` and `sync` (a test that
 * looks for a secret in them). Answers are `{status, headers, json, text}` (support/http.mjs
 * `answerOf`).
 */
export function collectorClient({ collectorUrl, shopUrl, adminToken, backendToken, emulator }, { onAnswer = () => {} } = {}) {
  /** A POST as a page of the shop makes it: text/plain (no preflight), the shop's Origin. */
  const asPage = async (path, body, { origin = shopUrl, headers = {} } = {}) => {
    const res = await timedFetch(`${collectorUrl}${path}`, {
      method: "POST",
      headers: { "content-type": "text/plain", ...(origin ? { origin } : {}), ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
    const answer = await answerOf(res);
    onAnswer(answer);
    return answer;
  };
  /** Posts `events` as one batch (`deviceUUID` left out when undefined, `extra` batch fields); asserts 202. */
  const send = async (events, deviceUUID, extra = {}) => {
    const r = await asPage("/v1/events", { deviceUUID, events, ...extra });
    assert.equal(r.status, 202, r.text);
    return r;
  };
  const admin = async (path, body) => {
    const res = await timedFetch(`${collectorUrl}/v1/admin/${path}`, {
      method: body === undefined ? "GET" : "POST",
      headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`admin ${path}: HTTP ${res.status} ${await res.text()}`);
    return res.json();
  };
  return {
    /**
     * POST /v1/events: `body` a batch (an object, or raw text as it goes on the wire); `origin`
     * (the shop's by default; null for none) and `headers` (over the defaults) as a page's request.
     */
    post: (body, options) => asPage("/v1/events", body, options),
    /** POST /v1/sync, as `post`. */
    sync: (body, options) => asPage("/v1/sync", body, options),
    send,
    /** As `send`, and asserts that every event of the batch was accepted. */
    sendAccepted: async (events, deviceUUID, extra) => {
      const r = await send(events, deviceUUID, extra);
      assert.ok(r.json.results.every((x) => x.status === "accepted"), r.text);
      return r;
    },
    /** Posts `body` to the backend route with `token` (default: the right one). */
    backend: async (body, token = backendToken) => {
      const res = await timedFetch(`${collectorUrl}/v1/backend/operations`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: typeof body === "string" ? body : JSON.stringify(body),
      });
      return answerOf(res);
    },
    /** Calls an admin route with the admin token (GET, or POST with `body`); its JSON, or throws. */
    admin,
    /** The dead letters (`query`: `?ids=…`, `?limit=…`). */
    deadLetters: async (query = "") => (await admin(`dead-letters${query}`)).deadLetters,
    /** The requests Mindbox accepted with transactionId `id`. */
    accepted: async (id) => (await emulator.requests()).filter((q) => q.transactionId === id),
    /** How many times Mindbox accepted each of `ids` (a resend is answered TransactionAlreadyProcessed, not counted). */
    acceptedCounts: async (ids) => {
      const reqs = await emulator.requests();
      return ids.map((id) => reqs.filter((q) => q.transactionId === id).length);
    },
    /** Every request Mindbox saw with transactionId `id`, failed ones too. */
    attemptsOf: async (id) => (await emulator.attempts()).filter((q) => q.transactionId === id),
  };
}
