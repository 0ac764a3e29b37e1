// Types shared by the browser (index.d.ts) and Node (node.d.ts) entry points.

/** The API's error codes that the engine produces. */
export type ErrorCode = 'INVALID_VIDEO' | 'INVALID_OUTPUT' | 'EXTRACTION_FAILED' | 'INTERNAL_ERROR' | (string & {});

/** Every failure of probe() and extract(). Cancellation rejects with the AbortSignal's reason instead. */
export declare class ConversoError extends Error {
  readonly name: 'ConversoError';
  /** One of the API's error codes, e.g. `INVALID_VIDEO`. */
  readonly code: ErrorCode;
  /** More about the failure, when there is more to say. */
  readonly details?: string;
  constructor(code: ErrorCode, message: string, details?: string);
  toJSON(): { code: ErrorCode; message: string; details?: string };
}

export type OutputFormat = 'mp3' | 'aac' | 'flac' | 'wav' | 'ogg' | 'opus';
export type Quality = 'low' | 'medium' | 'high' | 'extreme';

/** The API's `output` object: same names, same validation, same error codes. */
export interface OutputOptions {
  format: OutputFormat;
  /** Default `medium`; lossless formats ignore it. */
  quality?: Quality;
  /** Like `"192k"` or `"192000"`; overrides `quality`, checked against the format's range. */
  bitrate?: string;
  /** EBU R128 loudness normalisation. Default false. */
  normalize?: boolean;
  /** Copy the source's tags into the output. Default false. */
  preserveMetadata?: boolean;
}

export interface TrackInfo {
  index: number;
  /** Position among the audio tracks (audio tracks only). */
  audioIndex: number | null;
  kind: 'audio' | 'video' | 'subtitle' | 'unknown';
  codec: string;
  profile?: string;
  channels?: number;
  sampleRate?: number;
  bitsPerSample?: number;
  /** Bits per second. */
  bitrate?: number;
  /** Seconds. */
  duration?: number;
  language?: string;
  default: boolean;
}

export interface MediaInfo {
  container: 'mp4' | 'mov' | 'm4a' | 'mkv' | 'webm' | 'ogg' | 'wav' | 'flac' | 'mp3' | 'aac';
  /** Bytes. */
  size: number;
  /** Seconds. */
  duration?: number;
  tracks: TrackInfo[];
  tags: { title?: string; artist?: string; album?: string; date?: string; comment?: string; language?: string };
}

export type TranscodeReason =
  | { kind: 'codecDiffers'; from: string; to: OutputFormat }
  | { kind: 'pcmLayout'; from: string }
  | { kind: 'normalize' }
  | { kind: 'bitrateChange'; from: number | null; to: number };

/** What the extraction does: copy the packets (lossless) or re-encode, and why. */
export type Plan = {
  track: TrackInfo;
  format: OutputFormat;
  /** Bits per second, for lossy re-encodes (an average for ogg with a `bitrate`). */
  bitrate?: number;
  /** Ogg Vorbis re-encodes at a quality level: the VBR quality (2, 4, 6 or 9 for low to extreme), instead of a bitrate. */
  vbrQuality?: number;
  resample?: { from: number; to: number };
  downmix?: { from: number; to: number };
  /** The plan in words, e.g. "lossless copy of the audio packets". */
  description: string;
} & ({ mode: 'copy' } | { mode: 'transcode'; reason: TranscodeReason });

/** The output that was produced. */
export interface OutputInfo {
  format: OutputFormat;
  mimeType: string;
  extension: string;
  /** Bytes. */
  size: number;
  /** Seconds. */
  duration?: number;
  channels?: number;
  sampleRate?: number;
  /** Bits per second (for ogg at a quality level, the output's average). */
  bitrate?: number;
  losslessCopy: boolean;
}

export interface Progress {
  /** Fraction of the media done, 0–1. */
  progress: number;
  elapsedMs: number;
  /** Estimate; null until there is enough progress to tell. */
  remainingMs: number | null;
}

export interface ExtractControls {
  /** Called as the extraction goes, at most every 100 ms, and once with progress 1. */
  onProgress?: (p: Progress) => void;
  /** Aborting rejects the promise with `signal.reason` and stops the work. */
  signal?: AbortSignal;
}

export interface ExtractResultBase {
  /** A file name for the output: the input's name with the output's extension, else `audio.<ext>`. */
  filename: string;
  /** What the input holds. */
  info: MediaInfo;
  plan: Plan;
  output: OutputInfo;
}
