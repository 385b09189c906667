"""A fault-injecting HTTP server for end-to-end crawl tests: a small film site on 127.0.0.1
whose index links to good pages and to every way a page can fail.

Good pages are the demo ``openfilms`` film pages (fixtures/sites/openfilms, mounted at ``/``)
and a few of ours (fixtures/faults). Faults: 500; 503 then OK; 429 + ``Retry-After: 1`` then
OK; a connection reset; a body shorter than its Content-Length; an undeclared and a wrong
charset; 50 MB bodies streamed in chunks (generated, never stored), with and without a
Content-Length; a gzip bomb (built once at start, inflating past 100 MB); a redirect loop and a
too-long redirect chain; a page slower than the test's DOWNLOAD_TIMEOUT; a path robots.txt
disallows; offsite links; a dead link; broken JSON-LD; an empty page.

``FaultServer.expected`` says what a crawl should make of each URL, so a test checks the
catalog against it. The server is bounded in time: handlers that wait or stream watch a stop
event, ``close()`` shuts every open socket, and it joins every handler thread.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

ROOT = Path(__file__).resolve().parent.parent
OPENFILMS = ROOT / "fixtures" / "sites" / "openfilms"
PAGES = ROOT / "fixtures" / "faults"
MiB = 1024 * 1024

ROBOTS = b"User-agent: *\nDisallow: /private/\n"
OFFSITE_LINKS = ("http://offsite.example.org/film/elsewhere.html", "https://films.example.net/")


@dataclass(frozen=True)
class Outcome:
    """What a crawl should make of a URL: ``stored`` (a work titled ``value``),
    ``quarantined`` (reason ``value``) or ``counted`` (stats key ``value``)."""

    kind: str
    value: str


def gzip_bomb(size: int) -> bytes:
    """A gzip body of ``size`` zero bytes: ~1000x smaller, built without holding it whole."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(MiB)
    parts = [compressor.compress(block) for _ in range(size // MiB)]
    return b"".join([*parts, compressor.flush()])


class FaultServer:
    """The server; use as a context manager (``with FaultServer() as server: server.url(...)``)."""

    def __init__(self, *, huge_bytes: int = 50 * MiB, huge_pages: int = 16,
                 bomb_bytes: int = 110 * MiB, slow_seconds: float = 10.0,
                 chain_length: int = 25) -> None:  # fmt: skip
        self.huge_bytes = huge_bytes
        self.huge_pages = huge_pages
        self.slow_seconds = slow_seconds
        self.chain_length = chain_length
        self.bomb = gzip_bomb(bomb_bytes)
        self.hits: Counter[str] = Counter()
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.routes: dict[str, Callable[[Handler], None]] = {}
        self.expected: dict[str, Outcome] = {}
        self._build_routes()

    # ------------------------------------------------------------------ life cycle

    def start(self) -> str:
        class Server(ThreadingHTTPServer):
            daemon_threads = False
            block_on_close = True  # server_close() joins every handler thread

        self._httpd = Server(("127.0.0.1", 0), Handler)
        self._httpd.fault = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self.base

    @property
    def base(self) -> str:
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return path if "://" in path else self.base + path

    def close(self) -> float:
        """Stop serving and wait for every handler; returns the seconds it took."""
        began = time.monotonic()
        self.stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            with self._lock:
                sockets = list(self._sockets)
            for sock in sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            self._httpd.server_close()
        return time.monotonic() - began

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _track(self, sock: socket.socket, alive: bool) -> None:
        with self._lock:
            (self._sockets.add if alive else self._sockets.discard)(sock)

    def hit(self, path: str) -> int:
        with self._lock:
            self.hits[path] += 1
            return self.hits[path]

    # ------------------------------------------------------------------ routes

    def _route(self, path: str, handler: Callable[[Handler], None], outcome: Outcome | None,
               linked: bool = True) -> None:  # fmt: skip
        self.routes[path] = handler
        if outcome is not None and linked:
            self.expected[path] = outcome

    def _build_routes(self) -> None:
        stored, quarantined = (
            (lambda v: Outcome("stored", v)),
            (lambda v: Outcome("quarantined", v)),
        )
        self._route("/robots.txt", lambda h: h.send(200, ROBOTS, "text/plain"), None)
        self._route("/index.html", lambda h: h.send(200, self.index_page()), None)
        for name, title in (("metropolis-1927", "Metropolis"), ("nosferatu-1922", "Nosferatu"),
                            ("the-general-1926", "The General")):  # fmt: skip
            self._route(f"/film/{name}.html", _file(OPENFILMS / "film" / f"{name}.html"),
                        stored(title))  # fmt: skip
        self._route("/about.html", _file(OPENFILMS / "about.html"), None)
        self._route("/faults/500", lambda h: h.send(500, b"<h1>Internal Server Error</h1>"),
                    quarantined("http_500"))  # fmt: skip
        self._route("/faults/503-once", _once(503, {}, PAGES / "sunrise-1927.html"),
                    stored("Sunrise: A Song of Two Humans"))  # fmt: skip
        self._route("/faults/429-once", _once(429, {"Retry-After": "1"}, PAGES / "the-kid-1921.html"),
                    stored("The Kid"))  # fmt: skip
        self._route("/faults/reset", _reset, quarantined("connection_lost"))
        self._route("/faults/truncated", _truncated, quarantined("connection_lost"))
        self._route("/faults/charset-undeclared", _undeclared_charset, stored("Häxan"))
        self._route("/faults/charset-wrong", _wrong_charset, stored("À bout de souffle"))
        for n in range(1, self.huge_pages + 1):
            self._route(f"/faults/huge/{n}", _huge(chunked=True), quarantined("too_large"))
        self._route("/faults/huge-declared", _huge(chunked=False), quarantined("too_large"))
        self._route("/faults/gzip-bomb", _bomb, quarantined("gzip_bomb"))
        self._route("/faults/loop-a", _redirect("/faults/loop-b"), quarantined("redirect_loop"))
        self._route("/faults/loop-b", _redirect("/faults/loop-a"), None)
        for n in range(self.chain_length):
            self._route(f"/faults/chain/{n}", _redirect(f"/faults/chain/{n + 1}"),
                        quarantined("too_many_redirects"), linked=n == 0)  # fmt: skip
        self._route(f"/faults/chain/{self.chain_length}", _file(PAGES / "sherlock-jr-1924.html"),
                    None)  # fmt: skip
        self._route("/faults/moved", _redirect("/faults/moved-here.html", 301),
                    stored("Sherlock Jr."))  # fmt: skip
        self._route("/faults/moved-here.html", _file(PAGES / "sherlock-jr-1924.html"), None)
        self._route("/faults/slow", _slow, quarantined("timeout"))
        self._route("/private/film.html", _file(PAGES / "the-kid-1921.html"),
                    quarantined("robots_disallowed"))  # fmt: skip
        self._route("/faults/broken-jsonld", _file(PAGES / "broken-jsonld.html"),
                    quarantined("no_film_data/broken_jsonld"))  # fmt: skip
        self._route("/faults/empty", lambda h: h.send(200, b""), quarantined("empty_body"))
        self.expected["/faults/missing.html"] = Outcome("counted", "filmagg/not_found")
        for link in OFFSITE_LINKS:
            self.expected[link] = Outcome("counted", "filmagg/offsite")

    def index_page(self) -> bytes:
        links = "\n".join(f'<li><a href="{p}">{p}</a></li>' for p in self.expected)
        return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Fault Films</title>"
                f"</head><body><h1>Every way a page can fail</h1><ul>\n{links}\n"
                f'<li><a href="mailto:films@example.org">write to us</a></li>'
                f"</ul></body></html>").encode()  # fmt: skip


# ---------------------------------------------------------------------- handlers


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and chunked bodies, as real servers do
    timeout = 10  # socket timeout: no read or write blocks longer, whatever the client does
    server: Any
    count = 0

    @property
    def fault(self) -> FaultServer:
        return self.server.fault  # type: ignore[no-any-return]

    def setup(self) -> None:
        super().setup()
        self.fault._track(self.connection, True)

    def finish(self) -> None:
        self.fault._track(self.connection, False)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:  # noqa: N802
        path = self.path.split("?", 1)[0]
        self.count = self.fault.hit(path)  # this request is the path's count-th
        route = self.fault.routes.get(path)
        try:
            if route is None:
                self.send(404, b"<h1>Not Found</h1>")
            else:
                route(self)
        except OSError:  # the client went away (a cancelled download): nothing to answer
            self.close_connection = True

    def send(self, status: int, body: bytes, content_type: str = "text/html; charset=utf-8",
             headers: dict[str, str] | None = None) -> None:  # fmt: skip
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


def _file(path: Path) -> Callable[[Handler], None]:
    body = path.read_bytes()
    return lambda h: h.send(200, body)


def _once(status: int, headers: dict[str, str], page: Path) -> Callable[[Handler], None]:
    """``status`` on the first request, the page on every later one."""
    body = page.read_bytes()

    def handle(h: Handler) -> None:
        if h.count == 1:
            h.send(status, b"<h1>Try again</h1>", headers=headers)
        else:
            h.send(200, body)

    return handle


def _redirect(target: str, status: int = 302) -> Callable[[Handler], None]:
    return lambda h: h.send(status, b"", headers={"Location": target})


def _reset(h: Handler) -> None:
    """Read the request, then close with an RST (SO_LINGER 0): "connection reset by peer"."""
    h.close_connection = True
    h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    h.connection.close()


def _truncated(h: Handler) -> None:
    body = (PAGES / "sunrise-1927.html").read_bytes()
    h.close_connection = True
    h.send_response(200)
    h.send_header("Content-Type", "text/html; charset=utf-8")
    h.send_header("Content-Length", str(len(body) + 4096))
    h.end_headers()
    h.wfile.write(body[: len(body) // 2])
    h.wfile.flush()


def _undeclared_charset(h: Handler) -> None:
    body = (PAGES / "haxan-1922.html").read_text(encoding="utf-8").encode("cp1252")
    h.send(200, body, "text/html")


def _wrong_charset(h: Handler) -> None:
    h.send(200, (PAGES / "a-bout-de-souffle-1960.html").read_bytes(),
           "text/html; charset=iso-8859-1")  # fmt: skip


def _huge(chunked: bool) -> Callable[[Handler], None]:
    """A ``huge_bytes`` page generated as it is sent, in 64 KiB chunks; ``chunked``: with
    Transfer-Encoding (the size is not known in advance), else with its Content-Length."""
    filler = b"<p>" + b"All work and no play makes a film page a huge page. " * 20 + b"</p>\n"
    chunk = (filler * (65536 // len(filler) + 1))[:65536]

    def handle(h: Handler) -> None:
        total = h.fault.huge_bytes
        h.close_connection = True
        h.send_response(200)
        h.send_header("Content-Type", "text/html; charset=utf-8")
        if chunked:
            h.send_header("Transfer-Encoding", "chunked")
        else:
            h.send_header("Content-Length", str(total))
        h.end_headers()
        sent = 0
        while sent < total and not h.fault.stopping.is_set():
            part = chunk[: total - sent]
            h.wfile.write(b"%x\r\n%s\r\n" % (len(part), part) if chunked else part)
            sent += len(part)
        if chunked:
            h.wfile.write(b"0\r\n\r\n")

    return handle


def _bomb(h: Handler) -> None:
    h.send(200, h.fault.bomb, headers={"Content-Encoding": "gzip"})


def _slow(h: Handler) -> None:
    """Answers after ``slow_seconds`` (or not at all when the server stops first)."""
    if h.fault.stopping.wait(h.fault.slow_seconds):
        h.close_connection = True
        return
    h.send(200, (PAGES / "sunrise-1927.html").read_bytes())


if __name__ == "__main__":  # serve until Ctrl-C, for trying a crawl by hand
    with FaultServer() as server:
        print(f"{server.base}/index.html")
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
