// One action's incident timeline: the approval ladder's steps and quorum, the audit trail
// (with the call's questions and answers, recorded as notes), the call attempts, the
// decision, the receipt and the packs.

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

/** One ladder step as a line: `step 2 of 3 · webhook to pager · started … · ends … · failed: …`. */
function ladderStep(s) {
  const of = s.of ? ` of ${s.of}` : '';
  const where = s.to ? `${s.channel} to ${s.to}` : s.channel;
  const ended = s.status === 'ended'
    ? (s.outcome ? `${s.outcome}${s.reason ? `: ${s.reason}` : ''}` : 'ended (decided)')
    : 'under way';
  return el('li', { class: `ladder-step step-${s.status}`, 'data-step': s.step },
    el('div', { class: 'meta', text: `step ${s.step}${of} · route ${s.route}` }),
    el('div', { text: `${where} · started ${when(s.started_at)} · ${s.status === 'ended' ? 'ended by' : 'ends'} ${when(s.ends_at)}` }),
    el('div', { class: 'outcome', text: ended }));
}

/** The ladder card: the route's steps so far and the quorum's approvers. */
function ladder(t) {
  if (!t.steps || t.steps.length === 0) return null;
  const q = t.quorum;
  const approvers = q && q.approvers.length
    ? q.approvers.map((v) => `${v.by} via ${v.via} at ${when(v.at)}`).join('; ')
    : 'nobody yet';
  return el('div', { class: 'card', id: 'ladder' },
    el('h3', { text: `Approval ladder: route ${t.steps[0].route}` }),
    q ? el('p', { class: 'quorum', text: `Quorum ${q.needed}: ${q.approvers.length} of ${q.needed} approved (${approvers})` }) : null,
    el('ol', { class: 'steps' }, t.steps.map(ladderStep)));
}

/** Shows the timeline of action `id` in `#timeline`. */
export async function show(id) {
  const root = document.getElementById('timeline');
  clear(root);
  root.append(el('p', { class: 'hint', text: 'Loading…' }));
  const t = await get(`/console/api/actions/${encodeURIComponent(id)}`);
  const a = t.action;
  // Ladder steps and console link uses are shown in the ladder card, not as calls.
  const calls = t.attempts.filter((c) => c.channel !== 'ladder' && c.channel !== 'console_link');
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
    ladder(t),
    el('div', { class: 'card' },
      el('h3', { text: 'Approval call' }),
      calls.length === 0
        ? el('p', { class: 'hint', text: 'No call was placed.' })
        : el('ul', { class: 'plain' }, calls.map((c) => el('li', { text: [
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
