// converso-audio/copy in Node: the API of node.js over the engine built without re-encoding.
import * as wasm from './converso_copy.js';
import { nodeApi } from './node-api.js';

export { ConversoError } from './errors.js';

export const { probe, plan, extract } = nodeApi(wasm, new URL('./converso_copy_bg.wasm', import.meta.url));
