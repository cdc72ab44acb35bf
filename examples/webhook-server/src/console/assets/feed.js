// The live feed: every lifecycle event from the server's SSE stream, terminal-like,
// filterable by module (pack). Each event also refreshes the approval queue.

import { el, clear, clock } from './dom.js';

const MAX_LINES = 500;
let source = null;
let modules = [];
let filtering = false;

function modulesOf(action) {
  return modules.filter((m) => m.applies_to.includes('*') || m.applies_to.includes(action)).map((m) => m.name);
}

function applyFilter() {
  const wanted = document.getElementById('feed-filter').value;
  for (const li of document.getElementById('feed').children) {
    li.hidden = wanted !== '' && !li.dataset.modules.split(' ').includes(wanted);
  }
}

/** The packs in force (from the overview): the filter's choices. */
export function setModules(packs) {
  modules = packs;
  const select = document.getElementById('feed-filter');
  const current = select.value;
  while (select.options.length > 1) select.remove(1);
  for (const p of packs) select.append(el('option', { value: p.name, text: p.name }));
  select.value = current;
}

function line(e) {
  const mods = modulesOf(e.action);
  const arrow = `${e.from ?? '∅'} → ${e.to}`;
  const text = `#${e.seq} ${e.agent_id} ${e.action} ${arrow} by ${e.actor} via ${e.channel}${e.reason ? `: ${e.reason}` : ''}`;
  return el('li', { 'data-modules': mods.join(' '), 'data-action-id': e.action_id },
    el('span', { class: 't', text: `[${clock(e.at)}] ` }),
    el('span', { text: mods.length ? `${mods.join('/')} ` : '' }),
    text);
}

/** Opens the stream; `onEvent` runs for each lifecycle event. */
export function start(onEvent) {
  stop();
  if (!filtering) document.getElementById('feed-filter').addEventListener('change', applyFilter);
  filtering = true;
  open(onEvent);
}

function open(onEvent) {
  const live = document.getElementById('live');
  const mine = new EventSource('/api/sentinel/events');
  source = mine;
  mine.addEventListener('open', () => { live.textContent = 'live'; live.className = 'live on'; onEvent(null); });
  mine.addEventListener('error', () => {
    live.textContent = 'reconnecting';
    live.className = 'live off';
    // A refresh tells whether the session ended (the page then signs out) or the server is
    // away. A refused stream is not retried by the browser: open it again a little later.
    onEvent(null);
    if (mine.readyState === EventSource.CLOSED) {
      setTimeout(() => { if (source === mine) open(onEvent); }, 5000);
    }
  });
  mine.addEventListener('lifecycle', (message) => {
    let e;
    try { e = JSON.parse(message.data); } catch { return; }
    const feed = document.getElementById('feed');
    const li = line(e);
    feed.append(li);
    while (feed.children.length > MAX_LINES) feed.firstElementChild.remove();
    applyFilter();
    li.scrollIntoView?.({ block: 'nearest' });
    onEvent(e);
  });
  mine.addEventListener('lagged', () => onEvent(null));
}

/** Closes the stream and empties the feed. */
export function stop() {
  if (source) source.close();
  source = null;
  clear(document.getElementById('feed'));
  const live = document.getElementById('live');
  live.textContent = 'offline';
  live.className = 'live off';
}
