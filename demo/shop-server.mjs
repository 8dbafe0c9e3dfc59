// The demo shop: serves www/ (with COLLECTOR_ORIGIN in pages replaced by the collector's URL) and
// plays the shop's backend, the part a real shop runs on its own server (in PHP on 1C-Bitrix):
//
//   POST /api/login     a session with a Mindbox authentication ticket, signed with the secret key
//                       (the browser never sees the key), for a user id, an email (registration) or
//                       a phone (cards.html); it signs for anyone, so it is off (403) when the demo
//                       points at a real Mindbox;
//   POST /api/checkout  creates the order through the collector's backend route with BACKEND_TOKEN
//                       (the browser never sees the token either), and answers once the collector
//                       has it on its queue: Mindbox may be down, the order still arrives.
import { createServer } from "node:http";
import { readFileSync, statSync } from "node:fs";
import { join, dirname, resolve as resolvePath, sep, extname } from "node:path";
import { fileURLToPath } from "node:url";
import { createHmac, timingSafeEqual } from "node:crypto";
import { ticket, emailTicket, phoneTicket } from "./tickets.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".wasm": "application/wasm", ".svg": "image/svg+xml" };
/** How long the backend waits for the collector. */
const COLLECTOR_TIMEOUT_MS = 10000;

/**
 * The signed-in customer's id from the session's ticket, or `undefined` for a guest; throws for a
 * ticket this backend did not sign in the last 30 minutes. (A real shop reads its own session; the
 * demo keeps the session in the browser, so the backend checks its signature instead of trusting
 * an id the page names.)
 */
function customerOf(t, secretKey) {
  if (t === undefined || t === null || t === "") return undefined;
  const [hex, mac] = String(t).split("|");
  const msg = Buffer.from(hex || "", "hex").toString();
  const expected = Buffer.from(createHmac("sha512", secretKey).update(msg).digest("hex"));
  const given = Buffer.from(mac || "");
  const [kind, system, id, time] = msg.split("|");
  const age = Date.now() - Date.parse(`${time}Z`.replace(" ", "T"));
  if (given.length !== expected.length || !timingSafeEqual(given, expected) || kind !== "ExternalIdentityAuthentication" || system !== "websiteID" || !(age < 30 * 60 * 1000)) {
    throw new Error("the session has expired: sign in again");
  }
  return id;
}

/** Reads a small JSON body (`{}` when empty); rejects what is not JSON. */
function readJson(req) {
  return new Promise((resolve, reject) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
      if (body.length > 64 * 1024) {
        reject(new Error("the request is too large"));
        req.destroy();
      }
    });
    req.on("end", () => {
      try {
        resolve(JSON.parse(body || "{}"));
      } catch (e) {
        reject(e);
      }
    });
    req.on("error", reject);
  });
}

function send(res, status, value) {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8" }).end(JSON.stringify(value));
}

/** The shopper's `mindboxDeviceUUID` cookie (the tracker sets it on the shop's domain). */
function deviceOf(req) {
  const m = /(?:^|;\s*)mindboxDeviceUUID=([0-9a-f-]{36})/.exec(req.headers.cookie || "");
  return m ? m[1] : undefined;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/**
 * The order for Mindbox, from the cart the page sends: the backend prices it from its own catalog
 * (a page's prices are never trusted for money) and names the customer by the session's ticket, if
 * any, with the contact details typed at checkout (the collector puts phones and emails in Mindbox's
 * spelling). The page's `checkoutId` (a UUID made when the cart page opened) is the operation's id,
 * Mindbox's transactionId: a double click or a retry creates the order once.
 */
function orderOf(asked, catalog, secretKey) {
  const checkoutId = String(asked.checkoutId || "");
  if (!UUID.test(checkoutId)) throw new Error("checkoutId must be a UUID v4");
  const userId = customerOf(asked.ticket, secretKey);
  const lines = (Array.isArray(asked.lines) ? asked.lines : []).map((l, i) => {
    const product = catalog.get(String(l.productId));
    const quantity = Number(l.count);
    if (!product || !(quantity >= 1 && quantity <= 99 && Number.isInteger(quantity))) throw new Error(`line ${i + 1}: unknown product or bad count`);
    return { lineNumber: i + 1, quantity, basePricePerItem: product.price, product: { ids: { website: product.id } } };
  });
  if (!lines.length) throw new Error("the cart is empty");
  const customer = {};
  if (userId) customer.ids = { websiteID: userId };
  if (asked.phone) customer.mobilePhone = String(asked.phone);
  if (asked.email) customer.email = String(asked.email);
  if (asked.name) customer.firstName = String(asked.name);
  const totalPrice = lines.reduce((sum, l) => sum + l.quantity * l.basePricePerItem, 0);
  return {
    id: checkoutId,
    operation: userId ? "Website.CreateAuthorizedOrder" : "Website.CreateUnauthorizedOrder",
    data: { customer, order: { ids: { websiteID: `demo-${checkoutId.slice(0, 8)}` }, totalPrice, lines } },
  };
}

/** The demo catalog's prices, read from www/shop.js (the one place the demo's catalog is written). */
function catalogPrices() {
  const text = readFileSync(join(ROOT, "www/shop.js"), "utf8");
  const prices = new Map();
  for (const m of text.matchAll(/\{ id: "(\w+)", name: "[^"]*", category: "\w+", price: (\d+)(?:, [^}]*)? \}/g)) prices.set(m[1], { id: m[1], price: Number(m[2]) });
  if (!prices.size) throw new Error("demo/shop-server.mjs: no product with a price found in www/shop.js's CATALOG");
  return prices;
}

/** The answer of /api/login when it is off. */
export const LOGIN_OFF = {
  error: "login_off",
  reason: "the demo's login signs tickets for anyone; it is off when the demo points at a real Mindbox (MINDBOX_API_BASE)",
};

/**
 * A Russian phone in Mindbox's spelling (the ticket must name the phone as Mindbox stores it): digits
 * only, `8…` of 11 digits and 10 digits alone become `7…`.
 */
function mindboxPhone(phone) {
  const digits = String(phone).replace(/\D/g, "");
  if (digits.length === 11 && digits.startsWith("8")) return `7${digits.slice(1)}`;
  return digits.length === 10 ? `7${digits}` : digits;
}

/**
 * POST /api/login: a ticket for the user id, or for the email (a registration) or the phone (a
 * shopper's cards) the page names. A real backend signs a phone's ticket only once it has checked the
 * shopper's SMS code with Mindbox itself, server to server (the collector's answer to the page proves
 * nothing to it).
 */
async function login(req, res, { secretKey, signTickets }) {
  // Anyone may sign in as anyone here: harmless with the emulator, an open door to a real Mindbox.
  if (!signTickets) return send(res, 403, LOGIN_OFF);
  const asked = await readJson(req);
  const userId = String(asked.userId || "u1");
  // With a phone or an email, the ticket vouches for that; else for the user id.
  const t = asked.phone ? phoneTicket(mindboxPhone(asked.phone), secretKey)
    : asked.email ? emailTicket(String(asked.email), secretKey) : ticket(userId, secretKey);
  return send(res, 200, { userId, ticket: t });
}

/** POST /api/checkout: the order, through the collector's backend route. */
async function checkout(req, res, { collectorUrl, secretKey, backendToken, catalog }) {
  // JSON only: a cross-site form cannot send it without the browser asking first (CSRF).
  if (!/^application\/json\b/.test(req.headers["content-type"] || "")) return send(res, 415, { error: "send JSON" });
  let op;
  try {
    op = orderOf(await readJson(req), catalog, secretKey);
  } catch (e) {
    return send(res, 400, { error: e.message });
  }
  const call = { ...op, deviceUUID: deviceOf(req), customerIp: req.socket.remoteAddress };
  const signal = AbortSignal.timeout(COLLECTOR_TIMEOUT_MS);
  const answer = await fetch(`${collectorUrl}/v1/backend/operations`, { signal,
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${backendToken}` },
    body: JSON.stringify({ operations: [call] }),
  });
  const result = (await answer.json().catch(() => ({}))).results?.[0];
  if (result && result.status === "rejected") {
    // The data is wrong (a phone that is not one): the shopper can fix it and send again.
    return send(res, 422, { error: result.reason, path: result.path });
  }
  if (answer.status !== 202 || !result || result.status !== "accepted") {
    return send(res, 502, { error: `the order could not be placed now (HTTP ${answer.status}); try again` });
  }
  return send(res, 200, { orderId: op.data.order.ids.websiteID, transactionId: result.id, totalPrice: op.data.order.totalPrice });
}

function sendText(res, status, text) {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8" }).end(text);
}

/**
 * The request target's path, percent-decoded; `undefined` when it is not a path or does not decode
 * (`/%`) or names a NUL byte.
 */
function pathOf(target) {
  if (!target.startsWith("/")) return undefined;
  try {
    const path = decodeURIComponent(target.replace(/[?#][^]*$/, ""));
    return path.includes("\0") ? undefined : path;
  } catch {
    return undefined;
  }
}

/** The file `path` names in the folder `root`, or `undefined` when it resolves outside the folder. */
function inside(root, path) {
  const base = resolvePath(root);
  const file = resolvePath(join(base, path));
  // With the separator: /www-old/x must not pass for a file of /www.
  return file.startsWith(base + sep) ? file : undefined;
}

function isFile(file) {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** A file of `www` (pages get the collector's URL for COLLECTOR_ORIGIN) or, under /mbx/, of `dist`. */
function serveFile(req, res, { www, dist, collectorUrl }) {
  const path = pathOf(req.url);
  if (path === undefined) return sendText(res, 400, "bad request: the URL is malformed");
  const wanted = path.endsWith("/") ? `${path}index.html` : path;
  // /mbx/: the tracker files as a shop would copy them to its own static host.
  const file = wanted.startsWith("/mbx/") ? inside(dist, wanted.slice(4)) : inside(www, wanted);
  if (!file || !isFile(file)) return sendText(res, 404, "not found");
  let body = readFileSync(file);
  const type = TYPES[extname(file)] || "application/octet-stream";
  if (type.startsWith("text/html")) body = body.toString().replaceAll("COLLECTOR_ORIGIN", collectorUrl);
  res.writeHead(200, { "content-type": type, "cache-control": "no-store" }).end(body);
}

/** The backend's routes (POST). */
const ROUTES = new Map([
  ["/api/login", login],
  ["/api/checkout", checkout],
]);

/** Answers one request; a failure answers 502 (the backend routes) or 500, never stops the server. */
async function handle(req, res, settings) {
  const route = req.method === "POST" && ROUTES.get(req.url);
  try {
    if (route) return await route(req, res, settings);
    return serveFile(req, res, settings);
  } catch (e) {
    if (res.headersSent) return res.destroy();
    return route ? send(res, 502, { error: e.message }) : sendText(res, 500, "internal error");
  }
}

/**
 * Starts the shop on 127.0.0.1:`port`. `collectorUrl`, `secretKey` (for tickets) and `backendToken`
 * (for the collector's backend route) are the shop's backend settings; `signTickets: false` turns
 * /api/login off (403 `login_off`: for a demo pointed at a real Mindbox); `www` is the folder of the
 * pages (default: the repository's www/).
 */
export function startShop({ port, collectorUrl, secretKey, backendToken, signTickets = true, www = join(ROOT, "www") }) {
  const settings = { collectorUrl, secretKey, backendToken, signTickets, www, dist: join(ROOT, "tracker/dist"), catalog: catalogPrices() };
  const server = createServer((req, res) => handle(req, res, settings));
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(server)));
}
