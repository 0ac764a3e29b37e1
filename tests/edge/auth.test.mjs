// Authentication and plans: every keyed route × missing / unknown / revoked key → 401; the free
// plan's limits → 403; public routes. Then address restrictions on an instance that does NOT
// allow loopback (ALLOW_LOOPBACK_SOURCES=false, as in production): loopback sources and
// webhooks in every spelling → 400, and the service never contacts them.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  EDGE_DIR, api, assertError, extractBody, testKeys, useService, waitForJob,
} from './harness.mjs';

const keys = testKeys();
let svc;
let fx;
let rx;

useService(
  { keys, name: 'auth', receiver: true, vars: { ALLOW_LOOPBACK_SOURCES: 'false' } },
  (s) => ({ svc, fx, rx } = s),
);

const with_ = (key) => api(svc.base, key);
// A public name that cannot resolve: jobs are accepted and fail with DOWNLOAD_FAILED.
const UNREACHABLE = 'http://converso-test.invalid/video.mp4';
const body = (options) => extractBody(UNREACHABLE, 'aac', { options });
const JOB = 'job_0123456789abcdef';

// Every keyed route and method of the OpenAPI document, which a unit test of the router
// (edge/src/routes/mod.rs) holds equal to the routes the Worker serves: a new route is covered
// here as soon as it exists. Under both prefixes; GET routes also with HEAD; each path parameter
// well-formed and malformed (the key is checked before the id).
const OPENAPI = JSON.parse(readFileSync(join(EDGE_DIR, 'src', 'openapi.json'), 'utf8'));
const PARAMS = { jobId: [JOB, 'job_x'], batchId: ['batch_0123456789abcdef', 'batch_x'] };
const BODIES = { '/v1/extract': () => body(), '/v1/batch': () => ({ jobs: [body()] }) };
const OPERATIONS = Object.entries(OPENAPI.paths).flatMap(([path, ops]) => Object.entries(ops)
  .filter(([m]) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
  .map(([m, op]) => ({ path, method: m.toUpperCase(), keyed: (op.security ?? OPENAPI.security ?? []).length > 0 })));
/** A path with each {param} replaced by each of its values. */
function expand(path) {
  const m = /\{(\w+)\}/.exec(path);
  if (!m) return [path];
  assert.ok(PARAMS[m[1]], `no test values for the path parameter ${m[1]}`);
  return PARAMS[m[1]].flatMap((v) => expand(path.replace(m[0], v)));
}
const ROUTES = OPERATIONS.filter((o) => o.keyed).flatMap(({ path, method }) => expand(path).flatMap((p) => {
  const methods = method === 'GET' ? ['GET', 'HEAD'] : [method];
  return [p, `/audio-extract${p}`].flatMap((full) => methods.map((m) => [m, full, BODIES[path]]));
}));

test('the OpenAPI document has the keyed routes, and only health and openapi.json are public', () => {
  assert.ok(ROUTES.length >= 6 * 2, `${ROUTES.length} keyed requests`);
  assert.deepEqual(OPERATIONS.filter((o) => !o.keyed).map((o) => `${o.method} ${o.path}`).sort(), ['GET /v1/health', 'GET /v1/openapi.json']);
});

describe('401 UNAUTHORIZED on every keyed route', { concurrency: true }, () => {
  const CREDENTIALS = [
    ['no key', () => ({ key: null })],
    ['empty key', () => ({ key: '' })],
    ['unknown key', () => ({ key: `${keys.pro}x` })],
    ['revoked key', () => ({ key: keys.revoked })],
    ['key as a Bearer token', () => ({ key: null, headers: { authorization: `Bearer ${keys.pro}` } })],
  ];
  for (const [method, path, json] of ROUTES) {
    for (const [who, cred] of CREDENTIALS) {
      test(`${method} ${path}: ${who}`, async () => {
        const opts = { ...cred() };
        if (json) opts.json = json();
        const r = await with_(keys.pro).request(method, path, opts);
        if (method === 'HEAD') assert.equal(r.status, 401, `HEAD ${path}`);
        else assertError(r, 401, 'UNAUTHORIZED');
      });
    }
  }
});

describe('403 FORBIDDEN for the free plan', { concurrency: true }, () => {
  const free = () => with_(keys.free);
  test('batch', async () => {
    const e = assertError(await free().post('/v1/batch', { jobs: [body()] }), 403, 'FORBIDDEN');
    assert.ok((e.details ?? '').length > 0, 'details says which permission is missing');
  });
  test('high priority', async () => {
    const e = assertError(await free().post('/v1/extract', body({ priority: 'high' })), 403, 'FORBIDDEN');
    assert.ok((e.details ?? '').length > 0, 'details says which permission is missing');
  });
  test('webhook redelivery', async () => {
    assertError(await free().request('POST', `/v1/webhooks/${JOB}/redeliver`), 403, 'FORBIDDEN');
  });
  // GET /v1/batch/{id} is part of batches, which the free plan lacks.
  test('batch status', async () => {
    assertError(await free().get('/v1/batch/batch_0123456789abcdef'), 403, 'FORBIDDEN');
  });
});

describe('what the free plan may do', { concurrency: true }, () => {
  test('extract with low and normal priority, status, download', async () => {
    const free = with_(keys.free);
    for (const priority of [undefined, 'low', 'normal']) {
      const sub = await free.submit(body(priority ? { priority } : undefined));
      const s = await free.get(`/v1/status/${sub.jobId}`);
      assert.equal(s.status, 200, s.text);
      assert.equal(s.json.data.options.priority, priority ?? 'normal');
      const d = await free.get(`/v1/download/${sub.jobId}`);
      assert.ok([202, 409].includes(d.status), `download answers for the job (not 401/403): ${d.status} ${d.text}`);
    }
  });
  test('the pro plan: batch and high priority', async () => {
    const pro = with_(keys.pro);
    const b = await pro.post('/v1/batch', { jobs: [body({ priority: 'high' })] });
    assert.equal(b.status, 202, b.text);
    const s = await pro.get(`/v1/batch/${b.json.data.batchId}`);
    assert.equal(s.status, 200, s.text);
  });
  test('a job unreachable by DNS fails with DOWNLOAD_FAILED', async () => {
    const sub = await with_(keys.pro).submit(body());
    const final = await waitForJob(svc.base, keys.pro, sub.jobId, 60_000);
    assert.equal(final.status, 'failed');
    assert.equal(final.error.code, 'DOWNLOAD_FAILED');
  });
});

describe('public routes', { concurrency: true }, () => {
  for (const path of ['/v1/health', '/audio-extract/v1/health']) {
    test(`GET ${path} without a key, and with a bad one`, async () => {
      for (const key of [null, 'not-a-key']) {
        const r = await with_(key).get(path);
        assert.equal(r.status, 200, r.text);
        assert.equal(r.json.success, true);
        assert.equal(r.json.data.status, 'ok');
        assert.equal(typeof r.json.data.version, 'string');
        assert.equal(typeof r.json.data.bindings, 'object');
      }
    });
  }
  test('GET /v1/openapi.json without a key', async () => {
    const r = await with_(null).get('/v1/openapi.json');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
    assert.match(r.json.openapi, /^3\.1\./);
  });
});

describe('address restrictions without loopback (ALLOW_LOOPBACK_SOURCES=false)', { concurrency: true }, () => {
  const pro = () => with_(keys.pro);
  const file = 'mp4_h264_aac_stereo44k.mp4';
  // [description, URL]: the fixture server's own address in many spellings, and others.
  const via = (host) => () => fx.file(file).replace('127.0.0.1', host);
  const SOURCES = [
    ['127.0.0.1 (the fixture server)', via('127.0.0.1')],
    ['localhost', via('localhost')],
    ['LOCALHOST', via('LOCALHOST')],
    ['127.1', via('127.1')],
    ['2130706433 (decimal)', via('2130706433')],
    ['0x7f000001 (hex)', via('0x7f000001')],
    ['[::1]', via('[::1]')],
    ['[::ffff:127.0.0.1] (IPv4-mapped)', via('[::ffff:127.0.0.1]')],
    ['0.0.0.0', via('0.0.0.0')],
    ['127.255.255.254', via('127.255.255.254')],
    ['169.254.169.254 (metadata)', () => 'http://169.254.169.254/latest/meta-data/'],
    ['[::ffff:169.254.169.254] (metadata, IPv4-mapped)', () => 'http://[::ffff:169.254.169.254]/latest/meta-data/'],
    ['10.0.0.1 (private)', () => 'http://10.0.0.1/video.mp4'],
    ['127.0.0.1. (trailing dot)', via('127.0.0.1.')],
    ['localhost. (trailing dot)', via('localhost.')],
    ['foo.localhost', via('foo.localhost')],
    ['0177.0.0.1 (octal)', via('0177.0.0.1')],
    ['0x7f.0.0.1 (hex, dotted)', via('0x7f.0.0.1')],
    ['x@127.0.0.1 (userinfo)', via('x@127.0.0.1')],
    ['example.com@127.0.0.1 (userinfo that looks like a host)', via('example.com@127.0.0.1')],
    ['[::127.0.0.1] (IPv4-compatible)', via('[::127.0.0.1]')],
    ['[::ffff:0:127.0.0.1] (IPv4-translated)', via('[::ffff:0:127.0.0.1]')],
    ['[64:ff9b::127.0.0.1] (NAT64)', via('[64:ff9b::127.0.0.1]')],
    ['[2002:7f00:1::] (6to4)', via('[2002:7f00:1::]')],
    ['[fd00::1] (unique local)', () => 'http://[fd00::1]/video.mp4'],
    ['[fe80::1] (link-local)', () => 'http://[fe80::1]/video.mp4'],
    ['[64:ff9b::a9fe:a9fe] (metadata, NAT64)', () => 'http://[64:ff9b::a9fe:a9fe]/latest/meta-data/'],
    ['metadata (a local name)', () => 'http://metadata/computeMetadata/v1/'],
  ];
  for (const [name, url] of SOURCES) {
    test(`source ${name}`, async () => {
      const before = fx.requests.length;
      assertError(await pro().post('/v1/extract', extractBody(url(), 'aac')), 400, 'INVALID_SOURCE', url());
      assert.equal(fx.requests.length, before, 'the fixture server was not contacted');
    });
  }
  test('batch with a loopback source names the job', async () => {
    const e = assertError(await pro().post('/v1/batch', { jobs: [body(), extractBody(fx.file(file), 'aac')] }), 400, 'INVALID_SOURCE');
    assert.match(e.details ?? '', /^jobs\[1\]: /);
  });
  const HOOKS = [
    ['127.0.0.1', () => rx.url('loopback')],
    ['localhost', () => rx.url('loopback').replace('127.0.0.1', 'localhost')],
    ['[::1]', () => rx.url('loopback').replace('127.0.0.1', '[::1]')],
    ['2130706433 (decimal)', () => rx.url('loopback').replace('127.0.0.1', '2130706433')],
  ];
  for (const [name, hook] of HOOKS) {
    test(`webhook ${name}`, async () => {
      assertError(await pro().post('/v1/extract', body({ webhook: hook() })), 400, 'INVALID_WEBHOOK', hook());
    });
  }
  test('batch-level loopback webhook', async () => {
    assertError(await pro().post('/v1/batch', { jobs: [body()], webhook: rx.url('loopback') }), 400, 'INVALID_WEBHOOK');
  });
});
