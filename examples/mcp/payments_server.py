"""An MCP server with two tools an agent should not call unchecked, for the README's quick
start: put `sentinel mcp-proxy` in front of it and every `tools/call` is decided first.

    python3 -m pip install mcp==1.30.0
    sentinel mcp-proxy --config examples/mcp/sentinel.toml -- python3 examples/mcp/payments_server.py

It is a plain FastMCP server (the official `mcp` package) speaking MCP over stdio; it knows
nothing of Sentinel.
"""

from mcp.server.fastmcp import FastMCP

server = FastMCP("payments", log_level="WARNING")


@server.tool()
def pay_invoice(amount: float, vendor: str) -> str:
    """Pay an invoice to a vendor."""
    return f"paid {amount:g} to {vendor}"


@server.tool()
def drop_table(table: str) -> str:
    """Drop a database table."""
    return f"dropped {table}"


if __name__ == "__main__":
    server.run()
