/**
 * `sentinel-guard/openai-agents`: Sentinel decides the tool calls of OpenAI Agents JS
 * (`@openai/agents`).
 *
 * ```ts
 * import { Agent, run, tool } from '@openai/agents';
 * import { Gateway } from 'sentinel-guard';
 * import { sentinelInputGuardrail } from 'sentinel-guard/openai-agents';
 *
 * const gateway = await Gateway.fromConfig('sentinel.toml');
 * const payInvoice = tool({ name: 'pay_invoice', parameters, execute,
 *   inputGuardrails: [sentinelInputGuardrail(gateway)] });
 * ```
 *
 * {@link sentinelInputGuardrail} is the whole of Sentinel: the call is submitted as the
 * action the MCP proxy would make of it, an escalated call waits for the human Sentinel
 * asks (its approver, the approval ladder, `sentinel-server`'s console), and a refused call
 * becomes the tool's output — Sentinel's reason, which the model reads — without running.
 *
 * {@link sentinelNeedsApproval} bridges to the SDK's own approval flow
 * (`tool({ needsApproval })`, `result.interruptions`, `state.approve()`), for applications
 * whose human step is their own UI: the run stops before the calls Sentinel would not
 * auto-approve; after `state.approve(item)` the guardrail (kept on the tool) records that
 * approval in Sentinel instead of asking a human again, and a call policy declines stays
 * declined.
 *
 * @module
 */

import type { Gateway } from './gateway';
import { refusedHere } from './tools';
import { messageOf } from './errors';
import type { ToolVerdict } from './types';

// The SDK is an optional peer dependency, loaded when a guardrail is made. Its types are
// not imported: the shapes used here are declared below (and checked against the SDK by
// test/types.test.mjs).
declare const require: (id: string) => unknown;

/** What a guardrail's `run` returns (the SDK's `ToolGuardrailFunctionOutput`). */
export interface GuardrailOutput {
  /** Allow the call, or reject it with a message the model reads as the tool's output. */
  behavior: { type: 'allow' } | { type: 'rejectContent'; message: string } | { type: 'throwException' };
  /** Sentinel's record of the call. */
  outputInfo?: unknown;
}

/** A tool input guardrail, as the SDK's `defineToolInputGuardrail` makes it. */
export interface SentinelInputGuardrail {
  type: 'tool_input';
  name: string;
  run: (data: GuardrailCall) => Promise<GuardrailOutput>;
}

interface AgentsModule {
  defineToolInputGuardrail(args: { name: string; run: (data: GuardrailCall) => Promise<GuardrailOutput> }): SentinelInputGuardrail;
  ToolGuardrailFunctionOutputFactory: {
    allow(outputInfo?: unknown): GuardrailOutput;
    rejectContent(message: string, outputInfo?: unknown): GuardrailOutput;
  };
}

function agentsSdk(): AgentsModule {
  try {
    return require('@openai/agents') as AgentsModule;
  } catch (err) {
    throw new Error('sentinel-guard/openai-agents needs the OpenAI Agents SDK: `npm install @openai/agents`', { cause: err });
  }
}

/** The integration name in each action's context (`{"integration": "openai_agents"}`). */
export const INTEGRATION = 'openai_agents';

/** What a guardrail's `run` receives (the fields read here). */
export interface GuardrailCall {
  /** The run's context: whether the application approved the call (`state.approve`). */
  context?: { isToolApproved?(approval: { toolName: string; callId: string }): boolean | undefined };
  /** The agent whose model made the call. */
  agent: { name: string };
  /** The function call: its tool's name and its arguments as JSON text. */
  toolCall: { name: string; arguments: string; callId?: string };
}

/** Options of {@link sentinelInputGuardrail}. */
export interface InputGuardrailOptions {
  /** The guardrail's name in the SDK's results and traces. Default `sentinel`. */
  name?: string;
  /**
   * The agent id of the calls. Default: the SDK agent's `name` (`new Agent({ name })`),
   * which the application chose; the model never supplies it.
   */
  agentId?: string;
  /** The agent's reasoning for a call. Default: none (the SDK does not carry it). */
  reasoning?: (call: GuardrailCall) => string | undefined;
  /**
   * Who is recorded as approving a call the application approved through the SDK's
   * approval flow (`state.approve(item)` after a {@link sentinelNeedsApproval}
   * interruption). Default `openai-agents`; the channel is `openai_agents`.
   */
  approvedBy?: string;
}

/** What the guardrail reports to the SDK (`outputInfo`) about each call. */
export interface SentinelOutputInfo {
  /** The action the call is. */
  action: string;
  /** The recorded action's id. */
  actionId?: string;
  /** The action's state (`EXECUTED`, `APPROVED`, `DECLINED`, `EXPIRED`...). */
  status?: string;
}

/**
 * A tool input guardrail (`tool({ inputGuardrails: [...] })`) that lets a call run only
 * when Sentinel allows it, waiting for a human when Sentinel escalates. Refused (or any
 * failure): `rejectContent` with Sentinel's reason (status, risk, analysis, rules) as the
 * tool's output; the tool does not run. The guardrail never throws.
 */
export function sentinelInputGuardrail(
  gateway: Gateway,
  options: InputGuardrailOptions = {},
): SentinelInputGuardrail {
  const sdk = agentsSdk();
  const output = sdk.ToolGuardrailFunctionOutputFactory;
  return sdk.defineToolInputGuardrail({
    name: options.name ?? 'sentinel',
    run: async (data) => {
      const verdict = await decide(gateway, data, options);
      const info: SentinelOutputInfo = { action: verdict.action, actionId: verdict.actionId, status: verdict.status };
      return verdict.allowed ? output.allow(info) : output.rejectContent(verdict.message, info);
    },
  });
}

async function decide(gateway: Gateway, data: GuardrailCall, options: InputGuardrailOptions): Promise<ToolVerdict> {
  const tool = typeof data?.toolCall?.name === 'string' ? data.toolCall.name : '';
  let reasoning: string | undefined;
  try {
    reasoning = options.reasoning?.(data);
  } catch (err) {
    return refusedHere(tool, '', new Error(`the reasoning could not be read: ${messageOf(err)}`));
  }
  const agentId = options.agentId ?? (typeof data?.agent?.name === 'string' && data.agent.name !== '' ? data.agent.name : undefined);
  let approvedBy: string | undefined;
  try {
    const callId = data?.toolCall?.callId;
    if (typeof callId === 'string' && data.context?.isToolApproved?.({ toolName: tool, callId }) === true) {
      approvedBy = options.approvedBy ?? 'openai-agents';
    }
  } catch (err) {
    return refusedHere(tool, '', new Error(`the run's approvals could not be read: ${messageOf(err)}`));
  }
  // The arguments as the model sent them (JSON text), parsed strictly in Rust.
  return gateway.authorizeTool(INTEGRATION, tool, data?.toolCall?.arguments ?? null, { agentId, reasoning, approvedBy });
}

/** Options of {@link sentinelNeedsApproval}. */
export interface NeedsApprovalOptions {
  /** The agent id of the calls. Default: the configuration's `[mcp] agent_id`, else `mcp-client`. */
  agentId?: string;
  /** The agent's reasoning for a call, from its arguments. Default: none. */
  reasoning?: (input: unknown) => string | undefined;
}

/**
 * A `needsApproval` function for `tool({ name, needsApproval, inputGuardrails })` (the SDK
 * does not tell it the tool's name: pass the same `tool`). Sentinel evaluates each call,
 * recording nothing: `false` when it would auto-approve it (the tool runs), `true`
 * otherwise — escalated or declined, or when it cannot tell — so that the run stops with
 * an interruption before the call and the application asks its user.
 *
 * Keep {@link sentinelInputGuardrail} on the tool: when the run resumes after
 * `state.approve(item)`, the guardrail records that approval in Sentinel (`by`:
 * `openai-agents`, channel `openai_agents`) instead of asking a human again, and a call
 * policy declines is still refused. `state.reject(item)` never reaches Sentinel: the tool
 * does not run. Without the guardrail, an approval in the application would be the only
 * check: the call would run even where policy declines it.
 */
export function sentinelNeedsApproval(
  gateway: Gateway,
  tool: string,
  options: NeedsApprovalOptions = {},
): (runContext: unknown, input: unknown, callId?: string) => Promise<boolean> {
  const { agentId, reasoning } = options;
  return async function needsApproval(_runContext: unknown, input: unknown): Promise<boolean> {
    try {
      const verdict = await gateway.evaluateTool(INTEGRATION, tool, input, { agentId, reasoning: reasoning?.(input) });
      return !verdict.allowed;
    } catch {
      // Cannot tell: a human must look (and the guardrail still decides).
      return true;
    }
  };
}
