"""The static shop of examples/static-shop served from a second origin, for tests/embed.

A plain module (tests/ is on sys.path): the handler serves the folder with its Schutz
address (`http://127.0.0.1:8000` in the files) replaced by the running instance's.
"""

from __future__ import annotations

from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler
from pathlib import Path

SHOP_DIR = Path(__file__).resolve().parents[1] / "examples" / "static-shop"
PLACEHOLDER = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class Pair:
    schutz: str
    shop: str
    data_dir: Path
    database_url: str


class ShopHandler(SimpleHTTPRequestHandler):
    """Serves examples/static-shop, pointing its Schutz links at the running instance."""

    schutz = PLACEHOLDER

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        name = "index.html" if path in ("/", "/accessories", "/de/") else path.lstrip("/")
        file = SHOP_DIR / name
        if not file.is_file() or file.resolve().parent != SHOP_DIR:
            self.send_error(404)
            return
        body = file.read_bytes().replace(PLACEHOLDER.encode(), self.schutz.encode())
        if path == "/de/":  # the same page in German: the banner follows <html lang>
            body = body.replace(b'<html lang="en">', b'<html lang="de">')
        kinds = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}
        self.send_response(200)
        self.send_header("Content-Type", f"{kinds.get(file.suffix, 'text/plain')}; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass
