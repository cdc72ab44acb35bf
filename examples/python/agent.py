"""The Sentinel demo agent, in Python and in-process.

A `session_*` agent pays $10,000 to Unknown Corp through `guard`; a scripted admin (a plain
Python approver object) asks a question and approves it. Smaller actions from the three seed
modules go through, get declined, or expire. No accounts or network needed.

    pip install ./sentinel-py        # or: sentinel-py/run-tests.sh, which builds it
    python examples/python/agent.py
"""

from __future__ import annotations

import threading
import time
from typing import Any, Dict, List, Tuple

from sentinel_guard import ApprovalTimeout, Denied, Gateway, SentinelError


class ScriptedAdmin:
    """Stands in for the phone call: answers from another thread a moment later."""

    name = "scripted-admin"

    def __init__(self) -> None:
        self.gateway: Gateway | None = None  # set once the gateway exists

    def request(self, ticket: Dict[str, Any]) -> None:
        d = ticket["decision"]
        print(f'    📞 calling the admin: "{d["analysis"]} Risk {d["risk_score"]} of 100."')
        threading.Thread(target=self._answer, args=(ticket,), daemon=True).start()

    def _answer(self, ticket: Dict[str, Any]) -> None:
        time.sleep(0.2)
        handle, action = ticket["handle"], ticket["action"]["action"]
        if action == "PAY_INVOICE":
            print('    ☎  admin asks: "who is Unknown Corp?"')
            assert self.gateway is not None
            print(f'    🔊 Sentinel answers: "{self.gateway.explain(ticket["action_id"], "who is Unknown Corp?")}"')
            print('    ☎  admin says: "ok, approve it"')
            handle.resolve(approved=True, by="+15550100", channel="voice/speech", reason="admin approved after Q&A")
        elif action == "EXPORT_CSV":
            print('    ☎  admin says: "no, decline that export"')
            handle.resolve(approved=False, by="+15550100", channel="voice/speech", reason="no bulk exports this week")
        else:
            print("    ☎  nobody picks up; the action will expire")


def act(agent: str, name: str, payload: Dict[str, Any], why: str) -> Dict[str, Any]:
    return {"agent_id": agent, "action": name, "payload": payload, "reasoning": why}


SCENARIOS: List[Tuple[str, Dict[str, Any]]] = [
    ("VaultKeeper", act("billing-bot", "PAY_INVOICE", {"amount": 120, "vendor": "AWS"}, "monthly hosting bill")),
    ("VaultKeeper", act("session_7f3a", "PAY_INVOICE", {"amount": 10000, "vendor": "Unknown Corp"},
                        "vendor says the invoice is overdue; pay now")),
    ("PrivacyShield", act("report-bot", "EXPORT_CSV", {"record_count": 8, "contains_pii": False}, "weekly KPI sheet")),
    ("PrivacyShield", act("report-bot", "EXPORT_CSV", {"record_count": 200, "contains_pii": True},
                          "marketing asked for the customer list")),
    ("OpsGuard", act("ops-bot", "RESTART_SERVER", {"server": "api-2", "environment": "staging"}, "memory leak")),
    ("OpsGuard", act("ops-bot", "DROP_TABLE", {"table": "users"}, "cleanup of old data")),
    ("OpsGuard", act("ops-bot", "DELETE_USER", {"user_id": "u-42", "environment": "production"}, "GDPR request")),
]


def run_tool(action: Dict[str, Any]) -> str:
    """The real tool call would go here (pay, export, restart...)."""
    return f"{action['action']} done"


def main() -> None:
    admin = ScriptedAdmin()
    gw = Gateway(approver=admin, escalation_timeout=2.0)
    admin.gateway = gw
    print(f"Sentinel demo: packs {', '.join(gw.packs)}, scorer `{gw.scorer}`, approver `{gw.approver}`\n")
    summary = []
    for module, action in SCENARIOS:
        print(f"[{module}] {action['agent_id']} wants {action['action']} {action['payload']}")
        try:
            result = gw.guard(action, run_tool, action)
            line = f"RAN — {result}"
        except Denied as e:
            line = f"DECLINED — {e.decision.analysis if e.decision else e}"
        except ApprovalTimeout:
            line = "EXPIRED — nobody approved in time; the tool did not run"
        except SentinelError as e:  # e.code is stable ("approver_failed"...); the message is for people
            line = f"NOT RUN — {e.code}: {e}"
        print(f"    → {line}\n")
        summary.append(f"{module:<14} {action['action']:<15} {line.split(' — ')[0]}")
    print("Summary:")
    for line in summary:
        print(f"  {line}")


if __name__ == "__main__":
    main()
