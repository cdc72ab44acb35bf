// sentinel-guard/openai-agents against the real OpenAI Agents SDK (`@openai/agents`, pinned
// in package.json): the SDK's `run()` drives an agent whose model is the SDK's own
// `ScriptedModel` (its `Model` test double), making the tool calls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, run, setTracingDisabled, tool } from '@openai/agents';
import { ScriptedModel, assistantMessage, functionCall } from '@openai/agents/testing';
import { z } from 'zod';
import { Gateway } from 'sentinel-guard';
import { sentinelInputGuardrail, sentinelNeedsApproval } from 'sentinel-guard/openai-agents';

setTracingDisabled(true);

/** The tools, guarded by `guardrail` and/or `approval(name)`, recording the calls that ran. */
function tools(ran, { guardrail, approval } = {}) {
  const extra = (name) => ({
    ...(guardrail ? { inputGuardrails: [guardrail] } : {}),
    ...(approval ? { needsApproval: approval(name) } : {}),
  });
  return [
    tool({
      name: 'pay_invoice', description: 'Pay a vendor invoice',
      parameters: z.object({ amount: z.number(), vendor: z.string() }),
      execute: async (input) => { ran.push(['pay_invoice', input]); return `paid ${input.amount}`; },
      ...extra('pay_invoice'),
    }),
    tool({
      name: 'drop_table', description: 'Drop a table',
      parameters: z.object({ table: z.string() }),
      execute: async (input) => { ran.push(['drop_table', input]); return `dropped ${input.table}`; },
      ...extra('drop_table'),
    }),
  ];
}

/** The tool outputs the model was sent in its second turn, by call id. */
function outputs(model) {
  const out = {};
  for (const item of model.calls[1]?.request.input ?? []) {
    if (item.type === 'function_call_result') out[item.callId] = item.output.text ?? item.output;
  }
  return out;
}

test('run(): an allowed call runs, a declined call is rejected with Sentinel\'s reason and never runs', async () => {
  const gateway = new Gateway();
  const ran = [];
  const model = new ScriptedModel([
    [functionCall('pay_invoice', { amount: 120, vendor: 'AWS' }, { callId: 'c1' }),
      functionCall('drop_table', { table: 'users' }, { callId: 'c2' })],
    [assistantMessage('done')],
  ]);
  const agent = new Agent({ name: 'billing-bot', instructions: 'pay bills', model,
    tools: tools(ran, { guardrail: sentinelInputGuardrail(gateway) }) });
  const result = await run(agent, 'pay the AWS bill and clean up');
  assert.equal(result.finalOutput, 'done');
  assert.deepEqual(ran, [['pay_invoice', { amount: 120, vendor: 'AWS' }]]);
  const out = outputs(model);
  assert.equal(out.c1, 'paid 120');
  assert.match(out.c2,
    /^Sentinel declined: the call of tool `drop_table` \(action DROP_TABLE, [0-9a-f-]{36}\) was not made\. Status: DECLINED\. Risk: 100\. Analysis: .+ Rules: OpsGuard\/[a-z-]+\.$/);
  // The guardrail's results, as the SDK records them; the agent's name is the agent id.
  const infos = result.toolInputGuardrailResults.map((r) => [r.guardrail.name, r.output.behavior.type, r.output.outputInfo.status]);
  assert.deepEqual(infos, [['sentinel', 'allow', 'EXECUTED'], ['sentinel', 'rejectContent', 'DECLINED']]);
  const [received] = await gateway.auditTrail(result.toolInputGuardrailResults[0].output.outputInfo.actionId);
  assert.equal(received.agentId, 'billing-bot');
  assert.equal(received.action, 'PAY_INVOICE');
});

test('an escalated call waits for Sentinel\'s approver; arguments with a repeated key are refused', async () => {
  const asked = [];
  const gateway = new Gateway({
    approver: { async request(req) { asked.push(req.action); await req.approve({ by: 'alice', channel: 'slack' }); } },
  });
  const ran = [];
  const model = new ScriptedModel([
    [functionCall('pay_invoice', { amount: 10000, vendor: 'Unknown Corp' }, { callId: 'c1' }),
      // JSON.parse keeps the last `table`; Sentinel refuses what it cannot read exactly.
      functionCall('drop_table', '{"table":"audit_log","table":"users"}', { callId: 'c2' })],
    [assistantMessage('done')],
  ]);
  const agent = new Agent({ name: 'session_x', instructions: 'x', model,
    tools: tools(ran, { guardrail: sentinelInputGuardrail(gateway, { reasoning: () => 'the vendor says it is overdue' }) }) });
  await run(agent, 'pay');
  assert.deepEqual(ran, [['pay_invoice', { amount: 10000, vendor: 'Unknown Corp' }]]);
  assert.equal(asked.length, 1);
  assert.equal(asked[0].agentId, 'session_x');
  assert.equal(asked[0].reasoning, 'the vendor says it is overdue');
  assert.deepEqual(asked[0].context, { tool: 'pay_invoice', integration: 'openai_agents' });
  assert.match(outputs(model).c2,
    /^Sentinel refused the call of tool `drop_table`: the arguments of tool `drop_table` are not JSON data: duplicate key `table`.*\. The tool was not called\.$/);
});

test('fails closed: an approver that cannot ask anybody, and an escalation nobody answers, reject the call', async () => {
  const gateway = new Gateway({ approver: { request() { throw new Error('pager down'); } } });
  const ran = [];
  const model = new ScriptedModel([
    [functionCall('pay_invoice', { amount: 10000, vendor: 'Unknown Corp' }, { callId: 'c1' })],
    [assistantMessage('done')],
  ]);
  const agent = new Agent({ name: 'session_x', instructions: 'x', model,
    tools: tools(ran, { guardrail: sentinelInputGuardrail(gateway) }) });
  await run(agent, 'pay');
  assert.deepEqual(ran, []);
  assert.match(outputs(model).c1, /^Sentinel could not ask a human \(.*pager down.*\): .* Status: ERROR_APPROVER\./);

  // Nobody answers before the escalation timeout: expired, not run.
  const silent = new Gateway({ escalationTimeoutMs: 300, approver: { request() {} } });
  const late = new ScriptedModel([
    [functionCall('pay_invoice', { amount: 10000, vendor: 'Unknown Corp' }, { callId: 'c1' })],
    [assistantMessage('done')],
  ]);
  await run(new Agent({ name: 'session_x', instructions: 'x', model: late,
    tools: tools(ran, { guardrail: sentinelInputGuardrail(silent) }) }), 'pay');
  assert.deepEqual(ran, []);
  assert.match(outputs(late).c1, /^Sentinel was not approved in time: the call of tool `pay_invoice` .* Status: EXPIRED\./);
});

test('needsApproval bridge: the run stops before calls Sentinel would not auto-approve; the app\'s approval is recorded, a decline stays', async () => {
  const gateway = new Gateway();
  const guardrail = sentinelInputGuardrail(gateway);
  const approval = (name) => sentinelNeedsApproval(gateway, name, { agentId: 'session_x' });
  const ran = [];
  const model = new ScriptedModel([
    [functionCall('pay_invoice', { amount: 10000, vendor: 'Unknown Corp' }, { callId: 'c1' }),
      functionCall('drop_table', { table: 'users' }, { callId: 'c2' })],
    [assistantMessage('done')],
  ]);
  const agent = new Agent({ name: 'session_x', instructions: 'x', model, tools: tools(ran, { guardrail, approval }) });
  const first = await run(agent, 'pay and clean up');
  // Both stopped before running: one escalated, one declined.
  assert.deepEqual(ran, []);
  assert.deepEqual(first.interruptions.map((i) => i.name).sort(), ['drop_table', 'pay_invoice']);
  for (const item of first.interruptions) first.state.approve(item);
  const resumed = await run(agent, first.state);
  assert.equal(resumed.finalOutput, 'done');
  // The escalated call ran once, approved as the application's; policy's decline stood.
  assert.deepEqual(ran, [['pay_invoice', { amount: 10000, vendor: 'Unknown Corp' }]]);
  const infos = Object.fromEntries(resumed.toolInputGuardrailResults.map((r) => [r.output.outputInfo.action, r.output]));
  assert.equal(infos.PAY_INVOICE.behavior.type, 'allow');
  assert.equal(infos.DROP_TABLE.behavior.type, 'rejectContent');
  assert.match(infos.DROP_TABLE.behavior.message, /^Sentinel declined: the call of tool `drop_table` .* Status: DECLINED\./);
  const paid = await gateway.status(infos.PAY_INVOICE.outputInfo.actionId);
  assert.equal(paid.approval.by, 'openai-agents');
  assert.equal(paid.approval.channel, 'openai_agents');
  assert.ok(paid.executedAtMs > 0);

  // Auto-approved: no interruption; rejected by the application: never runs.
  const small = new ScriptedModel([
    [functionCall('pay_invoice', { amount: 120, vendor: 'AWS' }, { callId: 'c1' })],
    [assistantMessage('ok')],
  ]);
  const billing = (name) => sentinelNeedsApproval(gateway, name, { agentId: 'billing-bot' });
  const auto = await run(new Agent({ name: 'billing-bot', instructions: 'x', model: small,
    tools: tools(ran, { guardrail, approval: billing }) }), 'pay');
  assert.equal(auto.interruptions.length, 0);
  assert.deepEqual(ran.at(-1), ['pay_invoice', { amount: 120, vendor: 'AWS' }]);
  const before = ran.length;
  const again = new ScriptedModel([
    [functionCall('pay_invoice', { amount: 10000, vendor: 'Unknown Corp' }, { callId: 'c1' })],
    [assistantMessage('not paid')],
  ]);
  const other = new Agent({ name: 'session_x', instructions: 'x', model: again, tools: tools(ran, { guardrail, approval }) });
  const stopped = await run(other, 'pay');
  stopped.state.reject(stopped.interruptions[0]);
  assert.equal((await run(other, stopped.state)).finalOutput, 'not paid');
  assert.equal(ran.length, before);
});
