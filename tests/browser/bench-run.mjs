// One measured extraction in this process, for bench.mjs: `node bench-run.mjs TOOL INPUT FORMAT
// OUTPUT`. Loads the tool, then times the extraction call alone; prints one JSON line with that
// time (wall, and CPU: user + system of all threads) and the process's peak resident memory.
// TOOL: converso | converso/copy | ffmpeg.wasm | mediabunny.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { REPO_ROOT } from '../edge/harness.mjs';

const [tool, input, format, output] = process.argv.slice(2);
const require = createRequire(import.meta.url);

/** converso-audio's Node entry `entry`, its engine instantiated before the timed call. */
async function converso(entry) {
  const lib = await import(join(REPO_ROOT, 'target', 'npm', 'converso-audio', entry));
  await lib.probe(join(REPO_ROOT, 'target', 'fixtures', 'mp4_h264_aac_stereo44k.mp4'));
  return async () => (await lib.extract(input, { format, quality: 'medium' })).bytes;
}

const TOOLS = {
  // The package as built by scripts/build-wasm; it reads the input from its path in slices.
  converso: () => converso('node.js'),
  // Its copy-only build, converso-audio/copy.
  'converso/copy': () => converso('copy-node.js'),

  // @ffmpeg/core (the engine ffmpeg.wasm runs in a worker), called directly: it was built for
  // workers, so it gets a `self` with a location, and the wasm bytes up front.
  async 'ffmpeg.wasm'() {
    const wasmPath = require.resolve('@ffmpeg/core/wasm');
    globalThis.self = { location: { href: wasmPath } };
    const { default: createFFmpegCore } = await import('@ffmpeg/core');
    const core = await createFFmpegCore({ wasmBinary: readFileSync(wasmPath), print() {}, printErr() {} });
    const ext = input.slice(input.lastIndexOf('.'));
    const codec = { aac: ['-c:a', 'copy'], opus: ['-c:a', 'copy'], mp3: ['-c:a', 'libmp3lame', '-b:a', '128k'] }[format];
    const muxer = { aac: 'adts', opus: 'ogg', mp3: 'mp3' }[format];
    return async () => {
      core.FS.writeFile(`in${ext}`, readFileSync(input));
      core.exec('-nostdin', '-y', '-i', `in${ext}`, '-vn', ...codec, '-f', muxer, 'out');
      if (core.ret !== 0) throw new Error(`ffmpeg.wasm exited with ${core.ret}`);
      const out = core.FS.readFile('out');
      core.FS.unlink(`in${ext}`);
      core.FS.unlink('out');
      core.reset?.();
      return out;
    };
  },

  // mediabunny's Conversion, reading the file from its path; copies need any timestamp shift
  // allowed (mp4 → ADTS would otherwise refuse the AAC priming offset).
  async mediabunny() {
    const mb = await import('mediabunny');
    const Format = { aac: mb.AdtsOutputFormat, opus: mb.OggOutputFormat, mp3: mb.Mp3OutputFormat }[format];
    return async () => {
      const source = new mb.FilePathSource(input);
      const conversion = await mb.Conversion.init({
        input: new mb.Input({ formats: mb.ALL_FORMATS, source }),
        output: new mb.Output({ format: new Format(), target: new mb.BufferTarget() }),
        video: { discard: true },
        ...(format === 'mp3' ? { audio: { codec: 'mp3', bitrate: 128000 } } : { copy: { shiftTolerance: Infinity } }),
      });
      if (!conversion.isValid) throw new Error(`mediabunny cannot convert: ${JSON.stringify(conversion.discardedTracks.map((t) => t.reason))}`);
      await conversion.execute();
      return new Uint8Array(conversion.output.target.buffer);
    };
  },
};

const run = await TOOLS[tool]();
const t0 = performance.now();
const cpu0 = process.cpuUsage();
const bytes = await run();
const callMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const cpuMs = (cpu.user + cpu.system) / 1000;
writeFileSync(output, bytes);
const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
console.log(JSON.stringify({ callMs, cpuMs, peakRss: hwm, bytes: bytes.length }));
