// Decisions that involve no I/O settle on the JS thread (no thread hop); anything that has
// to wait (a human, a JS scorer, a durable store) still goes through the async path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeniedError, Gateway } from 'sentinel-guard';
import { bigPayment, dropTable, smallPayment } from './helpers.mjs';

const { NativeGateway } = createRequire(import.meta.url)('../native/index.js');

const wire = (a) => JSON.stringify({ agent_id: a.agentId, action: a.action, payload: a.payload, reasoning: a.reasoning });

test('the built-in scorer and the memory store decide at once, on the calling thread', () => {
  const native = new NativeGateway('{}');
  const text = native.evaluateNow(wire(smallPayment()));
  assert.equal(typeof text, 'string');
  assert.match(text, /EXECUTED/);
  // Auto-approved: permission settled and the execution claimed before the call returns.
  assert.equal(native.authorizeNow(wire(smallPayment())), null);
  // Declined: thrown at once, with the code the async path rejects with.
  assert.throws(() => native.authorizeNow(wire(dropTable())), (err) => err.code === 'SENTINEL_DENIED');
  // Bad input: thrown at once as well.
  assert.throws(() => native.evaluateNow('{"agent_id": "a"}'), (err) => err.code === 'SENTINEL_INVALID_ACTION');
});

test('an escalation continues off the thread: the same submission, waited for', async () => {
  let asked = 0;
  const gw = new Gateway({
    approver: {
      name: 'scripted',
      async request(req) {
        asked += 1;
        await req.approve({ by: 'alice', channel: 'test' });
      },
    },
  });
  let ran = 0;
  assert.equal(await gw.guard(bigPayment(), () => { ran += 1; return 'paid'; }), 'paid');
  assert.equal(asked, 1, 'submitted once: the approver was asked once');
  assert.equal(ran, 1);
  // The native half hands back a promise when a human has to decide (nobody is asked
  // here: it expires at once).
  const native = new NativeGateway('{"escalationTimeoutMs": 100}');
  const waiting = native.authorizeNow(wire(bigPayment()));
  assert.ok(waiting instanceof Promise);
  await assert.rejects(waiting, (err) => err.code === 'SENTINEL_EXPIRED');
});

test('a JS scorer is never called on the fast path: evaluate awaits it', async () => {
  let scored = 0;
  const gw = new Gateway({
    scorer: {
      name: 'js',
      async assess() {
        scored += 1;
        return { riskScore: 5, analysis: 'fine' };
      },
    },
    unmatched: 'score',
  });
  const d = await gw.evaluate({ agentId: 'a', action: 'SEND_EMAIL', payload: {}, reasoning: '' });
  assert.equal(scored, 1);
  assert.equal(d.status, 'EXECUTED');
  const native = new NativeGateway('{}', { scorer: 'js' }, async () => ({ ok: true }));
  assert.equal(native.evaluateNow(wire(smallPayment())), null, 'not decided on this thread');
});

test('a guarded tool still runs after guard() returns, and a refusal still rejects', async () => {
  const gw = new Gateway();
  const order = [];
  const running = gw.guard(smallPayment(), () => { order.push('tool'); return 'paid'; });
  order.push('returned');
  assert.equal(await running, 'paid');
  assert.deepEqual(order, ['returned', 'tool']);
  await assert.rejects(gw.guard(dropTable(), () => { throw new Error('must not run'); }), DeniedError);
});

test('with a durable store nothing is decided on the JS thread', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sentinel-inline-'));
  try {
    const gw = await Gateway.open({ store: join(dir, 'sentinel.db') });
    assert.equal(await gw.guard(smallPayment(), () => 'paid'), 'paid');
    assert.equal((await gw.evaluate(smallPayment())).status, 'EXECUTED');
    const native = new NativeGateway(JSON.stringify({ store: join(dir, 'native.db') }));
    await native.open();
    assert.equal(native.evaluateNow(wire(smallPayment())), null);
    const waiting = native.authorizeNow(wire(smallPayment()));
    assert.ok(waiting instanceof Promise, 'recorded over I/O: off the JS thread');
    assert.equal(await waiting, undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
