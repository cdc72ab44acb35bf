// CommonJS and ES module entry points expose the same classes.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const sentinel = require('sentinel-guard');

test('require() gives the full API', async () => {
  for (const name of ['Gateway', 'SentinelError', 'InputError', 'PolicyError', 'DeniedError', 'TimeoutError',
    'ApproverError', 'ScorerError', 'AlreadyExecutedError', 'NotFoundError', 'ResolveError', 'ConfigError', 'ConflictError']) {
    assert.equal(typeof sentinel[name], 'function', name);
  }
  const gw = new sentinel.Gateway();
  const d = await gw.evaluate({ agentId: 'ops-bot', action: 'DROP_TABLE', payload: {}, reasoning: '' });
  assert.equal(d.status, 'DECLINED');
});

test('import() gives the same classes as require()', async () => {
  const esm = await import('sentinel-guard');
  assert.equal(esm.Gateway, sentinel.Gateway);
  assert.equal(esm.DeniedError, sentinel.DeniedError);
  assert.equal(esm.default.Gateway, sentinel.Gateway);
});

test('the framework integrations: require() and import() of sentinel-guard/ai-sdk and /openai-agents', async () => {
  const aiSdk = require('sentinel-guard/ai-sdk');
  const agents = require('sentinel-guard/openai-agents');
  assert.equal(typeof aiSdk.sentinelToolApproval, 'function');
  assert.equal(typeof agents.sentinelInputGuardrail, 'function');
  assert.equal(typeof agents.sentinelNeedsApproval, 'function');
  assert.equal((await import('sentinel-guard/ai-sdk')).sentinelToolApproval, aiSdk.sentinelToolApproval);
  assert.equal((await import('sentinel-guard/openai-agents')).sentinelInputGuardrail, agents.sentinelInputGuardrail);
  // From CommonJS, with the SDK's CommonJS build: a guardrail the SDK accepts.
  const guardrail = agents.sentinelInputGuardrail(new sentinel.Gateway());
  assert.equal(guardrail.type, 'tool_input');
  assert.equal(guardrail.name, 'sentinel');
  const out = await guardrail.run({ agent: { name: 'ops-bot' }, toolCall: { name: 'drop_table', arguments: '{"table":"users"}', callId: 'c1' } });
  assert.equal(out.behavior.type, 'rejectContent');
  assert.match(out.behavior.message, /^Sentinel declined: the call of tool `drop_table`/);
});
