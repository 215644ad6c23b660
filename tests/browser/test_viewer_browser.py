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
import shutil
import subprocess
import threading
import time
import uuid
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


def test_viewer_shows_browser_speech_and_controls_captions(
    browser_tools, viewer_server, livekit_server, start_worker, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    worker = start_worker(AGENT_NAME=AGENT, WHISPER_MODEL="tiny.en", ROOM_EMPTY_GRACE="2")
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
