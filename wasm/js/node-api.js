// converso-audio in Node (20+, ESM), for either build of the engine (node.js: every encoder;
// copy-node.js: stream copy only): the engine runs in the calling thread between turns of the
// event loop. A path is read with fs.readSync in slices, never loaded whole.

import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { ConversoError } from './errors.js';
import { cachedReader, extractWith, memoryReader, outputFilename, planWith, probeWith } from './engine.js';

async function open(input) {
  if (typeof input === 'string' || input instanceof URL) {
    const path = input instanceof URL ? fileURLToPath(input) : input;
    let fd;
    try {
      fd = openSync(path, 'r');
    } catch (e) {
      throw new ConversoError('INVALID_VIDEO', `the input file cannot be opened: ${e.message}`);
    }
    const len = fstatSync(fd).size;
    const read = cachedReader((offset, size) => {
      const buf = new Uint8Array(Math.min(size, Math.max(0, len - offset)));
      const n = readSync(fd, buf, 0, buf.length, offset);
      return buf.subarray(0, n);
    });
    return { read, len, name: path, close: () => closeSync(fd) };
  }
  let bytes;
  if (input instanceof ArrayBuffer) bytes = new Uint8Array(input);
  else if (ArrayBuffer.isView(input)) bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  else if (typeof Blob !== 'undefined' && input instanceof Blob) bytes = new Uint8Array(await input.arrayBuffer());
  else throw new ConversoError('INVALID_VIDEO', 'the input must be a path, file: URL, Uint8Array, ArrayBuffer or Blob');
  return { read: memoryReader(bytes), len: bytes.length, name: input.name, close: () => {} };
}

/** The API over `wasm`, the bindings of the engine in `wasmUrl`, loaded on first use. */
export function nodeApi(wasm, wasmUrl) {
  let loaded = false;

  function load() {
    if (!loaded) {
      wasm.initSync({ module: readFileSync(wasmUrl) });
      loaded = true;
    }
  }

  /** Runs `fn` on the opened input, closing it after. */
  async function withInput(input, fn) {
    load();
    const opened = await open(input);
    try {
      return await fn(opened);
    } finally {
      opened.close();
    }
  }

  /** Describes a video or audio file: container, duration, tracks and tags. */
  function probe(input) {
    return withInput(input, ({ read, len }) => probeWith(wasm, read, len));
  }

  /** What extract() would do with these options (copy or re-encode, and why), without doing it. */
  function plan(input, options) {
    return withInput(input, ({ read, len }) => planWith(wasm, read, len, options));
  }

  /** Extracts the audio of `input` as `options.format`; see node.d.ts. */
  function extract(input, options, { onProgress, signal } = {}) {
    return withInput(input, async ({ read, len, name }) => {
      const chunks = [];
      const r = await extractWith(wasm, read, len, options, { onProgress, signal, onChunks: (c) => chunks.push(...c) });
      const bytes = new Uint8Array(r.output.size);
      let at = 0;
      for (const part of [r.head, ...chunks, r.tail]) {
        bytes.set(part, at);
        at += part.length;
      }
      return { bytes, filename: outputFilename(name, r.output.extension), info: r.info, plan: r.plan, output: r.output };
    });
  }

  return { probe, plan, extract };
}
