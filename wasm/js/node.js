// converso-audio in Node, with every encoder (see node.d.ts); converso-audio/copy (copy-node.js)
// is the stream-copy-only engine.
import * as wasm from './converso_wasm.js';
import { nodeApi } from './node-api.js';

export { ConversoError } from './errors.js';

export const { probe, plan, extract } = nodeApi(wasm, new URL('./converso_wasm_bg.wasm', import.meta.url));
