"""The durable journal: crash tolerance, de-duplication, hostile metadata, recovery scan."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import time
from pathlib import Path

import pytest

from agent.timebase import Word
from agent.transcript.journal import Journal, find_unfinished, read_journal
from agent.transcript.metadata import parse_room_metadata
from agent.transcript.segment import Segment


def seg(i: int, t0: float = 1_700_000_000.0, who: str = "alice") -> Segment:
    return Segment(f"s{i}", who, who.title(), t0 + i, t0 + i + 0.8, f"sentence {i}", "en",
                   words=(Word("sentence", t0 + i, t0 + i + 0.4),))


def test_records_are_durable_lines_and_round_trip(data_dir: Path) -> None:
    j = Journal.open_or_create(data_dir, "room", "RM_1", '{"greffier": {"title": "T"}}',
                               started_at=100.0)
    j.append_participant("alice", "Alice")
    assert j.append_segment(seg(1))
    j.mark_ended(200.0)
    lines = j.path.read_text().splitlines()
    assert [json.loads(line)["type"] for line in lines] == ["header", "join", "segment", "ended"]
    data = read_journal(j.path)
    assert data.room_sid == "RM_1" and data.started_at == 100.0 and data.ended_at == 200.0
    assert data.metadata.title == "T"
    assert data.segments == [seg(1)]  # words included
    assert data.participants["alice"].name == "Alice"


def test_reopen_continues_the_same_file_and_dedupes(data_dir: Path) -> None:
    first = Journal.open_or_create(data_dir, "room", "RM_2", None)
    first.append_segment(seg(1))
    first.append_segment(seg(2))
    # a restarted worker / second agent re-sends segments it had already journaled
    second = Journal.open_or_create(data_dir, "room", "RM_2", None)
    assert second.path == first.path
    assert not second.append_segment(seg(2))
    assert second.append_segment(seg(3))
    # even if two writers both wrote the same id, the reader keeps one
    first.append_segment(seg(3))
    ids = [s.segment_id for s in read_journal(first.path).segments]
    assert ids == ["s1", "s2", "s3"]
    headers = [line for line in first.path.read_text().splitlines() if '"header"' in line]
    assert len(headers) == 1


def test_truncated_last_line_is_tolerated_and_repaired(data_dir: Path) -> None:
    j = Journal.open_or_create(data_dir, "room", "RM_3", None)
    j.append_segment(seg(1))
    j.append_segment(seg(2))
    # crash mid-write: half a record, no newline
    raw = j.path.read_bytes()
    last = raw.rstrip(b"\n").rsplit(b"\n", 1)[1]
    j.path.write_bytes(raw[: len(raw) - len(last) // 2 - 1])
    data = read_journal(j.path)
    assert [s.segment_id for s in data.segments] == ["s1"]
    assert data.skipped_lines == 1
    # the next worker appends on a fresh line: nothing after the torn line is lost
    again = Journal.open_or_create(data_dir, "room", "RM_3", None)
    again.append_segment(seg(2))
    again.append_segment(seg(4))
    assert [s.segment_id for s in read_journal(j.path).segments] == ["s1", "s2", "s4"]


def _append_many(data_dir: str, worker: int) -> None:
    j = Journal.open_or_create(data_dir, "room", "RM_par", None)
    for i in range(100):
        j.append_segment(seg(worker * 1000 + i, who=f"w{worker}"))


def test_concurrent_writers_from_processes_lose_nothing(data_dir: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_append_many, args=(str(data_dir), w)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    data = read_journal(data_dir / "journals" / "RM_par.jsonl")
    assert len(data.segments) == 400 and data.skipped_lines == 0


def test_session_id_of_a_weird_sid_is_file_safe(data_dir: Path) -> None:
    j = Journal.open_or_create(data_dir, "room", "../../etc/passwd", None)
    assert j.path.parent == data_dir / "journals"
    assert j.session_id.startswith("h_")


def test_hostile_metadata_is_dropped_without_logging_values(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    raw = json.dumps({"greffier": {
        "recipients": ["ok@example.org", "OK@example.org", "evil@example.org\r\nBcc: x@y.org",
                       "no-at-sign", 42, "a@b", "x" * 300 + "@example.org", "ok2@example.org"],
        "title": "Budget\r\nBcc: victim@example.org",
        "language": "fr-FR",
    }})
    meta = parse_room_metadata(raw)
    assert meta.recipients == ("ok@example.org", "ok2@example.org")
    assert meta.title == "Budget Bcc: victim@example.org"  # one line: harmless as a header
    assert meta.language == "fr"
    assert "evil" not in caplog.text and "no-at-sign" not in caplog.text
    assert "recipients[2]:invalid" in caplog.text


@pytest.mark.parametrize("raw", [
    "not json", "[]", '{"greffier": "x"}', '{"greffier": {"recipients": "a@example.org"}}',
    '{"greffier": {"title": ["x"], "language": "<script>"}}', "x" * 100_000, b"\xff\xfe",
])
def test_bad_metadata_never_raises(raw: str | bytes) -> None:
    meta = parse_room_metadata(raw)
    assert meta.recipients == () and meta.title == "" and meta.language == ""


def test_huge_title_and_too_many_recipients_are_bounded() -> None:
    many = [f"user{i}@example.org" for i in range(500)]
    meta = parse_room_metadata(json.dumps({"greffier": {"recipients": many, "title": "t" * 600}}))
    assert len(meta.recipients) == 50
    assert len(meta.title) == 200


def test_metadata_change_is_recorded(data_dir: Path) -> None:
    Journal.open_or_create(data_dir, "room", "RM_m", '{"greffier": {"title": "Old"}}')
    j = Journal.open_or_create(data_dir, "room", "RM_m",
                               '{"greffier": {"title": "New", "recipients": ["a@example.org"]}}')
    data = j.read()
    assert data.metadata.title == "New" and data.metadata.recipients == ("a@example.org",)


def test_find_unfinished(data_dir: Path) -> None:
    ended = Journal.open_or_create(data_dir, "r", "RM_ended", None)
    ended.mark_ended()
    live = Journal.open_or_create(data_dir, "r", "RM_live", None)
    live.append_segment(seg(1))
    done = Journal.open_or_create(data_dir, "r", "RM_done", None)
    done.mark_ended()
    done.mark_done({})
    now = time.time()
    found = {p.stem for p in find_unfinished(data_dir, idle_after=600, now=now)}
    assert found == {"RM_ended"}
    # a meeting whose worker died: silent for longer than the idle threshold
    old = now - 3600
    os.utime(live.path, (old, old))
    found = {p.stem for p in find_unfinished(data_dir, idle_after=600, now=now + 3600)}
    assert found == {"RM_ended", "RM_live"}


CHILD = """
import sys, time
from agent.transcript.journal import Journal
from agent.transcript.segment import Segment
j = Journal.open_or_create(sys.argv[1], "room", "RM_kill", None)
i = 0
while True:
    j.append_segment(Segment(f"k{i}", "a", "A", i, i + 1, "word " * 50, "en"))
    print(f"k{i}", flush=True)
    i += 1
"""


def test_sigkill_mid_meeting_loses_no_acknowledged_segment(data_dir: Path) -> None:
    import signal
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(data_dir)], cwd=repo,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    acknowledged = [proc.stdout.readline().strip() for _ in range(200)]
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    acknowledged += [line.strip() for line in proc.stdout.read().splitlines() if line.strip()]
    data = read_journal(data_dir / "journals" / "RM_kill.jsonl")
    stored = {s.segment_id for s in data.segments}
    assert set(acknowledged) <= stored
    # a new worker continues the same journal after the crash
    again = Journal.open_or_create(data_dir, "room", "RM_kill", None)
    assert again.append_segment(Segment("after", "a", "A", 1e6, 1e6 + 1, "after", "en"))
    assert read_journal(again.path).segments[-1].segment_id == "after"
