// Shared test helpers.
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
