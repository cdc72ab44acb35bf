// The Node examples run to completion and say what they should.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const examples = fileURLToPath(new URL('../../examples/node/', import.meta.url));

function run(name) {
  const out = spawnSync(process.execPath, [name], { cwd: examples, encoding: 'utf8', timeout: 20_000 });
  assert.equal(out.signal, null, `${name} was killed: ${out.stderr}`);
  assert.equal(out.status, 0, out.stderr);
  return out.stdout;
}

test('agent.mjs: the $10,000 payment is approved by the scripted admin', () => {
  const out = run('agent.mjs');
  assert.match(out, /RAN — paid \$10000 to Unknown Corp/);
  assert.match(out, /DROP_TABLE\s+DECLINED/);
  assert.match(out, /EXPORT_CSV\s+DECLINED/);
  assert.match(out, /DELETE_USER\s+EXPIRED/);
});

test('ai-sdk-tool.mjs: a guarded tool refuses in a way the model can read', () => {
  const out = run('ai-sdk-tool.mjs');
  assert.match(out, /"receipt":"rcpt-aws-120"/);
  assert.match(out, /"receipt":"rcpt-unknowncorp-10000"/);
  assert.match(out, /"refused":"Declined by alice via slack: too large for an agent\./);
});

test('voice-server.mjs (needs real credentials to run) is valid JavaScript', () => {
  const out = spawnSync(process.execPath, ['--check', 'voice-server.mjs'], { cwd: examples, encoding: 'utf8' });
  assert.equal(out.status, 0, out.stderr);
});
