"""Rendering, escaping, header-injection safety, localization, extractive fallback (fast)."""

from __future__ import annotations

import time
from collections.abc import Callable
from email import message_from_bytes, policy

import pytest

from agent.delivery.mail import build_email
from agent.minutes.builder import attendees_of, build_minutes, drop_near_duplicates
from agent.minutes.extractive import extractive_summary
from agent.minutes.model import ActionItem, Notes
from agent.minutes.render import minutes_html, minutes_markdown, minutes_text
from agent.minutes.settings import MinutesSettings
from agent.transcript.journal import Journal
from agent.transcript.segment import Segment

from .conftest import synthetic_segments

EVIL_NAME = 'Mallory\r\nBcc: victim@example.org\r\n<script>alert("x")</script>'


async def test_no_llm_minutes_have_attendees_extract_transcript_and_notice(
    make_settings: Callable[..., MinutesSettings], make_journal: Callable[..., Journal]
) -> None:
    journal = make_journal(count=12, language="fr")
    minutes = await build_minutes(journal.read(), make_settings())
    assert not minutes.generated
    assert "n'a pas été généré" in minutes.notice
    assert [a.name for a in minutes.attendees] == ["Alice", "Bob", "Chloé"]
    assert minutes.attendees[0].talk_time_s == pytest.approx(4 * 5.0)
    assert 1 <= len(minutes.key_sentences) <= 5
    md = minutes_markdown(minutes)
    for heading in ("# Compte rendu — Weekly sync", "## Participants", "## Transcription",
                    "Phrases clés", "temps de parole"):
        assert heading in md
    assert md.count("**Alice** [") == 4
    assert "Summary" not in md and "Résumé" not in md  # no empty generated sections


async def test_english_headings(make_settings: Callable[..., MinutesSettings],
                                make_journal: Callable[..., Journal]) -> None:
    minutes = await build_minutes(make_journal(language="en").read(), make_settings())
    text = minutes_text(minutes)
    assert text.startswith("Minutes — Weekly sync")
    assert "Attendees" in text and "was not generated" in text


def test_extractive_summary_is_deterministic_and_ordered() -> None:
    segs = synthetic_segments(1000.0, 40)
    first = extractive_summary(segs, 4)
    assert first == extractive_summary(list(segs), 4)
    assert len(first) == 4
    positions = [next(i for i, s in enumerate(segs) if sentence in s.text)
                 for _, sentence in first]
    assert positions == sorted(positions)
    # filler is never picked over content
    segs.append(Segment("f", "bob", "Bob", 9999, 10000, "yeah yeah okay so um well", "en"))
    assert all("yeah" not in s for _, s in extractive_summary(segs, 4))


def test_near_duplicates_from_two_agents_are_dropped_and_talk_time_not_doubled() -> None:
    a = Segment("a1", "alice", "Alice", 10.0, 14.0, "Hello there everyone", "en")
    b = Segment("b7", "alice", "Alice", 10.4, 14.2, "hello  there everyone", "en")
    c = Segment("a2", "alice", "Alice", 30.0, 32.0, "Hello there everyone", "en")
    kept = drop_near_duplicates([a, b, c])
    assert [s.segment_id for s in kept] == ["a1", "a2"]


async def test_html_and_markdown_escape_untrusted_text(
    make_settings: Callable[..., MinutesSettings], make_journal: Callable[..., Journal]
) -> None:
    t0 = time.time() - 100
    segs = [Segment("x", "mal", EVIL_NAME, t0 + 1, t0 + 3,
                    "<img src=x onerror=alert(1)> & then\n\n# heading", "en")]
    journal = make_journal(segments=segs, title="<b>Board</b> & co")
    minutes = await build_minutes(journal.read(), make_settings())
    page = minutes_html(minutes)
    assert "<script>" not in page and "<img" not in page and "<b>Board" not in page
    assert "&lt;script&gt;" in page and "&lt;b&gt;Board&lt;/b&gt; &amp; co" in page
    md = minutes_markdown(minutes)
    assert "<img" not in md and "\n# heading" not in md


async def test_email_headers_resist_injection(
    make_settings: Callable[..., MinutesSettings], make_journal: Callable[..., Journal]
) -> None:
    journal = make_journal(title="Budget\r\nBcc: victim@example.org\r\nX-Evil: 1")
    minutes = await build_minutes(journal.read(), make_settings())
    msg = build_email(minutes, sender="greffier@example.org",
                      recipients=("organizer@example.org", "x@y.org\r\nBcc: v@example.org"),
                      message_id="RM_test.email.auto")
    raw = msg.as_bytes()
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed["Bcc"] is None and parsed["X-Evil"] is None
    assert parsed["To"] == "organizer@example.org"
    assert "Budget Bcc: victim@example.org X-Evil: 1" in parsed["Subject"]
    assert parsed["Message-ID"] == "<RM_test.email.auto@example.org>"
    header_block = raw.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nBcc:" not in header_block and b"\r\nX-Evil:" not in header_block


async def test_generated_sections_render_in_order(
    make_settings: Callable[..., MinutesSettings], make_journal: Callable[..., Journal]
) -> None:
    from dataclasses import replace

    minutes = await build_minutes(make_journal(language="fr").read(), make_settings())
    minutes = replace(minutes, generated=True, notice="", key_sentences=(), notes=Notes(
        summary="Réunion de suivi.", topics=("Livraison",), decisions=("Abandon du client",),
        action_items=(ActionItem("Documentation", "Alice", "lundi"),), open_questions=()))
    md = minutes_markdown(minutes)
    order = [md.index(h) for h in ("## Résumé", "## Sujets abordés", "## Décisions",
                                   "## Actions à mener", "## Questions ouvertes",
                                   "## Transcription")]
    assert order == sorted(order)
    assert "- Documentation (responsable: Alice, échéance: lundi)" in md
    assert "## Questions ouvertes\n\nAucun élément relevé." in md


def test_attendees_include_silent_participants(
    make_journal: Callable[..., Journal],
) -> None:
    journal = make_journal(count=3)
    journal.append_participant("zoe", "Zoé")
    data = journal.read()
    people = attendees_of(data, data.segments)
    assert people[-1].name == "Zoé" and people[-1].talk_time_s == 0
