/**
 * Errors thrown by `sentinel-guard`. Every one has a stable `code`; catch by class
 * (`err instanceof DeniedError`) or by code (`err.code === 'SENTINEL_DENIED'`).
 *
 * @module
 */

import type { Decision } from './types';

/** The stable codes of Sentinel errors. */
export type SentinelErrorCode =
  | 'SENTINEL_INPUT'
  | 'SENTINEL_CONFIG'
  | 'SENTINEL_POLICY'
  | 'SENTINEL_DENIED'
  | 'SENTINEL_TIMEOUT'
  | 'SENTINEL_APPROVER'
  | 'SENTINEL_SCORER'
  | 'SENTINEL_ALREADY_EXECUTED'
  | 'SENTINEL_NOT_FOUND'
  | 'SENTINEL_RESOLVE'
  | 'SENTINEL_UNSUPPORTED'
  | 'SENTINEL_STORE';

/** Options of every Sentinel error constructor. */
export interface SentinelErrorOptions {
  /** The underlying error (e.g. what a custom scorer or approver threw). */
  cause?: unknown;
}

/**
 * Base class of Sentinel errors. `err instanceof SentinelError` also holds for an
 * {@link InputError}, which is a `TypeError` instead.
 */
export class SentinelError extends Error {
  /** The stable error code. */
  readonly code: SentinelErrorCode;

  constructor(code: SentinelErrorCode, message: string, options?: SentinelErrorOptions) {
    super(message, options);
    this.code = code;
  }

  /** Recognises every Sentinel error, including {@link InputError}. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    return this === SentinelError && value instanceof InputError;
  }
}

/**
 * Bad input: an action with a missing or ill-typed field, a bad option, an unknown action
 * id. A `TypeError`; the message names the field, e.g. ``missing field `agent_id` ``.
 */
export class InputError extends TypeError {
  /** Always `SENTINEL_INPUT`. */
  readonly code = 'SENTINEL_INPUT' as const;
  /** The offending field, when the message names one (e.g. `agent_id`, `payload`). */
  readonly field: string | undefined;

  constructor(message: string, options?: SentinelErrorOptions) {
    super(message, options);
    this.field = /field `([^`]+)`/.exec(message)?.[1];
  }
}

/** How every configuration error message starts (also in the native addon). */
const CONFIG_PREFIX = 'invalid configuration ';

/**
 * A bad scorer, approver or store setting, or a bad or missing environment variable
 * behind one (`GROQ_API_KEY`, `TELNYX_PUBLIC_KEY`...). The message and `setting` name it;
 * they never contain a key or PIN.
 */
export class ConfigError extends SentinelError {
  /** The option (`scorer.groq.baseUrl`, `store`) or environment variable (`GROQ_API_KEY`). */
  readonly setting: string | undefined;

  constructor(message: string, options?: SentinelErrorOptions) {
    super('SENTINEL_CONFIG', message, options);
    this.setting = message.startsWith(CONFIG_PREFIX) ? /^`([^`]+)`/.exec(message.slice(CONFIG_PREFIX.length))?.[1] : undefined;
  }
}

/** A policy pack could not be loaded; the message names the pack, rule and JSON pointer. */
export class PolicyError extends SentinelError {
  constructor(message: string, options?: SentinelErrorOptions) {
    super('SENTINEL_POLICY', message, options);
  }
}

/** Policy or a human declined the action; the guarded function did not run. */
export class DeniedError extends SentinelError {
  /** The action's id. */
  readonly actionId: string;
  /** The decision, with the reason in `analysis`. */
  readonly decision: Decision;

  constructor(message: string, decision: Decision, options?: SentinelErrorOptions) {
    super('SENTINEL_DENIED', message, options);
    this.actionId = decision.actionId;
    this.decision = decision;
  }
}

/** Nobody approved the action before the escalation timeout; the function did not run. */
export class TimeoutError extends SentinelError {
  /** The action's id. */
  readonly actionId: string;
  /** Why the action was escalated. */
  readonly decision: Decision | undefined;

  constructor(message: string, actionId: string, decision?: Decision, options?: SentinelErrorOptions) {
    super('SENTINEL_TIMEOUT', message, options);
    this.actionId = actionId;
    this.decision = decision;
  }
}

/**
 * The approver could not ask a human (its `request` threw): the action failed closed.
 * `cause` is what the approver threw.
 */
export class ApproverError extends SentinelError {
  /** The action's id. */
  readonly actionId: string;
  /** Why the action was escalated. */
  readonly decision: Decision | undefined;

  constructor(message: string, actionId: string, decision?: Decision, options?: SentinelErrorOptions) {
    super('SENTINEL_APPROVER', message, options);
    this.actionId = actionId;
    this.decision = decision;
  }
}

/**
 * A custom risk scorer failed. The action failed closed (escalated to a human, or declined
 * with `onScorerError: 'deny'`); found on `decision.scorerError`, with what the scorer
 * threw as `cause`.
 */
export class ScorerError extends SentinelError {
  constructor(message: string, options?: SentinelErrorOptions) {
    super('SENTINEL_SCORER', message, options);
  }
}

/** The action (same id or idempotency key) was already executed once. */
export class AlreadyExecutedError extends SentinelError {
  /** The action's id. */
  readonly actionId: string;

  constructor(message: string, actionId: string) {
    super('SENTINEL_ALREADY_EXECUTED', message);
    this.actionId = actionId;
  }
}

/** No action with this id is known to the gateway. */
export class NotFoundError extends SentinelError {
  constructor(message: string) {
    super('SENTINEL_NOT_FOUND', message);
  }
}

/** A human decision could not be recorded: the action was already decided or expired. */
export class ResolveError extends SentinelError {
  constructor(message: string) {
    super('SENTINEL_RESOLVE', message);
  }
}

for (const cls of [SentinelError, InputError, ConfigError, PolicyError, DeniedError, TimeoutError, ApproverError, ScorerError,
  AlreadyExecutedError, NotFoundError, ResolveError]) {
  Object.defineProperty(cls.prototype, 'name', { value: cls.name, configurable: true, writable: true });
}

/** Converts an error thrown by the native addon into a Sentinel error. */
export function fromNative(err: unknown, kind: 'policy' | 'resolve' | 'other' = 'other'): Error {
  const e = err as { code?: unknown; message?: unknown } | null;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  if (e?.code === 'InvalidArg') return new InputError(message);
  if (message.startsWith(CONFIG_PREFIX)) return new ConfigError(message);
  if (message.startsWith('no action with id')) return new NotFoundError(message);
  if (kind === 'policy') return new PolicyError(message);
  if (kind === 'resolve') return new ResolveError(message);
  if (message.startsWith('`evaluateSync`') || message.startsWith('evaluation did not complete')) {
    return new SentinelError('SENTINEL_UNSUPPORTED', message);
  }
  return new SentinelError('SENTINEL_STORE', message, { cause: err });
}
