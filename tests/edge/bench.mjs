// Benchmark of the HTTP API under `wrangler dev` (run by scripts/bench-edge, not by the tests):
//   1. submit-to-completed latency and throughput for JOBS small jobs at CONCURRENCY;
//   2. one job from a ~1 GB input: how long it takes, the memory of the Worker's isolate (Wasm
//      linear memory, from the Worker's log, and the V8 heap, sampled through the inspector) and
//      the resident memory of the workerd process that runs it;
//   3. a control: the same workerd process while a 10-line JavaScript Worker stores the same
//      input in wrangler's local R2 with a plain `put(key, response.body)`.
// Prints a Markdown table.
//
// The workerd process that runs the Worker also runs wrangler's local simulators of R2, Durable
// Objects and Queues, so its RSS is not the Worker's memory: the control row shows what the local
// R2 alone costs for the same input. Workers count a Worker's isolate against the 128 MB limit:
// its V8 heap and its Wasm memory.
import { createServer } from 'node:http';
import {
  createReadStream, existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, writeFileSync,
} from 'node:fs';
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import {
  OUT_DIR, REPO_ROOT, api, defaultVars, extractBody, startFixtureServer, startService, testKeys, sleep,
} from './harness.mjs';

const JOBS = Number(process.env.JOBS ?? 100);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 10);
const BIG_SECONDS = Number(process.env.BIG_SECONDS ?? 90);
const MB = 1e6;
const MiB = 1 << 20;

function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** Resident memory of a process in bytes (0 once it is gone). */
function rss(pid) {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * The workerd process of a `wrangler dev` (process group `pgid`) that runs the Worker: the one
 * with an inspector. (The other one is wrangler's proxy in front of it.)
 */
function workerProcess(pgid) {
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const group = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[2];
      if (Number(group) === pgid && cmd.includes('workerd') && cmd.includes('--inspector-addr')) return Number(pid);
    } catch { /* gone */ }
  }
  throw new Error(`no workerd with an inspector in process group ${pgid}`);
}

/** TCP ports a process listens on (its socket inodes matched in /proc/net/tcp*). */
function listeningPorts(pid) {
  const inodes = new Set();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch { /* closed meanwhile */ }
  }
  const ports = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const c = line.trim().split(/\s+/);
      if (c.length > 9 && c[3] === '0A' && inodes.has(c[9])) ports.push(parseInt(c[1].split(':')[1], 16));
    }
  }
  return ports;
}

/**
 * A DevTools session with the Worker's isolate, straight to workerd's inspector (wrangler runs
 * without its inspector proxy here). heap() → bytes of the V8 heap ({used, total}) and of the
 * ArrayBuffers outside it (backing), as V8 reports them.
 */
async function inspectWorker(pid) {
  if (typeof WebSocket !== 'function') throw new Error('this Node has no WebSocket (run with --experimental-websocket)');
  let target;
  for (const port of listeningPorts(pid)) {
    try {
      const list = await (await fetch(`http://127.0.0.1:${port}/json/list`, { signal: AbortSignal.timeout(2000) })).json();
      target = Array.isArray(list) && list.find((t) => t.id.startsWith('core:user:'));
      if (target) break;
    } catch { /* not the inspector */ }
  }
  if (!target) throw new Error(`no inspector target for the Worker in workerd ${pid}`);
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((res, rej) => { ws.onopen = res; ws.onerror = () => rej(new Error('inspector connection failed')); });
  const waiting = new Map();
  let id = 0;
  ws.onmessage = (ev) => {
    const m = JSON.parse(ev.data);
    waiting.get(m.id)?.(m);
    waiting.delete(m.id);
  };
  const call = (method) => new Promise((res, rej) => {
    id += 1;
    const timer = setTimeout(() => { waiting.delete(id); rej(new Error(`${method}: no answer`)); }, 10_000);
    waiting.set(id, (m) => { clearTimeout(timer); res(m.result); });
    ws.send(JSON.stringify({ id, method }));
  });
  return {
    async heap() {
      const h = await call('Runtime.getHeapUsage');
      return { used: h.usedSize, total: h.totalSize, backing: h.backingStorageSize ?? 0 };
    },
    close: () => ws.close(),
  };
}

/**
 * Polls a job until it ends. Under wrangler dev a request that reaches workerd while its local
 * R2 stores a large object can go unanswered (a bare JavaScript Worker shows it too), so each
 * poll gives up after a few seconds and asks again.
 */
async function finish(client, jobId, pollMs) {
  for (;;) {
    let r;
    try {
      r = await client.get(`/v1/status/${jobId}`, { timeoutMs: 5000 });
    } catch (e) {
      if (e.name === 'TimeoutError') continue;
      throw e;
    }
    const s = r.json?.data?.status;
    if (s === 'completed' || s === 'failed') return r.json.data;
    await sleep(pollMs);
  }
}

/** Samples `fn` every `ms` until `until()` is true; returns the samples' maximum. */
async function peakOf(fn, until, ms = 200) {
  let peak = 0;
  while (!until()) {
    try { peak = Math.max(peak, await fn()); } catch { /* a sample lost */ }
    await sleep(ms);
  }
  return peak;
}

/** A ~1 GB Matroska file: uncompressed video (no encoding time) and an AAC track. */
function bigInput() {
  const dir = join(REPO_ROOT, 'target', 'bench');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `big_${BIG_SECONDS}s.mkv`);
  if (!existsSync(path)) {
    const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=640x480:rate=25',
      '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100', '-t', String(BIG_SECONDS),
      '-c:v', 'rawvideo', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '128k', path], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error('ffmpeg could not make the big input');
  }
  return path;
}

/** The control Worker: stores ?src= in R2 with a plain put of the fetched body. */
function controlWorker() {
  const dir = join(OUT_DIR, 'bench-control');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'worker.js'), `export default {
  async fetch(req, env) {
    const url = new URL(req.url);
    if (url.pathname === '/v1/health') return Response.json({ success: true });
    const src = await fetch(url.searchParams.get('src'));
    const object = await env.MEDIA.put('input', src.body);
    return Response.json({ success: true, size: object.size });
  },
};
`);
  writeFileSync(join(dir, 'wrangler.toml'), `name = "converso-bench-control"
main = ${JSON.stringify(join(dir, 'worker.js'))}
compatibility_date = "2026-04-01"

[[r2_buckets]]
binding = "MEDIA"
bucket_name = "converso-bench-control"
`);
  return join(dir, 'wrangler.toml');
}

const mb = (bytes) => `${(bytes / MB).toFixed(0)} MB`;
const mib = (bytes) => `${(bytes / MiB).toFixed(0)} MiB`;

async function main() {
  const keys = testKeys();
  const fixtures = await startFixtureServer();
  const big = bigInput();
  const bigSize = statSync(big).size;
  const bigServer = createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'video/x-matroska', 'Content-Length': bigSize });
    createReadStream(big).pipe(res);
  });
  await new Promise((r) => bigServer.listen(0, '127.0.0.1', r));
  const bigUrl = `http://127.0.0.1:${bigServer.address().port}/big.mkv`;
  const gb = `${(bigSize / 1e9).toFixed(2)} GB`;
  const rows = [];
  const load = [loadavg()[0]];
  const svc = await startService({
    name: 'bench', inspector: false, vars: { ...defaultVars(keys), QUEUE_CAPACITY: '1000', KEY_CAPACITY: '1000' },
  });
  const client = api(svc.base, keys.pro);
  try {
    // 1. Many small jobs.
    const src = fixtures.file('mp4_h264_aac_stereo44k.mp4');
    const latencies = [];
    let failed = 0;
    let next = 0;
    const t0 = Date.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next < JOBS) {
        next++;
        const start = Date.now();
        const { jobId } = await client.submit(extractBody(src, 'aac'));
        const done = await finish(client, jobId, 100);
        if (done.status !== 'completed') failed++;
        latencies.push(Date.now() - start);
      }
    }));
    const wall = (Date.now() - t0) / 1000;
    latencies.sort((a, b) => a - b);
    rows.push(['small jobs (10 s mp4 → aac copy)', `${JOBS} jobs at concurrency ${CONCURRENCY}: ` +
      `p50 ${quantile(latencies, 0.5)} ms, p95 ${quantile(latencies, 0.95)} ms, max ${latencies.at(-1)} ms submit-to-completed; ` +
      `${(JOBS / wall).toFixed(1)} jobs/s; ${failed} failed`]);

    // 2. One big input.
    try {
      const pid = workerProcess(svc.pid);
      const inspector = await inspectWorker(pid).catch((e) => ({ error: e }));
      const before = rss(pid);
      const heapBefore = inspector.error ? null : await inspector.heap();
      let done;
      const t1 = Date.now();
      const { jobId } = await client.submit(extractBody(bigUrl, 'aac'));
      const [peakRss, peakHeap] = await Promise.all([
        peakOf(async () => rss(pid), () => done),
        inspector.error ? null : peakOf(async () => { const h = await inspector.heap(); return h.total + h.backing; }, () => done),
        (async () => { done = await finish(client, jobId, 500); })(),
      ]);
      const secs = ((Date.now() - t1) / 1000).toFixed(1);
      inspector.close?.();
      const wasm = new RegExp(`job ${jobId} \\w+: Wasm memory (\\d+) MiB`).exec(svc.log());
      const wasmBytes = wasm ? Number(wasm[1]) * MiB : null;
      rows.push([`${gb} input (mkv, raw video + AAC → aac copy)`,
        `${done.status} in ${secs} s` + (done.error ? `; error ${done.error.code}: ${done.error.details ?? done.error.message}` : '')]);
      const heap = peakHeap == null ? `V8 heap not measured (${inspector.error.message})`
        : `V8 heap and ArrayBuffers ${mib(heapBefore.total + heapBefore.backing)} before, peak ${mib(peakHeap)}`;
      const sum = peakHeap != null && wasmBytes != null ? `; together at most ${mib(wasmBytes + peakHeap)}` : '';
      rows.push([`Worker isolate memory, ${gb} input`,
        `Wasm linear memory ${wasm ? `${wasm[1]} MiB (its peak: it only grows)` : 'not logged'}; ${heap}${sum} ` +
        '(Workers limit: 128 MB per isolate)']);
      rows.push([`workerd process RSS, ${gb} input`,
        `${mb(before)} before, peak ${mb(peakRss)}: the workerd that runs the Worker also runs the local R2, ` +
        'Durable Object and Queue simulators (see the control row)']);
    } catch (e) {
      rows.push([`${gb} input`, `did not complete: ${e.message} (see ${svc.logPath})`]);
    }
  } finally {
    await svc.stop();
    await fixtures.close();
  }

  // 3. The control: wrangler's local R2 storing the same input, no converso code.
  const control = await startService({ name: 'bench-control', config: controlWorker(), inspector: false });
  try {
    const pid = workerProcess(control.pid);
    const before = rss(pid);
    let done;
    const t2 = Date.now();
    const [peakRss] = await Promise.all([
      peakOf(async () => rss(pid), () => done),
      (async () => {
        const r = await fetch(`${control.base}/store?src=${encodeURIComponent(bigUrl)}`, { signal: AbortSignal.timeout(600_000) });
        done = await r.json();
      })(),
    ]);
    rows.push([`control: a bare JavaScript Worker storing the same ${gb} with \`put(key, response.body)\``,
      `stored ${mb(done.size ?? 0)} in ${((Date.now() - t2) / 1000).toFixed(1)} s; workerd RSS ${mb(before)} before, peak ${mb(peakRss)}`]);
  } catch (e) {
    rows.push(['control: a bare JavaScript Worker storing the same input', `did not complete: ${e.message} (see ${control.logPath})`]);
  } finally {
    await control.stop();
    bigServer.close();
  }
  load.push(loadavg()[0]);
  rows.push(['machine load (1-minute average, start → end)', `${load.map((l) => l.toFixed(1)).join(' → ')} on ${cpus().length} cores`]);
  console.log('| measurement | result |\n|---|---|');
  for (const [a, b] of rows) console.log(`| ${a} | ${b} |`);
}

main().catch((e) => { console.error(e); process.exit(1); });
