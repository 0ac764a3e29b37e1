// A short load run (scripts/load runs the long one): 100 jobs from 10 clients, a pro and a free
// key in turn, against QUEUE_CAPACITY=6 and KEY_CAPACITY=4, so both limits are reached. Asserts
// the invariants, not timings: every job ends, the known failures and only they fail, QUEUE_FULL
// only above the capacity and always with Retry-After, and every refused client gets in on retry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertCleanLog, testKeys, useService } from './harness.mjs';
import { expectedFailures, fixtureBodies, loadVars, runLoad, table } from './load.mjs';

const JOBS = 100;
const CONCURRENCY = 10;
const capacity = { queue: 6, key: 4 };
const keys = testKeys();
let svc;
let fx;

// Without wrangler's DevTools proxy, as scripts/load (see loadVars).
useService(
  { keys, name: 'load', inspector: false, vars: loadVars(keys, { queueCapacity: capacity.queue, keyCapacity: capacity.key }) },
  (s) => ({ svc, fx } = s),
);

test(`${JOBS} jobs at concurrency ${CONCURRENCY} (QUEUE_CAPACITY=${capacity.queue}, KEY_CAPACITY=${capacity.key})`, async () => {
  const r = await runLoad({
    base: svc.base, keys: [keys.pro, keys.free], jobs: JOBS, concurrency: CONCURRENCY, capacity, bodies: fixtureBodies(fx),
  });
  console.log(table(r));
  assert.deepEqual(r.violations, []);
  assert.equal(r.finals.size, JOBS, 'every job reached a final state');
  assert.deepEqual(r.failures, { DOWNLOAD_FAILED: expectedFailures(JOBS) }, 'only the missing file failed');
  assert.equal(r.completed, JOBS - expectedFailures(JOBS));
  // 10 clients against 6 places: the first round of submissions alone cannot all be admitted.
  assert.ok(r.queueFull > 0, 'QUEUE_FULL was reached');
  assert.ok(r.refusedThenAccepted > 0, 'refused jobs were accepted on retry');
});

test('no panic in the Worker log', () => assertCleanLog(svc));
