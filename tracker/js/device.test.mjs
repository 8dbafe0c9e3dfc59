// Unit tests of the device id (device.js) in Node: a fake `document.cookie` (a jar that refuses
// cookies for public suffixes, as browsers do), a fake localStorage and a fake `location` stand in for
// the browser's. Each test loads its own copy of the module, so none sees another's id.
import { test, afterEach } from "node:test";
import assert from "node:assert/strict";

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const MINDBOX_ID = "0e5c6b8a-1f2d-3c4b-9a8e-7d6c5b4a3f21";
const OTHER_ID = "5a0b6a7e-8c1d-4e2f-8a3b-4c5d6e7f8091";

/**
 * A cookie jar behind `document.cookie` for a page on `host`: a `domain=` the host is not under, or
 * a public suffix, is refused; `max-age=0` deletes. `set` keeps every accepted assignment.
 */
function fakeDocument(host, { suffixes = ["example", "uk", "co.uk"], broken = false } = {}) {
  const jar = new Map();
  const set = [];
  return {
    jar,
    set,
    get cookie() {
      if (broken) throw new DOMException("sandboxed", "SecurityError");
      return [...jar].map(([k, v]) => `${k}=${v.value}`).join("; ");
    },
    set cookie(text) {
      if (broken) throw new DOMException("sandboxed", "SecurityError");
      const [pair, ...attrs] = text.split(";").map((s) => s.trim());
      const at = pair.indexOf("=");
      const [name, value] = [pair.slice(0, at), pair.slice(at + 1)];
      const attr = Object.fromEntries(attrs.map((a) => [a.split("=")[0].toLowerCase(), a.split("=")[1] ?? true]));
      const domain = attr.domain;
      if (domain && (suffixes.includes(domain) || !(host === domain || host.endsWith("." + domain)))) return;
      set.push(text);
      if (attr["max-age"] === "0") jar.delete(name);
      else jar.set(name, { value, attr });
    },
  };
}

/** A localStorage over a Map. */
function fakeStorage() {
  const m = new Map();
  return { getItem: (k) => (m.has(k) ? m.get(k) : null), setItem: (k, v) => m.set(k, String(v)), map: m };
}

let copies = 0;
/**
 * A page on `host` with the given cookies and localStorage copy (`storage: "blocked"`: reaching
 * localStorage throws), and a fresh device.js.
 */
async function page(host, { protocol = "https:", cookies = {}, copy, storage = "ok", cookieJar } = {}) {
  globalThis.location = { hostname: host, protocol };
  globalThis.document = cookieJar || fakeDocument(host);
  for (const [k, v] of Object.entries(cookies)) document.jar.set(k, { value: v, attr: {} });
  const store = fakeStorage();
  if (copy !== undefined) store.setItem("mindboxDeviceUUID", copy);
  Object.defineProperty(globalThis, "localStorage", {
    configurable: true,
    get() {
      if (storage === "blocked") throw new DOMException("denied", "SecurityError");
      return store;
    },
  });
  const device = await import(`./device.js?page=${++copies}`);
  return { device, doc: document, store };
}

afterEach(() => {
  delete globalThis.location;
  delete globalThis.document;
  delete globalThis.localStorage;
});

test("a new visitor gets a v4 id in a cookie on the registrable domain, for a year, and a localStorage copy", async () => {
  const { device, doc, store } = await page("www.shop.example");
  const id = device.ensure();
  assert.match(id, UUID_V4);
  const cookie = doc.jar.get("mindboxDeviceUUID");
  assert.equal(cookie.value, id);
  assert.deepEqual(cookie.attr, { path: "/", "max-age": "31536000", samesite: "Lax", domain: "shop.example", secure: true });
  assert.equal(store.getItem("mindboxDeviceUUID"), id);
  assert.equal(doc.jar.has("mindboxDomainProbe"), false, "the probe cookie is removed");
  assert.equal(device.deviceId(), id);
  assert.equal(device.ensure(), id, "the next page load keeps it");
});

test("the registrable domain is the widest one the browser takes a cookie for", async () => {
  const { device } = await page("www.shop.co.uk");
  assert.equal(device.registrableDomain(), "shop.co.uk");
});

test("localhost and IP addresses get a host-only cookie; plain http no Secure", async () => {
  for (const host of ["localhost", "192.168.0.10"]) {
    const { device, doc } = await page(host, { protocol: "http:" });
    assert.equal(device.registrableDomain(), undefined);
    device.ensure();
    assert.deepEqual(doc.jar.get("mindboxDeviceUUID").attr, { path: "/", "max-age": "31536000", samesite: "Lax" });
    assert.ok(doc.set.every((c) => !c.includes("mindboxDomainProbe")), "no probing");
  }
});

test("an existing canonical id is kept as it is (ids of any version, Mindbox's own included) and copied", async () => {
  const { device, doc, store } = await page("shop.example", { cookies: { mindboxDeviceUUID: MINDBOX_ID } });
  assert.equal(device.ensure(), MINDBOX_ID);
  assert.deepEqual(doc.set, [], "the cookie is not rewritten");
  assert.equal(store.getItem("mindboxDeviceUUID"), MINDBOX_ID);
});

test("a purged cookie comes back from the localStorage copy", async () => {
  const { device, doc } = await page("shop.example", { copy: OTHER_ID });
  assert.equal(device.read(), undefined);
  assert.equal(device.ensure(), OTHER_ID);
  assert.equal(doc.jar.get("mindboxDeviceUUID").value, OTHER_ID);
});

test("a malformed cookie or copy is replaced; a valid cookie wins over a bad copy and repairs it", async () => {
  for (const bad of ["garbage", OTHER_ID.toUpperCase(), OTHER_ID + "0", ""]) {
    const { device, doc, store } = await page("shop.example", { cookies: { mindboxDeviceUUID: bad }, copy: bad });
    const id = device.ensure();
    assert.match(id, UUID_V4);
    assert.equal(doc.jar.get("mindboxDeviceUUID").value, id);
    assert.equal(store.getItem("mindboxDeviceUUID"), id);
  }
  const { device, store } = await page("shop.example", { cookies: { mindboxDeviceUUID: OTHER_ID }, copy: "garbage" });
  assert.equal(device.ensure(), OTHER_ID);
  assert.equal(device.readCopy(), OTHER_ID);
  assert.equal(store.getItem("mindboxDeviceUUID"), OTHER_ID);
});

test("the collector's id is adopted as the truth; anything not canonical is ignored", async () => {
  const { device, doc, store } = await page("shop.example", { cookies: { mindboxDeviceUUID: OTHER_ID } });
  device.ensure();
  device.adopt(MINDBOX_ID);
  assert.equal(device.deviceId(), MINDBOX_ID);
  assert.equal(doc.jar.get("mindboxDeviceUUID").value, MINDBOX_ID);
  assert.equal(store.getItem("mindboxDeviceUUID"), MINDBOX_ID);
  const writes = doc.set.length;
  device.adopt(MINDBOX_ID);
  assert.equal(doc.set.length, writes, "the same id again writes nothing");
  for (const bad of [undefined, null, 42, "garbage"]) device.adopt(bad);
  assert.equal(device.deviceId(), MINDBOX_ID);
});

test("the server-set cookie is adopted without a write when cookie and copy already say it", async () => {
  const { device, doc } = await page("shop.example", { cookies: { mindboxDeviceUUID: OTHER_ID }, copy: OTHER_ID });
  device.adopt(OTHER_ID);
  assert.equal(device.deviceId(), OTHER_ID);
  assert.deepEqual(doc.set, []);
});

test("blocked localStorage: the cookie alone carries the id", async () => {
  const { device, doc } = await page("shop.example", { storage: "blocked" });
  assert.equal(device.storage(), undefined);
  const id = device.ensure();
  assert.equal(device.readCopy(), undefined);
  assert.equal(doc.jar.get("mindboxDeviceUUID").value, id);
});

test("a sandboxed frame that may not touch cookies keeps the localStorage copy, else a new id", async () => {
  const sandboxed = fakeDocument("shop.example", { broken: true });
  let { device } = await page("shop.example", { copy: OTHER_ID, cookieJar: sandboxed });
  assert.equal(device.read(), undefined);
  assert.equal(device.ensure(), OTHER_ID);
  ({ device } = await page("shop.example", { cookieJar: fakeDocument("shop.example", { broken: true }) }));
  const id = device.deviceId();
  assert.match(id, UUID_V4);
  assert.equal(device.deviceId(), id, "kept for the page");
});

test("new ids are random v4 UUIDs", async () => {
  const { device } = await page("shop.example");
  const made = new Set(Array.from({ length: 200 }, () => device.newId()));
  assert.equal(made.size, 200);
  for (const id of made) assert.match(id, UUID_V4);
});
