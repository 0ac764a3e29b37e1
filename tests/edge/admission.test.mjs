// A submission whose Worker dies after taking its jobs' capacity places in the coordinator and
// before storing the jobs: DEV_STOP_AFTER_ADMIT makes every submission of the first instance stop
// right there (the client sees INTERNAL_ERROR), as if its Worker died. No job exists to give the
// places back; the coordinator reclaims them once ADMISSION_GRACE_SECONDS pass. The second
// instance (no fault) shows that a stored job's place is not reclaimed, however long it runs.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  api, assertCleanLog, assertError, defaultVars, eventually, extractBody, startFixtureServer, startService, testKeys,
  waitForJob,
} from './harness.mjs';

const keys = testKeys();
const GRACE_SECONDS = 3;
const vars = {
  ...defaultVars(keys),
  ADMISSION_GRACE_SECONDS: String(GRACE_SECONDS),
  QUEUE_CAPACITY: '1',
  KEY_CAPACITY: '1',
};
let fx;
let dying;
let healthy;

before(async () => {
  fx = await startFixtureServer();
  dying = await startService({ name: 'admission-dies', vars: { ...vars, DEV_STOP_AFTER_ADMIT: 'true' } });
  healthy = await startService({ name: 'admission', vars });
});
after(async () => {
  await dying?.stop();
  await healthy?.stop();
  await fx?.close();
});

const SMALL = 'mp4_h264_aac_stereo44k.mp4';

test('places taken by a submission that never stored its jobs come back after the grace', async (t) => {
  const c = api(dying.base, keys.pro);
  const body = extractBody(fx.file(SMALL), 'aac');
  const sentAt = Date.now(); // the place is taken after this
  assertError(await c.post('/v1/extract', body), 500, 'INTERNAL_ERROR', 'the submission stops');
  // The Worker's log reaches its file a moment after the response.
  const stopped = /jobs (job_[0-9a-f]{16}): the submission stops after taking their places/;
  const [, lost] = await eventually(() => stopped.exec(dying.log()), 10_000, 'the log naming the job whose place was taken');
  assertError(await c.post('/v1/extract', body), 503, 'QUEUE_FULL', 'the place is taken');
  // Once the grace has passed the place is free: the next submission is admitted (and stops
  // after admission in turn).
  await eventually(async () => (await c.post('/v1/extract', body)).status === 500, (GRACE_SECONDS + 20) * 1000, 'a free place');
  const after = (Date.now() - sentAt) / 1000;
  t.diagnostic(`place reclaimed ${after.toFixed(1)} s after the submission (grace ${GRACE_SECONDS} s)`);
  // Half a second for the Worker's clock, which only moves between its I/O.
  assert.ok(after >= GRACE_SECONDS - 0.5, `not before the grace (${after} s)`);
  const reclaimed = new RegExp(`job ${lost}: its place is given back, the job was never stored`);
  await eventually(() => reclaimed.test(dying.log()), 10_000, 'the log naming the reclaimed place');
});

test('a stored job keeps its place past the grace until it is settled', async () => {
  const c = api(healthy.base, keys.pro);
  const held = await c.post('/v1/extract', extractBody(fx.url(`/hold/admission/${SMALL}`), 'aac'));
  assert.equal(held.status, 202, held.text);
  await eventually(() => fx.heldCount('admission') > 0, 30_000, 'the source fetched');
  await new Promise((r) => setTimeout(r, (GRACE_SECONDS + 2) * 1000));
  assertError(await c.post('/v1/extract', extractBody(fx.file(SMALL), 'aac')), 503, 'QUEUE_FULL', 'the running job keeps its place');
  fx.release('admission');
  assert.equal((await waitForJob(healthy.base, keys.pro, held.json.data.jobId)).status, 'completed');
  const next = await eventually(async () => {
    const r = await c.post('/v1/extract', extractBody(fx.file(SMALL), 'aac'));
    return r.status === 202 ? r.json.data : null;
  }, 30_000, 'the place given back when the job is settled');
  assert.equal((await waitForJob(healthy.base, keys.pro, next.jobId)).status, 'completed');
  assert.doesNotMatch(healthy.log(), /its place is given back, the job was never stored/);
});

test('no panic in the Worker logs', () => {
  assertCleanLog(dying);
  assertCleanLog(healthy);
});
