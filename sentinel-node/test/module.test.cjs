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
