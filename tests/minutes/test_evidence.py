"""Grounding the LLM's items in the transcript: quotes, speakers, times, owners, due dates
(pure, fast), and the evidence through a real HTTP LLM server into every rendering."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from agent.minutes.builder import build_minutes
from agent.minutes.dates import find_due
from agent.minutes.evidence import GroundingReport, ground, match_owner
from agent.minutes.model import ActionItem, Attendee, Decision, Evidence, Minutes, Notes
from agent.minutes.render import minutes_html, minutes_markdown, minutes_text
from agent.minutes.settings import MinutesSettings
from agent.transcript.journal import Journal
from agent.transcript.segment import Segment

from .conftest import ScriptedLLM

# Wednesday 11 March 2026, 09:00 in Paris
START = datetime(2026, 3, 11, 9, 0, tzinfo=ZoneInfo("Europe/Paris")).timestamp()
WEDNESDAY = date(2026, 3, 11)
LINES = [
    ("alice", "Alice Martin", 12, "Bonjour à tous, on commence par le budget."),
    ("bob", "Bob", 75, "Je propose qu'on passe à un prestataire externe, mais rien n'est décidé."),
    ("alice", "Alice Martin", 130, "Bon, on valide le report de la migration à l'automne."),
    ("chloe", "Chloé Durand", 200, "D'accord, je m'occupe du plan de tests d'ici vendredi prochain."),
    ("bob", "Bob", 260, "Et moi je rédige la note pour la direction."),
]
ATTENDEES = (Attendee("alice", "Alice Martin", 60, 2), Attendee("bob", "Bob", 40, 2),
             Attendee("chloe", "Chloé Durand", 20, 1))


def segments() -> list[Segment]:
    return [Segment(f"s{i}", who, name, START + at, START + at + 8, text, "fr")
            for i, (who, name, at, text) in enumerate(LINES)]


@pytest.mark.parametrize(("said", "expected"), [
    ("d'ici vendredi prochain", date(2026, 3, 13)),
    ("by next Monday", date(2026, 3, 16)),
    ("Friday", date(2026, 3, 13)),
    ("demain", date(2026, 3, 12)),
    ("la semaine prochaine", date(2026, 3, 16)),
    ("fin du mois", date(2026, 3, 31)),
    ("le 15 avril", date(2026, 4, 15)),
    ("March 3rd", date(2027, 3, 3)),  # already past this year
    ("dans deux semaines", date(2026, 3, 25)),
    ("2026-05-01", date(2026, 5, 1)),
    ("mercredi", date(2026, 3, 18)),  # said on a Wednesday: the next one
])
def test_relative_dates_resolve_against_the_meeting_day(said: str, expected: date) -> None:
    found = find_due(f"on le fait {said} au plus tard", WEDNESDAY)
    assert found is not None and found.day == expected


def test_no_date_no_due() -> None:
    assert find_due("je rédige la note pour la direction", WEDNESDAY) is None


def test_owner_only_from_attendees() -> None:
    assert match_owner("Chloé", ATTENDEES) == "Chloé Durand"
    assert match_owner("chloe durand", ATTENDEES) == "Chloé Durand"
    assert match_owner("bob", ATTENDEES) == "Bob"
    assert match_owner("Dave", ATTENDEES) == ""
    assert match_owner("l'équipe", ATTENDEES) == ""


def test_quotes_are_found_flagged_or_missing() -> None:
    notes = Notes(
        summary="s",
        decisions=(
            # right words, wrong speaker and time claimed: the transcript's win
            Decision("Migration reportée", Evidence("Bob", 10.0, "on valide le report de la migration")),
            Decision("Prestataire externe retenu", Evidence("Bob", 75.0, "nous prenons un prestataire")),
            Decision("Sans preuve"),
        ),
        action_items=(
            ActionItem("Plan de tests", "Chloé", "vendredi prochain",
                       Evidence("Chloé", 200.0, "je m’occupe du plan de tests")),  # curly apostrophe
            ActionItem("Note pour la direction", "Bob", "lundi",  # nobody said lundi
                       Evidence("Bob", 260.0, "je rédige la note pour la direction")),
            ActionItem("Budget", "Dave", "", Evidence("Dave", 0.0, "Bonjour à tous")),
        ),
    )
    report = GroundingReport()
    out = ground(notes, segments(), ATTENDEES, started_at=START, timezone="Europe/Paris", report=report)
    moved, invented, bare = out.decisions
    assert moved.evidence == Evidence("Alice Martin", 130.0, "on valide le report de la migration",
                                      "verified")
    assert invented.evidence.status == "not_found" and invented.evidence.quote == ""
    assert bare.evidence.status == "missing"
    tests, note, budget = out.action_items
    assert (tests.owner, tests.due, tests.due_date) == ("Chloé Durand", "vendredi prochain", "2026-03-13")
    assert tests.evidence.speaker == "Chloé Durand" and tests.evidence.at_s == 200.0
    assert tests.evidence.quote == "je m'occupe du plan de tests"  # the transcript's own words
    assert (note.owner, note.due, note.due_date) == ("Bob", "", "")  # invented due dropped
    assert budget.owner == "" and budget.evidence.speaker == "Alice Martin"
    assert (report.verified, report.not_found, report.missing) == (4, 1, 1)
    assert (report.owners_dropped, report.dues_dropped) == (1, 1)


def test_a_partial_quote_shows_only_the_words_said() -> None:
    claimed = Evidence(quote="on valide le report de la migration au printemps")
    notes = Notes(decisions=(Decision("x", claimed),))
    out = ground(notes, segments(), ATTENDEES, started_at=START, timezone="Europe/Paris")
    assert out.decisions[0].evidence.quote == "on valide le report de la migration"
    short = Notes(decisions=(Decision("x", Evidence(quote="on valide le budget")),))
    out = ground(short, segments(), ATTENDEES, started_at=START, timezone="Europe/Paris")
    assert out.decisions[0].evidence.status == "not_found"  # 2 shared words prove nothing


def grounded_minutes(language: str = "fr") -> Minutes:
    notes = ground(Notes(
        summary="Point budget.",
        decisions=(Decision("Migration reportée à l'automne",
                            Evidence(quote="on valide le report de la migration")),
                   Decision("Prestataire <b>externe</b>", Evidence(quote="mots jamais prononcés ici")),),
        action_items=(ActionItem("Plan de tests", "Chloé", "vendredi prochain",
                                 Evidence(quote="je m'occupe du plan de tests")),),
    ), segments(), ATTENDEES, started_at=START, timezone="Europe/Paris")
    return Minutes("RM_ev", "r", "Comité", language, START, START + 300, "Europe/Paris", ATTENDEES,
                   notes, True, segments=tuple(segments()))


def test_evidence_renders_in_markdown_html_text_and_json() -> None:
    m = grounded_minutes()
    md = minutes_markdown(m, include_transcript=False)
    assert ("Migration reportée à l'automne — Alice Martin [00:02:10]:"
            " « on valide le report de la migration »") in md
    assert "Prestataire &lt;b&gt;externe&lt;/b&gt; — ⚠ citation introuvable dans la transcription" in md
    assert "responsable: Chloé Durand, échéance: 13 mars 2026 (« vendredi prochain »)" in md
    assert "Chloé Durand [00:03:20]: « je m'occupe du plan de tests »" in md
    html = minutes_html(m)
    assert "Alice Martin [00:02:10]: « on valide le report de la migration »" in html
    assert "<b>externe" not in html and "⚠ citation introuvable" in html
    assert "[00:03:20]" in minutes_text(m)
    data = json.loads(json.dumps(m.to_dict()))
    decision = data["notes"]["decisions"][0]
    assert decision["evidence"] == {"speaker": "Alice Martin", "at_s": 130.0,
                                    "quote": "on valide le report de la migration", "status": "verified"}
    action = data["notes"]["action_items"][0]
    assert action["due_date"] == "2026-03-13" and action["owner"] == "Chloé Durand"
    assert Minutes.from_dict(data) == m  # minutes.json round-trips the evidence


def test_old_minutes_json_without_evidence_still_loads() -> None:
    notes = Notes.from_dict({"summary": "s", "decisions": ["D"],
                             "action_items": [{"task": "T", "owner": "A", "due": ""}]})
    assert notes.decisions == (Decision("D"),) and notes.action_items == (ActionItem("T", "A"),)


async def test_evidence_from_a_real_http_llm(
    make_settings: Callable[..., MinutesSettings], make_journal: Callable[..., Journal],
    scripted_llm: ScriptedLLM,
) -> None:
    """The whole path: the model's answer (over HTTP) is grounded before it reaches the minutes."""
    scripted_llm.answer = lambda m: json.dumps({
        "summary": "S", "topics": [], "open_questions": [],
        "decisions": [{"text": "Drop the old client", "speaker": "Bob", "time": "00:00:01",
                       "quote": "We decided to drop support for the old mobile client."},
                      {"text": "Hire two people", "speaker": "Bob", "time": "00:00:01",
                       "quote": "we will hire two more engineers"}],
        "action_items": [{"task": "Deployment docs", "owner": "Alice", "due": "Monday",
                          "speaker": "Alice", "time": "00:00:20",
                          "quote": "Alice will prepare the deployment documentation"},
                         {"task": "Billing tests", "owner": "Eve", "due": "tomorrow",
                          "speaker": "Bob", "time": "00:00:38",
                          "quote": "Bob will add integration tests for billing"}]})
    settings = make_settings(LLM_BASE_URL=scripted_llm.base_url, LLM_RETRIES="0")
    minutes = await build_minutes(make_journal(count=8).read(), settings)
    drop, hire = minutes.notes.decisions
    assert drop.evidence.status == "verified" and drop.evidence.speaker == "Bob"  # segment 4: Bob
    assert hire.evidence.status == "not_found"
    docs, billing = minutes.notes.action_items
    assert docs.owner == "Alice" and docs.due == "monday" and docs.due_date
    assert docs.evidence.speaker == "Alice" and docs.evidence.at_s == 20.0
    assert billing.owner == "" and billing.due == ""  # Eve is no attendee; nobody said tomorrow


def test_a_due_date_said_for_another_item_is_not_borrowed() -> None:
    # Chloé said "vendredi prochain" for her tests; Bob named no date for his note.
    notes = Notes(
        summary="",
        action_items=(
            ActionItem("Note pour la direction", "Bob", "vendredi prochain",
                       Evidence("Bob", 260.0, "je rédige la note pour la direction")),
        ),
    )
    report = GroundingReport()
    out = ground(notes, segments(), ATTENDEES, started_at=START, timezone="Europe/Paris", report=report)
    [note] = out.action_items
    assert (note.owner, note.due, note.due_date) == ("Bob", "", "")
    assert report.dues_dropped == 1
