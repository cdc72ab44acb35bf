// An OpenAI Agents JS agent, guarded by Sentinel: a tool input guardrail lets each tool
// call run only when the gateway allows it (`sentinel-guard/openai-agents`).
//
//     npm install sentinel-guard @openai/agents zod
//     node openai-agents-agent.mjs
//
// It runs offline: the model is the SDK's own ScriptedModel (from `@openai/agents/testing`),
// playing back the tool calls a model would make. Without `model`, the agent uses OpenAI's
// (set OPENAI_API_KEY).
import { Agent, run, setTracingDisabled, tool } from '@openai/agents';
import { ScriptedModel, assistantMessage, functionCall, modelResponder } from '@openai/agents/testing';
import { z } from 'zod';
import { Gateway } from 'sentinel-guard';
import { sentinelInputGuardrail } from 'sentinel-guard/openai-agents';

setTracingDisabled(true); // no OpenAI account needed for this offline run

const gateway = await Gateway.fromConfig({
  gateway: { escalation_timeout_s: 60 },
  packs: [{ builtin: 'VaultKeeper' }, { builtin: 'OpsGuard' }],
}, {
  // Stand-in for the human Sentinel asks about escalated calls (Slack, a phone call...).
  approver: { request: (req) => req.approve({ by: 'alice', channel: 'slack' }) },
});
const sentinel = sentinelInputGuardrail(gateway);

const payInvoice = tool({
  name: 'pay_invoice',
  description: 'Pay a vendor invoice',
  parameters: z.object({ amount: z.number(), vendor: z.string() }),
  execute: async ({ amount, vendor }) => `paid ${amount} to ${vendor}`,
  inputGuardrails: [sentinel],
});
const dropTable = tool({
  name: 'drop_table',
  description: 'Drop a database table',
  parameters: z.object({ table: z.string() }),
  execute: async ({ table }) => `dropped ${table}`,
  inputGuardrails: [sentinel],
});

const model = new ScriptedModel([
  [
    functionCall('pay_invoice', { amount: 10000, vendor: 'Unknown Corp' }, { callId: 'c1' }),
    functionCall('drop_table', { table: 'users' }, { callId: 'c2' }),
  ],
  // The model reads what happened: each tool's output, or why Sentinel refused it.
  modelResponder(({ request }) => [assistantMessage(request.input
    .filter((item) => item.type === 'function_call_result')
    .map((item) => `${item.name}: ${item.output.text}`)
    .join('\n'))]),
]);

const agent = new Agent({ name: 'session_billing', instructions: 'Pay what is due.', model, tools: [payInvoice, dropTable] });
const result = await run(agent, 'Pay the overdue invoice of Unknown Corp and drop the users table.');
console.log(result.finalOutput);
