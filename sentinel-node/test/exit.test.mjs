// The process exits by itself: no dangling handles from the addon, its tokio runtime or
// the thread-safe functions behind custom scorers and approvers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { pgSchema } from './helpers.mjs';

const pkg = fileURLToPath(new URL('..', import.meta.url));

function run(script) {
  const started = Date.now();
  const out = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: pkg, encoding: 'utf8', timeout: 10_000,
  });
  return { ...out, ms: Date.now() - started };
}

test('a script using every callback kind exits on its own', () => {
  const { status, signal, stdout, stderr, ms } = run(`
    import { Gateway } from 'sentinel-guard';
    globalThis.gw = new Gateway({
      scorer: { async assess() { return { riskScore: 10, analysis: 'ok' }; }, async explain() { return 'fine'; } },
      approver: { async request(req) { await req.approve({ by: 'script' }); } },
      unmatched: 'score',
    });
    const d = await gw.evaluate({ agentId: 'a', action: 'NEW_THING', payload: {}, reasoning: '' });
    const paid = await gw.guard({ agentId: 'session_x', action: 'PAY_INVOICE',
      payload: { amount: 10000, vendor: 'Unknown Corp' }, reasoning: '' }, () => 'paid');
    console.log(d.status, paid);
  `);
  assert.equal(signal, null, `killed after ${ms} ms: ${stderr}`);
  assert.equal(status, 0, stderr);
  assert.equal(stdout.trim(), 'EXECUTED paid');
  assert.ok(ms < 5000, `took ${ms} ms`);
});

test('a pending guard keeps the process alive only until it settles', () => {
  const { status, signal, stdout, stderr, ms } = run(`
    import { Gateway } from 'sentinel-guard';
    const gw = new Gateway({ escalationTimeoutMs: 300, approver: { request() {} } });
    try {
      await gw.guard({ agentId: 'session_x', action: 'PAY_INVOICE',
        payload: { amount: 10000, vendor: 'Unknown Corp' }, reasoning: '' }, () => 'paid');
    } catch (err) {
      console.log(err.code);
    }
  `);
  assert.equal(signal, null, `killed after ${ms} ms: ${stderr}`);
  assert.equal(status, 0, stderr);
  assert.equal(stdout.trim(), 'SENTINEL_EXPIRED');
  assert.ok(ms >= 300 && ms < 5000, `took ${ms} ms`);
});

test('a gateway that is never used does not hold the process', () => {
  const { status, signal, ms } = run(`
    import { Gateway } from 'sentinel-guard';
    globalThis.gw = new Gateway({ scorer: { assess: async () => ({ riskScore: 1 }) }, approver: { request() {} } });
  `);
  assert.equal(signal, null);
  assert.equal(status, 0);
  assert.ok(ms < 5000, `took ${ms} ms`);
});

test('durable stores and the core scorer and approver do not hold the process', (t) => {
  const schema = process.env.DATABASE_URL ? pgSchema(t, process.env.DATABASE_URL, 'sentinel_node_exit') : '';
  const { status, signal, stdout, stderr, ms } = run(`
    import { mkdtempSync } from 'node:fs';
    import { tmpdir } from 'node:os';
    import { join } from 'node:path';
    import { generateKeyPairSync } from 'node:crypto';
    import { Gateway } from 'sentinel-guard';
    const der = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' });
    const file = join(mkdtempSync(join(tmpdir(), 'sentinel-exit-')), 's.db');
    const pg = process.env.DATABASE_URL;
    const stores = [file, ...(pg ? [pg] : [])];
    for (const store of stores) {
      const gw = await Gateway.open({
        store, storeSchema: store === pg ? '${schema}' : undefined,
        scorer: { groq: { apiKey: 'gsk_x', baseUrl: 'http://127.0.0.1:9/v1' } },
        approver: { telnyx: { apiKey: 'k', connectionId: '1', fromNumber: '+15550000001',
          adminNumber: '+15550000002', publicKey: der.subarray(-32).toString('base64') } },
      });
      await gw.guard({ agentId: 'billing-bot', action: 'PAY_INVOICE',
        payload: { amount: 120, vendor: 'AWS' }, reasoning: '' }, () => 'paid');
    }
    console.log(stores.length);
  `);
  assert.equal(signal, null, `killed after ${ms} ms: ${stderr}`);
  assert.equal(status, 0, stderr);
  assert.equal(stdout.trim(), process.env.DATABASE_URL ? '2' : '1');
  assert.ok(ms < 5000, `took ${ms} ms`);
});
