// GET /v1/openapi.json: an OpenAPI 3.1 document that lists every route of docs/api.md with the
// documented responses, and describes what the service really returns: real responses of a
// small lifecycle (success and error bodies, webhook payloads) validate against the declared
// schemas, and every property they carry is declared.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FORMATS, api, extractBody, runJob, testKeys, useService, waitForJob,
} from './harness.mjs';
import { resolveRef, undeclaredProperties, validate } from './schema.mjs';

const keys = testKeys();
let svc;
let fx;
let rx;
let c;
let spec;

useService({ keys, name: 'openapi', receiver: true }, async (s) => {
  ({ svc, fx, rx, c } = s);
  const r = await api(svc.base, null).get('/v1/openapi.json');
  assert.equal(r.status, 200, r.text.slice(0, 300));
  spec = r.json;
});

// Routes of docs/api.md with the statuses it documents for each.
const ROUTES = {
  'POST /v1/extract': ['202', '400', '401', '403', '413', '415', '503'],
  'POST /v1/batch': ['202', '400', '401', '403', '413', '415', '503'],
  'GET /v1/batch/{}': ['200', '401', '404'],
  'GET /v1/status/{}': ['200', '400', '401', '404'],
  'GET /v1/download/{}': ['200', '202', '400', '401', '404', '409', '410'],
  'POST /v1/webhooks/{}/redeliver': ['202', '400', '401', '404'],
  'GET /v1/health': ['200'],
  'GET /v1/openapi.json': ['200'],
};
const PUBLIC = new Set(['GET /v1/health', 'GET /v1/openapi.json']);
const CODES = [
  'INVALID_REQUEST', 'INVALID_SOURCE', 'INVALID_OUTPUT', 'INVALID_WEBHOOK', 'INVALID_JOB_ID', 'TOO_MANY_JOBS',
  'UNAUTHORIZED', 'FORBIDDEN', 'JOB_NOT_FOUND', 'ROUTE_NOT_FOUND', 'METHOD_NOT_ALLOWED', 'JOB_FAILED',
  'FILE_EXPIRED', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'INTERNAL_ERROR', 'QUEUE_FULL',
  'SERVICE_UNAVAILABLE', 'JOB_NOT_COMPLETED',
];
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

/** The spec's operations keyed like ROUTES ("METHOD /v1/…/{}"), whatever prefix/server it uses. */
function operations() {
  const serverPath = (() => {
    try { return new URL(spec.servers?.[0]?.url ?? '/', 'http://x').pathname.replace(/\/$/, ''); } catch { return ''; }
  })();
  const ops = new Map();
  for (const [p, item] of Object.entries(spec.paths ?? {})) {
    let full = (p.startsWith('/v1/') || p.startsWith('/audio-extract/') ? p : serverPath + p);
    full = full.replace(/^\/audio-extract/, '').replace(/\{[^}]+\}/g, '{}');
    const resolved = item.$ref ? resolveRef(spec, item.$ref) : item;
    for (const m of METHODS) if (resolved[m]) ops.set(`${m.toUpperCase()} ${full}`, resolved[m]);
  }
  return ops;
}

const deref = (o) => (o && o.$ref ? deref(resolveRef(spec, o.$ref)) : o);

/** The declared response for a status: exact, else "4XX"-style, else "default". */
function declaredResponse(route, status) {
  const op = operations().get(route);
  assert.ok(op, `the description has ${route}`);
  const rs = op.responses ?? {};
  const r = rs[String(status)] ?? rs[`${String(status)[0]}XX`] ?? rs.default;
  assert.ok(r, `${route} declares a ${status} response`);
  return deref(r);
}

function jsonSchemaFor(route, status) {
  const r = declaredResponse(route, status);
  const media = Object.entries(r.content ?? {}).find(([t]) => /^application\/(.+\+)?json/.test(t));
  assert.ok(media, `${route} ${status} declares a JSON body`);
  assert.ok(media[1].schema, `${route} ${status} has a schema`);
  return media[1].schema;
}

/** Validates a real response against the declared schema, and checks nothing is undeclared. */
function conforms(route, res, what = '', { strict = true } = {}) {
  const schema = jsonSchemaFor(route, res.status);
  assert.ok(res.json !== null, `${what} is JSON`);
  const errors = validate(schema, res.json, spec);
  assert.deepEqual(errors, [], `${route} ${res.status} ${what}: body ${JSON.stringify(res.json).slice(0, 400)}`);
  if (!strict) return;
  const extra = undeclaredProperties(schema, res.json, spec);
  assert.deepEqual(extra, [], `${route} ${res.status} ${what}: properties returned but not described`);
}

describe('the document', () => {
  test('OpenAPI 3.1 with info', () => {
    assert.match(spec.openapi, /^3\.1\.\d+$/);
    assert.equal(typeof spec.info?.title, 'string');
    assert.equal(typeof spec.info?.version, 'string');
  });

  test('every route of docs/api.md, with its documented responses', () => {
    const ops = operations();
    const missing = Object.keys(ROUTES).filter((r) => !ops.has(r));
    assert.deepEqual(missing, [], `routes missing; the description has ${[...ops.keys()].join(', ')}`);
    for (const [route, statuses] of Object.entries(ROUTES)) {
      const declared = Object.keys(ops.get(route).responses ?? {});
      const absent = statuses.filter((s) => !declared.includes(s));
      assert.deepEqual(absent, [], `${route} declares ${declared.join(', ')}`);
    }
  });

  test('X-API-Key security on every keyed route; health and openapi.json public', () => {
    const schemes = spec.components?.securitySchemes ?? {};
    const apiKey = Object.entries(schemes).find(([, s]) => s.type === 'apiKey' && s.in === 'header' && s.name.toLowerCase() === 'x-api-key');
    assert.ok(apiKey, `an apiKey scheme in the X-API-Key header: ${JSON.stringify(schemes)}`);
    const ops = operations();
    for (const route of Object.keys(ROUTES)) {
      const sec = ops.get(route)?.security ?? spec.security ?? [];
      const uses = sec.some((req) => apiKey[0] in req);
      if (PUBLIC.has(route)) assert.ok(!uses || sec.some((req) => Object.keys(req).length === 0), `${route} is public`);
      else assert.ok(uses, `${route} requires ${apiKey[0]}`);
    }
  });

  test('the error code enumeration lists every code', (t) => {
    const env = deref(jsonSchemaFor('POST /v1/extract', 400));
    const errorSchema = deref(env.properties?.error ?? deref(env.allOf?.find((s) => deref(s).properties?.error))?.properties?.error);
    const codeSchema = deref(errorSchema?.properties?.code);
    if (!codeSchema?.enum) {
      t.diagnostic('error.code has no enum; nothing to compare');
      return;
    }
    const absent = CODES.filter((code) => !codeSchema.enum.includes(code));
    assert.deepEqual(absent, []);
  });

  test('download 200 declares the audio types', () => {
    const r = declaredResponse('GET /v1/download/{}', 200);
    const types = Object.keys(r.content ?? {});
    const missing = Object.values(FORMATS).map((f) => f.mime).filter((m) => !types.includes(m) && !types.includes('audio/*'));
    assert.deepEqual(missing, [], `declared: ${types.join(', ')}`);
  });
});

describe('real responses conform to the description', { concurrency: true }, () => {
  test('extract → status (queued … completed) → download', async () => {
    const sub = await c.post('/v1/extract', extractBody(fx.file('mp4_h264_aac_stereo44k.mp4'), 'aac', { options: { filename: 'x', webhook: rx.url('done'), priority: 'high' } }));
    conforms('POST /v1/extract', sub, 'created');
    conforms('GET /v1/status/{}', await c.get(`/v1/status/${sub.json.data.jobId}`), 'new job');
    await waitForJob(svc.base, keys.pro, sub.json.data.jobId);
    conforms('GET /v1/status/{}', await c.get(`/v1/status/${sub.json.data.jobId}`), 'completed job');
    const dl = await c.get(`/v1/download/${sub.json.data.jobId}`);
    assert.equal(dl.status, 200);
    const r = declaredResponse('GET /v1/download/{}', 200);
    const ct = dl.headers.get('content-type').split(';')[0];
    assert.ok(ct in (r.content ?? {}) || 'audio/*' in (r.content ?? {}), `${ct} declared`);
    const red = await c.request('POST', `/v1/webhooks/${sub.json.data.jobId}/redeliver`);
    conforms('POST /v1/webhooks/{}/redeliver', red, 'redelivery');
  });

  test('a job while processing, and its download (202)', async () => {
    const sub = await c.submit(extractBody(fx.url('/hold/openapi/mp4_h264_aac_stereo44k.mp4'), 'aac'));
    await new Promise((r) => setTimeout(r, 1500));
    conforms('GET /v1/status/{}', await c.get(`/v1/status/${sub.jobId}`), 'unfinished job');
    conforms('GET /v1/download/{}', await c.get(`/v1/download/${sub.jobId}`), 'JOB_NOT_COMPLETED');
    fx.release('openapi');
    await waitForJob(svc.base, keys.pro, sub.jobId);
  });

  test('a failed job: status and download (409)', async () => {
    const { submitted } = await runJob(svc.base, keys.pro, extractBody(fx.url('/status/404/x.mp4'), 'aac', { options: { webhook: rx.url('failed') } }));
    conforms('GET /v1/status/{}', await c.get(`/v1/status/${submitted.jobId}`), 'failed job');
    conforms('GET /v1/download/{}', await c.get(`/v1/download/${submitted.jobId}`), 'JOB_FAILED');
  });

  test('batch: created and its status', async () => {
    const b = await c.post('/v1/batch', { jobs: [extractBody(fx.file('webm_vp9_opus.webm'), 'opus'), extractBody(fx.file('mkv_h264_flac.mkv'), 'flac')] });
    conforms('POST /v1/batch', b, 'created');
    await Promise.all(b.json.data.jobs.map((j) => waitForJob(svc.base, keys.pro, j.jobId)));
    conforms('GET /v1/batch/{}', await c.get(`/v1/batch/${b.json.data.batchId}`), 'finished batch');
  });

  test('errors', async () => {
    const bad = { 'content-type': 'application/json' };
    conforms('POST /v1/extract', await c.post('/v1/extract', extractBody(fx.file('x.mp4'), 'wma')), 'INVALID_OUTPUT');
    conforms('POST /v1/extract', await c.request('POST', '/v1/extract', { body: '{', headers: bad }), 'INVALID_REQUEST');
    conforms('POST /v1/extract', await c.request('POST', '/v1/extract', { body: 'x', headers: { 'content-type': 'text/plain' } }), 'UNSUPPORTED_MEDIA_TYPE');
    conforms('POST /v1/extract', await c.request('POST', '/v1/extract', { body: JSON.stringify({ pad: 'p'.repeat(70_000) }), headers: bad }), 'PAYLOAD_TOO_LARGE');
    conforms('POST /v1/extract', await c.post('/v1/extract', extractBody(fx.file('x.mp4'), 'aac'), { key: null }), 'UNAUTHORIZED');
    conforms('POST /v1/batch', await c.post('/v1/batch', { jobs: Array.from({ length: 11 }, () => extractBody(fx.file('x.mp4'), 'aac')) }), 'TOO_MANY_JOBS');
    conforms('POST /v1/batch', await c.post('/v1/batch', { jobs: [extractBody(fx.file('x.mp4'), 'aac')] }, { key: keys.free }), 'FORBIDDEN');
    conforms('GET /v1/status/{}', await c.get('/v1/status/job_xyz'), 'INVALID_JOB_ID');
    conforms('GET /v1/status/{}', await c.get('/v1/status/job_ffffffffffffffff'), 'JOB_NOT_FOUND');
    conforms('GET /v1/status/{}', await c.get('/v1/status/job_ffffffffffffffff', { key: keys.revoked }), 'UNAUTHORIZED');
    conforms('GET /v1/download/{}', await c.get('/v1/download/job_ffffffffffffffff'), 'JOB_NOT_FOUND');
    conforms('GET /v1/batch/{}', await c.get('/v1/batch/batch_ffffffffffffffff'), 'JOB_NOT_FOUND');
    conforms('POST /v1/webhooks/{}/redeliver', await c.request('POST', '/v1/webhooks/job_ffffffffffffffff/redeliver'), 'JOB_NOT_FOUND');
  });

  test('health and openapi.json', async () => {
    conforms('GET /v1/health', await api(svc.base, null).get('/v1/health'), 'health');
    conforms('GET /v1/openapi.json', await api(svc.base, null).get('/v1/openapi.json'), 'the document itself', { strict: false });
  });

  test('webhook payloads, when the description has webhooks', async (t) => {
    const [done] = await rx.waitFor('done', 1, 60_000);
    const [failed] = await rx.waitFor('failed', 1, 60_000);
    const hooks = Object.values(spec.webhooks ?? {});
    if (hooks.length === 0) {
      t.diagnostic('no "webhooks" section in the description; payloads not checked');
      return;
    }
    const schemas = hooks.flatMap((h) => METHODS.map((m) => h[m]).filter(Boolean))
      .map((op) => deref(op.requestBody)?.content?.['application/json']?.schema).filter(Boolean);
    assert.ok(schemas.length > 0, 'a webhook with a JSON request body');
    for (const body of [done.body, failed.body]) {
      const fits = schemas.some((s) => validate(s, body, spec).length === 0 && undeclaredProperties(s, body, spec).length === 0);
      assert.ok(fits, `${body.event} payload fits a declared webhook: ${schemas.map((s) => validate(s, body, spec).concat(undeclaredProperties(s, body, spec)).join('; ')).join(' | ')}`);
    }
  });
});
