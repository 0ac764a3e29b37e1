// Job lifecycle: submit → poll → download, for every output the engine can produce today, with
// the output checked by ffprobe/ffmpeg; the status document at each stage (plan, inputFile,
// outputFile, URLs, timestamps); download headers; output file names; both path prefixes;
// `normalize`, also on inputs larger than the Worker's read cache.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  FIXTURES_DIR, FORMATS, ISO_RE, JOB_ID_RE, OUT_DIR, decodedDuration, extractBody, ffmpegDecodeErrors,
  ffprobe, integratedLoudness, manifest, parseContentDisposition, pcmMd5, planKind, runJob, saveOutput,
  testKeys, useService,
} from './harness.mjs';

const keys = testKeys();
let svc;
let fx;
let c;

// Inputs larger than the Worker's 32 MiB read cache, made for this run.
const BIG_DIR = join(OUT_DIR, 'lifecycle-big');

/** Noise video (about 2 MB/s at 320x180, 9 MB/s at 640x360: it does not compress) beside a
 * quiet sine, so `normalize` has a gain to apply. */
function makeBig(name, seconds, size) {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-nostdin', '-y', '-f', 'lavfi', '-i', `color=c=gray:s=${size}:r=25,noise=alls=100:allf=t`,
    '-f', 'lavfi', '-i', 'sine=f=440:sample_rate=44100,volume=0.05', '-t', String(seconds), '-c:v', 'mpeg4', '-q:v', '1',
    '-c:a', 'aac', '-b:a', '128k', '-ac', '2', join(BIG_DIR, name)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffmpeg ${name}: ${r.stderr}`);
}

before(() => {
  mkdirSync(BIG_DIR, { recursive: true });
  // An MP4 with its index at the end and audio spread over 60-odd MiB, and a Matroska file
  // whose reader reads everything.
  makeBig('big_index_at_end.mp4', 30, '320x180');
  makeBig('big.mkv', 6, '640x360');
});
// Without wrangler's DevTools proxy, as `scripts/run` runs it: the proxy cannot carry sources of
// tens of megabytes (see startService).
useService(
  { keys, name: 'lifecycle', fixtures: { extraDir: BIG_DIR }, inspector: false },
  (s) => ({ svc, fx, c } = s),
);
after(() => rmSync(BIG_DIR, { recursive: true, force: true }));

const STEPS = ['downloading_video', 'analyzing_video', 'extracting_audio', 'finalizing'];
const ORDER = { queued: 0, processing: 1, completed: 2, failed: 2 };

/** Checks the sequence of status documents seen while polling. */
function checkHistory(history, jobId) {
  let prev = null;
  for (const s of history) {
    assert.equal(s.jobId, jobId);
    assert.ok(s.status in ORDER, `unknown status ${s.status}`);
    assert.ok(Number.isInteger(s.progress) && s.progress >= 0 && s.progress <= 100, `progress ${s.progress}`);
    if (s.status === 'queued') {
      assert.equal(s.currentStep, null, 'currentStep is null while queued');
      assert.equal(s.progress, 0, 'progress is 0 while queued');
      assert.equal(s.inputFile, null, 'inputFile is null while queued');
    }
    if (s.status === 'processing') assert.ok(STEPS.includes(s.currentStep), `currentStep ${s.currentStep}`);
    if (s.status !== 'completed') assert.equal(s.outputFile, null, `outputFile is null while ${s.status}`);
    if (prev) {
      assert.ok(ORDER[s.status] >= ORDER[prev.status], `status went back: ${prev.status} → ${s.status}`);
      if (s.status === prev.status && s.status === 'processing') {
        assert.ok(s.progress >= prev.progress, `progress went back: ${prev.progress} → ${s.progress}`);
        assert.ok(STEPS.indexOf(s.currentStep) >= STEPS.indexOf(prev.currentStep), `step went back: ${prev.currentStep} → ${s.currentStep}`);
      }
    }
    prev = s;
  }
}

function checkSubmitted(sub) {
  assert.match(sub.jobId, JOB_ID_RE);
  assert.equal(sub.status, 'queued');
  assert.ok(Number.isInteger(sub.estimatedTime) && sub.estimatedTime >= 0, `estimatedTime ${sub.estimatedTime}`);
  assert.equal(sub.statusUrl, `/audio-extract/v1/status/${sub.jobId}`);
}

/** Downloads a completed job and checks the headers; returns {buffer, path, disposition}. */
async function download(jobId, format, prefix = '/v1') {
  const r = await c.get(`${prefix}/download/${jobId}`);
  assert.equal(r.status, 200, `download: HTTP ${r.status} ${r.text.slice(0, 300)}`);
  assert.equal((r.headers.get('content-type') ?? '').split(';')[0].trim(), FORMATS[format].mime);
  assert.equal(r.headers.get('content-length'), String(r.buffer.length), 'Content-Length equals the body length');
  const disposition = parseContentDisposition(r.headers.get('content-disposition'));
  assert.ok(disposition, 'Content-Disposition is present');
  assert.equal(disposition.type, 'attachment');
  const path = saveOutput(`lifecycle-${jobId}.${format}`, r.buffer);
  return { buffer: r.buffer, path, disposition };
}

/** Name of the file a source URL points at, without extension (the default output name). */
const stem = (file) => file.replace(/\.[^.]+$/, '');

// Copies into each format, and re-encodes into each format the engine can encode.
const CASES = [
  { name: 'mp4 AAC → aac (copy)', file: 'mp4_h264_aac_stereo44k.mp4', format: 'aac', mode: 'copy', codec: 'aac', channels: 2, rate: 44100, options: { filename: 'my-audio-file' } },
  { name: 'webm Opus → opus (copy, Ogg)', file: 'webm_vp9_opus.webm', format: 'opus', mode: 'copy', codec: 'opus', channels: 2, rate: 48000 },
  { name: 'webm Vorbis → ogg (copy)', file: 'webm_vp8_vorbis.webm', format: 'ogg', mode: 'copy', codec: 'vorbis', channels: 2, rate: 44100 },
  { name: 'mp4 MP3 → mp3 (copy)', file: 'mp4_h264_mp3.mp4', format: 'mp3', mode: 'copy', codec: 'mp3', channels: 2, rate: 44100 },
  { name: 'mkv FLAC → flac (copy, same samples)', file: 'mkv_h264_flac.mkv', format: 'flac', mode: 'copy', codec: 'flac', channels: 2, rate: 44100, samePcm: true },
  { name: 'mkv PCM → wav (copy, same samples)', file: 'mkv_h264_pcm_s16le.mkv', format: 'wav', mode: 'copy', codec: 'pcm_s16le', channels: 2, rate: 44100, samePcm: true },
  { name: 'mov PCM → flac (re-encode, same samples)', file: 'mov_h264_pcm_s16le.mov', format: 'flac', mode: 'transcode', codec: 'flac', channels: 2, rate: 44100, samePcm: true },
  { name: 'mp4 AAC mono 48 kHz → flac (re-encode)', file: 'mp4_h264_aac_mono48k.mp4', format: 'flac', mode: 'transcode', codec: 'flac', channels: 1, rate: 48000 },
  { name: 'webm Opus → wav (re-encode)', file: 'webm_vp9_opus.webm', format: 'wav', mode: 'transcode', codec: 'pcm_s16le', channels: 2, rate: 48000 },
  { name: 'webm Vorbis → flac (re-encode)', file: 'webm_vp9_vorbis.webm', format: 'flac', mode: 'transcode', codec: 'flac', channels: 2, rate: 44100 },
  { name: 'mp4 MP3 → wav (re-encode, quality high, low priority)', file: 'mp4_h264_mp3.mp4', format: 'wav', mode: 'transcode', codec: 'pcm_s16le', channels: 2, rate: 44100, output: { quality: 'high' }, options: { priority: 'low' } },
  // Lossy re-encodes: `kbps` is the bitrate the plan must choose (the bitrate asked for, else
  // the format's bitrate for the quality: mp3 96/128/192/320k, aac 96/128/192/256k, opus
  // 48/64/96/160k for low/medium/high/extreme); ogg's levels are Vorbis VBR qualities
  // (2/4/6/9: `vbrQuality`, no bitrate in the plan), and its `bitrate` an average.
  { name: 'webm Opus → mp3 (re-encode, bitrate 192k)', file: 'webm_vp9_opus.webm', format: 'mp3', mode: 'transcode', codec: 'mp3', channels: 2, rate: 48000, output: { bitrate: '192k' }, kbps: 192 },
  { name: 'mkv FLAC → mp3 (re-encode, quality low)', file: 'mkv_h264_flac.mkv', format: 'mp3', mode: 'transcode', codec: 'mp3', channels: 2, rate: 44100, output: { quality: 'low' }, kbps: 96 },
  { name: 'mp4 AAC → opus (re-encode, quality medium, 44.1 → 48 kHz)', file: 'mp4_h264_aac_stereo44k.mp4', format: 'opus', mode: 'transcode', codec: 'opus', channels: 2, rate: 48000, kbps: 64, resample: { from: 44100, to: 48000 } },
  { name: 'webm Opus → aac (re-encode, bitrate 96000)', file: 'webm_vp9_opus.webm', format: 'aac', mode: 'transcode', codec: 'aac', channels: 2, rate: 48000, output: { bitrate: '96000' }, kbps: 96 },
  { name: 'mp4 AAC → ogg (re-encode, Vorbis quality high)', file: 'mp4_h264_aac_stereo44k.mp4', format: 'ogg', mode: 'transcode', codec: 'vorbis', channels: 2, rate: 44100, output: { quality: 'high' }, vbrQuality: 6 },
  { name: 'webm Opus → ogg (re-encode, average bitrate 96k)', file: 'webm_vp9_opus.webm', format: 'ogg', mode: 'transcode', codec: 'vorbis', channels: 2, rate: 48000, output: { bitrate: '96k' }, kbps: 96 },
  { name: 'webm Vorbis → aac (re-encode, quality extreme)', file: 'webm_vp8_vorbis.webm', format: 'aac', mode: 'transcode', codec: 'aac', channels: 2, rate: 44100, output: { quality: 'extreme' }, kbps: 256 },
  { name: 'fragmented mp4 → aac (copy)', file: 'mp4_frag_h264_aac.mp4', format: 'aac', mode: 'copy', codec: 'aac', channels: 2, rate: 44100 },
  { name: 'mp4 AAC 5.1 → aac (copy keeps 6 channels)', file: 'mp4_h264_aac_5.1_48k.mp4', format: 'aac', mode: 'copy', codec: 'aac', channels: 6, rate: 48000 },
  { name: 'mp4 ALAC → flac (re-encode, same samples)', file: 'mp4_h264_alac.mp4', format: 'flac', mode: 'transcode', codec: 'flac', channels: 2, rate: 44100, samePcm: true },
  { name: '10-minute webm → opus (copy, 17 MB source)', file: 'long_webm_vp9_opus_10min.webm', format: 'opus', mode: 'copy', codec: 'opus', channels: 2, rate: 48000 },
  { name: '10-minute mp4 → aac (copy, 15 MB source)', file: 'long_mp4_h264_aac_stereo44k_10min.mp4', format: 'aac', mode: 'copy', codec: 'aac', channels: 2, rate: 44100 },
  { name: 'source without Content-Length (chunked) → mp3 (copy)', file: 'mp4_h264_mp3.mp4', route: 'chunked', format: 'mp3', mode: 'copy', codec: 'mp3', channels: 2, rate: 44100 },
  { name: '10-minute webm without Content-Length (chunked, 17 MB: three upload parts) → opus (copy)', file: 'long_webm_vp9_opus_10min.webm', route: 'chunked', format: 'opus', mode: 'copy', codec: 'opus', channels: 2, rate: 48000 },
  { name: 'source after 2 redirects → aac (copy)', file: 'mov_h264_aac.mov', route: 'redirect/2', format: 'aac', mode: 'copy', codec: 'aac', channels: 2, rate: 44100 },
];

describe('every working output, end to end', { concurrency: true }, () => {
  for (const k of CASES) {
    test(k.name, async () => {
      const fixture = manifest().get(k.file);
      const url = k.route ? fx.url(`/${k.route}/${k.file}`) : fx.file(k.file);
      const body = extractBody(url, k.format, { output: k.output ?? {}, options: k.options });
      const { submitted, final, history } = await runJob(svc.base, keys.pro, body);
      checkSubmitted(submitted);
      checkHistory(history, submitted.jobId);
      const id = submitted.jobId;

      assert.equal(final.status, 'completed', `job failed: ${JSON.stringify(final.error)}`);
      assert.equal(final.progress, 100);
      assert.equal(final.currentStep, 'finalizing');
      assert.equal(final.error ?? null, null);

      // plan: copy or transcode, and why
      assert.equal(planKind(final.plan), k.mode, `plan ${JSON.stringify(final.plan)}`);
      if (k.mode === 'transcode') {
        assert.ok(typeof final.plan === 'string' ? final.plan.length > 'transcode'.length : 'reason' in final.plan,
          `a transcode plan says why: ${JSON.stringify(final.plan)}`);
      }

      // what was asked, echoed
      assert.equal(final.output.format, k.format);
      // quality is echoed as asked; when it was not given, it may be absent or the default
      assert.equal(final.output.quality ?? 'medium', k.output?.quality ?? 'medium');
      assert.equal(final.options.priority, k.options?.priority ?? 'normal');

      // input
      assert.ok(final.inputFile, 'inputFile once fetched');
      assert.equal(final.inputFile.name, k.file);
      assert.equal(final.inputFile.size, fixture.size_bytes);
      assert.ok(Math.abs(final.inputFile.duration - fixture.duration_s) < 0.1, `inputFile.duration ${final.inputFile.duration}`);
      assert.equal(typeof final.inputFile.format, 'string');
      if (k.file.endsWith('.mp4')) assert.equal(final.inputFile.format, 'mp4');

      // output file and URLs
      const name = `${k.options?.filename ?? stem(k.file)}.${k.format}`;
      const of = final.outputFile;
      assert.ok(of, 'outputFile when completed');
      assert.equal(of.filename, name);
      assert.equal(of.format, k.format);
      assert.match(of.url, new RegExp(`/v1/download/${id}$`), 'outputFile.url is the download route');
      assert.ok(Math.abs(of.duration - fixture.duration_s) < 0.15, `outputFile.duration ${of.duration}`);
      if (k.format === 'flac' || k.format === 'wav') assert.equal(of.bitrate, null, 'bitrate is null for lossless formats');
      else assert.match(of.bitrate, /^\d+k$/);
      if (k.kbps) {
        const planned = typeof final.plan.bitrate === 'number' ? final.plan.bitrate / 1000 : parseInt(final.plan.bitrate, 10);
        assert.equal(planned, k.kbps, `plan.bitrate ${final.plan.bitrate}`);
        assert.ok(Math.abs(parseInt(of.bitrate, 10) - k.kbps) <= k.kbps * 0.1, `outputFile.bitrate ${of.bitrate} for ${k.kbps}k`);
      }
      if (k.vbrQuality) {
        assert.equal(final.plan.vbrQuality, k.vbrQuality, `plan ${JSON.stringify(final.plan)}`);
        assert.equal(final.plan.bitrate ?? null, null, 'a VBR quality sets no bitrate');
      }
      if (k.resample) assert.deepEqual(final.plan.resample, k.resample);
      assert.equal(final.downloadUrl, `/audio-extract/v1/download/${id}`);
      assert.match(final.createdAt, ISO_RE);
      assert.match(final.completedAt, ISO_RE);
      assert.match(final.expiresAt, ISO_RE);
      assert.ok(Date.parse(final.createdAt) <= Date.parse(final.completedAt));
      const ttl = (Date.parse(final.expiresAt) - Date.parse(final.completedAt)) / 1000;
      assert.ok(Math.abs(ttl - 86400) <= 2, `expiresAt is 24 h after completedAt (got ${ttl} s)`);

      // the bytes
      const dl = await download(id, k.format);
      assert.equal(dl.buffer.length, of.size, 'outputFile.size is the downloaded size');
      assert.equal(dl.disposition.filename, name);
      const probe = ffprobe(dl.path);
      const audio = probe.streams.filter((s) => s.codec_type === 'audio');
      assert.equal(audio.length, 1, `one audio stream: ${JSON.stringify(probe.streams)}`);
      assert.equal(probe.streams.length, 1, 'no video stream');
      assert.equal(audio[0].codec_name, k.codec);
      assert.equal(audio[0].channels, k.channels);
      assert.equal(audio[0].sample_rate, k.rate);
      assert.ok(probe.formatName.split(',').includes(FORMATS[k.format].container), `container ${probe.formatName}`);
      assert.equal(ffmpegDecodeErrors(dl.path), '', 'decodes without errors');
      const seconds = decodedDuration(dl.path);
      const source = decodedDuration(join(FIXTURES_DIR, k.file));
      assert.ok(Math.abs(seconds - source) < 0.1, `decoded ${seconds} s, the source's audio ${source} s`);
      if (k.samePcm) assert.equal(pcmMd5(dl.path), pcmMd5(join(FIXTURES_DIR, k.file)), 'same decoded samples as the source');
    });
  }
});

describe('status, URLs and prefixes', { concurrency: true }, () => {
  test('a new job is queued (or already processing) and statusUrl works', async () => {
    const sub = await c.submit(extractBody(fx.file('mp4_h264_aac_stereo44k.mp4'), 'aac'));
    checkSubmitted(sub);
    const r = await c.get(sub.statusUrl);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.success, true);
    assert.equal(r.json.data.jobId, sub.jobId);
    checkHistory([r.json.data], sub.jobId);
    assert.ok(['queued', 'processing', 'completed'].includes(r.json.data.status));
    assert.equal(r.json.data.output.format, 'aac', 'output echoed');
    assert.equal(r.json.data.output.quality ?? 'medium', 'medium', 'quality absent or the default');
  });

  test('every route under /audio-extract/v1 too, with the same result', async () => {
    const file = 'mp4_faststart_h264_aac.mp4';
    const { submitted, final } = await runJob(svc.base, keys.pro, extractBody(fx.file(file), 'aac'), { path: '/audio-extract/v1/extract' });
    checkSubmitted(submitted);
    assert.equal(final.status, 'completed', JSON.stringify(final.error));
    const a = await c.get(`/audio-extract/v1/status/${submitted.jobId}`);
    const b = await c.get(`/v1/status/${submitted.jobId}`);
    assert.equal(a.status, 200);
    assert.deepEqual(a.json, b.json);
    const d1 = await download(submitted.jobId, 'aac', '/audio-extract/v1');
    const d2 = await download(submitted.jobId, 'aac', '/v1');
    assert.ok(d1.buffer.equals(d2.buffer));
    const h = await c.get('/audio-extract/v1/health', { key: null });
    assert.equal(h.status, 200);
  });

  test('downloadUrl and outputFile.url can be fetched as given', async () => {
    const { final } = await runJob(svc.base, keys.pro, extractBody(fx.file('mp4_h264_aac_stereo44k.mp4'), 'aac'));
    const a = await c.get(final.downloadUrl);
    assert.equal(a.status, 200);
    const u = new URL(final.outputFile.url, svc.base);
    const b = await c.get(u.pathname);
    assert.equal(b.status, 200);
    assert.ok(a.buffer.equals(b.buffer));
  });

  test('HEAD wherever GET: download (headers, no body), status, health', async () => {
    const { submitted, final } = await runJob(svc.base, keys.pro, extractBody(fx.file('webm_vp9_opus.webm'), 'opus'));
    const h = await c.request('HEAD', `/v1/download/${submitted.jobId}`);
    assert.equal(h.status, 200);
    assert.equal(h.buffer.length, 0);
    assert.equal(h.headers.get('content-length'), String(final.outputFile.size));
    assert.equal((h.headers.get('content-type') ?? '').split(';')[0], 'audio/opus');
    assert.equal(parseContentDisposition(h.headers.get('content-disposition')).filename, 'webm_vp9_opus.opus');
    assert.equal((await c.request('HEAD', `/v1/status/${submitted.jobId}`)).status, 200);
    assert.equal((await c.request('HEAD', '/v1/health', { key: null })).status, 200);
    assert.equal((await c.request('HEAD', `/audio-extract/v1/download/${submitted.jobId}`)).status, 200);
  });

  test('the status document of a completed job stays the same', async () => {
    const { submitted } = await runJob(svc.base, keys.pro, extractBody(fx.file('mp4_h264_aac_stereo44k.mp4'), 'aac'));
    const a = await c.get(`/v1/status/${submitted.jobId}`);
    await c.get(`/v1/download/${submitted.jobId}`);
    const b = await c.get(`/v1/status/${submitted.jobId}`);
    assert.deepEqual(a.json, b.json);
  });

  test('bitrate "192000" and "192k" are accepted; a copy reports the source bitrate', async () => {
    for (const bitrate of ['192k', '192000']) {
      const r = await c.post('/v1/extract', extractBody(fx.file('mp4_h264_aac_stereo44k.mp4'), 'flac', { output: { bitrate } }));
      assert.equal(r.status, 202, `bitrate ${bitrate}: ${r.text}`);
    }
  });
});

describe('output file names', { concurrency: true }, () => {
  const FILE = 'mp4_h264_aac_stereo44k.mp4';
  const NAMES = [
    { name: 'default: the source file name', url: () => fx.file(FILE), expect: () => 'mp4_h264_aac_stereo44k.aac' },
    { name: 'default ignores the query string', url: () => `${fx.file(FILE)}?sig=abc.def&x=1`, expect: () => 'mp4_h264_aac_stereo44k.aac' },
    { name: 'default without a file name in the URL: the job id', url: () => fx.url(`/?f=${FILE}`), expect: (id) => `${id}.aac` },
    { name: 'path separators, quotes and control characters removed', filename: 'a/b\\c"d\u0001e', url: () => fx.file(FILE), expect: () => 'abcde.aac' },
    { name: 'at most 100 characters', filename: 'x'.repeat(150), url: () => fx.file(FILE), expect: () => `${'x'.repeat(100)}.aac` },
    { name: 'non-ASCII name: filename*=UTF-8', filename: 'café ünïcode', url: () => fx.file(FILE), expect: () => 'café ünïcode.aac', utf8: true },
    { name: ': * ? < > | removed', filename: 'my:song*?<>|', url: () => fx.file(FILE), expect: () => 'mysong.aac' },
    { name: 'surrounding spaces and dots trimmed', filename: ' . name . ', url: () => fx.file(FILE), expect: () => 'name.aac' },
    { name: "the format's own extension is not doubled", filename: 'song.aac', url: () => fx.file(FILE), expect: () => 'song.aac' },
    { name: 'another extension is kept', filename: 'song.mp3', url: () => fx.file(FILE), expect: () => 'song.mp3.aac' },
  ];
  for (const n of NAMES) {
    test(n.name, async () => {
      const options = n.filename === undefined ? undefined : { filename: n.filename };
      const { submitted, final } = await runJob(svc.base, keys.pro, extractBody(n.url(), 'aac', { options }));
      assert.equal(final.status, 'completed', JSON.stringify(final.error));
      const want = n.expect(submitted.jobId);
      assert.equal(final.outputFile.filename, want);
      const r = await c.get(`/v1/download/${submitted.jobId}`);
      assert.equal(r.status, 200);
      const raw = r.headers.get('content-disposition');
      const cd = parseContentDisposition(raw);
      assert.equal(cd.type, 'attachment');
      if (n.utf8) {
        assert.equal(cd.filenameStar, want, `filename*= in ${raw}`);
        assert.match(cd.filename ?? '', /^[\x20-\x7e]*$/, `the plain filename= is ASCII: ${raw}`);
      } else {
        assert.equal(cd.filename, want, raw);
      }
    });
  }
});

// Two passes: the first measures, the second reads the input again from its start and writes.
describe('normalize: to -16 LUFS', { concurrency: true }, () => {
  const NORMALIZE = [
    { name: 'mp4 AAC → aac (a copy without normalize)', file: 'mp4_h264_aac_stereo44k.mp4', format: 'aac', dir: FIXTURES_DIR, because: true },
    { name: 'webm Opus → mp3', file: 'webm_vp9_opus.webm', format: 'mp3', dir: FIXTURES_DIR },
    { name: '60 MB mp4, index at the end → flac (larger than the read cache)', file: 'big_index_at_end.mp4', format: 'flac', dir: BIG_DIR },
    { name: '55 MB mkv AAC → aac (larger than the read cache)', file: 'big.mkv', format: 'aac', dir: BIG_DIR, because: true },
  ];
  for (const k of NORMALIZE) {
    test(k.name, async () => {
      const size = statSync(join(k.dir, k.file)).size;
      if (k.dir === BIG_DIR) assert.ok(size > 48 << 20, `${k.file}: ${size} bytes`);
      const body = extractBody(fx.file(k.file), k.format, { output: { normalize: true } });
      const { final } = await runJob(svc.base, keys.pro, body, { timeoutMs: 300_000 });
      assert.equal(final.status, 'completed', `job failed: ${JSON.stringify(final.error)}`);
      assert.equal(planKind(final.plan), 'transcode');
      if (k.because) assert.match(JSON.stringify(final.plan.reason), /normali[sz]e/i, `the plan says why: ${JSON.stringify(final.plan)}`);
      assert.equal(final.inputFile.size, size);
      const dl = await download(final.jobId, k.format);
      assert.equal(ffmpegDecodeErrors(dl.path), '', 'decodes without errors');
      const source = decodedDuration(join(k.dir, k.file));
      assert.ok(Math.abs(decodedDuration(dl.path) - source) < 0.1, 'the whole audio');
      const lufs = integratedLoudness(dl.path);
      assert.ok(Math.abs(lufs + 16) <= 1, `integrated loudness ${lufs} LUFS (source ${integratedLoudness(join(k.dir, k.file))})`);
    });
  }
});
