"""Voice approval by phone: a gateway configured from the environment, and the Telnyx
webhook mounted in the same process (stdlib http.server; FastAPI/Flask work the same way).

    export GROQ_API_KEY=... TELNYX_API_KEY=... TELNYX_CONNECTION_ID=... \\
           TELNYX_PHONE_NUMBER=+1... ADMIN_PHONE_NUMBER=+1... TELNYX_PUBLIC_KEY=... \\
           SENTINEL_PUBLIC_URL=https://your-public-host
    python examples/python/telnyx_webhook.py        # listens on :8000

or describe the same in a configuration file (secrets stay in the environment; see
``sentinel config example``) and pass it: ``python examples/python/telnyx_webhook.py sentinel.toml``.

Then guard actions with ``Webhook.gateway.guard(...)`` from any thread: an escalated action phones the
admin, and the admin's key press reaches ``Gateway.handle_telnyx_webhook`` below.
"""

from __future__ import annotations

import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sentinel_guard import Gateway


class Webhook(BaseHTTPRequestHandler):
    gateway: Gateway

    def do_POST(self) -> None:
        if self.path != "/api/telnyx/webhook":
            self.send_error(404)
            return
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        status = self.gateway.handle_telnyx_webhook(dict(self.headers.items()), body)  # the raw bytes
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()


if __name__ == "__main__":
    if len(sys.argv) > 1:
        Webhook.gateway = Gateway.from_config(sys.argv[1])
    else:
        Webhook.gateway = Gateway(scorer="groq", approver="telnyx", store="sentinel.db")
    ThreadingHTTPServer(("0.0.0.0", 8000), Webhook).serve_forever()
