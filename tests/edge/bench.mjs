// Benchmark of the HTTP API under `wrangler dev` (run by scripts/bench-edge, not by the tests):
//   1. submit-to-completed latency and throughput for JOBS small jobs at CONCURRENCY;
//   2. peak resident memory of workerd while one job extracts from a ~1 GB input.
// Prints a Markdown table.
import { createServer } from 'node:http';
import { createReadStream, existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT, api, defaultVars, extractBody, startFixtureServer, startService, testKeys, sleep } from './harness.mjs';

const JOBS = Number(process.env.JOBS ?? 100);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 10);
const BIG_SECONDS = Number(process.env.BIG_SECONDS ?? 90);

function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** Resident memory (MB) of every workerd process. */
function workerdRssMb() {
  let kb = 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.includes('workerd')) continue;
      const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) kb += Number(m[1]);
    } catch { /* gone */ }
  }
  return kb / 1024;
}

async function finish(client, jobId, pollMs) {
  for (;;) {
    const r = await client.get(`/v1/status/${jobId}`);
    const s = r.json?.data?.status;
    if (s === 'completed' || s === 'failed') return r.json.data;
    await sleep(pollMs);
  }
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
  const svc = await startService({ name: 'bench', vars: { ...defaultVars(keys), QUEUE_CAPACITY: '1000', KEY_CAPACITY: '1000' } });
  const client = api(svc.base, keys.pro);
  const rows = [];
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
    const baseline = workerdRssMb();
    let peak = baseline;
    const t1 = Date.now();
    const { jobId } = await client.submit(extractBody(`http://127.0.0.1:${bigServer.address().port}/big.mkv`, 'aac'));
    let done;
    const sampler = (async () => { while (!done) { peak = Math.max(peak, workerdRssMb()); await sleep(200); } })();
    done = await finish(client, jobId, 500);
    await sampler;
    rows.push([`${(bigSize / 1e9).toFixed(2)} GB input (mkv, raw video + AAC → aac copy)`,
      `${done.status} in ${((Date.now() - t1) / 1000).toFixed(1)} s; workerd RSS ${baseline.toFixed(0)} MB before, ` +
      `peak ${peak.toFixed(0)} MB (Workers limit: 128 MB per isolate)` + (done.error ? `; error ${done.error.code}` : '')]);
    } catch (e) {
      rows.push([`${(bigSize / 1e9).toFixed(2)} GB input`, `did not complete: ${e.message} (see ${svc.logPath})`]);
    }
  } finally {
    await svc.stop();
    await fixtures.close();
    bigServer.close();
  }
  console.log('| measurement | result |\n|---|---|');
  for (const [a, b] of rows) console.log(`| ${a} | ${b} |`);
}

main().catch((e) => { console.error(e); process.exit(1); });
