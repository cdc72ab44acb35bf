// The Node examples run to completion and say what they should.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const examples = fileURLToPath(new URL('../../examples/node/', import.meta.url));
const pkg = fileURLToPath(new URL('../', import.meta.url));

// The framework examples import `sentinel-guard`, `ai`, `@openai/agents` and `zod` by name,
// as an application would after `npm install`: resolve them to this package and to the
// versions its package-lock.json pins (examples/node/node_modules is git-ignored).
before(() => {
  const modules = join(examples, 'node_modules');
  rmSync(modules, { recursive: true, force: true });
  mkdirSync(join(modules, '@openai'), { recursive: true });
  symlinkSync(pkg, join(modules, 'sentinel-guard'), 'dir');
  for (const name of ['ai', '@openai/agents', 'zod']) {
    symlinkSync(join(pkg, 'node_modules', name), join(modules, name), 'dir');
  }
});

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

test('ai-sdk-agent.mjs: generateText runs the allowed call and the model reads why the other was denied', () => {
  const out = run('ai-sdk-agent.mjs');
  assert.match(out, /^wire_money: \{"type":"json","value":\{"receipt":"rcpt-aws-120"\}\}$/m);
  assert.match(out, /^drop_table: \{"type":"execution-denied","reason":"Sentinel declined: the call of tool `drop_table` \(action DROP_TABLE, [0-9a-f-]{36}\) was not made\. Status: DECLINED\. Risk: 100\. /m);
});

test('openai-agents-agent.mjs: the escalated payment runs once alice approves; the drop is refused', () => {
  const out = run('openai-agents-agent.mjs');
  assert.match(out, /^pay_invoice: paid 10000 to Unknown Corp$/m);
  assert.match(out, /^drop_table: Sentinel declined: the call of tool `drop_table` \(action DROP_TABLE, [0-9a-f-]{36}\) was not made\. Status: DECLINED\. /m);
});

test('docs/integrations/node.md shows the examples as they run', () => {
  const doc = readFileSync(new URL('../../docs/integrations/node.md', import.meta.url), 'utf8');
  for (const name of ['ai-sdk-agent.mjs', 'openai-agents-agent.mjs']) {
    const code = readFileSync(join(examples, name), 'utf8');
    const body = code.slice(code.indexOf('import '));
    assert.ok(doc.includes(body), `docs/integrations/node.md does not show examples/node/${name} as it is`);
  }
});
