"""agent.demo.web: the static server and the viewer links (no browser needed)."""

from __future__ import annotations

import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from agent.demo.web import demo_viewer, serve_viewer, viewer_link


def test_viewer_link_carries_url_token_agent() -> None:
    link = viewer_link(
        "http://127.0.0.1:8000", "ws://127.0.0.1:7880", "a.b+c/=", "x-agent", lang="fr", mic=True
    )
    parts = urlsplit(link)
    assert parts.path == "/index.html"
    assert parse_qs(parts.query) == {
        "url": ["ws://127.0.0.1:7880"],
        "token": ["a.b+c/="],
        "agent": ["x-agent"],
        "lang": ["fr"],
        "mic": ["1"],
    }


def test_serve_viewer_serves_a_folder_on_loopback(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<!doctype html><title>t</title>")
    (tmp_path / "viewer.js").write_text("console.log(1)")
    base, stop = serve_viewer(directory=tmp_path)
    try:
        assert base.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(base + "viewer.js", timeout=5) as resp:
            assert resp.headers["Content-Type"].startswith("text/javascript")
            assert resp.read() == b"console.log(1)"
        with urllib.request.urlopen(base + "index.html", timeout=5) as resp:
            assert b"<title>t</title>" in resp.read()
    finally:
        stop()


def test_serve_viewer_explains_a_missing_build(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"install-browser\.sh"):
        serve_viewer(directory=tmp_path)


def test_demo_viewer_link_has_a_token_for_the_room() -> None:
    made = demo_viewer("ws://127.0.0.1:7880", "devkey", "secret-secret-secret-secret-secret", "r1", "g-agent")
    if made is None:
        pytest.skip("node/npm missing: the viewer cannot be built here")
    link, stop = made
    try:
        query = parse_qs(urlsplit(link).query)
        assert query["agent"] == ["g-agent"] and query["url"] == ["ws://127.0.0.1:7880"]
        with urllib.request.urlopen(link, timeout=5) as resp:
            assert b"viewer.js" in resp.read()
    finally:
        stop()
