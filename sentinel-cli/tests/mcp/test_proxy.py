"""`sentinel mcp-proxy` between the official MCP Python SDK's client and a FastMCP server.

Run by run.sh: `python test_proxy.py SENTINEL_BIN SENTINEL_SERVER_BIN`. The proxy and
`sentinel-server` share one SQLite store, so an escalated call is approved (or declined)
through the server's HTTP API, from another process, as an operator would from the console.
"""

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request
from contextlib import AsyncExitStack
from pathlib import Path

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

HERE = Path(__file__).resolve().parent
SENTINEL = os.environ.get("SENTINEL_BIN", "")
SERVER = os.environ.get("SENTINEL_SERVER_BIN", "")
ADMIN = "mcp-test-admin-token-0123456789"


def config(work: Path, timeout_s: float, store: str = "") -> Path:
    store = store or f"sqlite://{work / 'sentinel.db'}"
    path = work / f"sentinel-{timeout_s:g}-{store.split(':')[0]}.toml"
    path.write_text(
        f"""
[gateway]
escalation_timeout_s = {timeout_s}

[store]
url = "{store}"

[mcp]
agent_id = "session_mcp"
progress_interval_s = 0.2

[mcp.tools.wire_money]
action = "PAY_INVOICE"
""",
        encoding="utf-8",
    )
    return path


class Upstream:
    """What reached the upstream server."""

    def __init__(self, work: Path) -> None:
        self.log = work / "upstream-calls.jsonl"
        self.log.touch()

    def calls(self) -> list:
        return [json.loads(line) for line in self.log.read_text(encoding="utf-8").splitlines()]

    def env(self) -> dict:
        return {**os.environ, "MCP_UPSTREAM_LOG": str(self.log)}


def direct(upstream: Upstream) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable, args=[str(HERE / "upstream.py")], env=upstream.env()
    )


def proxied(upstream: Upstream, cfg: Path) -> StdioServerParameters:
    return StdioServerParameters(
        command=SENTINEL,
        args=["mcp-proxy", "--config", str(cfg), "--", sys.executable, str(HERE / "upstream.py")],
        env=upstream.env(),
    )


async def connect(stack: AsyncExitStack, params: StdioServerParameters) -> ClientSession:
    read, write = await stack.enter_async_context(stdio_client(params))
    session = await stack.enter_async_context(ClientSession(read, write))
    await session.initialize()
    return session


def text(result) -> str:
    return "\n".join(c.text for c in result.content if c.type == "text")


class Server:
    """sentinel-server on the proxy's store: the operators' side."""

    def __init__(self, cfg: Path, work: Path) -> None:
        self.log = open(work / "server.log", "w+", encoding="utf-8")
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", "/root"),
            "SENTINEL_CONFIG": str(cfg),
            "SENTINEL_BIND": "127.0.0.1:0",
            "SENTINEL_ADMIN_TOKEN": ADMIN,
        }
        self.process = subprocess.Popen(
            [SERVER, "serve"], env=env, stdout=self.log, stderr=subprocess.STDOUT
        )
        self.url = ""
        deadline = time.monotonic() + 60
        while not self.url:
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.log.seek(0)
                raise RuntimeError("sentinel-server did not start:\n" + self.log.read())
            self.log.seek(0)
            found = re.search(r"listening on (http://[0-9.:]+)", self.log.read())
            if found:
                self.url = found.group(1)
            else:
                time.sleep(0.1)

    def request(self, method: str, path: str, body=None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {ADMIN}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10) as response:
            return json.loads(response.read())

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        self.log.close()


class ProgressLog:
    """Progress notifications of one call; `first` is set at the first."""

    def __init__(self) -> None:
        self.seen: list = []
        self.first = asyncio.Event()

    async def __call__(self, progress: float, total, message) -> None:
        self.seen.append((progress, message))
        self.first.set()

    def action_id(self) -> str:
        found = re.search(r"\(action ([0-9a-f-]{36})", self.seen[0][1] or "")
        assert found, self.seen
        return found.group(1)


class McpProxyTest(unittest.IsolatedAsyncioTestCase):
    def setUp(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        self.work = Path(self.tmp.name)
        self.upstream = Upstream(self.work)
        self.cfg = config(self.work, 30)
        self.server = Server(self.cfg, self.work)

    def tearDown(self) -> None:
        self.server.stop()
        self.tmp.cleanup()

    async def test_lists_pass_through_unchanged(self) -> None:
        async with AsyncExitStack() as stack:
            plain = await connect(stack, direct(self.upstream))
            guarded = await connect(stack, proxied(self.upstream, self.cfg))
            for name in ("list_tools", "list_resources", "list_prompts"):
                ours = (await getattr(guarded, name)()).model_dump()
                theirs = (await getattr(plain, name)()).model_dump()
                self.assertEqual(ours, theirs, name)
            self.assertEqual(len((await guarded.list_tools()).tools), 3)
            read = await guarded.read_resource("notes://readme")
            self.assertEqual(read.contents[0].text, "the upstream's readme")
            prompt = await guarded.get_prompt("summarize", {"text": "hi"})
            self.assertIn("Summarize: hi", prompt.messages[0].content.text)
            self.assertEqual(self.upstream.calls(), [])

    async def test_allowed_declined_and_escalated_calls(self) -> None:
        async with AsyncExitStack() as stack:
            session = await connect(stack, proxied(self.upstream, self.cfg))

            # Allowed (VaultKeeper: a small payment to a trusted vendor): forwarded, the
            # upstream's result returned as is.
            ok = await session.call_tool("pay_invoice", {"amount": 120, "vendor": "AWS"})
            self.assertFalse(ok.isError, text(ok))
            self.assertEqual(text(ok), "paid 120 to AWS")
            self.assertEqual(ok.structuredContent, {"result": "paid 120 to AWS"})
            self.assertEqual(self.upstream.calls(), [{"tool": "pay_invoice", "arguments": {"amount": 120, "vendor": "AWS"}}])

            # Declined by policy (OpsGuard): answered by the proxy, never forwarded.
            no = await session.call_tool("drop_table", {"table": "users"})
            self.assertTrue(no.isError)
            self.assertIn("Status: DECLINED", text(no))
            self.assertIn("OpsGuard/drop-table-forbidden", text(no))
            self.assertIn("DROP_TABLE", text(no))
            self.assertEqual(no.meta["sentinel"]["rules"], ["OpsGuard/drop-table-forbidden"])
            self.assertEqual(len(self.upstream.calls()), 1)

            # Escalated (`wire_money` is PAY_INVOICE by [mcp.tools]; agent session_*, 10000 to
            # Unknown Corp: risk 95): waits, with progress, until an operator approves through
            # sentinel-server on the shared store; then forwarded.
            progress = ProgressLog()
            call = asyncio.create_task(
                session.call_tool(
                    "wire_money",
                    {"amount": 10000, "vendor": "Unknown Corp"},
                    progress_callback=progress,
                    meta={"reasoning": "the vendor asked for an urgent transfer"},
                )
            )
            await asyncio.wait_for(progress.first.wait(), 20)
            action_id = progress.action_id()
            self.assertIn("waiting for a human to approve PAY_INVOICE", progress.seen[0][1])
            record = self.server.request("GET", f"/api/sentinel/actions/{action_id}")
            self.assertEqual(record["status"], "BLOCKED_AWAITING_AUTH", record)
            self.assertEqual(record["agent_id"], "session_mcp", record)
            self.assertEqual(record["action"], "PAY_INVOICE", record)
            self.assertEqual(record["reasoning"], "the vendor asked for an urgent transfer", record)
            await asyncio.sleep(0.7)
            self.assertFalse(call.done())
            self.assertGreaterEqual(len(progress.seen), 3, progress.seen)
            steps = [p for p, _ in progress.seen]
            self.assertEqual(steps, sorted(set(steps)), "progress must increase")
            self.assertEqual(len(self.upstream.calls()), 1, "nothing forwarded before the approval")
            self.server.request(
                "POST", f"/api/sentinel/actions/{action_id}/resolve",
                {"decision": "approve", "by": "alice", "reason": "vendor verified by phone"},
            )
            wired = await asyncio.wait_for(call, 20)
            self.assertFalse(wired.isError, text(wired))
            self.assertEqual(text(wired), "wired 10000 to Unknown Corp")
            self.assertEqual(self.upstream.calls()[-1]["tool"], "wire_money")

            # Escalated, then declined by the operator: an error result with the reason.
            progress = ProgressLog()
            call = asyncio.create_task(
                session.call_tool("pay_invoice", {"amount": 9000, "vendor": "Unknown Corp"},
                                  progress_callback=progress)
            )
            await asyncio.wait_for(progress.first.wait(), 20)
            self.server.request(
                "POST", f"/api/sentinel/actions/{progress.action_id()}/resolve",
                {"decision": "decline", "by": "alice", "reason": "no such invoice"},
            )
            refused = await asyncio.wait_for(call, 20)
            self.assertTrue(refused.isError)
            self.assertIn("Status: DECLINED", text(refused))
            self.assertIn("no such invoice", text(refused))
            self.assertEqual(len(self.upstream.calls()), 2)

            # Malformed calls fail closed.
            bad = await session.call_tool("pay_invoice", {"amount": 1, "vendor": "AWS"},
                                          meta={"reasoning": 42})
            self.assertTrue(bad.isError)
            self.assertIn("_meta.reasoning must be a string", text(bad))
            self.assertEqual(len(self.upstream.calls()), 2)

    async def test_an_unanswered_escalation_expires(self) -> None:
        async with AsyncExitStack() as stack:
            session = await connect(stack, proxied(self.upstream, config(self.work, 1)))
            started = time.monotonic()
            progress = ProgressLog()
            result = await session.call_tool(
                "pay_invoice", {"amount": 10000, "vendor": "Unknown Corp"}, progress_callback=progress
            )
            self.assertTrue(result.isError)
            self.assertIn("Status: EXPIRED", text(result))
            self.assertIn("not approved in time", text(result))
            self.assertGreaterEqual(time.monotonic() - started, 0.9)
            self.assertTrue(progress.seen)
            self.assertEqual(self.upstream.calls(), [])

    async def test_a_streamable_http_upstream(self) -> None:
        async with AsyncExitStack() as stack:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            upstream = subprocess.Popen(
                [sys.executable, str(HERE / "upstream.py"), "http", str(port)],
                env=self.upstream.env(),
            )
            stack.callback(upstream.wait, 10)
            stack.callback(upstream.terminate)
            url = f"http://127.0.0.1:{port}/mcp"
            deadline = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    self.assertLess(time.monotonic(), deadline, "the HTTP upstream did not start")
                    await asyncio.sleep(0.1)
            plain = await connect(stack, direct(self.upstream))
            guarded = await connect(
                stack,
                StdioServerParameters(
                    command=SENTINEL,
                    args=["mcp-proxy", "--config", str(self.cfg), "--upstream-url", url],
                    env=self.upstream.env(),
                ),
            )
            self.assertEqual(
                (await guarded.list_tools()).model_dump(), (await plain.list_tools()).model_dump()
            )
            ok = await guarded.call_tool("pay_invoice", {"amount": 120, "vendor": "AWS"})
            self.assertFalse(ok.isError, text(ok))
            self.assertEqual(text(ok), "paid 120 to AWS")
            no = await guarded.call_tool("drop_table", {"table": "users"})
            self.assertTrue(no.isError)
            self.assertIn("OpsGuard/drop-table-forbidden", text(no))
            progress = ProgressLog()
            call = asyncio.create_task(
                guarded.call_tool("wire_money", {"amount": 10000, "vendor": "Unknown Corp"},
                                  progress_callback=progress)
            )
            await asyncio.wait_for(progress.first.wait(), 20)
            self.server.request(
                "POST", f"/api/sentinel/actions/{progress.action_id()}/resolve",
                {"decision": "approve", "by": "alice"},
            )
            wired = await asyncio.wait_for(call, 20)
            self.assertEqual(text(wired), "wired 10000 to Unknown Corp")
            self.assertEqual([c["tool"] for c in self.upstream.calls()], ["pay_invoice", "wire_money"])

    async def test_overhead_per_call(self) -> None:
        async with AsyncExitStack() as stack:
            plain = await connect(stack, direct(self.upstream))
            guarded = await connect(stack, proxied(self.upstream, self.cfg))
            in_memory = await connect(
                stack, proxied(self.upstream, config(self.work, 30, "memory"))
            )
            n = 100
            timings = {}
            for name, session in (("direct", plain), ("proxied", guarded), ("memory", in_memory)):
                await session.call_tool("pay_invoice", {"amount": 1, "vendor": "AWS"})
                start = time.perf_counter()
                for _ in range(n):
                    result = await session.call_tool("pay_invoice", {"amount": 1, "vendor": "AWS"})
                    self.assertFalse(result.isError)
                timings[name] = (time.perf_counter() - start) / n * 1000
            print(
                f"\n    tools/call round trip: direct {timings['direct']:.2f} ms, through "
                f"sentinel mcp-proxy {timings['proxied']:.2f} ms "
                f"(+{timings['proxied'] - timings['direct']:.2f} ms with the SQLite store; "
                f"+{timings['memory'] - timings['direct']:.2f} ms with the in-memory store; dev build)",
                file=sys.stderr,
            )


class ReadmeQuickStartTest(unittest.IsolatedAsyncioTestCase):
    """The README's quick start, as written there: the proxy with examples/mcp/sentinel.toml
    in front of examples/mcp/payments_server.py."""

    async def test_the_readme_command_guards_the_example_server(self) -> None:
        root = HERE.parents[2]
        command = "sentinel mcp-proxy --config examples/mcp/sentinel.toml -- python3 examples/mcp/payments_server.py"
        self.assertIn(command, (root / "README.md").read_text(encoding="utf-8"))
        args = command.split()[1:]
        args[-2] = sys.executable  # python3, with the `mcp` package of this venv
        params = StdioServerParameters(command=SENTINEL, args=args, cwd=str(root))
        async with AsyncExitStack() as stack:
            session = await connect(stack, params)
            names = sorted(t.name for t in (await session.list_tools()).tools)
            self.assertEqual(names, ["drop_table", "pay_invoice"])
            ok = await session.call_tool("pay_invoice", {"amount": 120, "vendor": "AWS"})
            self.assertFalse(ok.isError, text(ok))
            self.assertEqual(text(ok), "paid 120 to AWS")
            no = await session.call_tool("drop_table", {"table": "users"})
            self.assertTrue(no.isError)
            self.assertIn("Status: DECLINED", text(no))
            self.assertIn("OpsGuard/drop-table-forbidden", text(no))


if __name__ == "__main__":
    if not (SENTINEL and SERVER):
        sys.exit("SENTINEL_BIN and SENTINEL_SERVER_BIN must name the binaries (see run.sh)")
    unittest.main(verbosity=2)
