// Benchmark of the converso-audio package in Node against ffmpeg.wasm (@ffmpeg/core) and
// mediabunny, round-robin in one run, on the 10-minute fixtures: mp4 (H.264/AAC) → aac and
// webm (VP9/Opus) → opus (copies, also with converso-audio/copy, the copy-only build), then
// mp4 → mp3 (an encode). Each measurement is a fresh Node
// process (bench-run.mjs): the time inside the extraction call (after loading), the whole
// process's wall time, its peak RSS. Copies are compared with native ffmpeg's: the same bytes,
// else the same decoded samples (Ogg pages may be cut differently around identical packets, and
// the end trimmed differently). Then what a browser downloads for each (gzip -9).
//
//   node tests/browser/bench.mjs [ROUNDS]     (scripts/bench-browser; default 5 rounds)
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { FIXTURES_DIR, REPO_ROOT } from '../edge/harness.mjs';
import { download, gzipSize } from './download.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const OUT = join(REPO_ROOT, 'target', 'bench', 'browser');
const ROUNDS = Number(process.argv[2] ?? 5);
// bench-run.mjs's tools, as the table names them. converso/copy runs the copy cases only.
const TOOLS = { converso: 'converso', 'converso/copy': 'converso (copy-only build)', 'ffmpeg.wasm': 'ffmpeg.wasm', mediabunny: 'mediabunny' };
const CASES = [
  { name: 'mp4 → aac (copy)', input: 'long_mp4_h264_aac_stereo44k_10min.mp4', format: 'aac', copy: true, native: ['-c:a', 'copy', '-f', 'adts'] },
  { name: 'webm → opus (copy)', input: 'long_webm_vp9_opus_10min.webm', format: 'opus', copy: true, native: ['-c:a', 'copy', '-f', 'ogg'] },
  { name: 'mp4 → mp3 (128k)', input: 'long_mp4_h264_aac_stereo44k_10min.mp4', format: 'mp3', native: ['-c:a', 'libmp3lame', '-b:a', '128k', '-f', 'mp3'] },
];
const toolsFor = (c) => Object.keys(TOOLS).filter((t) => c.copy || t !== 'converso/copy');
mkdirSync(OUT, { recursive: true });
const require = createRequire(import.meta.url);

function measure(tool, c, out) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [join(HERE, 'bench-run.mjs'), tool, join(FIXTURES_DIR, c.input), c.format, out], { encoding: 'utf8' });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) return { error: (/^\w*Error: (.*)$/m.exec(r.stderr)?.[1] ?? `exit ${r.status}`).slice(0, 100) };
  return { ...JSON.parse(r.stdout.trim().split('\n').at(-1)), wallMs };
}

function nativeFfmpeg(c) {
  const out = join(OUT, `native.${c.format}`);
  const t0 = process.hrtime.bigint();
  const r = spawnSync('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-i', join(FIXTURES_DIR, c.input), '-vn', ...c.native, out]);
  if (r.status !== 0) throw new Error(`ffmpeg: ${r.stderr}`);
  return { wallMs: Number(process.hrtime.bigint() - t0) / 1e6, out };
}

const outputOf = (tool, c) => join(OUT, `${tool.replace('/', '-')}.${c.format}`);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = new Map(); // `${case}|${tool}` → [measurements]
const nativeMs = new Map();
for (let round = 0; round < ROUNDS; round++) {
  for (const c of CASES) {
    const n = nativeFfmpeg(c);
    nativeMs.set(c.name, [...(nativeMs.get(c.name) ?? []), n.wallMs]);
    const tools = toolsFor(c);
    for (const tool of round % 2 ? tools.reverse() : tools) {
      const key = `${c.name}|${tool}`;
      const m = measure(tool, c, outputOf(tool, c));
      results.set(key, [...(results.get(key) ?? []), m]);
    }
  }
  process.stderr.write(`round ${round + 1}/${ROUNDS}\n`);
}

function sameAsNative(tool, c) {
  const ours = outputOf(tool, c);
  const native = join(OUT, `native.${c.format}`);
  if (readFileSync(ours).equals(readFileSync(native))) return 'same bytes';
  if (c.format === 'mp3') return 'no (both re-encode)';
  const a = decodePcm(ours);
  const b = decodePcm(native);
  const n = Math.min(a.length, b.length);
  if (!a.subarray(0, n).equals(b.subarray(0, n))) return 'different samples';
  const frames = (b.length - a.length) / 4; // s16le stereo
  return frames === 0 ? 'same samples' : `same samples, ${Math.abs(frames)} ${frames > 0 ? 'fewer' : 'more'} at the end`;
}

function decodePcm(path) {
  const r = spawnSync('ffmpeg', ['-nostdin', '-v', 'error', '-i', path, '-map', '0:a:0', '-ac', '2', '-f', 's16le', '-'], { maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`ffmpeg ${path}: ${r.stderr}`);
  return r.stdout;
}

const lines = [];
const row = (cells) => lines.push(`| ${cells.join(' | ')} |`);
const ms = (x) => (x == null ? '—' : x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${Math.round(x)} ms`);
lines.push(`Node ${process.version}, ${ROUNDS} rounds, medians. Native ffmpeg's whole process for reference.`, '');
row(['case', 'tool', 'extraction call', 'whole process', 'peak RSS', 'output vs native ffmpeg']);
row(['---', '---', '---:', '---:', '---:', '---']);
for (const c of CASES) {
  for (const tool of toolsFor(c)) {
    const ms_ = results.get(`${c.name}|${tool}`);
    const ok = ms_.filter((m) => !m.error);
    if (!ok.length) {
      row([c.name, TOOLS[tool], `not possible: ${ms_[0].error}`, '', '', '']);
      continue;
    }
    row([c.name, TOOLS[tool], ms(median(ok.map((m) => m.callMs))), ms(median(ok.map((m) => m.wallMs))),
      `${Math.round(median(ok.map((m) => m.peakRss)) / 2 ** 20)} MB`, sameAsNative(tool, c)]);
  }
  row([c.name, 'ffmpeg (native)', '', ms(median(nativeMs.get(c.name))), '', '']);
}

// What a browser downloads (gzip -9): each entry point of converso's package (download.mjs),
// ffmpeg.wasm's core, and mediabunny bundled by Vite for a copy-only use (the classes the copy
// above needs, tree-shaken).
const pkg = join(REPO_ROOT, 'target', 'npm', 'converso-audio');
const ffmpegCore = require.resolve('@ffmpeg/core');
const ffmpegFiles = [ffmpegCore, require.resolve('@ffmpeg/core/wasm')];
const mbDir = join(OUT, 'mediabunny-copy');
await build({
  logLevel: 'warn', configFile: false, root: HERE,
  build: { outDir: mbDir, emptyOutDir: true, minify: true, lib: { entry: join(HERE, 'bench-mediabunny-copy.js'), formats: ['es'], fileName: 'copy' } },
});
const mbFiles = readdirSync(mbDir).map((f) => join(mbDir, f));
const kb = (n) => `${Math.round(n / 1024)} KB`;
lines.push('', '| download (gzip -9) | size |', '| --- | ---: |');
lines.push(`| converso-audio (every encoder) | ${kb(download(pkg, 'index.js').gzip)} |`);
lines.push(`| converso-audio/copy (copy-only build) | ${kb(download(pkg, 'copy.js').gzip)} |`);
lines.push(`| ffmpeg.wasm core (@ffmpeg/core) | ${kb(gzipSize(ffmpegFiles))} |`);
lines.push(`| mediabunny, copy-only bundle (Vite) | ${kb(gzipSize(mbFiles))} |`);
console.log(lines.join('\n'));
