// Load test of the HTTP API (run by scripts/load; tests/edge/load.test.mjs runs a short one).
//
// CONCURRENCY clients share JOBS submissions; each client submits a job, answers a 503 by
// waiting Retry-After and submitting again, polls the job until it is completed or failed, and
// takes the next one. So at most CONCURRENCY jobs are in flight, and QUEUE_FULL can only be
// answered when that is above the Worker's capacity. Checks:
//   - every job reaches a final state; failed jobs carry an error code (counted per code);
//   - each QUEUE_FULL is a 503 with Retry-After and came while at least the configured capacity
//     (KEY_CAPACITY for the key, or QUEUE_CAPACITY overall) of this run's jobs could be
//     in flight on the Worker;
//   - no other answer to a submission than 202 and 503s with Retry-After (other 503s are
//     counted apart);
//   - every job refused with QUEUE_FULL is accepted in the end.
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import {
  api, defaultVars, extractBody, sleep, startFixtureServer, startService, testKeys,
} from './harness.mjs';

/** Small fixtures the jobs cycle through (copies: the load is the service's, not the codecs'). */
export const LOAD_SOURCES = [
  ['mp4_h264_aac_stereo44k.mp4', 'aac'],
  ['webm_vp9_opus.webm', 'opus'],
  ['mp4_h264_aac_mono48k.mp4', 'aac'],
];

/** Every FAIL_EVERY-th job asks for a missing file: a known DOWNLOAD_FAILED, counted apart. */
export const FAIL_EVERY = 20;

// A job seen final up to this long ago may still hold its place: the Worker releases it just
// after recording the final state.
const RELEASE_GRACE_MS = 3000;

function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/**
 * Runs the load. `bodies(i)` is the extract body of job i; `keys` are the API keys the clients
 * use in turn; `capacity` {queue, key} enables the QUEUE_FULL check. A job still refused, or
 * not final, after `jobTimeoutMs` is given up as a violation. Returns the measurements and the
 * list of invariant violations (empty when all hold).
 */
export async function runLoad({ base, keys, bodies, jobs, concurrency, capacity, pollMs = 500, jobTimeoutMs = 300_000 }) {
  const clients = keys.map((k) => api(base, k));
  const submitMs = [];
  const finals = new Map(); // job index → {status, code}
  const queueFull = [];
  const violations = [];
  const otherAnswers = new Map(); // "status code" → count
  const otherRetried = new Map(); // the same, for other 503s retried after Retry-After
  // For the QUEUE_FULL check: what of this run could hold a place on the Worker, per key.
  // `lost`: submissions whose answer a transport error took, which may have created a job.
  const inFlight = keys.map(() => ({ accepted: 0, submitting: 0, lost: 0, finals: [] }));
  // Accepted and not yet seen final, being submitted, lost, or seen final lately (places still held).
  const holding = (k, since) => {
    const f = inFlight[k];
    return f.accepted + f.submitting + f.lost + f.finals.filter((t) => t >= since - RELEASE_GRACE_MS).length;
  };
  let transportErrors = 0;
  /** fn() again after a second when the connection fails (counted), at most 5 times. */
  async function retried(fn, onError = () => {}) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        if (!e.cause || attempt >= 5) throw e; // not a transport error (no cause), or too many
        transportErrors++;
        onError();
        await sleep(1000);
      }
    }
  }
  let next = 0;
  let refusedThenAccepted = 0;
  const t0 = Date.now();

  async function submit(i, k) {
    let refused = false;
    const deadline = Date.now() + jobTimeoutMs;
    for (;;) {
      const sentAt = Date.now();
      inFlight[k].submitting++;
      let r;
      try {
        r = await retried(() => clients[k].post('/v1/extract', bodies(i)), () => inFlight[k].lost++);
      } finally {
        inFlight[k].submitting--;
      }
      submitMs.push(Date.now() - sentAt);
      if (r.status === 202 && r.json?.success) {
        inFlight[k].accepted++;
        if (refused) refusedThenAccepted++;
        return r.json.data.jobId;
      }
      const code = r.json?.error?.code;
      const retryAfter = r.headers.get('retry-after');
      const answer = `${r.status} ${code ?? r.text.slice(0, 80)}`;
      // Any other 503 with Retry-After is retried as a client would, and counted. Without the
      // API's envelope it came from in front of the Worker (wrangler dev's "Your worker
      // restarted mid-request"), which may have created the job: counted as holding a place.
      if (r.status === 503 && code !== 'QUEUE_FULL' && retryAfter !== null && Date.now() < deadline) {
        otherRetried.set(answer, (otherRetried.get(answer) ?? 0) + 1);
        if (!code) inFlight[k].lost++;
        await sleep(Number(retryAfter) * 1000);
        continue;
      }
      if (r.status !== 503 || code !== 'QUEUE_FULL') {
        otherAnswers.set(answer, (otherAnswers.get(answer) ?? 0) + 1);
        return null;
      }
      refused = true;
      if (Date.now() > deadline) {
        violations.push(`job ${i} still refused after ${jobTimeoutMs / 1000} s`);
        return null;
      }
      queueFull.push(Date.now() - t0);
      if (!/^\d+$/.test(retryAfter ?? '')) violations.push(`QUEUE_FULL without Retry-After in seconds (${retryAfter})`);
      if (capacity) {
        // Counted when the answer arrived, from when it was sent: an upper bound of what the
        // Worker held when it refused.
        const key = holding(k, sentAt) + 1; // + this submission's own place
        const all = inFlight.reduce((n, _, j) => n + holding(j, sentAt), 0) + 1;
        if (key <= capacity.key && all <= capacity.queue) {
          violations.push(`QUEUE_FULL with at most ${key} jobs of the key (KEY_CAPACITY ${capacity.key}) and ` +
            `${all} overall (QUEUE_CAPACITY ${capacity.queue}) in flight`);
        }
      }
      await sleep(Number(retryAfter ?? 5) * 1000);
    }
  }

  async function waitFinal(jobId, k) {
    const deadline = Date.now() + jobTimeoutMs;
    while (Date.now() < deadline) {
      const r = await retried(() => clients[k].get(`/v1/status/${jobId}`));
      if (r.status !== 200 || !r.json?.success) throw new Error(`status of ${jobId}: HTTP ${r.status} ${r.text}`);
      const d = r.json.data;
      if (d.status === 'completed' || d.status === 'failed') return d;
      await sleep(pollMs);
    }
    return null;
  }

  await Promise.all(Array.from({ length: concurrency }, async (_, worker) => {
    const k = worker % keys.length;
    while (next < jobs) {
      const i = next++;
      const jobId = await submit(i, k);
      if (!jobId) continue;
      const d = await waitFinal(jobId, k);
      inFlight[k].finals.push(Date.now());
      inFlight[k].accepted--;
      if (!d) {
        violations.push(`${jobId} not final after ${jobTimeoutMs / 1000} s`);
        continue;
      }
      if (d.status === 'failed' && !d.error?.code) violations.push(`${jobId} failed without an error code`);
      finals.set(i, { status: d.status, code: d.error?.code });
    }
  }));
  const wallS = (Date.now() - t0) / 1000;
  for (const [answer, n] of otherAnswers) violations.push(`${n} submissions answered ${answer}`);
  if (finals.size !== jobs) violations.push(`${finals.size} of ${jobs} jobs reached a final state`);
  const failures = {};
  for (const f of finals.values()) if (f.status === 'failed') failures[f.code] = (failures[f.code] ?? 0) + 1;
  submitMs.sort((a, b) => a - b);
  return {
    jobs, concurrency, wallS, finals, failures, violations, refusedThenAccepted, transportErrors, otherRetried,
    queueFull: queueFull.length,
    completed: [...finals.values()].filter((f) => f.status === 'completed').length,
    submitP50: quantile(submitMs, 0.5),
    submitP99: quantile(submitMs, 0.99),
    submissions: submitMs.length,
  };
}

/** The result as a Markdown table. */
export function table(r) {
  const failures = Object.entries(r.failures).map(([c, n]) => `${c} ${n}`).join(', ') || 'none';
  const rows = [
    ['jobs', r.jobs],
    ['concurrency', r.concurrency],
    ['submissions (incl. retries)', r.submissions],
    ['submit latency p50 / p99', `${r.submitP50} ms / ${r.submitP99} ms`],
    ['503 QUEUE_FULL seen', `${r.queueFull} (jobs refused then accepted on retry: ${r.refusedThenAccepted})`],
    ['time to all final', `${r.wallS.toFixed(1)} s`],
    ['completion throughput', `${(r.finals.size / r.wallS).toFixed(1)} jobs/s`],
    ['other 503s (retried after Retry-After)', [...r.otherRetried].map(([a, n]) => `${n}: ${a}`).join('; ') || 0],
    ['transport errors (requests sent again)', r.transportErrors],
    ['completed', r.completed],
    ['failed, by code', failures],
    ['invariants', r.violations.length ? r.violations.join('; ') : 'all held'],
  ];
  return ['| measure | value |', '|---|---|', ...rows.map(([k, v]) => `| ${k} | ${v} |`)].join('\n');
}

/** Bodies for fixture-server jobs: LOAD_SOURCES in turn, every FAIL_EVERY-th a missing file. */
export function fixtureBodies(fx) {
  return (i) => {
    if ((i + 1) % FAIL_EVERY === 0) return extractBody(fx.file('missing.mp4'), 'aac');
    const [file, format] = LOAD_SOURCES[i % LOAD_SOURCES.length];
    return extractBody(fx.file(file), format);
  };
}

/** Jobs among the first n that fixtureBodies makes fail. */
export const expectedFailures = (n) => Math.floor(n / FAIL_EVERY);

/**
 * Worker settings of a load run: the two capacities, loopback sources (the fixture server),
 * and the harness's fresh keys. Load runs start wrangler without its DevTools proxy
 * (`inspector: false`): that proxy keeps a connection per 4 KB each job reads, and after a few
 * hundred jobs wrangler restarts the runtime under them (a 503 "Your worker restarted
 * mid-request" to a submission, or a reset connection).
 */
export function loadVars(keys, { queueCapacity, keyCapacity }) {
  return { ...defaultVars(keys), QUEUE_CAPACITY: String(queueCapacity), KEY_CAPACITY: String(keyCapacity) };
}

async function main() {
  const { values: o } = parseArgs({
    options: {
      jobs: { type: 'string', default: '1000' },
      concurrency: { type: 'string', default: '50' },
      'queue-capacity': { type: 'string', default: '100' },
      'key-capacity': { type: 'string', default: '20' },
      url: { type: 'string' },
      key: { type: 'string', multiple: true },
      source: { type: 'string', multiple: true },
      'poll-ms': { type: 'string', default: '500' },
    },
  });
  const jobs = Number(o.jobs);
  const concurrency = Number(o.concurrency);
  const capacity = { queue: Number(o['queue-capacity']), key: Number(o['key-capacity']) };
  const pollMs = Number(o['poll-ms']);
  let result;
  if (o.url) {
    if (!o.key?.length || !o.source?.length) throw new Error('--url needs --key KEY and --source URL (each repeatable)');
    const sources = o.source;
    // Another deployment's capacities are only known when given.
    const given = process.argv.some((a) => a.startsWith('--queue-capacity') || a.startsWith('--key-capacity'));
    console.error(`load: ${jobs} jobs at concurrency ${concurrency} against ${o.url}`);
    result = await runLoad({
      base: o.url.replace(/\/$/, ''), keys: o.key, jobs, concurrency, pollMs, capacity: given ? capacity : null,
      bodies: (i) => extractBody(sources[i % sources.length], 'aac'),
    });
  } else {
    const keys = testKeys();
    const fx = await startFixtureServer();
    const vars = loadVars(keys, { queueCapacity: capacity.queue, keyCapacity: capacity.key });
    console.error(`load: starting wrangler dev (QUEUE_CAPACITY=${capacity.queue}, KEY_CAPACITY=${capacity.key})`);
    const svc = await startService({ name: 'load', vars, inspector: false });
    try {
      console.error(`load: ${jobs} jobs at concurrency ${concurrency} (keys: pro and free, in turn)`);
      result = await runLoad({
        base: svc.base, keys: [keys.pro, keys.free], jobs, concurrency, capacity, pollMs, bodies: fixtureBodies(fx),
      });
      const unexpected = (result.failures.DOWNLOAD_FAILED ?? 0) !== expectedFailures(jobs) ||
        Object.keys(result.failures).some((c) => c !== 'DOWNLOAD_FAILED');
      if (unexpected) result.violations.push(`expected exactly ${expectedFailures(jobs)} DOWNLOAD_FAILED (the missing file)`);
    } finally {
      await svc.stop();
      await fx.close();
    }
  }
  console.log(table(result));
  process.exitCode = result.violations.length ? 1 : 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((e) => { console.error(e); process.exit(2); });
}
