// Type-checked (not run) by test/types.test.mjs against the SDKs' own types: what the
// integrations return is what `ai` and `@openai/agents` accept, from an ES module.
import { ToolLoopAgent, generateText, jsonSchema, streamText, tool } from 'ai';
import type { LanguageModel, ToolApprovalConfiguration } from 'ai';
import { Agent, tool as agentTool } from '@openai/agents';
import type { ToolInputGuardrailDefinition } from '@openai/agents';
import { z } from 'zod';
import { Gateway } from 'sentinel-guard';
import type { ToolVerdict } from 'sentinel-guard';
import { sentinelToolApproval } from 'sentinel-guard/ai-sdk';
import { sentinelInputGuardrail, sentinelNeedsApproval } from 'sentinel-guard/openai-agents';

declare const gateway: Gateway;
declare const model: LanguageModel;

const tools = {
  pay_invoice: tool({
    inputSchema: jsonSchema<{ amount: number; vendor: string }>({ type: 'object' }),
    execute: async ({ amount }) => ({ paid: amount }),
  }),
};
const approval: ToolApprovalConfiguration<typeof tools, unknown> = sentinelToolApproval(gateway, {
  agentId: 'billing-bot',
  reasoning: (call) => call.toolName,
});
await generateText({ model, tools, prompt: 'x', toolApproval: sentinelToolApproval(gateway) });
streamText({ model, tools, prompt: 'x', toolApproval: approval });
new ToolLoopAgent({ model, tools, toolApproval: sentinelToolApproval(gateway) });

const guardrail: ToolInputGuardrailDefinition = sentinelInputGuardrail(gateway, { name: 'sentinel', approvedBy: 'ops' });
const pay = agentTool({
  name: 'pay_invoice',
  description: 'Pay',
  parameters: z.object({ amount: z.number() }),
  execute: async ({ amount }) => `paid ${amount}`,
  inputGuardrails: [guardrail],
  needsApproval: sentinelNeedsApproval(gateway, 'pay_invoice', { agentId: 'a' }),
});
new Agent({ name: 'billing', tools: [pay] });

const verdict: ToolVerdict = await gateway.authorizeTool('custom', 'pay_invoice', { amount: 1 }, { agentId: 'a', reasoning: 'r' });
const allowed: boolean = verdict.allowed;
void allowed;
