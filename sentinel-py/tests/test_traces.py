"""Traces from Python: ``[telemetry] otlp_endpoint`` in ``Gateway.from_config`` turns on OTLP
export (done by the Rust core), and ``guard``/``evaluate`` join the caller's trace through
``traceparent``. A fake collector decodes what it receives with the official
``opentelemetry-proto`` package."""

from __future__ import annotations

import http.server
import threading
import time
from typing import Any, Dict, Iterator, List

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

import sentinel_guard
from conftest import FORBIDDEN, SAFE

TRACE_ID = "5bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "10f067aa0ba902b7"
# The host's own OpenTelemetry context, picked up without a traceparent argument.
HOST_TRACE_ID = "8bf92f3577b34da6a3ce929d0e0e4736"
HOST_SPAN_ID = "40f067aa0ba902b7"


@pytest.fixture
def collector() -> Iterator[tuple[str, List[Any]]]:
    spans: List[Any] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers["content-length"]))
            request = ExportTraceServiceRequest.FromString(body)
            for rs in request.resource_spans:
                for ss in rs.scope_spans:
                    spans.extend(ss.spans)
            answer = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("content-type", "application/x-protobuf")
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", spans
    server.shutdown()


def attrs(span: Any) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for kv in span.attributes:
        kind = kv.value.WhichOneof("value")
        if kind == "array_value":
            out[kv.key] = [v.string_value for v in kv.value.array_value.values]
        else:
            out[kv.key] = getattr(kv.value, kind)
    return out


def test_guard_and_evaluate_join_the_callers_trace(collector: tuple[str, List[Any]]) -> None:
    url, spans = collector
    gw = sentinel_guard.Gateway.from_config({"telemetry": {"otlp_endpoint": url, "service_name": "py-test"}})
    traceparent = f"00-{TRACE_ID}-{PARENT_ID}-01"
    assert gw.guard(SAFE, lambda: "paid", traceparent=traceparent) == "paid"
    decision = gw.evaluate(FORBIDDEN, traceparent=traceparent)

    from opentelemetry import context, propagate, trace  # noqa: F401 (propagate: what Sentinel looks for)
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

    host = SpanContext(trace_id=int(HOST_TRACE_ID, 16), span_id=int(HOST_SPAN_ID, 16), is_remote=True,
                       trace_flags=TraceFlags(TraceFlags.SAMPLED))
    token = context.attach(trace.set_span_in_context(NonRecordingSpan(host)))
    try:
        in_host = gw.evaluate(SAFE)
    finally:
        context.detach(token)

    deadline = time.monotonic() + 10
    def found() -> List[Any]:
        return [s for s in spans if s.name.startswith("execute_tool ") and s.trace_id.hex() == TRACE_ID]
    def in_host_span() -> List[Any]:
        return [s for s in spans if s.trace_id.hex() == HOST_TRACE_ID]
    while len(found()) < 2 or not in_host_span():
        assert time.monotonic() < deadline, f"spans received: {[s.name for s in spans]}"
        sentinel_guard.flush_telemetry()
        time.sleep(0.05)

    by_name = {s.name: s for s in found()}
    paid = by_name["execute_tool PAY_INVOICE"]
    assert paid.parent_span_id.hex() == PARENT_ID
    a = attrs(paid)
    assert a["gen_ai.operation.name"] == "execute_tool"
    assert a["sentinel.mode"] == "guard" and a["sentinel.final_status"] == "EXECUTED"
    # One store write records the action, its decision and the claim of its execution.
    assert any(s.parent_span_id == paid.span_id and s.name == "store create_decided"
               and attrs(s)["sentinel.state.to"] == "EXECUTED" for s in spans)

    dropped = by_name["execute_tool DROP_TABLE"]
    d = attrs(dropped)
    assert d["sentinel.mode"] == "evaluate" and d["sentinel.status"] == "DECLINED"
    assert d["gen_ai.tool.call.id"] == decision.action_id
    assert d["sentinel.rules"] == ["OpsGuard/drop-table-forbidden"]

    (hosted,) = in_host_span()
    assert hosted.parent_span_id.hex() == HOST_SPAN_ID
    assert attrs(hosted)["gen_ai.tool.call.id"] == in_host.action_id
