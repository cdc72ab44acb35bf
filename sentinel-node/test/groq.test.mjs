// The Groq scorer as configuration: requests to a fake OpenAI-compatible server on
// 127.0.0.1, redaction, fail-closed outcomes, environment and config errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, DeniedError, Gateway, SentinelError, TimeoutError } from 'sentinel-guard';
import { fakeServer, withEnv } from './helpers.mjs';

const KEY = 'gsk_test_0123456789abcdefghijklmnop';

/** A record share whose note holds an SSN: the packs leave it to the scorer. */
const share = () => ({
  agentId: 'crm-bot',
  action: 'SHARE_RECORD',
  payload: { record_id: 'r-17', contains_pii: false, address: '1 Main St', note: 'SSN 123-45-6789' },
  reasoning: 'the customer asked for a copy',
});

/** An OpenAI-style chat completion whose message is `content`. */
const completion = (content) => ({
  status: 200,
  body: { id: 'chatcmpl-1', object: 'chat.completion', model: 'm',
    choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content } }] },
});

const env = { GROQ_API_KEY: undefined, GROQ_BASE_URL: undefined, GROQ_MODEL: undefined };

test('groq: a clean reply scores the action; the exact request, with the SSN redacted', async () => {
  const llm = await fakeServer(() => completion(JSON.stringify({ risk_score: 20, analysis: 'Routine internal share.' })));
  try {
    await withEnv(env, async () => {
      const gw = new Gateway({ scorer: { groq: { apiKey: KEY, baseUrl: `${llm.url}/v1`, model: 'test-model', maxRetries: 0 } } });
      assert.equal(gw.scorerName, 'groq');
      const d = await gw.evaluate(share());
      assert.equal(d.status, 'EXECUTED');
      assert.equal(d.riskScore, 20);
      assert.deepEqual(d.scorer, { outcome: 'assessed', scorer: 'groq' });
      assert.match(d.analysis, /^Routine internal share\./);
      assert.equal(await gw.guard(share(), () => 'shared'), 'shared');

      assert.equal(llm.seen.length, 2);
      for (const r of llm.seen) {
        assert.equal(r.method, 'POST');
        assert.equal(r.path, '/v1/chat/completions');
        assert.equal(r.headers.authorization, `Bearer ${KEY}`);
        assert.equal(r.body.model, 'test-model');
        assert.deepEqual(r.body.response_format, { type: 'json_object' });
        assert.ok(Array.isArray(r.body.messages) && r.body.messages.length >= 2);
        assert.ok(!r.raw.includes('6789') && !r.raw.includes('123-45'), 'SSN digits left the process');
      }
      assert.deepEqual(gw.groqStats(), { calls: 2, retries: 0, cacheHits: 0, failures: 0 });
    });
  } finally {
    await llm.close();
  }
});

test('groq: a garbage or failed reply fails closed: escalated, never auto-approved', async () => {
  for (const reply of [completion('not json at all'), { status: 500, body: { error: { message: 'upstream down' } } },
    completion(JSON.stringify({ risk_score: 150, analysis: 'x' }))]) {
    const llm = await fakeServer(() => reply);
    try {
      const groq = { apiKey: KEY, baseUrl: `${llm.url}/v1`, maxRetries: 0, retryBackoffMs: 1 };
      const gw = new Gateway({ scorer: { groq }, escalationTimeoutMs: 150 });
      const d = await gw.evaluate(share());
      assert.equal(d.status, 'BLOCKED_AWAITING_AUTH', d.analysis);
      assert.equal(d.scorer.outcome, 'failed');
      assert.match(d.analysis, /^risk scorer unavailable: groq: /);
      assert.ok(d.scorerError instanceof SentinelError && d.scorerError.code === 'SENTINEL_SCORER_FAILED');

      let ran = false;
      const err = await gw.guard(share(), () => { ran = true; }).then(() => null, (e) => e);
      assert.ok(err instanceof TimeoutError, String(err));
      assert.equal(ran, false, 'the function ran without approval');
      assert.ok(gw.groqStats().failures >= 2);

      const deny = new Gateway({ scorer: { groq }, onScorerError: 'deny' });
      const denied = await deny.guard(share(), () => { ran = true; }).then(() => null, (e) => e);
      assert.ok(denied instanceof DeniedError, String(denied));
      assert.match(denied.decision.analysis, /^risk scorer unavailable: groq: /);
      assert.equal(ran, false);
    } finally {
      await llm.close();
    }
  }
});

test("groq: scorer: 'groq' reads GROQ_API_KEY, GROQ_BASE_URL and GROQ_MODEL", async () => {
  const llm = await fakeServer(() => completion('```json\n{"risk_score": "10", "analysis": "Fine."}\n```'));
  try {
    await withEnv({ GROQ_API_KEY: KEY, GROQ_BASE_URL: `${llm.url}/openai/v1`, GROQ_MODEL: 'env-model' }, async () => {
      const gw = new Gateway({ scorer: 'groq' });
      const d = await gw.evaluate(share());
      assert.equal(d.riskScore, 10);
      assert.equal(llm.seen[0].path, '/openai/v1/chat/completions');
      assert.equal(llm.seen[0].headers.authorization, `Bearer ${KEY}`);
      assert.equal(llm.seen[0].body.model, 'env-model');
    });
  } finally {
    await llm.close();
  }
});

test('groq: a missing key or a bad setting is a ConfigError naming it, never showing the key', async () => {
  await withEnv(env, async () => {
    const missing = (() => { try { return new Gateway({ scorer: 'groq' }); } catch (e) { return e; } })();
    assert.ok(missing instanceof ConfigError && missing instanceof SentinelError);
    assert.equal(missing.code, 'SENTINEL_INVALID_CONFIG');
    assert.equal(missing.setting, 'GROQ_API_KEY');

    const cases = [
      [{ apiKey: KEY, baseUrl: 'ftp://example.com' }, 'scorer.groq.baseUrl'],
      [{ apiKey: KEY, concurrency: 0 }, 'scorer.groq.concurrency'],
      [{ apiKey: KEY, timeoutMs: -5 }, 'scorer.groq.timeoutMs'],
      [{ apiKey: KEY, timeoutMs: '5000' }, 'scorer.groq.timeoutMs'],
      [{ apikey: KEY }, 'scorer.groq.apikey'],
    ];
    for (const [groq, setting] of cases) {
      assert.throws(() => new Gateway({ scorer: { groq } }), (e) => {
        assert.ok(e instanceof ConfigError, String(e));
        assert.equal(e.setting, setting, e.message);
        assert.ok(!e.message.includes(KEY), e.message);
        return true;
      });
    }
    assert.throws(() => new Gateway({ scorer: 'openai' }), (e) => e instanceof ConfigError && e.setting === 'scorer');
  });
  await withEnv({ ...env, GROQ_API_KEY: KEY, GROQ_BASE_URL: 'not a url' }, async () => {
    assert.throws(() => new Gateway({ scorer: 'groq' }), (e) => e instanceof ConfigError && e.setting === 'GROQ_BASE_URL');
  });
});

test('groq: evaluateSync refuses the network scorer instead of blocking', () => {
  const gw = new Gateway({ scorer: { groq: { apiKey: KEY, baseUrl: 'http://127.0.0.1:9/v1' } } });
  assert.throws(() => gw.evaluateSync(share()), (e) => e.code === 'SENTINEL_UNSUPPORTED');
});
