// Overview: packs in force, decisions per status in the last hour, scorer calls made and
// avoided, the pending count.

import { el, clear } from './dom.js';
import { get } from './api.js';

/** Reads and shows the overview; resolves to it (the feed takes the packs). */
export async function refresh() {
  const o = await get('/console/api/overview');
  document.getElementById('ov-pending').textContent = String(o.pending);
  document.getElementById('ov-made').textContent = String(o.scorer_calls);
  document.getElementById('ov-avoided').textContent = String(o.scorer_calls_avoided);
  document.getElementById('ov-scorer').textContent = `scorer: ${o.scorer}; approver: ${o.approver ?? 'none'}${o.partial ? ' (counts cover the most recent actions only)' : ''}`;
  const chart = document.getElementById('ov-chart');
  clear(chart);
  const max = Math.max(1, ...o.last_hour.map((c) => c.count));
  if (o.last_hour.length === 0) chart.append(el('p', { class: 'hint', text: 'No action in the last hour.' }));
  for (const c of o.last_hour) {
    const fill = el('span', { class: 'fill' });
    fill.style.width = `${(100 * c.count) / max}%`;
    chart.append(el('div', { class: 'bar' }, el('span', { text: c.status }), el('span', {}, fill), el('span', { text: String(c.count) })));
  }
  chart.setAttribute('aria-label', `Decisions per status: ${o.last_hour.map((c) => `${c.status} ${c.count}`).join(', ') || 'none'}`);
  const packs = document.getElementById('ov-packs');
  clear(packs);
  for (const p of o.packs) {
    packs.append(el('li', {}, el('strong', { text: `${p.name} ${p.version}` }), ` — ${p.applies_to.join(', ')} `, el('span', { class: 'meta', text: `sha256 ${p.hash.slice(0, 12)}…` })));
  }
  return o;
}
