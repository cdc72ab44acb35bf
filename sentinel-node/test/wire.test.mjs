// The hot path's wire handling: camelCase aliases read in Rust, the direct parser and its
// fallback, and the decision encoding's tail cache give the same results as before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Gateway } from 'sentinel-guard';

const base = { action: 'PAY_INVOICE', payload: { amount: 120, vendor: 'AWS' }, reasoning: 'bill' };

function outcome(fn) {
  try {
    const d = fn();
    return { status: d.status, riskScore: d.riskScore, rules: d.rules, analysis: d.analysis, matched: d.matched.map(({ rule, effect, reason }) => ({ rule, effect, reason })) };
  } catch (err) {
    return { error: err.message, code: err.code };
  }
}

test('camelCase aliases decide and fail exactly like snake_case names', () => {
  const gw = new Gateway();
  const same = (camel, snake) => assert.deepEqual(outcome(() => gw.evaluateSync(camel)), outcome(() => gw.evaluateSync(snake, { strict: true })));
  same({ agentId: 'bot', ...base }, { agent_id: 'bot', ...base });
  same({ agentId: 'bot', idempotencyKey: 'k', ...base }, { agent_id: 'bot', idempotency_key: 'k', ...base });
  same({ agentId: 5, ...base }, { agent_id: 5, ...base });
  same({ agentId: ' ', ...base }, { agent_id: ' ', ...base });
  same({ agentId: 'bot', idempotencyKey: '', ...base }, { agent_id: 'bot', idempotency_key: '', ...base });
  same({ agentId: 'bot', idempotencyKey: null, ...base }, { agent_id: 'bot', idempotency_key: null, ...base });
  same({ agentId: 'bot', ...base, extra: 1 }, { agent_id: 'bot', ...base, extra: 1 });
  same({ agentId: 'bot', ...base, payload: 3 }, { agent_id: 'bot', ...base, payload: 3 });
  // Both names: the camelCase one is an unknown field.
  const unknown = outcome(() => gw.evaluateSync({ agentId: 'a', ...base }, { strict: true }));
  assert.match(unknown.error, /^unknown field `agentId`/);
  assert.deepEqual(outcome(() => gw.evaluateSync({ agentId: 'a', agent_id: 'b', ...base })), unknown);
  assert.deepEqual(outcome(() => gw.evaluateSync({ agentId: 'a', agent_id: undefined, ...base })), unknown);
  // An object with toJSON is renamed in JS, as before.
  const custom = { agentId: 'bot', ...base, toJSON() { return { agent_id: 'bot', ...base }; } };
  assert.equal(outcome(() => gw.evaluateSync(custom)).status, 'EXECUTED');
});

test('context, duplicates and odd values parse as the core parses them', () => {
  const gw = new Gateway();
  const d = gw.evaluateSync({ agent_id: 'bot', ...base, context: null }, { strict: true });
  assert.equal(d.status, 'EXECUTED');
  assert.equal(outcome(() => gw.evaluateSync({ agent_id: 'bot', ...base, context: [] })).error, 'field `context` must be an object, found array');
  assert.equal(outcome(() => gw.evaluateSync(null)).code, 'SENTINEL_INVALID_ACTION');
  assert.equal(outcome(() => gw.evaluateSync({ agent_id: 'bot', ...base, payload: { amount: 1e400 } })).code, undefined);
});

test('decisions are fresh objects, also when the encoding repeats', () => {
  const gw = new Gateway();
  const a = gw.evaluateSync({ agentId: 'bot', ...base });
  a.rules.push('x'); a.matched[0].effect.set_risk = 99; a.packs[0].name = 'y'; a.scorer.outcome = 'z';
  const b = gw.evaluateSync({ agentId: 'bot', ...base });
  assert.deepEqual(b.rules, ['VaultKeeper/trusted-vendor-small-payment']);
  assert.deepEqual(b.matched[0].effect, { set_risk: 10 });
  assert.equal(b.packs[0].name, 'VaultKeeper');
  assert.equal(b.scorer.outcome, 'skipped');
  assert.notEqual(a.actionId, b.actionId);
});

test('separator characters in decided text survive the encoding', () => {
  const gw = new Gateway();
  for (const vendor of ['A\x1fB\x1bC', 'Unknown\x1f\x1bCorp']) {
    const d = gw.evaluateSync({ agentId: 'session_x', action: 'PAY_INVOICE', payload: { amount: 10000, vendor }, reasoning: 'r' });
    assert.ok(d.analysis.includes(vendor), d.analysis);
    for (const m of d.matched) assert.ok(m.reason.includes(vendor), m.reason);
    assert.equal(d.packs[0].name, 'VaultKeeper');
  }
  const d = gw.evaluateSync({ agentId: 'session_x', action: 'PAY_\x1f', payload: {}, reasoning: 'r' });
  assert.ok(d.analysis.includes('PAY_\x1f'));
});

test('decisions decode the same whether their values cross or are learnt into a template', async () => {
  const { corpus } = await import('./helpers.mjs');
  const cases = corpus().filter((c) => c.expect.error === undefined);
  const gw = new Gateway();
  const strip = ({ actionId, timings, ...rest }) => {
    assert.match(actionId, /^[0-9a-f-]{36}$/);
    assert.deepEqual(Object.keys(timings), ['rulesNs', 'scorerNs', 'totalNs']);
    return rest;
  };
  // The first decision of each case, then rounds in which templates are learnt and used,
  // interleaved so that cases of one shape alternate.
  const first = cases.map((c) => strip(gw.evaluateSync(c.action, { strict: true })));
  for (let round = 0; round < 4; round++) {
    cases.forEach((c, i) => {
      const d = gw.evaluateSync(c.action, { strict: true });
      assert.deepEqual(strip(d), first[i], `${c.name}, round ${round}`);
    });
  }
  // The async path and records decode through the same templates.
  for (const [i, c] of cases.entries()) {
    assert.deepEqual(strip(await gw.evaluate(c.action, { strict: true })), first[i], c.name);
  }
});
