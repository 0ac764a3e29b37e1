// converso-audio installed from its tarball into a clean Vite app, bundled by `vite build`, and
// run in headless Chromium: the workers and the wasm files of both entry points (the main one
// and converso-audio/copy) must survive bundling.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { FIXTURES_DIR } from '../edge/harness.mjs';
import { launch, watchConsole } from './browser.mjs';
import { installInto, removeDir } from './package.mjs';
import { serveStatic } from './static.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
let app;
let server;
let browser;

before(async () => {
  app = mkdtempSync(join(tmpdir(), 'converso-vite-'));
  cpSync(join(HERE, 'vite-app'), app, { recursive: true });
  installInto(app);
  await build({ root: app, logLevel: 'warn', build: { outDir: join(app, 'dist'), emptyOutDir: true } });
  server = await serveStatic(join(app, 'dist'), { '/fixture.webm': join(FIXTURES_DIR, 'webm_vp9_opus.webm') });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
  if (app) removeDir(app);
});

test('the bundle carries both engines and their workers as files of their own', () => {
  const assets = readdirSync(join(app, 'dist', 'assets'));
  const size = (f) => statSync(join(app, 'dist', 'assets', f)).size;
  const wasm = assets.filter((f) => f.endsWith('.wasm')).sort((a, b) => size(a) - size(b));
  assert.equal(wasm.length, 2, `assets: ${assets}`);
  assert.ok(/copy/.test(wasm[0]) && size(wasm[1]) > 2 * size(wasm[0]), `the copy-only engine is the smaller: ${wasm}`);
  assert.equal(assets.filter((f) => /worker/i.test(f) && f.endsWith('.js')).length, 2, `two worker chunks among ${assets}`);
  assert.ok(existsSync(join(app, 'dist', 'index.html')));
});

test('the built app probes and extracts in Chromium', async () => {
  const page = await browser.context.newPage();
  const problems = watchConsole(page);
  await page.goto(server.base + '/');
  await page.waitForFunction(() => document.body.dataset.result || document.body.dataset.error, null, { timeout: 60_000 });
  assert.equal(await page.evaluate(() => document.body.dataset.error ?? null), null);
  const r = JSON.parse(await page.evaluate(() => document.body.dataset.result));
  assert.equal(r.container, 'webm');
  assert.equal(r.tracks, 2);
  assert.equal(r.mode, 'copy');
  assert.equal(r.type, 'audio/opus');
  assert.ok(r.size > 10_000);
  assert.equal(r.size, r.outputSize);
  assert.equal(r.lastProgress, 1);
  assert.equal(r.invalid, 'INVALID_VIDEO');
  assert.deepEqual([r.copyMode, r.sameBytes, r.refused], ['copy', true, 'INVALID_OUTPUT']);
  assert.deepEqual(problems, []);
});
