// Output retention with OUTPUT_TTL_SECONDS=3: downloadable at first, 410 FILE_EXPIRED after
// expiry (before and after the scheduled cleanup runs), the status stays "completed", and the
// cleanup deletes the stored object.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  assertCleanLog, assertError, extractBody, filesUnder, runJob, sha256, sleep, testKeys, useService,
} from './harness.mjs';
import { readFileSync, statSync } from 'node:fs';

const TTL = 3;
const keys = testKeys();
let svc;
let fx;
let c;

useService(
  { keys, name: 'expiry', vars: { OUTPUT_TTL_SECONDS: String(TTL) }, testScheduled: true },
  (s) => ({ svc, fx, c } = s),
);

/** Files in wrangler's local storage whose bytes are exactly `bytes`. */
function storedCopies(bytes) {
  const digest = sha256(bytes);
  return filesUnder(svc.persistDir).filter((p) => {
    try {
      return statSync(p).size === bytes.length && sha256(readFileSync(p)) === digest;
    } catch {
      return false;
    }
  });
}

test('an output expires after OUTPUT_TTL_SECONDS and the cleanup deletes it', async (t) => {
  const { submitted, final } = await runJob(svc.base, keys.pro, extractBody(fx.file('mp4_h264_aac_stereo44k.mp4'), 'aac'));
  const id = submitted.jobId;
  assert.equal(final.status, 'completed', JSON.stringify(final.error));
  const ttl = (Date.parse(final.expiresAt) - Date.parse(final.completedAt)) / 1000;
  assert.ok(Math.abs(ttl - TTL) <= 1, `expiresAt is ${TTL} s after completedAt (got ${ttl})`);

  const first = await c.get(`/v1/download/${id}`);
  assert.equal(first.status, 200, `downloadable before expiry: ${first.status} ${first.text.slice(0, 200)}`);
  const copies = storedCopies(first.buffer);
  if (copies.length === 0) t.diagnostic('the output was not found as a plain file under --persist-to; the deletion check is skipped');

  // Past expiresAt: 410 even before any cleanup ran.
  await sleep(Math.max(0, Date.parse(final.expiresAt) - Date.now()) + 1500);
  assertError(await c.get(`/v1/download/${id}`), 410, 'FILE_EXPIRED');
  assertError(await c.get(`/audio-extract/v1/download/${id}`), 410, 'FILE_EXPIRED');
  const s1 = await c.get(`/v1/status/${id}`);
  assert.equal(s1.status, 200);
  assert.equal(s1.json.data.status, 'completed', 'the status stays completed after expiry');
  assert.equal(s1.json.data.expiresAt, final.expiresAt);

  // The scheduled cleanup.
  const fired = await svc.fireScheduled();
  assert.equal(fired.status, 200, `scheduled handler: ${fired.status} ${fired.text}`);
  if (copies.length) {
    for (let i = 0; i < 40 && storedCopies(first.buffer).length; i++) await sleep(250);
    assert.deepEqual(storedCopies(first.buffer), [], 'the cleanup deleted the stored output');
  }
  assertError(await c.get(`/v1/download/${id}`), 410, 'FILE_EXPIRED');
  const s2 = await c.get(`/v1/status/${id}`);
  assert.equal(s2.json.data.status, 'completed');
  // Firing it again (nothing left to do) is harmless.
  assert.equal((await svc.fireScheduled()).status, 200);
  assertError(await c.get(`/v1/download/${id}`), 410, 'FILE_EXPIRED');
});

test('a job completing now is downloadable again (the cleanup only takes expired outputs)', async () => {
  const { submitted, final } = await runJob(svc.base, keys.pro, extractBody(fx.file('webm_vp9_opus.webm'), 'opus'));
  assert.equal(final.status, 'completed', JSON.stringify(final.error));
  assert.equal((await svc.fireScheduled()).status, 200);
  const r = await c.get(`/v1/download/${submitted.jobId}`);
  // A slow machine may already be past the 3-second TTL here; then 410 is right.
  if (Date.now() < Date.parse(final.expiresAt) - 200) assert.equal(r.status, 200, r.text.slice(0, 200));
  else assert.ok([200, 410].includes(r.status));
});

test('no panic in the Worker log', () => assertCleanLog(svc));
