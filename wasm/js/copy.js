// converso-audio/copy in the browser: the API of index.js over the engine built without
// re-encoding. It probes and copies; an output that needs re-encoding is INVALID_OUTPUT.

import { browserApi } from './browser.js';

export { ConversoError } from './errors.js';

export const { probe, plan, extract } = browserApi(new URL('./converso_copy_bg.wasm', import.meta.url), (name) =>
  new Worker(new URL('./copy-worker.js', import.meta.url), { type: 'module', name }),
);
