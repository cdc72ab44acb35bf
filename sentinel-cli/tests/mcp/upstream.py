"""The upstream MCP server of the proxy tests: a FastMCP server (the official `mcp`
package) whose tools record every call they receive, one JSON line per call, in the file
named by MCP_UPSTREAM_LOG, so a test can tell which calls reached it."""

import json
import os
import sys

from mcp.server.fastmcp import FastMCP

# `upstream.py http PORT`: Streamable HTTP on 127.0.0.1:PORT/mcp; otherwise stdio.
HTTP = len(sys.argv) == 3 and sys.argv[1] == "http"
server = FastMCP(
    "sentinel-test-upstream",
    log_level="WARNING",
    host="127.0.0.1",
    port=int(sys.argv[2]) if HTTP else 8000,
)


def record(tool: str, arguments: dict) -> None:
    with open(os.environ["MCP_UPSTREAM_LOG"], "a", encoding="utf-8") as log:
        log.write(json.dumps({"tool": tool, "arguments": arguments}) + "\n")


@server.tool()
def pay_invoice(amount: float, vendor: str) -> str:
    """Pay an invoice."""
    record("pay_invoice", {"amount": amount, "vendor": vendor})
    return f"paid {amount:g} to {vendor}"


@server.tool()
def wire_money(amount: float, vendor: str) -> str:
    """Wire money to a vendor (the proxy's configuration maps it to PAY_INVOICE)."""
    record("wire_money", {"amount": amount, "vendor": vendor})
    return f"wired {amount:g} to {vendor}"


@server.tool()
def drop_table(table: str) -> str:
    """Drop a database table."""
    record("drop_table", {"table": table})
    return f"dropped {table}"


@server.resource("notes://readme")
def readme() -> str:
    """A resource, to check that resources pass through."""
    return "the upstream's readme"


@server.prompt()
def summarize(text: str) -> str:
    """A prompt, to check that prompts pass through."""
    return f"Summarize: {text}"


if __name__ == "__main__":
    server.run("streamable-http" if HTTP else "stdio")
