"""A scripted HTTP server on 127.0.0.1 (port 0) in a thread, recording every request.

Stands in for the Groq (OpenAI-compatible) and Telnyx APIs: tests never reach the network.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple

Reply = Tuple[int, Any]  # (status, JSON body)


@dataclass
class Request:
    method: str
    path: str
    headers: Dict[str, str]
    raw: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.raw) if self.raw else None


class FakeServer:
    """Answers from `replies` (a queue; when empty, `default(request)`)."""

    def __init__(self, default: Callable[[Request], Reply]) -> None:
        self.requests: List[Request] = []
        self.replies: Deque[Reply] = deque()
        self.default = default
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                request = Request(
                    "POST", self.path, {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length)
                )
                with fake._lock:
                    fake.requests.append(request)
                    status, body = fake.replies.popleft() if fake.replies else fake.default(request)
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self.replies.extend(replies)

    def paths(self) -> List[str]:
        with self._lock:
            return [r.path for r in self.requests]

    def last(self, suffix: str) -> Optional[Request]:
        with self._lock:
            return next((r for r in reversed(self.requests) if r.path.endswith(suffix)), None)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
