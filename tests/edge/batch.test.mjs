// Batches: 10 jobs that all complete, GET /v1/batch/{id} and its counts, a mixed batch,
// per-job options, the 10-job limit and whole-batch rejection naming the invalid job.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BATCH_ID_RE, ISO_RE, JOB_ID_RE, assertError, eventually, extractBody, testKeys, useService, waitForJob,
} from './harness.mjs';

const keys = testKeys();
let svc;
let fx;
let c;

useService({ keys, name: 'batch' }, (s) => ({ svc, fx, c } = s));

const COUNT_KEYS = ['queued', 'processing', 'completed', 'failed'];

function checkBatchView(data, batchId, jobIds) {
  assert.equal(data.batchId, batchId);
  assert.equal(data.totalJobs, jobIds.length);
  assert.deepEqual(data.jobs.map((j) => j.jobId), jobIds, 'the jobs, in submission order');
  for (const j of data.jobs) {
    assert.ok(COUNT_KEYS.includes(j.status), `job status ${j.status}`);
    assert.ok(Number.isInteger(j.progress) && j.progress >= 0 && j.progress <= 100, `job progress ${j.progress}`);
  }
  assert.match(data.createdAt, ISO_RE);
  assert.deepEqual(Object.keys(data.counts).sort(), [...COUNT_KEYS].sort());
  const sum = COUNT_KEYS.reduce((n, k) => n + data.counts[k], 0);
  assert.equal(sum, jobIds.length, `counts add up: ${JSON.stringify(data.counts)}`);
  for (const k of COUNT_KEYS) {
    assert.equal(data.counts[k], data.jobs.filter((j) => j.status === k).length, `counts.${k} matches the jobs`);
  }
}

async function batchWhen(batchId, done, timeoutMs = 120_000) {
  let last;
  await eventually(async () => {
    const r = await c.get(`/v1/batch/${batchId}`);
    assert.equal(r.status, 200, r.text);
    last = r.json.data;
    return done(last);
  }, timeoutMs, `batch ${batchId} finished`).catch((e) => {
    throw new Error(`${e.message}; last: ${JSON.stringify(last)}`);
  });
  return last;
}

const TEN = [
  ['mp4_h264_aac_stereo44k.mp4', 'aac'],
  ['webm_vp9_opus.webm', 'opus'],
  ['webm_vp8_vorbis.webm', 'ogg'],
  ['mp4_h264_mp3.mp4', 'mp3'],
  ['mkv_h264_flac.mkv', 'flac'],
  ['mkv_h264_pcm_s16le.mkv', 'wav'],
  ['mov_h264_aac.mov', 'aac'],
  ['mp4_faststart_h264_aac.mp4', 'aac'],
  ['ogg_opus.opus', 'opus'],
  ['mp4_h264_aac_mono48k.mp4', 'wav'],
];

describe('batches', { concurrency: true }, () => {
  test('10 jobs: accepted together, all complete, counts follow', async () => {
    const jobs = TEN.map(([file, format], i) => extractBody(fx.file(file), format, { options: { filename: `batch-${i}` } }));
    const r = await c.post('/v1/batch', { jobs });
    assert.equal(r.status, 202, r.text);
    assert.equal(r.json.success, true);
    const d = r.json.data;
    assert.match(d.batchId, BATCH_ID_RE);
    assert.equal(d.totalJobs, 10);
    assert.equal(d.jobs.length, 10);
    for (const j of d.jobs) {
      assert.match(j.jobId, JOB_ID_RE);
      assert.equal(j.status, 'queued');
    }
    const ids = d.jobs.map((j) => j.jobId);
    assert.equal(new Set(ids).size, 10, 'distinct job ids');

    const first = await c.get(`/v1/batch/${d.batchId}`);
    assert.equal(first.status, 200, first.text);
    checkBatchView(first.json.data, d.batchId, ids);

    const done = await batchWhen(d.batchId, (v) => v.counts.completed + v.counts.failed === 10);
    checkBatchView(done, d.batchId, ids);
    assert.equal(done.counts.completed, 10, JSON.stringify(done));

    // each job on its own, with its own options, and downloadable
    await Promise.all(ids.map(async (id, i) => {
      const s = await waitForJob(svc.base, keys.pro, id);
      assert.equal(s.status, 'completed', JSON.stringify(s.error));
      assert.equal(s.output.format, TEN[i][1]);
      assert.equal(s.outputFile.filename, `batch-${i}.${TEN[i][1]}`);
      assert.equal(s.batchId, d.batchId, 'a batch job carries its batchId');
      const dl = await c.get(`/v1/download/${id}`);
      assert.equal(dl.status, 200);
      assert.equal(dl.buffer.length, s.outputFile.size);
    }));

    const other = await c.get(`/audio-extract/v1/batch/${d.batchId}`);
    assert.equal(other.status, 200);
    checkBatchView(other.json.data, d.batchId, ids);
  });

  test('a mixed batch: completed and failed counted apart', async () => {
    const jobs = [
      extractBody(fx.file('mp4_h264_aac_stereo44k.mp4'), 'aac'),
      extractBody(fx.url('/status/404/missing.mp4'), 'aac'),
      extractBody(fx.file('mp4_h264_noaudio.mp4'), 'wav'),
    ];
    const r = await c.post('/v1/batch', { jobs });
    assert.equal(r.status, 202, r.text);
    const { batchId } = r.json.data;
    const ids = r.json.data.jobs.map((j) => j.jobId);
    const done = await batchWhen(batchId, (v) => v.counts.completed + v.counts.failed === 3);
    checkBatchView(done, batchId, ids);
    assert.deepEqual(done.counts, { queued: 0, processing: 0, completed: 1, failed: 2 });
    assert.deepEqual(done.jobs.map((j) => j.status), ['completed', 'failed', 'failed']);
    const codes = await Promise.all(ids.slice(1).map(async (id) => (await waitForJob(svc.base, keys.pro, id)).error.code));
    assert.deepEqual(codes, ['DOWNLOAD_FAILED', 'INVALID_VIDEO']);
  });

  test('one job is a batch', async () => {
    const r = await c.post('/v1/batch', { jobs: [extractBody(fx.file('mp4_h264_aac_stereo44k.mp4'), 'aac')] });
    assert.equal(r.status, 202, r.text);
    assert.equal(r.json.data.totalJobs, 1);
  });

  test('malformed and unknown batch ids', async () => {
    assertError(await c.get('/v1/batch/batch_xyz'), 400, 'INVALID_JOB_ID');
    assertError(await c.get('/v1/batch/batch_ffffffffffffffff'), 404, 'JOB_NOT_FOUND');
  });

  test('11 jobs: TOO_MANY_JOBS', async () => {
    const jobs = Array.from({ length: 11 }, () => extractBody(fx.file('mp4_h264_aac_stereo44k.mp4'), 'aac'));
    assertError(await c.post('/v1/batch', { jobs }), 400, 'TOO_MANY_JOBS');
  });

  const INVALID = [
    ['output.format', 3, (j) => ({ ...j, output: { format: 'wma' } }), 'INVALID_OUTPUT'],
    ['source', 1, (j) => ({ ...j, source: { type: 'url', url: 'ftp://example.com/v.mp4' } }), 'INVALID_SOURCE'],
    ['missing output', 9, (j) => ({ source: j.source }), 'INVALID_REQUEST'],
    ['options.webhook', 0, (j) => ({ ...j, options: { webhook: 'http://169.254.169.254/' } }), 'INVALID_WEBHOOK'],
    ['bitrate', 5, (j) => ({ ...j, output: { format: 'mp3', bitrate: 'fast' } }), 'INVALID_OUTPUT'],
    ['options.priority', 7, (j) => ({ ...j, options: { priority: 'asap' } }), 'INVALID_REQUEST'],
  ];
  for (const [what, index, spoil, code] of INVALID) {
    test(`one invalid job (${what} at index ${index}) rejects the batch, details name jobs[${index}]`, async () => {
      const before = Date.now();
      const jobs = Array.from({ length: 10 }, (_, i) => extractBody(fx.file('mp4_h264_aac_stereo44k.mp4'), 'aac', { options: { filename: `reject-${before}-${i}` } }));
      jobs[index] = spoil(jobs[index]);
      const e = assertError(await c.post('/v1/batch', { jobs }), 400, code);
      assert.match(e.details ?? '', new RegExp(`^jobs\\[${index}\\]: `), `details: ${e.details}`);
    });
  }
});

// Runs alone, after the tests above, so that the three jobs reach the queue consumer together.
describe('priorities', () => {
  test('within a batch of queued work: high first, then normal, then low', async () => {
    const url = (p) => `${fx.file('mp4_h264_aac_stereo44k.mp4')}?priority=${p}`;
    const order = ['low', 'normal', 'high'];
    const r = await c.post('/v1/batch', { jobs: order.map((p) => extractBody(url(p), 'aac', { options: { priority: p } })) });
    assert.equal(r.status, 202, r.text);
    const finals = await Promise.all(r.json.data.jobs.map((j) => waitForJob(svc.base, keys.pro, j.jobId)));
    assert.deepEqual(finals.map((f) => f.status), ['completed', 'completed', 'completed']);
    assert.deepEqual(finals.map((f) => f.options.priority), order);
    const fetched = [];
    for (const q of fx.requests) {
      const p = /[?&]priority=(\w+)/.exec(q.url)?.[1];
      if (p && !fetched.includes(p)) fetched.push(p);
    }
    assert.deepEqual(fetched, ['high', 'normal', 'low'], 'the order in which the sources were fetched');
  });
});
