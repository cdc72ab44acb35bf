// One action's incident timeline: the audit trail (with the call's questions and answers,
// recorded as notes), the call attempts, the decision, the receipt and the packs.

import { el, clear, facts, gauge, when } from './dom.js';
import { get } from './api.js';

function step(e) {
  const qa = e.kind === 'note' && /^asked: /.test(e.reason);
  const head = e.kind === 'note' ? `note by ${e.actor} via ${e.channel}` : `${e.from ?? '∅'} → ${e.to} by ${e.actor} via ${e.channel}`;
  return el('li', { class: e.kind === 'note' ? 'note' : '' },
    el('div', { class: 'meta', text: `${when(e.at)} · #${e.seq}` }),
    el('div', { text: head }),
    e.reason ? el('div', { class: qa ? 'qa' : '', text: e.reason }) : null);
}

/** Shows the timeline of action `id` in `#timeline`. */
export async function show(id) {
  const root = document.getElementById('timeline');
  clear(root);
  root.append(el('p', { class: 'hint', text: 'Loading…' }));
  const t = await get(`/console/api/actions/${encodeURIComponent(id)}`);
  const a = t.action;
  clear(root);
  const approval = a.approval
    ? `${a.approval.approved ? 'approved' : 'declined'} by ${a.approval.by} via ${a.approval.channel} at ${when(a.approval.at)}${a.approval.reason ? ` — ${a.approval.reason}` : ''}`
    : 'no human decision';
  root.append(
    el('div', { class: 'card' },
      el('h3', { text: `${a.action} by ${a.agent_id}: ${a.status}` }),
      gauge(a.risk_score),
      facts([
        ['Action id', a.action_id],
        ['Risk', `${a.risk_score ?? '–'}/100`],
        ['Analysis', a.analysis ?? ''],
        ['Rules', (a.rules ?? []).join(', ') || 'none'],
        ['Decision', approval],
        ['Packs', (a.packs ?? []).map((p) => `${p.name} ${p.version}`).join(', ')],
        ['Received', when(a.created_at)],
        ['Deadline', when(a.deadline)],
        ['Executed', when(a.executed_at)],
      ]),
      el('pre', { 'aria-label': 'payload (redacted)', text: JSON.stringify(a.payload, null, 2) })),
    el('div', { class: 'card' },
      el('h3', { text: 'Approval call' }),
      t.attempts.length === 0
        ? el('p', { class: 'hint', text: 'No call was placed.' })
        : el('ul', { class: 'plain' }, t.attempts.map((c) => el('li', { text: [
          `attempt ${c.seq} via ${c.channel}: ${c.status}`,
          `dialled ${when(c.created_at)}`,
          c.answered_at ? `answered ${when(c.answered_at)}` : 'not answered',
          c.phase ? `phase ${c.phase}${c.outcome ? ` (${c.outcome})` : ''}` : null,
          `last change ${when(c.updated_at)}`,
          c.external_ids.length ? `ids ${c.external_ids.join(', ')}` : null,
        ].filter(Boolean).join(', ') }))),
      facts([
        ['Call', a.voice?.call ? `${a.voice.call.phase}${a.voice.call.outcome ? ` (${a.voice.call.outcome})` : ''}` : ''],
        ['Last key', a.voice?.last_digit ?? ''],
        ['Last question', a.voice?.last_question ?? ''],
        ['Last answer', a.voice?.last_answer ?? ''],
      ])),
    el('div', { class: 'card' },
      el('h3', { text: 'Audit trail' }),
      el('ol', { class: 'steps' }, a.audit_trail.map(step))),
    el('div', { class: 'card' },
      el('h3', { text: 'Receipt' }),
      t.receipt
        ? facts([
          ['Action hash', t.receipt.action_hash],
          ...t.receipt.packs.map((p) => [`${p.name} ${p.version}`, p.hash]),
        ])
        : el('p', { class: 'hint', text: 'No receipt: no human approved or declined this action.' })));
  document.getElementById('timeline-title').focus?.();
}
