// Runs converso-core compiled to wasm32 in Node for each case in OUT_DIR/cases.json and writes
// OUT_DIR/wasm-<file>.<format> (wasm-<file>.normalized.<format> for normalize cases). Fails if
// the module needs imports or an extraction fails.
// Usage: node run.mjs MODULE.wasm FIXTURES_DIR OUT_DIR
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [wasmPath, fixtures, outDir] = process.argv.slice(2);
const module = new WebAssembly.Module(readFileSync(wasmPath));
const imports = WebAssembly.Module.imports(module);
if (imports.length > 0) {
  console.error('the module imports', imports);
  process.exit(1);
}
const formats = ['mp3', 'aac', 'flac', 'wav', 'ogg', 'opus'];
const cases = JSON.parse(readFileSync(join(outDir, 'cases.json'), 'utf8'));
let failed = 0;
const NORMALIZE = 0x100;
for (const { file, format, normalize } of cases) {
  const input = readFileSync(join(fixtures, file));
  const { exports } = new WebAssembly.Instance(module, {});
  const ptr = exports.alloc(input.length);
  new Uint8Array(exports.memory.buffer, ptr, input.length).set(input);
  const code = exports.extract(ptr, input.length, formats.indexOf(format) | (normalize ? NORMALIZE : 0));
  const out = Buffer.from(new Uint8Array(exports.memory.buffer, exports.output_ptr(), exports.output_len()));
  if (code !== 0) {
    failed++;
    console.error(`${file} -> ${format}: ${out.toString()}`);
    continue;
  }
  writeFileSync(join(outDir, `wasm-${file}${normalize ? '.normalized' : ''}.${format}`), out);
}
process.exit(failed ? 1 : 0);
