// The Worker killed mid-work (SIGKILL to wrangler and workerd, as in a crash) and started again
// on the same port and --persist-to state. Durable Objects (jobs and their alarms) and R2
// survive that; the local queue keeps its messages in memory only, so every message sent and
// not yet finished (queued jobs, the job being run, webhook retries waiting for their delay) is
// gone. Each job's Durable Object alarm brings the work back once its lease (JOB_LEASE_SECONDS,
// short here) passes without a sign of life. Checked: every job ends completed or failed with
// its code, outputs finished before the kill download the same bytes after it, a job run again
// produces the same bytes as an uninterrupted run, a webhook retry pending at the kill is made,
// a job interrupted on every run fails after 3 runs, a job killed while the engine extracts runs
// again to the same bytes as an uninterrupted run with its killed upload aborted in R2, and the
// capacity count ends where it began.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  assertCleanLog, assertError, decodedDuration, eventually, extractBody, ffprobe, r2Query, saveOutput,
  sha256, sleep, testKeys, useService, waitForJob,
} from './harness.mjs';

const keys = testKeys();
const LEASE_SECONDS = 4;
const CAPACITY = 12;
// Long enough that a retry is still waiting in the queue when the Worker is killed.
const WEBHOOK_RETRY_BASE_SECONDS = 20;
let svc;
let fx;
let rx;
let c;

useService({
  keys,
  name: 'restart',
  receiver: true,
  // Without wrangler's DevTools proxy, under which downloads of a few MB hang (see harness.mjs).
  inspector: false,
  vars: {
    JOB_LEASE_SECONDS: String(LEASE_SECONDS),
    QUEUE_CAPACITY: String(CAPACITY),
    KEY_CAPACITY: String(CAPACITY),
    WEBHOOK_RETRY_BASE_SECONDS: String(WEBHOOK_RETRY_BASE_SECONDS),
  },
}, (s) => ({ svc, fx, rx, c } = s));

const SMALL = 'mp4_h264_aac_stereo44k.mp4';
const LONG = 'long_mp4_h264_aac_stereo44k_10min.mp4';
const ERROR_CODES = ['DOWNLOAD_FAILED', 'INVALID_VIDEO', 'INVALID_OUTPUT', 'EXTRACTION_FAILED'];

const status = async (id) => (await c.get(`/v1/status/${id}`)).json.data;
const download = async (id) => {
  const r = await c.get(`/v1/download/${id}`);
  assert.equal(r.status, 200, `download ${id}: ${r.text.slice(0, 300)}`);
  return sha256(r.buffer);
};
const finish = (id, timeoutMs = 90_000) => waitForJob(svc.base, keys.pro, id, timeoutMs);

test('jobs queued, running and finished at the kill all end completed or failed; no output lost or changed', async (t) => {
  // Finished before the kill: one with its webhook delivered, one whose webhook failed once and
  // waits WEBHOOK_RETRY_BASE_SECONDS in the queue for its retry.
  rx.failFirst('retry-pending', 1, 500);
  const done = [
    await c.submit(extractBody(fx.file(SMALL), 'aac', { options: { webhook: rx.url('delivered') } })),
    await c.submit(extractBody(fx.file('webm_vp9_opus.webm'), 'opus')),
    await c.submit(extractBody(fx.file('mov_h264_aac.mov'), 'aac', { options: { webhook: rx.url('retry-pending') } })),
  ];
  for (const j of done) assert.equal((await finish(j.jobId)).status, 'completed');
  const before = await Promise.all(done.map((j) => download(j.jobId)));
  await rx.waitFor('delivered', 1, 20_000);
  await rx.waitFor('retry-pending', 1, 20_000);

  // At the kill: the first job of the queue's batch waits for its held source (processing,
  // downloading_video); the jobs behind it in the batch (run one after another) and those not yet
  // delivered (the 10-minute one among them) are queued.
  const hold = (name) => fx.url(`/hold/restart/${name}`);
  const r = await c.post('/v1/batch', {
    jobs: [
      extractBody(hold(SMALL), 'aac', { options: { webhook: rx.url('held') } }),
      extractBody(hold(SMALL), 'wav'),
      extractBody(hold('mkv_h264_flac.mkv'), 'flac'),
      extractBody(fx.url('/status/404/gone.mp4'), 'aac'),
      extractBody(hold('webm_vp9_opus.webm'), 'opus', { options: { priority: 'low' } }),
      extractBody(hold('mp4_h264_mp3.mp4'), 'mp3', { options: { priority: 'high' } }),
      extractBody(fx.file(LONG), 'aac'),
    ],
  });
  assert.equal(r.status, 202, r.text);
  const midway = r.json.data.jobs;
  const atKill = await eventually(async () => {
    if (fx.heldCount('restart') < 1) return null;
    const s = await Promise.all(midway.map((j) => status(j.jobId)));
    const states = s.map((d) => d.status);
    return states.includes('queued') && states.includes('processing') ? s : null;
  }, 30_000, 'a held job processing and others queued');
  const fetching = atKill.filter((d) => d.status === 'processing');
  assert.ok(fetching.every((d) => d.currentStep === 'downloading_video'), JSON.stringify(fetching));
  assert.equal(rx.deliveries('retry-pending').length, 1, 'the webhook retry is still waiting in the queue');
  const killedAt = Date.now();
  const logBefore = svc.log().length;
  await svc.restart();
  const restartedAt = Date.now();
  fx.release('restart');

  const finals = await Promise.all(midway.map((j) => finish(j.jobId)));
  t.diagnostic(`at the kill: ${atKill.map((d) => d.status).join(', ')}; restart ${((restartedAt - killedAt) / 1000).toFixed(1)} s; all finished ${((Date.now() - restartedAt) / 1000).toFixed(1)} s after it`);
  for (const [i, f] of finals.entries()) {
    assert.ok(['completed', 'failed'].includes(f.status), `job ${i}: ${JSON.stringify(f)}`);
    if (f.status === 'failed') assert.ok(ERROR_CODES.includes(f.error?.code), `job ${i} failed with a documented code: ${JSON.stringify(f.error)}`);
  }
  assert.deepEqual(finals.map((f) => f.error?.code ?? f.status),
    ['completed', 'completed', 'completed', 'DOWNLOAD_FAILED', 'completed', 'completed', 'completed']);
  assert.ok(Math.abs(finals[6].outputFile.duration - 600) < 1, `the 10-minute output: ${finals[6].outputFile.duration} s`);

  // Finished before the kill: the same bytes after it.
  assert.deepEqual(await Promise.all(done.map((j) => download(j.jobId))), before);
  // Run again after the kill: the same bytes as the uninterrupted run of the same source.
  assert.equal(await download(midway[0].jobId), before[0], 'the held job, run again, made what the first job made');

  // The work came back through the jobs' alarms (the local queue lost its messages).
  assert.match(svc.log().slice(logBefore), /no sign of life from attempt/);

  // Webhooks: the pending retry is made once its deadline passed; nothing delivered twice.
  const retried = await rx.waitFor('retry-pending', 2, 60_000);
  assert.deepEqual(retried.map((d) => d.answered), [500, 200]);
  t.diagnostic(`the lost webhook retry made ${((retried[1].at - retried[0].at) / 1000).toFixed(1)} s after the failed attempt`);
  // Its deadline: the retry delay, the lease and the receiver's 10 s timeout (plus slack for the
  // restart and the alarm).
  assert.ok(retried[1].at - killedAt < (WEBHOOK_RETRY_BASE_SECONDS + LEASE_SECONDS + 10 + 15) * 1000, 'made by its deadline');
  await rx.waitFor('held', 1, 30_000);
  const s = await eventually(async () => {
    const d = await status(done[2].jobId);
    return d.webhook?.status === 'delivered' ? d : null;
  }, 15_000, 'webhook delivered');
  assert.equal(s.webhook.attempts, 2);
  await sleep((LEASE_SECONDS + 2) * 1000); // past the alarms that follow the deliveries
  assert.equal(rx.deliveries('delivered').length, 1, 'a webhook delivered before the kill is not sent again');
  assert.equal(rx.deliveries('retry-pending').length, 2);
  assert.equal(rx.deliveries('held').length, 1);
});

test('a job interrupted on every run fails with EXTRACTION_FAILED after 3 runs', async (t) => {
  const t0 = Date.now();
  const job = await c.submit(extractBody(fx.url(`/hold/never/${SMALL}`), 'aac', { options: { webhook: rx.url('interrupted') } }));
  for (let run = 1; run <= 3; run++) {
    await eventually(() => fx.heldCount('never') >= run, 30_000, `run ${run} fetching its source`);
    await svc.restart();
  }
  const f = await finish(job.jobId, 60_000);
  assert.equal(f.status, 'failed', JSON.stringify(f));
  assert.equal(f.error.code, 'EXTRACTION_FAILED');
  assert.match(f.error.details ?? '', /3 attempts/);
  assert.equal(fx.heldCount('never'), 3, 'no fourth run');
  t.diagnostic(`3 runs killed, failed ${((Date.now() - t0) / 1000).toFixed(1)} s after submission`);
  const [event] = await rx.waitFor('interrupted', 1, 30_000);
  assert.equal(event.body.event, 'job.failed');
  assert.equal(event.body.error.code, 'EXTRACTION_FAILED');
});

test('a job killed while its engine extracts runs again to one full output, the same as an uninterrupted run', async (t) => {
  // 10 minutes of AAC re-encoded to Ogg Vorbis: about 10 s of engine work here (a FLAC
  // re-encode takes a few seconds), with progress saved every second, so the kill lands while
  // the engine extracts.
  const body = (webhook) => extractBody(fx.file(LONG), 'ogg', { options: { webhook: rx.url(webhook) } });
  const reference = await c.submit(body('uninterrupted'));
  const ref = await finish(reference.jobId, 180_000);
  assert.equal(ref.status, 'completed', JSON.stringify(ref.error));
  const output = async (id) => {
    const r = await c.get(`/v1/download/${id}`);
    assert.equal(r.status, 200, r.text.slice(0, 300));
    return r.buffer;
  };
  const refBytes = await output(reference.jobId);

  const job = await c.submit(body('killed'));
  const atKill = await eventually(async () => {
    const d = await status(job.jobId);
    return d.currentStep === 'extracting_audio' && d.progress > 40 ? d : null;
  }, 120_000, 'the engine extracting, with progress saved');
  const logBefore = svc.log().length;
  const killedAt = Date.now();
  await svc.restart();
  // Until the job runs again to its end, there is nothing to download (no part of the killed run).
  assertError(await c.get(`/v1/download/${job.jobId}`), 202, 'JOB_NOT_COMPLETED');
  const f = await finish(job.jobId, 180_000);
  t.diagnostic(`uninterrupted run ${((Date.parse(ref.completedAt) - Date.parse(ref.createdAt)) / 1000).toFixed(0)} s; killed at ${atKill.progress} % (extracting), completed ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill`);
  assert.equal(f.status, 'completed', JSON.stringify(f.error));

  // A valid, full output: the same bytes as the uninterrupted run (the same build encodes the
  // same input to the same bytes), ffprobe's duration and the decoded length those of the
  // 10-minute source, within a Vorbis block.
  const bytes = await output(job.jobId);
  assert.equal(bytes.length, f.outputFile.size);
  assert.equal(sha256(bytes), sha256(refBytes), 'the same bytes as the uninterrupted run');
  const path = saveOutput(`restart-${job.jobId}.ogg`, bytes);
  const frame = 2048 / 44_100;
  assert.ok(Math.abs(ffprobe(path).duration - 600) <= frame, `ffprobe: ${ffprobe(path).duration} s`);
  assert.ok(Math.abs(decodedDuration(path) - 600) <= frame, `decoded: ${decodedDuration(path)} s`);

  // One result: one run after the kill, one event, nothing of the killed run left in R2 (its
  // multipart upload is aborted, so neither an upload in progress nor stray parts remain).
  const log = svc.log().slice(logBefore);
  assert.match(log, new RegExp(`job ${job.jobId}: no sign of life from attempt 1`));
  assert.equal(log.match(new RegExp(`job ${job.jobId} completed`, 'g'))?.length, 1, 'one result recorded');
  const [event] = await rx.waitFor('killed', 1, 30_000);
  assert.equal(event.body.event, 'job.completed');
  const uploads = r2Query(svc, `SELECT upload_id, state FROM _mf_multipart_uploads WHERE key = 'outputs/${job.jobId}'`);
  assert.deepEqual(uploads.map((u) => u.state).sort(), [1, 2], `one upload completed, the killed run's aborted: ${JSON.stringify(uploads)}`);
  assert.deepEqual(r2Query(svc, 'SELECT upload_id, part_number FROM _mf_multipart_parts WHERE object_key IS NULL'), [], 'no parts outside an object');
  assert.deepEqual(r2Query(svc, `SELECT key FROM _mf_objects WHERE key LIKE '%${job.jobId}'`).map((o) => o.key), [`outputs/${job.jobId}`]);
  await sleep((LEASE_SECONDS + 2) * 1000); // past the alarm that follows the delivery
  assert.equal(rx.deliveries('killed').length, 1, 'one webhook event');
});

test('after the restarts every place in the queue is free again, and no more', async () => {
  const ids = [];
  for (let i = 0; i < CAPACITY; i++) ids.push((await c.submit(extractBody(fx.url(`/hold/fill/${SMALL}`), 'aac'))).jobId);
  assertError(await c.post('/v1/extract', extractBody(fx.file(SMALL), 'aac')), 503, 'QUEUE_FULL');
  fx.release('fill');
  for (const id of ids) assert.equal((await finish(id)).status, 'completed');
});

test('no panic in the Worker log', () => assertCleanLog(svc));
