// The built converso-audio package (scripts/build-wasm), installed from its tarball into a fresh
// project the way a user installs it.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../edge/harness.mjs';

export const NPM_DIR = join(REPO_ROOT, 'target', 'npm');

/** The packed tarball: target/npm/converso-audio-<version>.tgz. */
export function tarball() {
  const tgz = existsSync(NPM_DIR) ? readdirSync(NPM_DIR).find((f) => /^converso-audio-.*\.tgz$/.test(f)) : null;
  if (!tgz) throw new Error('target/npm/converso-audio-*.tgz is missing: run scripts/build-wasm first');
  return join(NPM_DIR, tgz);
}

/** `npm install <tarball>` into `dir` (a new temporary project unless given); returns the dir. */
export function installInto(dir = mkdtempSync(join(tmpdir(), 'converso-npm-')), extra = {}) {
  if (!existsSync(join(dir, 'package.json'))) {
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'converso-user', private: true, type: 'module', ...extra }));
  }
  const r = spawnSync('npm', ['install', '--no-save', '--no-fund', '--no-audit', '--offline', tarball()], { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm install ${tarball()} failed:\n${r.stdout}\n${r.stderr}`);
  return dir;
}

export function removeDir(dir) {
  rmSync(dir, { recursive: true, force: true });
}

export const packageJson = () => JSON.parse(readFileSync(join(NPM_DIR, 'converso-audio', 'package.json'), 'utf8'));
