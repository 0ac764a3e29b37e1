// converso-audio in the browser, for either build of the engine (index.js: every encoder;
// copy.js: stream copy only): probe() and extract() run the engine in a dedicated Web Worker
// (one per call), so the page stays responsive and a File is read in slices, never loaded
// whole. See index.d.ts for the API.

import { ConversoError, toConversoError } from './errors.js';
import { optionsJson, outputFilename } from './engine.js';

function asWorkerInput(input) {
  if (input instanceof Blob) return input;
  if (input instanceof ArrayBuffer) return new Uint8Array(input);
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  throw new ConversoError('INVALID_VIDEO', 'the input must be a File, Blob, ArrayBuffer or Uint8Array');
}

// A module that validates only where WebAssembly SIMD is supported (Chrome 91, Firefox 89,
// Safari 16.4 and later): `(func (result v128) i32.const 0 i8x16.splat i8x16.popcnt)`.
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);

/**
 * The API over one engine: `wasmUrl` is its module, `startWorker(name)` starts a worker that
 * serves it (serve-worker.js); `simd`: the module needs WebAssembly SIMD. The entry points spell
 * the first two out with `new URL(…, import.meta.url)` and `new Worker(…)`, the forms bundlers
 * recognise.
 */
export function browserApi(wasmUrl, startWorker, { simd = false } = {}) {
  let compiled;

  // The engine, compiled once per page and handed to each worker.
  function engine() {
    if (simd && !WebAssembly.validate(SIMD_PROBE)) {
      return Promise.reject(new ConversoError('INTERNAL_ERROR',
        'this browser cannot run converso-audio: it lacks WebAssembly SIMD (Chrome 91, Firefox 89, Safari 16.4 and later have it); converso-audio/copy runs without it'));
    }
    compiled ??= WebAssembly.compileStreaming(fetch(wasmUrl)).catch(async () => {
      const resp = await fetch(wasmUrl);
      if (!resp.ok) throw new ConversoError('INTERNAL_ERROR', `the engine could not be loaded from ${wasmUrl} (HTTP ${resp.status})`);
      return WebAssembly.compile(await resp.arrayBuffer());
    });
    return compiled;
  }

  function run(op, input, options, { onProgress, signal } = {}) {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      let worker;
      const stop = () => {
        worker?.terminate();
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = () => {
        stop();
        reject(signal.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      engine()
        .then((module) => {
          if (signal?.aborted) return;
          worker = startWorker(`converso-${op}`);
          worker.onmessage = ({ data }) => {
            if (data.type === 'progress') return onProgress?.({ progress: data.progress, elapsedMs: data.elapsedMs, remainingMs: data.remainingMs });
            stop();
            if (data.type === 'error') reject(toConversoError(data.error));
            else resolve(data);
          };
          worker.onerror = (e) => {
            e.preventDefault?.();
            stop();
            reject(new ConversoError('EXTRACTION_FAILED', `the extraction stopped unexpectedly: ${e.message ?? 'worker error'}`));
          };
          worker.postMessage({ op, input: asWorkerInput(input), options, module });
        })
        .catch((e) => {
          stop();
          reject(toConversoError(e));
        });
    });
  }

  /** Describes a video or audio file: container, duration, tracks and tags. */
  async function probe(input, { signal } = {}) {
    return (await run('probe', input, undefined, { signal })).info;
  }

  /** What extract() would do with these options (copy or re-encode, and why), without doing it. */
  async function plan(input, options, { signal } = {}) {
    optionsJson(options);
    return (await run('plan', input, options, { signal })).plan;
  }

  /** Extracts the audio of `input` as `options.format`; see index.d.ts. */
  async function extract(input, options, { onProgress, signal } = {}) {
    optionsJson(options); // a non-object fails here, before a worker starts
    const r = await run('extract', input, options, { onProgress, signal });
    const filename = outputFilename(input instanceof File ? input.name : undefined, r.output.extension);
    return { blob: r.blob, filename, info: r.info, plan: r.plan, output: r.output };
  }

  return { probe, plan, extract };
}
