// Gateway.fromConfig: the configuration every host reads (TOML, JSON or an object), its
// errors with key, file, line and environment variable, secrets by name, and custom parts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, Gateway, PolicyError, ResolveError } from 'sentinel-guard';
import { bigPayment, dropTable, fakeServer, smallPayment, withEnv } from './helpers.mjs';

const SHARED = fileURLToPath(new URL('../../fixtures/sentinel.toml', import.meta.url));

/** A fresh folder with a pack file in `packs/`; removed after the test. */
function folder(t) {
  const dir = mkdtempSync(join(tmpdir(), 'sentinel-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'packs'));
  writeFileSync(join(dir, 'packs', 'refunds.json'), JSON.stringify({
    name: 'Refunds', version: '1.0.0', applies_to: ['REFUND'],
    rules: [{ id: 'no-big-refunds', when: { gt: { path: 'payload.amount', value: 500 } }, effect: 'deny', reason: 'Refunds above 500 are refused.' }],
  }));
  return dir;
}

const refund = (amount) => ({ agentId: 'a', action: 'REFUND', payload: { amount }, reasoning: '' });

async function configError(promise, code = 'SENTINEL_INVALID_CONFIG') {
  const err = await promise.then(() => assert.fail('expected a ConfigError'), (e) => e);
  assert.ok(err instanceof ConfigError, String(err));
  assert.equal(err.code, code);
  return err;
}

test('the shared configuration (fixtures/sentinel.toml): seed packs, offline, in memory', async () => {
  const gw = await Gateway.fromConfig(SHARED);
  assert.deepEqual(gw.packs, ['VaultKeeper', 'PrivacyShield', 'OpsGuard']);
  assert.equal(gw.scorerName, 'offline');
  assert.equal(gw.approverName, undefined);
  assert.equal(gw.escalationTimeoutMs, 180_000);
  assert.equal(gw.evaluateSync(smallPayment()).status, 'EXECUTED');
  assert.equal(await gw.guard(smallPayment(), () => 'paid'), 'paid');
});

test('a TOML file: relative pack and store paths are relative to the file', async (t) => {
  const dir = folder(t);
  const file = join(dir, 'sentinel.toml');
  writeFileSync(file, [
    '[gateway]', 'unmatched = "deny"', 'escalation_timeout_s = 0.25', '',
    '[[packs]]', 'builtin = "OpsGuard"', '[[packs]]', 'path = "packs/refunds.json"', '',
    '[store]', 'url = "sqlite://data/sentinel.db"', '',
  ].join('\n'));
  mkdirSync(join(dir, 'data'));
  const gw = await Gateway.fromConfig(file);
  assert.deepEqual(gw.packs, ['OpsGuard', 'Refunds']);
  assert.equal(gw.escalationTimeoutMs, 250);
  assert.ok(existsSync(join(dir, 'data', 'sentinel.db')), 'the store sits next to the file');
  assert.equal((await gw.evaluate(refund(900))).status, 'DECLINED');
  assert.deepEqual((await gw.evaluate(refund(900))).rules, ['Refunds/no-big-refunds']);
  // unmatched = "deny": a payment (VaultKeeper is not loaded) is declined.
  assert.equal((await gw.evaluate(smallPayment())).status, 'DECLINED');
  const err = await gw.guard(dropTable(), () => 1).catch((e) => e);
  assert.equal(err.code, 'SENTINEL_DENIED');
  const status = await gw.status(err.actionId);
  assert.equal(status.state, 'DECLINED');
  assert.deepEqual(status.decision.rules, ['OpsGuard/drop-table-forbidden']);
});

test('a JSON file and an object read the same keys', async (t) => {
  const dir = folder(t);
  const config = {
    gateway: { unmatched: 'escalate', escalation_timeout_s: 60 },
    packs: [{ builtin: 'VaultKeeper' }, { path: 'packs/refunds.json' }],
  };
  const file = join(dir, 'sentinel.json');
  writeFileSync(file, JSON.stringify(config, null, 2));
  const fromFile = await Gateway.fromConfig(file);
  assert.deepEqual(fromFile.packs, ['VaultKeeper', 'Refunds']);
  assert.equal(fromFile.escalationTimeoutMs, 60_000);

  // An object's relative paths are relative to the working directory.
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    const fromObject = await Gateway.fromConfig(config);
    assert.deepEqual(fromObject.packs, ['VaultKeeper', 'Refunds']);
  } finally {
    process.chdir(cwd);
  }
  const absolute = await Gateway.fromConfig({ ...config, packs: [{ path: join(dir, 'packs', 'refunds.json') }, 'OpsGuard'] });
  assert.deepEqual(absolute.packs, ['Refunds', 'OpsGuard']);
  const d = await absolute.evaluate(refund(10));
  assert.equal(d.status, 'BLOCKED_AWAITING_AUTH'); // no rule matched; the pack's default
  assert.deepEqual((await Gateway.fromConfig({})).packs, ['VaultKeeper', 'PrivacyShield', 'OpsGuard']);
});

test('an unknown key or a bad value is a ConfigError with key, file and line', async (t) => {
  const dir = folder(t);
  const file = join(dir, 'sentinel.toml');
  writeFileSync(file, '[gateway]\nunmatched = "deny"\n\n[scorer.groq]\ntimeout = 5\n');
  let err = await configError(Gateway.fromConfig(file));
  assert.equal(err.key, 'scorer.groq.timeout');
  assert.equal(err.setting, 'scorer.groq.timeout');
  assert.equal(err.file, file);
  assert.equal(err.line, 5);
  assert.equal(err.env, undefined);
  assert.match(err.message, /^invalid config in `.*sentinel\.toml`, line 5, at `scorer\.groq\.timeout`: unknown field `timeout`, expected one of/);

  const json = join(dir, 'bad.json');
  writeFileSync(json, '{\n  "gateway": {\n    "escalation_timeout_s": -1\n  }\n}\n');
  err = await configError(Gateway.fromConfig(json));
  assert.equal(err.key, 'gateway.escalation_timeout_s');
  assert.equal(err.file, json);
  assert.ok(err.line >= 3, `line ${err.line}`); // where the JSON reader noticed

  err = await configError(Gateway.fromConfig({ gateway: { unmatched: 'maybe' } }));
  assert.equal(err.key, 'gateway.unmatched');
  assert.equal(err.file, undefined);
  assert.equal(err.line, undefined);
  err = await configError(Gateway.fromConfig({ packs: ['OpsGuard', { builtin: 'Nope' }] }), 'SENTINEL_INVALID_PACK');
  assert.ok(err instanceof PolicyError);
  assert.equal(err.key, 'packs[1]');
  assert.match(err.message, /no built-in pack named `Nope`/);
  err = await configError(Gateway.fromConfig(join(dir, 'missing.toml')));
  assert.match(err.message, /cannot read the file/);
  assert.equal(err.file, join(dir, 'missing.toml'));
  err = await configError(Gateway.fromConfig({ store: { url: 'postgres://u:pw@db/x', bogus: 1 } }));
  assert.equal(err.key, 'store.bogus');
  assert.ok(!err.message.includes('pw@'), err.message);
});

test('secrets come from the environment variables the configuration names', async () => {
  const llm = await fakeServer(() => ({
    body: { id: 'chatcmpl-1', object: 'chat.completion', model: 'm',
      choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: '{"risk_score": 20, "analysis": "Fine."}' } }] },
  }));
  try {
    const config = {
      scorer: { kind: 'groq', groq: { api_key_env: 'MY_LLM_KEY', base_url: `${llm.url}/v1`, max_retries: 0 } },
    };
    await withEnv({ MY_LLM_KEY: undefined, GROQ_API_KEY: 'gsk_not_this_one' }, async () => {
      const err = await configError(Gateway.fromConfig(config));
      assert.equal(err.key, 'scorer.groq.api_key_env');
      assert.equal(err.env, 'MY_LLM_KEY');
      assert.equal(err.setting, 'scorer.groq.api_key_env'); // not set: nothing came from it
      assert.match(err.message, /environment variable `MY_LLM_KEY` is not set/);
    });
    await withEnv({ MY_LLM_KEY: 'gsk_from_my_variable', GROQ_API_KEY: undefined }, async () => {
      const gw = await Gateway.fromConfig(config);
      assert.equal(gw.scorerName, 'groq');
      const d = await gw.evaluate({ agentId: 'crm', action: 'SHARE_RECORD', payload: { contains_pii: false }, reasoning: '' });
      assert.equal(d.riskScore, 20);
      assert.equal(llm.seen[0].headers.authorization, 'Bearer gsk_from_my_variable');
    });
    // A value read from a fallback variable names the variable as `setting`.
    await withEnv({ GROQ_API_KEY: 'gsk_x', GROQ_BASE_URL: 'not a url' }, async () => {
      const err = await configError(Gateway.fromConfig({ scorer: { kind: 'groq' } }));
      assert.equal(err.key, 'scorer.groq.base_url');
      assert.equal(err.env, 'GROQ_BASE_URL');
      assert.equal(err.setting, 'GROQ_BASE_URL');
      assert.ok(!err.message.includes('gsk_x'), err.message);
    });
  } finally {
    await llm.close();
  }
});

test('a custom scorer or approver replaces the configuration\'s', async () => {
  await withEnv({ GROQ_API_KEY: undefined }, async () => {
    // `kind = "groq"` without a key would fail; the custom scorer means it is not even built.
    const requests = [];
    const gw = await Gateway.fromConfig({ scorer: { kind: 'groq' }, gateway: { unmatched: 'score' } }, {
      scorer: { name: 'mine', assess: async () => ({ riskScore: 80, analysis: 'Mine.' }) },
      approver: { name: 'pager', request: (req) => { requests.push(req); return req.approve({ by: 'alice' }); } },
    });
    assert.equal(gw.scorerName, 'mine');
    assert.equal(gw.approverName, 'pager');
    assert.equal(await gw.guard({ agentId: 'a', action: 'NEW_THING', payload: {}, reasoning: '' }, () => 'ran'), 'ran');
    assert.equal(requests[0].decision.riskScore, 80);
    assert.equal(requests[0].decision.scorer.scorer, 'mine');
  });
  const err = await configError(Gateway.fromConfig({}, { scorer: 'groq' }));
  assert.equal(err.setting, 'scorer');
});

test('new Gateway(options) goes through the same configuration', async () => {
  const gw = new Gateway({ packs: ['OpsGuard'], unmatched: 'deny', escalationTimeoutMs: 1500 });
  const same = await Gateway.fromConfig({ packs: ['OpsGuard'], gateway: { unmatched: 'deny', escalation_timeout_s: 1.5 } });
  assert.deepEqual(gw.packs, same.packs);
  assert.equal(gw.escalationTimeoutMs, same.escalationTimeoutMs);
  for (const action of [smallPayment(), dropTable(), bigPayment()]) {
    const [a, b] = [gw.evaluateSync(action), same.evaluateSync(action)];
    assert.deepEqual([a.status, a.riskScore, a.rules], [b.status, b.riskScore, b.rules]);
  }
});

test('setQnaMode moves a pending action into voice Q&A and back, recorded in the audit trail', async () => {
  let asked;
  const requested = new Promise((resolve) => { asked = resolve; });
  const gw = new Gateway({ approver: { request: (req) => asked(req.actionId) } });
  const guarded = gw.guard(bigPayment(), () => 'paid');
  const id = await requested;

  let status = await gw.setQnaMode(id, true, { by: '+15550100', channel: 'voice/speech' });
  assert.equal(status.state, 'QNA_MODE');
  assert.equal(status.decision.riskScore, 95);
  const again = await gw.setQnaMode(id, true, { by: '+15550100' }).catch((e) => e);
  assert.ok(again instanceof ResolveError, String(again));
  assert.equal(again.code, 'SENTINEL_ALREADY_DECIDED');
  status = await gw.setQnaMode(id, false, { by: '+15550100', channel: 'voice/speech' });
  assert.equal(status.state, 'BLOCKED_AWAITING_AUTH');

  const trail = await gw.auditTrail(id);
  const qna = trail.filter((e) => e.to === 'QNA_MODE' || e.from === 'QNA_MODE');
  assert.deepEqual(qna.map((e) => [e.from, e.to, e.actor, e.channel]), [
    ['BLOCKED_AWAITING_AUTH', 'QNA_MODE', '+15550100', 'voice/speech'],
    ['QNA_MODE', 'BLOCKED_AWAITING_AUTH', '+15550100', 'voice/speech'],
  ]);

  // Approving from Q&A works too.
  await gw.setQnaMode(id, true, { by: 'alice' });
  assert.equal((await gw.status(id)).state, 'QNA_MODE');
  assert.equal((await gw.auditTrail(id)).at(-1).channel, 'api');
  await gw.resolve(id, { approved: true, by: 'alice', channel: 'voice/speech' });
  assert.equal(await guarded, 'paid');
  const decided = await gw.setQnaMode(id, true, { by: 'alice' }).catch((e) => e);
  assert.equal(decided.code, 'SENTINEL_ALREADY_DECIDED');
  assert.equal(decided.actionId, id);

  const bad = await gw.setQnaMode(id, 'yes', { by: 'alice' }).catch((e) => e);
  assert.equal(bad.code, 'SENTINEL_INVALID_REQUEST');
  assert.equal(bad.field, 'on');
  const nobody = await gw.setQnaMode(id, true, {}).catch((e) => e);
  assert.equal(nobody.field, 'by');
  const unknown = await gw.setQnaMode('0190c4c2-7b1e-7000-8000-000000000000', true, { by: 'a' }).catch((e) => e);
  assert.equal(unknown.code, 'SENTINEL_NOT_FOUND');
});
