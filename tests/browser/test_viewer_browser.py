"""The caption viewer (web/) in a real headless Chromium, on the real path.

livekit-server + the greffier worker + Debian's Chromium driven by playwright-core
(web/tests/browser-e2e.mjs). Page 1 joins with ``mic=1`` and publishes its microphone from a real
speech recording (Chromium's fake capture device playing a WAV file); page 2 is the viewer. The
captions must appear in page 2's DOM under page 1's name, the Stop/Start buttons must move the
"transcription active" indicator, and the downloads must carry the words. Screenshots go to
``artifacts/browser/`` and one is copied to ``web/screenshot.png`` for the README.

Needs: ``bash scripts/install-browser.sh`` (chromium, npm ci, the bundle). In CI (``CI`` set) a
missing piece fails the test instead of skipping it.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import re
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agent.audio.decode import load_audio
from agent.audio.wav import write_wav
from agent.demo.web import VIEWER_DIR, serve_viewer, viewer_built, viewer_link
from agent.samples import pyannote_sample
from tests.lk import dispatch, token

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
WEB = REPO / "web"
DRIVER = WEB / "tests" / "browser-e2e.mjs"
ARTIFACTS = REPO / "artifacts" / "browser"
AGENT = f"greffier-web-{uuid.uuid4().hex[:6]}"
AGENT_ID = f"{AGENT}-agent"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# "This is Diane in New Jersey. And I'm Sheila in Texas, originally from Chicago. Oh, I'm
# originally from Chicago also." (12.3 s to 20.3 s of the pyannote sample, a real recorded call)
CLIP = (12.3, 20.3)
# Words of the played fragment; tiny.en on a looped fake microphone gets most, not always all.
EXPECT_WORDS = ("chicago", "texas", "originally", "sheila", "jersey")
EXPECT_MIN = 3


def _missing(reason: str) -> None:
    message = f"{reason}: run `bash scripts/install-browser.sh`"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser_tools() -> dict[str, str]:
    node = shutil.which("node")
    if node is None:
        _missing("node is not installed")
    if not Path(CHROMIUM).exists():
        _missing(f"Chromium not found at {CHROMIUM}")
    if not (WEB / "node_modules" / "playwright-core").is_dir():
        _missing("web/node_modules is missing (npm ci in web/)")
    if not viewer_built():
        _missing(f"the viewer is not built in {VIEWER_DIR}")
    return {"node": node or "node", "chromium": CHROMIUM}


@pytest.fixture
def viewer_server():  # type: ignore[no-untyped-def]
    base, stop = serve_viewer()
    yield base
    stop()


def speech_wav(path: Path) -> Path:
    """A real speech clip as 16 kHz mono 16-bit PCM WAV, silence at both ends (Chromium loops it)."""
    audio = load_audio(pyannote_sample().wav)
    clip = audio[int(CLIP[0] * 16000) : int(CLIP[1] * 16000)]
    silence = np.zeros(int(4.0 * 16000), dtype=clip.dtype)
    return write_wav(path, np.concatenate([silence[:8000], clip, silence]), 16000)


class Driver:
    """The Node script as a child process; its JSON lines are collected by a thread."""

    def __init__(self, node: str, env: dict[str, str], log: Path) -> None:
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.stderr = open(log, "wb")
        self.log = log
        self.proc = subprocess.Popen(
            [node, str(DRIVER)],
            cwd=WEB,
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            start_new_session=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            try:
                self.events.put(json.loads(raw))
            except ValueError:
                self.events.put({"event": "text", "line": raw.decode(errors="replace")})
        self.events.put({"event": "exit"})

    def wait_for(self, name: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"browser driver: no {name!r} within {timeout}s\n{self.tail()}")
            try:
                event = self.events.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                continue
            if event["event"] == name:
                return event
            if event["event"] == "exit":
                self.proc.wait()
                raise AssertionError(
                    f"browser driver exited ({self.proc.returncode}) before {name!r}\n{self.tail()}"
                )

    def tail(self) -> str:
        self.stderr.flush()
        return self.log.read_text(errors="replace")[-4000:]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()


def llm(messages: list[dict[str, str]]) -> str:
    """The OpenAI-compatible server behind translation and the catch-up: marks translations with
    their target language; sums up with one point quoting the transcript."""
    system, user = messages[0]["content"], messages[-1]["content"]
    if system.startswith("You translate"):
        target = re.search(r"into (\w+)\.", system)
        caption = re.search(r"<caption>\n(.*)\n</caption>", user, re.S)
        return f"[{target.group(1) if target else '?'}] {caption.group(1) if caption else ''}"
    line = next((x for x in user.splitlines() if "Alice Martin:" in x), "")
    quote = " ".join(line.split("Alice Martin:", 1)[-1].split()[:4])
    point = {"speaker": "Alice Martin", "point": "Alice introduced herself.", "quote": quote}
    return json.dumps({"points": [point]})


@pytest.fixture
def llm_server() -> Iterator[str]:
    """``llm`` behind a real OpenAI-compatible HTTP endpoint, on its own thread: this test blocks
    on the browser, so a server on the test's event loop would never answer."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            message = {"role": "assistant", "content": llm(body["messages"])}
            answer = {"choices": [{"index": 0, "finish_reason": "stop", "message": message}]}
            data = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_viewer_shows_browser_speech_and_controls_captions(
    browser_tools, viewer_server, livekit_server, start_worker, llm_server, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    worker = start_worker(
        AGENT_NAME=AGENT, WHISPER_MODEL="tiny.en", ROOM_EMPTY_GRACE="2",
        TRANSLATE_BACKEND="llm", TRANSLATE_LLM_BASE_URL=llm_server, TRANSLATE_LANGUAGES="fr,en",
    )  # fmt: skip
    room = f"browser-{uuid.uuid4().hex[:6]}"
    speaker_token = token(livekit_server, "alice", room, name="Alice Martin")
    viewer_token = token(livekit_server, "viewer", room, name="Viewer", manage_agents=True)
    late_token = token(livekit_server, "late", room, name="Late")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    env = {
        "SPEAKER_URL": viewer_link(viewer_server, livekit_server.url, speaker_token, AGENT_ID, mic=True),
        "VIEWER_URL": viewer_link(viewer_server, livekit_server.url, viewer_token, AGENT_ID, lang="en"),
        "LATE_URL": viewer_link(viewer_server, livekit_server.url, late_token, AGENT_ID, lang="fr"),
        "FAKE_AUDIO": str(speech_wav(tmp_path / "speech.wav")),
        "SPEAKER_IDENTITY": "alice",
        "EXPECT_WORDS": ",".join(EXPECT_WORDS),
        "EXPECT_MIN": str(EXPECT_MIN),
        "ARTIFACTS": str(ARTIFACTS),
        "CHROMIUM": browser_tools["chromium"],
        "TIMEOUT_MS": "120000",
        "TRANSLATE_LANG": "fr",
    }
    driver = Driver(browser_tools["node"], env, ARTIFACTS / "driver.log")
    try:
        driver.wait_for("joined", timeout=90)
        asyncio.run(dispatch(livekit_server, AGENT, room))
        # Chromium's fake microphone really reaches LiveKit and the recognizer.
        worker.wait_for_log("captioning alice", timeout=60)
        worker.wait_for_log("final caption from alice", timeout=90)
        result = driver.wait_for("result", timeout=240)
    finally:
        driver.close()
        shutil.copy(worker.log_path, ARTIFACTS / "worker.log")

    captions = result["captions"]
    mine = [c for c in captions if c["identity"] == "alice" and c["final"]]
    assert mine, captions
    assert {c["speaker"] for c in mine} == {"Alice Martin"}, mine
    said = " ".join(c["text"] for c in mine).lower()
    assert sum(word in said for word in EXPECT_WORDS) >= EXPECT_MIN, said
    assert all(c["identity"] == "alice" for c in captions), captions  # the viewer has no mic

    # Interim text looks different from final text; finals are announced politely.
    style = result["interimStyle"]
    assert style["fontStyle"] == "italic" and style["color"] != style["finalColor"], style
    assert result["sawInterim"] in (True, None), captions  # interims on screen (if any) are italic
    assert result["announced"]["live"] == "polite"
    assert any(word in result["announced"]["text"].lower() for word in EXPECT_WORDS), result["announced"]

    vtt = Path(result["downloads"]["vtt"]["path"]).read_text()
    assert vtt.startswith("WEBVTT") and "-->" in vtt and "<v Alice Martin>" in vtt, vtt
    assert any(word in vtt.lower() for word in EXPECT_WORDS), vtt
    txt = Path(result["downloads"]["txt"]["path"]).read_text()
    assert "Alice Martin: " in txt and any(word in txt.lower() for word in EXPECT_WORDS), txt
    assert result["downloads"]["vtt"]["name"].endswith(".vtt")

    # A late joiner sees the earlier finals (history RPC), under the same name, and is told so.
    late = result["late"]
    assert late["earlier"] and len(late["captions"]) == len(late["earlier"]), late
    assert all(c["final"] and c["speaker"] == "Alice Martin" for c in late["captions"]), late
    assert "sous-titre(s) antérieur(s) chargé(s)" in late["message"], late

    # Stop (viewer and speaker both see "paused"), then Start again, by keyboard.
    assert [s[0] for s in result["states"]] == ["paused", "paused", "active"], result["states"]
    assert result["states"][0][1] == "Captions paused" and result["states"][2][1] == "Transcription active"
    assert f"captions stopped in room {room} by viewer" in worker.output()
    assert f"captions started in room {room} by viewer" in worker.output()

    # Captions in French, chosen on the page: the translation in the original's place, marked as
    # French, the English original under it on demand; then the meeting so far.
    fr = result["translated"]
    assert fr["identity"] == "alice" and fr["lang"] == "fr" and fr["originalShown"], fr
    assert fr["text"] == f"[French] {fr['original']}" and fr["summary"] == "Original", fr
    assert len(fr["soFar"]) == 1 and "Alice Martin: Alice introduced herself." in fr["soFar"][0], fr
    assert fr["soFarFocused"] == "so-far-title"
    assert fr["untranslatedShowOriginal"] is False, fr

    assert result["sizeAfter"] > result["sizeBefore"]
    assert result["french"] == {
        "lang": "fr",
        "start": "Démarrer les sous-titres",
        "status": "Transcription active",
    }

    screenshot = Path(result["screenshot"])
    assert screenshot.stat().st_size > 10_000
    if os.environ.get("UPDATE_SCREENSHOT"):  # refresh the README picture on purpose only
        shutil.copy(screenshot, WEB / "screenshot.png")
