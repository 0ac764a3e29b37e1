// The demo page in headless Chromium, served by the Worker under `wrangler dev` (as scripts/run
// serves it): pick a video, see its tracks, extract to each format, download, check the file with
// ffprobe; cancel mid-way; a corrupt file; the API tab; keyboard use; a screenshot.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  FIXTURES_DIR, REPO_ROOT, decodedDuration, defaultVars, ffmpegDecodeErrors, ffprobe, manifest, startFixtureServer,
  startService, testKeys,
} from '../edge/harness.mjs';
import { launch, watchConsole } from './browser.mjs';

const OUT = join(REPO_ROOT, 'target', 'browser');
const DOWNLOADS = join(OUT, 'downloads');
const FORMATS = ['mp3', 'aac', 'flac', 'wav', 'ogg', 'opus'];
const CODEC = { mp3: /^mp3$/, aac: /^aac$/, flac: /^flac$/, wav: /^pcm_/, ogg: /^vorbis$/, opus: /^opus$/ };
// One source per audio codec the engine decodes, plus layouts (5.1, mono).
const SOURCES = [
  'mp4_h264_aac_stereo44k.mp4', 'mp4_h264_aac_5.1_48k.mp4', 'mp4_h264_aac_mono48k.mp4', 'webm_vp9_opus.webm',
  'webm_vp8_vorbis.webm', 'mkv_h264_flac.mkv', 'mp4_h264_mp3.mp4', 'mp4_h264_alac.mp4', 'mov_h264_pcm_s16le.mov',
];
// Sources whose audio can be copied but not decoded (no decoder for AAC with more than two
// channels): every re-encode shows INVALID_VIDEO.
const UNDECODABLE = new Set(['mp4_h264_aac_5.1_48k.mp4']);
// The format that keeps each source codec as it is: the page picks it by default.
const COPY_FORMAT = { aac: 'aac', mp3: 'mp3', opus: 'opus', vorbis: 'ogg', flac: 'flac', pcm_s16le: 'wav' };

const keys = testKeys();
let svc;
let fx;
let browser;
let page;
let problems;

before(async () => {
  assert.ok(existsSync(join(REPO_ROOT, 'www', 'pkg', 'index.js')), 'www/pkg is missing: run scripts/build-wasm first');
  rmSync(DOWNLOADS, { recursive: true, force: true });
  mkdirSync(DOWNLOADS, { recursive: true });
  fx = await startFixtureServer();
  svc = await startService({ name: 'browser-page', vars: defaultVars(keys) });
  browser = await launch();
  page = await browser.context.newPage();
  problems = watchConsole(page);
  await page.goto(svc.base + '/');
});
after(async () => {
  await browser?.close();
  await svc?.stop();
  await fx?.close();
});

async function pick(name) {
  await page.setInputFiles('#file', join(FIXTURES_DIR, name));
  await page.waitForFunction(() => !document.getElementById('source').hidden || !document.getElementById('error').hidden);
}

async function planSettled() {
  await page.waitForFunction(() => document.getElementById('plan').textContent !== '' || !document.getElementById('error').hidden);
}

async function setFormat(format) {
  await page.evaluate(() => { document.getElementById('plan').textContent = ''; });
  await page.selectOption('#format', format);
  await planSettled();
}

/** Clicks Extract and waits for the result (or an error); returns the saved download's path. */
async function extractAndDownload(saveAs) {
  await page.click('#extract');
  await page.waitForFunction(() => document.getElementById('result').dataset.done === 'true' || !document.getElementById('error').hidden,
    null, { timeout: 120_000 });
  await page.waitForSelector('#running', { state: 'hidden' });
  const error = await page.locator('#error').isVisible() ? await page.textContent('#error') : null;
  assert.equal(error, null, `the page shows an error: ${error}`);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  const path = join(DOWNLOADS, saveAs);
  await download.saveAs(path);
  return { path, suggested: download.suggestedFilename() };
}

describe('the demo page extracts in the browser', () => {
  for (const name of SOURCES) {
    test(name, async () => {
      const m = manifest().get(name);
      const audio = m.audio[0];
      await pick(name);
      // The tracks table lists every track with codec, channels and rate.
      const rows = await page.$$eval('#tracks tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
      const audioRow = rows.find((r) => r[1].startsWith('audio'));
      assert.ok(audioRow, `no audio row in ${JSON.stringify(rows)}`);
      assert.equal(Number(audioRow[3]), audio.channels);
      assert.equal(audioRow[4], `${audio.sample_rate} Hz`);
      assert.ok(rows.some((r) => r[1].startsWith('video')), 'the video track is listed');
      // The default format is the lossless copy, and the page says so.
      await planSettled();
      assert.equal(await page.inputValue('#format'), COPY_FORMAT[audio.codec] ?? 'flac');
      const planText = await page.textContent('#plan');
      if (COPY_FORMAT[audio.codec]) assert.match(planText, /^Lossless copy/);
      else assert.match(planText, /^Re-encode: /);

      for (const format of FORMATS) {
        await setFormat(format);
        const refused = await page.getAttribute('#plan', 'data-code');
        if (UNDECODABLE.has(name) && format !== COPY_FORMAT[audio.codec]) {
          assert.equal(await page.getAttribute('#error', 'data-code'), 'INVALID_VIDEO');
          assert.ok(await page.isDisabled('#extract'));
          continue;
        }
        assert.equal(refused, null, `plan for ${format}: ${await page.textContent('#plan')}`);
        if (format === 'ogg' && audio.codec !== 'vorbis') {
          // A re-encode with the Vorbis encoder, at the default quality level.
          assert.match(await page.textContent('#plan'), /^Re-encode: .*\(VBR quality 4\)\.$/);
        }
        const { path, suggested } = await extractAndDownload(`${name}.${format}`);
        assert.equal(suggested, `${name.replace(/\.[^.]+$/, '')}.${format}`);
        const probe = ffprobe(path);
        const stream = probe.streams.find((s) => s.codec_type === 'audio');
        assert.match(stream.codec_name, CODEC[format], `${format} from ${name}`);
        if (format === 'ogg') {
          // Vorbis keeps the source's layout and rate (8–48 kHz).
          assert.equal(stream.channels, audio.channels, `ogg from ${name}: channels`);
          assert.equal(Number(stream.sample_rate), audio.sample_rate, `ogg from ${name}: rate`);
        }
        assert.equal(ffmpegDecodeErrors(path), '', `${path} decodes cleanly`);
        const seconds = decodedDuration(path);
        assert.ok(Math.abs(seconds - m.duration_s) < 0.1, `${format} from ${name}: ${seconds} s of audio, source ${m.duration_s} s`);
        assert.match(await page.textContent('#result-summary'), new RegExp(`^${suggested.replace('.', '\\.')}: `));
      }
    });
  }
  test('no console errors', () => assert.deepEqual(problems, []));
});

describe('the demo page reports what it cannot do', () => {
  for (const [name, code] of [
    ['broken_text_as.mp4', 'INVALID_VIDEO'], ['broken_empty.mp4', 'INVALID_VIDEO'], ['mkv_h264_ac3_5.1.mkv', 'INVALID_VIDEO'],
    ['mp4_h264_noaudio.mp4', 'INVALID_VIDEO'], ['avi_mpeg4_mp3.avi', 'INVALID_VIDEO'],
  ]) {
    test(`${name} shows ${code} with an explanation`, async () => {
      await pick(name);
      await page.waitForFunction(() => !document.getElementById('error').hidden);
      assert.equal(await page.getAttribute('#error', 'data-code'), code);
      const text = await page.textContent('#error');
      assert.match(text, new RegExp(`^${code}: \\S+`));
      assert.ok(text.length > code.length + 20, `a plain explanation: ${text}`);
    });
  }

  test('cancel stops a long extraction mid-way', async () => {
    await pick('long_mp4_h264_aac_stereo44k_10min.mp4');
    await setFormat('mp3');
    await page.click('#extract');
    await page.waitForFunction(() => Number(document.getElementById('progress').value) > 0.05, null, { timeout: 60_000 });
    const at = Number(await page.getAttribute('#progress', 'value') ?? 0);
    await page.click('#cancel');
    await page.waitForFunction(() => !document.getElementById('error').hidden);
    assert.equal(await page.getAttribute('#error', 'data-code'), 'CANCELLED');
    assert.ok(await page.isHidden('#result'), 'no result after a cancel');
    assert.ok(await page.isEnabled('#extract'), 'ready for another try');
    assert.ok(at < 1, `cancelled before the end (${at})`);
    // The worker is gone: nothing keeps running in the background.
    for (let i = 0; i < 50 && page.workers().length; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(page.workers().length, 0, 'the extraction worker was stopped');
  });
});

test('a file picked while the engine is still loading is taken up once it has loaded', async () => {
  const slow = await browser.context.newPage();
  try {
    // The page's script waits for the engine before it listens for a pick; hold the engine back.
    await slow.route('**/pkg/index.js', async (route) => {
      await new Promise((r) => setTimeout(r, 1500));
      await route.continue();
    });
    await slow.goto(svc.base + '/');
    await slow.setInputFiles('#file', join(FIXTURES_DIR, 'mp4_h264_aac_stereo44k.mp4'));
    await slow.waitForFunction(() => document.getElementById('plan').textContent !== '' || !document.getElementById('error').hidden);
    assert.match(await slow.textContent('#plan'), /^Lossless copy/);
  } finally {
    await slow.close();
  }
});

test('a browser without WebAssembly SIMD is told so', async () => {
  const old = await browser.context.newPage();
  try {
    // Chromium has SIMD; make the package's check see a browser without it.
    await old.addInitScript(() => { WebAssembly.validate = () => false; });
    await old.goto(svc.base + '/');
    await old.setInputFiles('#file', join(FIXTURES_DIR, 'mp4_h264_aac_stereo44k.mp4'));
    await old.waitForFunction(() => !document.getElementById('error').hidden);
    assert.equal(await old.getAttribute('#error', 'data-code'), 'INTERNAL_ERROR');
    assert.match(await old.textContent('#error'), /lacks WebAssembly SIMD/);
  } finally {
    await old.close();
  }
});

describe('the API tab', () => {
  test('submits a URL job, follows its progress and offers the download', async () => {
    await page.click('#tab-api');
    assert.ok(await page.isVisible('#panel-api'));
    await page.fill('#api-key', keys.pro);
    await page.fill('#api-url', fx.url('/f/mp4_h264_aac_stereo44k.mp4'));
    await page.selectOption('#api-format', 'mp3');
    await page.click('#api-submit');
    await page.waitForFunction(() => !document.getElementById('api-download').hidden || !document.getElementById('api-error').hidden,
      null, { timeout: 120_000 });
    assert.ok(await page.isHidden('#api-error'), await page.textContent('#api-error'));
    assert.match(await page.textContent('#api-job-id'), /^job_[0-9a-f]{16}$/);
    assert.equal(await page.textContent('#api-status'), 'completed');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#api-download')]);
    const path = join(DOWNLOADS, 'api.mp3');
    await download.saveAs(path);
    assert.equal(ffprobe(path).streams[0].codec_name, 'mp3');
  });

  test('a wrong key shows UNAUTHORIZED', async () => {
    await page.fill('#api-key', 'ck_wrong');
    await page.click('#api-submit');
    await page.waitForFunction(() => !document.getElementById('api-error').hidden);
    assert.equal(await page.getAttribute('#api-error', 'data-code'), 'UNAUTHORIZED');
  });

  test('tabs work from the keyboard', async () => {
    await page.focus('#tab-api');
    await page.keyboard.press('ArrowLeft');
    assert.equal(await page.getAttribute('#tab-local', 'aria-selected'), 'true');
    assert.ok(await page.isVisible('#panel-local'));
    assert.equal(await page.evaluate(() => document.activeElement.id), 'tab-local');
  });
});

test('screenshot of a finished extraction', async () => {
  await pick('webm_vp9_opus.webm');
  await setFormat('opus');
  await extractAndDownload('screenshot.opus');
  const path = join(OUT, 'page.png');
  await page.screenshot({ path, fullPage: true });
  assert.ok(existsSync(path));
});
