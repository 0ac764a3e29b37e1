// A run that dies between recording its job's result and settling it (deleting the input,
// scheduling the output's expiry, giving back the job's capacity place): DEV_STOP_AFTER_RESULT
// makes every run stop right there, as if its Worker died. The job's Durable Object alarm finds
// the result unsettled once the lease (JOB_LEASE_SECONDS) passes and sends the settling to the
// queue. With one place in all, the next submission is refused until then and accepted after.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  assertCleanLog, assertError, eventually, extractBody, r2Query, sleep, testKeys, useService, waitForJob,
} from './harness.mjs';

const keys = testKeys();
const LEASE_SECONDS = 5;
let svc;
let fx;
let rx;
let c;

useService({
  keys,
  name: 'settle',
  receiver: true,
  vars: { DEV_STOP_AFTER_RESULT: 'true', JOB_LEASE_SECONDS: String(LEASE_SECONDS), QUEUE_CAPACITY: '1', KEY_CAPACITY: '1' },
}, (s) => ({ svc, fx, rx, c } = s));

const inputs = () => r2Query(svc, "SELECT key FROM _mf_objects WHERE key LIKE 'inputs/%'").map((o) => o.key);

/** Submits once the place is free (503 QUEUE_FULL until then); the accepted job's data. */
const submitWhenFree = (body) => eventually(async () => {
  const r = await c.post('/v1/extract', body);
  if (r.status === 503) return null;
  assert.equal(r.status, 202, r.text);
  return r.json.data;
}, (LEASE_SECONDS + 20) * 1000, 'a free place');

/**
 * Runs a job to its result and checks that its place is still taken then and comes back through
 * its alarm; `stored`: whether the job had stored an input (a source that was fetched).
 */
async function placeComesBack(t, body, { stored }) {
  const job = await submitWhenFree(body);
  const final = await waitForJob(svc.base, keys.pro, job.jobId);
  const finishedAt = Date.now();
  // The run stopped after recording the result: the place and the input wait.
  assertError(await c.post('/v1/extract', body), 503, 'QUEUE_FULL', 'the place is still taken');
  assert.equal(inputs().includes(`inputs/${job.jobId}`), stored, 'the input is still there');
  assert.match(svc.log(), new RegExp(`job ${job.jobId}: the run stops after recording its result`));
  const next = await submitWhenFree(body);
  t.diagnostic(`place given back ${((Date.now() - finishedAt) / 1000).toFixed(1)} s after the result (lease ${LEASE_SECONDS} s)`);
  assert.match(svc.log(), new RegExp(`job ${job.jobId}: its result was recorded but not settled`));
  assert.ok(!inputs().includes(`inputs/${job.jobId}`), 'the input is deleted');
  // The job accepted in the freed place runs too (and leaves its place the same way).
  assert.equal((await waitForJob(svc.base, keys.pro, next.jobId)).status, final.status);
  return { job, final };
}

test('a completed job whose run stopped before settling gives its place back, its input deleted and its webhook sent once', async (t) => {
  const body = extractBody(fx.file('mp4_h264_aac_stereo44k.mp4'), 'aac', { options: { webhook: rx.url('settled') } });
  const { job, final } = await placeComesBack(t, body, { stored: true });
  assert.equal(final.status, 'completed', JSON.stringify(final.error));
  // The output is whole and stays downloadable.
  const r = await c.get(`/v1/download/${job.jobId}`);
  assert.equal(r.status, 200);
  assert.equal(r.buffer.length, final.outputFile.size);
  // The webhook owed since the result is sent once the job is settled, and only once.
  const sent = () => rx.deliveries('settled').filter((d) => d.body?.jobId === job.jobId);
  await eventually(() => sent().length > 0, 60_000, 'the webhook');
  assert.equal(sent()[0].body.event, 'job.completed');
  await sleep((LEASE_SECONDS + 3) * 1000); // past the alarms that follow
  assert.equal(sent().length, 1);
});

test('a failed job whose run stopped before settling gives its place back', async (t) => {
  const { final } = await placeComesBack(t, extractBody(fx.url('/status/404/gone.mp4'), 'aac'), { stored: false });
  assert.equal(final.status, 'failed');
  assert.equal(final.error.code, 'DOWNLOAD_FAILED');
});

test('no panic in the Worker log', () => assertCleanLog(svc));
