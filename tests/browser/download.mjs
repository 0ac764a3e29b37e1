// What a browser downloads for each entry point of the converso-audio package: the entry's
// JavaScript, the modules it imports and the workers and wasm modules it names with
// `new URL('…', import.meta.url)`, followed through every file; and their size compressed with
// gzip -9, as a server would send them. Used by the size tests, the benchmark and
// scripts/build-wasm:
//
//   node tests/browser/download.mjs DIR     the download of each browser entry point of DIR
import { readFileSync } from 'node:fs';
import { join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/** The package's browser entry points: every encoder, and stream copy only. */
export const ENTRIES = { 'converso-audio': 'index.js', 'converso-audio/copy': 'copy.js' };

const REFERENCE = /\bfrom\s+'(\.\/[^']+)'|\bimport\s+'(\.\/[^']+)'|new URL\(\s*'([^']+)'\s*,\s*import\.meta\.url/g;

/** The files of the package in `dir` that a browser loads for `entry`, sorted. */
export function browserFiles(dir, entry) {
  const seen = new Set();
  const visit = (file) => {
    if (seen.has(file)) return;
    seen.add(file);
    if (!file.endsWith('.js')) return;
    for (const m of readFileSync(join(dir, file), 'utf8').matchAll(REFERENCE)) visit(normalize(m[1] ?? m[2] ?? m[3]));
  };
  visit(entry);
  return [...seen].sort();
}

/** The bytes of `files` (paths) compressed one by one with gzip -9. */
export function gzipSize(files) {
  return files.reduce((n, f) => n + gzipSync(readFileSync(f), { level: 9 }).length, 0);
}

/** What a browser downloads for `entry` of the package in `dir`: its files and their gzip size. */
export function download(dir, entry) {
  const files = browserFiles(dir, entry);
  return { files, gzip: gzipSize(files.map((f) => join(dir, f))) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2];
  for (const [name, entry] of Object.entries(ENTRIES)) {
    const { files, gzip } = download(dir, entry);
    console.log(`  ${name}: ${Math.round(gzip / 1024)} KiB gzip (${files.join(', ')})`);
  }
}
