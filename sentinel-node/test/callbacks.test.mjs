// Custom async scorers and approvers written in JavaScript, and their failures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApproverError, DeniedError, Gateway, ScorerError, TimeoutError } from 'sentinel-guard';
import { bigPayment, smallPayment } from './helpers.mjs';

const unknownAction = () => ({
  agentId: 'agent-1', action: 'TRANSFER_DOMAIN', payload: { domain: 'example.com' }, reasoning: 'renewal',
});

class KeywordScorer {
  name = 'keywords';
  calls = [];
  async assess(action, context) {
    this.calls.push({ action, context });
    await new Promise((r) => setTimeout(r, 5));
    return action.payload.domain === 'example.com'
      ? { riskScore: 20, analysis: 'Test domain.' }
      : { riskScore: 90, analysis: 'Real domain.' };
  }
  async explain(action, assessment, question) {
    return `${action.action} scored ${assessment.riskScore}; you asked: ${question}`;
  }
}

test('a custom async scorer (a class instance) is consulted when rules do not decide', async () => {
  const scorer = new KeywordScorer();
  const gw = new Gateway({ scorer, unmatched: 'score' });
  assert.equal(gw.scorerName, 'keywords');
  const d = await gw.evaluate(unknownAction());
  assert.equal(d.status, 'EXECUTED');
  assert.equal(d.riskScore, 20);
  assert.equal(d.analysis, 'Test domain.');
  assert.deepEqual(d.scorer, { outcome: 'assessed', scorer: 'keywords' });
  assert.equal(scorer.calls[0].action.agentId, 'agent-1');
  assert.deepEqual(scorer.calls[0].context.policyReasons, []);
  const risky = await gw.evaluate({ ...unknownAction(), payload: { domain: 'bank.com' } });
  assert.equal(risky.status, 'BLOCKED_AWAITING_AUTH');
});

test('a scorer can never lower a pack floor nor undo a deny', async () => {
  const gw = new Gateway({ scorer: { assess: async () => ({ riskScore: 0, analysis: 'fine' }) } });
  const drop = await gw.evaluate({ agentId: 'ops-bot', action: 'DROP_TABLE', payload: { table: 'x' }, reasoning: '' });
  assert.equal(drop.status, 'DECLINED');
  const d = await gw.evaluate(bigPayment());
  assert.equal(d.riskScore, 95);
});

test('explain answers through the scorer, also from the approval request', async () => {
  const answers = [];
  const gw = new Gateway({
    scorer: new KeywordScorer(),
    approver: { async request(req) { answers.push(await req.explain('why?')); await req.approve(); } },
  });
  await gw.guard(unknownAction(), () => null);
  assert.equal(answers[0], 'TRANSFER_DOMAIN scored 20; you asked: why?');
});

test('a rejecting scorer fails closed and surfaces the original error as cause', async () => {
  const original = new Error('model endpoint down');
  const gw = new Gateway({ scorer: { name: 'flaky', assess: async () => { throw original; } }, escalationTimeoutMs: 100 });
  const d = await gw.evaluate(unknownAction());
  assert.equal(d.status, 'BLOCKED_AWAITING_AUTH');
  assert.deepEqual(d.scorer, { outcome: 'failed', scorer: 'flaky', error: 'model endpoint down' });
  assert.match(d.analysis, /^risk scorer unavailable: model endpoint down/);
  assert.ok(d.scorerError instanceof ScorerError);
  assert.equal(d.scorerError.code, 'SENTINEL_SCORER_FAILED');
  assert.equal(d.scorerError.cause, original);

  let ran = false;
  const err = await gw.guard(unknownAction(), () => { ran = true; }).catch((e) => e);
  assert.ok(err instanceof TimeoutError, String(err));
  assert.equal(err.cause, original);
  assert.equal(ran, false);
});

test('a scorer failure with onScorerError deny declines, with the cause', async () => {
  const original = new TypeError('bad json from model');
  const gw = new Gateway({ scorer: { assess() { throw original; } }, onScorerError: 'deny' });
  const err = await gw.guard(unknownAction(), () => 'ran').catch((e) => e);
  assert.ok(err instanceof DeniedError, String(err));
  assert.equal(err.cause, original);
  assert.equal(err.decision.scorer.outcome, 'failed');
});

test('out-of-range or missing scores fail closed', async () => {
  for (const reply of [{ riskScore: 150, analysis: 'x' }, { riskScore: 12.5 }, { analysis: 'no score' }, null]) {
    const gw = new Gateway({ scorer: { assess: async () => reply }, unmatched: 'score' });
    const d = await gw.evaluate(unknownAction());
    assert.equal(d.status, 'BLOCKED_AWAITING_AUTH', JSON.stringify(reply));
    assert.equal(d.scorer.outcome, 'failed');
    assert.ok(d.scorerError instanceof ScorerError);
  }
});

test('a rejecting approver fails closed with ApproverError and the original cause', async () => {
  const original = new Error('phone line busy');
  const gw = new Gateway({ approver: { name: 'phone', request: async () => { throw original; } } });
  let ran = false;
  const err = await gw.guard(bigPayment(), () => { ran = true; }).catch((e) => e);
  assert.ok(err instanceof ApproverError, String(err));
  assert.equal(err.code, 'SENTINEL_APPROVER_FAILED');
  assert.equal(err.cause, original);
  assert.match(err.message, /could not be sent for approval: phone line busy/);
  assert.equal(err.decision.riskScore, 95);
  assert.equal((await gw.status(err.actionId)).state, 'ERROR_APPROVER');
  assert.equal(ran, false);
});

test('non-Error throws are kept as cause too', async () => {
  const gw = new Gateway({ approver: { request() { throw 'nope'; } } });
  const err = await gw.guard(bigPayment(), () => null).catch((e) => e);
  assert.ok(err instanceof ApproverError);
  assert.equal(err.cause, 'nope');
});

test('evaluateSync refuses a custom scorer', () => {
  const gw = new Gateway({ scorer: new KeywordScorer() });
  assert.throws(() => gw.evaluateSync(smallPayment()), (e) => e.code === 'SENTINEL_UNSUPPORTED');
});

test('many callbacks in flight at once', async () => {
  const gw = new Gateway({ scorer: new KeywordScorer(), unmatched: 'score' });
  const ds = await Promise.all(Array.from({ length: 100 }, () => gw.evaluate(unknownAction())));
  assert.ok(ds.every((d) => d.riskScore === 20));
});
