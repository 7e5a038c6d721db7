"""A small website on 127.0.0.1 for the import tests: a hosted-blog post, its images, a
WordPress export, and the pages that go wrong (redirects, 404, slow, huge, wrong type,
forbidden by robots.txt, dripping a byte at a time). Every request's User-Agent is kept."""
from __future__ import annotations

import io
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from PIL import Image

SOURCES = Path(__file__).parent / "import_sources"
BLOG_PATH = "/blog/4-benefits-of-knees-over-toes-training"


def jpeg(width: int, height: int, colour: tuple[int, int, int] = (190, 120, 90)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "JPEG", quality=80)
    return out.getvalue()


class Site:
    """The server and what it has been asked."""

    def __init__(self) -> None:
        self.user_agents: list[str] = []
        self.paths: list[str] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.routes = self._routes()

    def __enter__(self) -> "Site":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _routes(self) -> dict[str, tuple[int, str, bytes]]:
        page = (SOURCES / "knees-over-toes.html").read_bytes()
        export = (SOURCES / "wordpress-export.xml").read_text(encoding="utf-8")
        article_only = b"<html><head><title>Menu</title></head><body><nav><a href='/'>Home</a>" \
            b"</nav><form><input name=email><button>Join</button></form></body></html>"
        return {
            BLOG_PATH: (200, "text/html; charset=utf-8", page),
            "/images/knee-over-toe-split-squat.jpg": (200, "image/jpeg", jpeg(3200, 2400)),
            "/feed.xml": (200, "application/rss+xml",
                          export.replace("{SERVER}", self.url).encode()),
            "/wp-content/uploads/2023/09/sourdough-loaf-1024x768.jpg":
                (200, "image/jpeg", jpeg(1024, 768, (160, 110, 60))),
            "/report.pdf": (200, "application/pdf", b"%PDF-1.7\n%%EOF\n"),
            "/menu-only": (200, "text/html", article_only),
            "/private/notes": (200, "text/html", page),
            "/robots.txt": (200, "text/plain", b"User-agent: *\nDisallow: /private/\n"),
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                site.user_agents.append(self.headers.get("User-Agent", ""))
                site.paths.append(self.path)
                if self.path == "/old-address":
                    return self._redirect(BLOG_PATH)
                if self.path.startswith("/loop"):
                    return self._redirect(f"/loop{len(self.path)}")
                if self.path == "/slow":
                    time.sleep(3)
                if self.path == "/huge":
                    return self._huge()
                if self.path == "/drip":
                    return self._drip()
                status, kind, body = site.routes.get(self.path, (404, "text/html", b"gone"))
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _redirect(self, where: str) -> None:
                self.send_response(301)
                self.send_header("Location", where)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _drip(self) -> None:
                """A page that comes a byte at a time, never slow enough to time out a read."""
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                try:
                    for _ in range(30):
                        self.wfile.write(b"<")
                        self.wfile.flush()
                        time.sleep(0.1)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _huge(self) -> None:
                """A page that never says its length and goes on and on."""
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                try:
                    for _ in range(64):
                        self.wfile.write(b"<p>" + b"x" * 65536 + b"</p>")
                except (BrokenPipeError, ConnectionResetError):
                    pass

        return Handler
