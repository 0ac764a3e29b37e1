// The package's hand-written TypeScript types, checked by tsc (strict) from a project that
// installed the package: the browser entry with bundler resolution, the Node entry with Node's.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installInto, removeDir } from './package.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
let dir;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'converso-types-'));
  cpSync(join(HERE, 'types'), dir, { recursive: true });
  installInto(dir);
});
after(() => dir && removeDir(dir));

for (const entry of ['browser', 'node']) {
  test(`the ${entry} types accept real use and reject misuse`, () => {
    const r = spawnSync(process.execPath, [tsc, '-p', join(dir, `tsconfig.${entry}.json`)], { encoding: 'utf8' });
    assert.equal(r.status, 0, `tsc:\n${r.stdout}${r.stderr}`);
  });
}
