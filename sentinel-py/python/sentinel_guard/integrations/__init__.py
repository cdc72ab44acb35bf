"""Guards for the tool calls agent frameworks make, one module per framework.

Each module is imported on its own and needs its framework (an optional extra)::

    pip install 'sentinel-guard[openai-agents]'   # sentinel_guard.integrations.openai_agents
    pip install 'sentinel-guard[langchain]'       # sentinel_guard.integrations.langchain
    pip install 'sentinel-guard[crewai]'          # sentinel_guard.integrations.crewai

They only hand the framework's tool name, arguments, agent and reasoning to
``Gateway.authorize_tool``: the action a call is (the MCP proxy's mapping, configured by
``[mcp] agent_id`` and ``[mcp.tools.NAME] action``), the decision, the wait for a human and
the refusal's text all come from the Rust core. Any failure refuses the call.
"""
