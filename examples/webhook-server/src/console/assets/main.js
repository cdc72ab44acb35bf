// The console's entry point: sign-in, the views, live updates.

import { post, request, get, whenSignedOut } from './api.js';
import * as queue from './queue.js';
import * as feed from './feed.js';
import * as timeline from './timeline.js';
import * as history from './history.js';
import * as overview from './overview.js';

const $ = (id) => document.getElementById(id);
let current = 'queue';
let refreshTimer = null;

function showView(name) {
  current = name;
  for (const section of document.querySelectorAll('.view')) section.hidden = section.id !== `view-${name}`;
  for (const tab of document.querySelectorAll('.tabs button')) {
    if (tab.dataset.view === name) tab.setAttribute('aria-current', 'page');
    else tab.removeAttribute('aria-current');
  }
  if (name === 'history') history.refresh().catch(() => {});
  if (name === 'overview') overview.refresh().catch(() => {});
}

async function openTimeline(id) {
  showView('timeline');
  try {
    await timeline.show(id);
  } catch (e) {
    $('timeline').textContent = `Cannot show this action: ${e.message}`;
  }
}

/** Live updates: each event refreshes the queue (and the open overview), at most every 200 ms. */
function onEvent() {
  if (refreshTimer) return;
  refreshTimer = setTimeout(() => {
    refreshTimer = null;
    queue.refresh().catch(() => {});
    if (current === 'overview') overview.refresh().catch(() => {});
  }, 200);
}

function signedOut() {
  feed.stop();
  queue.reset();
  $('app').hidden = true;
  $('sign-out').hidden = true;
  $('who').textContent = '';
  $('signin').hidden = false;
  $('token').focus();
}

async function signedIn(me) {
  $('signin').hidden = true;
  $('app').hidden = false;
  $('sign-out').hidden = false;
  $('who').textContent = `${me.operator} (${me.role})`;
  $('demo').hidden = !me.demo;
  queue.setup({ mayDecide: me.role === 'approver', openTimeline });
  showView('queue');
  await queue.refresh();
  overview.refresh().then((o) => feed.setModules(o.packs)).catch(() => {});
  feed.start(onEvent);
  openLinked();
}

/** A console link (`/console#action=<id>`, after `/console/link/...`) opens its action once signed in. */
function openLinked() {
  const m = /^#action=([0-9a-f-]{36})$/i.exec(window.location.hash);
  if (!m) return;
  window.history.replaceState(null, '', window.location.pathname);
  openTimeline(m[1]);
}

function wire() {
  whenSignedOut(signedOut);
  $('signin-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    $('signin-error').textContent = '';
    try {
      const me = await post('/console/session', { token: $('token').value });
      $('token').value = '';
      await signedIn(me);
    } catch (err) {
      $('signin-error').textContent = `Sign-in refused: ${err.message}`;
    }
  });
  $('sign-out').addEventListener('click', async () => {
    try { await request('DELETE', '/console/session'); } catch { /* signed out either way */ }
    signedOut();
  });
  for (const tab of document.querySelectorAll('.tabs button')) tab.addEventListener('click', () => showView(tab.dataset.view));
  $('timeline-back').addEventListener('click', () => showView('queue'));
  for (const b of document.querySelectorAll('[data-demo]')) {
    b.addEventListener('click', async () => {
      $('demo-status').textContent = '';
      try {
        const r = await post(`/console/api/demo/${b.dataset.demo}`);
        $('demo-status').textContent = `${b.textContent}: ${r.status}`;
      } catch (err) {
        $('demo-status').textContent = `${b.textContent} failed: ${err.message}`;
      }
    });
  }
  history.setup(openTimeline);
}

async function boot() {
  wire();
  try {
    await signedIn(await get('/console/session'));
  } catch {
    signedOut();
  }
}

boot();
