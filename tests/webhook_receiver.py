"""A webhook receiver on loopback for the tests and the benchmark: a threaded HTTP server that records each POST
(when it came, its headers and body) and answers as told: a status per request, a redirect, or no answer at all."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    at: float  # time.time() when the body was read
    path: str
    headers: dict[str, str]
    body: str


@dataclass
class Receiver:
    """`statuses`: what to answer, one per request in turn (the last one repeats); `hang`: never answer (hold the
    connection until the server stops); `location`: sent with a 3xx."""

    statuses: list[int] = field(default_factory=lambda: [200])
    hang: bool = False
    location: str = ""
    tls: object = None  # an ssl.SSLContext for the server side: HTTPS
    received: list[Received] = field(default_factory=list)

    def __post_init__(self):
        self._lock = threading.Condition()
        self._stopping = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                with receiver._lock:
                    receiver.received.append(Received(time.time(), self.path, dict(self.headers), body))
                    status = receiver.statuses[min(len(receiver.received) - 1, len(receiver.statuses) - 1)]
                    receiver._lock.notify_all()
                if receiver.hang:
                    receiver._stopping.wait(120)
                    return
                self.send_response(status)
                if 300 <= status < 400 and receiver.location:
                    self.send_header("Location", receiver.location)
                payload = b"x" * 5000  # more than the sender reads
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                try:
                    self.wfile.write(payload)
                except OSError:
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if self.tls is not None:
            self.server.socket = self.tls.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.server.server_port}/hooks/cloudinary"

    def start(self) -> Receiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int, timeout: float = 30) -> list[Received]:
        """Wait until `count` requests came; AssertionError with what came if they did not."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.received) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"{len(self.received)} of {count} webhooks came within {timeout}s: "
                                         f"{[r.body[:200] for r in self.received]}")
                self._lock.wait(remaining)
            return list(self.received)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
