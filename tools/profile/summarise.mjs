// Aggregates a V8 .cpuprofile: self and inclusive time by function and by cost category.
// Also runnable alone: node summarise.mjs <file.cpuprofile> [top = 40]
import { readFileSync } from 'node:fs';

// Cost categories, first match wins (on the function name, then the script URL).
const CATEGORIES = [
  ['idle / GC / program', /^\((idle|garbage collector|program|root)\)$/],
  ['console.log (workerd + inspector)', /console::log|console::error|formatLog|formatWithOptions/],
  ['D1 binding (runtime)', /under worker::d1|under .*D1/],
  ['Response / Request / Headers objects (runtime)', /^→ .* under (worker::response|worker::request|worker::headers|web_sys::features::gen_(Response|Request|Headers))/],
  ['fetch (runtime)', /^→ .* under (worker::fetch|web_sys::.*fetch)/],
  ['WebCrypto (runtime)', /^→ .* under .*(Subtle|subtle|import_key|sign_with|verify_with|digest)/],
  ['promises / futures glue', /^→ .* under (js_sys::futures|wasm_bindgen_futures)|future_to_promise|Queue::new/],
  ['WebCrypto (subtle)', /subtle|crypto|sign|verify|importKey|digest/i],
  ['D1 binding (JS side)', /d1|D1Database|D1PreparedStatement|D1Result|\bbatch\b|_send|_wrappedFetch|#send/],
  ['serde_json', /^serde_json::|serde_json/],
  ['serde-wasm-bindgen / JsValue', /serde_wasm_bindgen|js_sys::|wasm_bindgen::|__wbg_|__wbindgen|JsValue|getObject|addHeapObject|takeObject|passStringToWasm|getStringFromWasm|debugString|handleError/],
  ['allocation / memcpy', /dlmalloc|__rust_alloc|__rust_dealloc|__rust_realloc|alloc::raw_vec|memcpy|memmove|memset|RawVec|alloc::alloc/],
  ['formatting (core::fmt)', /core::fmt|alloc::fmt|::fmt::|format_inner|Display|Debug/],
  ['form / URL encoding', /form_urlencoded|percent_encod|url::|Url|urlencod/],
  ['CP932 / encoding_rs', /encoding_rs|cp932|shift_jis|Shift_JIS|sjis/i],
  ['worker crate (Request/Response/Headers/env)', /^worker::|worker_sys|Headers|Request|Response|Env/],
  ['kessai edge code', /kessai_edge|kessai_core/],
  ['fetch (runtime: D1 queries and gateway calls)', /^(fetch|→ fetch)/],
  ['tracing spans (runtime)', /enterSpan|setAttributes|withSpan|addD1MetaToSpan/],
];

function categorise(name, url) {
  for (const [label, re] of CATEGORIES) {
    if (re.test(name)) return label;
  }
  if (/cloudflare-internal:d1/.test(url)) return 'D1 binding (JS side)';
  if (/\.wasm|wasm:/.test(url)) return 'other wasm';
  if (url) return `JS: ${url.split('/').pop()}`;
  return 'other (native / builtins)';
}

const short = (s, n = 110) => (s.length > n ? s.slice(0, n - 1) + '…' : s);

// Samples' times: V8's profile clock (µs; CLOCK_MONOTONIC on Linux, as the runner's
// `bench::monotonic_us`). Sample i is at startTime + deltas[0] + … + deltas[i].
function sampleTimes(profile) {
  const deltas = profile.timeDeltas ?? [];
  const times = new Array(deltas.length);
  let t = profile.startTime ?? 0;
  for (let i = 0; i < deltas.length; i++) times[i] = t += deltas[i];
  return times;
}

// workerd's isolate is sampled at about the interval asked for while it runs, and not while it
// waits (I/O, other isolates): the gap after a request's last sample is idle time, not that
// frame's. Each sample is weighed with the interval that follows it, capped at CAP_US.
const CAP_US = 500;
const weight = (deltas, i) => Math.min(deltas[i + 1] ?? deltas[i] ?? 0, CAP_US) / 1000; // ms
const IDLE = /^\((idle|program|root)\)$/;

// The isolate's busy time (ms, as `summarise` counts it) in each window of a run of requests sent
// one at a time: `starts` are the requests' start times (µs, the profile's clock), ascending, and
// one more for the end of the last. A window runs from its request's start to the next one's, so
// what the edge does after answering (waitUntil) counts for the request that caused it.
export function busyPerWindow(profile, starts) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const times = sampleTimes(profile);
  const deltas = profile.timeDeltas ?? [];
  const busy = new Array(Math.max(starts.length - 1, 0)).fill(0);
  let w = 0;
  for (let i = 0; i < times.length; i++) {
    while (w < busy.length && times[i] >= starts[w + 1]) w++;
    if (w >= busy.length) break;
    if (times[i] < starts[w]) continue;
    const node = byId.get(profile.samples[i]);
    if (!node || IDLE.test(node.callFrame.functionName || '')) continue;
    busy[w] += weight(deltas, i);
  }
  return busy;
}

// `range` ({ from, to }, µs on the profile's clock): only the samples inside it count.
export function summarise(profile, label = '', top = 40, units = 0, range = null) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const key = (n) => {
    const f = n.callFrame;
    const name = f.functionName || '(anonymous)';
    return `${name}\t${f.url ?? ''}`;
  };
  const self = new Map();
  const incl = new Map();
  const cats = new Map();
  let total = 0;
  let busy = 0;
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const times = range ? sampleTimes(profile) : null;
  for (let i = 0; i < samples.length; i++) {
    if (range && (times[i] < range.from || times[i] >= range.to)) continue;
    const dt = weight(deltas, i);
    const node = byId.get(samples[i]);
    if (!node) continue;
    total += dt;
    let k = key(node);
    let [name, url] = k.split('\t');
    if (IDLE.test(name)) continue;
    // Runtime (C++) and bindgen-glue frames are named after the wasm function that called them,
    // e.g. `→ web_sys::…::console::log_1…` for the time console.log spends in workerd.
    if (isGlue(name, url)) {
      const caller = wasmCaller(node.id);
      if (caller) {
        name = `→ ${name === '(anonymous)' ? 'runtime' : name} under ${caller}`;
        url = '';
        k = `${name}\t`;
      }
    }
    busy += dt;
    self.set(k, (self.get(k) ?? 0) + dt);
    const cat = categorise(name, url);
    cats.set(cat, (cats.get(cat) ?? 0) + dt);
    const seen = new Set();
    for (let id = node.id; id !== undefined; id = parent.get(id)) {
      const kk = key(byId.get(id));
      if (seen.has(kk)) continue;
      seen.add(kk);
      incl.set(kk, (incl.get(kk) ?? 0) + dt);
    }
  }
  function isGlue(name, url) {
    return (name === '(anonymous)' && (!url || /index\.js$/.test(url))) || name === 'wasm-to-js' ||
      (/index\.js$/.test(url ?? '') && name.length <= 3) || ['Response', 'Headers', 'set', 'get', 'decode', 'queueMicrotask'].includes(name);
  }
  function wasmCaller(id) {
    for (let x = parent.get(id); x !== undefined; x = parent.get(x)) {
      const f = byId.get(x).callFrame;
      if (/\.wasm/.test(f.url ?? '') && f.functionName && !/^js-to-wasm|^wasm-to-js/.test(f.functionName)) {
        return f.functionName.replace(/::h[0-9a-f]{16}/g, '');
      }
    }
    return null;
  }
  const lines = [];
  const pct = (v) => ((100 * v) / (busy || 1)).toFixed(1).padStart(5);
  lines.push(`profile ${label}: ${samples.length} samples, ${total.toFixed(0)} ms on the isolate, ${busy.toFixed(0)} ms busy (excl. idle/program)`);
  lines.push('');
  lines.push('by category (self time):');
  for (const [c, v] of [...cats].sort((a, b) => b[1] - a[1])) {
    lines.push(`  ${v.toFixed(1).padStart(9)} ms ${pct(v)} %  ${c}`);
  }
  lines.push('');
  lines.push(`top ${top} functions by self time:`);
  for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    const [name, url] = k.split('\t');
    const where = url && !/\.wasm/.test(url) ? `  [${url.split('/').pop()}]` : '';
    lines.push(`  ${v.toFixed(1).padStart(9)} ms ${pct(v)} %  ${short(name)}${where}`);
  }
  lines.push('');
  lines.push(`top ${top} functions by inclusive time:`);
  for (const [k, v] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    const [name, url] = k.split('\t');
    const where = url && !/\.wasm/.test(url) ? `  [${url.split('/').pop()}]` : '';
    lines.push(`  ${v.toFixed(1).padStart(9)} ms ${pct(v)} %  ${short(name)}${where}`);
  }
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, top = '40'] = process.argv.slice(2);
  console.log(summarise(JSON.parse(readFileSync(file, 'utf8')), file, Number(top)));
}
