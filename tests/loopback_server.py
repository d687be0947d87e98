"""A small OpenAI-compatible chat server on 127.0.0.1, the stand-in for paid model APIs.

litellm reaches it over real HTTP (``openai/<name>`` with ``OPENAI_API_BASE``), so the
project's retry, timeout and parsing paths are exercised end to end. Each request takes
the next scripted behaviour from a queue, or the default one when the queue is empty.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Behaviour:
    """What the server does with one request."""

    reply: str = "OK"
    status: int = 200
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None  # send these bytes as the body instead of a completion


class LoopbackServer:
    def __init__(self, default: Behaviour | Callable[[dict], Behaviour] | None = None):
        self.default = default or Behaviour()
        self.queue: deque[Behaviour] = deque()
        self.requests: list[dict] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        handler = self._handler()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        # a short poll interval: stop() waits up to one interval for the serving loop to notice
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def enqueue(self, *behaviours: Behaviour) -> None:
        self.queue.extend(behaviours)

    def start(self) -> LoopbackServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _next(self, request: dict) -> Behaviour:
        with self._lock:
            self.requests.append(request)
            if self.queue:
                return self.queue.popleft()
        return self.default(request) if callable(self.default) else self.default

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out at once, no 40 ms delayed-ACK stall

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                try:
                    request = json.loads(self.rfile.read(length) or b"{}")
                except json.JSONDecodeError:
                    request = {}
                behaviour = server._next(request)
                with server._lock:
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    if behaviour.delay:
                        time.sleep(behaviour.delay)
                finally:
                    with server._lock:
                        server.in_flight -= 1
                if behaviour.raw is not None:
                    body = behaviour.raw
                elif behaviour.status == 200:
                    body = json.dumps(_completion(request, behaviour.reply)).encode()
                else:
                    error = {
                        "error": {
                            "message": f"scripted {behaviour.status}",
                            "type": "server_error",
                            "code": behaviour.status,
                        }
                    }
                    body = json.dumps(error).encode()
                try:
                    self.send_response(behaviour.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(body)))
                    for key, value in behaviour.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

        return Handler


def _completion(request: dict, reply: str) -> dict:
    prompt_chars = sum(len(str(m.get("content", ""))) for m in request.get("messages", []))
    return {
        "id": "chatcmpl-loopback",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": request.get("model", "loopback"),
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": reply}}],
        "usage": {
            "prompt_tokens": prompt_chars // 4,
            "completion_tokens": len(reply) // 4,
            "total_tokens": prompt_chars // 4 + len(reply) // 4,
        },
    }
