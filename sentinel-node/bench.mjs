// Per-call overhead of `evaluate`, `evaluateSync` and `guard` against a plain JS function,
// in one run. Usage: node bench.mjs [iterations]
//
// Measure a release build: `npm install` / `npm ci` (the `prepare` script) and run-tests.sh
// build the addon in the dev profile. From this folder:
//
//   npm ci --ignore-scripts && npm run build:release && node bench.mjs
//
// The next run-tests.sh puts the dev build back.
import { Gateway } from 'sentinel-guard';

const N = Number(process.argv[2] ?? 20000);
const gw = new Gateway();
const action = {
  agentId: 'billing-bot', action: 'PAY_INVOICE',
  payload: { amount: 120, vendor: 'AWS' }, reasoning: 'monthly bill',
};
const escalating = { ...action, agentId: 'session_x', payload: { amount: 10000, vendor: 'Unknown Corp' } };

// The baselines: what a hand-written check and a direct tool call cost.
function plainCheck(a) {
  return a.payload.amount <= 1000 && ['AWS', 'Stripe'].includes(a.payload.vendor) ? 'EXECUTED' : 'BLOCKED_AWAITING_AUTH';
}
async function plainAsync(a) {
  return plainCheck(a);
}
const tool = async () => 'paid';

async function time(label, fn, n = N) {
  for (let i = 0; i < Math.min(2000, n); i++) await fn(); // warm up
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn();
  const us = Number(process.hrtime.bigint() - start) / 1000 / n;
  return { label, us };
}

function timeSync(label, fn, n = N) {
  for (let i = 0; i < Math.min(2000, n); i++) fn();
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  const us = Number(process.hrtime.bigint() - start) / 1000 / n;
  return { label, us };
}

async function concurrent(label, fn, n = N, width = 64) {
  const start = process.hrtime.bigint();
  for (let done = 0; done < n; done += width) {
    await Promise.all(Array.from({ length: width }, fn));
  }
  const us = Number(process.hrtime.bigint() - start) / 1000 / n;
  return { label, us };
}

const rows = [];
rows.push(timeSync('plain JS check (sync)', () => plainCheck(action)));
rows.push(await time('plain JS check (async, awaited)', () => plainAsync(action)));
rows.push(await time('plain tool call (awaited)', tool));
rows.push(timeSync('evaluateSync (auto-approve)', () => gw.evaluateSync(action)));
rows.push(timeSync('evaluateSync (escalate)', () => gw.evaluateSync(escalating)));
rows.push(await time('evaluate (async, awaited one by one)', () => gw.evaluate(action)));
rows.push(await concurrent('evaluate (async, 64 in flight)', () => gw.evaluate(action)));
rows.push(await time('guard + tool (auto-approve, awaited)', () => gw.guard(action, tool), Math.min(N, 10000)));
rows.push(await concurrent('guard + tool (64 in flight)', () => gw.guard(action, tool), Math.min(N, 10000)));

const base = rows[0].us;
const baseAsync = rows[1].us;
console.log(`node ${process.version}, ${N} iterations per row\n`);
console.log('what'.padEnd(40), 'us/call'.padStart(9), 'x sync check'.padStart(13), 'x async check'.padStart(14));
for (const r of rows) {
  console.log(r.label.padEnd(40), r.us.toFixed(3).padStart(9), (r.us / base).toFixed(1).padStart(13), (r.us / baseAsync).toFixed(1).padStart(14));
}
const sync = rows.find((r) => r.label.startsWith('evaluateSync (auto')).us;
const asyncOne = rows.find((r) => r.label.startsWith('evaluate (async, awaited')).us;
console.log(`\nevaluateSync: ${sync.toFixed(2)} us/call (target <= 3 us: ${sync <= 3 ? 'met' : 'NOT met'})`);
console.log(`evaluate (async): ${asyncOne.toFixed(2)} us/call; the difference is the thread hop of an async napi call`);
