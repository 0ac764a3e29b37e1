// The converso-audio package in Node, installed from its tarball: probe, extract from every kind
// of input, options and errors as the API has them, progress, cancellation, and the same bytes
// as the native CLI (or the documented, bounded difference); converso-audio/copy, the
// stream-copy-only build, against the main entry.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FIXTURES_DIR, REPO_ROOT, decodedDuration, ffmpegDecodeErrors, ffprobe, manifest, pcmMd5 } from '../edge/harness.mjs';
import { download } from './download.mjs';
import { installInto, removeDir } from './package.mjs';

const OUT = join(REPO_ROOT, 'target', 'browser', 'node');
const fixture = (name) => join(FIXTURES_DIR, name);
let dir;
let lib;
let copy;

before(async () => {
  mkdirSync(OUT, { recursive: true });
  dir = installInto();
  // Imported by name from a project that installed it, so the package's "exports" map is used.
  writeFileSync(join(dir, 'entry.mjs'), "export * from 'converso-audio';\n");
  writeFileSync(join(dir, 'copy.mjs'), "export * from 'converso-audio/copy';\n");
  lib = await import(pathToFileURL(join(dir, 'entry.mjs')));
  copy = await import(pathToFileURL(join(dir, 'copy.mjs')));
});
after(() => dir && removeDir(dir));

describe('package', () => {
  // What a browser downloads for an entry point: its JavaScript, its worker, the wasm module and
  // their glue (download.mjs follows the imports), compressed as a server would.
  const installed = () => join(dir, 'node_modules', 'converso-audio');

  test('at most 1.5 MB gzip (-9), every encoder included', () => {
    const { files, gzip } = download(installed(), 'index.js');
    assert.ok(files.includes('converso_wasm_bg.wasm') && files.includes('worker.js'), `files: ${files}`);
    assert.ok(!files.some((f) => f.startsWith('converso_copy')), `files: ${files}`);
    assert.ok(gzip <= 1.5 * 1024 * 1024, `${gzip} bytes gzip`);
  });

  // The aim is 200 KB; symphonia's demuxers take most of what remains (see the README).
  test('converso-audio/copy: at most 352 KiB gzip (-9)', () => {
    const { files, gzip } = download(installed(), 'copy.js');
    assert.ok(files.includes('converso_copy_bg.wasm') && files.includes('copy-worker.js'), `files: ${files}`);
    assert.ok(!files.some((f) => f.startsWith('converso_wasm')), `files: ${files}`);
    assert.ok(gzip <= 352 * 1024, `${gzip} bytes gzip`);
  });
});

describe('probe', () => {
  test('describes container, tracks and duration like ffprobe', async () => {
    const m = manifest().get('mp4_h264_aac_5.1_48k.mp4');
    const info = await lib.probe(fixture('mp4_h264_aac_5.1_48k.mp4'));
    assert.equal(info.container, 'mp4');
    const audio = info.tracks.find((t) => t.kind === 'audio');
    assert.equal(audio.codec, 'aac');
    assert.equal(audio.channels, m.audio[0].channels);
    assert.equal(audio.sampleRate, m.audio[0].sample_rate);
    assert.ok(Math.abs(info.duration - m.duration_s) < 0.1);
    assert.ok(info.tracks.some((t) => t.kind === 'video'));
  });

  test('an unreadable file is INVALID_VIDEO', async () => {
    await assert.rejects(lib.probe(fixture('broken_text_as.mp4')), { name: 'ConversoError', code: 'INVALID_VIDEO' });
  });

  test('a missing file is INVALID_VIDEO naming the problem', async () => {
    await assert.rejects(lib.probe(join(OUT, 'no-such-file.mp4')), (e) => e instanceof lib.ConversoError && e.code === 'INVALID_VIDEO' && /ENOENT/.test(e.message));
  });
});

describe('extract', () => {
  const bytes = () => new Uint8Array(readFileSync(fixture('webm_vp9_opus.webm')));
  const inputs = {
    path: () => fixture('webm_vp9_opus.webm'),
    'file: URL': () => pathToFileURL(fixture('webm_vp9_opus.webm')),
    Uint8Array: bytes,
    'Uint8Array view at an offset': () => {
      const b = bytes();
      const padded = new Uint8Array(b.length + 7);
      padded.set(b, 7);
      return padded.subarray(7);
    },
    ArrayBuffer: () => bytes().slice().buffer,
    Blob: () => new Blob([bytes()]),
  };
  let reference;
  for (const [kind, make] of Object.entries(inputs)) {
    test(`from a ${kind}: a lossless copy, the same bytes each time`, async () => {
      const r = await lib.extract(make(), { format: 'opus' });
      assert.ok(r.bytes instanceof Uint8Array);
      assert.equal(r.plan.mode, 'copy');
      assert.equal(r.output.losslessCopy, true);
      assert.equal(r.output.size, r.bytes.length);
      assert.equal(r.output.mimeType, 'audio/opus');
      reference ??= r.bytes;
      assert.deepEqual(r.bytes, reference);
    });
  }

  test('result: file name, plan with its reason, output description', async () => {
    const r = await lib.extract(fixture('mp4_h264_aac_stereo44k.mp4'), { format: 'mp3', quality: 'high' });
    assert.equal(r.filename, 'mp4_h264_aac_stereo44k.mp3');
    assert.equal(r.plan.mode, 'transcode');
    assert.deepEqual(r.plan.reason, { kind: 'codecDiffers', from: 'aac', to: 'mp3' });
    assert.match(r.plan.description, /^re-encode because the source audio is aac/);
    assert.equal(r.output.bitrate, 192000);
    assert.equal(r.output.channels, 2);
    const path = join(OUT, r.filename);
    writeFileSync(path, r.bytes);
    assert.equal(ffprobe(path).streams[0].codec_name, 'mp3');
    assert.equal(ffmpegDecodeErrors(path), '');
    assert.ok(Math.abs(decodedDuration(path) - 10) < 0.1);
  });

  test('ogg from AAC: Vorbis at a VBR quality, the average bitrate measured', async () => {
    const r = await lib.extract(fixture('mp4_h264_aac_stereo44k.mp4'), { format: 'ogg', quality: 'high' });
    assert.equal(r.filename, 'mp4_h264_aac_stereo44k.ogg');
    assert.equal(r.plan.mode, 'transcode');
    assert.equal(r.plan.vbrQuality, 6);
    assert.equal(r.plan.bitrate, undefined);
    assert.match(r.plan.description, /\(VBR quality 6\)$/);
    assert.equal(r.output.mimeType, 'audio/ogg');
    assert.equal(r.output.bitrate, Math.round(r.bytes.length * 8 / r.output.duration));
    const path = join(OUT, r.filename);
    writeFileSync(path, r.bytes);
    const stream = ffprobe(path).streams[0];
    assert.equal(stream.codec_name, 'vorbis');
    assert.equal(stream.channels, 2);
    assert.equal(ffmpegDecodeErrors(path), '');
    assert.ok(Math.abs(decodedDuration(path) - 10) < 0.1);
  });

  test('plan() says what extract() would do, without doing it', async () => {
    const p = await lib.plan(fixture('mkv_h264_flac.mkv'), { format: 'flac' });
    assert.equal(p.mode, 'copy');
    assert.equal(p.description, 'lossless copy of the audio packets');
  });

  test('progress rises to 1, with elapsed and remaining time', async () => {
    const seen = [];
    await lib.extract(fixture('long_mp4_h264_aac_stereo44k_10min.mp4'), { format: 'wav' }, { onProgress: (p) => seen.push(p) });
    assert.ok(seen.length >= 2, `${seen.length} reports`);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i].progress >= seen[i - 1].progress);
    const last = seen.at(-1);
    assert.equal(last.progress, 1);
    assert.equal(last.remainingMs, 0);
    assert.ok(last.elapsedMs >= 0);
  });

  test('an AbortSignal stops the extraction and rejects with its reason', async () => {
    const ctrl = new AbortController();
    let at = 0;
    const run = lib.extract(fixture('long_mp4_h264_aac_stereo44k_10min.mp4'), { format: 'mp3' }, {
      signal: ctrl.signal,
      onProgress: ({ progress }) => {
        at = progress;
        if (progress > 0.05) ctrl.abort();
      },
    });
    await assert.rejects(run, { name: 'AbortError' });
    assert.ok(at > 0.05 && at < 1, `stopped part-way (${at})`);
    await assert.rejects(lib.extract(fixture('mp4_h264_aac_stereo44k.mp4'), { format: 'aac' }, { signal: AbortSignal.abort() }), { name: 'AbortError' });
  });

  for (const [options, code, message] of [
    [{}, 'INVALID_OUTPUT', /output\.format is required/],
    [{ format: 'm4a' }, 'INVALID_OUTPUT', /output\.format "m4a" is not supported/],
    [{ format: 'mp3', quality: 'best' }, 'INVALID_OUTPUT', /quality/],
    [{ format: 'mp3', bitrate: '1000k' }, 'INVALID_OUTPUT', /bitrate/],
    [{ format: 'mp3', bitrate: 192 }, 'INVALID_OUTPUT', /output\.bitrate must be a string/],
    [null, 'INVALID_OUTPUT', /options must be an object/],
  ]) {
    test(`options ${JSON.stringify(options)} → ${code}`, async () => {
      await assert.rejects(lib.extract(fixture('mp4_h264_aac_stereo44k.mp4'), options), (e) => {
        assert.ok(e instanceof lib.ConversoError, `${e}`);
        assert.equal(e.code, code);
        assert.match(e.message, message);
        return true;
      });
    });
  }

  test('an out-of-range bitrate names the allowed range in details', async () => {
    await assert.rejects(lib.extract(fixture('mp4_h264_aac_stereo44k.mp4'), { format: 'opus', bitrate: '900k' }), (e) => {
      assert.equal(e.code, 'INVALID_OUTPUT');
      assert.match(e.details, /\d+.*\d+/);
      return true;
    });
  });

  for (const [name, code] of [['broken_empty.mp4', 'INVALID_VIDEO'], ['mp4_h264_noaudio.mp4', 'INVALID_VIDEO'],
    ['mkv_h264_ac3_5.1.mkv', 'INVALID_VIDEO'], ['broken_truncated_half_moov_at_end.mp4', 'INVALID_VIDEO']]) {
    test(`${name} → ${code}`, async () => {
      await assert.rejects(lib.extract(fixture(name), { format: 'wav' }), { name: 'ConversoError', code });
    });
  }

  test('a file that breaks off part-way → EXTRACTION_FAILED, no output', async () => {
    const m = manifest().get('broken_truncated_half_faststart.mp4');
    const r = lib.extract(fixture('broken_truncated_half_faststart.mp4'), { format: 'wav' });
    if (m.expect === 'ok') return assert.ok((await r).bytes.length > 0);
    await assert.rejects(r, { name: 'ConversoError' });
  });
});

// converso-audio/copy: the engine without re-encoding. What it can do, it does exactly as the
// main entry does; an output that needs re-encoding is INVALID_OUTPUT, saying why.
describe('converso-audio/copy', () => {
  for (const [name, format] of [['mp4_h264_aac_stereo44k.mp4', 'aac'], ['webm_vp9_opus.webm', 'opus'], ['ogg_vorbis_tagged.ogg', 'ogg']]) {
    test(`${name} → ${format}: the main entry's bytes, plan and output`, async () => {
      const options = { format, preserveMetadata: true };
      const [ours, full] = [await copy.extract(fixture(name), options), await lib.extract(fixture(name), options)];
      assert.equal(ours.plan.mode, 'copy');
      assert.ok(ours.bytes.length > 10_000);
      assert.deepEqual(ours.bytes, full.bytes);
      assert.deepEqual({ ...ours, bytes: null }, { ...full, bytes: null });
    });
  }

  test('probe and plan: the main entry\'s', async () => {
    const input = fixture('mp4_h264_aac_tagged.mp4');
    assert.deepEqual(await copy.probe(input), await lib.probe(input));
    assert.deepEqual(await copy.plan(input, { format: 'aac' }), await lib.plan(input, { format: 'aac' }));
  });

  for (const [options, reason] of [
    [{ format: 'mp3' }, { kind: 'codecDiffers', from: 'aac', to: 'mp3' }],
    [{ format: 'aac', normalize: true }, { kind: 'normalize' }],
  ]) {
    test(`a re-encode (${JSON.stringify(options)}) is INVALID_OUTPUT, in extract() and plan()`, async () => {
      const input = fixture('mp4_h264_aac_stereo44k.mp4');
      assert.deepEqual((await lib.plan(input, options)).reason, reason, 'the main entry re-encodes');
      for (const call of [() => copy.extract(input, options), () => copy.plan(input, options)]) {
        await assert.rejects(call(), (e) => {
          assert.ok(e instanceof copy.ConversoError && e instanceof lib.ConversoError, `${e}`);
          assert.equal(e.code, 'INVALID_OUTPUT');
          assert.match(e.message, /^mp4 aac → \w+ needs re-encoding \(.+\), which the copy-only build of converso does not include$/);
          assert.deepEqual(JSON.parse(e.details), { build: 'copy-only', reason });
          return true;
        });
      }
    });
  }

  test('inputs and options are checked as the main entry checks them', async () => {
    await assert.rejects(copy.extract(fixture('broken_text_as.mp4'), { format: 'aac' }), { name: 'ConversoError', code: 'INVALID_VIDEO' });
    await assert.rejects(copy.extract(fixture('mp4_h264_aac_stereo44k.mp4'), { format: 'm4a' }), { code: 'INVALID_OUTPUT', message: /output\.format "m4a" is not supported/ });
  });
});

// The same fixture through the package in Node and through the native CLI. Copies and decodes of
// lossless sources are byte-identical, FLAC encodes of them decode to identical samples. Float
// maths differs between wasm32 and native (see tests/wasm-smoke/tests/parity.rs): decoders of
// lossy sources (AAC, MP3, Opus) may give samples one least significant bit apart, and lossy
// encoders (Vorbis too) may make different quantisation choices, so those are held to a
// signal-to-noise floor.
describe('Node/CLI parity', () => {
  const CASES = [
    ['mp4_h264_aac_stereo44k.mp4', 'aac'], ['webm_vp9_opus.webm', 'opus'], ['webm_vp8_vorbis.webm', 'ogg'],
    ['mkv_h264_mp3.mkv', 'mp3'], ['mkv_h264_flac.mkv', 'flac'], ['mov_h264_pcm_s16le.mov', 'wav'],
    ['mp4_h264_aac_stereo44k.mp4', 'wav'], ['webm_vp9_opus.webm', 'flac'], ['mp4_h264_alac.mp4', 'flac'],
    ['mkv_h264_flac.mkv', 'mp3'], ['mov_h264_pcm_s16le.mov', 'aac'], ['mp4_h264_aac_stereo44k.mp4', 'opus'],
    ['mp4_h264_aac_stereo44k.mp4', 'ogg'],
  ];
  let cli;
  before(() => {
    // Built from the same sources as the package (a no-op after `cargo test`).
    const b = spawnSync('cargo', ['build', '-p', 'converso-cli', '--locked'], { cwd: REPO_ROOT, stdio: 'inherit' });
    assert.equal(b.status, 0, 'cargo build -p converso-cli');
    cli = join(REPO_ROOT, 'target', 'debug', 'converso');
  });
  for (const [name, format] of CASES) {
    test(`${name} → ${format}`, async () => {
      const ours = join(OUT, `parity-${name}.node.${format}`);
      const native = join(OUT, `parity-${name}.cli.${format}`);
      writeFileSync(ours, (await lib.extract(fixture(name), { format })).bytes);
      const r = spawnSync(cli, ['extract', fixture(name), '-f', format, '-o', native, '-y'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const a = readFileSync(ours);
      const b = readFileSync(native);
      if (a.equals(b)) return;
      const source = manifest().get(name).audio[0].codec;
      const lossySource = ['aac', 'mp3', 'opus', 'vorbis'].includes(source);
      if (['wav', 'flac'].includes(format) && lossySource) {
        return assert.ok(maxSampleDiff(ours, native) <= 1, `${format} from ${source}: samples at most 1 LSB apart`);
      }
      if (format === 'flac') return assert.equal(pcmMd5(ours), pcmMd5(native), 'FLAC: the same samples');
      const encoded = ['mp3', 'aac', 'opus'].includes(format) || (format === 'ogg' && source !== 'vorbis');
      assert.ok(encoded, `${format} output differs between Node and the CLI`);
      const snr = snrDb(ours, native);
      assert.ok(snr >= 30, `${format}: ${snr.toFixed(1)} dB between Node's and the CLI's output`);
    });
  }
});

/** The first audio stream decoded by ffmpeg, as `f32le` or `s16le` samples. */
function decode(path, sampleFormat) {
  const r = spawnSync('ffmpeg', ['-nostdin', '-v', 'error', '-i', path, '-map', '0:a:0', '-f', sampleFormat, '-'], { maxBuffer: 1 << 28 });
  assert.equal(r.status, 0, r.stderr?.toString());
  const Type = sampleFormat === 'f32le' ? Float32Array : Int16Array;
  return new Type(r.stdout.buffer, r.stdout.byteOffset, r.stdout.length / Type.BYTES_PER_ELEMENT);
}

/** The largest difference between two decodes, in 16-bit steps (they must have the same length). */
function maxSampleDiff(a, b) {
  const x = decode(a, 's16le');
  const y = decode(b, 's16le');
  assert.equal(x.length, y.length);
  let max = 0;
  for (let i = 0; i < x.length; i++) max = Math.max(max, Math.abs(x[i] - y[i]));
  return max;
}

/** Signal-to-noise ratio (dB) of `b` against `a`, both decoded by ffmpeg. */
function snrDb(a, b) {
  const x = decode(a, 'f32le');
  const y = decode(b, 'f32le');
  const n = Math.min(x.length, y.length);
  assert.ok(Math.abs(x.length - y.length) <= 2 * 1152, `lengths ${x.length} and ${y.length}`);
  let signal = 0;
  let noise = 0;
  for (let i = 0; i < n; i++) {
    signal += x[i] * x[i];
    noise += (x[i] - y[i]) ** 2;
  }
  return noise === 0 ? Infinity : 10 * Math.log10(signal / noise);
}
