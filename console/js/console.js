// kessai operator console loader: starts the wasm app (console/src/lib.rs) on the page.
import init, { start } from './kessai_console.js';

const here = new URL('.', import.meta.url);
init({ module_or_path: new URL('kessai_console_bg.wasm', here) }).then(
  () => start(),
  () => {
    document.body.textContent = '管理画面を読み込めませんでした。ページを再読み込みしてください。';
  },
);
