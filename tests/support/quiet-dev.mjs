// `wrangler dev` without its DevTools inspector, for the CPU benchmarks only. With the inspector on
// (the CLI has no switch for it), wrangler asks the runtime for every fetch's network events and
// relays each DevTools message through a proxy worker with an HTTP post of its own: measured at
// 35-45 ms of workerd CPU per 50 outgoing calls, which Cloudflare does not run. Both the collector
// and the do-nothing worker are measured through this launcher, so neither carries it.
//
//   node tests/support/quiet-dev.mjs [-c wrangler.toml] --ip IP --port PORT [--env-file F]
//       [--persist-to DIR] [--var K:V]...
//
// Takes the subset of `wrangler dev`'s arguments that `tests/support/stack.mjs` and `baseline.mjs`
// pass (others are ignored), serves until SIGTERM or SIGINT.
import { resolve } from "node:path";
import { unstable_startWorker } from "wrangler";

const args = process.argv.slice(2);
const input = { config: "wrangler.toml", bindings: {}, dev: { inspector: false, watch: false, server: {} } };
for (let i = 0; i < args.length; i++) {
  const [flag, value] = [args[i], args[i + 1]];
  if (flag === "dev") continue;
  if (!flag.startsWith("--") && flag !== "-c") continue;
  if (flag.includes("=")) continue; // `--show-interactive-dev-session=false` and the like
  i++;
  if (flag === "-c" || flag === "--config") input.config = value;
  else if (flag === "--ip") input.dev.server.hostname = value;
  else if (flag === "--port") input.dev.server.port = Number(value);
  else if (flag === "--env-file") input.envFiles = [resolve(value)];
  else if (flag === "--persist-to") input.dev.persist = resolve(value);
  else if (flag === "--var") {
    const at = value.indexOf(":");
    input.bindings[value.slice(0, at)] = { type: "plain_text", value: value.slice(at + 1) };
  }
}
input.config = resolve(input.config);
const worker = await unstable_startWorker(input);
await worker.ready;
console.log(`Ready on ${await worker.url}`);
const stop = async () => {
  await worker.dispose();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
