// sentinel-guard/ai-sdk against the real Vercel AI SDK (`ai`, pinned in package.json): the
// SDK's own mock language model makes tool calls in real generateText / streamText /
// ToolLoopAgent loops, and Sentinel's toolApproval decides each call.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ToolLoopAgent, generateText, jsonSchema, stepCountIs, streamText, tool } from 'ai';
import { MockLanguageModelV4, convertArrayToReadableStream } from 'ai/test';
import { Gateway } from 'sentinel-guard';
import { sentinelToolApproval } from 'sentinel-guard/ai-sdk';

const usage = {
  inputTokens: { total: 10, noCache: 10, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: 5, text: 5, reasoning: 0 },
};

/** A mock model that calls `calls` (`[toolName, input]`) in its first step, then answers. */
function scriptedModel(calls) {
  const prompts = [];
  const model = new MockLanguageModelV4({
    doGenerate: async (options) => {
      prompts.push(options.prompt);
      if (prompts.length === 1) {
        return {
          content: calls.map(([toolName, input], i) => ({
            type: 'tool-call', toolCallId: `call-${i + 1}`, toolName, input: JSON.stringify(input),
          })),
          finishReason: { unified: 'tool-calls', raw: 'tool_calls' }, usage, warnings: [],
        };
      }
      return { content: [{ type: 'text', text: 'done' }], finishReason: { unified: 'stop', raw: 'stop' }, usage, warnings: [] };
    },
  });
  return { model, prompts };
}

/** The tools, recording the calls that ran. */
function tools(ran) {
  const object = (properties) => jsonSchema({ type: 'object', properties, additionalProperties: false });
  return {
    pay_invoice: tool({
      description: 'Pay a vendor invoice',
      inputSchema: object({ amount: { type: 'number' }, vendor: { type: 'string' } }),
      execute: async (input) => { ran.push(['pay_invoice', input]); return { receipt: `rcpt-${input.amount}` }; },
    }),
    drop_table: tool({
      description: 'Drop a database table',
      inputSchema: object({ table: { type: 'string' } }),
      execute: async (input) => { ran.push(['drop_table', input]); return { dropped: input.table }; },
    }),
  };
}

/** The tool results the model was sent in its second step, by tool call id. */
function toolResults(prompts) {
  const out = {};
  for (const message of prompts[1] ?? []) {
    if (message.role !== 'tool') continue;
    for (const part of message.content) if (part.type === 'tool-result') out[part.toolCallId] = part.output;
  }
  return out;
}

test('generateText: allowed calls run, a declined call is denied with Sentinel\'s reason and never runs', async () => {
  const gateway = new Gateway();
  const ran = [];
  const { model, prompts } = scriptedModel([
    ['pay_invoice', { amount: 120, vendor: 'AWS' }],
    ['drop_table', { table: 'users' }],
  ]);
  const result = await generateText({
    model, tools: tools(ran), prompt: 'pay the AWS bill and clean up', stopWhen: stepCountIs(3),
    toolApproval: sentinelToolApproval(gateway, { agentId: 'billing-bot' }),
  });
  assert.equal(result.text, 'done');
  assert.deepEqual(ran, [['pay_invoice', { amount: 120, vendor: 'AWS' }]]);
  const outputs = toolResults(prompts);
  assert.deepEqual(outputs['call-1'], { type: 'json', value: { receipt: 'rcpt-120' } });
  assert.equal(outputs['call-2'].type, 'execution-denied');
  assert.match(outputs['call-2'].reason,
    /^Sentinel declined: the call of tool `drop_table` \(action DROP_TABLE, [0-9a-f-]{36}\) was not made\. Status: DECLINED\. Risk: 100\. Analysis: .+ Rules: OpsGuard\/[a-z-]+\.$/);
  // The SDK records Sentinel's answers as automatic approval responses.
  const responses = result.steps[0].content.filter((p) => p.type === 'tool-approval-response');
  assert.deepEqual(responses.map((r) => [r.toolCall.toolName, r.approved]), [['pay_invoice', true], ['drop_table', false]]);
  // What was recorded: the MCP proxy's mapping, with this integration's name.
  const id = /\(action DROP_TABLE, ([0-9a-f-]{36})\)/.exec(outputs['call-2'].reason)[1];
  const trail = await gateway.auditTrail(id);
  assert.equal(trail.at(-1).to, 'DECLINED');
  assert.equal(trail[0].agentId, 'billing-bot');
  assert.equal(trail[0].action, 'DROP_TABLE');
});

test('an escalated call waits for Sentinel\'s approver: approved runs, declined is denied naming who declined', async () => {
  const asked = [];
  const gateway = new Gateway({
    escalationTimeoutMs: 5000,
    approver: {
      name: 'on-call',
      async request(req) {
        asked.push(req.action);
        if (req.action.payload.amount < 20000) await req.approve({ by: 'alice', channel: 'slack' });
        else await req.decline({ by: 'alice', channel: 'slack', reason: 'too large for an agent' });
      },
    },
  });
  const ran = [];
  const { model, prompts } = scriptedModel([
    ['pay_invoice', { amount: 10000, vendor: 'Unknown Corp' }],
    ['pay_invoice', { amount: 50000, vendor: 'Unknown Corp' }],
  ]);
  await generateText({
    model, tools: tools(ran), prompt: 'pay them', stopWhen: stepCountIs(3),
    toolApproval: sentinelToolApproval(gateway, {
      agentId: 'session_x',
      reasoning: (call) => `the model called ${call.toolName} for ${call.input.vendor}`,
    }),
  });
  assert.deepEqual(ran, [['pay_invoice', { amount: 10000, vendor: 'Unknown Corp' }]]);
  assert.equal(asked.length, 2);
  for (const action of asked) {
    assert.equal(action.agentId, 'session_x');
    assert.equal(action.action, 'PAY_INVOICE');
    assert.equal(action.reasoning, 'the model called pay_invoice for Unknown Corp');
    assert.deepEqual(action.context, { tool: 'pay_invoice', integration: 'ai_sdk' });
  }
  const outputs = toolResults(prompts);
  assert.equal(outputs['call-2'].type, 'execution-denied');
  assert.match(outputs['call-2'].reason, /^Sentinel declined: the call of tool `pay_invoice` .* Status: DECLINED\. Risk: 95\. /);
  assert.match(outputs["call-2"].reason, / Analysis: Declined by alice via slack: too large for an agent\. /);
});

test('fails closed: an approver that cannot ask anybody, and a reasoning function that throws, deny the call', async () => {
  const gateway = new Gateway({ approver: { request() { throw new Error('pager down'); } } });
  const ran = [];
  const { model, prompts } = scriptedModel([['pay_invoice', { amount: 10000, vendor: 'Unknown Corp' }]]);
  await generateText({
    model, tools: tools(ran), prompt: 'pay', stopWhen: stepCountIs(3),
    toolApproval: sentinelToolApproval(gateway, { agentId: 'session_x' }),
  });
  assert.deepEqual(ran, []);
  const denied = toolResults(prompts)['call-1'];
  assert.equal(denied.type, 'execution-denied');
  assert.match(denied.reason, /^Sentinel could not ask a human \(.*pager down.*\): .* Status: ERROR_APPROVER\./);

  const second = scriptedModel([['pay_invoice', { amount: 120, vendor: 'AWS' }]]);
  await generateText({
    model: second.model, tools: tools(ran), prompt: 'pay', stopWhen: stepCountIs(3),
    toolApproval: sentinelToolApproval(new Gateway(), { reasoning: () => { throw new Error('no text'); } }),
  });
  assert.deepEqual(ran, []);
  assert.match(toolResults(second.prompts)['call-1'].reason,
    /^Sentinel refused the call of tool `pay_invoice`: the reasoning could not be read: no text\. The tool was not called\.$/);
});

test('the configuration read by Gateway.fromConfig maps tools: [mcp.tools.NAME] action and [mcp] agent_id', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sentinel-ai-sdk-'));
  const file = join(dir, 'sentinel.toml');
  writeFileSync(file, '[mcp]\nagent_id = "desk-agent"\n\n[mcp.tools.wire_money]\naction = "DROP_TABLE"\n');
  const gateway = await Gateway.fromConfig(file);
  const ran = [];
  const wire = tool({
    inputSchema: jsonSchema({ type: 'object', properties: { table: { type: 'string' } } }),
    execute: async (input) => { ran.push(input); return 'wired'; },
  });
  const { model, prompts } = scriptedModel([['wire_money', { table: 'users' }]]);
  await generateText({
    model, tools: { wire_money: wire }, prompt: 'x', stopWhen: stepCountIs(3),
    toolApproval: sentinelToolApproval(gateway),
  });
  assert.deepEqual(ran, []);
  const reason = toolResults(prompts)['call-1'].reason;
  assert.match(reason, /the call of tool `wire_money` \(action DROP_TABLE, /);
  const id = /, ([0-9a-f-]{36})\)/.exec(reason)[1];
  const [received] = await gateway.auditTrail(id);
  assert.equal(received.agentId, 'desk-agent');
});

test('streamText and ToolLoopAgent take the same toolApproval', async () => {
  const gateway = new Gateway();
  const ran = [];
  let step = 0;
  const model = new MockLanguageModelV4({
    doStream: async () => {
      step += 1;
      const parts = step === 1
        ? [
          { type: 'tool-call', toolCallId: 's1', toolName: 'drop_table', input: JSON.stringify({ table: 'users' }) },
          { type: 'tool-call', toolCallId: 's2', toolName: 'pay_invoice', input: JSON.stringify({ amount: 120, vendor: 'AWS' }) },
          { type: 'finish', finishReason: { unified: 'tool-calls', raw: 'tool_calls' }, usage },
        ]
        : [
          { type: 'text-start', id: 't' }, { type: 'text-delta', id: 't', delta: 'ok' }, { type: 'text-end', id: 't' },
          { type: 'finish', finishReason: { unified: 'stop', raw: 'stop' }, usage },
        ];
      return { stream: convertArrayToReadableStream(parts) };
    },
  });
  const stream = streamText({
    model, tools: tools(ran), prompt: 'x', stopWhen: stepCountIs(3),
    toolApproval: sentinelToolApproval(gateway, { agentId: 'billing-bot' }),
  });
  const denied = [];
  for await (const part of stream.fullStream) {
    if (part.type === 'tool-output-denied') denied.push(part.toolName);
  }
  assert.equal(await stream.text, 'ok');
  assert.deepEqual(denied, ['drop_table']);
  assert.deepEqual(ran, [['pay_invoice', { amount: 120, vendor: 'AWS' }]]);

  const agentRan = [];
  const agent = new ToolLoopAgent({
    model: scriptedModel([['drop_table', { table: 'users' }], ['pay_invoice', { amount: 120, vendor: 'AWS' }]]).model,
    tools: tools(agentRan),
    stopWhen: stepCountIs(3),
    toolApproval: sentinelToolApproval(gateway, { agentId: 'billing-bot' }),
  });
  const result = await agent.generate({ prompt: 'x' });
  assert.equal(result.text, 'done');
  assert.deepEqual(agentRan, [['pay_invoice', { amount: 120, vendor: 'AWS' }]]);
});

test('a durable store: the escalated call waits until an operator on another gateway (sentinel-server) approves it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sentinel-ai-sdk-store-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'sentinel.db');
  const config = { store: { url: `sqlite://${file}` }, gateway: { escalation_timeout_s: 30 } };
  // The pending action's id as a notifier would post it; nobody answers here.
  const pending = [];
  const gateway = await Gateway.fromConfig(config, { approver: { request: (req) => { pending.push(req.actionId); } } });
  const operator = await Gateway.fromConfig(config);
  const ran = [];
  const { model } = scriptedModel([['pay_invoice', { amount: 10000, vendor: 'Unknown Corp' }]]);
  const loop = generateText({
    model, tools: tools(ran), prompt: 'pay', stopWhen: stepCountIs(3),
    toolApproval: sentinelToolApproval(gateway, { agentId: 'session_x' }),
  });
  while (pending.length === 0) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(ran, []);
  await operator.resolve(pending[0], { approved: true, by: 'alice', channel: 'web' });
  assert.equal((await loop).text, 'done');
  assert.deepEqual(ran, [['pay_invoice', { amount: 10000, vendor: 'Unknown Corp' }]]);
  const status = await operator.status(pending[0]);
  assert.equal(status.approval.by, 'alice');
  assert.ok(status.executedAtMs > 0);
});
