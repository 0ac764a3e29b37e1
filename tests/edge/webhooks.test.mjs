// Webhooks: job.completed and job.failed payloads, the HMAC signature (DEV_WEBHOOK_SECRET),
// retries on errors / redirects / timeouts (WEBHOOK_RETRY_BASE_SECONDS=1 shortens the schedule),
// giving up after 5 attempts (WEBHOOK_FAILED), redelivery, and batch webhooks.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ISO_RE, assertCleanLog, assertError, eventually, extractBody, runJob, sleep, testKeys, useService,
  verifyWebhook, waitForJob,
} from './harness.mjs';

const keys = testKeys();
let svc;
let fx;
let rx;
let c;

useService(
  { keys, name: 'webhooks', receiver: true, vars: { WEBHOOK_RETRY_BASE_SECONDS: '1' } },
  (s) => ({ svc, fx, rx, c } = s),
);

const FILE = 'mp4_h264_aac_stereo44k.mp4';

/** Checks transport and signature of one delivery; returns its parsed body. */
function checkDelivery(d) {
  assert.equal(d.method, 'POST');
  assert.match(d.headers['content-type'] ?? '', /^application\/json/);
  const v = verifyWebhook(keys.webhookSecret, d.headers, d.rawBody);
  assert.ok(v.ok, `signature: ${v.reason}; headers ${JSON.stringify(d.headers)}`);
  assert.equal(verifyWebhook(`${keys.webhookSecret}-wrong`, d.headers, d.rawBody).ok, false, 'a wrong secret does not verify');
  const tampered = Buffer.from(d.rawBody.toString('utf8').replace(/"jobId":"job_/, '"jobId":"job_0'));
  assert.equal(verifyWebhook(keys.webhookSecret, d.headers, tampered).ok, false, 'a changed body does not verify');
  // Replays: the same delivery 5 minutes and 1 second later is stale; a fresh timestamp put on it
  // does not match the signature, which covers the timestamp.
  const sentAt = Number(d.headers['x-converso-timestamp']) * 1000;
  assert.match(verifyWebhook(keys.webhookSecret, d.headers, d.rawBody, { now: sentAt + 301_000 }).reason ?? 'ok', /too far/, 'a stale timestamp does not verify');
  const later = { ...d.headers, 'x-converso-timestamp': String(Math.floor(sentAt / 1000) + 301) };
  assert.equal(verifyWebhook(keys.webhookSecret, later, d.rawBody, { now: sentAt + 301_000 }).reason, 'signature mismatch', 'a replaced timestamp does not verify');
  assert.ok(d.body && typeof d.body === 'object', 'JSON body');
  return d.body;
}

function checkCompleted(body, jobId, status) {
  assert.equal(body.event, 'job.completed');
  assert.equal(body.jobId, jobId);
  assert.equal(body.status, 'completed');
  assert.match(body.timestamp, ISO_RE);
  assert.ok(Math.abs(Date.parse(body.timestamp) - Date.now()) < 300_000, 'timestamp is recent');
  assert.equal(body.downloadUrl, `/audio-extract/v1/download/${jobId}`);
  assert.equal(body.error ?? null, null, 'no error in a completed event');
  assert.deepEqual(body.outputFile, status.outputFile, 'outputFile as in the status');
  for (const k of ['filename', 'url', 'size', 'duration', 'format', 'bitrate']) assert.ok(k in body.outputFile, `outputFile.${k}`);
}

describe('events, signatures, retries', { concurrency: true }, () => {
  test('job.completed: payload and signature, delivered once', async () => {
    const hook = 'completed';
    const { submitted, final } = await runJob(svc.base, keys.pro,
      extractBody(fx.file(FILE), 'aac', { options: { filename: 'my-audio-file', webhook: rx.url(hook) } }));
    assert.equal(final.status, 'completed', JSON.stringify(final.error));
    assert.equal(final.options.webhook, rx.url(hook));
    const [d] = await rx.waitFor(hook, 1, 30_000);
    const body = checkDelivery(d);
    checkCompleted(body, submitted.jobId, final);
    assert.equal(body.outputFile.filename, 'my-audio-file.aac');
    assert.equal(body.outputFile.format, 'aac');
    assert.match(body.outputFile.bitrate, /^\d+k$/);
    // A 2xx answer ends it: no second delivery; the job records the delivery.
    await sleep(4000);
    assert.equal(rx.deliveries(hook).length, 1, 'one delivery for one event');
    const w = (await c.get(`/v1/status/${submitted.jobId}`)).json.data.webhook;
    assert.equal(w?.status, 'delivered', JSON.stringify(w));
    assert.equal(w.attempts, 1);
    assert.match(w.deliveredAt, ISO_RE);
    assert.equal(w.code ?? null, null);
    // Redelivery sends the same event again, freshly signed.
    const r = await c.request('POST', `/v1/webhooks/${submitted.jobId}/redeliver`);
    assert.equal(r.status, 202, r.text);
    assert.deepEqual(r.json, { success: true, data: { jobId: submitted.jobId, webhook: 'queued' } });
    const all = await rx.waitFor(hook, 2, 30_000);
    const again = checkDelivery(all[1]);
    checkCompleted(again, submitted.jobId, final);
    // And via the other prefix.
    const r2 = await c.request('POST', `/audio-extract/v1/webhooks/${submitted.jobId}/redeliver`);
    assert.equal(r2.status, 202, r2.text);
    checkDelivery((await rx.waitFor(hook, 3, 30_000))[2]);
  });

  const FAILED = [
    ['DOWNLOAD_FAILED', () => fx.url('/status/404/missing.mp4'), 'aac'],
    ['INVALID_VIDEO', () => fx.file('mp4_h264_noaudio.mp4'), 'wav'],
    ['INVALID_OUTPUT', () => fx.file(FILE), 'ogg', { bitrate: '900k' }], // above libvorbis's 500k for stereo
  ];
  for (const [code, url, format, output = {}] of FAILED) {
    test(`job.failed with ${code}`, async () => {
      const hook = `failed-${code}`;
      const request = extractBody(url(), format, { output, options: { webhook: rx.url(hook) } });
      const { submitted, final } = await runJob(svc.base, keys.pro, request);
      assert.equal(final.status, 'failed');
      const [d] = await rx.waitFor(hook, 1, 30_000);
      const body = checkDelivery(d);
      assert.equal(body.event, 'job.failed');
      assert.equal(body.jobId, submitted.jobId);
      assert.equal(body.status, 'failed');
      assert.match(body.timestamp, ISO_RE);
      assert.equal(body.error.code, code);
      assert.equal(typeof body.error.message, 'string');
      assert.deepEqual(body.error, final.error, 'error as in the status');
      assert.equal(body.downloadUrl ?? null, null, 'no downloadUrl in a failed event');
      assert.equal(body.outputFile ?? null, null, 'no outputFile in a failed event');
    });
  }

  test('a receiver failing twice (500) gets retries with backoff, then success', async () => {
    const hook = 'flaky';
    rx.failFirst(hook, 2, 500);
    const { submitted } = await runJob(svc.base, keys.pro, extractBody(fx.file(FILE), 'aac', { options: { webhook: rx.url(hook) } }));
    const ds = await rx.waitFor(hook, 3, 60_000);
    assert.deepEqual(ds.map((d) => d.answered), [500, 500, 200]);
    const bodies = ds.map(checkDelivery);
    for (const b of bodies) {
      assert.equal(b.event, 'job.completed');
      assert.equal(b.jobId, submitted.jobId);
    }
    const gap1 = (ds[1].at - ds[0].at) / 1000;
    const gap2 = (ds[2].at - ds[1].at) / 1000;
    assert.ok(gap1 >= 0.9, `first retry after ≥ 1 s (base), got ${gap1}`);
    assert.ok(gap2 > gap1, `the delay grows: ${gap1} s then ${gap2} s`);
    await sleep(3000);
    assert.equal(rx.deliveries(hook).length, 3, 'no delivery after the success');
    const s = await eventually(async () => {
      const data = (await c.get(`/v1/status/${submitted.jobId}`)).json.data;
      return data.webhook?.status === 'delivered' ? data : null;
    }, 10_000, 'webhook.status delivered');
    assert.equal(s.status, 'completed');
    assert.equal(s.webhook.attempts, 3);
    assert.equal(s.webhook.code ?? null, null, 'a delivered webhook is not WEBHOOK_FAILED');
  });

  test('a receiver closing the connection without an answer is a failure, retried', async () => {
    const hook = 'closing';
    rx.script(hook, [{ close: true }]);
    const { submitted } = await runJob(svc.base, keys.pro, extractBody(fx.file(FILE), 'aac', { options: { webhook: rx.url(hook) } }));
    const ds = await rx.waitFor(hook, 2, 60_000);
    assert.deepEqual(ds.map((d) => d.answered), [null, 200]);
    const s = await eventually(async () => {
      const data = (await c.get(`/v1/status/${submitted.jobId}`)).json.data;
      return data.webhook?.status === 'delivered' ? data : null;
    }, 10_000, 'webhook.status delivered');
    assert.equal(s.webhook.attempts, 2);
  });

  test('a redirect is a failure and is not followed', async () => {
    const hook = 'redirecting';
    rx.script(hook, [{ status: 302, location: rx.url('redirect-target') }]);
    await runJob(svc.base, keys.pro, extractBody(fx.file(FILE), 'aac', { options: { webhook: rx.url(hook) } }));
    const ds = await rx.waitFor(hook, 2, 60_000);
    assert.deepEqual(ds.map((d) => d.answered), [302, 200]);
    assert.equal(rx.deliveries('redirect-target').length, 0, 'the redirect was not followed');
  });

  test('5 failed attempts: webhook failed, WEBHOOK_FAILED; redelivery then succeeds', async () => {
    const hook = 'down';
    rx.failFirst(hook, 5, 503);
    const { submitted } = await runJob(svc.base, keys.pro, extractBody(fx.file(FILE), 'aac', { options: { webhook: rx.url(hook) } }));
    const ds = await rx.waitFor(hook, 5, 120_000);
    for (const d of ds) checkDelivery(d);
    const s = await eventually(async () => {
      const data = (await c.get(`/v1/status/${submitted.jobId}`)).json.data;
      return data.webhook?.status === 'failed' ? data : null;
    }, 15_000, 'webhook.status failed');
    assert.equal(s.status, 'completed', 'the job itself stays completed');
    assert.equal(s.webhook.attempts, 5);
    assert.equal(typeof s.webhook.lastError, 'string');
    assert.ok(s.webhook.lastError.length > 0);
    assert.equal(s.webhook.code, 'WEBHOOK_FAILED');
    await sleep(2000);
    assert.equal(rx.deliveries(hook).length, 5, 'no sixth attempt on its own');
    const r = await c.request('POST', `/v1/webhooks/${submitted.jobId}/redeliver`);
    assert.equal(r.status, 202, r.text);
    const again = await rx.waitFor(hook, 6, 30_000);
    assert.equal(again[5].answered, 200);
    checkCompleted(checkDelivery(again[5]), submitted.jobId, s);
  });
});

// Deliveries share the Worker's queue, so a receiver that hangs holds up other messages: this
// runs after the tests above, whose retry timing it would disturb.
describe('timeouts', () => {
  test('no answer within 10 s is a failure', async () => {
    const hook = 'hanging';
    rx.script(hook, [{ hangMs: 20_000 }]);
    await runJob(svc.base, keys.pro, extractBody(fx.file(FILE), 'aac', { options: { webhook: rx.url(hook) } }));
    const ds = await rx.waitFor(hook, 2, 60_000);
    const gap = (ds[1].at - ds[0].at) / 1000;
    assert.ok(gap >= 10 && gap < 20, `retried after the 10 s timeout plus the delay, before the receiver answered: ${gap} s`);
  });

});

describe('batch webhooks and redelivery errors', { concurrency: true }, () => {
  test("the batch webhook gets each job's events; a job's own webhook wins", async () => {
    const jobs = [
      extractBody(fx.file(FILE), 'aac', { options: { webhook: rx.url('own') } }),
      extractBody(fx.file('webm_vp9_opus.webm'), 'opus'),
      extractBody(fx.url('/status/404/missing.mp4'), 'aac'),
    ];
    const r = await c.post('/v1/batch', { jobs, webhook: rx.url('batch') });
    assert.equal(r.status, 202, r.text);
    const ids = r.json.data.jobs.map((j) => j.jobId);
    await Promise.all(ids.map((id) => waitForJob(svc.base, keys.pro, id)));
    const own = await rx.waitFor('own', 1, 30_000);
    const batch = await rx.waitFor('batch', 2, 30_000);
    await sleep(2000);
    assert.deepEqual(rx.deliveries('own').map((d) => checkDelivery(d).jobId), [ids[0]]);
    const got = rx.deliveries('batch').map((d) => checkDelivery(d));
    assert.deepEqual(got.map((b) => b.jobId).sort(), [ids[1], ids[2]].sort());
    assert.equal(got.find((b) => b.jobId === ids[1]).event, 'job.completed');
    assert.equal(got.find((b) => b.jobId === ids[2]).event, 'job.failed');
    assert.equal(own.length + batch.length, 3);
    const batchId = r.json.data.batchId;
    for (const d of [...rx.deliveries('own'), ...rx.deliveries('batch')]) assert.equal(d.body.batchId, batchId, 'batch events carry batchId');
  });

  test('redeliver: unknown job 404, malformed id 400', async () => {
    assertError(await c.request('POST', '/v1/webhooks/job_ffffffffffffffff/redeliver'), 404, 'JOB_NOT_FOUND');
    assertError(await c.request('POST', '/v1/webhooks/job_nope/redeliver'), 400, 'INVALID_JOB_ID');
  });

  test('redeliver: a job without a webhook is INVALID_WEBHOOK', async () => {
    const { submitted } = await runJob(svc.base, keys.pro, extractBody(fx.file(FILE), 'aac'));
    assertError(await c.request('POST', `/v1/webhooks/${submitted.jobId}/redeliver`), 400, 'INVALID_WEBHOOK');
  });

  test('redeliver before the job finished: 202 JOB_NOT_COMPLETED', async () => {
    const sub = await c.submit(extractBody(fx.url(`/slow/3000/${FILE}`), 'aac', { options: { webhook: rx.url('early') } }));
    assertError(await c.request('POST', `/v1/webhooks/${sub.jobId}/redeliver`), 202, 'JOB_NOT_COMPLETED');
    await waitForJob(svc.base, keys.pro, sub.jobId);
    await rx.waitFor('early', 1, 30_000);
  });
});

test('no panic in the Worker log', () => assertCleanLog(svc));
