#!/usr/bin/env bash
# Builds the widget into widget/dist, which the edge serves as static assets:
#   kessai_widget_bg.wasm  release build (pinned nightly, std rebuilt with immediate-abort panics),
#                          wasm-bindgen --target web, npm wasm-opt -Os
#   kessai.js              the loader (widget/js/kessai.js) with the wasm-bindgen glue (and any
#                          JS snippets) bundled and minified into it by esbuild: one script, and
#                          the fewest bytes on the wire (issue #2: 60 kB brotli for the widget)
#   _headers               CORS for the static assets
# The stylesheet (widget/src/widget.css) is bundled into kessai.js as text and injected once by the
# loader (fewer bytes than in the wasm, docs/architecture.md "Widget size").
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/scripts/setup.sh"
cd "$ROOT"
# The pinned nightly $WIDGET_TOOLCHAIN (scripts/setup.sh) rebuilds std for the widget
# (docs/toolchain.md, docs/architecture.md "Widget size"):
#   panic = "immediate-abort"  a panic is a bare wasm `unreachable` trap: no panic messages, no
#                              formatting machinery, no panic hook. The trap is silent (nothing in
#                              the console, the widget stops answering); the widget code already
#                              avoids panicking (inputs are checked, JS errors are Results).
#   optimize_for_size          std's size-over-speed algorithms (sorting, formatting, …).
#   -Zlocation-detail=none     no file/line/column strings for #[track_caller] locations.
# std is built at the release profile's opt-level "z". Its own target dir: the stable builds
# (clippy, edge, console) keep theirs.
# widget/build/wasm-ld.sh: rust-lld without wasm-streams' stream-adapter exports (see there).
WIDGET_TARGET="$ROOT/target/widget"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER="$ROOT/widget/build/wasm-ld.sh" \
  cargo +"$WIDGET_TOOLCHAIN" build --release --target wasm32-unknown-unknown -p kessai-widget \
  --target-dir "$WIDGET_TARGET" \
  -Zbuild-std=std,panic_abort -Zbuild-std-features=optimize_for_size \
  -Zpanic-immediate-abort --config 'profile.release.panic="immediate-abort"' \
  --config 'target.wasm32-unknown-unknown.rustflags=["-Zlocation-detail=none"]'
OUT="$ROOT/widget/dist"
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
# The name section stays for wasm-opt's --reorder-functions-by-name (below); its --strip-debug drops
# it, so the shipped wasm has no names.
wasm-bindgen --target web --no-typescript --remove-producers-section \
  --out-dir "$STAGE" "$WIDGET_TARGET/wasm32-unknown-unknown/release/kessai_widget.wasm"
# Everything but console/ (the operator console, scripts/build-console.sh, served from here too).
mkdir -p "$OUT" && find "$OUT" -mindepth 1 -maxdepth 1 ! -name console -exec rm -rf {} +
# npm binaryen 132; Debian's binaryen 108 breaks the module at run time (docs/toolchain.md).
# -Os, not -Oz: 165 B smaller after brotli (though 3.9 kB larger raw), measured 2026-11-30.
# --merge-similar-functions before and after -Os (functions that differ only in constants share one
# body): 231 B smaller after brotli, measured 2026-12-06 (docs/architecture.md "Widget size").
# --one-caller-inline-max-function-size=20 (-ocimfs): a function called from one place is inlined
# only when it is small. Binaryen inlines every one-caller function by default, which gives each
# caller its own copy of the code with its own locals; kept apart, the functions look alike and
# brotli finds them: 1.8 kB smaller after brotli (3 kB larger raw), measured 2026-12-07 (0, 10,
# 30, 50 and 100 measured too: 20 was the lowest).
# --reorder-functions-by-name: one crate's and one generic's functions side by side, which brotli
# compresses better: 164 B, measured 2026-12-07. --strip-target-features: the target_features
# section is of no use at run time: 132 B.
"$WASM_OPT_BIN" --one-caller-inline-max-function-size=20 --merge-similar-functions -Os --converge --merge-similar-functions --reorder-functions-by-name --strip-debug --strip-producers --strip-target-features --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue \
  "$STAGE/kessai_widget_bg.wasm" -o "$OUT/kessai_widget_bg.wasm"
# wasm-bindgen still writes JS classes for those stream adapters (their exports are gone, its
# metadata still names them): take them out (with their FinalizationRegistry). If wasm-bindgen
# ever writes them differently, the glue stays as it is.
node - "$STAGE/kessai_widget.js" <<'JS'
const fs = require('fs');
const file = process.argv[2];
const glue = fs.readFileSync(file, 'utf8');
const stripped = glue
  .replace(/export class (IntoUnderlying\w+) \{\n[\s\S]*?\n\}\nif \(Symbol\.dispose\) \1\.prototype\[Symbol\.dispose\] = \1\.prototype\.free;\n/g, '')
  .replace(/const IntoUnderlying\w+Finalization = \(typeof FinalizationRegistry === 'undefined'\)\n.*\n.*;\n/g, '');
if (stripped.includes('IntoUnderlying')) {
  console.error('build-widget: the glue\'s stream-adapter classes look different; kept as they are');
} else {
  fs.writeFileSync(file, stripped);
}
JS
# The glue's general-purpose parts the widget does not need (docs/architecture.md "Widget size"):
#   - the init function for every kind of argument (a path, a Request, a Response, a Module, the
#     deprecated positional form, a retry after a failure) and the MIME-type warning: the loader
#     (widget/js/kessai.js) calls it once with the wasm's URL. What is left fetches it, fails
#     with the same "failed to fetch Wasm" error on a bad status, and still falls back to
#     WebAssembly.instantiate when the server sends another Content-Type than application/wasm;
#   - passing a string to the wasm by an ASCII loop, realloc and encodeInto (and encodeInto's
#     polyfill): TextEncoder.encode and one copy do the same (the strings are a few words);
#   - Safari's TextDecoder renewal after 2 GB of decoded text (the widget decodes a few kB).
# If wasm-bindgen ever writes these differently, the build fails (a glue half rewritten would
# not load).
node - "$STAGE/kessai_widget.js" <<'JS'
const fs = require('fs');
const file = process.argv[2];
let glue = fs.readFileSync(file, 'utf8');
const swap = (what, from, to) => {
  if (!from.test(glue)) {
    console.error(`build-widget: cannot trim the glue: ${what} not found`);
    process.exit(1);
  }
  glue = glue.replace(from, to);
};
swap('passStringToWasm0', /^function passStringToWasm0\(arg, malloc, realloc\) \{\n[\s\S]*?\n\}\n/m,
  `function passStringToWasm0(arg, malloc) {
    const buf = cachedTextEncoder.encode(arg);
    const ptr = malloc(buf.length, 1) >>> 0;
    getUint8ArrayMemory0().set(buf, ptr);
    WASM_VECTOR_LEN = buf.length;
    return ptr;
}
`);
swap('the encodeInto polyfill', /^if \(!\('encodeInto' in cachedTextEncoder\)\) \{\n[\s\S]*?\n\}\n/m, '');
swap('decodeText', /^let cachedTextDecoder = [\s\S]*?\nfunction decodeText\(bytes\) \{\n[\s\S]*?\n\}\n/m,
  `const cachedTextDecoder = new TextDecoder('utf-8', { ignoreBOM: true });
cachedTextDecoder.decode();
function decodeText(bytes) {
    return cachedTextDecoder.decode(bytes);
}
`);
swap('the init functions', /^async function __wbg_load\(module, imports\) \{\n[\s\S]*\nexport \{ initSync, __wbg_init as default \};\n$/m,
  `export default async function __wbg_init({ module_or_path }) {
    const imports = __wbg_get_imports();
    const response = await fetch(module_or_path);
    if (!response.ok) {
        throw new Error(\`failed to fetch Wasm: \${response.status} \${response.statusText} fetching '\${response.url}'\`);
    }
    let result;
    try {
        result = await WebAssembly.instantiateStreaming(response, imports);
    } catch (e) {
        if (WebAssembly.instantiateStreaming && response.headers.get('Content-Type') === 'application/wasm') throw e;
        result = await WebAssembly.instantiate(await response.arrayBuffer(), imports);
    }
    return __wbg_finalize_init(result.instance, result.module);
}
`);
fs.writeFileSync(file, glue);
JS
# Import and export names: wasm-bindgen's carry hashes (`__wbg_then_e3f7f2d365708be8`,
# `wasm_bindgen_…___convert__closures_____invoke…`), once in the wasm and once in the glue, and
# brotli can do little with hex digits. wasm-opt renames them to one or two letters (and the
# import modules, the glue and the interop snippet, to one); the glue is rewritten to the same
# names. 2.7 kB of brotli (wasm 1.4, glue 1.2), measured 2026-12-01. If the glue does not look as expected, the build
# fails rather than ship a widget that cannot instantiate.
"$WASM_OPT_BIN" --minify-imports-and-exports-and-modules --enable-bulk-memory --enable-nontrapping-float-to-int \
  --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue \
  "$OUT/kessai_widget_bg.wasm" -o "$OUT/kessai_widget_bg.wasm" > "$STAGE/names.json"
node - "$STAGE/kessai_widget.js" "$STAGE/names.json" "$OUT/kessai_widget_bg.wasm" <<'JS'
const fs = require('fs');
const [glueFile, namesFile, wasmFile] = process.argv.slice(2);
const fail = (why) => {
  console.error(`build-widget: cannot rename the glue's imports and exports: ${why}`);
  process.exit(1);
};
const names = JSON.parse(fs.readFileSync(namesFile, 'utf8'));
const quote = (s) => s.replace(/[.*+?^${}()|[\]\\\/]/g, '\\$&');
// The one import module left in the wasm, by the new import names.
const modules = new Set(WebAssembly.Module.imports(new WebAssembly.Module(fs.readFileSync(wasmFile)))
  .map((i) => i.module));
if (modules.size !== 1) fail(`${modules.size} import modules`);
const [moduleName] = modules;
let glue = fs.readFileSync(glueFile, 'utf8');
const fromSnippets = [];
for (const [module, old, now] of names.imports) {
  if (module === './kessai_widget_bg.js') {
    // A key of the glue's `import0` object: `    __wbg_then_e3f7…: function(arg0, arg1) {`.
    const key = new RegExp(`^(\\s+)${quote(old)}: `, 'm');
    if (!key.test(glue)) fail(`import ${old} not found`);
    glue = glue.replace(key, `$1${JSON.stringify(now)}: `);
  } else {
    // A JS snippet, which the glue imports as a namespace: `import * as import1 from "…"`.
    const ns = glue.match(new RegExp(`import \\* as (\\w+) from "${quote(module)}"`));
    if (!ns) fail(`module ${module} not imported by the glue`);
    fromSnippets.push(`${JSON.stringify(now)}: ${ns[1]}.${old}`);
  }
}
const importObject = /return \{\n\s+__proto__: null,\n\s+"\.\/kessai_widget_bg\.js": import0,\n(\s+"[^"\n]+": import\d+,\n)*\s+\};/;
if (!importObject.test(glue)) fail('import object not found');
glue = glue.replace(importObject,
  `return { ${JSON.stringify(moduleName)}: Object.assign(import0, { ${fromSnippets.join(', ')} }) };`);
for (const [old, now] of names.exports) {
  glue = glue.replace(new RegExp(`\\bwasm\\.${quote(old)}\\b`, 'g'), `wasm.${now}`);
}
const left = names.exports.concat(names.imports.map(([, old]) => [old]))
  .filter(([old]) => new RegExp(`(\\bwasm\\.|^\\s+)${quote(old)}\\b`, 'm').test(glue));
if (left.length) fail(`still named: ${left.map(([old]) => old).join(', ')}`);
// The interop snippet as the loader's own ./interop.js (widget/js/signin.js imports it too): one
// module in the bundle, not two copies.
const snippet = /\.\/snippets\/[\w-]+\/js\/interop\.js/g;
if (!snippet.test(glue)) fail('interop snippet import not found');
glue = glue.replace(snippet, './interop.js');
fs.writeFileSync(glueFile, glue);
JS
# The loader imports ./kessai_widget.js (the glue): bundle both into dist/kessai.js. The glue's
# own wasm URL is relative to import.meta.url, which stays right in the bundle.
# The stylesheet goes into the loader as text (`import css from './widget.css'`). --charset=utf8:
# non-ASCII text stays UTF-8 instead of \uXXXX escapes (module scripts are always read as UTF-8).
# The stylesheet minified first (one line, no quotes esbuild can drop): 7 B, measured 2026-12-08.
cp "$ROOT"/widget/js/* "$STAGE/"
"$ESBUILD_BIN" --minify --log-level=warning "$ROOT/widget/src/widget.css" --outfile="$STAGE/widget.css"
"$ESBUILD_BIN" --bundle --minify --format=esm --target=es2020 --log-level=warning --loader:.css=text --charset=utf8 \
  "$STAGE/kessai.js" --outfile="$OUT/kessai.js"
# Storefronts load these cross-origin as module scripts and a wasm fetch: they need CORS.
printf '/*\n  Access-Control-Allow-Origin: *\n  Cache-Control: public, max-age=300\n' > "$OUT/_headers"
ls -l "$OUT" >&2
