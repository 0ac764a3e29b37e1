// The loop shared by the browser worker and Node: step a Job, report progress, hand output
// chunks to the caller as they are produced, and check the AbortSignal between steps.

import { toConversoError } from './errors.js';

// Reads from the input in blocks: the demuxer asks for a few KiB at a time, and each call to
// FileReaderSync or fs.readSync has a fixed cost. Reads that go on where the last block ended,
// or at most `near` bytes after it, double the block (sequential reading, e.g. Matroska, or an
// MP4 whose audio and video are finely interleaved); a further jump fetches what is asked, or a
// small block. In an MP4 the engine leaves the video unread and asks for each stretch of audio
// between video samples whole, so a jump over video reads no video.
const JUMP_BLOCK = 4 * 1024;
const MAX_BLOCK = 4 * 1024 * 1024;
// A gap read past rather than jumped over, by default (fs.readSync calls cost little).
const NEAR = 16 * 1024;
// Give the event loop a turn this often (ms), so an abort can be noticed.
const YIELD_EVERY = 50;
// Report progress at most this often (ms).
const PROGRESS_EVERY = 100;

const nextTurn = () => new Promise((resolve) => (globalThis.setImmediate ?? setTimeout)(resolve));

/**
 * `(offset, length) => Uint8Array` over `fetchBlock(offset, size)`, keeping the last block;
 * gaps of up to `near` bytes between reads are read past.
 */
export function cachedReader(fetchBlock, { near = NEAR } = {}) {
  let start = 0;
  let block = new Uint8Array(0);
  let size = JUMP_BLOCK;
  return (offset, length) => {
    if (offset < start || offset + length > start + block.length) {
      const sequential = block.length > 0 && offset >= start && offset <= start + block.length + near;
      size = sequential ? Math.min(size * 2, MAX_BLOCK) : JUMP_BLOCK;
      block = fetchBlock(offset, Math.max(length, size));
      start = offset;
    }
    return block.subarray(offset - start, offset - start + length);
  };
}

/** A reader over bytes in memory. */
export function memoryReader(bytes) {
  return (offset, length) => bytes.subarray(offset, offset + length);
}

/** The API's `output` object as the engine's JSON, or a ConversoError. */
export function optionsJson(options) {
  if (options == null || typeof options !== 'object' || Array.isArray(options)) {
    throw toConversoError({ code: 'INVALID_OUTPUT', message: 'options must be an object like {"format":"mp3"}' });
  }
  return JSON.stringify(options);
}

/** Describes the input behind `read` (`len` bytes). */
export function probeWith(wasm, read, len) {
  try {
    return JSON.parse(wasm.probe(read, len));
  } catch (e) {
    throw toConversoError(e);
  }
}

/** What an extraction of the input behind `read` with `options` would do, without doing it. */
export function planWith(wasm, read, len, options) {
  let job;
  try {
    job = new wasm.Job(read, len, optionsJson(options));
    return JSON.parse(job.plan());
  } catch (e) {
    throw toConversoError(e);
  } finally {
    job?.free();
  }
}

/**
 * Extracts the audio: calls `onChunks(Uint8Array[])` with output as it is produced and returns
 * `{head, tail, info, plan, output}`; the whole output is head, the chunks in order, tail.
 */
export async function extractWith(wasm, read, len, options, { onProgress, onChunks, signal } = {}) {
  signal?.throwIfAborted();
  const started = Date.now();
  let job;
  try {
    job = new wasm.Job(read, len, optionsJson(options));
    const info = JSON.parse(job.info());
    const plan = JSON.parse(job.plan());
    let lastYield = Date.now();
    let lastReport = 0;
    for (;;) {
      const progress = job.step();
      const chunks = job.takeChunks();
      if (chunks.length) onChunks?.(chunks);
      const now = Date.now();
      if (onProgress && (progress === 1 || now - lastReport >= PROGRESS_EVERY)) {
        lastReport = now;
        onProgress(progressReport(progress, now - started));
      }
      if (progress === 1) break;
      if (now - lastYield >= YIELD_EVERY) {
        await nextTurn();
        signal?.throwIfAborted();
        lastYield = Date.now();
      }
    }
    const done = job;
    job = undefined; // finish() consumes the job, even when it throws
    const finished = done.finish();
    return { head: finished.head, tail: finished.tail, info, plan, output: JSON.parse(finished.output) };
  } catch (e) {
    throw toConversoError(e, signal);
  } finally {
    job?.free();
  }
}

function progressReport(progress, elapsedMs) {
  const remainingMs = progress > 0.01 && progress < 1 ? Math.round((elapsedMs * (1 - progress)) / progress) : progress === 1 ? 0 : null;
  return { progress, elapsedMs, remainingMs };
}

/** `name.ext` for the output of an input called `inputName` (or "audio"). */
export function outputFilename(inputName, extension) {
  const base = (inputName ?? '').replace(/^.*[\\/]/, '').replace(/\.[^.]*$/, '') || 'audio';
  return `${base}.${extension}`;
}
