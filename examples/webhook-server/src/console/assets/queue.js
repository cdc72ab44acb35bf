// Pending approvals: one card per action waiting for a human, kept in place across
// refreshes so a reason being typed is never lost.

import { el, clear, facts, gauge, timeLeft, when } from './dom.js';
import { get, post } from './api.js';

const list = () => document.getElementById('queue');
const cards = new Map();
let mayDecide = true;
let openTimeline = () => {};
let ticking = null;

/** Whether the signed-in operator may approve and decline; who opens timelines. */
export function setup(options) {
  mayDecide = options.mayDecide;
  openTimeline = options.openTimeline;
  ticking ??= setInterval(tick, 1000);
}

function tick() {
  for (const card of cards.values()) card.left.textContent = timeLeft(card.deadline);
}

function callText(view) {
  const call = view.voice?.call;
  const parts = [];
  if (call) parts.push(`call ${call.phase}${call.outcome ? ` (${call.outcome})` : ''}`);
  if (view.voice?.last_digit) parts.push(`pressed ${view.voice.last_digit}`);
  if (view.voice?.last_question) parts.push(`asked "${view.voice.last_question}"`);
  return parts.length ? parts.join('; ') : 'no call';
}

function build(view) {
  const id = view.action_id;
  const status = el('span', { class: 'meta', text: view.status });
  const call = el('span', { text: callText(view) });
  const left = el('span', { text: timeLeft(view.deadline) });
  const reasonId = `reason-${id}`;
  const reason = el('input', { id: reasonId, type: 'text', autocomplete: 'off', maxlength: 500 });
  const message = el('p', { class: 'error', role: 'alert' });
  const decide = async (decision, buttons) => {
    buttons.forEach((b) => { b.disabled = true; });
    message.textContent = '';
    try {
      await post(`/api/sentinel/actions/${encodeURIComponent(id)}/resolve`, { decision, reason: reason.value });
      await refresh();
    } catch (e) {
      message.textContent = `Could not ${decision}: ${e.message}`;
      buttons.forEach((b) => { b.disabled = false; });
    }
  };
  const approve = el('button', { type: 'button', class: 'approve', text: 'Approve' });
  const decline = el('button', { type: 'button', class: 'decline', text: 'Decline' });
  approve.addEventListener('click', () => decide('approve', [approve, decline]));
  decline.addEventListener('click', () => decide('decline', [approve, decline]));
  const score = view.risk_score ?? 0;
  const node = el('li', { class: 'card item', 'data-action-id': id, 'aria-label': `${view.action} by ${view.agent_id}` },
    el('header', {},
      el('h3', {}, `${view.action} `, el('span', { class: 'meta', text: `by ${view.agent_id}` })),
      status),
    gauge(view.risk_score),
    el('p', {}, el('span', { class: 'risk', text: `Risk ${score}/100` })),
    facts([
      ['Analysis', view.analysis ?? ''],
      ['Rules', (view.rules ?? []).join(', ') || 'none'],
      ['Reasoning', view.reasoning],
      ['Call', call],
      ['Time left', left],
      ['Received', when(view.created_at)],
    ]),
    el('pre', { 'aria-label': 'payload (redacted)', text: JSON.stringify(view.payload, null, 2) }),
    mayDecide
      ? el('div', { class: 'decide' }, el('label', { for: reasonId, text: 'Reason (recorded with the decision)' }), reason, approve, decline)
      : el('p', { class: 'hint', text: 'Your role may not decide.' }),
    message,
    el('button', { type: 'button', text: 'Timeline', 'aria-label': `Timeline of ${view.action} by ${view.agent_id}`, onclick: () => openTimeline(id) }));
  return { node, status, call, left, deadline: view.deadline };
}

/** Reads the queue from the server and updates the cards. */
export async function refresh() {
  const views = await get('/console/api/pending');
  const seen = new Set();
  for (const view of views) {
    seen.add(view.action_id);
    let card = cards.get(view.action_id);
    if (!card) {
      card = build(view);
      cards.set(view.action_id, card);
      list().append(card.node);
    } else {
      card.status.textContent = view.status;
      card.call.textContent = callText(view);
      card.deadline = view.deadline;
    }
  }
  for (const [id, card] of cards) {
    if (!seen.has(id)) {
      card.node.remove();
      cards.delete(id);
    }
  }
  document.getElementById('queue-empty').hidden = cards.size > 0;
  document.getElementById('pending-count').textContent = String(cards.size);
}

/** Forgets every card (signing out). */
export function reset() {
  cards.clear();
  clear(list());
}
