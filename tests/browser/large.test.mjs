// A video over 2 GB (made here with ffmpeg, deleted after) extracted on the demo page in headless
// Chromium, with the memory of the tab sampled throughout.
//
// Bounds, and why: the input is 2.2 GB, so a code path that loads it whole (or a large part of
// it) breaks them many times over. The page's own JS heap holds the UI and a `File` handle: 32 MB.
// The renderer's anonymous memory (page, extraction worker, wasm memory, output waiting to be
// folded into the Blob) starts near 50 MB; the worker reads the audio's byte ranges in slices,
// and the garbage of those reads is collected late (measured: ~250 MB at the peak for this
// input, more for larger ones), so 400 MB — a fifth of the input — is the bound.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, decodedDuration, ffprobe } from '../edge/harness.mjs';
import { launch, watchConsole } from './browser.mjs';
import { serveStatic } from './static.mjs';

const JS_HEAP_BOUND = 32 << 20;
const RENDERER_ANON_BOUND = 400 << 20;
// The input's size; CONVERSO_LARGE_BYTES changes it (e.g. 4.4e9; the bound is for 2.2 GB).
const SIZE = Number(process.env.CONVERSO_LARGE_BYTES ?? 2_200_000_000);

let dir;
let video;
let server;
let browser;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'converso-large-'));
  // 10 s of noise video at a high bitrate with an AAC tone, looped by stream copy to 2.2 GB
  // (moov at the end, so the index is read from the far end of the file first).
  const seg = join(dir, 'segment.mp4');
  video = join(dir, 'large.mp4');
  const ff = (args) => {
    const r = spawnSync('ffmpeg', ['-nostdin', '-v', 'error', '-y', ...args], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  };
  ff(['-f', 'lavfi', '-i', 'color=c=gray:s=640x360:r=25,noise=alls=100:allf=t', '-f', 'lavfi', '-i', 'sine=f=440:sample_rate=44100',
    '-t', '10', '-c:v', 'mpeg4', '-q:v', '1', '-c:a', 'aac', '-b:a', '128k', '-ac', '2', seg]);
  ff(['-stream_loop', '-1', '-i', seg, '-c', 'copy', '-fs', String(SIZE), video]);
  rmSync(seg);
  assert.ok(statSync(video).size >= 2 * 1024 ** 3, 'the input is over 2 GiB');
});
after(async () => {
  await browser?.close();
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/**
 * Anonymous resident memory (bytes, from /proc) of the largest of this browser's renderer
 * processes: the one running the page and its workers. Anonymous memory is what the page, the
 * workers, the wasm memory and buffers use; file-backed pages (Chromium's own code, shared by
 * every process) are left out.
 */
function rendererAnon() {
  let max = 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.includes('--type=renderer') || !cmd.includes(browser.profile)) continue;
      const kb = /RssAnon:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      max = Math.max(max, kb ? Number(kb[1]) * 1024 : 0);
    } catch { /* the process ended */ }
  }
  return max;
}

test('a video over 2 GB extracts in the page with bounded memory', async () => {
  server = await serveStatic(join(REPO_ROOT, 'www'));
  browser = await launch();
  const page = await browser.context.newPage();
  const problems = watchConsole(page);
  const cdp = await browser.context.newCDPSession(page);
  await cdp.send('Performance.enable');
  await page.goto(server.base + '/');
  await page.setInputFiles('#file', video);
  await page.waitForFunction(() => document.getElementById('plan').textContent !== '' || !document.getElementById('error').hidden,
    null, { timeout: 60_000 });
  assert.match(await page.textContent('#plan'), /^Lossless copy/);

  let heapPeak = 0;
  let anonPeak = 0;
  const sample = async () => {
    const { metrics } = await cdp.send('Performance.getMetrics');
    heapPeak = Math.max(heapPeak, metrics.find((m) => m.name === 'JSHeapUsedSize').value);
    anonPeak = Math.max(anonPeak, rendererAnon());
  };
  await sample();
  assert.ok(anonPeak > 0, 'the renderer processes were found');
  const anonBefore = anonPeak;
  const started = Date.now();
  await page.click('#extract');
  let done = false;
  const waiting = page.waitForFunction(() => document.getElementById('result').dataset.done === 'true' || !document.getElementById('error').hidden,
    null, { timeout: 600_000 }).then(() => { done = true; });
  while (!done) {
    await sample();
    await new Promise((r) => setTimeout(r, 100));
  }
  await waiting;
  await sample();
  const seconds = (Date.now() - started) / 1000;
  assert.ok(await page.isHidden('#error'), await page.textContent('#error'));

  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  const out = join(dir, 'large.aac');
  await download.saveAs(out);
  const expected = ffprobe(video).duration;
  assert.equal(ffprobe(out).streams[0].codec_name, 'aac');
  assert.ok(Math.abs(decodedDuration(out) - expected) < 0.1, `${decodedDuration(out)} s of audio, the video has ${expected} s`);
  const mb = (n) => `${(n / (1 << 20)).toFixed(1)} MB`;
  console.log(`# ${(SIZE / 1e9).toFixed(1)} GB input: ${seconds.toFixed(1)} s, page JS heap peak ${mb(heapPeak)}, renderer anonymous memory ${mb(anonBefore)} before, ${mb(anonPeak)} at most`);
  assert.ok(heapPeak < JS_HEAP_BOUND, `page JS heap peaked at ${mb(heapPeak)}`);
  assert.ok(anonPeak < RENDERER_ANON_BOUND, `the renderer's anonymous memory peaked at ${mb(anonPeak)}`);
  assert.deepEqual(problems, []);
});
