// The Vercel AI SDK's tool loop, guarded by Sentinel: the gateway approves or denies every
// tool call the model makes before the SDK runs it (`sentinel-guard/ai-sdk`).
//
//     npm install sentinel-guard ai zod
//     node ai-sdk-agent.mjs
//
// It runs offline: the model is the SDK's own MockLanguageModelV4, playing back the tool
// calls a model would make. With a real one, pass e.g. `openai('gpt-4.1-mini')` from
// `@ai-sdk/openai` as `model`.
import { generateText, jsonSchema, stepCountIs, tool } from 'ai';
import { MockLanguageModelV4 } from 'ai/test';
import { Gateway } from 'sentinel-guard';
import { sentinelToolApproval } from 'sentinel-guard/ai-sdk';

// The configuration every host reads (here as an object; usually `sentinel.toml`).
const gateway = await Gateway.fromConfig({
  mcp: { agent_id: 'billing-bot', tools: { wire_money: { action: 'PAY_INVOICE' } } },
});

const tools = {
  wire_money: tool({
    description: 'Pay a vendor',
    inputSchema: jsonSchema({ type: 'object', properties: { amount: { type: 'number' }, vendor: { type: 'string' } } }),
    execute: async ({ amount, vendor }) => ({ receipt: `rcpt-${vendor.toLowerCase()}-${amount}` }),
  }),
  drop_table: tool({
    description: 'Drop a database table',
    inputSchema: jsonSchema({ type: 'object', properties: { table: { type: 'string' } } }),
    execute: async ({ table }) => ({ dropped: table }),
  }),
};

const usage = { inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: 1, text: 1, reasoning: 0 } };
const model = new MockLanguageModelV4({
  doGenerate: async ({ prompt }) => {
    const results = prompt.filter((m) => m.role === 'tool').flatMap((m) => m.content);
    if (results.length === 0) {
      return {
        content: [
          { type: 'tool-call', toolCallId: 'c1', toolName: 'wire_money', input: '{"amount":120,"vendor":"AWS"}' },
          { type: 'tool-call', toolCallId: 'c2', toolName: 'drop_table', input: '{"table":"users"}' },
        ],
        finishReason: { unified: 'tool-calls', raw: 'tool_calls' }, usage, warnings: [],
      };
    }
    // The model reads what happened: each tool's result, or why Sentinel denied it.
    const text = results.map((r) => `${r.toolName}: ${JSON.stringify(r.output)}`).join('\n');
    return { content: [{ type: 'text', text }], finishReason: { unified: 'stop', raw: 'stop' }, usage, warnings: [] };
  },
});

const result = await generateText({
  model,
  tools,
  prompt: 'Pay the AWS invoice of 120, then clean up the users table.',
  stopWhen: stepCountIs(3),
  toolApproval: sentinelToolApproval(gateway),
});
console.log(result.text);
