// Security properties that cut across routes: CORS (preflights without a key, the headers on
// every response, errors included), API keys never logged nor stored in plaintext (the Worker's
// log and its local state searched for them, a KV key made by scripts/keys among them), and
// hostile output names, given as `options.filename` or derived from the source URL, in
// `Content-Disposition`. (Authentication per route: auth.test.mjs; addresses: auth.test.mjs and
// the unit table in edge/src/fetch_guard.rs.)
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  EDGE_DIR, REPO_ROOT, api, assertCleanLog, assertError, extractBody, filesUnder, parseContentDisposition,
  runJob, sha256, testKeys, useService,
} from './harness.mjs';

const OPENAPI = JSON.parse(readFileSync(join(EDGE_DIR, 'src', 'openapi.json'), 'utf8'));
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];
const EXAMPLE_PARAMS = { jobId: 'job_0123456789abcdef', batchId: 'batch_0123456789abcdef' };
/** [METHOD, path with example parameters] for every route of the OpenAPI document. */
const ROUTES = Object.entries(OPENAPI.paths).flatMap(([path, ops]) => Object.keys(ops)
  .filter((m) => METHODS.includes(m))
  .map((m) => [m.toUpperCase(), path.replace(/\{(\w+)\}/g, (_, name) => EXAMPLE_PARAMS[name])]));

const FILE = 'mp4_h264_aac_stereo44k.mp4';
const keys = testKeys();
let svc;
let fx;
let pro;

useService({ keys, name: 'security' }, (s) => ({ svc, fx, c: pro } = s));

/** The CORS headers every response carries. */
function assertCors(res, what) {
  assert.equal(res.headers.get('access-control-allow-origin'), '*', `${what}: Access-Control-Allow-Origin`);
  assert.equal(res.headers.get('access-control-allow-credentials'), null, `${what}: no credentials`);
  const exposed = (res.headers.get('access-control-expose-headers') ?? '').toLowerCase().split(',').map((s) => s.trim());
  for (const h of ['retry-after', 'content-disposition']) assert.ok(exposed.includes(h), `${what}: ${h} exposed (${exposed})`);
}

describe('CORS', { concurrency: true }, () => {
  const ORIGIN = 'https://app.example.net';
  for (const [method, path] of ROUTES) {
    for (const p of [path, `/audio-extract${path}`]) {
      test(`preflight for ${method} ${p}, without a key`, async () => {
        const r = await api(svc.base, null).request('OPTIONS', p, {
          headers: { origin: ORIGIN, 'access-control-request-method': method, 'access-control-request-headers': 'x-api-key, content-type' },
        });
        assert.equal(r.status, 204, r.text);
        assert.equal(r.buffer.length, 0);
        assertCors(r, 'preflight');
        const list = (h) => (r.headers.get(h) ?? '').toUpperCase().split(',').map((s) => s.trim());
        assert.ok(list('access-control-allow-methods').includes(method), `Allow-Methods ${list('access-control-allow-methods')}`);
        for (const h of ['X-API-KEY', 'CONTENT-TYPE']) assert.ok(list('access-control-allow-headers').includes(h), `Allow-Headers has ${h}`);
        assert.match(r.headers.get('access-control-max-age') ?? '', /^\d+$/);
      });
    }
  }
  test('preflight for an unknown route: 404 ROUTE_NOT_FOUND, with the CORS headers', async () => {
    const r = await api(svc.base, null).request('OPTIONS', '/v1/nope', { headers: { origin: ORIGIN, 'access-control-request-method': 'GET' } });
    assertError(r, 404, 'ROUTE_NOT_FOUND');
    assertCors(r, 'unknown route');
  });
  test('a job from another origin: submit, status, download (GET and HEAD) carry the headers', async () => {
    const headers = { origin: ORIGIN };
    const sub = await pro.request('POST', '/v1/extract', { json: extractBody(fx.file(FILE), 'aac'), headers });
    assert.equal(sub.status, 202, sub.text);
    assertCors(sub, 'extract');
    const { final } = await runJob(svc.base, keys.pro, extractBody(fx.file(FILE), 'aac'));
    const st = await pro.get(`/v1/status/${final.jobId}`, { headers });
    assertCors(st, 'status');
    for (const method of ['GET', 'HEAD']) {
      const dl = await pro.request(method, `/v1/download/${final.jobId}`, { headers });
      assert.equal(dl.status, 200);
      assertCors(dl, `download (${method})`);
    }
  });
  const ERRORS = [
    ['401 UNAUTHORIZED', () => api(svc.base, null).get(`/v1/status/${EXAMPLE_PARAMS.jobId}`), 401, 'UNAUTHORIZED'],
    ['404 JOB_NOT_FOUND', () => pro.get(`/v1/status/${EXAMPLE_PARAMS.jobId}`), 404, 'JOB_NOT_FOUND'],
    ['400 INVALID_SOURCE', () => pro.post('/v1/extract', extractBody('ftp://example.com/v.mp4', 'aac')), 400, 'INVALID_SOURCE'],
    ['405 METHOD_NOT_ALLOWED', () => pro.request('DELETE', '/v1/extract'), 405, 'METHOD_NOT_ALLOWED'],
    ['415 UNSUPPORTED_MEDIA_TYPE', () => pro.request('POST', '/v1/extract', { body: 'x' }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
  ];
  for (const [name, send, status, code] of ERRORS) {
    test(`errors carry the headers: ${name}`, async () => {
      const r = await send();
      assertError(r, status, code);
      assertCors(r, name);
    });
  }
  test('public routes carry the headers', async () => {
    for (const path of ['/v1/health', '/v1/openapi.json']) assertCors(await api(svc.base, null).get(path), path);
  });
});

/** Each byte string that occurs in a file under dir, with the file. */
function occurrences(dir, needles) {
  const found = [];
  for (const f of filesUnder(dir)) {
    const bytes = readFileSync(f);
    for (const n of needles) if (bytes.includes(Buffer.from(n))) found.push(`${n} in ${f}`);
  }
  return found;
}

describe('API keys are neither logged nor stored', () => {
  test('valid, free, revoked, unknown and KV-stored keys: the log and the local state hold only hashes', async () => {
    // A key in the KEYS store, made as an operator would (only its hash is written).
    const made = spawnSync(join(REPO_ROOT, 'scripts', 'keys'), ['create', 'security-test', '--plan', 'pro', '--persist-to', svc.persistDir], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    const stored = /X-API-Key: (\S+)/.exec(made.stdout)?.[1];
    assert.ok(stored, made.stdout);
    const unknown = `${keys.pro}-unknown`;
    // Every kind of key on every keyed route, and a job of each valid key that runs to the end.
    for (const key of [keys.pro, keys.free, keys.revoked, unknown, stored]) {
      for (const [method, path] of ROUTES) await api(svc.base, key).request(method, path, method === 'POST' ? { json: {} } : {});
    }
    const jobs = {};
    for (const key of [keys.pro, keys.free, stored]) {
      const { final } = await runJob(svc.base, key, extractBody(fx.file(FILE), 'aac'));
      assert.equal(final.status, 'completed', `the key works: ${JSON.stringify(final.error)}`);
      jobs[key] = final.jobId;
    }
    const plaintext = [keys.pro, keys.free, keys.revoked, unknown, stored];
    const log = svc.log();
    assert.ok(log.includes('POST /v1/extract'), 'the log records the requests');
    assert.deepEqual(plaintext.filter((k) => log.includes(k)), [], `no key in ${svc.logPath}`);
    assert.deepEqual(occurrences(svc.persistDir, plaintext), [], 'no key in the local state');
    // What is stored instead: the hashes, in the KEYS store and on the jobs.
    const hashes = [stored, keys.pro, keys.free].map((k) => sha256(Buffer.from(k)));
    assert.deepEqual(hashes.filter((h) => occurrences(svc.persistDir, [h]).length === 0), [], 'each hash is stored');
  });
});

describe('Content-Disposition with hostile names', { concurrency: true }, () => {
  const LONG = '\u{1F3B5}'.repeat(300);
  // [description, options.filename, expected output name]
  const OPTION = [
    ['path traversal', '../../etc/passwd', 'etcpasswd.aac'],
    ['Windows path traversal', '..\\..\\windows\\win.ini', 'windowswin.ini.aac'],
    ['a quote', 'a"b', 'ab.aac'],
    ['CR LF and a header', 'a\r\nSet-Cookie: x', 'aSet-Cookie x.aac'],
    ['percent-encoded traversal', '%2e%2e%2f', '%2e%2e%2f.aac'],
    ['right-to-left override', 'song\u202e3pm.exe', 'song3pm.exe.aac'],
    ['zero-width and isolate characters', 'a\u200bb\u2066c\ufeff', 'abc.aac'],
    ['300 four-byte characters', LONG, `${'\u{1F3B5}'.repeat(100)}.aac`],
  ];
  // [description, last URL segment (as sent), expected output name]
  const URL_NAMES = [
    ['encoded slashes', '..%2f..%2fetc%2fpasswd.mp4', 'etcpasswd.aac'],
    ['an encoded quote', 'a%22b.mp4', 'ab.aac'],
    ['encoded CR LF and a header', 'a%0d%0aSet-Cookie:%20x.mp4', 'aSet-Cookie x.aac'],
    ['double-encoded traversal', '%252e%252e%252fx.mp4', '%2e%2e%2fx.aac'],
    ['an encoded right-to-left override', 'clip%E2%80%AE4pm.exe.mp4', 'clip4pm.exe.aac'],
    // 150 (1,800 characters encoded) keeps the URL within its 2,048.
    ['150 encoded four-byte characters', `${encodeURIComponent('\u{1F3B5}'.repeat(150))}.mp4`, `${'\u{1F3B5}'.repeat(100)}.aac`],
  ];
  const check = async (body, want) => {
    const { final } = await runJob(svc.base, keys.pro, body);
    assert.equal(final.status, 'completed', JSON.stringify(final.error));
    assert.equal(final.outputFile.filename, want);
    const r = await pro.request('HEAD', `/v1/download/${final.jobId}`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('set-cookie'), null, 'no header injected');
    const raw = r.headers.get('content-disposition');
    assert.doesNotMatch(raw, /[\r\n]/);
    const cd = parseContentDisposition(raw);
    assert.equal(cd.type, 'attachment');
    assert.match(cd.filename, /^[\x20-\x7e]+$/, `plain filename= is printable ASCII: ${raw}`);
    assert.doesNotMatch(cd.filename, /[/\\"%]/, `no separators, quotes or percent signs in filename=: ${raw}`);
    assert.equal(cd.filenameStar ?? cd.filename, want, `the exact name: ${raw}`);
    if (cd.filenameStar) assert.doesNotMatch(cd.filenameStar, /[/\\"\p{Cc}\u202a-\u202e\u2066-\u2069\u200b-\u200f]/u);
  };
  for (const [name, filename, want] of OPTION) {
    test(`options.filename: ${name}`, () => check(extractBody(fx.file(FILE), 'aac', { options: { filename } }), want));
  }
  for (const [name, segment, want] of URL_NAMES) {
    test(`from the URL: ${name}`, () => check(extractBody(`${fx.url(`/named/${FILE}/`)}${segment}`, 'aac'), want));
  }
});

test('no panic in the Worker log', () => assertCleanLog(svc));
