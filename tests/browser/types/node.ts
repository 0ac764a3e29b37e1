// Compiled (not run) against the package's Node types (the "node" export condition).
import { extract, probe, type ExtractResult } from 'converso-audio';

export async function use(): Promise<Uint8Array> {
  const info = await probe('video.mp4');
  const r: ExtractResult = await extract(new URL('file:///video.mp4'), { format: 'flac' });
  console.log(info.duration, r.output.losslessCopy);
  return r.bytes;
}

// @ts-expect-error: Node results carry bytes, not a Blob
export const noBlob = async () => (await extract('video.mp4', { format: 'aac' })).blob;
