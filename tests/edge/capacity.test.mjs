// Capacity and availability: QUEUE_FULL (503 + Retry-After) when queued + processing jobs reach
// QUEUE_CAPACITY overall or KEY_CAPACITY for one key, recovery once jobs finish (completed or
// failed); SERVICE_UNAVAILABLE (503 + Retry-After) with MAINTENANCE=true.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  api, assertCleanLog, assertError, assertRetryAfter, defaultVars, eventually, extractBody,
  startFixtureServer, startService, testKeys, waitForJob,
} from './harness.mjs';

const FILE = 'mp4_h264_aac_stereo44k.mp4';

describe('QUEUE_FULL (QUEUE_CAPACITY=3, KEY_CAPACITY=2)', () => {
  const keys = testKeys();
  let svc;
  let fx;
  let pro;
  let free;
  before(async () => {
    fx = await startFixtureServer();
    svc = await startService({ name: 'capacity', vars: { ...defaultVars(keys), QUEUE_CAPACITY: '3', KEY_CAPACITY: '2' } });
    pro = api(svc.base, keys.pro);
    free = api(svc.base, keys.free);
  });
  after(async () => {
    fx?.release('round1');
    fx?.release('round2');
    await svc?.stop();
    await fx?.close();
  });

  const held = (tag) => extractBody(fx.url(`/hold/${tag}/${FILE}`), 'aac');
  const full = async (client, body, what, path = '/v1/extract') => {
    const r = await client.post(path, body);
    assertError(r, 503, 'QUEUE_FULL', what);
    assertRetryAfter(r);
    assert.equal(r.headers.get('access-control-allow-origin'), '*', 'CORS on a 503');
  };
  const finish = async (key, ids) => {
    const finals = await Promise.all(ids.map((id) => waitForJob(svc.base, key, id, 90_000)));
    return finals.map((f) => f.status);
  };

  test('per key, then overall; recovery after the jobs complete; failed jobs free their place', async () => {
    // Round 1: two jobs of the pro key fill its share; the free key fills the last global place.
    const p1 = await pro.submit(held('round1'));
    const p2 = await pro.submit(held('round1'));
    await full(pro, held('round1'), 'third job of one key (KEY_CAPACITY=2)');
    await full(pro, { jobs: [held('round1')] }, 'a batch over the key capacity', '/v1/batch');
    const f1 = await free.submit(held('round1'));
    await full(free, held('round1'), 'fourth job overall (QUEUE_CAPACITY=3)');
    // Refused submissions created nothing and hold no place: still exactly full.
    await full(pro, held('round1'), 'still full');

    fx.release('round1');
    assert.deepEqual(await finish(keys.pro, [p1.jobId, p2.jobId]), ['completed', 'completed']);
    assert.deepEqual(await finish(keys.free, [f1.jobId]), ['completed']);

    // Round 2: the places are back, exactly as many as before.
    const failing = await pro.submit(extractBody(fx.url('/status/404/missing.mp4'), 'aac'));
    const q1 = await pro.submit(held('round2'));
    assert.deepEqual(await finish(keys.pro, [failing.jobId]), ['failed']);
    // The failed job gave its place back (retry briefly: the release may trail the status).
    const q2 = await eventually(async () => {
      const r = await pro.post('/v1/extract', held('round2'));
      if (r.status === 202) return r.json.data;
      assertError(r, 503, 'QUEUE_FULL');
      return null;
    }, 10_000, 'a place freed by the failed job');
    const g1 = await free.submit(held('round2'));
    await full(free, held('round2'), 'full again');
    fx.release('round2');
    assert.deepEqual(await finish(keys.pro, [q1.jobId, q2.jobId]), ['completed', 'completed']);
    assert.deepEqual(await finish(keys.free, [g1.jobId]), ['completed']);
    const after3 = await pro.post('/v1/batch', { jobs: [extractBody(fx.file(FILE), 'aac'), extractBody(fx.file(FILE), 'aac')] });
    assert.equal(after3.status, 202, after3.text);
  });

  test('no panic in the Worker log', () => assertCleanLog(svc));
});

describe('SERVICE_UNAVAILABLE (MAINTENANCE=true)', () => {
  const keys = testKeys();
  let svc;
  let c;
  before(async () => {
    svc = await startService({ name: 'maintenance', vars: { ...defaultVars(keys), MAINTENANCE: 'true' } });
    c = api(svc.base, keys.pro);
  });
  after(() => svc?.stop());

  const ROUTES = [
    ['POST', '/v1/extract', extractBody('https://example.com/video.mp4', 'aac')],
    ['POST', '/v1/batch', { jobs: [extractBody('https://example.com/video.mp4', 'aac')] }],
    ['GET', '/v1/status/job_0123456789abcdef'],
    ['GET', '/v1/download/job_0123456789abcdef'],
    ['GET', '/v1/batch/batch_0123456789abcdef'],
    ['POST', '/v1/webhooks/job_0123456789abcdef/redeliver'],
    ['POST', '/audio-extract/v1/extract', extractBody('https://example.com/video.mp4', 'aac')],
  ];
  for (const [method, path, json] of ROUTES) {
    test(`${method} ${path}`, async () => {
      const r = await c.request(method, path, json ? { json } : {});
      assertError(r, 503, 'SERVICE_UNAVAILABLE');
      assertRetryAfter(r);
    });
  }
  test('CORS preflights still answer', async () => {
    const r = await api(svc.base, null).request('OPTIONS', '/v1/extract', { headers: { origin: 'https://app.example.net', 'access-control-request-method': 'POST' } });
    assert.equal(r.status, 204);
    assert.equal(r.headers.get('access-control-allow-origin'), '*');
  });
  test('health still answers, with status "maintenance"', async () => {
    const r = await api(svc.base, null).get('/v1/health');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.data.status, 'maintenance');
  });
});
