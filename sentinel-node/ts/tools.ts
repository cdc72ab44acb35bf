/**
 * Framework tool calls across the native boundary: the arguments as JSON text, and the
 * native verdict as a {@link ToolVerdict}. Which action a call is, whether it may run and
 * how a refusal reads are the core's (`src/tool.rs`, `sentinel_core::tool_call`).
 *
 * @module
 */

import { NativeGateway } from '../native';
import { InputError, messageOf } from './errors';

/**
 * The arguments of a tool call as JSON text for the native addon: a string is taken to be
 * JSON text already (OpenAI function calls carry their arguments so) and parsed strictly
 * in Rust; `undefined` is no arguments; anything else is serialised like an action.
 *
 * @throws {InputError} when the arguments are not JSON data (a `BigInt`, a cycle).
 */
export function argumentsText(tool: string, args: unknown): string {
  if (typeof args === 'string') return args;
  if (args === undefined) return 'null';
  let text: string | undefined;
  try {
    text = JSON.stringify(args);
  } catch (err) {
    throw new InputError(`the arguments of tool \`${tool}\` must be JSON data: ${messageOf(err)}`, { cause: err, field: 'payload' });
  }
  return text ?? 'null';
}

/**
 * The verdict of a call refused before it reached the gateway (arguments that are not
 * JSON data, a store that did not open); the core words the refusal.
 */
export function refusedHere(tool: string, action: string, error: Error): {
  allowed: false; tool: string; action: string; message: string; error: Error;
} {
  return { allowed: false, tool, action, message: NativeGateway.toolRefusal(tool, error.message), error };
}
