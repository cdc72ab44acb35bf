/**
 * The {@link Gateway}: evaluate, guard, wrap and resolve agent actions.
 *
 * @module
 */

import { NativeGateway } from '../native';
import type { ActionStatus as NativeStatus, ConfigSource, ToolCallMeta, ToolVerdict as NativeVerdict } from '../native';
import { aliasesOf, toWire } from './action';
import { CauseTable, isCustom, wrapApprover, wrapScorer } from './callbacks';
import type { ApproverCallbacks, ScorerCallbacks } from './callbacks';
import { decodeDecision } from './codec';
import type { ScorerErrorFactory } from './codec';
import { ConfigError, InputError, ScorerError, SentinelError, messageOf, sentinelError } from './errors';
import type { ErrorDetails, SentinelErrorCode } from './errors';
import { argumentsText, refusedHere } from './tools';
import { activeTraceparent } from './trace';
import { headerMap } from './webhook';
import type { WebhookHeaders } from './webhook';
import type {
  Action, ActionInput, ActionStatus, Approver, AuditEvent, CallOptions, ConfigParts, Decision, GatewayConfig, GatewayOptions,
  GroqStats, Metrics, QnaOptions, Resolution, RiskScorer, ToolCallOptions, ToolVerdict, WrapOptions,
} from './types';

/** Marks the constructor argument `Gateway.fromConfig` passes (users cannot forge it). */
const FROM_CONFIG = Symbol('sentinel-guard fromConfig');

interface FromConfig {
  [FROM_CONFIG]: { source: ConfigSource; parts: ConfigParts };
}

/** The properties of an error the native addon raises (see `src/errors.rs`). */
interface NativeError {
  code?: unknown;
  message?: unknown;
  field?: string;
  key?: string;
  file?: string;
  line?: number;
  env?: string;
  setting?: string;
  actionId?: string;
  decision?: string;
  causeId?: number;
}

/**
 * The safety gateway. Every decision is made by the Rust core: on the JS thread when it
 * involves no I/O (the built-in scorer and the in-memory store: a few microseconds), else
 * off it; custom scorers and approvers are called back on the JS thread and never keep
 * the process alive by themselves.
 *
 * ```ts
 * const gw = await Gateway.fromConfig('sentinel.toml');   // the configuration every host reads
 * const d = await gw.evaluate({ agentId: 'session_x', action: 'PAY_INVOICE',
 *   payload: { amount: 10000, vendor: 'Unknown Corp' }, reasoning: 'overdue' });
 * d.status;                                                // 'BLOCKED_AWAITING_AUTH'
 * ```
 *
 * `new Gateway(options)` takes the same settings as options (camelCase, milliseconds);
 * with a durable `store`, `await Gateway.open(options)` connects it (migrations run) and
 * recovers pending approvals from an earlier process before it returns. `new Gateway`
 * opens the store before the first call that needs it (`guard`, `resolve`, `status`,
 * `explain`, `auditTrail`, `setQnaMode`).
 */
export class Gateway {
  readonly #native: NativeGateway;
  readonly #causes = new CauseTable();
  readonly #durable: boolean;
  /** Spans are exported: calls carry the caller's OpenTelemetry context. */
  readonly #traced: boolean;
  #opening: Promise<void> | undefined;
  /** Makes `decision.scorerError`, with what a custom scorer threw as `cause`. */
  readonly #scorerError: ScorerErrorFactory = (message, causeId) =>
    new ScorerError(message, { cause: this.#causes.take(causeId) });
  readonly #decode = (text: string): Decision => decodeDecision(text, this.#scorerError);

  /**
   * Builds a gateway from a configuration — the same file every host reads (the
   * `sentinel` CLI, `sentinel-server`, Python's `Gateway.from_config`) — and opens its
   * store, recovering the approvals that were pending in it.
   *
   * `config` is the path of a TOML or JSON file (JSON when it ends in `.json`; relative
   * paths inside are relative to the file's folder), or the configuration as an object
   * with the file's keys (snake_case: `{ gateway: { unmatched: 'deny' }, packs: [{ builtin:
   * 'OpsGuard' }] }`; relative paths relative to the working directory). Secrets are never
   * in it: it names the environment variables or files that hold them (`api_key_env`,
   * `pin_file`...). `parts.scorer` / `parts.approver`: a custom scorer or approver object
   * that replaces the configuration's.
   *
   * @throws {ConfigError} when the configuration is unusable: `err.key` is the key path,
   *   `err.file` and `err.line` where it is, `err.env` the environment variable behind it.
   */
  static async fromConfig(config: string | GatewayConfig, parts: ConfigParts = {}): Promise<Gateway> {
    let source: ConfigSource;
    if (typeof config === 'string') {
      source = { path: config };
    } else {
      let mapping: string | undefined;
      try {
        mapping = JSON.stringify(config);
      } catch (err) {
        throw new ConfigError(`a configuration object must be JSON data: ${messageOf(err)}`, { cause: err, key: '' });
      }
      source = { mapping: mapping ?? 'null' };
    }
    const internal: FromConfig = { [FROM_CONFIG]: { source, parts: parts ?? {} } };
    return new Gateway(internal as unknown as GatewayOptions).ready();
  }

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
   * Builds a gateway from options. A durable `store` is opened later: see
   * {@link Gateway.open}.
   *
   * @throws {ConfigError} on a bad option, or a missing or bad environment variable behind
   *   one; `err.setting` names it (`scorer.groq.baseUrl`, `GROQ_API_KEY`), `err.key` the
   *   configuration key it stands for (`scorer.groq.base_url`).
   * @throws {PolicyError} (a `ConfigError`) when a pack does not load, at `packs[i]`; the
   *   message names the pack, the rule and the JSON pointer.
   */
  constructor(options: GatewayOptions = {}) {
    const config = typeof options === 'object' && options !== null
      ? (options as Partial<FromConfig>)[FROM_CONFIG]
      : undefined;
    const parts: { scorer?: unknown; approver?: unknown } = config?.parts
      ?? (typeof options === 'object' && options !== null ? options : {});
    // A custom object is called back; anything else but a function is a setting the core
    // reads (and a function is refused by `wrapScorer` / `wrapApprover`).
    const custom = (value: unknown, method: 'assess' | 'request'): boolean =>
      isCustom(value, method) || typeof value === 'function' || (config !== undefined && value != null);
    let scorer: ScorerCallbacks | undefined;
    if (custom(parts.scorer, 'assess')) {
      scorer = wrapScorer(parts.scorer as RiskScorer, this.#causes);
    }
    let approver: ApproverCallbacks | undefined;
    if (custom(parts.approver, 'request')) {
      approver = wrapApprover(parts.approver as Approver, new WeakRef(this), this.#causes, this.#decode);
    }
    const names = { scorer: scorer?.name, approver: approver?.name };
    try {
      this.#native = config !== undefined
        ? NativeGateway.fromConfig(config.source, names, scorer?.assess, scorer?.explain, approver?.request)
        : new NativeGateway(optionsText(options, scorer !== undefined, approver !== undefined), names,
          scorer?.assess, scorer?.explain, approver?.request);
    } catch (err) {
      throw this.#fail(err);
    }
    this.#durable = this.#native.durable;
    this.#traced = NativeGateway.telemetryEnabled();
  }

  /** The `traceparent` a call runs under: the caller's, else the active OpenTelemetry one. */
  #traceparent(options: CallOptions | undefined): string | undefined {
    return options?.traceparent ?? (this.#traced ? activeTraceparent() : undefined);
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
          throw this.#fail(err);
        },
      );
      await this.#opening;
    }
    return this;
  }

  /**
   * What this gateway has counted, as the core keeps it (the families `sentinel-server`
   * serves at `GET /metrics`): keyed by metric name (`sentinel_decisions_total`...), each
   * `{type, help, samples}`. With a durable store, the counts of the gateway `ready()` opened.
   */
  metrics(): Metrics {
    return this.#native.metrics() as Metrics;
  }

  /**
   * Exports the spans ended so far to the OTLP collector (`[telemetry] otlp_endpoint`),
   * waiting for it a few seconds at most: call it before the process exits.
   */
  static flushTelemetry(): void {
    NativeGateway.flushTelemetry();
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
   * @throws {SentinelError} `SENTINEL_UNSUPPORTED` when the gateway has no Telnyx approver.
   * @throws {InputError} when `body` is not a `Buffer` / `Uint8Array`.
   */
  async handleTelnyxWebhook(headers: WebhookHeaders, body: Uint8Array): Promise<number> {
    if (!(body instanceof Uint8Array)) {
      throw new InputError('the webhook body must be the raw bytes (a Buffer or Uint8Array)', request('body'));
    }
    if (typeof headers !== 'object' || headers === null) {
      throw new InputError('the webhook headers must be an object', request('headers'));
    }
    try {
      return await this.#native.handleTelnyxWebhook(headerMap(headers), body);
    } catch (err) {
      throw this.#fail(err);
    }
  }

  /**
   * The audit trail of one action, oldest first: each state change and the execution,
   * with who, through which channel, why and when, hash-chained.
   *
   * @throws {InputError} on a malformed id.
   */
  async auditTrail(actionId: string): Promise<AuditEvent[]> {
    if (this.#durable) await this.ready();
    try {
      return (await this.#native.auditTrail(String(actionId))) as AuditEvent[];
    } catch (err) {
      throw this.#fail(err);
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
    const traceparent = this.#traceparent(options);
    let encoded: string;
    try {
      // Decided on this thread when no I/O is involved (the core's built-in scorer, the
      // in-memory store); otherwise off it.
      encoded = this.#native.evaluateNow(wire, aliases, traceparent)
        ?? await this.#native.evaluate(wire, aliases, traceparent);
    } catch (err) {
      throw this.#fail(err);
    }
    return this.#decode(encoded);
  }

  /**
   * {@link evaluate} on the calling thread: a few microseconds, without the thread hop
   * of an async call. Only with the built-in scorer (any other may have to wait).
   *
   * @throws {InputError} when the action is ill-formed.
   * @throws {SentinelError} with code `SENTINEL_UNSUPPORTED` when another scorer is set.
   */
  evaluateSync(action: ActionInput, options?: CallOptions): Decision {
    const aliases = aliasesOf(action, options?.strict);
    const wire = toWire(action, options?.strict, aliases);
    let encoded: string;
    try {
      encoded = this.#native.evaluateSync(wire, aliases, this.#traceparent(options));
    } catch (err) {
      throw this.#fail(err);
    }
    return this.#decode(encoded);
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
   * @throws {ConflictError} when the idempotency key belongs to another action.
   * @throws {InputError} when the action is ill-formed.
   * Whatever `fn` throws is rethrown as is. When a custom scorer failed, the error's
   * `cause` is what the scorer threw.
   */
  async guard<T>(action: ActionInput, fn: () => T | PromiseLike<T>, options?: CallOptions): Promise<Awaited<T>> {
    if (typeof fn !== 'function') {
      throw new InputError(`the guarded function must be a function, found ${typeof fn}`, request('fn'));
    }
    const aliases = aliasesOf(action, options?.strict);
    const wire = toWire(action, options?.strict, aliases);
    if (this.#durable) await this.ready();
    try {
      // Settled on this thread when no I/O is involved and nobody has to be asked (an
      // auto-approved or declined action); otherwise a promise to wait for.
      const waiting = this.#native.authorizeNow(wire, aliases, this.#traceparent(options));
      // Either way the function runs after `guard` has returned its promise.
      await waiting;
    } catch (err) {
      throw this.#fail(err);
    }
    return await fn();
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
    if (typeof fn !== 'function') {
      throw new InputError(`the wrapped function must be a function, found ${typeof fn}`, request('fn'));
    }
    if (typeof options !== 'object' || options === null) throw new InputError('`wrap` needs options with `agentId`', request('options'));
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
   * The action a framework's tool call is — the mapping of the MCP proxy and every
   * integration, from the configuration `Gateway.fromConfig` read: the tool's name
   * upper-cased (`pay_invoice` → `PAY_INVOICE`) unless `[mcp.tools.NAME] action` names
   * another; the arguments as the payload; `options.agentId`, else `[mcp] agent_id`, else
   * `mcp-client`; the reasoning; the context `{ tool, integration }`.
   *
   * `integration` names the framework (`ai_sdk`, `openai_agents`); `args` is an object, or
   * the JSON text of one (as OpenAI function calls carry it, parsed strictly), or
   * `undefined` for none.
   *
   * @throws {InputError} when the call cannot become an action (arguments that are no object).
   */
  toolAction(integration: string, tool: string, args?: unknown, options?: ToolCallOptions): Action {
    const text = argumentsText(String(tool), args);
    try {
      return this.#native.toolAction(String(integration), String(tool), text, meta(options)) as Action;
    } catch (err) {
      throw this.#fail(err);
    }
  }

  /**
   * What {@link authorizeTool} would say about a framework's tool call at once, without
   * recording, waiting or running anything: `allowed` when Sentinel auto-approves it;
   * escalated: not allowed, `status` `BLOCKED_AWAITING_AUTH` and no `message`; declined, or
   * a call that cannot become an action: not allowed, with the refusal. Never rejects.
   */
  async evaluateTool(integration: string, tool: string, args?: unknown, options?: ToolCallOptions): Promise<ToolVerdict> {
    return this.#toolVerdict(tool, args, false, (name, text) =>
      this.#native.evaluateTool(String(integration), name, text, this.#meta(options)));
  }

  /**
   * Whether a framework's tool call may run: submits it as the action {@link toolAction}
   * maps it to, waits for a human when it is escalated (up to the escalation timeout), and
   * claims its one execution, like {@link guard} without running anything. Never rejects:
   * a refusal, and any failure on the way, is a verdict with `allowed: false` whose
   * `message` tells the model why (the MCP proxy's words). The framework integrations
   * (`sentinel-guard/ai-sdk`, `sentinel-guard/openai-agents`) are built on it.
   */
  async authorizeTool(integration: string, tool: string, args?: unknown, options?: ToolCallOptions): Promise<ToolVerdict> {
    return this.#toolVerdict(tool, args, this.#durable, (name, text) =>
      this.#native.authorizeTool(String(integration), name, text, this.#meta(options)));
  }

  /** Runs a native tool method and turns its verdict into a {@link ToolVerdict}; fails closed. */
  async #toolVerdict(
    tool: string, args: unknown, open: boolean, call: (name: string, args: string) => Promise<NativeVerdict>,
  ): Promise<ToolVerdict> {
    const name = String(tool);
    let action = '';
    try {
      action = this.#native.toolActionName(name);
      const text = argumentsText(name, args);
      if (open) await this.ready();
      const v = await call(name, text);
      const verdict: ToolVerdict = { allowed: v.allowed, tool: v.tool, action: v.action, message: v.message };
      if (v.actionId != null) verdict.actionId = v.actionId;
      if (v.status != null) verdict.status = v.status as ToolVerdict['status'];
      if (v.decision != null) verdict.decision = this.#decode(v.decision);
      if (v.code != null) {
        const cause = this.#causes.take(v.causeId);
        const details: ErrorDetails = { actionId: verdict.actionId, decision: verdict.decision };
        if (cause !== undefined) details.cause = cause;
        verdict.error = sentinelError(v.code as SentinelErrorCode, v.error ?? v.message, details);
      }
      return verdict;
    } catch (err) {
      // Fails closed: whatever went wrong, the tool does not run.
      const error = err instanceof Error ? err : new SentinelError('SENTINEL_INTERNAL', messageOf(err), { cause: err });
      return refusedHere(name, action, error);
    }
  }

  /** The native form of {@link ToolCallOptions}, with the caller's trace context. */
  #meta(options: ToolCallOptions | undefined): ToolCallMeta {
    const out = meta(options);
    const traceparent = this.#traceparent(options);
    if (traceparent !== undefined) out.traceparent = traceparent;
    return out;
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
    if (this.#durable) await this.ready();
    try {
      return this.#status(await this.#native.resolve(String(actionId), resolution));
    } catch (err) {
      throw this.#fail(err);
    }
  }

  /**
   * Marks a pending action as being discussed (`on`: `QNA_MODE`, e.g. while an admin asks
   * questions on the phone) or back to waiting (`BLOCKED_AWAITING_AUTH`). Recorded in the
   * audit trail as `by` through `channel` (default `api`); the escalation timeout still runs.
   *
   * @throws {NotFoundError} when no action has this id.
   * @throws {ResolveError} when the action is not pending (already decided, or not in Q&A).
   * @throws {InputError} on a malformed id, `on` or `by`.
   */
  async setQnaMode(actionId: string, on: boolean, options: QnaOptions): Promise<ActionStatus> {
    if (this.#durable) await this.ready();
    try {
      return this.#status(await this.#native.setQnaMode(String(actionId), { ...options, on }));
    } catch (err) {
      throw this.#fail(err);
    }
  }

  /**
   * Where an action stands.
   *
   * @throws {NotFoundError} when no action has this id.
   */
  async status(actionId: string): Promise<ActionStatus> {
    if (this.#durable) await this.ready();
    try {
      return this.#status(await this.#native.status(String(actionId)));
    } catch (err) {
      throw this.#fail(err);
    }
  }

  /** Answers a human's question about a recorded action, through the scorer. */
  async explain(actionId: string, question: string): Promise<string> {
    if (this.#durable) await this.ready();
    try {
      return await this.#native.explain(String(actionId), String(question));
    } catch (err) {
      throw this.#fail(err);
    }
  }

  /** An action record as users see it: the decision decoded like any other. */
  #status(s: NativeStatus): ActionStatus {
    const out = s as unknown as ActionStatus & { decision?: unknown };
    if (typeof s.decision === 'string') out.decision = this.#decode(s.decision);
    else delete out.decision;
    return out;
  }

  /**
   * The Sentinel error for an error the native addon raised: the class from its code,
   * the details it carries, and as `cause` what a custom scorer or approver threw.
   */
  #fail(err: unknown): Error {
    const e = (typeof err === 'object' && err !== null ? err : {}) as NativeError;
    if (typeof e.code !== 'string' || !e.code.startsWith('SENTINEL_')) {
      // Not raised by Sentinel (the addon's own argument conversion): kept as `cause`.
      return new SentinelError('SENTINEL_INTERNAL', messageOf(err), { cause: err });
    }
    const cause = this.#causes.take(e.causeId);
    const details: ErrorDetails = {
      actionId: e.actionId, field: e.field, key: e.key, file: e.file, line: e.line, env: e.env, setting: e.setting,
    };
    if (cause !== undefined) details.cause = cause;
    if (typeof e.decision === 'string') {
      details.decision = decodeDecision(e.decision, (message, id) =>
        new ScorerError(message, { cause: id === e.causeId ? cause : this.#causes.take(id) }));
    }
    return sentinelError(e.code as SentinelErrorCode, messageOf(err), details);
  }
}

/** The agent id and reasoning of a tool call, as the native addon takes them. */
function meta(options: ToolCallOptions | undefined): ToolCallMeta {
  const out: ToolCallMeta = {};
  if (options?.agentId != null) out.agentId = String(options.agentId);
  if (options?.reasoning != null) out.reasoning = String(options.reasoning);
  if (options?.approvedBy != null) out.approvedBy = String(options.approvedBy);
  return out;
}

/** Details of an {@link InputError} about an argument below the action. */
function request(field: string): ErrorDetails {
  return { code: 'SENTINEL_INVALID_REQUEST', field };
}

/**
 * The options as JSON text for the native addon, without the custom scorer and approver
 * (which are passed as callbacks). Values follow `JSON.stringify`, as actions do.
 */
function optionsText(options: unknown, customScorer: boolean, customApprover: boolean): string {
  let plain = options;
  if ((customScorer || customApprover) && typeof options === 'object' && options !== null) {
    const copy: Record<string, unknown> = { ...options };
    if (customScorer) delete copy.scorer;
    if (customApprover) delete copy.approver;
    plain = copy;
  }
  try {
    return JSON.stringify(plain) ?? 'null';
  } catch (err) {
    throw new ConfigError(`gateway options must be JSON data: ${messageOf(err)}`, { cause: err, key: '', setting: '' });
  }
}

function defaultPayload(args: unknown[]): Record<string, unknown> {
  const [first] = args;
  if (args.length === 1 && typeof first === 'object' && first !== null && !Array.isArray(first)) {
    return first as Record<string, unknown>;
  }
  return { args };
}
