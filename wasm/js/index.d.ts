// converso-audio in the browser: the engine runs in a dedicated Web Worker per call and reads a
// File or Blob in slices, so inputs of several GB work without being loaded into memory.
import type { ExtractControls, ExtractResultBase, MediaInfo, OutputOptions, Plan } from './types.js';

export * from './types.js';

export type Input = File | Blob | ArrayBuffer | Uint8Array;

export interface ExtractResult extends ExtractResultBase {
  /** The output, typed with its MIME type. */
  blob: Blob;
}

/** Describes a video or audio file: container, duration, tracks and tags. */
export function probe(input: Input, options?: { signal?: AbortSignal }): Promise<MediaInfo>;

/** What extract() would do with these options (copy or re-encode, and why), without doing it. */
export function plan(input: Input, options: OutputOptions, controls?: { signal?: AbortSignal }): Promise<Plan>;

/** Extracts the audio of `input` as `options.format`, copying the packets when the codec allows. */
export function extract(input: Input, options: OutputOptions, controls?: ExtractControls): Promise<ExtractResult>;
