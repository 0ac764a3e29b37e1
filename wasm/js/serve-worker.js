// The dedicated Web Worker that runs one probe or extraction for browser.js, for either build
// of the engine (worker.js, copy-worker.js). It reads a File or Blob in slices with
// FileReaderSync (never the whole file at once), and gathers the output into a Blob as it is
// produced, so a multi-GB input stays out of memory.

import { cachedReader, extractWith, memoryReader, planWith, probeWith } from './engine.js';

// Output chunks are folded into the Blob once this many bytes are pending: the browser may then
// keep them outside the JS heap.
const FOLD = 16 * 1024 * 1024;
// A gap between reads that is read past rather than jumped over: in Chromium a FileReaderSync
// call costs about 0.5 ms, as much as reading some 256 KiB more.
const NEAR = 256 * 1024;

function reader(input) {
  if (input instanceof Blob) {
    const files = new FileReaderSync();
    const slice = (offset, size) => new Uint8Array(files.readAsArrayBuffer(input.slice(offset, offset + size)));
    const read = cachedReader(slice, { near: NEAR });
    return { read, len: input.size };
  }
  return { read: memoryReader(input), len: input.byteLength };
}

/** Answers browser.js's messages with `wasm`, the engine's bindings, set up by `init`. */
export function serveWorker(init, wasm) {
  self.onmessage = async ({ data: { op, input, options, module } }) => {
    try {
      await init({ module_or_path: module });
      const { read, len } = reader(input);
      if (op === 'probe') {
        self.postMessage({ type: 'result', info: probeWith(wasm, read, len) });
        return;
      }
      if (op === 'plan') {
        self.postMessage({ type: 'result', plan: planWith(wasm, read, len, options) });
        return;
      }
      let body = new Blob([]);
      let pending = [];
      let pendingBytes = 0;
      const onChunks = (chunks) => {
        for (const c of chunks) pendingBytes += c.byteLength;
        pending.push(...chunks);
        if (pendingBytes >= FOLD) {
          body = new Blob([body, ...pending]);
          pending = [];
          pendingBytes = 0;
        }
      };
      const onProgress = (p) => self.postMessage({ type: 'progress', ...p });
      const r = await extractWith(wasm, read, len, options, { onProgress, onChunks });
      const blob = new Blob([r.head, body, ...pending, r.tail], { type: r.output.mimeType });
      self.postMessage({ type: 'result', blob, info: r.info, plan: r.plan, output: r.output });
    } catch (e) {
      const { code, message, details } = e;
      self.postMessage({ type: 'error', error: { code, message: message ?? String(e), details } });
    }
  };
}
