// @ts-check
// The Rust half's wasm module (tracker/src/ffi.rs), loaded and called without generated glue: text
// goes in through the module's input buffer and comes out of its output buffer, as UTF-8. The module
// imports nothing; the clock and random numbers are passed in.

/**
 * The module's exports.
 *
 * @typedef {object} Exports
 * @property {WebAssembly.Memory} memory
 * @property {(len: number) => number} input where to write the next input
 * @property {() => number} output where the last output is
 * @property {() => number} output_len
 * @property {() => void} init input: the endpoint id
 * @property {(now: number, r0: number, r1: number, r2: number, r3: number) => void} call input: method␁arg
 * @property {(now: number) => void} batches input: device␁records
 * @property {(failures: number, jitter: number) => number} retry_delay input: Retry-After
 * @property {() => number} evict input: sizes, comma-separated
 * @property {() => number} is_event input: id␁operation
 */

// The separators of the text on both sides (tracker/src/shell.rs `FIELD`, `RECORD`, `MESSAGE`).
/** Separates the strings of one input, the fields of an output, and a batch's range from its body. */
export var FIELD = "\u0001";
/** Separates records (and batches). */
export var RECORD = "\u0000";
/** Starts a message: the call was dropped, and this says what was expected. */
export var MESSAGE = "\u0002";

/**
 * Fetches and instantiates the module (streaming where the server sends `application/wasm`).
 *
 * @param {string} url
 */
export function load(url) {
  /** @returns {Promise<WebAssembly.Instance>} */
  function plain() {
    return fetch(url)
      .then(function (r) {
        return r.arrayBuffer();
      })
      .then(function (b) {
        return WebAssembly.instantiate(b, {});
      })
      .then(function (r) {
        return r.instance;
      });
  }
  var go = WebAssembly.instantiateStreaming
    ? WebAssembly.instantiateStreaming(fetch(url), {}).then(
        function (r) {
          return r.instance;
        },
        plain
      )
    : plain();
  return go.then(function (instance) {
    return rust(/** @type {Exports} */ (/** @type {unknown} */ (instance.exports)));
  });
}

/**
 * The module's functions with strings in and out.
 *
 * @param {Exports} x
 */
export function rust(x) {
  var enc = new TextEncoder();
  var dec = new TextDecoder();
  /** @param {string} text */
  function put(text) {
    var bytes = enc.encode(text);
    // `input` may grow the memory: take the buffer only after it.
    var at = x.input(bytes.length) >>> 0;
    new Uint8Array(x.memory.buffer, at, bytes.length).set(bytes);
  }
  function take() {
    // Pointers and lengths come back as signed 32-bit numbers: `>>> 0` keeps them right past 2 GiB.
    return dec.decode(new Uint8Array(x.memory.buffer, x.output() >>> 0, x.output_len() >>> 0));
  }
  return {
    /** @param {string | undefined} endpointId */
    init: function (endpointId) {
      put(endpointId || "");
      x.init();
    },
    /**
     * @param {string} method @param {string} arg JSON text
     * @param {number} at when the page made the call
     * @param {ArrayLike<number>} r four random 32-bit numbers (the event id)
     */
    call: function (method, arg, at, r) {
      put(method + FIELD + arg);
      x.call(at, r[0], r[1], r[2], r[3]);
      return take();
    },
    /** @param {string} device @param {string} records */
    batches: function (device, records) {
      put(device + FIELD + records);
      x.batches(Date.now());
      return take();
    },
    /** @param {number} failures @param {string} [retryAfter] */
    retryDelay: function (failures, retryAfter) {
      put(retryAfter || "");
      return x.retry_delay(failures, Math.random());
    },
    /** @param {number[]} sizes */
    evict: function (sizes) {
      put(sizes.join(","));
      return x.evict();
    },
    /** @param {string} id @param {string} operation */
    isEvent: function (id, operation) {
      put(id + FIELD + operation);
      return x.is_event() === 1;
    },
  };
}
