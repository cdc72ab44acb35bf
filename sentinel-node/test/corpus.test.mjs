// The shared decision corpus (fixtures/decisions.jsonl): identical results to Rust.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Gateway, InputError } from 'sentinel-guard';
import { corpus } from './helpers.mjs';

const cases = corpus();
/** The configuration every host runs the corpus with. */
const SHARED = fileURLToPath(new URL('../../fixtures/sentinel.toml', import.meta.url));

function check(name, expect, run) {
  let decision;
  try {
    decision = run();
  } catch (err) {
    assert.ok(expect.error !== undefined, `${name}: unexpected error ${err.message}`);
    assert.ok(err instanceof InputError && err instanceof TypeError, `${name}: ${err}`);
    assert.equal(err.code, 'SENTINEL_INVALID_ACTION');
    assert.equal(err.message, expect.error, name);
    if (/field `/.test(expect.error)) assert.equal(err.field, /field `([^`]+)`/.exec(expect.error)[1], name);
    return;
  }
  assert.equal(expect.error, undefined, `${name}: expected error \`${expect.error}\`, got a decision`);
  assert.deepEqual(
    { status: decision.status, riskScore: decision.riskScore, rules: decision.rules },
    { status: expect.status, riskScore: expect.risk_score, rules: expect.rules },
    `${name} (${decision.analysis})`,
  );
  if (expect.analysis_contains !== undefined) {
    assert.ok(decision.analysis.includes(expect.analysis_contains), `${name}: ${decision.analysis}`);
  }
}

test('the corpus is large enough to mean something', () => {
  assert.ok(cases.length >= 40, `only ${cases.length} cases`);
});

test('evaluate decides the whole corpus exactly as Rust does', async () => {
  const gw = new Gateway();
  for (const c of cases) {
    let outcome;
    try {
      const d = await gw.evaluate(c.action, { strict: true });
      outcome = () => d;
    } catch (err) {
      outcome = () => { throw err; };
    }
    check(c.name, c.expect, outcome);
  }
});

test('evaluateSync decides the whole corpus exactly as Rust does', () => {
  const gw = new Gateway();
  for (const c of cases) check(c.name, c.expect, () => gw.evaluateSync(c.action, { strict: true }));
});

test('a gateway from the shared configuration (fixtures/sentinel.toml) decides the corpus the same', async () => {
  const gw = await Gateway.fromConfig(SHARED);
  for (const c of cases) check(c.name, c.expect, () => gw.evaluateSync(c.action, { strict: true }));
  for (const c of cases) {
    let outcome;
    try {
      const d = await gw.evaluate(c.action, { strict: true });
      outcome = () => d;
    } catch (err) {
      outcome = () => { throw err; };
    }
    check(`${c.name} (evaluate)`, c.expect, outcome);
  }
});

test('camelCase names are accepted outside strict mode, with the same decisions', async () => {
  const gw = new Gateway();
  for (const c of cases.filter((c) => c.expect.error === undefined)) {
    const { agent_id: agentId, ...rest } = c.action;
    const d = await gw.evaluate({ agentId, ...rest, idempotencyKey: `k-${c.name}` });
    assert.equal(d.status, c.expect.status, c.name);
    assert.equal(d.riskScore, c.expect.risk_score, c.name);
    assert.deepEqual(d.rules, c.expect.rules, c.name);
  }
});

test('decisions carry camelCase details', async () => {
  const gw = new Gateway();
  const d = await gw.evaluate({
    agentId: 'session_x', action: 'PAY_INVOICE',
    payload: { amount: 10000, vendor: 'Unknown Corp' }, reasoning: 'overdue',
  });
  assert.match(d.actionId, /^[0-9a-f-]{36}$/);
  assert.equal(d.matched[0].rule, 'VaultKeeper/unknown-vendor-large-payment');
  assert.equal(typeof d.matched[0].packVersion, 'string');
  assert.equal(d.packs[0].name, 'VaultKeeper');
  assert.match(d.packs[0].hash, /^[0-9a-f]{64}$/);
  assert.equal(typeof d.timings.totalNs, 'number');
  assert.ok(['skipped', 'assessed'].includes(d.scorer.outcome));
  assert.equal(d.scorerError, undefined);
});

test('text with control characters survives the trip back from Rust', async () => {
  const gw = new Gateway();
  const name = 'EVIL\x1fACTION\x1b[0m\x1e';
  const action = { agentId: 'a', action: name, payload: {}, reasoning: '' };
  const d = await gw.evaluate(action);
  assert.equal(d.status, 'BLOCKED_AWAITING_AUTH');
  assert.equal(d.riskScore, 100);
  assert.ok(d.analysis.includes(name), JSON.stringify(d.analysis));
  assert.equal(gw.evaluateSync(action).analysis, d.analysis);
});
