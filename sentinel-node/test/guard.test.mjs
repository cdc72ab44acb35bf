// guard, wrap and resolve: approve, deny, timeout, resolve from another async task.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AlreadyExecutedError, DeniedError, Gateway, NotFoundError, ResolveError, SentinelError, TimeoutError,
} from 'sentinel-guard';
import { bigPayment, deferred, dropTable, smallPayment } from './helpers.mjs';

test('an auto-approved action runs the function and returns its result', async () => {
  const gw = new Gateway();
  let calls = 0;
  const result = await gw.guard(smallPayment(), async () => { calls += 1; return 'paid'; });
  assert.equal(result, 'paid');
  assert.equal(calls, 1);
});

test('a sync function works too, and its own error is rethrown as is', async () => {
  const gw = new Gateway();
  assert.equal(await gw.guard(smallPayment(), () => 42), 42);
  const boom = new RangeError('bank down');
  await assert.rejects(gw.guard(smallPayment(), () => { throw boom; }), (err) => err === boom);
});

test('a declined action throws DeniedError with the decision and never runs', async () => {
  const gw = new Gateway();
  let ran = false;
  const err = await gw.guard(dropTable(), () => { ran = true; }).then(() => null, (e) => e);
  assert.ok(err instanceof DeniedError && err instanceof SentinelError && err instanceof Error);
  assert.equal(err.code, 'SENTINEL_DENIED');
  assert.equal(err.name, 'DeniedError');
  assert.equal(err.decision.status, 'DECLINED');
  assert.equal(err.decision.riskScore, 100);
  assert.equal(err.actionId, err.decision.actionId);
  assert.match(err.message, /^action `[0-9a-f-]+` was declined: /);
  assert.equal(ran, false);
});

test('an approver that approves lets the $10,000 payment run', async () => {
  const seen = [];
  const gw = new Gateway({
    approver: {
      name: 'scripted',
      async request(req) {
        seen.push(req);
        await req.approve({ by: 'alice', channel: 'test', reason: 'known vendor' });
      },
    },
  });
  const result = await gw.guard(bigPayment(), async () => 'paid 10000');
  assert.equal(result, 'paid 10000');
  assert.equal(seen.length, 1);
  const [req] = seen;
  assert.equal(req.action.agentId, 'session_x');
  assert.deepEqual(req.action.payload, { amount: 10000, vendor: 'Unknown Corp' });
  assert.equal(req.decision.status, 'BLOCKED_AWAITING_AUTH');
  assert.equal(req.decision.riskScore, 95);
  assert.ok(req.deadline instanceof Date && req.deadline > new Date());
  const status = await gw.status(req.actionId);
  assert.equal(status.state, 'APPROVED');
  assert.equal(status.approval.by, 'alice');
  assert.equal(status.approval.reason, 'known vendor');
  assert.equal(typeof status.executedAtMs, 'number');
});

test('an approver that declines throws DeniedError naming who declined', async () => {
  const gw = new Gateway({ approver: { request: (req) => req.decline({ by: 'bob', reason: 'unknown vendor' }) } });
  let ran = false;
  const err = await gw.guard(bigPayment(), () => { ran = true; }).then(() => null, (e) => e);
  assert.ok(err instanceof DeniedError);
  assert.equal(err.decision.status, 'DECLINED');
  assert.match(err.decision.analysis, /^Declined by bob via js: unknown vendor\./);
  assert.equal(ran, false);
});

test('nobody deciding in time throws TimeoutError', async () => {
  const gw = new Gateway({ escalationTimeoutMs: 150 });
  let ran = false;
  const started = Date.now();
  const err = await gw.guard(bigPayment(), () => { ran = true; }).then(() => null, (e) => e);
  assert.ok(err instanceof TimeoutError, String(err));
  assert.equal(err.code, 'SENTINEL_EXPIRED');
  assert.match(err.message, /expired waiting for approval/);
  assert.equal(err.decision.riskScore, 95);
  assert.ok(Date.now() - started < 5000);
  assert.equal(ran, false);
  assert.equal((await gw.status(err.actionId)).state, 'EXPIRED');
});

test('resolve from another async task releases a waiting guard', async () => {
  const pending = deferred();
  const gw = new Gateway({ approver: { request: (req) => pending.resolve(req.actionId) } });
  const guarded = gw.guard(bigPayment(), () => 'ran');
  const reviewer = (async () => {
    const id = await pending.promise;
    assert.equal((await gw.status(id)).state, 'BLOCKED_AWAITING_AUTH');
    await new Promise((r) => setTimeout(r, 20));
    return gw.resolve(id, { approved: true, by: 'carol', channel: 'web' });
  })();
  const [result, record] = await Promise.all([guarded, reviewer]);
  assert.equal(result, 'ran');
  assert.equal(record.state, 'APPROVED');
  assert.equal(record.approval.channel, 'web');
});

test('a decision is never made twice, and unknown ids are reported', async () => {
  const pending = deferred();
  const gw = new Gateway({ approver: { request: (req) => pending.resolve(req.actionId) } });
  const guarded = gw.guard(bigPayment(), () => 'ran').catch((e) => e);
  const id = await pending.promise;
  await gw.resolve(id, { approved: false, by: 'dave' });
  assert.ok((await guarded) instanceof DeniedError);
  const again = await gw.resolve(id, { approved: true, by: 'eve' }).catch((e) => e);
  assert.ok(again instanceof ResolveError, String(again));
  assert.equal(again.code, 'SENTINEL_ALREADY_DECIDED');
  assert.match(again.message, /already DECLINED and can no longer change/);
  const missing = await gw.status('0190c4c2-7b1e-7000-8000-000000000000').catch((e) => e);
  assert.ok(missing instanceof NotFoundError);
  assert.equal(missing.code, 'SENTINEL_NOT_FOUND');
});

test('an idempotency key lets the function run only once', async () => {
  const gw = new Gateway();
  const action = { ...smallPayment(), idempotencyKey: 'invoice-77' };
  assert.equal(await gw.guard(action, () => 'first'), 'first');
  const err = await gw.guard(action, () => 'second').catch((e) => e);
  assert.ok(err instanceof AlreadyExecutedError, String(err));
  assert.equal(err.code, 'SENTINEL_ALREADY_EXECUTED');
});

test('wrap guards every call of a function', async () => {
  const gw = new Gateway({ approver: { request: (req) => req.decline({ by: 'frank' }) } });
  const paid = [];
  const payInvoice = async (amount, vendor) => { paid.push([amount, vendor]); return `paid ${amount} to ${vendor}`; };
  const payGuarded = gw.wrap('PAY_INVOICE', payInvoice, {
    agentId: 'session_x',
    payload: (amount, vendor) => ({ amount, vendor }),
    reasoning: (amount) => `pay ${amount}`,
  });
  assert.equal(await payGuarded(120, 'AWS'), 'paid 120 to AWS');
  await assert.rejects(payGuarded(10000, 'Unknown Corp'), DeniedError);
  assert.deepEqual(paid, [[120, 'AWS']]);

  const exportCsv = gw.wrap('EXPORT_CSV', (opts) => opts.record_count, { agentId: 'data-bot' });
  assert.equal(await exportCsv({ record_count: 3, contains_pii: false }), 3);
});

test('concurrent guards are decided independently', async () => {
  const gw = new Gateway({ approver: { request: (req) => (req.action.payload.amount % 2 ? req.approve() : req.decline()) } });
  const results = await Promise.allSettled(
    Array.from({ length: 20 }, (_, i) => gw.guard(
      { agentId: 'session_x', action: 'PAY_INVOICE', payload: { amount: 9000 + i, vendor: 'Unknown Corp' }, reasoning: '' },
      () => i,
    )),
  );
  results.forEach((r, i) => {
    if (i % 2) assert.equal(r.value, i);
    else assert.ok(r.reason instanceof DeniedError);
  });
});
