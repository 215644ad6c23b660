"""The minutes quality benchmark's scoring (bench/minutes_quality.py) on a tiny hand-made case.

No model runs here: the "minutes" are written by hand so every number the scorer returns can be
checked against what a reader would count.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "minutes_quality.py"


@pytest.fixture(scope="module")
def mq():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("minutes_quality", BENCH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["minutes_quality"] = module
    spec.loader.exec_module(module)
    return module


GOLD = {
    "decisions": [
        "La mise en production est reportée au 12 janvier",
        "L'hébergement qualifié SecNumCloud est retenu",
    ],
    "action_items": [
        {"owner": "Karim Benali", "task": "Envoyer le plan de migration des données", "due": "2026-11-27"},
        {"owner": "Sophie Lefèvre", "task": "Chiffrer le surcoût de l'hébergement", "due": None},
        {"owner": "Nadia Ferreira", "task": "Préparer le plan de formation des agents", "due": "2026-11-30"},
    ],
    "open_questions": ["Qui prend en charge l'audit d'accessibilité"],
    "rejected_proposals": ["Livrer le 8 décembre sans la reprise des données"],
}
NAMES = ["Karim Benali", "Sophie Lefèvre", "Nadia Ferreira"]


def _evidence(status: str) -> dict[str, object]:
    return {"speaker": "", "at_s": None, "quote": "", "status": status}


NOTES = {
    "summary": "Le comité a reporté la mise en production et choisi l'hébergement.",
    "decisions": [
        {"text": "Mise en production reportée au 12 janvier", "evidence": _evidence("verified")},
        {"text": "Livrer le 8 décembre sans la reprise des données", "evidence": _evidence("not_found")},
        {"text": "Le budget de la phase deux est validé", "evidence": _evidence("verified")},
    ],
    "action_items": [
        # right task, right owner (first name only), right due date
        {"task": "Karim envoie le plan de migration des données", "owner": "Karim",
         "due": "vendredi prochain", "due_date": "2026-11-27", "evidence": _evidence("verified")},
        # right task, wrong owner, a due date nobody gave
        {"task": "Chiffrer le surcoût de l'hébergement qualifié", "owner": "Karim Benali", "due": "lundi",
         "due_date": "2026-11-23", "evidence": _evidence("verified")},
        # a task that is not in the gold
        {"task": "Organiser une fête de fin d'année", "owner": "", "due": "", "due_date": "",
         "evidence": _evidence("missing")},
    ],
    "open_questions": ["Qui prend en charge l'audit d'accessibilité RGAA ?", "Quand part Marc ?"],
}


def test_stems_drop_case_accents_stopwords_and_names(mq) -> None:  # type: ignore[no-untyped-def]
    assert mq.stems("La Mise en Production est REPORTÉE") == {"mise", "produ", "repor"}
    assert mq.stems("Karim envoie le plan", frozenset({"karim"})) == {"envoi", "plan"}
    assert mq.stems("Le pilote a été validé, ça") == {"pilot", "valid"}  # accented stop words too
    assert mq.dice({"a", "b"}, {"a", "c"}) == 0.5
    assert mq.dice(set(), {"a"}) == 0.0


def test_matching_is_one_to_one_and_thresholded(mq) -> None:  # type: ignore[no-untyped-def]
    gold = ["Envoyer le plan de migration"]
    # two outputs resemble the same gold item: only the better one is paired
    pairs = mq.match_items(["Envoyer le plan de migration", "Envoyer le plan"], gold)
    assert [(i, j) for i, j, _ in pairs] == [(0, 0)]
    assert mq.match_items(["Organiser une fête"], gold) == []


def test_score_minutes_counts_what_a_reader_counts(mq) -> None:  # type: ignore[no-untyped-def]
    s = mq.score_minutes(NOTES, GOLD, NAMES)
    assert s["decisions"]["matched"] == 1
    assert s["decisions"]["recall"] == 0.5
    assert s["decisions"]["precision"] == pytest.approx(0.333, abs=1e-3)
    assert s["rejected_as_decision"] == 1  # "Livrer le 8 décembre..." was refused, not decided
    assert s["action_items"]["matched"] == 2
    assert s["action_items"]["recall"] == pytest.approx(0.667, abs=1e-3)
    assert s["action_items"]["precision"] == pytest.approx(0.667, abs=1e-3)
    assert s["owners_right"] == 0.5  # Karim right, Sophie's task given to Karim
    assert s["dues_right"] == 1.0  # the only matched item with a gold due date has it right
    assert s["dues_invented"] == 1  # "lundi" for Sophie's task, which had no due date
    assert s["dues_wrong"] == 0
    assert s["open_questions"]["recall"] == 1.0
    assert s["open_questions"]["precision"] == 0.5
    assert s["quotes_not_found"] == 1
    assert s["quotes_missing"] == 1
    assert s["language"] == "fr"


def test_aggregate_is_micro_averaged(mq) -> None:  # type: ignore[no-untyped-def]
    one = mq.score_minutes(NOTES, GOLD, NAMES)
    empty = mq.score_minutes({"summary": "", "decisions": [], "action_items": [], "open_questions": []},
                             GOLD, NAMES)
    assert empty["decisions"]["precision"] is None and empty["language"] == ""
    total = mq.aggregate([one, empty])
    assert total["decisions"]["recall"] == 0.25  # 1 matched of 4 gold decisions
    assert total["action_items"]["precision"] == pytest.approx(0.667, abs=1e-3)  # 2 of 3 output
    assert total["dues_invented"] == 1 and total["quotes_not_found"] == 1


def test_language_of_english_text(mq) -> None:  # type: ignore[no-untyped-def]
    assert mq.text_language("We will ship the release with the flag and drop support for Android 8.") == "en"
    assert mq.text_language("") == "?"


def test_gold_meetings_are_consistent(mq) -> None:  # type: ignore[no-untyped-def]
    """Every gold file loads, names known speakers, and its owners are people of the meeting."""
    files = sorted(mq.GOLD_DIR.glob("*.json"))
    assert len(files) >= 4
    for path in files:
        meeting = json.loads(path.read_text(encoding="utf-8"))
        identities = {p["identity"] for p in meeting["participants"]}
        assert {s["speaker"] for s in meeting["segments"]} <= identities, path.name
        names = set(mq.gold_names(meeting))
        for item in meeting["gold"]["action_items"]:
            assert item["owner"] in names, (path.name, item["owner"])
            assert item["due"] is None or len(item["due"]) == 10
        starts = [s["start"] for s in meeting["segments"]]
        assert starts == sorted(starts), path.name
