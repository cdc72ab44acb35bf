/**
 * `sentinel-guard`: the Sentinel safety gateway for Node.js agents. Guard tool calls
 * in-process with policy packs, risk scoring and human approval.
 *
 * ```ts
 * import { Gateway, DeniedError } from 'sentinel-guard';
 *
 * const gw = await Gateway.fromConfig('sentinel.toml');   // or new Gateway(options)
 * const paid = await gw.guard(
 *   { agentId: 'billing-bot', action: 'PAY_INVOICE',
 *     payload: { amount: 120, vendor: 'AWS' }, reasoning: 'monthly bill' },
 *   () => payInvoice(120, 'AWS'));
 * ```
 *
 * @packageDocumentation
 */

export { Gateway } from './gateway';
export {
  AlreadyExecutedError, ApproverError, ConfigError, ConflictError, DeniedError, InputError, NotFoundError, PolicyError,
  ResolveError, ScorerError, SentinelError, TimeoutError,
} from './errors';
export type { ErrorDetails, SentinelErrorCode, SentinelErrorOptions } from './errors';
export type {
  Action, ActionInput, ActionState, ActionStatus, Approval, ApprovalRequest, Approver, Assessment, AuditEvent,
  CallOptions, ConfigParts, Decision, DecisionStatus, GatewayConfig, GatewayOptions, GroqOptions, GroqStats, MetricFamily,
  MetricSample, Metrics, PackRef,
  PackSpec, QnaOptions, Resolution, RiskScorer, RuleMatch, ScoreContext, ScorerOutcome, TelnyxOptions, Timings,
  ToolCallOptions, ToolVerdict, WrapOptions,
} from './types';
export type { WebhookHeaders } from './webhook';
