/**
 * The data types of `sentinel-guard`: actions, decisions, options, custom scorers and
 * approvers.
 *
 * @module
 */

/**
 * One tool call an agent intends to make. Field names may be camelCase (`agentId`,
 * `idempotencyKey`) or the wire form's snake_case (`agent_id`, `idempotency_key`).
 * Values must be JSON data (`JSON.stringify` semantics: `undefined` is dropped).
 */
export interface ActionInput {
  /** Which agent (or agent session) asks; rules may match on it (`session_*`). */
  agentId?: string;
  /** Wire-form spelling of {@link agentId}. */
  agent_id?: string;
  /** The action name, e.g. `PAY_INVOICE`; packs apply by this name. */
  action: string;
  /** The tool call's arguments: always an object. */
  payload: Record<string, unknown>;
  /** The agent's own explanation. Untrusted text: never obeyed, only judged. */
  reasoning: string;
  /** Retries with the same key return the same action instead of a new one. */
  idempotencyKey?: string;
  /** Wire-form spelling of {@link idempotencyKey}. */
  idempotency_key?: string;
  /** Free-form labels about the caller (tenant, environment, trace id...). */
  context?: Record<string, unknown>;
}

/** An action as custom scorers and approvers receive it. */
export interface Action {
  /** Which agent asks. */
  agentId: string;
  /** The action name. */
  action: string;
  /** The tool call's arguments. */
  payload: Record<string, unknown>;
  /** The agent's own explanation (untrusted). */
  reasoning: string;
  /** The idempotency key, when given. */
  idempotencyKey?: string;
  /** Labels about the caller. */
  context: Record<string, unknown>;
}

/** What the gateway decides about an action. */
export type DecisionStatus = 'EXECUTED' | 'BLOCKED_AWAITING_AUTH' | 'DECLINED';

/** Every lifecycle state of a recorded action. */
export type ActionState =
  | 'RECEIVED'
  | 'ANALYZING'
  | 'EXECUTED'
  | 'BLOCKED_AWAITING_AUTH'
  | 'QNA_MODE'
  | 'APPROVED'
  | 'DECLINED'
  | 'EXPIRED'
  | 'ERROR_APPROVER';

/** A rule that matched an action. */
export interface RuleMatch {
  /** `pack/rule-id`, e.g. `VaultKeeper/unknown-vendor-large-payment`. */
  rule: string;
  /** The version of the pack that held the rule. */
  packVersion: string;
  /** The rule's effect in the pack format, e.g. `"deny"` or `{ "risk_floor": 80 }`. */
  effect: unknown;
  /** The rendered reason. */
  reason: string;
}

/** A pack that took part in a decision. */
export interface PackRef {
  /** The pack's name. */
  name: string;
  /** Its semantic version. */
  version: string;
  /** SHA-256 of its canonical JSON. */
  hash: string;
}

/** Whether the risk scorer was consulted. */
export interface ScorerOutcome {
  /** Rules decided (`skipped`), the scorer answered (`assessed`) or it failed (`failed`). */
  outcome: 'skipped' | 'assessed' | 'failed';
  /** `skipped`: why (`deny`, `allow`, `set_risk` or `unmatched`). */
  reason?: string;
  /** `assessed` / `failed`: the scorer's name. */
  scorer?: string;
  /** `failed`: the error message. */
  error?: string;
}

/** Stage timings of a decision, in nanoseconds. */
export interface Timings {
  /** Evaluating the rules. */
  rulesNs: number;
  /** Waiting for the scorer (0 when skipped). */
  scorerNs: number;
  /** The whole decision. */
  totalNs: number;
}

/**
 * What the gateway decided about an action, and why: the core's decision, field by field
 * in camelCase (the one place in this package that names them).
 */
export interface Decision {
  /** The action's id (a UUID v7). */
  actionId: string;
  /** Auto-approved (`EXECUTED`), escalated (`BLOCKED_AWAITING_AUTH`) or `DECLINED`. */
  status: DecisionStatus;
  /** Final risk, 0 (harmless) to 100. */
  riskScore: number;
  /** Plain-language explanation for the person who may be asked. */
  analysis: string;
  /** Matched rules as `pack/rule-id`, in evaluation order. */
  rules: string[];
  /** Matched rules in detail. */
  matched: RuleMatch[];
  /** The packs that applied to the action. */
  packs: PackRef[];
  /** Whether and how the risk scorer was consulted. */
  scorer: ScorerOutcome;
  /** How long each stage took. */
  timings: Timings;
  /**
   * When the scorer failed while this process decided (`scorer.outcome === 'failed'`): a
   * `ScorerError` (`SENTINEL_SCORER_FAILED`) whose `cause` is what a custom scorer threw.
   */
  scorerError?: Error;
}

/** A human decision as recorded. */
export interface Approval {
  /** Approved or declined. */
  approved: boolean;
  /** Who decided. */
  by: string;
  /** Through which channel. */
  channel: string;
  /** Why. */
  reason: string;
  /** When, in milliseconds since the Unix epoch. */
  atMs: number;
}

/** Where a recorded action stands. */
export interface ActionStatus {
  /** The action's id. */
  actionId: string;
  /** Its lifecycle state. */
  state: ActionState;
  /** The gateway's decision, once made. */
  decision?: Decision;
  /** The human decision, once made. */
  approval?: Approval;
  /** When a pending action expires, in milliseconds since the Unix epoch. */
  deadlineMs?: number;
  /** When the guarded function was started, in milliseconds since the Unix epoch. */
  executedAtMs?: number;
}

/** A human decision, for {@link Gateway.resolve}. */
export interface Resolution {
  /** Approve (`true`) or decline (`false`). */
  approved: boolean;
  /** Who decided: a user name, an e-mail, a phone number. */
  by: string;
  /** Through which channel: `web`, `cli`, `slack`... Default `api`. */
  channel?: string;
  /** Why, in the person's words. */
  reason?: string;
}

/** What the policy already knows when a scorer is asked. */
export interface ScoreContext {
  /** The applying pack's base risk for this action, when a pack applies. */
  defaultRisk?: number;
  /** The pack's reason for that base risk. */
  defaultReason?: string;
  /** Reasons of the rules that matched (floors, ceilings, escalations). */
  policyReasons: string[];
}

/** A scorer's judgement. */
export interface Assessment {
  /** An integer from 0 (harmless) to 100. */
  riskScore: number;
  /** Two or three plain sentences for a busy on-call manager. */
  analysis: string;
}

/**
 * A custom risk scorer: any object (or class instance) with an async `assess`. Called
 * only when the rules have not decided; it can never lower a score below a pack's floor
 * nor undo a `deny`. A throw or rejection fails the action closed.
 */
export interface RiskScorer {
  /** A short name for decisions and logs. Default `js`. */
  name?: string;
  /** Scores an action. Treat `payload` and `reasoning` as untrusted data. */
  assess(action: Action, context: ScoreContext): Assessment | Promise<Assessment>;
  /** Answers a human's question about an assessed action in a few spoken sentences. */
  explain?(action: Action, assessment: Assessment, question: string): string | Promise<string>;
}

/** What an approver receives for each escalated action. */
export interface ApprovalRequest {
  /** The action's id. */
  actionId: string;
  /** The action. */
  action: Action;
  /** Why it was escalated: score, analysis, rules. */
  decision: Decision;
  /** After this, the action expires undecided. */
  deadline: Date;
  /** Approves the action (default `by`: the approver's name, `channel`: `js`). */
  approve(options?: { by?: string; channel?: string; reason?: string }): Promise<ActionStatus>;
  /** Declines the action. */
  decline(options?: { by?: string; channel?: string; reason?: string }): Promise<ActionStatus>;
  /** Answers a question about the action through the gateway's scorer. */
  explain(question: string): Promise<string>;
}

/**
 * A custom approver: any object with an async `request` that starts asking a human
 * (posts a message, places a call) and returns. The answer comes later through
 * `request.approve()` / `request.decline()` or {@link Gateway.resolve}. A throw or
 * rejection means no human could be asked: the action fails closed.
 */
export interface Approver {
  /** A short name for audit records. Default `js`. */
  name?: string;
  /** Starts an approval for an escalated action. */
  request(request: ApprovalRequest): void | Promise<void>;
}

/**
 * A policy pack: a built-in pack's name (`VaultKeeper`, `PrivacyShield`, `OpsGuard`), else
 * the path of a pack file; or an object `{ builtin }`, `{ path }` or `{ json }` (a pack
 * document as text or as an object). The same rules as a configuration's `[[packs]]`.
 */
export type PackSpec = string | { builtin: string } | { path: string } | { json: string | object };

/**
 * Settings of the Groq scorer (any OpenAI-compatible chat completions API). Each one left
 * out comes from its environment variable, then the core's default. Prompts, redaction
 * (SSNs, cards, e-mails, phones, secrets, pack paths), retries and parsing are the core's;
 * a failed or unusable reply fails the action closed (see `onScorerError`).
 */
export interface GroqOptions {
  /** The API key. Default `GROQ_API_KEY` (required one way or the other). Never printed. */
  apiKey?: string;
  /** The API's base URL. Default `GROQ_BASE_URL`, else `https://api.groq.com/openai/v1`. */
  baseUrl?: string;
  /** The model. Default `GROQ_MODEL`, else `llama-3.3-70b-versatile`. */
  model?: string;
  /** Time limit of one HTTP attempt, ms. Default 15000. */
  timeoutMs?: number;
  /** Time limit for opening a connection, ms. Default 5000. */
  connectTimeoutMs?: number;
  /** Time limit of a whole assessment, retries and waits included, ms. Default 30000. */
  deadlineMs?: number;
  /** Retries after a 429, a 5xx, a timeout or a connection error. Default 2. */
  maxRetries?: number;
  /** The first wait between retries (doubled each time, with jitter), ms. Default 250. */
  retryBackoffMs?: number;
  /** Requests in flight at most. Default 8. */
  concurrency?: number;
  /** Caches the assessment of an identical action for this long, ms. Default: no cache. */
  cacheTtlMs?: number;
  /** Paths masked in every prompt besides those the packs declare, e.g. `payload.iban`. */
  redactPaths?: string[];
}

/** What the Groq scorer did since the gateway was built ({@link Gateway.groqStats}). */
/** One labelled value of a metric family, as `gateway.metrics()` returns it. */
export interface MetricSample {
  /** Label names and values, e.g. `{ status: 'EXECUTED' }`. */
  labels: Record<string, string>;
  /** A counter's or gauge's value (absent for histograms). */
  value?: number;
  /** A histogram's number of observations. */
  count?: number;
  /** A histogram's sum of observations, in seconds. */
  sum?: number;
  /** A histogram's cumulative buckets: upper bound (`'0.005'`, `'+Inf'`) to count. */
  buckets?: Record<string, number>;
}

/** One metric family: its Prometheus type, help text and samples. */
export interface MetricFamily {
  type: 'counter' | 'gauge' | 'histogram';
  help: string;
  samples: MetricSample[];
}

/** `gateway.metrics()`: every family, keyed by metric name (`sentinel_decisions_total`...). */
export type Metrics = Record<string, MetricFamily>;

export interface GroqStats {
  /** HTTP requests sent, retries included (what is billed). */
  calls: number;
  /** Of `calls`, the retries. */
  retries: number;
  /** Assessments answered from the cache, without a call. */
  cacheHits: number;
  /** Assessments and answers that failed (the gateway failed closed). */
  failures: number;
}

/**
 * Settings of the Telnyx voice approver, which phones the admin about each escalated
 * action. Each one left out comes from its environment variable (in brackets), then the
 * core's default. The call flow, webhook signature checks and decisions are the core's.
 */
export interface TelnyxOptions {
  /** API key (`TELNYX_API_KEY`). Never printed. */
  apiKey?: string;
  /** The Call Control application that places the call (`TELNYX_CONNECTION_ID`). */
  connectionId?: string;
  /** The number calling, E.164 (`TELNYX_PHONE_NUMBER`). */
  fromNumber?: string;
  /** The admin who is called, E.164 (`ADMIN_PHONE_NUMBER`). */
  adminNumber?: string;
  /** Webhook signing key, base64 of the 32 raw Ed25519 bytes (`TELNYX_PUBLIC_KEY`). */
  publicKey?: string;
  /** This server's public base URL; webhooks go to `{publicUrl}/api/telnyx/webhook` (`SENTINEL_PUBLIC_URL`). */
  publicUrl?: string;
  /** Telnyx API base URL (`TELNYX_API_BASE`, default `https://api.telnyx.com/v2`). */
  apiBase?: string;
  /** 4 to 12 digits also needed to approve (`TELNYX_APPROVAL_PIN`). Never printed. */
  pin?: string;
  /** How long the menu waits for a key, s (`TELNYX_GATHER_TIMEOUT_SECS`, 1-120, default 10). */
  gatherTimeoutSecs?: number;
  /** Menu replays after silence or a wrong key (`TELNYX_MAX_REPLAYS`, 0-10, default 2). */
  maxReplays?: number;
  /** How long the phone rings, s (`TELNYX_RING_TIMEOUT_SECS`, 5-120, default 30). */
  ringTimeoutSecs?: number;
  /** The longest call, s (`TELNYX_CALL_TIME_LIMIT_SECS`, 30-14400, default 600). */
  callTimeLimitSecs?: number;
  /** Text-to-speech voice (`TELNYX_VOICE`, default `female`). */
  voice?: string;
  /** Text-to-speech language (`TELNYX_LANGUAGE`, default `en-US`). */
  language?: string;
  /** Paths masked in what is read aloud, besides those the packs declare. */
  redactPaths?: string[];
}

/** One entry of an action's append-only audit trail ({@link Gateway.auditTrail}). */
export interface AuditEvent {
  /** Position in the store's trail, starting at 1. */
  seq: number;
  /** `transition` (a state change) or `execution` (the guarded function started). */
  kind: 'transition' | 'execution';
  /** The action's id. */
  actionId: string;
  /** The acting agent. */
  agentId: string;
  /** The action name. */
  action: string;
  /** The state before (absent when the action was received). */
  from?: ActionState;
  /** The state after. */
  to: ActionState;
  /** Who caused it: `sentinel` for the gateway itself, else the person (a phone number for voice). */
  actor: string;
  /** Through which channel: `policy`, `timeout`, `voice/dtmf`, `web`... */
  channel: string;
  /** Why. */
  reason: string;
  /** When, in milliseconds since the Unix epoch. */
  atMs: number;
  /** Hash of the store's previous audit event (the hash chain). */
  prevHash: string;
  /** Hash of this event. */
  hash: string;
}

/**
 * A configuration as an object, for {@link Gateway.fromConfig}: the keys of a
 * configuration file, exactly (snake_case, seconds), e.g.
 * `{ gateway: { unmatched: 'deny', escalation_timeout_s: 60 }, packs: [{ builtin: 'OpsGuard' }],
 * store: { url: 'sqlite://sentinel.db' }, scorer: { kind: 'groq', groq: { api_key_env: 'GROQ_API_KEY' } } }`.
 * The schema is `schema/sentinel-config.schema.json` (`sentinel config schema`); the core
 * checks every key and value.
 */
export type GatewayConfig = Record<string, unknown>;

/** Custom parts for {@link Gateway.fromConfig}, replacing the configuration's. */
export interface ConfigParts {
  /** A custom risk scorer object, instead of the configuration's `[scorer]`. */
  scorer?: RiskScorer;
  /** A custom approver object, instead of the configuration's `[approver]`. */
  approver?: Approver;
}

/** Who switches an action's voice Q&A mode, for {@link Gateway.setQnaMode}. */
export interface QnaOptions {
  /** Who: a user name, a phone number. */
  by: string;
  /** Through which channel: `voice/speech`, `web`... Default `api`. */
  channel?: string;
}

/**
 * Options of `new Gateway(options)`: the settings of a configuration file in camelCase,
 * durations in milliseconds, secrets given in code. They are written as that
 * configuration, and checked by the core exactly as {@link Gateway.fromConfig} checks one.
 */
export interface GatewayOptions {
  /** The packs to enforce. Default: the three seed packs. */
  packs?: PackSpec[];
  /**
   * The risk scorer. Default: the built-in offline scorer (the packs' base risks).
   * `'groq'`: the core's LLM scorer configured from the environment; `{ groq: {...} }`:
   * the same with settings; or a custom {@link RiskScorer} object.
   */
  scorer?: RiskScorer | 'groq' | { groq: GroqOptions };
  /**
   * Who asks a human about escalated actions. Default: none; use {@link Gateway.resolve}.
   * `'telnyx'`: the core's voice approver configured from the environment;
   * `{ telnyx: {...} }`: the same with settings (mount {@link Gateway.handleTelnyxWebhook});
   * or a custom {@link Approver} object.
   */
  approver?: Approver | 'telnyx' | { telnyx: TelnyxOptions };
  /**
   * Where actions, decisions, approvals and the audit trail are kept. Default: in memory.
   * `sqlite:///var/lib/app/sentinel.db` or a file path: SQLite (created if missing);
   * `postgres://user@host/db`: PostgreSQL, shared by several processes. Opened, and
   * pending approvals recovered, by {@link Gateway.open} / {@link Gateway.ready}, or
   * before the first call that needs it.
   */
  store?: string;
  /** With a PostgreSQL `store`: keep the tables in this schema (created if missing). */
  storeSchema?: string;
  /** How long an escalated action waits for a human, in ms. Default 180000. */
  escalationTimeoutMs?: number;
  /** Actions no pack covers: `escalate` (default), `deny`, or `score` (the scorer decides). */
  unmatched?: 'escalate' | 'deny' | 'score';
  /** When the scorer fails: `escalate` (default) or `deny`. Never auto-approves. */
  onScorerError?: 'escalate' | 'deny';
}

/** Options of {@link Gateway.evaluate}, {@link Gateway.guard} and friends. */
export interface CallOptions {
  /**
   * Accept only the wire form (snake_case names, exactly as the CLI and HTTP API take
   * it): `agentId` is then an unknown field. Default `false`.
   */
  strict?: boolean;
  /**
   * A W3C trace context (`00-{trace id}-{span id}-{flags}`): Sentinel's span of this call
   * becomes a child of that span when traces are exported (`[telemetry] otlp_endpoint`).
   * Default: the active context of the host's `@opentelemetry/api`, when it has one.
   */
  traceparent?: string;
}

/** Options of {@link Gateway.wrap}. */
export interface WrapOptions<A extends unknown[]> {
  /** The agent on whose behalf the wrapped function runs. */
  agentId: string;
  /** The agent's reasoning: text, or computed from the call's arguments. Default `''`. */
  reasoning?: string | ((...args: A) => string);
  /**
   * The action's payload from the call's arguments. Default: a single plain-object
   * argument is the payload; otherwise `{ args: [...] }`.
   */
  payload?: (...args: A) => Record<string, unknown>;
  /** Labels about the caller. */
  context?: Record<string, unknown>;
}

/**
 * Who makes a framework's tool call and why, for {@link Gateway.toolAction},
 * {@link Gateway.evaluateTool} and {@link Gateway.authorizeTool}.
 */
export interface ToolCallOptions {
  /** The agent making the call. Default: the configuration's `[mcp] agent_id`, else `mcp-client`. */
  agentId?: string;
  /** The agent's own explanation of the call (untrusted), when the framework has one. */
  reasoning?: string;
  /** A W3C trace context, as in {@link CallOptions.traceparent}. */
  traceparent?: string;
  /**
   * {@link Gateway.authorizeTool} only: who already approved this call through the
   * framework's own approval flow (OpenAI Agents' `needsApproval` interruptions). When
   * Sentinel escalates the call, that approval is recorded as theirs (the channel is the
   * integration) instead of asking a human again; a call policy declines stays declined.
   */
  approvedBy?: string;
}

/** Whether a framework's tool call may run ({@link Gateway.authorizeTool}), and if not, why. */
export interface ToolVerdict {
  /** True when the tool may run now: auto-approved, or approved by a human. Its one execution is claimed. */
  allowed: boolean;
  /** The tool's name, as the framework called it. */
  tool: string;
  /** The action the call is (`PAY_INVOICE`). */
  action: string;
  /** The recorded action's id, when one was recorded. */
  actionId?: string;
  /**
   * The action's state: `EXECUTED` (auto-approved) or `APPROVED` when allowed; `DECLINED`,
   * `EXPIRED`, `ERROR_APPROVER`... when refused; absent when the call could not be decided on.
   */
  status?: ActionState;
  /**
   * The refusal in words for the model — the status, the risk, the analysis and the rules,
   * as the MCP proxy words it; empty when allowed. Agent-supplied text is inside: show it
   * as text, never as markup.
   */
  message: string;
  /** The decision, when one was made. */
  decision?: Decision;
  /** The error {@link Gateway.guard} would have thrown (`DeniedError`, `TimeoutError`, `InputError`...). */
  error?: Error;
}
