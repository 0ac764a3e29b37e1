// Every error a request can cause, each checked for its HTTP status and the envelope
// {success:false, error:{code, message[, details]}}; and the job-level failures that show up in
// a failed job's status (DOWNLOAD_FAILED, INVALID_VIDEO, INVALID_OUTPUT, EXTRACTION_FAILED).
// The instance allows loopback sources (ALLOW_LOOPBACK_SOURCES=true) so jobs can fetch from the
// fixture server; the same checks without loopback are in auth.test.mjs.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  api, assertError, extractBody, manifest, runJob, testKeys, useService, waitForJob,
} from './harness.mjs';

const keys = testKeys();
let svc;
let fx;
let c;

// Sources get 6 s to answer and 6 s between pieces (30 s and 60 s by default), so the timeout
// tests below take seconds, not minutes.
const SOURCE_SECONDS = 6;
useService({ keys, name: 'errors', vars: { SOURCE_ANSWER_SECONDS: String(SOURCE_SECONDS), SOURCE_STALL_SECONDS: String(SOURCE_SECONDS) } },
  (s) => ({ svc, fx, c } = s));

const GOOD = 'mp4_h264_aac_stereo44k.mp4';
const good = () => extractBody(fx.file(GOOD), 'aac');
const raw = (body, headers = { 'content-type': 'application/json' }) => c.request('POST', '/v1/extract', { body, headers });

describe('INVALID_REQUEST (400)', { concurrency: true }, () => {
  const cases = [
    ['malformed JSON', () => raw('{"source": {"type": "url"')],
    ['empty body', () => raw('')],
    ['a JSON array', () => raw('[]')],
    ['a JSON string', () => raw('"hello"')],
    ['JSON null', () => raw('null')],
    ['missing source', () => c.post('/v1/extract', { output: { format: 'aac' } })],
    ['missing output', () => c.post('/v1/extract', { source: { type: 'url', url: fx.file(GOOD) } })],
    ['source is a string', () => c.post('/v1/extract', { source: fx.file(GOOD), output: { format: 'aac' } })],
    ['output is a string', () => c.post('/v1/extract', { source: { type: 'url', url: fx.file(GOOD) }, output: 'aac' })],
    ['options.priority not low/normal/high', () => c.post('/v1/extract', { ...good(), options: { priority: 'urgent' } })],
    ['options.filename not a string', () => c.post('/v1/extract', { ...good(), options: { filename: 42 } })],
    ['options not an object', () => c.post('/v1/extract', { ...good(), options: 'fast' })],
    ['batch: jobs missing', () => c.post('/v1/batch', { webhook: null })],
    ['batch: jobs not an array', () => c.post('/v1/batch', { jobs: good() })],
    ['batch: jobs empty', () => c.post('/v1/batch', { jobs: [] })],
    ['batch: malformed JSON', () => c.request('POST', '/v1/batch', { body: '{"jobs": [', headers: { 'content-type': 'application/json' } })],
  ];
  for (const [name, send] of cases) {
    test(name, async () => assertError(await send(), 400, 'INVALID_REQUEST', name));
  }
});

describe('INVALID_SOURCE (400)', { concurrency: true }, () => {
  const src = (source) => c.post('/v1/extract', { source, output: { format: 'aac' } });
  const cases = [
    ['source.type "upload"', { type: 'upload', file: 'file_123' }],
    ['source.type "s3"', { type: 's3', url: 'http://example.com/v.mp4' }],
    ['ftp:// URL', { type: 'url', url: 'ftp://example.com/video.mp4' }],
    ['file:// URL', { type: 'url', url: 'file:///etc/passwd' }],
    ['not a URL', { type: 'url', url: 'not a url' }],
    ['URL longer than 2048 characters', { type: 'url', url: `http://example.com/${'a'.repeat(2049 - 'http://example.com/'.length)}` }],
    ['metadata address 169.254.169.254', { type: 'url', url: 'http://169.254.169.254/latest/meta-data/' }],
    ['private address 10.0.0.1', { type: 'url', url: 'http://10.0.0.1/video.mp4' }],
    ['private address 192.168.1.1', { type: 'url', url: 'http://192.168.1.1/video.mp4' }],
    ['private address 172.16.0.1', { type: 'url', url: 'http://172.16.0.1/video.mp4' }],
    ['link-local IPv6 [fe80::1]', { type: 'url', url: 'http://[fe80::1]/video.mp4' }],
    ['unique-local IPv6 [fc00::1]', { type: 'url', url: 'http://[fc00::1]/video.mp4' }],
  ];
  for (const [name, source] of cases) {
    test(name, async () => assertError(await src(source), 400, 'INVALID_SOURCE', name));
  }
  test('source.url missing', async () => assertError(await src({ type: 'url' }), 400, 'INVALID_SOURCE'));
  test('source.type missing', async () => assertError(await src({ url: fx.file(GOOD) }), 400, 'INVALID_SOURCE'));

  test('a URL of exactly 2048 characters is accepted', async () => {
    const prefix = fx.url('/status/404/');
    const url = prefix + 'a'.repeat(2048 - prefix.length);
    assert.equal(url.length, 2048);
    const r = await c.post('/v1/extract', extractBody(url, 'aac'));
    assert.equal(r.status, 202, r.text);
  });
  test('loopback is allowed here (ALLOW_LOOPBACK_SOURCES=true): localhost', async () => {
    const r = await c.post('/v1/extract', extractBody(fx.file(GOOD).replace('127.0.0.1', 'localhost'), 'aac'));
    assert.equal(r.status, 202, r.text);
  });
});

describe('INVALID_OUTPUT (400)', { concurrency: true }, () => {
  const out = (output) => c.post('/v1/extract', { source: { type: 'url', url: fx.file(GOOD) }, output });
  test('format "wma": details lists the formats', async () => {
    const e = assertError(await out({ format: 'wma' }), 400, 'INVALID_OUTPUT');
    for (const f of ['mp3', 'aac', 'flac', 'wav', 'ogg', 'opus']) assert.match(e.details ?? '', new RegExp(f), `details lists ${f}: ${e.details}`);
  });
  test('quality "ultra": details lists the qualities', async () => {
    const e = assertError(await out({ format: 'mp3', quality: 'ultra' }), 400, 'INVALID_OUTPUT');
    for (const q of ['low', 'medium', 'high', 'extreme']) assert.match(e.details ?? '', new RegExp(q), `details lists ${q}: ${e.details}`);
  });
  test('bitrate "fast"', async () => assertError(await out({ format: 'mp3', bitrate: 'fast' }), 400, 'INVALID_OUTPUT'));
  test('bitrate "-5k"', async () => assertError(await out({ format: 'mp3', bitrate: '-5k' }), 400, 'INVALID_OUTPUT'));
  test('format missing', async () => assertError(await out({ quality: 'high' }), 400, 'INVALID_OUTPUT'));
  test('normalize and preserveMetadata, true or false, are accepted', async () => {
    for (const [normalize, preserveMetadata] of [[true, true], [false, false]]) {
      const r = await out({ format: 'mp3', normalize, preserveMetadata });
      assert.equal(r.status, 202, r.text);
    }
  });
  test('normalize: "yes" is not a boolean', async () => assertError(await out({ format: 'mp3', normalize: 'yes' }), 400, 'INVALID_OUTPUT'));
  test('batch: the invalid job is named', async () => {
    const e = assertError(await c.post('/v1/batch', { jobs: [good(), { ...good(), output: { format: 'wma' } }] }), 400, 'INVALID_OUTPUT');
    assert.match(e.details ?? '', /^jobs\[1\]: /);
  });
});

describe('INVALID_WEBHOOK (400)', { concurrency: true }, () => {
  const hook = (webhook) => c.post('/v1/extract', { ...good(), options: { webhook } });
  const cases = [
    ['ftp:// URL', 'ftp://example.com/hook'],
    ['not a URL', 'hook me'],
    ['metadata address', 'http://169.254.169.254/hook'],
    ['private address 10.0.0.1', 'http://10.0.0.1/hook'],
    ['private address 192.168.0.10', 'https://192.168.0.10/hook'],
    ['longer than 2048 characters', `https://example.com/${'h'.repeat(2040)}`],
  ];
  for (const [name, webhook] of cases) {
    test(name, async () => assertError(await hook(webhook), 400, 'INVALID_WEBHOOK', name));
  }
  test('not a string', async () => assertError(await hook(42), 400, ['INVALID_WEBHOOK', 'INVALID_REQUEST']));
  test('batch-level webhook', async () => {
    assertError(await c.post('/v1/batch', { jobs: [good()], webhook: 'http://10.1.2.3/hook' }), 400, 'INVALID_WEBHOOK');
  });
});

describe('job ids: INVALID_JOB_ID (400) and JOB_NOT_FOUND (404)', { concurrency: true }, () => {
  const BAD = ['job_xyz', 'job_a1b2c3d4e5f6g7h8!', 'job_0123456789abcdef0', 'JOB_0123456789abcdef', 'job-0123456789abcdef', 'job_0123456789abcde%20'];
  for (const id of BAD) {
    test(`status ${id}`, async () => assertError(await c.get(`/v1/status/${id}`), 400, 'INVALID_JOB_ID'));
  }
  test('download and redeliver with a malformed id', async () => {
    assertError(await c.get('/v1/download/job_xyz'), 400, 'INVALID_JOB_ID');
    assertError(await c.request('POST', '/v1/webhooks/job_xyz/redeliver'), 400, 'INVALID_JOB_ID');
  });
  // The docs' own example id (not hex, but 16 letters or digits) is well-formed: 404, not 400.
  for (const id of ['job_a1b2c3d4e5f6g7h8', 'job_ffffffffffffffff', 'job_ABCDEFGHIJKLMNOP']) {
    test(`unknown well-formed ${id}: status, download, redeliver`, async () => {
      assertError(await c.get(`/v1/status/${id}`), 404, 'JOB_NOT_FOUND');
      assertError(await c.get(`/v1/download/${id}`), 404, 'JOB_NOT_FOUND');
      assertError(await c.request('POST', `/v1/webhooks/${id}/redeliver`), 404, 'JOB_NOT_FOUND');
    });
  }
  test('unknown batch id', async () => assertError(await c.get('/v1/batch/batch_0123456789abcdef'), 404, 'JOB_NOT_FOUND'));
  test('malformed batch id', async () => assertError(await c.get('/v1/batch/batch_xyz'), 400, 'INVALID_JOB_ID'));
});

describe('routes and methods', { concurrency: true }, () => {
  // Paths under the API's prefixes; others may serve the demo page's static assets.
  for (const path of ['/v1/nope', '/v1/', '/audio-extract/v1/nope', '/audio-extract/v2/extract', '/v1/status', '/v1/extract/extra', '/v1/webhooks/job_0123456789abcdef']) {
    test(`ROUTE_NOT_FOUND (404): GET ${path}`, async () => assertError(await c.get(path), 404, 'ROUTE_NOT_FOUND'));
  }
  const methods = [
    ['GET', '/v1/extract', 'POST'],
    ['PUT', '/v1/extract', 'POST'],
    ['DELETE', '/v1/status/job_0123456789abcdef', 'GET'],
    ['POST', '/v1/download/job_0123456789abcdef', 'GET'],
    ['PATCH', '/v1/batch', 'POST'],
    ['GET', '/v1/webhooks/job_0123456789abcdef/redeliver', 'POST'],
    ['POST', '/v1/health', 'GET'],
    ['DELETE', '/audio-extract/v1/extract', 'POST'],
  ];
  for (const [method, path, allow] of methods) {
    test(`METHOD_NOT_ALLOWED (405): ${method} ${path}, Allow: ${allow}`, async () => {
      const r = await c.request(method, path, method === 'GET' || method === 'DELETE' ? {} : { json: {} });
      assertError(r, 405, 'METHOD_NOT_ALLOWED');
      assert.ok((r.headers.get('allow') ?? '').split(',').map((s) => s.trim()).includes(allow), `Allow: ${r.headers.get('allow')}`);
    });
  }
});

describe('request bodies', { concurrency: true }, () => {
  const big = () => JSON.stringify({ ...good(), options: { filename: 'x', pad: 'p'.repeat(70 * 1024) } });
  test('PAYLOAD_TOO_LARGE (413): body over 64 KB', async () => assertError(await raw(big()), 413, 'PAYLOAD_TOO_LARGE'));
  /** A valid extract body padded to exactly n bytes. */
  const sized = (n) => {
    const b = JSON.stringify(good());
    const body = `${b.slice(0, -1)},"pad":"${'p'.repeat(n - b.length - ',"pad":""'.length)}"}`;
    assert.equal(Buffer.byteLength(body), n);
    return body;
  };
  test('a body of exactly 64 KB (65536 bytes) is accepted; one byte more is not', async () => {
    const ok = await raw(sized(65536));
    assert.equal(ok.status, 202, ok.text);
    assertError(await raw(sized(65537)), 413, 'PAYLOAD_TOO_LARGE');
  });
  test('PAYLOAD_TOO_LARGE (413): over 64 KB without Content-Length (chunked)', async () => {
    const bytes = Buffer.from(big());
    const stream = new ReadableStream({
      start(ctl) {
        for (let i = 0; i < bytes.length; i += 8192) ctl.enqueue(bytes.subarray(i, i + 8192));
        ctl.close();
      },
    });
    assertError(await c.request('POST', '/v1/extract', { body: stream, headers: { 'content-type': 'application/json' } }), 413, 'PAYLOAD_TOO_LARGE');
  });
  test('PAYLOAD_TOO_LARGE (413): batch over 64 KB', async () => {
    const body = JSON.stringify({ jobs: [good()], pad: 'p'.repeat(70 * 1024) });
    assertError(await c.request('POST', '/v1/batch', { body, headers: { 'content-type': 'application/json' } }), 413, 'PAYLOAD_TOO_LARGE');
  });
  test('UNSUPPORTED_MEDIA_TYPE (415): text/plain', async () => {
    assertError(await raw(JSON.stringify(good()), { 'content-type': 'text/plain' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
  });
  test('UNSUPPORTED_MEDIA_TYPE (415): no Content-Type', async () => {
    assertError(await raw(Buffer.from(JSON.stringify(good())), {}), 415, 'UNSUPPORTED_MEDIA_TYPE');
  });
  test('UNSUPPORTED_MEDIA_TYPE (415): form-encoded batch', async () => {
    assertError(await c.request('POST', '/v1/batch', { body: 'jobs=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415, 'UNSUPPORTED_MEDIA_TYPE');
  });
  test('application/json; charset=utf-8 is accepted', async () => {
    const r = await raw(JSON.stringify(good()), { 'content-type': 'application/json; charset=utf-8' });
    assert.equal(r.status, 202, r.text);
  });
  test('TOO_MANY_JOBS (400): 11 jobs in a batch', async () => {
    const e = assertError(await c.post('/v1/batch', { jobs: Array.from({ length: 11 }, good) }), 400, 'TOO_MANY_JOBS');
    assert.ok(e.message.length > 0);
  });
});

describe('downloads of unfinished and failed jobs', { concurrency: true }, () => {
  test('JOB_NOT_COMPLETED (202) while the source is still being fetched', async () => {
    const sub = await c.submit(extractBody(fx.url(`/slow/2500/${GOOD}`), 'aac'));
    const r = await c.get(`/v1/download/${sub.jobId}`);
    assertError(r, 202, 'JOB_NOT_COMPLETED');
    const s = await c.get(`/v1/status/${sub.jobId}`);
    assert.ok(['queued', 'processing'].includes(s.json.data.status), s.text);
    const final = await waitForJob(svc.base, keys.pro, sub.jobId);
    assert.equal(final.status, 'completed', JSON.stringify(final.error));
    assert.equal((await c.get(`/v1/download/${sub.jobId}`)).status, 200);
  });
  test('JOB_FAILED (409): details carry the job error code', async () => {
    const { submitted, final } = await runJob(svc.base, keys.pro, extractBody(fx.url('/status/404/gone.mp4'), 'aac'));
    assert.equal(final.status, 'failed');
    const e = assertError(await c.get(`/v1/download/${submitted.jobId}`), 409, 'JOB_FAILED');
    assert.match(e.details ?? '', /DOWNLOAD_FAILED/);
  });
});

// Job outcomes: the job is accepted (202) and fails with the code in its status (HTTP 200).
describe('job-level failures in the status', { concurrency: true }, () => {
  const cases = [
    ['source answers 404', () => fx.url('/status/404/video.mp4'), 'aac', 'DOWNLOAD_FAILED'],
    ['source answers 500', () => fx.url('/status/500/video.mp4'), 'aac', 'DOWNLOAD_FAILED'],
    ['connection refused', () => 'http://127.0.0.1:9/video.mp4', 'aac', 'DOWNLOAD_FAILED'],
    ['connection cut half-way', () => fx.url(`/drop/${GOOD}`), 'aac', 'DOWNLOAD_FAILED'],
    ['connection cut half-way, without Content-Length', () => fx.url(`/chunked-drop/${GOOD}`), 'aac', 'DOWNLOAD_FAILED'],
    ['source claims 6 GB (over the 5 GB limit)', () => fx.url('/huge/big.mp4'), 'aac', 'DOWNLOAD_FAILED'],
    ['source claims 6 GB, with the free plan', () => fx.url('/huge/big.mp4'), 'aac', 'DOWNLOAD_FAILED', 'free'],
    ['more than 5 redirects', () => fx.url(`/redirect/6/${GOOD}`), 'aac', 'DOWNLOAD_FAILED'],
    ['a redirect loop (A → B → A)', () => fx.url(`/loop/a/${GOOD}`), 'aac', 'DOWNLOAD_FAILED'],
    ['redirect to the metadata address', () => fx.url(`/redirect-to?url=${encodeURIComponent('http://169.254.169.254/latest/meta-data/')}`), 'aac', 'DOWNLOAD_FAILED'],
    ['redirect to a private address', () => fx.url(`/redirect-to?url=${encodeURIComponent('http://10.0.0.1/video.mp4')}`), 'aac', 'DOWNLOAD_FAILED'],
    ['redirect to ftp://', () => fx.url(`/redirect-to?url=${encodeURIComponent('ftp://example.com/video.mp4')}`), 'aac', 'DOWNLOAD_FAILED'],
    ['no audio track', () => fx.file('mp4_h264_noaudio.mp4'), 'aac', 'INVALID_VIDEO'],
    ['AVI container', () => fx.file('avi_mpeg4_mp3.avi'), 'wav', 'INVALID_VIDEO'],
    ['an HTML page', () => fx.url('/html/page.mp4'), 'wav', 'INVALID_VIDEO'],
    ['an empty file', () => fx.file('broken_empty.mp4'), 'wav', 'INVALID_VIDEO'],
    ['text named .mp4', () => fx.file('broken_text_as.mp4'), 'wav', 'INVALID_VIDEO'],
    ['AC-3 audio (not decodable)', () => fx.file('mkv_h264_ac3_5.1.mkv'), 'wav', 'INVALID_VIDEO'],
    // Accepted at submit time; only the probe shows the output cannot be made (the bitrates a
    // format allows depend on the source's rate and channels).
    ['mp3 at 16k from a 48 kHz source (32k–320k allowed there)', () => fx.file('webm_vp9_opus.webm'), { format: 'mp3', bitrate: '16k' }, 'INVALID_OUTPUT'],
    ['ogg at 900k from a 44.1 kHz stereo source (32k–500k allowed there)', () => fx.file(GOOD), { format: 'ogg', bitrate: '900k' }, 'INVALID_OUTPUT'],
    ['MP4 cut in half', () => fx.file('broken_truncated_half_faststart.mp4'), 'wav', 'EXTRACTION_FAILED'],
  ];
  for (const [name, url, format, code, plan = 'pro'] of cases) {
    test(`${code}: ${name}`, async () => {
      const body = typeof format === 'string' ? extractBody(url(), format) : { source: { type: 'url', url: url() }, output: format };
      const { submitted, final } = await runJob(svc.base, keys[plan], body);
      assert.equal(final.status, 'failed', `expected a failed job, got ${JSON.stringify(final)}`);
      assert.ok(final.error && typeof final.error === 'object', 'error object');
      assert.equal(final.error.code, code, JSON.stringify(final.error));
      if (typeof format !== 'string' && format.bitrate) assert.match(final.error.details ?? '', /32k/, 'details give the allowed range');
      assert.equal(typeof final.error.message, 'string');
      assert.ok(final.error.message.length > 0);
      assert.equal(final.outputFile, null);
      assert.equal(final.downloadUrl ?? null, null, 'no downloadUrl for a failed job');
      // The status route itself answers 200 for a failed job.
      const r = await api(svc.base, keys[plan]).get(`/v1/status/${submitted.jobId}`);
      assert.equal(r.status, 200);
      assert.equal(r.json.success, true);
    });
  }
});

// A plan's source size limit is only known while fetching: the job fails with DOWNLOAD_FAILED.
describe('the free plan source size limit (500 MB)', { concurrency: true }, () => {
  const claim600 = () => extractBody(fx.url('/huge/big.mp4?size=600000000'), 'aac');
  test('free key, 600 MB source: DOWNLOAD_FAILED naming the limit', async () => {
    const { final } = await runJob(svc.base, keys.free, claim600());
    assert.equal(final.status, 'failed');
    assert.equal(final.error.code, 'DOWNLOAD_FAILED');
    assert.match(`${final.error.message} ${final.error.details ?? ''}`, /500 ?000 ?000|500 ?MB|limit/i, 'the error names the limit');
  });
  test('pro key, 600 MB source: not refused for its size', async () => {
    const { final } = await runJob(svc.base, keys.pro, claim600());
    // The fixture server cuts the transfer after 64 KB, so the job fails, but not for the size.
    assert.equal(final.status, 'failed');
    assert.equal(final.error.code, 'DOWNLOAD_FAILED');
    assert.doesNotMatch(`${final.error.message} ${final.error.details ?? ''}`, /limit/i);
  });
});

// The source's Content-Length is the input's length: a body that ends short of it fails the job
// (the "connection cut half-way" case above); bytes sent after it are not part of the body (HTTP
// framing), so the input is exactly the declared bytes, never more.
describe('the source\'s declared length', () => {
  test('bytes sent after the Content-Length are not part of the input', async () => {
    const { final } = await runJob(svc.base, keys.pro, extractBody(fx.url(`/extra/${GOOD}`), 'aac'));
    assert.equal(final.status, 'completed', JSON.stringify(final.error));
    assert.equal(final.inputFile.size, manifest().get(GOOD).size_bytes);
  });
});

// Runs last: a silent source holds the Worker's queue consumer until the answer limit, a stalled
// one until the stall limit.
describe('source fetch timeout', () => {
  test(`DOWNLOAD_FAILED: no answer within SOURCE_ANSWER_SECONDS (${SOURCE_SECONDS} s)`, async () => {
    const t0 = Date.now();
    const { final } = await runJob(svc.base, keys.pro, extractBody(fx.url(`/slow/30000/${GOOD}`), 'aac'), { timeoutMs: 60_000 });
    const took = (Date.now() - t0) / 1000;
    assert.equal(final.status, 'failed', JSON.stringify(final));
    assert.equal(final.error.code, 'DOWNLOAD_FAILED');
    assert.match(final.error.details ?? '', new RegExp(`no answer within ${SOURCE_SECONDS} s`));
    assert.ok(took >= SOURCE_SECONDS - 1 && took < 25, `failed at the answer limit, not when the source answered: ${took} s`);
  });
  test(`DOWNLOAD_FAILED: nothing for SOURCE_STALL_SECONDS (${SOURCE_SECONDS} s) after the first bytes`, async () => {
    const t0 = Date.now();
    const { final } = await runJob(svc.base, keys.pro, extractBody(fx.url(`/stall/${GOOD}`), 'aac'), { timeoutMs: 60_000 });
    const took = (Date.now() - t0) / 1000;
    assert.equal(final.status, 'failed', JSON.stringify(final));
    assert.equal(final.error.code, 'DOWNLOAD_FAILED');
    assert.match(final.error.details ?? '', new RegExp(`stalled for ${SOURCE_SECONDS} s after 65536 bytes`));
    assert.ok(took >= SOURCE_SECONDS - 1 && took < 30, `failed after the stall limit: ${took} s`);
  });
});
