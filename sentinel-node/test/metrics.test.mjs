// gateway.metrics(): the core's snapshot, the same families sentinel-server serves at /metrics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeniedError, Gateway } from 'sentinel-guard';
import { bigPayment, dropTable, smallPayment } from './helpers.mjs';

const value = (metrics, name, labels = {}) => {
  const sample = metrics[name].samples.find((s) => JSON.stringify(s.labels) === JSON.stringify(labels));
  assert.ok(sample, `no sample ${name} ${JSON.stringify(labels)}`);
  return sample.value ?? sample;
};

test('metrics count decisions, skipped scorer calls and human approvals', async () => {
  let pendingWhileAsked;
  const gw = new Gateway({
    approver: {
      name: 'scripted',
      async request(req) {
        pendingWhileAsked = value(gw.metrics(), 'sentinel_approvals_pending');
        await req.approve({ by: 'alice', channel: 'node' });
      },
    },
  });
  const before = gw.metrics();
  assert.equal(before.sentinel_decisions_total.type, 'counter');
  assert.equal(value(before, 'sentinel_decisions_total', { status: 'EXECUTED' }), 0);

  gw.evaluateSync(smallPayment());
  await gw.evaluate(dropTable());
  assert.equal(await gw.guard(smallPayment(), () => 'paid'), 'paid');
  await assert.rejects(gw.guard(dropTable(), () => 'dropped'), DeniedError);
  assert.equal(await gw.guard(bigPayment(), () => 'paid 10000'), 'paid 10000');
  assert.equal(pendingWhileAsked, 1);

  const m = gw.metrics();
  assert.equal(value(m, 'sentinel_decisions_total', { status: 'EXECUTED' }), 2);
  assert.equal(value(m, 'sentinel_decisions_total', { status: 'DECLINED' }), 2);
  assert.equal(value(m, 'sentinel_decisions_total', { status: 'BLOCKED_AWAITING_AUTH' }), 1);
  assert.equal(value(m, 'sentinel_approvals_pending'), 0);
  assert.equal(value(m, 'sentinel_scorer_calls_avoided_total', { reason: 'deny' }), 2);
  const human = value(m, 'sentinel_human_decision_seconds', { channel: 'node', decision: 'approved' });
  assert.equal(human.count, 1);
  assert.equal(human.buckets['+Inf'], 1);
  const decided = m.sentinel_decision_duration_seconds;
  assert.equal(decided.type, 'histogram');
  assert.equal(decided.samples[0].count, 5);
  const vault = m.sentinel_pack_decisions_total.samples.find(
    (s) => s.labels.pack === 'VaultKeeper' && s.labels.status === 'EXECUTED');
  assert.equal(vault.value, 2);
  assert.match(vault.labels.version, /^\d+\.\d+\.\d+/);
});
