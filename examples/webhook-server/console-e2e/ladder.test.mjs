// Browser end-to-end test of the approval ladder's step view and console links: the real
// sentinel-server binary with a [[routes]] configuration, the documented Python receiver
// (docs/examples/webhook_receiver.py, which verifies every signature) as the `pager`
// webhook, Debian's chromium driven by playwright-core. The first webhook cannot be
// reached, so the ladder moves on to the pager; its console link, opened in a browser with
// no session, lands on the sign-in form and then on the action's page, which shows the
// ladder's steps and the quorum; the link works once.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const RECEIVER = join(here, '../../../docs/examples/webhook_receiver.py');
const BIN = process.env.SENTINEL_SERVER_BIN;
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const ARTEFACTS = process.env.ARTEFACTS ?? join(tmpdir(), 'console-e2e');
const ALICE = 'alice-token-0123456789';
const AGENT_KEY = 'ladder-agent-key-0123456789';
const SECRET = 'pager-webhook-secret-0123456789';
const TIMEOUT = 10_000;
mkdirSync(ARTEFACTS, { recursive: true });

let receiver; let server; let base; let browser;
const deliveries = [];
const pageErrors = [];

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

function startReceiver() {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', [RECEIVER, '0'], { env: { PATH: process.env.PATH, SENTINEL_WEBHOOK_SECRET: SECRET }, stdio: ['ignore', 'pipe', 'inherit'] });
    let buffered = '';
    const timer = setTimeout(() => reject(new Error('the receiver did not start')), 10_000);
    child.stdout.on('data', (chunk) => {
      buffered += chunk;
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const m = /^listening on (\d+)$/.exec(line);
        if (m) { clearTimeout(timer); resolve({ child, port: Number(m[1]) }); } else deliveries.push(JSON.parse(line));
      }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`the receiver exited (${code})`)); });
  });
}

async function startServer(receiverPort) {
  const dir = mkdtempSync(join(tmpdir(), 'console-e2e-ladder-'));
  const closed = await freePort(); // nothing listens there: the first webhook fails
  const port = await freePort();
  writeFileSync(join(dir, 'sentinel.toml'), `
[store]
url = "sqlite://${join(dir, 'sentinel.db')}"

[[routes]]
name = "payments"
quorum = 2
steps = [
  { channel = "webhook", to = "broken", timeout_s = 600 },
  { channel = "webhook", to = "pager", timeout_s = 600 },
  { channel = "console", timeout_s = 600 },
]

[channels.webhooks.broken]
url = "http://127.0.0.1:${closed}/hook"
secret_env = "PAGER_SECRET"

[channels.webhooks.pager]
url = "http://127.0.0.1:${receiverPort}/hook"
secret_env = "PAGER_SECRET"
`);
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(BIN, [], {
    cwd: dir,
    env: {
      PATH: process.env.PATH, HOME: process.env.HOME,
      SENTINEL_CONFIG: join(dir, 'sentinel.toml'), SENTINEL_BIND: `127.0.0.1:${port}`, SENTINEL_PUBLIC_URL: url,
      SENTINEL_OPERATORS: `alice=${ALICE}`, SENTINEL_AGENT_KEYS: `ladder-bot=${AGENT_KEY}`,
      PAGER_SECRET: SECRET, SENTINEL_LINK_KEY: 'e2e-console-link-key-0123456789abcdef',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c) => { out += c; });
  child.stderr.on('data', (c) => { out += c; });
  for (let i = 0; i < 300; i += 1) {
    if (child.exitCode !== null) throw new Error(`the server exited:\n${out}`);
    try { if ((await fetch(`${url}/healthz`)).ok) return { child, url }; } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the server did not come up:\n${out}`);
}

async function until(what, check) {
  for (let i = 0; i < 200; i += 1) {
    const v = await check();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const shot = (page, name) => page.screenshot({ path: join(ARTEFACTS, `${name}.png`), fullPage: true });

before(async () => {
  receiver = await startReceiver();
  server = await startServer(receiver.port);
  base = server.url;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});

after(async () => {
  await browser?.close();
  for (const p of [server?.child, receiver?.child]) {
    if (p && p.exitCode === null) {
      const exited = new Promise((resolve) => p.on('exit', resolve));
      p.kill('SIGTERM');
      await exited;
    }
  }
});

test('a console link leads through sign-in to the action, whose page shows the ladder', async () => {
  const r = await fetch(`${base}/api/sentinel/execute`, {
    method: 'POST',
    headers: { authorization: `Bearer ${AGENT_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ agent_id: 'ladder-bot', action: 'PAY_INVOICE', payload: { amount: 10000, vendor: 'Unknown Corp' }, reasoning: '<b>pay</b> now' }),
  });
  const submitted = await r.json();
  assert.equal(submitted.status, 'BLOCKED_AWAITING_AUTH', JSON.stringify(submitted));
  const id = submitted.action_id;
  const delivery = await until('the pager webhook', () => deliveries.find((d) => d.body.action_id === id));
  assert.equal(delivery.body.step, 2, 'the unreachable webhook was skipped');
  assert.equal(delivery.body.to, 'pager');
  const link = delivery.body.link;
  assert.ok(link.startsWith(`${base}/console/link/v1.${id}.`), link);

  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.route('**/*', (route) => {
    const host = new URL(route.request().url()).hostname;
    return host === '127.0.0.1' ? route.continue() : route.abort();
  });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await page.goto(link);
  await page.getByRole('button', { name: 'Open the action in the console' }).waitFor();
  await shot(page, '20-link-page');
  await page.getByRole('button', { name: 'Open the action in the console' }).click();
  // No session: the console asks who the operator is (the link signed in nothing).
  await page.getByLabel('Operator token').waitFor();
  assert.equal((await context.cookies()).length, 0, 'no cookie from the link');
  await page.getByLabel('Operator token').fill(ALICE);
  await page.getByRole('button', { name: 'Sign in' }).click();
  const ladder = page.locator('#ladder');
  await ladder.getByText('Approval ladder: route payments').waitFor();
  await ladder.getByText('Quorum 2: 0 of 2 approved (nobody yet)').waitFor();
  const steps = ladder.locator('li.ladder-step');
  await until('two steps', async () => (await steps.count()) === 2);
  assert.equal(await steps.nth(0).locator('.meta').textContent(), 'step 1 of 3 · route payments');
  assert.match(await steps.nth(0).textContent(), /webhook to broken · started .* · ended by .*failed: webhook `broken` cannot be reached/);
  assert.equal(await steps.nth(1).locator('.meta').textContent(), 'step 2 of 3 · route payments');
  assert.match(await steps.nth(1).textContent(), /webhook to pager · started .* · ends .*under way/);
  await page.locator('#timeline h3', { hasText: `PAY_INVOICE by ladder-bot: BLOCKED_AWAITING_AUTH` }).waitFor();
  await shot(page, '21-ladder-steps');

  // Alice approves (1 of 2): the page, opened again, shows her as the quorum's first approver.
  const resolved = await fetch(`${base}/api/sentinel/actions/${id}/resolve`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ALICE}`, 'content-type': 'application/json' },
    body: JSON.stringify({ decision: 'approve', reason: 'vendor checked' }),
  });
  assert.equal(resolved.status, 200);
  await page.goto('about:blank');
  await page.goto(`${base}/console#action=${id}`);
  await ladder.getByText(/^Quorum 2: 1 of 2 approved \(alice via /).waitFor();

  // The link works once.
  await page.goto(link);
  await page.getByText('This link was used already: each link works once.').waitFor();
  await shot(page, '22-link-used');
  await context.close();
});

test('the documented receiver refuses forged, stale and replayed POSTs', async () => {
  const url = `http://127.0.0.1:${receiver.port}/hook`;
  const body = JSON.stringify({ event: 'sentinel.approval_requested', action_id: 'x' });
  const { createHmac } = await import('node:crypto');
  const sign = (ts, b, secret = SECRET) => `v1=${createHmac('sha256', secret).update(`v1:${ts}:${b}`).digest('hex')}`;
  const now = Math.floor(Date.now() / 1000);
  const send = (ts, sig, delivery, b = body) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-sentinel-timestamp': String(ts), 'x-sentinel-signature': sig, 'x-sentinel-delivery': delivery }, body: b });
  assert.equal((await send(now, sign(now, body, 'another-secret'), 'd1')).status, 401, 'forged');
  assert.equal((await send(now - 301, sign(now - 301, body), 'd2')).status, 401, 'stale');
  assert.equal((await send(now, sign(now, body), 'd3', `${body} `)).status, 401, 'body changed');
  assert.equal((await send(now, sign(now, body), 'd4')).status, 204, 'signed like Sentinel signs');
  assert.equal((await send(now, sign(now, body), 'd4')).status, 401, 'replayed delivery');
});

test('no script failed', () => {
  assert.deepEqual(pageErrors, []);
});
