// Bad input, policy errors, error codes and classes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeniedError, Gateway, InputError, PolicyError, SentinelError } from 'sentinel-guard';
import { smallPayment } from './helpers.mjs';

const gw = new Gateway();

async function inputError(promise) {
  const err = await promise.then(() => null, (e) => e);
  assert.ok(err instanceof InputError, `expected InputError, got ${err}`);
  assert.ok(err instanceof TypeError, 'InputError is a TypeError');
  assert.ok(err instanceof SentinelError, 'InputError counts as a SentinelError');
  assert.equal(err.code, 'SENTINEL_INPUT');
  assert.equal(err.name, 'InputError');
  return err;
}

test('missing fields are TypeErrors naming the field', async () => {
  for (const field of ['agentId', 'action', 'payload', 'reasoning']) {
    const action = smallPayment();
    delete action[field];
    const wire = field === 'agentId' ? 'agent_id' : field;
    const err = await inputError(gw.evaluate(action));
    assert.equal(err.message, `missing field \`${wire}\``);
    assert.equal(err.field, wire);
  }
});

test('wrong types are TypeErrors naming the field and the type found', async () => {
  let err = await inputError(gw.evaluate({ ...smallPayment(), payload: 'x' }));
  assert.equal(err.message, 'field `payload` must be an object, found string');
  err = await inputError(gw.evaluate({ ...smallPayment(), agentId: 7 }));
  assert.equal(err.message, 'field `agent_id` must be a string, found number');
  err = await inputError(gw.evaluate({ ...smallPayment(), idempotencyKey: 5 }));
  assert.equal(err.message, 'field `idempotency_key` must be a string, found number');
  err = await inputError(gw.evaluate({ ...smallPayment(), context: [] }));
  assert.equal(err.message, 'field `context` must be an object, found array');
  err = await inputError(gw.evaluate({ ...smallPayment(), agentId: ' ' }));
  assert.equal(err.message, 'field `agent_id` must not be empty');
  err = await inputError(gw.evaluate({ ...smallPayment(), agent: 'x' }));
  assert.match(err.message, /^unknown field `agent`, expected one of/);
});

test('non-objects and non-JSON values are refused as input', async () => {
  for (const [value, found] of [[null, 'null'], [undefined, 'null'], ['x', 'string'], [[1], 'array'], [3, 'number']]) {
    const err = await inputError(gw.evaluate(value));
    assert.equal(err.message, `an action must be a JSON object, found ${found}`);
  }
  const err = await inputError(gw.evaluate({ ...smallPayment(), payload: { amount: 10n } }));
  assert.match(err.message, /^an action must be JSON data: /);
  assert.ok(err.cause instanceof TypeError);
  const circular = smallPayment();
  circular.payload.self = circular.payload;
  await inputError(gw.evaluate(circular));
});

test('undefined values are dropped as JSON.stringify does', async () => {
  const d = await gw.evaluate({ ...smallPayment(), idempotencyKey: undefined, context: undefined });
  assert.equal(d.status, 'EXECUTED');
});

test('guard, evaluateSync and wrap report bad input the same way', async () => {
  await inputError(gw.guard({ action: 'PAY_INVOICE', payload: {}, reasoning: '' }, () => 1));
  assert.throws(() => gw.evaluateSync({ agentId: 'a' }), (e) => e instanceof InputError && e.message === 'missing field `action`');
  await inputError(gw.guard(smallPayment(), 'not a function'));
  const wrapped = gw.wrap('PAY_INVOICE', () => 1, { agentId: '' });
  const err = await inputError(wrapped({ amount: 1 }));
  assert.equal(err.message, 'field `agent_id` must not be empty');
});

test('bad ids and resolutions are input errors', async () => {
  let err = await inputError(gw.status('not-an-id'));
  assert.equal(err.message, '`not-an-id` is not an action id');
  err = await inputError(gw.resolve('not-an-id', { approved: true, by: 'a' }));
  err = await inputError(gw.resolve('0190c4c2-7b1e-7000-8000-000000000000', { approved: 'yes', by: 'a' }));
  assert.equal(err.message, 'field `approved` must be a boolean, found string');
  await inputError(gw.resolve('0190c4c2-7b1e-7000-8000-000000000000', { approved: true }));
});

test('bad options are input errors', () => {
  const bad = [
    [{ escalationTimeoutMs: 0 }, /option `escalationTimeoutMs` must be a positive number/],
    [{ escalationTimeoutMs: '5' }, /option `escalationTimeoutMs` must be a number, found string/],
    [{ unmatched: 'maybe' }, /option `unmatched` must be `escalate`, `deny` or `score`, found `maybe`/],
    [{ onScorerError: 'ignore' }, /option `onScorerError` must be `escalate` or `deny`/],
    [{ scorer: {} }, /option `scorer` must be an object with an `assess` method/],
    [{ approver: () => {} }, /option `approver` must be an object with a `request` method/],
    [{ packs: 'VaultKeeper' }, /option `packs` must be an array/],
    [{ packs: [42] }, /option `packs\[0\]` must be/],
  ];
  for (const [options, message] of bad) {
    assert.throws(() => new Gateway(options), (e) => e instanceof InputError && message.test(e.message), JSON.stringify(options));
  }
});

test('packs that do not load are PolicyErrors naming pack, rule and pointer', () => {
  assert.throws(() => new Gateway({ packs: ['NoSuchPack'] }), (e) => {
    assert.ok(e instanceof PolicyError && e instanceof SentinelError);
    assert.equal(e.code, 'SENTINEL_POLICY');
    assert.match(e.message, /no built-in pack named `NoSuchPack`/);
    return true;
  });
  const pack = {
    name: 'Broken', version: '1.0.0', applies_to: ['PAY_INVOICE'],
    rules: [{ id: 'big', when: { gte: { path: 'payload.amount', value: 'lots' } }, effect: 'escalate', reason: 'big' }],
  };
  assert.throws(() => new Gateway({ packs: [{ json: pack }] }), (e) => {
    assert.ok(e instanceof PolicyError, String(e));
    assert.match(e.message, /^in pack `Broken`, rule `big`, at `\/rules\/0\/when/);
    return true;
  });
  assert.throws(() => new Gateway({ packs: ['./missing-pack.json'] }), (e) => e instanceof PolicyError && /cannot read file/.test(e.message));
});

test('packs load from files and by name', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sentinel-'));
  const file = join(dir, 'refunds.json');
  writeFileSync(file, JSON.stringify({
    name: 'Refunds', version: '1.0.0', applies_to: ['REFUND'],
    rules: [{ id: 'no-big-refunds', when: { gt: { path: 'payload.amount', value: 500 } }, effect: 'deny', reason: 'Refunds above 500 are refused.' }],
  }));
  const custom = new Gateway({ packs: ['OpsGuard', file] });
  assert.deepEqual(custom.packs, ['OpsGuard', 'Refunds']);
  const d = await custom.evaluate({ agentId: 'a', action: 'REFUND', payload: { amount: 900 }, reasoning: '' });
  assert.equal(d.status, 'DECLINED');
  assert.deepEqual(d.rules, ['Refunds/no-big-refunds']);
  const err = await custom.guard({ agentId: 'a', action: 'REFUND', payload: { amount: 900 }, reasoning: '' }, () => 1).catch((e) => e);
  assert.ok(err instanceof DeniedError);
  assert.equal(err.decision.analysis, 'Refunds above 500 are refused.');
});

test('gateway properties', () => {
  const g = new Gateway({ escalationTimeoutMs: 2500, approver: { name: 'pager', request() {} } });
  assert.deepEqual(g.packs, ['VaultKeeper', 'PrivacyShield', 'OpsGuard']);
  assert.equal(g.scorerName, 'offline');
  assert.equal(g.approverName, 'pager');
  assert.equal(g.escalationTimeoutMs, 2500);
  assert.equal(new Gateway().approverName, undefined);
});
