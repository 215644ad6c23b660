"""Parsing and validating what the LLM answers (pure, fast)."""

from __future__ import annotations

from agent.minutes.model import ActionItem, Notes
from agent.minutes.parse import extract_json_object, merge_notes, parse_notes, repair_truncated_json


def test_plain_json() -> None:
    notes = parse_notes('{"summary": "S", "topics": ["a", "b"], "decisions": [],'
                        ' "action_items": [{"task": "T", "owner": "Alice", "due": "Monday"}],'
                        ' "open_questions": ["Q?"]}')
    assert notes == Notes("S", ("a", "b"), (), (ActionItem("T", "Alice", "Monday"),), ("Q?",))


def test_fenced_and_prose_wrapped_json() -> None:
    text = 'Sure! Here it is:\n```json\n{"summary": "S", "topics": "one"}\n```\nBye'
    notes = parse_notes(text)
    assert notes is not None and notes.summary == "S" and notes.topics == ("one",)
    assert extract_json_object('noise {"a": 1} tail {"b": 2}') == {"a": 1}


def test_aliases_and_coercion() -> None:
    notes = parse_notes('{"Résumé": "R", "actions": ["call Bob", {"action": "x", "assignee": "Z",'
                        ' "deadline": "demain"}, 42], "questions": [{"q": "why"}]}')
    assert notes is not None
    assert notes.summary == "R"
    assert notes.action_items == (ActionItem("call Bob"), ActionItem("x", "Z", "demain"))
    assert notes.open_questions == ("why",)


def test_garbage_gives_none() -> None:
    for text in ("", "I cannot help", "[1, 2]", '{"summary": ""}', '{"foo": "bar"}', "{broken"):
        assert parse_notes(text) is None, text


def test_control_characters_and_length_are_clipped() -> None:
    notes = parse_notes('{"summary": "a\\r\\nBcc: x", "topics": ["' + "t" * 2000 + '"]}')
    assert notes is not None
    assert "\n" not in notes.summary and "\r" not in notes.summary
    assert len(notes.topics[0]) == 500


def test_merge_notes_dedupes() -> None:
    a = Notes("one.", ("X", "y"), ("D",), (ActionItem("T"),), ())
    b = Notes("two.", ("x", "Z"), ("D",), (ActionItem("t"), ActionItem("U")), ("Q",))
    merged = merge_notes([a, b])
    assert merged.summary == "one. two."
    assert merged.topics == ("X", "y", "Z")
    assert [d.text for d in merged.decisions] == ["D"]
    assert [i.task for i in merged.action_items] == ["T", "U"]


def test_truncated_answer_keeps_its_complete_items() -> None:
    """A small model stopped by max_tokens inside a repetition loop: keep what was complete."""
    text = ('{\n "summary": "S",\n "decisions": ["ship friday", "drop v1",\n  "drop v1", "dro')
    notes = parse_notes(text)
    assert notes is not None
    assert notes.summary == "S" and [d.text for d in notes.decisions] == ["ship friday", "drop v1"]
    cut_in_object = '{"summary": "S", "action_items": [{"task": "T", "owner": "Al'
    notes = parse_notes(cut_in_object)
    assert notes is not None and notes.summary == "S" and notes.action_items == ()
    assert repair_truncated_json('{"a": 1}') is None  # complete: nothing to repair
    assert repair_truncated_json("no json here") is None
    assert repair_truncated_json('{"a": "unterminated \\" quote') is None
