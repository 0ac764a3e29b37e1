// A minimal app using converso-audio the way an app would: imported by name, bundled by Vite;
// and converso-audio/copy, the copy-only build, beside it.
import { ConversoError, extract, probe } from 'converso-audio';
import * as copyOnly from 'converso-audio/copy';

const out = document.getElementById('out');
try {
  const video = await (await fetch('/fixture.webm')).blob();
  const info = await probe(video);
  const progress = [];
  const r = await extract(video, { format: 'opus' }, { onProgress: (p) => progress.push(p.progress) });
  const copied = await copyOnly.extract(video, { format: 'opus' });
  const copiedBytes = new Uint8Array(await copied.blob.arrayBuffer());
  const fullBytes = new Uint8Array(await r.blob.arrayBuffer());
  const sameBytes = copiedBytes.length === fullBytes.length && copiedBytes.every((b, i) => b === fullBytes[i]);
  const refused = await copyOnly.extract(video, { format: 'mp3' }).catch((e) => e.code);
  let invalid = null;
  try {
    await extract(new Blob([new Uint8Array(64)]), { format: 'mp3' });
  } catch (e) {
    invalid = e instanceof ConversoError ? e.code : `not a ConversoError: ${e}`;
  }
  document.body.dataset.result = JSON.stringify({
    container: info.container, tracks: info.tracks.length, mode: r.plan.mode, type: r.blob.type, size: r.blob.size,
    outputSize: r.output.size, lastProgress: progress.at(-1), invalid, copyMode: copied.plan.mode, sameBytes, refused,
  });
  out.textContent = 'done';
} catch (e) {
  document.body.dataset.error = `${e.code ?? e.name}: ${e.message}`;
  out.textContent = 'failed';
}
