/**
 * `sentinel-guard/ai-sdk`: Sentinel decides the tool calls of the Vercel AI SDK (`ai` 7).
 *
 * ```ts
 * import { generateText } from 'ai';
 * import { Gateway } from 'sentinel-guard';
 * import { sentinelToolApproval } from 'sentinel-guard/ai-sdk';
 *
 * const gateway = await Gateway.fromConfig('sentinel.toml');
 * const result = await generateText({ model, tools, prompt,
 *   toolApproval: sentinelToolApproval(gateway, { agentId: 'billing-bot' }) });
 * ```
 *
 * The same option works for `streamText` and `new ToolLoopAgent({ toolApproval })`. Every
 * tool call is submitted to the gateway as the action the MCP proxy would make of it
 * (`pay_invoice` → `PAY_INVOICE`, or `[mcp.tools.NAME] action`). Allowed (auto-approved,
 * or approved by a human) → `approved`: the SDK runs the tool. Declined, expired, or any
 * failure → `denied` with Sentinel's reason (status, risk, analysis, rules), which the SDK
 * hands the model as an `execution-denied` tool result; the tool does not run.
 *
 * An escalated call waits, inside the approval function, for the human Sentinel asks
 * (its approver, the approval ladder, or an operator through `sentinel-server` on the same
 * store), up to the escalation timeout. It is not answered `user-approval`: that would
 * hand the decision to the application's own UI, outside Sentinel's record and audit
 * trail, and the SDK would run the tool on that approval without Sentinel knowing.
 *
 * @module
 */

import { messageOf } from './errors';
import type { Gateway } from './gateway';
import { refusedHere } from './tools';

/** The tool call the SDK asks about (the fields of its `TypedToolCall` read here). */
export interface AiSdkToolCall {
  /** The tool's name, as the `tools` object names it. */
  toolName: string;
  /** The call's id. */
  toolCallId: string;
  /** The arguments, parsed and validated against the tool's input schema. */
  input: unknown;
}

/** What the SDK's `toolApproval` function receives (the fields read here). */
export interface AiSdkToolApprovalRequest {
  /** The tool call that needs approval. */
  toolCall: AiSdkToolCall;
}

/** The SDK's `ToolApprovalStatus`, as this function answers it. */
export type AiSdkApproval =
  | { type: 'approved'; reason?: string }
  | { type: 'denied'; reason: string };

/** Options of {@link sentinelToolApproval}. */
export interface ToolApprovalOptions {
  /**
   * The agent making the calls (the SDK has no agent id of its own). Default: the
   * configuration's `[mcp] agent_id`, else `mcp-client`.
   */
  agentId?: string;
  /**
   * The agent's reasoning for a call, e.g. read from its arguments. The SDK does not hand
   * the model's text to the approval function. Default: none.
   */
  reasoning?: (call: AiSdkToolCall) => string | undefined;
}

/** The integration name in each action's context (`{"integration": "ai_sdk"}`). */
export const INTEGRATION = 'ai_sdk';

/**
 * The `toolApproval` function of `generateText`, `streamText` and `ToolLoopAgent`: each
 * tool call is approved only when Sentinel allows it, and denied with Sentinel's reason
 * otherwise. Never throws: any failure denies the call.
 */
export function sentinelToolApproval(
  gateway: Gateway,
  options: ToolApprovalOptions = {},
): (request: AiSdkToolApprovalRequest) => Promise<AiSdkApproval> {
  const { agentId, reasoning } = options;
  return async function sentinelApproval(request: AiSdkToolApprovalRequest): Promise<AiSdkApproval> {
    const call = request?.toolCall;
    const tool = typeof call?.toolName === 'string' ? call.toolName : '';
    let why: string | undefined;
    try {
      why = reasoning?.(call);
    } catch (err) {
      return { type: 'denied', reason: refusedHere(tool, '', new Error(`the reasoning could not be read: ${messageOf(err)}`)).message };
    }
    const verdict = await gateway.authorizeTool(INTEGRATION, tool, call?.input, { agentId, reasoning: why });
    return verdict.allowed ? { type: 'approved' } : { type: 'denied', reason: verdict.message };
  };
}
