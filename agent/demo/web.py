"""Serve the static caption viewer (``web/dist``, built by ``scripts/install-browser.sh``) locally.

``serve_viewer()`` runs Python's http.server in a daemon thread on 127.0.0.1 and returns the base
URL and a function that stops it; ``viewer_link()`` builds the address a person (or a test
browser) opens: the page reads the LiveKit URL, the token and the agent identity from it.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import threading
from collections.abc import Callable
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode

REPO_ROOT = Path(__file__).resolve().parents[2]
VIEWER_DIR = REPO_ROOT / "web" / "dist"
BUILD_SCRIPT = REPO_ROOT / "scripts" / "install-browser.sh"


class _QuietHandler(SimpleHTTPRequestHandler):
    extensions_map = {  # noqa: RUF012  (class attribute of http.server)
        **SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript",
        ".mjs": "text/javascript",
        ".css": "text/css",
        ".map": "application/json",
        ".vtt": "text/vtt",
    }

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def viewer_built(directory: Path = VIEWER_DIR) -> bool:
    return (directory / "index.html").is_file() and (directory / "viewer.js").is_file()


def serve_viewer(port: int = 0, directory: Path | None = None) -> tuple[str, Callable[[], None]]:
    """Serve the built viewer on 127.0.0.1:``port`` (0: a free port). Returns (base URL, stop)."""
    folder = Path(directory or VIEWER_DIR)
    if not viewer_built(folder):
        raise FileNotFoundError(f"the caption viewer is not built in {folder}: run bash {BUILD_SCRIPT}")
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="viewer-http", daemon=True)
    thread.start()
    host, bound = server.server_address[:2]

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return f"http://{host}:{bound}/", stop


def viewer_link(
    base_url: str,
    livekit_url: str,
    token: str,
    agent_identity: str = "greffier-agent",
    *,
    lang: str | None = None,
    mic: bool = False,
) -> str:
    """The viewer's address for one participant: ``<base>index.html?url=…&token=…&agent=…``."""
    query = {"url": livekit_url, "token": token, "agent": agent_identity}
    if lang:
        query["lang"] = lang
    if mic:
        query["mic"] = "1"
    base = base_url if base_url.endswith("/") else base_url + "/"
    return f"{base}index.html?{urlencode(query)}"


def ensure_viewer_built() -> bool:
    """Build web/dist with ``scripts/install-browser.sh --no-browser`` if needed; False if impossible."""
    if viewer_built():
        return True
    if shutil.which("node") is None or shutil.which("npm") is None:
        return False
    result = subprocess.run(["bash", str(BUILD_SCRIPT), "--no-browser"], check=False)
    return result.returncode == 0 and viewer_built()


def demo_viewer(
    livekit_url: str,
    api_key: str,
    api_secret: str,
    room: str,
    agent_identity: str,
    *,
    identity: str = "web-viewer",
    name: str = "Web viewer",
    port: int = 0,
    lang: str | None = None,
) -> tuple[str, Callable[[], None]] | None:
    """For ``python -m agent demo``: serve the viewer and return (link with a token, stop).

    None when the page cannot be built here (no Node.js): the demo then runs without it.
    """
    from agent.demo.player import participant_token

    if not ensure_viewer_built():
        return None
    base, stop = serve_viewer(port)
    # The demo's viewer is the meeting's organiser: it may stop captions for the room.
    token = participant_token(api_key, api_secret, identity, room, name=name, manage_agents=True)
    return viewer_link(base, livekit_url, token, agent_identity, lang=lang), stop
