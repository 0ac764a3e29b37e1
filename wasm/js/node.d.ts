// converso-audio in Node 20+: a path (or file: URL) is read in slices, never loaded whole.
import type { ExtractControls, ExtractResultBase, MediaInfo, OutputOptions, Plan } from './types.js';

export * from './types.js';

export type Input = string | URL | Blob | ArrayBuffer | Uint8Array;

export interface ExtractResult extends ExtractResultBase {
  /** The output. */
  bytes: Uint8Array;
}

/** Describes a video or audio file: container, duration, tracks and tags. */
export function probe(input: Input): Promise<MediaInfo>;

/** What extract() would do with these options (copy or re-encode, and why), without doing it. */
export function plan(input: Input, options: OutputOptions): Promise<Plan>;

/** Extracts the audio of `input` as `options.format`, copying the packets when the codec allows. */
export function extract(input: Input, options: OutputOptions, controls?: ExtractControls): Promise<ExtractResult>;
