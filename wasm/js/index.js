// converso-audio in the browser: probe() and extract() run the engine in a dedicated Web
// Worker (one per call), so the page stays responsive and a File is read in slices, never
// loaded whole. See index.d.ts for the API.

import { ConversoError, toConversoError } from './errors.js';
import { optionsJson, outputFilename } from './engine.js';

export { ConversoError };

let compiled;

// The engine, compiled once per page and handed to each worker.
function engine() {
  const url = new URL('./converso_wasm_bg.wasm', import.meta.url);
  compiled ??= WebAssembly.compileStreaming(fetch(url)).catch(async () => {
    const resp = await fetch(url);
    if (!resp.ok) throw new ConversoError('INTERNAL_ERROR', `the engine could not be loaded from ${url} (HTTP ${resp.status})`);
    return WebAssembly.compile(await resp.arrayBuffer());
  });
  return compiled;
}

function asWorkerInput(input) {
  if (input instanceof Blob) return input;
  if (input instanceof ArrayBuffer) return new Uint8Array(input);
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  throw new ConversoError('INVALID_VIDEO', 'the input must be a File, Blob, ArrayBuffer or Uint8Array');
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
        worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: `converso-${op}` });
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
export async function probe(input, { signal } = {}) {
  return (await run('probe', input, undefined, { signal })).info;
}

/** What extract() would do with these options (copy or re-encode, and why), without doing it. */
export async function plan(input, options, { signal } = {}) {
  optionsJson(options);
  return (await run('plan', input, options, { signal })).plan;
}

/** Extracts the audio of `input` as `options.format`; see index.d.ts. */
export async function extract(input, options, { onProgress, signal } = {}) {
  optionsJson(options); // a non-object fails here, before a worker starts
  const r = await run('extract', input, options, { onProgress, signal });
  const filename = outputFilename(input instanceof File ? input.name : undefined, r.output.extension);
  return { blob: r.blob, filename, info: r.info, plan: r.plan, output: r.output };
}
