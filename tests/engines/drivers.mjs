// The browser engines the scenario file runs in, each driven over W3C WebDriver by its own driver:
// Chromium (Debian's chromium-driver), Firefox ESR (Debian's firefox-esr with geckodriver from
// crates.io) and WebKitGTK (Debian's webkit2gtk-driver, the engine behind Safari; its MiniBrowser
// needs a display, so it runs under Xvfb). `cargo xtask test` installs all of them.
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import WebDriver from "webdriver";
import { startProcess, freePort, waitFor, timedFetch } from "../support/stack.mjs";
import { CHROMIUM_BIN, CHROMIUM_ARGS } from "../support/browser.mjs";

/** Where cargo installs geckodriver. */
const GECKODRIVER = join(process.env.CARGO_HOME || join(homedir(), ".cargo"), "bin/geckodriver");
const MINIBROWSER = "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser";

/** The engines: how to start each driver and what to ask it for. */
export const ENGINES = {
  chromium: {
    driver: (port) => ["/usr/bin/chromedriver", [`--port=${port}`]],
    capabilities: {
      browserName: "chrome",
      "goog:chromeOptions": {
        binary: CHROMIUM_BIN,
        args: CHROMIUM_ARGS,
      },
    },
  },
  firefox: {
    driver: (port) => [GECKODRIVER, ["--port", String(port), "--host", "127.0.0.1"]],
    capabilities: {
      browserName: "firefox",
      "moz:firefoxOptions": {
        binary: "/usr/bin/firefox-esr",
        args: ["-headless"],
        // This machine's network is closed: no update, telemetry or safe-browsing traffic.
        prefs: { "app.update.enabled": false, "datareporting.policy.dataSubmissionEnabled": false, "browser.safebrowsing.malware.enabled": false, "network.captive-portal-service.enabled": false },
      },
    },
  },
  webkit: {
    driver: (port) => ["/usr/bin/WebKitWebDriver", [`--port=${port}`]],
    capabilities: {
      "webkitgtk:browserOptions": { binary: MINIBROWSER, args: ["--automation"] },
    },
    display: true,
  },
};

/** Whether this machine has what `engine` needs. */
export function installed(engine) {
  const [bin] = ENGINES[engine].driver(0);
  return existsSync(bin) && (!ENGINES[engine].display || existsSync("/usr/bin/Xvfb"));
}

/** Starts Xvfb on a free display; returns its `DISPLAY` and `stop()`. */
async function startXvfb() {
  for (let n = 90; n < 110; n++) {
    if (existsSync(`/tmp/.X11-unix/X${n}`)) continue;
    const proc = startProcess("xvfb", "/usr/bin/Xvfb", [`:${n}`, "-screen", "0", "1280x1024x24", "-nolisten", "tcp"], {});
    await waitFor("Xvfb", () => existsSync(`/tmp/.X11-unix/X${n}`), { timeoutMs: 10000, intervalMs: 50 });
    return { display: `:${n}`, stop: () => proc.stop() };
  }
  throw new Error("no free X display");
}

/**
 * Starts `engine`'s driver and one session; returns the WebDriver client, the engine's version and
 * `stop()`.
 */
export async function startEngine(engine) {
  const spec = ENGINES[engine];
  const xvfb = spec.display ? await startXvfb() : null;
  const port = await freePort();
  const [bin, args] = spec.driver(port);
  const driver = startProcess(engine, bin, args, { env: { ...process.env, ...(xvfb ? { DISPLAY: xvfb.display } : {}) } });
  const stop = async () => {
    await driver.stop();
    await xvfb?.stop();
  };
  try {
    await waitFor(`${engine}'s driver`, async () => (await timedFetch(`http://127.0.0.1:${port}/status`, { timeoutMs: 2000 })).ok, { timeoutMs: 30000, intervalMs: 200 });
    const client = await WebDriver.newSession({ hostname: "127.0.0.1", port, path: "/", capabilities: spec.capabilities, logLevel: "warn", connectionRetryTimeout: 60000, connectionRetryCount: 1 });
    const caps = client.capabilities;
    return {
      client,
      version: `${caps.browserName} ${caps.browserVersion}`,
      stop: async () => {
        await client.deleteSession().catch(() => {});
        await stop();
      },
      driverLog: () => driver.log(),
    };
  } catch (e) {
    const log = driver.log();
    await stop();
    throw new Error(`${engine}: ${e.message}\n${log.slice(-2000)}`);
  }
}
