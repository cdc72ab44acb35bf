// Traces from Node: `[telemetry] otlp_endpoint` in fromConfig turns on OTLP export (done by
// the Rust core); guard/evaluate join the caller's trace through `traceparent`. The fake
// collector checks the protobuf body carries the trace and parent ids (bytes fields) and
// the span names (strings), which protobuf writes verbatim.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import * as otel from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { Gateway } from 'sentinel-guard';
import { dropTable, smallPayment } from './helpers.mjs';

const TRACE_ID = '6bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '20f067aa0ba902b7';
// The host's own OpenTelemetry context, picked up without a traceparent option.
const HOST_TRACE_ID = '7bf92f3577b34da6a3ce929d0e0e4736';
const HOST_SPAN_ID = '30f067aa0ba902b7';

test('guard and evaluate spans reach the collector inside the caller\'s trace', async () => {
  const bodies = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      bodies.push({ path: req.url, type: req.headers['content-type'], body: Buffer.concat(chunks) });
      res.writeHead(200, { 'content-type': 'application/x-protobuf' });
      res.end();
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  try {
    const url = `http://127.0.0.1:${server.address().port}`;
    const gw = await Gateway.fromConfig({ telemetry: { otlp_endpoint: url } });
    const traceparent = `00-${TRACE_ID}-${PARENT_ID}-01`;
    assert.equal(await gw.guard(smallPayment(), () => 'paid', { traceparent }), 'paid');
    const d = gw.evaluateSync(dropTable(), { traceparent });
    assert.equal(d.status, 'DECLINED');
    otel.propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    otel.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    const host = otel.trace.setSpanContext(otel.ROOT_CONTEXT,
      { traceId: HOST_TRACE_ID, spanId: HOST_SPAN_ID, traceFlags: 1, isRemote: true });
    const inHost = await otel.context.with(host, () => gw.evaluate(smallPayment()));

    const all = () => Buffer.concat(bodies.map((b) => b.body));
    const done = () => all().includes('execute_tool DROP_TABLE') && all().includes(inHost.actionId);
    for (let i = 0; i < 100 && !done(); i += 1) {
      await new Promise((r) => setTimeout(r, 50));
      Gateway.flushTelemetry();
    }
    assert.ok(bodies.length > 0, 'no export reached the collector');
    assert.ok(bodies.every((b) => b.path === '/v1/traces' && b.type === 'application/x-protobuf'));
    const body = all();
    assert.ok(body.includes('execute_tool PAY_INVOICE'));
    assert.ok(body.includes('execute_tool DROP_TABLE'));
    assert.ok(body.includes(Buffer.from(TRACE_ID, 'hex')), 'the caller\'s trace id');
    assert.ok(body.includes(Buffer.from(PARENT_ID, 'hex')), 'the caller\'s span as parent');
    assert.ok(body.includes(d.actionId), 'gen_ai.tool.call.id');
    assert.ok(body.includes(inHost.actionId), 'the evaluation inside the host\'s context');
    assert.ok(body.includes(Buffer.from(HOST_TRACE_ID, 'hex')), 'the host\'s active trace');
    assert.ok(body.includes(Buffer.from(HOST_SPAN_ID, 'hex')), 'the host\'s active span as parent');
    assert.ok(!body.includes('monthly bill'), 'the reasoning is never exported');
  } finally {
    server.close();
  }
});
