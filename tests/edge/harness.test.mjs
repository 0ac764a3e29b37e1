// Self-checks of the harness pieces that need no Worker: the fixture server, the webhook
// receiver, the signature helpers, the schema validator and the header parser.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  FIXTURES_DIR, manifest, parseContentDisposition, signWebhook, sleep, startFixtureServer,
  startWebhookReceiver, verifyWebhook,
} from './harness.mjs';
import { validate } from './schema.mjs';

const FILE = 'mp4_h264_aac_stereo44k.mp4';

describe('fixture server', () => {
  let fx;
  const bytes = readFileSync(join(FIXTURES_DIR, FILE));
  before(async () => { fx = await startFixtureServer(); });
  after(() => fx.close());

  test('serves a fixture with Content-Length', async () => {
    const r = await fetch(fx.file(FILE));
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-length'), String(bytes.length));
    assert.equal(r.headers.get('content-type'), 'video/mp4');
    assert.ok(Buffer.from(await r.arrayBuffer()).equals(bytes));
    assert.equal(manifest().get(FILE).size_bytes, bytes.length);
  });

  test('HEAD and byte ranges', async () => {
    const h = await fetch(fx.file(FILE), { method: 'HEAD' });
    assert.equal(h.headers.get('content-length'), String(bytes.length));
    const r = await fetch(fx.file(FILE), { headers: { range: 'bytes=10-19' } });
    assert.equal(r.status, 206);
    assert.equal(r.headers.get('content-range'), `bytes 10-19/${bytes.length}`);
    assert.ok(Buffer.from(await r.arrayBuffer()).equals(bytes.subarray(10, 20)));
    const s = await fetch(fx.file(FILE), { headers: { range: 'bytes=-8' } });
    assert.ok(Buffer.from(await s.arrayBuffer()).equals(bytes.subarray(bytes.length - 8)));
  });

  test('chunked route has no Content-Length', async () => {
    const r = await fetch(fx.url(`/chunked/${FILE}`));
    assert.equal(r.headers.get('content-length'), null);
    assert.equal(r.headers.get('transfer-encoding'), 'chunked');
    assert.ok(Buffer.from(await r.arrayBuffer()).equals(bytes));
  });

  test('unknown fixture and status routes', async () => {
    assert.equal((await fetch(fx.file('nope.mp4'))).status, 404);
    assert.equal((await fetch(fx.url('/status/500/x.mp4'))).status, 500);
    assert.equal((await fetch(fx.url('/status/404'))).status, 404);
    const h = await fetch(fx.url('/html'));
    assert.match(h.headers.get('content-type'), /^text\/html/);
  });

  test('redirect chains', async () => {
    const r = await fetch(fx.url(`/redirect/3/${FILE}`), { redirect: 'manual' });
    assert.equal(r.status, 302);
    assert.equal(r.headers.get('location'), `/redirect/2/${FILE}`);
    const f = await fetch(fx.url(`/redirect/3/${FILE}`));
    assert.equal(f.status, 200);
    assert.equal((await f.arrayBuffer()).byteLength, bytes.length);
    const t = await fetch(fx.url(`/redirect-to?url=${encodeURIComponent('http://169.254.169.254/')}`), { redirect: 'manual' });
    assert.equal(t.headers.get('location'), 'http://169.254.169.254/');
    const a = await fetch(fx.url(`/loop/a/${FILE}`), { redirect: 'manual' });
    assert.equal(a.headers.get('location'), `/loop/b/${FILE}`);
    const b = await fetch(fx.url(`/loop/b/${FILE}`), { redirect: 'manual' });
    assert.equal(b.headers.get('location'), `/loop/a/${FILE}`);
    await assert.rejects(fetch(fx.url(`/loop/a/${FILE}`)), 'a loop never ends in a file');
  });

  test('hold until released, slow', async () => {
    let done = false;
    const p = fetch(fx.url(`/hold/h1/${FILE}`)).then((r) => { done = true; return r; });
    await sleep(300);
    assert.equal(done, false);
    assert.equal(fx.heldCount('h1'), 1);
    fx.release('h1');
    assert.equal((await p).status, 200);
    const t0 = Date.now();
    await (await fetch(fx.url(`/slow/400/${FILE}`))).arrayBuffer();
    assert.ok(Date.now() - t0 >= 380);
  });

  test('drop and huge cut the transfer short', async () => {
    const d = await fetch(fx.url(`/drop/${FILE}`));
    assert.equal(d.headers.get('content-length'), String(bytes.length));
    await assert.rejects(d.arrayBuffer());
    const cd = await fetch(fx.url(`/chunked-drop/${FILE}`));
    assert.equal(cd.headers.get('content-length'), null);
    await assert.rejects(cd.arrayBuffer());
    const h = await fetch(fx.url('/huge/big.mp4'));
    assert.equal(h.headers.get('content-length'), '6000000000');
    await assert.rejects(h.arrayBuffer());
  });

  test('records requests', () => {
    assert.ok(fx.requests.some((r) => r.url === `/f/${FILE}` && r.method === 'HEAD'));
  });
});

describe('webhook receiver', () => {
  let rx;
  before(async () => { rx = await startWebhookReceiver(); });
  after(() => rx.close());

  test('records headers and the raw body', async () => {
    const body = '{"event":"job.completed", "x": 1}';
    const w = rx.waitFor('a', 1, 2000);
    const r = await fetch(rx.url('a'), { method: 'POST', headers: { 'content-type': 'application/json', 'x-test': 'yes' }, body });
    assert.equal(r.status, 200);
    const [d] = await w;
    assert.equal(d.method, 'POST');
    assert.equal(d.headers['x-test'], 'yes');
    assert.equal(d.rawBody.toString(), body);
    assert.deepEqual(d.body, { event: 'job.completed', x: 1 });
  });

  test('fails the first N deliveries, then answers 200', async () => {
    rx.failFirst('b', 2);
    const codes = [];
    for (let i = 0; i < 3; i++) codes.push((await fetch(rx.url('b'), { method: 'POST', body: '{}' })).status);
    assert.deepEqual(codes, [500, 500, 200]);
    assert.deepEqual(rx.deliveries('b').map((d) => d.answered), [500, 500, 200]);
  });

  test('scripted redirect and hang', async () => {
    rx.script('c', [{ status: 302, location: '/hook/elsewhere' }, { hangMs: 300 }]);
    const r1 = await fetch(rx.url('c'), { method: 'POST', body: '{}', redirect: 'manual' });
    assert.equal(r1.status, 302);
    const t0 = Date.now();
    assert.equal((await fetch(rx.url('c'), { method: 'POST', body: '{}' })).status, 200);
    assert.ok(Date.now() - t0 >= 280);
  });

  test('scripted close without an answer', async () => {
    rx.script('d', [{ close: true }]);
    await assert.rejects(fetch(rx.url('d'), { method: 'POST', body: '{}' }));
    assert.equal((await fetch(rx.url('d'), { method: 'POST', body: '{}' })).status, 200);
    assert.deepEqual(rx.deliveries('d').map((x) => x.answered), [null, 200]);
  });

  test('waitFor times out', async () => {
    await assert.rejects(rx.waitFor('never', 1, 100), /0 of 1 deliveries/);
  });
});

describe('webhook signature helpers', () => {
  // Vector: printf '%s' '1700000000.<body>' | openssl dgst -sha256 -hmac whsec_example
  const body = Buffer.from('{"event":"job.completed","jobId":"job_0123456789abcdef"}');
  const expected = 'e786a414747df64d6925d9d2ef912dc03dee218f025fc25fc5e4c8e4abee6b3e';

  test('HMAC-SHA256 over "<timestamp>.<body>"', () => {
    assert.equal(signWebhook('whsec_example', '1700000000', body), expected);
  });

  test('verify: good, wrong secret, tampered body, stale or malformed headers', () => {
    const now = 1700000000 * 1000;
    const headers = { 'x-converso-timestamp': '1700000000', 'x-converso-signature': `v1=${expected}` };
    assert.deepEqual(verifyWebhook('whsec_example', headers, body, { now }), { ok: true });
    assert.equal(verifyWebhook('whsec_other', headers, body, { now }).ok, false);
    assert.equal(verifyWebhook('whsec_example', headers, Buffer.from(body.toString().replace('0123', '9123')), { now }).ok, false);
    assert.equal(verifyWebhook('whsec_example', headers, body, { now: now + 301_000 }).ok, false);
    assert.equal(verifyWebhook('whsec_example', { ...headers, 'x-converso-signature': expected }, body, { now }).ok, false);
    assert.equal(verifyWebhook('whsec_example', { ...headers, 'x-converso-timestamp': 'soon' }, body, { now }).ok, false);
  });
});

describe('schema validator', () => {
  const root = {
    components: {
      schemas: {
        Err: {
          type: 'object', required: ['code', 'message'], additionalProperties: false,
          properties: { code: { type: 'string', enum: ['A', 'B'] }, message: { type: 'string' }, details: { type: ['string', 'null'] } },
        },
      },
    },
  };
  const env = {
    type: 'object', required: ['success', 'error'],
    properties: { success: { const: false }, error: { $ref: '#/components/schemas/Err' } },
  };

  test('accepts conforming values', () => {
    assert.deepEqual(validate(env, { success: false, error: { code: 'A', message: 'm', details: null } }, root), []);
    assert.deepEqual(validate({ type: 'integer', minimum: 0, maximum: 100 }, 65), []);
    assert.deepEqual(validate({ type: 'string', nullable: true }, null), []);
    assert.deepEqual(validate({ type: 'array', items: { type: 'number' } }, [1, 2.5]), []);
    assert.deepEqual(validate({ oneOf: [{ type: 'string' }, { type: 'integer' }] }, 3), []);
    assert.deepEqual(validate({ anyOf: [{ type: 'null' }, { type: 'string', pattern: '^job_' }] }, 'job_1'), []);
  });

  test('reports violations with paths', () => {
    const e = validate(env, { success: true, error: { code: 'C', extra: 1 } }, root);
    assert.ok(e.some((x) => x.includes('$.success') && x.includes('const')), e.join('\n'));
    assert.ok(e.some((x) => x.includes('$.error') && x.includes('message')), e.join('\n'));
    assert.ok(e.some((x) => x.includes('$.error.code') && x.includes('enum')), e.join('\n'));
    assert.ok(e.some((x) => x.includes('extra') && x.includes('not allowed')), e.join('\n'));
    assert.equal(validate({ type: 'integer' }, 1.5).length, 1);
    assert.equal(validate({ type: ['string', 'null'] }, 3).length, 1);
    assert.equal(validate({ type: 'array', items: { type: 'string' } }, ['a', 1])[0].startsWith('$[1]'), true);
    assert.equal(validate({ oneOf: [{ type: 'number' }, { type: 'integer' }] }, 3).length, 1);
  });
});

test('Content-Disposition parsing', () => {
  assert.deepEqual(parseContentDisposition('attachment; filename="my-audio-file.mp3"'),
    { type: 'attachment', filename: 'my-audio-file.mp3', filenameStar: null });
  assert.deepEqual(parseContentDisposition(`attachment; filename="caf_.flac"; filename*=UTF-8''caf%C3%A9.flac`),
    { type: 'attachment', filename: 'caf_.flac', filenameStar: 'café.flac' });
});

test('undeclared properties', async () => {
  const { undeclaredProperties } = await import('./schema.mjs');
  const root = { components: { schemas: { F: { type: 'object', properties: { a: { type: 'integer' } } } } } };
  const s = {
    type: 'object',
    properties: {
      f: { $ref: '#/components/schemas/F' },
      list: { type: 'array', items: { type: 'object', properties: { x: {} } } },
      map: { type: 'object', additionalProperties: { type: 'boolean' } },
      u: { oneOf: [{ type: 'null' }, { type: 'object', properties: { k: {} } }] },
    },
  };
  assert.deepEqual(undeclaredProperties(s, { f: { a: 1 }, list: [{ x: 1 }], map: { A: true }, u: { k: 1 } }, root), []);
  assert.deepEqual(undeclaredProperties(s, { f: { a: 1, b: 2 }, list: [{ x: 1, y: 2 }], z: 0, u: { q: 1 } }, root),
    ['$.f.b', '$.list[0].y', '$.z', '$.u.q']);
});
