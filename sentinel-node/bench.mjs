// Per-call overhead of `evaluate`, `evaluateSync` and `guard` against a plain JS function,
// in one run. Usage: node bench.mjs [iterations]
//
// Measure a release build: `npm install` / `npm ci` (the `prepare` script) and run-tests.sh
// build the addon in the dev profile. From this folder:
//
//   npm ci --ignore-scripts && npm run build:release && node bench.mjs
//
// The next run-tests.sh puts the dev build back.
import { createRequire } from 'node:module';
import { Gateway } from 'sentinel-guard';

// The addon itself, for the previous implementation's calls (always off the JS thread).
const { NativeGateway } = createRequire(import.meta.url)('./native/index.js');

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
// The previous implementation's path, measured in the same run: the async native calls
// (a thread hop each), without the TS layer's conversions (so slightly flattering it).
const previous = new NativeGateway('{}');
const wire = JSON.stringify({ agent_id: action.agentId, action: action.action, payload: action.payload, reasoning: action.reasoning });
rows.push(await time('previous: native evaluate (thread hop)', () => previous.evaluate(wire)));
rows.push(await time('previous: native authorize + tool (hop)', async () => { await previous.authorize(wire); return tool(); }, Math.min(N, 10000)));

const base = rows[0].us;
const baseAsync = rows[1].us;
const sync = rows.find((r) => r.label.startsWith('evaluateSync (auto')).us;
console.log(`node ${process.version}, ${N} iterations per row\n`);
console.log('what'.padEnd(40), 'us/call'.padStart(9), 'x sync check'.padStart(13), 'x async check'.padStart(14), 'x evaluateSync'.padStart(15));
for (const r of rows) {
  console.log(r.label.padEnd(40), r.us.toFixed(3).padStart(9), (r.us / base).toFixed(1).padStart(13),
    (r.us / baseAsync).toFixed(1).padStart(14), (r.us / sync).toFixed(2).padStart(15));
}
const us = (prefix) => rows.find((r) => r.label.startsWith(prefix)).us;
const asyncOne = us('evaluate (async, awaited');
const guardOne = us('guard + tool (auto-approve');
console.log(`\nevaluate (async): ${asyncOne.toFixed(2)} us/call (target <= 10 us: ${asyncOne <= 10 ? 'met' : 'NOT met'}), ` +
  `${(asyncOne / us('previous: native evaluate')).toFixed(2)}x the previous path`);
console.log(`guard + tool: ${guardOne.toFixed(2)} us/call (target <= 15 us: ${guardOne <= 15 ? 'met' : 'NOT met'}), ` +
  `${(guardOne / us('previous: native authorize')).toFixed(2)}x the previous path`);
