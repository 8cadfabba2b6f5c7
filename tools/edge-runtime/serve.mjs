// Runs the edge in workerd through Miniflare's API, without `wrangler dev` around it: no dev
// proxy worker in front, no request-body-draining / scheduled / JSON-error middleware bundled into
// the worker, no inspector session mirroring every log line, no per-request log line in a
// second Node process. What is left is what production runs: the same bundle (edge/build or a
// snapshot), the bindings and D1 binding wrangler.toml declares (read by wrangler's own
// `unstable_getMiniflareWorkerOptions`), local D1 (SQLite in workerd) and the static assets.
//
// The benchmark stack uses it (issue #17); tests and the demo keep `wrangler dev`.
//
//   node serve.mjs <wrangler.toml> <env file> <persist dir> <host> <port> [inspector port]
//
// Scheduled events: `GET /cdn-cgi/local/scheduled?cron=…` (Miniflare's trigger handler).
import { Miniflare, Log, LogLevel, convertV4MiniflareOptions } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

const [configPath, envFile, persist, host, port, inspectorPort] = process.argv.slice(2);
if (!port) {
  console.error("usage: serve.mjs <wrangler.toml> <env file> <persist dir> <host> <port> [inspector port]");
  process.exit(2);
}

// The env file as wrangler reads it for `--env-file` (KEY=value per line, `\$` for a literal `$`).
const secrets = {};
for (const line of readFileSync(envFile, "utf8").split("\n")) {
  const eq = line.indexOf("=");
  if (eq <= 0 || line.startsWith("#")) continue;
  secrets[line.slice(0, eq).trim()] = line.slice(eq + 1).replaceAll("\\$", "$");
}

const { workerOptions, main } = unstable_getMiniflareWorkerOptions(configPath);
if (!main) {
  console.error(`${configPath} names no main module`);
  process.exit(2);
}
const mainPath = resolve(dirname(configPath), main);

// Miniflare 5 takes its own option shape; wrangler converts the v4 shape (the one its config
// reader answers in) with `convertV4MiniflareOptions`, and so does this.
const mf = new Miniflare(convertV4MiniflareOptions({
  workers: [
    {
      ...workerOptions,
      modulesRules: undefined,
      name: "kessai-edge",
      // The bundle as worker-build writes it: the ES module and the wasm it imports.
      modulesRoot: dirname(mainPath),
      modules: [
        { type: "ESModule", path: mainPath },
        { type: "CompiledWasm", path: join(dirname(mainPath), "index_bg.wasm") },
      ],
      bindings: { ...(workerOptions.bindings ?? {}), ...secrets },
    },
  ],
  host,
  port: Number(port),
  // wrangler's `--persist-to <dir>` layout (`<dir>/v3/d1/…`), where the migrations were applied.
  resourcePersistencePath: resolve(persist, "v3"),
  unsafeTriggerHandlers: true,
  // No per-request log line (Miniflare's entry worker would call back into this process for
  // each) and no fetch of the `Request.cf` blob from the internet (a default one is used).
  logRequests: false,
  cf: false,
  ...(inspectorPort ? { inspectorPort: Number(inspectorPort) } : {}),
  log: new Log(LogLevel.INFO),
}));

const url = await mf.ready;
console.log(`edge ready on ${url}`);
const stop = async () => {
  await mf.dispose();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
