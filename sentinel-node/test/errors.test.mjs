// Bad input, bad options, error codes and classes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, DeniedError, Gateway, InputError, PolicyError, SentinelError } from 'sentinel-guard';
import { smallPayment } from './helpers.mjs';

const gw = new Gateway();

async function inputError(promise, code = 'SENTINEL_INVALID_ACTION') {
  const err = await promise.then(() => null, (e) => e);
  assert.ok(err instanceof InputError, `expected InputError, got ${err}`);
  assert.ok(err instanceof TypeError, 'InputError is a TypeError');
  assert.ok(err instanceof SentinelError, 'InputError counts as a SentinelError');
  assert.equal(err.code, code);
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
  assert.equal(err.field, 'agent');
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
  await inputError(gw.guard(smallPayment(), 'not a function'), 'SENTINEL_INVALID_REQUEST');
  const wrapped = gw.wrap('PAY_INVOICE', () => 1, { agentId: '' });
  const err = await inputError(wrapped({ amount: 1 }));
  assert.equal(err.message, 'field `agent_id` must not be empty');
});

test('bad ids and resolutions are input errors', async () => {
  let err = await inputError(gw.status('not-an-id'));
  assert.equal(err.message, '`not-an-id` is not an action id');
  assert.equal(err.field, undefined);
  await inputError(gw.status(42));
  await inputError(gw.resolve('not-an-id', { approved: true, by: 'a' }));
  const id = '0190c4c2-7b1e-7000-8000-000000000000';
  err = await inputError(gw.resolve(id, { approved: 'yes', by: 'a' }), 'SENTINEL_INVALID_REQUEST');
  assert.equal(err.message, 'field `approved` must be a boolean, found string');
  assert.equal(err.field, 'approved');
  err = await inputError(gw.resolve(id, { approved: true }), 'SENTINEL_INVALID_REQUEST');
  assert.equal(err.field, 'by');
  err = await inputError(gw.resolve(id, null), 'SENTINEL_INVALID_REQUEST');
  assert.equal(err.message, 'a resolution must be an object, found null');
});

test('bad options are ConfigErrors naming the option and the key it stands for', () => {
  const bad = [
    [{ escalationTimeoutMs: 0 }, 'escalationTimeoutMs', 'gateway.escalation_timeout_s', /^invalid option `escalationTimeoutMs`: expected a positive number of seconds .*\(the option is in milliseconds\)$/],
    [{ escalationTimeoutMs: '5' }, 'escalationTimeoutMs', 'gateway.escalation_timeout_s', /invalid type: string "5"/],
    [{ unmatched: 'maybe' }, 'unmatched', 'gateway.unmatched', /unknown variant `maybe`, expected one of `escalate`, `deny`, `score`/],
    [{ onScorerError: 'ignore' }, 'onScorerError', 'gateway.on_scorer_error', /unknown variant `ignore`/],
    [{ scorer: {} }, 'scorer', 'scorer', /option `scorer` must be a name \('groq'\), `\{ groq: \{\.\.\.\} \}` or an object with an `assess` method, found object/],
    [{ scorer: 'openai' }, 'scorer', 'scorer.kind', /unknown variant `openai`, expected `offline` or `groq`/],
    [{ approver: () => {} }, 'approver', 'approver', /option `approver` must be an object with a `request` method/],
    [{ packs: 'VaultKeeper' }, 'packs', 'packs', /invalid type: string "VaultKeeper", expected a sequence/],
    [{ packs: [42] }, 'packs[0]', 'packs[0]', /invalid option `packs\[0\]`/],
    [{ packs: [{ builtin: 'OpsGuard', path: 'x.json' }] }, 'packs[0]', 'packs[0]', /exactly one of `builtin`, `path`, `dir` or `inline`/],
    [{ escalationTimeout: 5 }, 'escalationTimeout', 'escalationTimeout', /^unknown option `escalationTimeout`, expected one of `packs`, `scorer`/],
    [5, '', '', /gateway options must be an object, found number/],
  ];
  for (const [options, setting, key, message] of bad) {
    assert.throws(() => new Gateway(options), (e) => {
      assert.ok(e instanceof ConfigError && e instanceof SentinelError, `${JSON.stringify(options)}: ${e}`);
      assert.equal(e.code, 'SENTINEL_INVALID_CONFIG');
      assert.equal(e.name, 'ConfigError');
      assert.equal(e.setting, setting, e.message);
      assert.equal(e.key, key, e.message);
      assert.match(e.message, message);
      return true;
    }, JSON.stringify(options));
  }
});

test('packs that do not load are PolicyErrors at their entry naming pack, rule and pointer', () => {
  const policy = (e, setting) => {
    assert.ok(e instanceof PolicyError && e instanceof ConfigError && e instanceof SentinelError, String(e));
    assert.equal(e.code, 'SENTINEL_INVALID_PACK');
    assert.equal(e.name, 'PolicyError');
    assert.equal(e.setting, setting);
    assert.equal(e.key, setting);
    return true;
  };
  assert.throws(() => new Gateway({ packs: ['OpsGuard', 'NoSuchPack'] }), (e) => {
    policy(e, 'packs[1]');
    // Neither a built-in pack's name nor a file: most likely a misspelt name.
    assert.match(e.message, /^invalid option `packs\[1\]`: no built-in pack or pack file named `NoSuchPack`/);
    return true;
  });
  const pack = {
    name: 'Broken', version: '1.0.0', applies_to: ['PAY_INVOICE'],
    rules: [{ id: 'big', when: { gte: { path: 'payload.amount', value: 'lots' } }, effect: 'escalate', reason: 'big' }],
  };
  for (const json of [pack, JSON.stringify(pack)]) {
    assert.throws(() => new Gateway({ packs: [{ json }] }), (e) => {
      policy(e, 'packs[0]');
      assert.match(e.message, /^invalid option `packs\[0\]`: in pack `Broken`, rule `big`, at `\/rules\/0\/when/);
      return true;
    });
  }
  assert.throws(() => new Gateway({ packs: [{ json: '{ not json' }] }), (e) => e instanceof ConfigError && e.setting === 'packs[0].json');
  assert.throws(() => new Gateway({ packs: ['./missing-pack.json'] }), (e) => policy(e, 'packs[0]') && /cannot read file/.test(e.message));
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
