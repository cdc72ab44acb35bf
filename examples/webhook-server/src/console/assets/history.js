// History: actions from the store, filtered and paginated by the server (newest first).

import { el, clear, when } from './dom.js';
import { get } from './api.js';

let openTimeline = () => {};
let filters = new URLSearchParams();
let next = null;

function params(form) {
  const p = new URLSearchParams();
  const data = new FormData(form);
  for (const key of ['status', 'agent', 'action']) {
    const v = String(data.get(key) ?? '').trim();
    if (v) p.set(key, v);
  }
  for (const key of ['since', 'until']) {
    const v = String(data.get(key) ?? '');
    if (v) p.set(key, new Date(v).toISOString());
  }
  p.set('limit', '25');
  return p;
}

async function load(before) {
  const p = new URLSearchParams(filters);
  if (before) p.set('before', before);
  const page = await get(`/console/api/actions?${p}`);
  const body = document.querySelector('#history-table tbody');
  clear(body);
  for (const r of page.actions) {
    body.append(el('tr', { 'data-action-id': r.action_id },
      el('td', { text: when(r.created_at) }),
      el('td', { text: r.agent_id }),
      el('td', { text: r.action }),
      el('td', { text: r.status }),
      el('td', { text: r.risk_score ?? '–' }),
      el('td', { text: r.decided_by ? `${r.decided_by} via ${r.channel}` : '' }),
      el('td', {}, el('button', { type: 'button', text: 'Open', 'aria-label': `Open ${r.action} by ${r.agent_id}`, onclick: () => openTimeline(r.action_id) }))));
  }
  if (page.actions.length === 0) body.append(el('tr', {}, el('td', { colspan: 7, class: 'empty', text: 'No action matches.' })));
  next = page.next;
  document.getElementById('history-older').disabled = !next;
}

/** Wires the filters and the pager; `open` shows a timeline. */
export function setup(open) {
  openTimeline = open;
  const form = document.getElementById('history-form');
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    filters = params(form);
    load(null).catch(() => {});
  });
  document.getElementById('history-newest').addEventListener('click', () => load(null).catch(() => {}));
  document.getElementById('history-older').addEventListener('click', () => next && load(next).catch(() => {}));
}

/** Shows the newest page of the current filters. */
export function refresh() {
  if (!filters.has('limit')) filters.set('limit', '25');
  return load(null);
}
