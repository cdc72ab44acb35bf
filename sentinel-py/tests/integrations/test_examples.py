"""The copy-paste examples of docs/integrations/python.md (examples/python/integrations/),
run with the frameworks' fake models in place of OpenAI's."""

from __future__ import annotations

import importlib.util
import json
import pathlib
from types import ModuleType
from typing import Any

from helpers import aio

EXAMPLES = pathlib.Path(__file__).resolve().parents[3] / "examples" / "python" / "integrations"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@aio
async def test_openai_agents_example() -> None:
    from agents import RunConfig, Runner
    from test_openai_agents import Scripted, call, say

    example = load("openai_agents_agent")
    model = Scripted([call("pay_invoice", {"amount": 120, "vendor": "AWS"}, "c1"),
                      call("drop_table", {"table": "users"}, "c2")], [say("paid; the table stays")])
    result = await Runner.run(example.build(model), "go", run_config=RunConfig(tracing_disabled=True))
    assert result.final_output == "paid; the table stays"
    outputs = model.tool_outputs()
    assert outputs["c1"] == "paid 120.0 to AWS"
    assert outputs["c2"].startswith("Sentinel declined: the call of tool `drop_table`")


def test_langchain_example() -> None:
    from langchain_core.messages import AIMessage, ToolMessage
    from test_langchain import ToolCalling

    example = load("langchain_agent")
    model = ToolCalling(responses=[
        AIMessage(content="", tool_calls=[
            {"name": "pay_invoice", "args": {"amount": 120, "vendor": "AWS"}, "id": "c1", "type": "tool_call"},
            {"name": "drop_table", "args": {"table": "users"}, "id": "c2", "type": "tool_call"}]),
        AIMessage(content="done"),
    ])
    result = example.build(model).invoke({"messages": [{"role": "user", "content": "go"}]})
    messages = {m.tool_call_id: m for m in result["messages"] if isinstance(m, ToolMessage)}
    assert (messages["c1"].content, messages["c1"].status) == ("paid 120.0 to AWS", "success")
    assert messages["c2"].status == "error"
    assert str(messages["c2"].content).startswith("Sentinel declined: the call of tool `drop_table`")


def test_crewai_example() -> None:
    from test_crewai import Scripted

    from sentinel_guard.integrations import crewai as sentinel_crewai

    try:
        example = load("crewai_crew")
        llm = Scripted(model="scripted")
        llm.turns = [
            'Thought: pay first.\nAction: pay_invoice\nAction Input: {"amount": 120, "vendor": "AWS"}',
            'Thought: now the table.\nAction: drop_table\nAction Input: {"table": "users"}',
            "Thought: done.\nFinal Answer: paid, table kept",
        ]
        llm.seen = []
        assert str(example.build(llm).kickoff()) == "paid, table kept"
        told: Any = [json.dumps(m) for m in llm.seen]
        assert "paid 120.0 to AWS" in told[1]
        assert "Tool execution blocked by hook. Tool: drop_table" in told[2]
    finally:
        sentinel_crewai.uninstall()
