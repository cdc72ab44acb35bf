#!/usr/bin/env python3
"""A receiver of Sentinel's `webhook` channel that verifies every POST (Python stdlib only).

    SENTINEL_WEBHOOK_SECRET=the-secret python3 docs/examples/webhook_receiver.py [PORT]

Verification, as docs/ladder.md describes it:
  1. read the raw body bytes (before any JSON parsing);
  2. refuse a request whose X-Sentinel-Timestamp is more than 300 s from this clock (replays);
  3. compute "v1=" + hex(HMAC-SHA256(secret, b"v1:" + timestamp + b":" + body)) and compare
     it with X-Sentinel-Signature in constant time;
  4. drop a repeated X-Sentinel-Delivery (the same POST delivered twice).

Prints `listening on PORT` (PORT 0: any free port), then one JSON line per verified
delivery: {"delivery": ..., "body": {...}}. Answers 204 to verified POSTs and 401 to the
rest. Forward the body's `summary` and `link` to Teams, Discord, e-mail or a pager as
plain text: the fields listed in `untrusted` are the agent's words.
"""

import hashlib
import hmac
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

MAX_AGE_S = 300
SECRET = os.environ.get("SENTINEL_WEBHOOK_SECRET", "").encode()
SEEN = set()


def verify(secret: bytes, timestamp, signature, body: bytes, now=None) -> bool:
    """True when `signature` is Sentinel's for `body` sent at `timestamp`, and fresh."""
    if not secret or timestamp is None or signature is None:
        return False
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs((now if now is not None else time.time()) - sent) > MAX_AGE_S:
        return False
    mac = hmac.new(secret, b"v1:" + timestamp.encode() + b":" + body, hashlib.sha256)
    return hmac.compare_digest("v1=" + mac.hexdigest(), signature)


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        ok = verify(
            SECRET,
            self.headers.get("X-Sentinel-Timestamp"),
            self.headers.get("X-Sentinel-Signature"),
            body,
        )
        delivery = self.headers.get("X-Sentinel-Delivery", "")
        if not ok or delivery in SEEN:
            self.send_response(401)
            self.end_headers()
            return
        SEEN.add(delivery)
        print(json.dumps({"delivery": delivery, "body": json.loads(body)}), flush=True)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):  # quiet: stdout carries the deliveries
        pass


def main() -> None:
    if not SECRET:
        sys.exit("set SENTINEL_WEBHOOK_SECRET to the webhook's secret")
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8787
    server = HTTPServer(("127.0.0.1", port), Receiver)
    print(f"listening on {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
