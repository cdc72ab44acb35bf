// `sentinel mcp-proxy` with the official TypeScript SDK's client (@modelcontextprotocol/sdk)
// in front of the FastMCP test server: tools/list unchanged, an allowed call forwarded, a
// declined one answered by the proxy and never forwarded.
//
// Usage: node ts_client.mjs SENTINEL_BIN PYTHON (run.sh passes them).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const [sentinel, python] = process.argv.slice(2);
assert.ok(sentinel && python, 'usage: node ts_client.mjs SENTINEL_BIN PYTHON');
const here = dirname(fileURLToPath(import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'sentinel-mcp-ts-'));
const log = join(work, 'upstream-calls.jsonl');
writeFileSync(log, '');
const env = { ...process.env, MCP_UPSTREAM_LOG: log };
const calls = () => readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));

async function connect(command, args) {
  const client = new Client({ name: 'sentinel-ts-test', version: '1.0.0' });
  await client.connect(new StdioClientTransport({ command, args, env, stderr: 'inherit' }));
  return client;
}

const upstream = [join(here, 'upstream.py')];
const plain = await connect(python, upstream);
const guarded = await connect(sentinel, ['mcp-proxy', '--', python, ...upstream]);
try {
  assert.deepEqual(await guarded.listTools(), await plain.listTools());

  const ok = await guarded.callTool({ name: 'pay_invoice', arguments: { amount: 120, vendor: 'AWS' } });
  assert.ok(!ok.isError, JSON.stringify(ok));
  assert.equal(ok.content[0].text, 'paid 120 to AWS');

  const no = await guarded.callTool({ name: 'drop_table', arguments: { table: 'users' } });
  assert.equal(no.isError, true);
  assert.match(no.content[0].text, /Status: DECLINED/);
  assert.match(no.content[0].text, /OpsGuard\/drop-table-forbidden/);
  assert.deepEqual(no._meta.sentinel.rules, ['OpsGuard/drop-table-forbidden']);

  assert.deepEqual(calls().map((c) => c.tool), ['pay_invoice']);
  console.log('ok   the TypeScript SDK client through sentinel mcp-proxy (list, allowed, declined)');
} finally {
  await guarded.close();
  await plain.close();
  rmSync(work, { recursive: true, force: true });
}
