/**
 * Errors thrown by `sentinel-guard`. Every one has a stable `code`, `SENTINEL_` plus the
 * core's code (the table in `docs/errors.md`, the same in every host); catch by class
 * (`err instanceof DeniedError`) or by code (`err.code === 'SENTINEL_DENIED'`).
 *
 * The native addon decides the code of every error it raises (from the core's error);
 * {@link sentinelError} picks the class from the code through one table.
 *
 * @module
 */

import type { Decision } from './types';

/** The stable codes of Sentinel errors (`SENTINEL_` + the core's `ErrorCode`). */
export type SentinelErrorCode =
  | 'SENTINEL_DENIED'
  | 'SENTINEL_EXPIRED'
  | 'SENTINEL_APPROVER_FAILED'
  | 'SENTINEL_ALREADY_EXECUTED'
  | 'SENTINEL_ALREADY_DECIDED'
  | 'SENTINEL_IDEMPOTENCY_CONFLICT'
  | 'SENTINEL_RECEIPT_MISMATCH'
  | 'SENTINEL_INVALID_ACTION'
  | 'SENTINEL_INVALID_PACK'
  | 'SENTINEL_INVALID_CONFIG'
  | 'SENTINEL_INVALID_REQUEST'
  | 'SENTINEL_STORE_UNAVAILABLE'
  | 'SENTINEL_SCORER_FAILED'
  | 'SENTINEL_NOT_FOUND'
  | 'SENTINEL_UNAUTHORIZED'
  | 'SENTINEL_FORBIDDEN'
  | 'SENTINEL_PAYLOAD_TOO_LARGE'
  | 'SENTINEL_WEBHOOK_UNVERIFIED'
  | 'SENTINEL_UNSUPPORTED'
  | 'SENTINEL_INTERNAL';

/** What an error knows besides its message; every field is optional. */
export interface ErrorDetails {
  /** The code, for classes that stand for several (`InputError`, `ConflictError`). */
  code?: SentinelErrorCode;
  /** The underlying error: what a custom scorer or approver threw, itself. */
  cause?: unknown;
  /** The action concerned. */
  actionId?: string;
  /** The decision the action was refused under. */
  decision?: Decision;
  /** The field of the action or request at fault. */
  field?: string;
  /** The configuration key path, e.g. `scorer.groq.timeout_s` or `packs[1]`. */
  key?: string;
  /** The configuration file. */
  file?: string;
  /** The line in the configuration file. */
  line?: number;
  /** The environment variable behind the value. */
  env?: string;
  /** What the user wrote: the option or key, or the environment variable the value came from. */
  setting?: string;
}

/** @deprecated Use {@link ErrorDetails} (its `cause`). */
export type SentinelErrorOptions = Pick<ErrorDetails, 'cause'>;

function options(details: ErrorDetails): ErrorOptions | undefined {
  return 'cause' in details && details.cause !== undefined ? { cause: details.cause } : undefined;
}

/**
 * Base class of Sentinel errors. `err instanceof SentinelError` also holds for an
 * {@link InputError}, which is a `TypeError` instead.
 */
export class SentinelError extends Error {
  /** The stable error code. */
  readonly code: SentinelErrorCode;

  constructor(code: SentinelErrorCode, message: string, details: ErrorDetails = {}) {
    super(message, options(details));
    this.code = code;
  }

  /** Recognises every Sentinel error, including {@link InputError}. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    return this === SentinelError && value instanceof InputError;
  }
}

/**
 * Bad input: an action with a missing or ill-typed field or a bad action id
 * (`SENTINEL_INVALID_ACTION`), or a malformed argument such as a resolution
 * (`SENTINEL_INVALID_REQUEST`). A `TypeError`; the message and `field` name the field,
 * e.g. ``missing field `agent_id` ``.
 */
export class InputError extends TypeError {
  /** `SENTINEL_INVALID_ACTION` or `SENTINEL_INVALID_REQUEST`. */
  readonly code: 'SENTINEL_INVALID_ACTION' | 'SENTINEL_INVALID_REQUEST';
  /** The offending field, when there is one (e.g. `agent_id`, `payload`, `approved`). */
  readonly field: string | undefined;

  constructor(message: string, details: ErrorDetails = {}) {
    super(message, options(details));
    this.code = details.code === 'SENTINEL_INVALID_REQUEST' ? details.code : 'SENTINEL_INVALID_ACTION';
    this.field = details.field;
  }
}

/**
 * A configuration file, mapping, option or environment variable is unusable. The message
 * names it; it never contains a key or PIN.
 */
export class ConfigError extends SentinelError {
  /**
   * What the user wrote: the option (`scorer.groq.baseUrl`, `store`) of `new Gateway`, the
   * key (`scorer.groq.timeout_s`) of a configuration, or the environment variable the value
   * came from (`GROQ_BASE_URL`).
   */
  readonly setting: string | undefined;
  /** The configuration key path (`scorer.groq.timeout_s`, `packs[1]`; `''` for the whole). */
  readonly key: string | undefined;
  /** The configuration file, when the configuration came from one. */
  readonly file: string | undefined;
  /** The line in that file, when known. */
  readonly line: number | undefined;
  /** The environment variable behind the value (or the one it should have come from). */
  readonly env: string | undefined;

  constructor(message: string, details: ErrorDetails = {}) {
    super(details.code === 'SENTINEL_INVALID_PACK' ? details.code : 'SENTINEL_INVALID_CONFIG', message, details);
    this.setting = details.setting;
    this.key = details.key;
    this.file = details.file;
    this.line = details.line;
    this.env = details.env;
  }
}

/**
 * A policy pack the configuration names does not load (`SENTINEL_INVALID_PACK`): the
 * message names the pack, the rule and the JSON pointer; `key` (and `setting`) the entry,
 * e.g. `packs[1]`. A {@link ConfigError} too.
 */
export class PolicyError extends ConfigError {
  constructor(message: string, details: ErrorDetails = {}) {
    super(message, { ...details, code: 'SENTINEL_INVALID_PACK' });
  }
}

/** Policy or a human declined the action; the guarded function did not run. */
export class DeniedError extends SentinelError {
  /** The action's id. */
  readonly actionId: string;
  /** The decision, with the reason in `analysis`. */
  readonly decision: Decision;

  constructor(message: string, details: ErrorDetails = {}) {
    super('SENTINEL_DENIED', message, details);
    this.actionId = details.actionId ?? details.decision?.actionId ?? '';
    this.decision = details.decision as Decision;
  }
}

/** Nobody approved the action before the escalation timeout; the function did not run. */
export class TimeoutError extends SentinelError {
  /** The action's id. */
  readonly actionId: string;
  /** Why the action was escalated. */
  readonly decision: Decision | undefined;

  constructor(message: string, details: ErrorDetails = {}) {
    super('SENTINEL_EXPIRED', message, details);
    this.actionId = details.actionId ?? '';
    this.decision = details.decision;
  }
}

/**
 * The approver could not ask a human (its `request` threw, the call could not be placed):
 * the action failed closed. `cause` is what a custom approver threw.
 */
export class ApproverError extends SentinelError {
  /** The action's id. */
  readonly actionId: string;
  /** Why the action was escalated. */
  readonly decision: Decision | undefined;

  constructor(message: string, details: ErrorDetails = {}) {
    super('SENTINEL_APPROVER_FAILED', message, details);
    this.actionId = details.actionId ?? '';
    this.decision = details.decision;
  }
}

/**
 * The risk scorer failed. The action failed closed (escalated to a human, or declined
 * with `onScorerError: 'deny'`); found on `decision.scorerError`, with what a custom scorer
 * threw as `cause`.
 */
export class ScorerError extends SentinelError {
  constructor(message: string, details: ErrorDetails = {}) {
    super('SENTINEL_SCORER_FAILED', message, details);
  }
}

/** The action (same id or idempotency key) was already executed once. */
export class AlreadyExecutedError extends SentinelError {
  /** The action's id. */
  readonly actionId: string;
  /** The decision it ran under. */
  readonly decision: Decision | undefined;

  constructor(message: string, details: ErrorDetails = {}) {
    super('SENTINEL_ALREADY_EXECUTED', message, details);
    this.actionId = details.actionId ?? '';
    this.decision = details.decision;
  }
}

/** No action with this id is known to the gateway. */
export class NotFoundError extends SentinelError {
  /** The id asked for. */
  readonly actionId: string | undefined;

  constructor(message: string, details: ErrorDetails = {}) {
    super('SENTINEL_NOT_FOUND', message, details);
    this.actionId = details.actionId;
  }
}

/** A human decision could not be recorded: the action was already decided or expired. */
export class ResolveError extends SentinelError {
  /** The action. */
  readonly actionId: string | undefined;

  constructor(message: string, details: ErrorDetails = {}) {
    super('SENTINEL_ALREADY_DECIDED', message, details);
    this.actionId = details.actionId;
  }
}

/**
 * The action conflicts with what is recorded: its idempotency key belongs to a different
 * action (`SENTINEL_IDEMPOTENCY_CONFLICT`), or what is about to run is not what was
 * approved (`SENTINEL_RECEIPT_MISMATCH`). Nothing ran.
 */
export class ConflictError extends SentinelError {
  /** The action recorded under the key, or the one whose approval does not match. */
  readonly actionId: string | undefined;

  constructor(message: string, details: ErrorDetails = {}) {
    super(details.code === 'SENTINEL_RECEIPT_MISMATCH' ? details.code : 'SENTINEL_IDEMPOTENCY_CONFLICT', message, details);
    this.actionId = details.actionId;
  }
}

for (const cls of [SentinelError, InputError, ConfigError, PolicyError, DeniedError, TimeoutError, ApproverError, ScorerError,
  AlreadyExecutedError, NotFoundError, ResolveError, ConflictError]) {
  Object.defineProperty(cls.prototype, 'name', { value: cls.name, configurable: true, writable: true });
}

type ErrorClass = new (message: string, details: ErrorDetails) => Error;

/** The one table from code to class; a code not in it is a plain {@link SentinelError}. */
const CLASSES: Partial<Record<SentinelErrorCode, ErrorClass>> = {
  SENTINEL_INVALID_ACTION: InputError,
  SENTINEL_INVALID_REQUEST: InputError,
  SENTINEL_INVALID_CONFIG: ConfigError,
  SENTINEL_INVALID_PACK: PolicyError,
  SENTINEL_DENIED: DeniedError,
  SENTINEL_EXPIRED: TimeoutError,
  SENTINEL_APPROVER_FAILED: ApproverError,
  SENTINEL_SCORER_FAILED: ScorerError,
  SENTINEL_ALREADY_EXECUTED: AlreadyExecutedError,
  SENTINEL_NOT_FOUND: NotFoundError,
  SENTINEL_ALREADY_DECIDED: ResolveError,
  SENTINEL_IDEMPOTENCY_CONFLICT: ConflictError,
  SENTINEL_RECEIPT_MISMATCH: ConflictError,
};

/** The error of class `CLASSES[code]` (or `SentinelError`) with `message` and `details`. */
export function sentinelError(code: SentinelErrorCode, message: string, details: ErrorDetails = {}): Error {
  const cls = CLASSES[code];
  return cls === undefined ? new SentinelError(code, message, details) : new cls(message, { ...details, code });
}

/** The message of anything thrown. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === 'string' ? error : String(error);
}
