"""LiveKit's own React hook in a real Chromium: a page made only of @livekit/components-react
(``useTranscriptions``, web/react/main.jsx) shows greffier's captions from the lk.transcription
text streams, each segment's interims replaced by its final, the same text as greffier's finals.

Needs ``bash scripts/install-browser.sh`` (Chromium, npm ci, the bundle); in CI a missing piece
fails (see tests/browser/test_viewer_browser.py)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest

from agent.demo.listener import CaptionReader
from agent.demo.player import Speaker
from agent.demo.web import VIEWER_DIR, serve_viewer
from agent.samples import synth_speech
from tests.browser.test_viewer_browser import CHROMIUM, browser_tools  # noqa: F401
from tests.lk import dispatch, eventually, quiet, token

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
DRIVER = REPO / "web" / "tests" / "react-e2e.mjs"
AGENT = f"greffier-react-{uuid.uuid4().hex[:6]}"
SENTENCES = [
    "The committee will meet again on Thursday morning to review the budget for the new library.",
    "Everyone should bring the printed reports and the list of questions from last week.",
]


def _next_event(proc: subprocess.Popen[str]) -> dict:  # type: ignore[type-arg]
    line = proc.stdout.readline() if proc.stdout else ""
    if not line:
        raise AssertionError(f"react page driver ended: {proc.stderr.read() if proc.stderr else ''}")
    return json.loads(line)


async def test_use_transcriptions_shows_greffiers_finals(
    browser_tools, livekit_server, start_worker  # noqa: F811
) -> None:
    assert (VIEWER_DIR / "react.js").is_file(), "web/dist/react.js missing: run scripts/install-browser.sh"
    worker = start_worker(AGENT_NAME=AGENT, WHISPER_MODEL="tiny.en", ROOM_EMPTY_GRACE="2")
    room = "react-hooks"
    base, stop = serve_viewer()
    url = f"{base}/react.html?url={livekit_server.url}&token={token(livekit_server, 'browser', room)}"
    proc = subprocess.Popen(
        [browser_tools["node"], str(DRIVER)],
        env=dict(os.environ, PAGE_URL=url, CHROMIUM=CHROMIUM),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert (await asyncio.to_thread(_next_event, proc))["event"] == "joined"
        reader = await CaptionReader.join(livekit_server.url, token(livekit_server, "reader", room))
        alice = await Speaker.join(livekit_server.url, token(livekit_server, "alice", room))
        await alice.publish()
        await dispatch(livekit_server, AGENT, room)
        worker.wait_for_log("captioning alice", timeout=30)
        for sentence in SENTENCES:
            await alice.play(synth_speech(sentence, "en"), tail_silence=1.5)
        await eventually(lambda: len(reader.log.finals("alice")) >= 2, timeout=30)
        await quiet(reader)
        assert proc.stdin is not None
        proc.stdin.write("done\n")
        proc.stdin.flush()
        result = await asyncio.to_thread(_next_event, proc)
        await alice.leave()
        await reader.leave()
    finally:
        proc.kill()
        stop()
    assert result["errors"] == []
    shown = [c for c in result["captions"] if c["identity"] == "alice"]
    finals = reader.log.finals("alice")
    # One row per segment: every interim was replaced by its final, with the final's text.
    assert [c["segmentId"] for c in shown] == [f.segment_id for f in finals]
    assert all(c["final"] for c in shown)
    assert [c["text"] for c in shown] == [f.text for f in finals]
