// Browser end-to-end tests of the console: the real sentinel-server binary
// (`demo --keep-running`: the scenarios ran through the Telnyx simulator, then the server
// stays up with the demo triggers), Debian's chromium driven by playwright-core.
// Screenshots of each view go to $ARTEFACTS. Requests to anything but loopback are
// blocked, so a page that needed a CDN would fail here.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import * as other from './other-origin.mjs';

const BIN = process.env.SENTINEL_SERVER_BIN;
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const ARTEFACTS = process.env.ARTEFACTS ?? join(tmpdir(), 'console-e2e');
const ALICE = 'alice-token-0123456789';
const BOB = 'bob-token-0123456789ab';
const SESSION_KEY = 'session-agents-key-0123456789';
const TIMEOUT = 10_000;
mkdirSync(ARTEFACTS, { recursive: true });

let csrfId;
let server; let base; let browser; let otherOrigin; let alice; let bob; let alicePage; let bobPage;
const blocked = [];
const pageErrors = [];
const timings = {};

function startServer(corsOrigin) {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, ['demo', '--keep-running'], {
      cwd: mkdtempSync(join(tmpdir(), 'console-e2e-')),
      env: { PATH: process.env.PATH, HOME: process.env.HOME, SENTINEL_OPERATORS: `alice=${ALICE},bob=${BOB}`, SENTINEL_CORS_ORIGINS: corsOrigin, SENTINEL_AGENT_KEYS: `session_*=${SESSION_KEY}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let url = null;
    const timer = setTimeout(() => reject(new Error(`the demo did not come up:\n${out}`)), 60_000);
    child.stdout.on('data', (chunk) => {
      out += chunk;
      url ??= out.match(/console: (http:\/\/127\.0\.0\.1:\d+)\/console/)?.[1];
      if (url && out.includes('The server keeps running')) {
        clearTimeout(timer);
        resolve({ child, url, out });
      }
    });
    child.stderr.on('data', (chunk) => { out += chunk; });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`the demo exited (${code}):\n${out}`)); });
  });
}

async function newOperatorPage(context) {
  await context.route('**/*', (route) => {
    const host = new URL(route.request().url()).hostname;
    if (host === '127.0.0.1' || host === 'localhost') return route.continue();
    blocked.push(route.request().url());
    return route.abort();
  });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => {
    // The boot's 401 (not signed in yet) and the refused sign-in are expected resource errors.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) pageErrors.push(m.text());
  });
  return page;
}

async function signIn(page, token) {
  await page.goto(`${base}/console`);
  await page.getByLabel('Operator token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** The API's view of an action, read with an operator's token as a bearer key. */
async function apiView(id) {
  const r = await fetch(`${base}/api/sentinel/actions/${id}`, { headers: { authorization: `Bearer ${ALICE}` } });
  assert.equal(r.status, 200);
  return r.json();
}

/** Bob presses a demo trigger; resolves to the new action's id once Alice's queue shows it.
 * The new item is the one whose id was not there before: an item just decided may still be
 * leaving the queue, so positions and counts are no guide. */
async function triggerAndSee(module, label, presser = bobPage, watcher = alicePage) {
  const queued = () => [...document.querySelectorAll('#queue > li')].map((li) => li.dataset.actionId);
  const known = await watcher.evaluate(queued);
  const started = Date.now();
  await presser.getByRole('button', { name: label }).click();
  const found = await watcher.waitForFunction(
    (seen) => [...document.querySelectorAll('#queue > li')]
      .map((li) => li.dataset.actionId)
      .find((id) => id && !seen.includes(id)),
    known,
    { timeout: TIMEOUT },
  );
  const id = await found.jsonValue();
  timings[module] = Date.now() - started;
  return { item: watcher.locator(`#queue > li[data-action-id="${id}"]`), id };
}

const shot = (page, name) => page.screenshot({ path: join(ARTEFACTS, `${name}.png`), fullPage: true });

before(async () => {
  otherOrigin = await other.start();
  server = await startServer(`http://127.0.0.1:${otherOrigin.port}`);
  base = server.url;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  alice = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  bob = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  alicePage = await newOperatorPage(alice);
  bobPage = await newOperatorPage(bob);
});

after(async () => {
  await browser?.close();
  otherOrigin?.close();
  if (server) {
    const exited = new Promise((resolve) => server.child.on('exit', resolve));
    server.child.kill('SIGTERM');
    await exited;
  }
  console.log(`console-e2e: screenshots in ${ARTEFACTS}; trigger-to-queue times (ms): ${JSON.stringify(timings)}`);
});

test('a wrong token is refused, a right one signs in', async () => {
  await alicePage.goto(`${base}/console`);
  await alicePage.getByLabel('Operator token').waitFor();
  await shot(alicePage, '01-sign-in');
  await signIn(alicePage, 'wrong-token-0123456789');
  await alicePage.locator('#signin-error', { hasText: 'Sign-in refused' }).waitFor();
  assert.equal(await alicePage.locator('#app').isHidden(), true);
  await shot(alicePage, '02-sign-in-refused');
  await signIn(alicePage, ALICE);
  await alicePage.locator('#who', { hasText: 'alice (approver)' }).waitFor();
  await alicePage.locator('#live', { hasText: 'live' }).waitFor();
  const cookie = (await alice.cookies()).find((c) => c.name === 'sentinel_session');
  assert.ok(cookie, 'the session cookie is set');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Strict');
  assert.equal(await alicePage.evaluate(() => document.cookie), '', 'scripts cannot read it');
  await signIn(bobPage, BOB);
  await bobPage.locator('#who', { hasText: 'bob (approver)' }).waitFor();
  await bobPage.locator('#demo').waitFor();
});

test('an escalated action appears live and is approved with a reason', async () => {
  assert.equal(await alicePage.locator('#queue > li').count(), 0, 'the demo scenarios were all decided');
  const { item, id } = await triggerAndSee('vaultkeeper', 'VaultKeeper: PAY_INVOICE');
  await item.getByText('by session_demo', { exact: true }).waitFor();
  await item.getByText('Risk 95/100').waitFor();
  await item.getByText(/\d+ s left$/).waitFor();
  await shot(alicePage, '03-queue');
  await item.getByLabel(/^Reason/).fill('vendor verified by phone');
  await item.getByRole('button', { name: 'Approve', exact: true }).click();
  await item.waitFor({ state: 'detached' });
  const view = await apiView(id);
  assert.equal(view.status, 'APPROVED');
  assert.deepEqual([view.approval.by, view.approval.channel, view.approval.reason], ['alice', 'console', 'vendor verified by phone']);
});

test('another is declined, by keyboard', async () => {
  const { item, id } = await triggerAndSee('opsguard', 'OpsGuard: DELETE_USER');
  const reason = item.getByLabel(/^Reason/);
  await reason.focus();
  await alicePage.keyboard.type('not during the change freeze');
  await alicePage.keyboard.press('Tab');
  assert.equal(await alicePage.evaluate(() => document.activeElement.textContent), 'Approve');
  await alicePage.keyboard.press('Tab');
  assert.equal(await alicePage.evaluate(() => document.activeElement.textContent), 'Decline');
  await alicePage.keyboard.press('Enter');
  await item.waitFor({ state: 'detached' });
  const view = await apiView(id);
  assert.equal(view.status, 'DECLINED');
  assert.deepEqual([view.approval.by, view.approval.channel, view.approval.reason], ['alice', 'console', 'not during the change freeze']);
});

test('the live feed shows every event and filters by module', async () => {
  await alicePage.getByRole('button', { name: 'Live feed' }).click();
  const feed = alicePage.locator('#feed');
  await feed.getByText(/APPROVED by alice via console/).first().waitFor();
  await feed.getByText(/DECLINED by alice via console/).first().waitFor();
  await alicePage.getByLabel('Module').selectOption('OpsGuard');
  const visible = await feed.locator('li:visible').allTextContents();
  assert.ok(visible.length > 0);
  assert.ok(visible.every((l) => l.includes('DELETE_USER')), visible.join('\n'));
  await shot(alicePage, '04-feed');
  await alicePage.getByLabel('Module').selectOption('');
});

test('history finds the simulated call, and its timeline shows the Q&A', async () => {
  await alicePage.getByRole('button', { name: 'History' }).click();
  await alicePage.locator('#history-table tbody tr').first().waitFor();
  await alicePage.getByLabel('Agent').fill('session_7f3a');
  await alicePage.getByLabel('Action').fill('PAY_INVOICE');
  await alicePage.getByRole('button', { name: 'Search' }).click();
  const rows = alicePage.locator('#history-table tbody tr');
  // The unfiltered page lists the same action too: wait for the search's answer to replace
  // it (one row), not for the first matching row.
  await alicePage.waitForFunction(
    () => document.querySelectorAll('#history-table tbody tr').length === 1,
    null,
    { timeout: 10_000 },
  ).catch(() => {});
  await rows.filter({ hasText: 'session_7f3a' }).first().waitFor();
  assert.equal(await rows.count(), 1);
  await shot(alicePage, '05-history');
  await rows.first().getByRole('button', { name: /^Open/ }).click();
  const timeline = alicePage.locator('#timeline');
  await timeline.getByText('asked: "who is Unknown Corp?"', { exact: false }).waitFor();
  // The demo's ladder called bob's phone (bound to the operator bob); its first attempt is
  // the ladder's step, the call the next one.
  await timeline.getByText(/approved by bob via voice/).waitFor();
  await timeline.getByText(/attempt \d+ via telnyx-voice: ended, dialled .*, answered .*, phase ended \(approved\)/).waitFor();
  await timeline.locator('dd', { hasText: /^2$/ }).waitFor(); // the key the admin pressed
  await timeline.getByText('VaultKeeper 1.1.0', { exact: true }).first().waitFor();
  await shot(alicePage, '06-timeline');
});

test('the overview shows packs, the last hour and scorer calls', async () => {
  await alicePage.getByRole('button', { name: 'Overview' }).click();
  await alicePage.locator('#ov-packs li', { hasText: 'VaultKeeper 1.1.0' }).waitFor();
  await alicePage.locator('#ov-chart .bar').first().waitFor();
  assert.ok(Number(await alicePage.locator('#ov-avoided').textContent()) > 0);
  await shot(alicePage, '07-overview');
});

test('a cross-origin POST with the cookie is refused', async () => {
  await alicePage.getByRole('button', { name: /^Queue/ }).click();
  const { id } = await triggerAndSee('privacyshield', 'PrivacyShield: EXPORT_CSV');
  csrfId = id;
  // From a page of another origin in Alice's browser (the cookie goes along: same site).
  const evil = await alice.newPage();
  await evil.goto(`http://127.0.0.1:${otherOrigin.port}/csrf.html?target=${encodeURIComponent(base)}&id=${id}`);
  await evil.locator('#out', { hasText: 'sent' }).waitFor({ timeout: TIMEOUT });
  await evil.close();
  // And directly, with her cookie and that origin: 403.
  const cookie = (await alice.cookies()).find((c) => c.name === 'sentinel_session');
  const r = await fetch(`${base}/api/sentinel/actions/${id}/resolve`, {
    method: 'POST',
    headers: { cookie: `sentinel_session=${cookie.value}`, origin: `http://127.0.0.1:${otherOrigin.port}`, 'content-type': 'application/json' },
    body: JSON.stringify({ decision: 'approve' }),
  });
  assert.equal(r.status, 403);
  assert.equal((await r.json()).error.code, 'forbidden');
  assert.equal((await apiView(id)).status, 'BLOCKED_AWAITING_AUTH', 'nothing was decided');
});

test('another browser client with its origin allowed renders BLOCKED, APPROVED, DECLINED', async () => {
  // Like the original React dashboard: /api/sentinel/status with an agent key (session_*).
  const page = await alice.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const q = `target=${encodeURIComponent(base)}&key=${SESSION_KEY}`;
  await page.goto(`http://127.0.0.1:${otherOrigin.port}/dashboard.html?${q}`);
  await page.locator('#status', { hasText: 'APPROVED' }).waitFor(); // the demo's $10,000 payment
  const first = await triggerAndSee('vaultkeeper-2', 'VaultKeeper: PAY_INVOICE');
  await page.locator('#status', { hasText: 'BLOCKED' }).waitFor();
  await first.item.getByRole('button', { name: 'Approve', exact: true }).click();
  await page.locator('#status', { hasText: 'APPROVED' }).waitFor();
  const second = await triggerAndSee('vaultkeeper-3', 'VaultKeeper: PAY_INVOICE');
  await page.locator('#status', { hasText: 'BLOCKED' }).waitFor();
  await second.item.getByRole('button', { name: 'Decline', exact: true }).click();
  await page.locator('#status', { hasText: 'DECLINED' }).waitFor();
  await shot(page, '08-other-dashboard');
  // The same page from an origin not listed: the browser keeps the answers from it.
  await page.goto(`http://localhost:${otherOrigin.port}/dashboard.html?${q}`);
  await page.locator('#status', { hasText: 'refused by the browser' }).waitFor();
  await page.close();
});

test('phone-sized screen, then sign out', async () => {
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const page = await newOperatorPage(phone);
  await signIn(page, BOB);
  await page.locator('#who', { hasText: 'bob' }).waitFor();
  await page.locator('#live', { hasText: 'live' }).waitFor();
  const { item } = await triggerAndSee('phone', 'VaultKeeper: PAY_INVOICE', page, page);
  await item.getByRole('button', { name: 'Approve', exact: true }).waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `no horizontal scrolling on a phone (${overflow} px)`);
  await shot(page, '09-phone-queue');
  await item.getByRole('button', { name: 'Decline', exact: true }).click();
  await item.waitFor({ state: 'detached' });
  const cookie = (await phone.cookies()).find((c) => c.name === 'sentinel_session');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('Operator token').waitFor();
  const r = await fetch(`${base}/console/api/pending`, { headers: { cookie: `sentinel_session=${cookie.value}` } });
  assert.equal(r.status, 401, 'the session ended');
  await phone.close();
});

test('nothing was fetched from outside and no script failed', () => {
  assert.deepEqual(blocked, []);
  assert.deepEqual(pageErrors, []);
});
