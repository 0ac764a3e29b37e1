// Compiled (not run) against the package's browser types: what an app writes must type-check,
// and misuse must not (the @ts-expect-error lines fail the build if the types accept them).
import { ConversoError, extract, plan, probe, type MediaInfo, type OutputOptions, type Plan, type Progress } from 'converso-audio';
import * as copy from 'converso-audio/copy';
import * as full from 'converso-audio';

export async function use(file: File): Promise<Blob> {
  const info: MediaInfo = await probe(file);
  const audio = info.tracks.find((t) => t.kind === 'audio');
  const rate: number | undefined = audio?.sampleRate;
  const options: OutputOptions = { format: 'mp3', quality: 'high', bitrate: '192k', normalize: true, preserveMetadata: true };
  const p: Plan = await plan(file, options);
  const why: string = p.mode === 'transcode' ? p.reason.kind : 'copy';
  const controller = new AbortController();
  try {
    const r = await extract(new Uint8Array(8), options, {
      signal: controller.signal,
      onProgress: (x: Progress) => console.log(x.progress, x.elapsedMs, x.remainingMs ?? 'unknown'),
    });
    const name: string = r.filename;
    const size: number = r.output.size;
    console.log(rate, why, name, size, r.plan.description, r.info.container);
    return r.blob;
  } catch (e) {
    if (e instanceof ConversoError) console.log(e.code, e.details);
    throw e;
  }
}

// @ts-expect-error: not a format
export const badFormat: OutputOptions = { format: 'm4a' };
// @ts-expect-error: bitrate is a string such as "192k"
export const badBitrate: OutputOptions = { format: 'mp3', bitrate: 192 };
// @ts-expect-error: the browser build takes no paths
export const badInput = () => extract('video.mp4', { format: 'aac' });

// converso-audio/copy has the same API and types.
export const sameApi: typeof full = copy;
export const copyResult = async (file: File): Promise<Blob> => (await copy.extract(file, { format: 'aac' })).blob;
