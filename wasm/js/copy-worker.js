// The Web Worker of copy.js: stream copy only.
import init, * as wasm from './converso_copy.js';
import { serveWorker } from './serve-worker.js';

serveWorker(init, wasm);
