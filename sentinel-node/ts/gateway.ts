/**
 * The {@link Gateway}: evaluate, guard, wrap and resolve agent actions.
 *
 * @module
 */

import { NativeGateway } from '../native';
import type { ActionStatus as NativeStatus, GuardOutcome, NativeOptions, PackSource } from '../native';
import { aliasesOf, toWire } from './action';
import { CauseTable, wrapApprover, wrapScorer } from './callbacks';
import { decode } from './codec';
import {
  AlreadyExecutedError, ApproverError, DeniedError, InputError, ScorerError, SentinelError, TimeoutError,
  fromNative,
} from './errors';
import { groqSettings, headerMap, isBuiltin, storeSettings, telnyxSettings } from './settings';
import type { WebhookHeaders } from './settings';
import type {
  ActionInput, ActionStatus, Approver, AuditEvent, CallOptions, Decision, GatewayOptions, GroqStats, PackSpec,
  Resolution, RiskScorer, WrapOptions,
} from './types';

/**
 * The safety gateway. Every decision is made by the Rust core, off the JS thread; custom
 * scorers and approvers are called back on the JS thread and never keep the process
 * alive by themselves.
 *
 * ```ts
 * const gw = new Gateway();                       // the three seed packs, offline
 * const d = await gw.evaluate({ agentId: 'session_x', action: 'PAY_INVOICE',
 *   payload: { amount: 10000, vendor: 'Unknown Corp' }, reasoning: 'overdue' });
 * d.status;                                       // 'BLOCKED_AWAITING_AUTH'
 * ```
 *
 * With a durable `store`, build it with `await Gateway.open(options)`: the store is
 * connected (migrations run) and pending approvals from an earlier process are recovered
 * before it returns. `new Gateway(options)` also works: it opens the store before the
 * first call that needs it (`guard`, `resolve`, `status`, `explain`, `auditTrail`).
 */
export class Gateway {
  readonly #native: NativeGateway;
  readonly #causes = new CauseTable();
  readonly #durable: boolean;
  #opening: Promise<void> | undefined;

  /**
   * Builds a gateway and opens its durable store, if any, recovering the approvals that
   * were pending in it.
   *
   * @throws {ConfigError} when the store cannot be opened (or any setting is bad).
   */
  static async open(options: GatewayOptions = {}): Promise<Gateway> {
    return new Gateway(options).ready();
  }

  /**
   * Builds a gateway. A durable `store` is opened later: see {@link Gateway.open}.
   *
   * @throws {InputError} on a bad option (e.g. a scorer without `assess`).
   * @throws {ConfigError} on a bad `groq`, `telnyx` or `store` setting, or a missing or
   *   bad environment variable behind one; the message names it.
   * @throws {PolicyError} when a pack does not load; the message names the pack, the rule
   *   and the JSON pointer of the offending part.
   */
  constructor(options: GatewayOptions = {}) {
    if (typeof options !== 'object' || options === null) {
      throw new InputError('gateway options must be an object');
    }
    const native: NativeOptions = {};
    if (options.packs !== undefined) native.packs = packSources(options.packs);
    if (options.escalationTimeoutMs !== undefined) {
      if (typeof options.escalationTimeoutMs !== 'number') {
        throw new InputError(`option \`escalationTimeoutMs\` must be a number, found ${typeof options.escalationTimeoutMs}`);
      }
      native.escalationTimeoutMs = options.escalationTimeoutMs;
    }
    if (options.unmatched !== undefined) native.unmatched = String(options.unmatched);
    if (options.onScorerError !== undefined) native.onScorerError = String(options.onScorerError);
    Object.assign(native, storeSettings(options.store, options.storeSchema));
    let scorer;
    if (isBuiltin(options.scorer, 'groq', 'assess')) native.groq = groqSettings(options.scorer);
    else if (options.scorer !== undefined) scorer = wrapScorer(options.scorer as RiskScorer, this.#causes);
    let approver;
    if (isBuiltin(options.approver, 'telnyx', 'request')) native.telnyx = telnyxSettings(options.approver);
    else if (options.approver !== undefined) {
      approver = wrapApprover(options.approver as Approver, new WeakRef(this), this.#causes);
    }
    if (scorer) native.scorerName = scorer.name;
    if (approver) native.approverName = approver.name;
    try {
      this.#native = new NativeGateway(native, scorer?.assess, scorer?.explain, approver?.request);
    } catch (err) {
      throw fromNative(err, 'policy');
    }
    this.#durable = this.#native.durable;
  }

  /** The names of the packs this gateway enforces. */
  get packs(): string[] {
    return this.#native.packNames;
  }

  /** The risk scorer's name (`offline` for the built-in one). */
  get scorerName(): string {
    return this.#native.scorerName;
  }

  /** The approver's name, when one is configured. */
  get approverName(): string | undefined {
    return this.#native.approverName ?? undefined;
  }

  /** How long an escalated action waits for a human, in milliseconds. */
  get escalationTimeoutMs(): number {
    return this.#native.escalationTimeoutMs;
  }

  /**
   * Opens the durable store, once, and recovers the approvals pending in it (their
   * expiries are scheduled again; on PostgreSQL, guards waiting here wake when another
   * process decides). Resolves at once without a durable store. A failed open is retried
   * by the next call.
   *
   * @throws {ConfigError} when the store cannot be opened; the message names `store` and
   *   never shows a password.
   */
  async ready(): Promise<this> {
    if (this.#durable) {
      this.#opening ??= this.#native.open().then(
        () => undefined,
        (err: unknown) => {
          this.#opening = undefined;
          throw fromNative(err);
        },
      );
      await this.#opening;
    }
    return this;
  }

  /** The Groq scorer's counters (calls, retries, cache hits, failures), when it is the scorer. */
  groqStats(): GroqStats | undefined {
    return this.#native.groqStats() ?? undefined;
  }

  /**
   * Hands one Telnyx webhook to the voice approver and resolves to the HTTP status to
   * answer: 200 when handled (or already handled, or about no call of ours), 401 for a bad
   * signature or a stale timestamp (nothing changes), 400 for an unreadable body, 502 when
   * a command to Telnyx failed. Pass the raw body bytes, unparsed:
   *
   * ```ts
   * app.post('/api/telnyx/webhook', express.raw({ type: '*\/*' }), async (req, res) => {
   *   res.sendStatus(await gw.handleTelnyxWebhook(req.headers, req.body));
   * });
   * ```
   *
   * @throws {ConfigError} when the gateway has no Telnyx approver.
   * @throws {InputError} when `body` is not a `Buffer` / `Uint8Array`.
   */
  async handleTelnyxWebhook(headers: WebhookHeaders, body: Uint8Array): Promise<number> {
    if (!(body instanceof Uint8Array)) {
      throw new InputError('the webhook body must be the raw bytes (a Buffer or Uint8Array)');
    }
    if (typeof headers !== 'object' || headers === null) throw new InputError('the webhook headers must be an object');
    try {
      return await this.#native.handleTelnyxWebhook(headerMap(headers), body);
    } catch (err) {
      throw fromNative(err);
    }
  }

  /**
   * The audit trail of one action, oldest first: each state change and the execution,
   * with who, through which channel, why and when, hash-chained.
   *
   * @throws {InputError} on a malformed id.
   */
  async auditTrail(actionId: string): Promise<AuditEvent[]> {
    checkId(actionId);
    if (this.#durable) await this.ready();
    try {
      return (await this.#native.auditTrail(actionId)) as AuditEvent[];
    } catch (err) {
      throw fromNative(err);
    }
  }

  /**
   * Decides about an action without recording or running anything.
   *
   * @throws {InputError} when the action is ill-formed; the message names the field.
   */
  async evaluate(action: ActionInput, options?: CallOptions): Promise<Decision> {
    const aliases = aliasesOf(action, options?.strict);
    const wire = toWire(action, options?.strict, aliases);
    let encoded: string;
    try {
      encoded = await this.#native.evaluate(wire, aliases);
    } catch (err) {
      throw fromNative(err);
    }
    const { decision, causeId } = decode(encoded);
    if (causeId !== undefined || decision.scorer.outcome === 'failed') {
      const cause = this.#causes.take(causeId);
      decision.scorerError = new ScorerError(
        `risk scorer \`${decision.scorer.scorer}\` failed: ${decision.scorer.error}`,
        cause === undefined ? undefined : { cause },
      );
    }
    return decision;
  }

  /**
   * {@link evaluate} on the calling thread: a few microseconds, without the thread hop
   * of an async call. Only with the built-in scorer (a custom scorer is async).
   *
   * @throws {InputError} when the action is ill-formed.
   * @throws {SentinelError} with code `SENTINEL_UNSUPPORTED` when a custom scorer is set.
   */
  evaluateSync(action: ActionInput, options?: CallOptions): Decision {
    const aliases = aliasesOf(action, options?.strict);
    const wire = toWire(action, options?.strict, aliases);
    try {
      return decode(this.#native.evaluateSync(wire, aliases)).decision;
    } catch (err) {
      throw fromNative(err);
    }
  }

  /**
   * Runs `fn` only when the action is approved: automatically, or by a human within the
   * escalation timeout. Runs it at most once per action (and idempotency key), and
   * returns what it returns.
   *
   * @throws {DeniedError} when policy or a human declined (`err.decision` says why).
   * @throws {TimeoutError} when nobody decided in time.
   * @throws {ApproverError} when the approver failed to ask a human (`cause`: its error).
   * @throws {AlreadyExecutedError} when the action already ran once.
   * @throws {InputError} when the action is ill-formed.
   * Whatever `fn` throws is rethrown as is. When a custom scorer failed, the error's
   * `cause` is what the scorer threw.
   */
  async guard<T>(action: ActionInput, fn: () => T | PromiseLike<T>, options?: CallOptions): Promise<Awaited<T>> {
    if (typeof fn !== 'function') {
      throw new InputError(`the guarded function must be a function, found ${typeof fn}`);
    }
    const aliases = aliasesOf(action, options?.strict);
    const wire = toWire(action, options?.strict, aliases);
    if (this.#durable) await this.ready();
    let out: GuardOutcome;
    try {
      out = await this.#native.authorize(wire, aliases);
    } catch (err) {
      throw fromNative(err);
    }
    const cause = this.#causes.take(out.causeId);
    if (out.error == null) return await fn();
    throw guardError(out, cause);
  }

  /**
   * Wraps `fn` so that every call goes through {@link guard} as action `action`.
   *
   * ```ts
   * const payGuarded = gw.wrap('PAY_INVOICE', payInvoice, {
   *   agentId: 'session_x', payload: (amount, vendor) => ({ amount, vendor }) });
   * await payGuarded(10000, 'Unknown Corp');        // waits for a human
   * ```
   */
  wrap<A extends unknown[], R>(
    action: string,
    fn: (...args: A) => R,
    options: WrapOptions<A>,
  ): (...args: A) => Promise<Awaited<R>> {
    if (typeof fn !== 'function') throw new InputError(`the wrapped function must be a function, found ${typeof fn}`);
    if (typeof options !== 'object' || options === null) throw new InputError('`wrap` needs options with `agentId`');
    const { agentId, reasoning = '', payload, context } = options;
    const gateway = this;
    return async function guarded(this: unknown, ...args: A): Promise<Awaited<R>> {
      const input: ActionInput = {
        agent_id: agentId,
        action,
        payload: payload ? payload(...args) : defaultPayload(args),
        reasoning: typeof reasoning === 'function' ? reasoning(...args) : reasoning,
      };
      if (context !== undefined) input.context = context;
      return gateway.guard(input, () => fn.apply(this, args));
    };
  }

  /**
   * Records a human decision for a pending action (e.g. from a web handler while a
   * `guard` waits). A decision is never made twice.
   *
   * @throws {NotFoundError} when no action has this id.
   * @throws {ResolveError} when the action was already decided or expired.
   * @throws {InputError} on a malformed id or resolution.
   */
  async resolve(actionId: string, resolution: Resolution): Promise<ActionStatus> {
    checkId(actionId);
    if (typeof resolution !== 'object' || resolution === null) throw new InputError('a resolution must be an object');
    if (typeof resolution.approved !== 'boolean') {
      throw new InputError(`field \`approved\` must be a boolean, found ${typeof resolution.approved}`);
    }
    if (typeof resolution.by !== 'string' || resolution.by === '') {
      throw new InputError('field `by` must be a non-empty string');
    }
    if (this.#durable) await this.ready();
    try {
      return toStatus(await this.#native.resolve(actionId, {
        approved: resolution.approved,
        by: resolution.by,
        channel: resolution.channel ?? 'api',
        reason: resolution.reason,
      }));
    } catch (err) {
      throw fromNative(err, 'resolve');
    }
  }

  /**
   * Where an action stands.
   *
   * @throws {NotFoundError} when no action has this id.
   */
  async status(actionId: string): Promise<ActionStatus> {
    checkId(actionId);
    if (this.#durable) await this.ready();
    try {
      return toStatus(await this.#native.status(actionId));
    } catch (err) {
      throw fromNative(err);
    }
  }

  /** Answers a human's question about a recorded action, through the scorer. */
  async explain(actionId: string, question: string): Promise<string> {
    checkId(actionId);
    if (this.#durable) await this.ready();
    try {
      return await this.#native.explain(actionId, String(question));
    } catch (err) {
      throw fromNative(err);
    }
  }
}

function checkId(actionId: unknown): void {
  if (typeof actionId !== 'string') throw new InputError(`an action id must be a string, found ${typeof actionId}`);
}

function toStatus(s: NativeStatus): ActionStatus {
  return s as ActionStatus;
}

function defaultPayload(args: unknown[]): Record<string, unknown> {
  const [first] = args;
  if (args.length === 1 && typeof first === 'object' && first !== null && !Array.isArray(first)) {
    return first as Record<string, unknown>;
  }
  return { args };
}

function packSources(packs: PackSpec[]): PackSource[] {
  if (!Array.isArray(packs)) throw new InputError('option `packs` must be an array');
  return packs.map((p, i): PackSource => {
    if (typeof p === 'string') {
      return /[\\/]|\.json$/i.test(p) ? { path: p } : { builtin: p };
    }
    if (typeof p === 'object' && p !== null) {
      if ('builtin' in p && typeof p.builtin === 'string') return { builtin: p.builtin };
      if ('path' in p && typeof p.path === 'string') return { path: p.path };
      if ('json' in p) return { json: typeof p.json === 'string' ? p.json : JSON.stringify(p.json) };
    }
    throw new InputError(`option \`packs[${i}]\` must be a pack name, a path, or { builtin | path | json }`);
  });
}

function guardError(out: GuardOutcome, cause: unknown): Error {
  const options = cause === undefined ? undefined : { cause };
  const message = out.message ?? 'the action was not approved';
  const decision = (out.decision ?? undefined) as Decision | undefined;
  switch (out.error) {
    case 'denied':
      return new DeniedError(message, decision as Decision, options);
    case 'expired':
      return new TimeoutError(message, out.actionId, decision, options);
    case 'approver':
      return new ApproverError(message, out.actionId, decision, options);
    case 'already_executed':
      return new AlreadyExecutedError(message, out.actionId);
    default:
      return new SentinelError('SENTINEL_STORE', message, options);
  }
}
