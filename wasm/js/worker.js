// The Web Worker of index.js: every encoder.
import init, * as wasm from './converso_wasm.js';
import { serveWorker } from './serve-worker.js';

serveWorker(init, wasm);
