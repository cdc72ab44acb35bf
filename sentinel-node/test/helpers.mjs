// Shared test helpers.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** The shared decision corpus, one case per non-empty line. */
export function corpus() {
  const text = readFileSync(new URL('../../fixtures/decisions.jsonl', import.meta.url), 'utf8');
  return text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l));
}

/** The original demo action: a session agent pays $10,000 to Unknown Corp. */
export const bigPayment = () => ({
  agentId: 'session_x',
  action: 'PAY_INVOICE',
  payload: { amount: 10000, vendor: 'Unknown Corp' },
  reasoning: 'vendor says the invoice is overdue',
});

/** An action the seed packs auto-approve. */
export const smallPayment = () => ({
  agentId: 'billing-bot',
  action: 'PAY_INVOICE',
  payload: { amount: 120, vendor: 'AWS' },
  reasoning: 'monthly bill',
});

/** An action the seed packs decline at once. */
export const dropTable = () => ({
  agentId: 'ops-bot',
  action: 'DROP_TABLE',
  payload: { table: 'users' },
  reasoning: 'cleanup',
});

/** A promise and its resolve function. */
export function deferred() {
  let resolve;
  const promise = new Promise((r) => { resolve = r; });
  return { promise, resolve };
}

/**
 * A scripted HTTP server on 127.0.0.1 (port 0) that records every request. `reply(req)`
 * returns `{ status, body }` (body: an object, sent as JSON). `close()` also drops the
 * client's keep-alive connections.
 */
export async function fakeServer(reply) {
  const { createServer } = await import('node:http');
  const seen = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body = null;
      try { body = JSON.parse(raw); } catch { /* not JSON */ }
      const request = { method: req.method, path: req.url, headers: req.headers, raw, body };
      seen.push(request);
      const { status = 200, body: out = {} } = reply(request, seen.length - 1);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(typeof out === 'string' ? out : JSON.stringify(out));
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Polls `check` every 10 ms until it returns a truthy value (at most `ms`). */
export async function until(check, ms = 5000) {
  const end = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Sets environment variables for the duration of `fn` (`undefined` unsets). */
export async function withEnv(vars, fn) {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const apply = (values) => {
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) delete process.env[k]; else process.env[k] = v;
    }
  };
  apply(vars);
  try { return await fn(); } finally { apply(saved); }
}

/**
 * A fresh PostgreSQL schema name, dropped with everything in it (by `psql`) when the test `t`
 * ends, passed or failed.
 */
export function pgSchema(t, url, prefix) {
  const schema = `${prefix}_${process.pid}_${Date.now()}`;
  t.after(() => {
    execFileSync('psql', [url, '-qv', 'ON_ERROR_STOP=1', '-c',
      `SET lock_timeout = '10s'; DROP SCHEMA IF EXISTS ${schema} CASCADE`]);
  });
  return schema;
}
