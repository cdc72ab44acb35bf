/**
 * Actions to the wire form: camelCase names to snake_case, then JSON text. All checking
 * is the core's, so errors read exactly as in Rust, the CLI and Python.
 *
 * @module
 */

import { InputError } from './errors';
import type { ActionInput } from './types';

/**
 * Serialises an action to wire-form JSON text. Unless `strict`, `agentId` and
 * `idempotencyKey` are renamed to `agent_id` and `idempotency_key` (when the snake_case
 * name is not also given; then the camelCase one is refused as an unknown field).
 */
export function toWire(action: ActionInput | unknown, strict = false): string {
  let value = action;
  if (!strict && typeof action === 'object' && action !== null && !Array.isArray(action)) {
    const a = action as Record<string, unknown>;
    if (('agentId' in a && !('agent_id' in a)) || ('idempotencyKey' in a && !('idempotency_key' in a))) {
      value = renamed(a);
    }
  }
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    throw new InputError(`an action must be JSON data: ${(err as Error).message}`, { cause: err });
  }
  // `undefined`, functions and symbols serialise to nothing: the core reports the type.
  return text ?? 'null';
}

function renamed(a: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(a)) {
    if (key === 'agentId' && !('agent_id' in a)) out.agent_id = a[key];
    else if (key === 'idempotencyKey' && !('idempotency_key' in a)) out.idempotency_key = a[key];
    else out[key] = a[key];
  }
  return out;
}
