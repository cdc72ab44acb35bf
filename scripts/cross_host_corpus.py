"""One configuration file, four hosts, the same decisions.

Runs every case of fixtures/decisions.jsonl through each host that reads
fixtures/sentinel.toml: the `sentinel` CLI (`eval --config`), sentinel-server
(`SENTINEL_CONFIG`, over HTTP), Python (`Gateway.from_config`) and Node
(`Gateway.fromConfig`). Every host must agree with the corpus and with the others on each
well-formed action's status, risk score and rules, and refuse each malformed one with the
code `invalid_action` (`SENTINEL_INVALID_ACTION` in Node).

Usage: python scripts/cross_host_corpus.py CLI_BINARY SERVER_BINARY
(run by scripts/test-all.sh with the Python suite's interpreter, after the Node and Python
suites built their packages).
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any, Dict, List

ROOT = pathlib.Path(__file__).resolve().parent.parent
CONFIG = ROOT / "fixtures" / "sentinel.toml"
CORPUS = ROOT / "fixtures" / "decisions.jsonl"

Outcome = Dict[str, Any]


def cases() -> List[Dict[str, Any]]:
    return [json.loads(line) for line in CORPUS.read_text().splitlines() if line.strip()]


def decided(d: Dict[str, Any]) -> Outcome:
    return {"status": d["status"], "risk_score": d["risk_score"], "rules": list(d["rules"])}


def refused(code: str) -> Outcome:
    return {"error": code}


def cli(binary: str) -> List[Outcome]:
    lines = "\n".join(json.dumps(c["action"]) for c in cases()) + "\n"
    run = subprocess.run([binary, "eval", "--config", str(CONFIG)], input=lines, capture_output=True,
                         text=True, cwd="/")
    out = []
    for row in map(json.loads, run.stdout.splitlines()):
        # The CLI says which line was malformed; the code is the core's for every ActionError.
        out.append(refused("invalid_action") if "error" in row else decided(row))
    return out


def python() -> List[Outcome]:
    import sentinel_guard as sg

    gateway = sg.Gateway.from_config(CONFIG)
    out: List[Outcome] = []
    for case in cases():
        try:
            out.append(decided(gateway.evaluate(case["action"]).to_dict()))
        except sg.SentinelError as e:
            out.append(refused(e.code))
    return out


NODE = r"""
import { readFileSync } from 'node:fs';
import { Gateway } from './esm/index.mjs';
const [config, corpus] = process.argv.slice(1);
const gateway = await Gateway.fromConfig(config);
for (const line of readFileSync(corpus, 'utf8').split('\n').filter((l) => l.trim())) {
  const { action } = JSON.parse(line);
  try {
    const d = await gateway.evaluate(action, { strict: true });
    console.log(JSON.stringify({ status: d.status, risk_score: d.riskScore, rules: d.rules }));
  } catch (e) {
    console.log(JSON.stringify({ error: e.code }));
  }
}
"""


def node() -> List[Outcome]:
    run = subprocess.run(["node", "--input-type=module", "-e", NODE, str(CONFIG), str(CORPUS)],
                         cwd=ROOT / "sentinel-node", capture_output=True, text=True, check=True)
    out = []
    for row in map(json.loads, run.stdout.splitlines()):
        if "error" in row:
            out.append(refused(re.sub(r"^SENTINEL_", "", row["error"]).lower()))
        else:
            out.append(row)
    return out


def server(binary: str) -> List[Outcome]:
    agents = sorted({c["action"]["agent_id"] for c in cases() if isinstance(c["action"], dict)
                     and isinstance(c["action"].get("agent_id"), str)
                     and re.fullmatch(r"[A-Za-z0-9_.:@-]+", c["action"]["agent_id"])})
    keys = {a: f"k-{i:04d}-cross-host-key" for i, a in enumerate(agents)}
    env = dict(os.environ, SENTINEL_CONFIG=str(CONFIG), SENTINEL_BIND="127.0.0.1:0",
               SENTINEL_AGENT_KEYS=",".join(f"{a}={k}" for a, k in keys.items()),
               SENTINEL_LOG_FORMAT="text", RUST_LOG="info")
    for var in list(env):
        if var.startswith(("GROQ_", "TELNYX_")) or var in ("SENTINEL_DATABASE_URL", "SENTINEL_PACKS"):
            del env[var]
    proc = subprocess.Popen([binary, "serve"], env=env, stderr=subprocess.PIPE, text=True, cwd="/")
    try:
        base = None
        deadline = time.time() + 60
        assert proc.stderr is not None
        while base is None and time.time() < deadline:
            line = proc.stderr.readline()
            if not line and proc.poll() is not None:
                raise SystemExit(f"sentinel-server exited: {proc.returncode}")
            found = re.search(r"http://127\.0\.0\.1:\d+", line)
            if found:
                base = found.group(0)
        if base is None:
            raise SystemExit("sentinel-server did not say where it listens")
        any_key = next(iter(keys.values()))
        out: List[Outcome] = []
        for case in cases():
            action = case["action"]
            agent = action.get("agent_id") if isinstance(action, dict) else None
            key = keys.get(agent, any_key) if isinstance(agent, str) else any_key
            request = urllib.request.Request(f"{base}/api/sentinel/execute", data=json.dumps(action).encode(),
                                             headers={"authorization": f"Bearer {key}",
                                                      "content-type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    out.append(decided(json.load(response)))
            except urllib.error.HTTPError as e:
                out.append(refused(json.load(e)["error"]["code"]))
        return out
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> int:
    cli_binary, server_binary = sys.argv[1], sys.argv[2]
    hosts = {"cli": cli(cli_binary), "server": server(server_binary), "python": python(), "node": node()}
    problems = []
    for i, case in enumerate(cases()):
        expect = case["expect"]
        want = (refused("invalid_action") if "error" in expect else
                {k: expect[k] for k in ("status", "risk_score", "rules") if k in expect})
        for host, outcomes in hosts.items():
            got = outcomes[i]
            if "error" in want:
                ok = got == want
            else:
                ok = all(got.get(k) == v for k, v in want.items())
            if not ok:
                problems.append(f"{host}: {case['name']}: expected {want}, got {got}")
        seen = {json.dumps(outcomes[i], sort_keys=True) for outcomes in hosts.values()}
        if len(seen) > 1:
            problems.append(f"hosts disagree on {case['name']}: " +
                            "; ".join(f"{h}={o[i]}" for h, o in hosts.items()))
    for p in problems:
        print(p)
    print(f"cross-host corpus: {len(cases())} cases x {len(hosts)} hosts ({', '.join(hosts)}) "
          f"from {CONFIG.relative_to(ROOT)}: {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
