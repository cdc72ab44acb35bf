// Every kind of error carries the core's code (`SENTINEL_` + docs/errors.md) and the class
// that code maps to; the details come from the core, not from the message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AlreadyExecutedError, ApproverError, ConfigError, ConflictError, DeniedError, Gateway, InputError, NotFoundError,
  PolicyError, ResolveError, ScorerError, SentinelError, TimeoutError,
} from 'sentinel-guard';
import { bigPayment, deferred, dropTable, smallPayment } from './helpers.mjs';

const UNKNOWN_ID = '0190c4c2-7b1e-7000-8000-000000000000';
const failure = (promise) => promise.then(() => assert.fail('expected a rejection'), (e) => e);
const thrown = (fn) => {
  try { fn(); } catch (e) { return e; }
  return assert.fail('expected a throw');
};

/** Checks class, code and name; every Sentinel error is a SentinelError. */
function coded(err, cls, code) {
  assert.ok(err instanceof cls, `expected ${cls.name}, got ${err?.name}: ${err?.message}`);
  assert.ok(err instanceof SentinelError, `${cls.name} is a SentinelError`);
  assert.equal(err.code, code);
  assert.equal(err.name, cls.name);
  assert.equal(typeof err.message, 'string');
  return err;
}

test('the codes of refused guards, with the action id and the decision', async () => {
  const gw = new Gateway({ escalationTimeoutMs: 100, approver: { request: async () => { throw new Error('no line'); } } });
  const denied = coded(await failure(gw.guard(dropTable(), () => 1)), DeniedError, 'SENTINEL_DENIED');
  assert.equal(denied.decision.status, 'DECLINED');
  assert.equal(denied.actionId, denied.decision.actionId);

  const approver = coded(await failure(gw.guard(bigPayment(), () => 1)), ApproverError, 'SENTINEL_APPROVER_FAILED');
  assert.equal(approver.decision.riskScore, 95);
  assert.equal(approver.decision.actionId, approver.actionId);
  assert.equal(approver.cause.message, 'no line');

  const quiet = new Gateway({ escalationTimeoutMs: 100 });
  const expired = coded(await failure(quiet.guard(bigPayment(), () => 1)), TimeoutError, 'SENTINEL_EXPIRED');
  assert.ok(expired.decision.rules.includes('VaultKeeper/unknown-vendor-large-payment'), expired.decision.rules);
  assert.equal(expired.cause, undefined);

  const once = { ...smallPayment(), idempotencyKey: 'codes-1' };
  assert.equal(await quiet.guard(once, () => 'ran'), 'ran');
  const again = coded(await failure(quiet.guard(once, () => 'twice')), AlreadyExecutedError, 'SENTINEL_ALREADY_EXECUTED');
  assert.equal(again.decision.status, 'EXECUTED');
  assert.equal(again.decision.actionId, again.actionId);
});

test('an idempotency key reused for another action is SENTINEL_IDEMPOTENCY_CONFLICT, not a store error', async () => {
  const gw = new Gateway();
  const first = { ...smallPayment(), idempotencyKey: 'invoice-9' };
  assert.equal(await gw.guard(first, () => 'paid'), 'paid');
  let ran = false;
  const other = { ...first, payload: { amount: 130, vendor: 'AWS' } };
  const err = coded(await failure(gw.guard(other, () => { ran = true; })), ConflictError, 'SENTINEL_IDEMPOTENCY_CONFLICT');
  assert.match(err.message, /^idempotency key `invoice-9` was already used for a different action/);
  assert.match(err.actionId, /^[0-9a-f-]{36}$/);
  assert.equal(ran, false);
});

test('a replay under changed packs is SENTINEL_RECEIPT_MISMATCH', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sentinel-codes-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = join(dir, 'sentinel.db');
  const action = { ...smallPayment(), idempotencyKey: 'receipt-1' };
  const before = await Gateway.open({ store });
  assert.equal(await before.guard(action, () => 'paid'), 'paid');

  // The same pack name, another content (so another hash): the approval no longer holds.
  const vault = JSON.parse(readFileSync(new URL('../../sentinel-core/packs/vaultkeeper.json', import.meta.url), 'utf8'));
  vault.version = '9.9.9';
  const after = await Gateway.open({ store, packs: [{ json: vault }, 'PrivacyShield', 'OpsGuard'] });
  let ran = false;
  const err = coded(await failure(after.guard(action, () => { ran = true; })), ConflictError, 'SENTINEL_RECEIPT_MISMATCH');
  assert.match(err.message, /pack `VaultKeeper` changed since the decision/);
  assert.equal(ran, false);
});

test('the codes of resolve, status and explain', async () => {
  const asked = deferred();
  const gw = new Gateway({ approver: { request: (req) => asked.resolve(req.actionId) } });
  const missing = coded(await failure(gw.status(UNKNOWN_ID)), NotFoundError, 'SENTINEL_NOT_FOUND');
  assert.equal(missing.actionId, UNKNOWN_ID);
  coded(await failure(gw.explain(UNKNOWN_ID, 'why?')), NotFoundError, 'SENTINEL_NOT_FOUND');
  coded(await failure(gw.resolve(UNKNOWN_ID, { approved: true, by: 'a' })), NotFoundError, 'SENTINEL_NOT_FOUND');

  const guarded = gw.guard(bigPayment(), () => 'ran').catch((e) => e);
  const id = await asked.promise;
  await gw.resolve(id, { approved: false, by: 'dave' });
  coded(await guarded, DeniedError, 'SENTINEL_DENIED');
  const decided = coded(await failure(gw.resolve(id, { approved: true, by: 'eve' })), ResolveError, 'SENTINEL_ALREADY_DECIDED');
  assert.equal(decided.actionId, id);
});

test('the codes of bad input and bad requests name the field', async () => {
  const gw = new Gateway();
  const action = await failure(gw.evaluate({ ...smallPayment(), payload: 'x' }));
  assert.ok(action instanceof InputError && action instanceof TypeError && action instanceof SentinelError);
  assert.equal(action.code, 'SENTINEL_INVALID_ACTION');
  assert.equal(action.field, 'payload');
  const sync = thrown(() => gw.evaluateSync({ ...smallPayment(), reasoning: undefined }));
  assert.equal(sync.code, 'SENTINEL_INVALID_ACTION');
  assert.equal(sync.field, 'reasoning');
  const request = await failure(gw.resolve(UNKNOWN_ID, { approved: true, by: '' }));
  assert.ok(request instanceof InputError);
  assert.equal(request.code, 'SENTINEL_INVALID_REQUEST');
  assert.equal(request.field, 'by');
});

test('configuration and availability codes', async () => {
  const config = coded(thrown(() => new Gateway({ unmatched: 'maybe' })), ConfigError, 'SENTINEL_INVALID_CONFIG');
  assert.equal(config.key, 'gateway.unmatched');
  const opened = coded(await failure(Gateway.fromConfig({ gateway: { unmatched: 'maybe' } })), ConfigError, 'SENTINEL_INVALID_CONFIG');
  assert.equal(opened.key, 'gateway.unmatched');
  const pack = coded(thrown(() => new Gateway({ packs: [{ builtin: 'Nope' }] })), PolicyError, 'SENTINEL_INVALID_PACK');
  assert.ok(pack instanceof ConfigError);
  assert.equal(pack.key, 'packs[0]');
  assert.match(pack.message, /no built-in pack named `Nope`/);

  const custom = new Gateway({ scorer: { assess: async () => ({ riskScore: 1, analysis: '' }) } });
  const sync = thrown(() => custom.evaluateSync(smallPayment()));
  assert.ok(sync instanceof SentinelError && sync.constructor === SentinelError);
  assert.equal(sync.code, 'SENTINEL_UNSUPPORTED');
  const webhook = await failure(new Gateway().handleTelnyxWebhook({}, Buffer.from('{}')));
  assert.equal(webhook.code, 'SENTINEL_UNSUPPORTED');
  assert.match(webhook.message, /no Telnyx approver/);
});

test('a scorer failure is SENTINEL_SCORER_FAILED on the decision, with the thrown error as cause', async () => {
  const thrownByScorer = new RangeError('model overloaded');
  const gw = new Gateway({ scorer: { name: 'llm', assess: () => { throw thrownByScorer; } }, unmatched: 'score', escalationTimeoutMs: 50 });
  const action = { agentId: 'a', action: 'NEW_THING', payload: {}, reasoning: '' };
  const d = await gw.evaluate(action);
  const err = coded(d.scorerError, ScorerError, 'SENTINEL_SCORER_FAILED');
  assert.equal(err.message, 'risk scorer `llm` failed: model overloaded');
  assert.equal(err.cause, thrownByScorer);
  // The guard that then expires carries it too: as its own cause and on its decision.
  const expired = coded(await failure(gw.guard(action, () => 1)), TimeoutError, 'SENTINEL_EXPIRED');
  assert.equal(expired.cause, thrownByScorer);
  assert.equal(expired.decision.scorerError.cause, thrownByScorer);
});

test('the codes are the core list: SENTINEL_ + docs/errors.md', () => {
  const table = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const codes = [...table.matchAll(/^\| `[a-z_]+` \| `(SENTINEL_[A-Z_]+)` \|/gm)].map((m) => m[1]);
  assert.ok(codes.length >= 20, `found ${codes.length} codes`);
  for (const code of ['SENTINEL_DENIED', 'SENTINEL_EXPIRED', 'SENTINEL_APPROVER_FAILED', 'SENTINEL_ALREADY_EXECUTED',
    'SENTINEL_ALREADY_DECIDED', 'SENTINEL_IDEMPOTENCY_CONFLICT', 'SENTINEL_RECEIPT_MISMATCH', 'SENTINEL_INVALID_ACTION',
    'SENTINEL_INVALID_CONFIG', 'SENTINEL_INVALID_PACK', 'SENTINEL_INVALID_REQUEST', 'SENTINEL_SCORER_FAILED', 'SENTINEL_NOT_FOUND',
    'SENTINEL_UNSUPPORTED']) {
    assert.ok(codes.includes(code), `${code} is not in docs/errors.md`);
  }
});
