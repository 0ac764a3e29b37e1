// converso-audio in the browser, with every encoder (see index.d.ts). converso-audio/copy
// (copy.js) is the same API over the much smaller stream-copy-only engine.

import { browserApi } from './browser.js';

export { ConversoError } from './errors.js';

export const { probe, plan, extract } = browserApi(
  new URL('./converso_wasm_bg.wasm', import.meta.url),
  (name) => new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name }),
  { simd: true },
);
