// converso-audio installed from its tarball into a clean Vite app, bundled by `vite build`, and
// run in headless Chromium: the worker and the wasm file must survive bundling.
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

test('the bundle carries the engine and its worker as files of their own', () => {
  const assets = readdirSync(join(app, 'dist', 'assets'));
  const wasm = assets.filter((f) => f.endsWith('.wasm'));
  assert.equal(wasm.length, 1, `assets: ${assets}`);
  assert.ok(statSync(join(app, 'dist', 'assets', wasm[0])).size > 500_000);
  assert.ok(assets.some((f) => /worker/i.test(f) && f.endsWith('.js')), `a worker chunk among ${assets}`);
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
  assert.deepEqual(problems, []);
});
