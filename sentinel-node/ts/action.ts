/**
 * Actions to the wire form: camelCase names to snake_case, then JSON text. All checking
 * is the core's, so errors read exactly as in Rust, the CLI and Python.
 *
 * @module
 */

import { InputError } from './errors';
import type { ActionInput } from './types';

/** In the native `aliases` argument: read a top-level `agentId` as `agent_id`. */
const AGENT_ID = 1;
/** In the native `aliases` argument: read a top-level `idempotencyKey` as `idempotency_key`. */
const IDEMPOTENCY_KEY = 2;

/**
 * Which camelCase names the native parser should read as their snake_case names (the
 * `aliases` argument of the native methods): `agentId` and `idempotencyKey`, each when
 * the snake_case name is not also given (then the camelCase one is refused as an unknown
 * field). Renaming in Rust spares building a renamed copy of the object; an object with
 * a `toJSON` is renamed by {@link toWire} instead, as it always was, and this is then 0.
 */
export function aliasesOf(action: ActionInput | unknown, strict = false): number {
  if (strict || typeof action !== 'object' || action === null || Array.isArray(action)) return 0;
  const a = action as Record<string, unknown>;
  const aliases = ('agentId' in a && !('agent_id' in a) ? AGENT_ID : 0)
    | ('idempotencyKey' in a && !('idempotency_key' in a) ? IDEMPOTENCY_KEY : 0);
  return aliases !== 0 && a.toJSON !== undefined ? 0 : aliases;
}

/**
 * Serialises an action to wire-form JSON text. Unless `strict` or `aliases` (from
 * {@link aliasesOf}) leaves it to the native parser, `agentId` and `idempotencyKey` are
 * renamed to `agent_id` and `idempotency_key` (when the snake_case name is not also given;
 * then the camelCase one is refused as an unknown field).
 */
export function toWire(action: ActionInput | unknown, strict = false, aliases = 0): string {
  let value = action;
  if (!strict && aliases === 0 && typeof action === 'object' && action !== null && !Array.isArray(action)) {
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
