// The browser side of the tests: Debian's Chromium with the same flags everywhere (Playwright in the
// end-to-end tests and benchmarks, ChromeDriver in the engine scenarios), and the shop opened in it.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { useStack, lazy, waitFor } from "./stack.mjs";

/** Debian's Chromium, or `CHROMIUM_BIN`. */
export const CHROMIUM_BIN = process.env.CHROMIUM_BIN || "/usr/bin/chromium";

/** Headless, no sandbox (containers), and none of its own network traffic (the machine's network is closed). */
export const CHROMIUM_ARGS = [
  "--headless=new",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

/** Chromium through Playwright. */
export const launchChromium = () => chromium.launch({ executablePath: CHROMIUM_BIN, args: CHROMIUM_ARGS });

/**
 * The stack and Chromium a file of browser tests shares (the emulator reset before each test), and
 * helpers for the shop's pages: `{stack, browser, open, delivered}`.
 */
export function useShopInChromium() {
  const stack = useStack({}, { resetEach: true });
  let browser;
  before(async () => {
    browser = await launchChromium();
  }, { timeout: 180000 });
  after(async () => {
    await browser?.close();
  }, { timeout: 60000 });

  /** Opens a page of the shop in `context` and waits until the tracker has started. */
  async function open(context, path) {
    const page = await context.newPage();
    await page.goto(`${stack.shopUrl}${path}`);
    await page.waitForFunction(() => window.mindbox && window.mindbox.qa);
    return page;
  }

  /**
   * Accepted requests, waiting until there are at least `n` (not counting the drain's sentinels, which
   * a test may have sent already), then checking nothing more is queued.
   */
  async function delivered(n, { timeoutMs = 30000 } = {}) {
    const events = async () => (await stack.emulator.requests()).filter((q) => !q.body?.sentinel);
    await waitFor(`${n} events at the emulator`, async () => (await events()).length >= n, { timeoutMs });
    return (await stack.drain()).filter((q) => !q.body?.sentinel);
  }

  return { stack, browser: lazy(() => browser, "Chromium"), open, delivered };
}

/** Asserts that no transactionId of `requests` is there twice. */
export function exactlyOnce(requests) {
  const ids = requests.map((q) => q.transactionId);
  assert.equal(new Set(ids).size, ids.length, `a transactionId arrived twice: ${ids}`);
}
