// Compiled (not run) against the package's Node types (the "node" export condition).
import { extract, probe, type ExtractResult } from 'converso-audio';
import * as copy from 'converso-audio/copy';
import * as full from 'converso-audio';

export async function use(): Promise<Uint8Array> {
  const info = await probe('video.mp4');
  const r: ExtractResult = await extract(new URL('file:///video.mp4'), { format: 'flac' });
  console.log(info.duration, r.output.losslessCopy);
  return r.bytes;
}

// @ts-expect-error: Node results carry bytes, not a Blob
export const noBlob = async () => (await extract('video.mp4', { format: 'aac' })).blob;

// converso-audio/copy in Node: the same API and types as the main Node entry.
export const sameApi: typeof full = copy;
export const copyBytes = async (): Promise<Uint8Array> => (await copy.extract('video.mp4', { format: 'aac' })).bytes;
