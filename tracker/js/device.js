// @ts-check
// The device id: the `mindboxDeviceUUID` cookie, with a localStorage copy under the same key.
//
// Read an existing canonical id; replace a malformed one; restore a purged cookie from the localStorage
// copy; set the cookie on the registrable domain (the widest domain that takes it, the way Mindbox's
// and other trackers find it), `path=/`, one year, `SameSite=Lax`, `Secure` on https; and accept the
// collector's server-set value as the truth. The batches carry it (model/src/wire.rs); the collector
// checks it with model/src/uuid.rs, whose canonical form `CANONICAL` matches.

var KEY = "mindboxDeviceUUID";
/** Lower-case, hyphenated, any version (ids made by Mindbox's own tracker are kept). */
var CANONICAL = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
var current;

function canonical(v) {
  return typeof v === "string" && CANONICAL.test(v) ? v : undefined;
}

/** `localStorage`, or nothing where reading it throws (blocked storage, sandboxed frames). */
export function storage() {
  try {
    return localStorage;
  } catch (e) {}
}

function cookie(name) {
  var pairs;
  try {
    pairs = document.cookie.split(";");
  } catch (e) {
    // A sandboxed frame may not read cookies: the localStorage copy (or a new id) stands in.
    return;
  }
  for (var i = 0; i < pairs.length; i++) {
    var kv = pairs[i].trim().split("=");
    if (kv[0] === name) return kv.slice(1).join("=");
  }
}

/** The cookie's device id, when it is canonical. */
export function read() {
  return canonical(cookie(KEY));
}

/** The localStorage copy, when it is canonical. */
export function readCopy() {
  var s = storage();
  return canonical(s && s.getItem(KEY));
}

/**
 * The widest domain of the page's host that takes a cookie (`shop.example` for `www.shop.example`);
 * nothing for IP addresses and single-label hosts such as `localhost` (a host-only cookie then).
 */
export function registrableDomain() {
  var host = location.hostname;
  if (host.indexOf(".") < 0 || /^[\d.]+$/.test(host) || host.indexOf(":") >= 0) return;
  var labels = host.split(".");
  for (var i = labels.length - 2; i >= 0; i--) {
    var candidate = labels.slice(i).join(".");
    setCookie("mindboxDomainProbe=1; path=/; domain=" + candidate);
    if (cookie("mindboxDomainProbe")) {
      setCookie("mindboxDomainProbe=; path=/; max-age=0; domain=" + candidate);
      return candidate;
    }
  }
}

function setCookie(c) {
  try {
    document.cookie = c;
  } catch (e) {}
}

function write(id) {
  var domain = registrableDomain();
  setCookie(
    KEY + "=" + id + "; path=/; max-age=31536000; SameSite=Lax" +
    (domain ? "; domain=" + domain : "") +
      (location.protocol === "https:" ? "; Secure" : "")
  );
  var s = storage();
  try {
    if (s) s.setItem(KEY, id);
  } catch (e) {}
  current = id;
}

/** A new UUID v4 from `crypto.getRandomValues` (works on plain-http pages, unlike `randomUUID`). */
export function newId() {
  var b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 15) | 64;
  b[8] = (b[8] & 63) | 128;
  var out = "";
  for (var i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) out += "-";
    out += (b[i] + 256).toString(16).slice(1);
  }
  return out;
}

/** The device id: the cookie's, else the localStorage copy (restoring the cookie), else a new one. */
export function ensure() {
  var id = read();
  if (id) {
    if (readCopy() !== id) {
      var s = storage();
      try {
        if (s) s.setItem(KEY, id);
      } catch (e) {}
    }
    return (current = id);
  }
  write(readCopy() || newId());
  return current;
}

/** Accepts the collector's device id as the truth: the server-set cookie outlives script-set ones. */
export function adopt(id) {
  if (canonical(id) && (read() !== id || readCopy() !== id)) write(id);
  else if (canonical(id)) current = id;
}

/** Forgets the device id: its cookie (here and on the registrable domain) and its copy. */
export function forgetDevice() {
  var domain = registrableDomain();
  setCookie(KEY + "=; path=/; max-age=0");
  if (domain) setCookie(KEY + "=; path=/; max-age=0; domain=" + domain);
  var s = storage();
  try {
    if (s) s.removeItem(KEY);
  } catch (e) {}
  current = undefined;
}

/** The device id in use. */
export function deviceId() {
  return current || ensure();
}
