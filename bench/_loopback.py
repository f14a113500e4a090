"""A loopback stand-in for Hacker News's search, for the benchmarks that run whole workers.

Every search answers after `latency_s` with two fresh comments (minutes old, so the worker's
backfill window keeps them), each in a conversation of its own; a user lookup answers with
karma. The server runs in a daemon thread of the calling process.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar
from urllib.parse import parse_qs, urlsplit

HITS_PER_SEARCH = 2


class _Search(BaseHTTPRequestHandler):
    latency_s: ClassVar[float] = 0.05
    counter: ClassVar[int] = 0
    lock: ClassVar[threading.Lock] = threading.Lock()

    def do_GET(self) -> None:
        time.sleep(self.latency_s)
        url = urlsplit(self.path)
        if url.path.endswith("/search_by_date"):
            query = parse_qs(url.query)["query"][0]
            with self.lock:
                type(self).counter += HITS_PER_SEARCH
                n = type(self).counter
            hits = [
                {
                    "objectID": str(n + i),
                    "created_at_i": int(time.time()) - 120,
                    "author": f"user{(n + i) % 50}",
                    "comment_text": f"<p>{query} support was slow to answer my ticket today</p>",
                    "story_id": n + i,
                    "_tags": ["comment"],
                }
                for i in range(HITS_PER_SEARCH)
            ]
            body = json.dumps(
                {"hits": hits, "nbHits": HITS_PER_SEARCH, "nbPages": 1, "page": 0}
            ).encode()
        else:
            body = json.dumps({"username": url.path.rsplit("/", 1)[-1], "karma": 1234}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@contextmanager
def hackernews(latency_s: float) -> Iterator[str]:
    """Serve the stand-in on a free loopback port; yield its base URL."""
    handler = type("Search", (_Search,), {"latency_s": latency_s, "counter": 0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    server.request_queue_size = 256
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
