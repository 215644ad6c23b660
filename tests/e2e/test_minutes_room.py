"""Minutes on the real path: speech in a real room → room ends → email, webhook and files."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import time
from pathlib import Path

import pytest
from livekit import api

from agent.demo.listener import CaptionReader
from agent.demo.player import Speaker
from agent.samples import synth_speech
from tests.conftest import SMTPSink, WebhookSink, smtp_env, webhook_env
from tests.lk import admin, eventually, token

pytestmark = pytest.mark.e2e

AGENT = "greffier-min"
FIRST = "Good morning. We decided to move the launch to March. Alice will send the budget by Friday."
SECOND = "After the break, the team agreed to hire two engineers. Bob will draft the job offer."


async def make_room(server, room: str, recipients: list[str]) -> None:  # type: ignore[no-untyped-def]
    lk = admin(server)
    try:
        meta = {"greffier": {"recipients": recipients, "title": "Launch review", "language": "en"}}
        await lk.room.create_room(api.CreateRoomRequest(name=room, metadata=json.dumps(meta)))
        await lk.agent_dispatch.create_dispatch(api.CreateAgentDispatchRequest(agent_name=AGENT, room=room))
    finally:
        await lk.aclose()


def minutes_env(tmp_path: Path, smtp: SMTPSink, hook: WebhookSink) -> dict[str, str]:
    return {
        "AGENT_NAME": AGENT,
        "WHISPER_MODEL": "tiny.en",
        "ROOM_EMPTY_GRACE": "1",
        "DATA_DIR": str(tmp_path / "data"),
        **smtp_env(smtp),
        **webhook_env(hook),
    }


async def test_room_end_delivers_minutes_by_email_webhook_and_files(
    livekit_server, start_worker, smtp_server, webhook_server, tmp_path
) -> None:
    worker = start_worker(**minutes_env(tmp_path, smtp_server, webhook_server))
    room = "minutes-room"
    await make_room(livekit_server, room, ["organizer@example.org"])
    alice = await Speaker.join(
        livekit_server.url,
        token(livekit_server, "alice", room, name="Alice\r\nBcc: evil@example.org"),
    )
    await alice.publish()
    worker.wait_for_log("captioning alice", timeout=30)
    await alice.play(synth_speech(FIRST, "en"), tail_silence=1.5)
    ended = time.monotonic()
    await alice.leave()
    await eventually(lambda: smtp_server.messages, timeout=60)
    latency = time.monotonic() - ended
    mail = smtp_server.messages[0]
    assert mail.rcpt_tos == ["organizer@example.org"]
    msg = mail.message
    assert "Launch review" in str(msg["Subject"])
    assert "evil@example.org" not in str(msg).split("\n\n", 1)[0]
    body = msg.get_body(("plain",)).get_content()
    assert "Alice" in body  # attendees with talk time
    assert "not generated" in body  # no LLM configured: said so
    transcript = _attachment(msg, ".md")
    assert _heard(transcript, FIRST, share=0.5)  # tiny.en once heard "the lunch tomorrow"
    assert "—" in transcript  # UTF-8 survives the trip
    attachments = {part.get_filename() for part in msg.iter_attachments()}
    assert any(name.endswith(".md") for name in attachments)
    assert any(name.endswith(".vtt") for name in attachments)
    await eventually(lambda: webhook_server.received, timeout=30)
    assert webhook_server.received[0]["minutes"]
    files = list((tmp_path / "data" / "minutes").rglob("*"))
    assert {p.suffix for p in files if p.is_file()} >= {".md", ".json", ".vtt", ".srt"}
    # The room ended once: one email, one webhook, even after the outbox runs again.
    await asyncio.sleep(2)
    assert len(smtp_server.messages) == 1 and len(webhook_server.received) == 1
    assert latency < 60
    assert "Traceback" not in worker.output()


async def test_sigkill_mid_meeting_minutes_once_with_both_halves(
    livekit_server, start_worker, smtp_server, webhook_server, tmp_path
) -> None:
    env = minutes_env(tmp_path, smtp_server, webhook_server)
    first = start_worker(**env)
    room = "crash-room"
    await make_room(livekit_server, room, ["organizer@example.org"])
    reader = await CaptionReader.join(livekit_server.url, token(livekit_server, "reader", room))
    bob = await Speaker.join(livekit_server.url, token(livekit_server, "bob", room, name="Bob"))
    await bob.publish()
    first.wait_for_log("captioning bob", timeout=30)
    await bob.play(synth_speech(FIRST, "en"), tail_silence=1.5)
    spoken = time.time() - 1.5
    # The last words final (a loaded machine finalises late), then on disk: the journal write
    # follows the caption, and the crash must come after it, not race it.
    await eventually(lambda: _final_to(reader, spoken), timeout=40, seen=lambda: _said(reader))
    before = _said(reader)
    journal = lambda: _journals(tmp_path)  # noqa: E731
    await eventually(lambda: _within(before, journal()), timeout=20, seen=journal)
    os.killpg(first.proc.pid, signal.SIGKILL)
    first.proc.wait()

    second = start_worker(**env)
    lk = admin(livekit_server)
    try:
        await lk.agent_dispatch.create_dispatch(api.CreateAgentDispatchRequest(agent_name=AGENT, room=room))
    finally:
        await lk.aclose()
    second.wait_for_log("captioning bob", timeout=30)
    await bob.play(synth_speech(SECOND, "en"), tail_silence=1.5)
    spoken = time.time() - 1.5
    await eventually(lambda: _final_to(reader, spoken), timeout=40, seen=lambda: _said(reader))
    after = [t for t in _said(reader) if t not in before]
    await bob.leave()
    await reader.leave()
    await eventually(lambda: smtp_server.messages, timeout=60)
    await asyncio.sleep(3)
    assert len(smtp_server.messages) == 1
    transcript = _norm(_attachment(smtp_server.messages[0].message, ".md"))
    # What the reader saw said, before the crash and after, is in the minutes, each once (not the
    # reference text: tiny.en hears espeak-ng imperfectly, "the lunch" for "the launch").
    assert before and after, (before, after)
    for text in before + after:
        assert transcript.count(_norm(text)) == 1, (text, transcript)
    assert _heard(transcript, FIRST + " " + SECOND, share=0.4), transcript


def _said(reader: CaptionReader) -> list[str]:
    return [m["text"] for m in reader.log.json_finals("bob")]


def _final_to(reader: CaptionReader, spoken_until: float) -> bool:
    """A final reaching the end of what was just said has arrived."""
    return any(m["end"] >= spoken_until - 2.5 for m in reader.log.json_finals("bob"))


def _norm(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def _within(texts: list[str], journal: str) -> bool:
    return all(_norm(t) in _norm(journal) for t in texts)


def _attachment(msg, suffix: str) -> str:  # type: ignore[no-untyped-def]
    part = next(p for p in msg.iter_attachments() if p.get_filename().endswith(suffix))
    content = part.get_content()
    return content.decode() if isinstance(content, bytes) else content


def _journals(tmp_path: Path) -> str:
    """The segment texts on disk, in every journal of the test's ``DATA_DIR``."""
    texts = []
    for path in (tmp_path / "data" / "journals").glob("*.jsonl"):
        for line in path.read_text(errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a torn last line
            if record.get("type") == "segment":
                texts.append(str(record.get("segment", {}).get("text", "")))
    return " ".join(texts)


def _heard(transcript: str, said: str, share: float = 0.6) -> bool:
    """Most of the words of ``said`` are in the transcript (tiny.en on espeak-ng is not perfect)."""
    words = {w.strip(".,").lower() for w in said.split() if len(w) > 3}
    found = {w for w in words if w in transcript.lower()}
    return len(found) >= share * len(words)
