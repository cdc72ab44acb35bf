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
 * {@link sentinelNeedsApproval} bridges to the SDK's own approval flow instead
 * (`tool({ needsApproval })`, `result.interruptions`, `state.approve()`), for applications
 * whose human step is their own UI: Sentinel decides which calls run at once, which need
 * that human, and which never run.
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
  // The arguments as the model sent them (JSON text), parsed strictly in Rust.
  return gateway.authorizeTool(INTEGRATION, tool, data?.toolCall?.arguments ?? null, { agentId, reasoning });
}

/** Options of {@link sentinelNeedsApproval}. */
export interface NeedsApprovalOptions {
  /** The agent id of the calls. Default: the configuration's `[mcp] agent_id`, else `mcp-client`. */
  agentId?: string;
  /** The agent's reasoning for a call, from its arguments. Default: none. */
  reasoning?: (input: unknown) => string | undefined;
}

/**
 * A `needsApproval` function for `tool({ name, needsApproval })` (the SDK does not tell it
 * the tool's name: pass the same `tool`). Sentinel evaluates each call, recording nothing:
 *
 * - auto-approved → `false`: the tool runs;
 * - escalated → `true`: the run stops with an interruption, and the application's human
 *   decides (`state.approve(item)` / `state.reject(item)`, then `run(agent, state)`). That
 *   decision is the application's: Sentinel does not record it (use
 *   {@link sentinelInputGuardrail} for Sentinel's approvers and audit trail);
 * - declined, or any failure → throws (the error {@link Gateway.guard} would throw, e.g. a
 *   `DeniedError` with the decision): the run fails and the tool does not run, since a
 *   policy's refusal is not the application's to overrule.
 *
 * Use it instead of {@link sentinelInputGuardrail}, not with it: the guardrail would ask
 * Sentinel's approvers again after the application's human approved.
 */
export function sentinelNeedsApproval(
  gateway: Gateway,
  tool: string,
  options: NeedsApprovalOptions = {},
): (runContext: unknown, input: unknown, callId?: string) => Promise<boolean> {
  const { agentId, reasoning } = options;
  return async function needsApproval(_runContext: unknown, input: unknown): Promise<boolean> {
    let why: string | undefined;
    try {
      why = reasoning?.(input);
    } catch (err) {
      throw refusedHere(tool, '', new Error(`the reasoning could not be read: ${messageOf(err)}`)).error;
    }
    const verdict = await gateway.evaluateTool(INTEGRATION, tool, input, { agentId, reasoning: why });
    if (verdict.allowed) return false;
    if (verdict.status === 'BLOCKED_AWAITING_AUTH') return true;
    throw verdict.error ?? new Error(verdict.message);
  };
}
