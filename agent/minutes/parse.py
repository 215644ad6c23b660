"""Turn an LLM answer into validated ``Notes``; never trust its shape.

Models wrap JSON in code fences, add prose around it, use other key spellings, return strings where
lists were asked, or return nothing usable. We extract the first JSON object, coerce what can be
coerced, clip lengths, and return None when nothing usable remains.
"""

from __future__ import annotations

import json
import re
from typing import Any

from agent.minutes.model import ActionItem, Decision, Evidence, Notes

MAX_ITEMS = 30
MAX_ITEM_CHARS = 500
MAX_SUMMARY_CHARS = 4000
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.S)

MAX_QUOTE_CHARS = 300


def _text(limit: int) -> dict[str, Any]:
    return {"type": "string", "maxLength": limit}


def _list(items: dict[str, Any], most: int) -> dict[str, Any]:
    return {"type": "array", "items": items, "maxItems": most}


def _object(**properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(properties),
            "additionalProperties": False}


# Who said it, when, and their words: checked against the transcript (evidence.ground).
_EVIDENCE = {"speaker": _text(80), "time": _text(12), "quote": _text(MAX_QUOTE_CHARS)}
# Bounded lengths and counts: a small model in a repetition loop must still close the JSON
# before max_tokens (grammar-constrained servers enforce them).
NOTES_SCHEMA: dict[str, Any] = _object(
    summary=_text(1500),
    topics=_list(_text(120), 10),
    decisions=_list(_object(text=_text(MAX_ITEM_CHARS), **_EVIDENCE), 12),
    action_items=_list(
        _object(task=_text(MAX_ITEM_CHARS), owner=_text(80), due=_text(60), **_EVIDENCE), 15
    ),
    open_questions=_list(_text(MAX_ITEM_CHARS), 10),
)



def part_schema(keys: tuple[str, ...]) -> dict[str, Any]:
    """The notes' schema cut down to some keys: what one list's call must answer."""
    return _object(**{k: NOTES_SCHEMA["properties"][k] for k in keys})


_ALIASES = {
    "summary": ("summary", "résumé", "resume", "overview"),
    "topics": ("topics", "sujets", "topics_discussed"),
    "decisions": ("decisions", "décisions"),
    "action_items": ("action_items", "actions", "actionitems", "tasks", "todo"),
    "open_questions": ("open_questions", "questions", "questions_ouvertes"),
}


def extract_json_object(text: str) -> dict[str, Any] | None:
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    for candidate in candidates:
        start = candidate.find("{")
        while start != -1:
            try:
                value, _ = json.JSONDecoder().raw_decode(candidate[start:])
            except ValueError:
                start = candidate.find("{", start + 1)
                continue
            if isinstance(value, dict):
                return value
            start = candidate.find("{", start + 1)
    return None


_CLOSERS = {"{": "}", "[": "]"}
MAX_REPAIR_TRIES = 64


def repair_truncated_json(text: str) -> dict[str, Any] | None:
    """The largest complete prefix of a JSON object cut off mid-way, closed.

    Small local models often stop at ``max_tokens`` inside a repetition loop (finish_reason
    "length"): the first items are good, the tail is lost. We cut back to the last point where a
    item ended (before a ``,`` or after a closing bracket, in a list or between top-level keys),
    close the open containers, and keep the first cut that parses.
    """
    start = text.find("{")
    if start == -1:
        return None
    stack: list[str] = []
    cuts: list[tuple[int, str]] = []  # (end of kept prefix, closers to append)
    in_string = escaped = False
    for i in range(start, len(text)):
        ch = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            continue
        if ch == '"':
            in_string = True
        elif ch in _CLOSERS:
            stack.append(_CLOSERS[ch])
        elif ch in "}]":
            if not stack or stack[-1] != ch:
                break
            stack.pop()
            if not stack:
                return None  # a complete object: not truncated (extract_json_object handles it)
            if _whole_items(stack):
                cuts.append((i + 1, "".join(reversed(stack))))
        elif ch == "," and stack and _whole_items(stack):
            cuts.append((i, "".join(reversed(stack))))
    for end, closers in reversed(cuts[-MAX_REPAIR_TRIES:]):
        try:
            value = json.loads(text[start:end] + closers)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _whole_items(stack: list[str]) -> bool:
    """A cut here keeps only whole items: we are in a list, or between the top object's keys
    (never half an action item, whose owner or due date would be lost)."""
    return len(stack) == 1 or stack[-1] == "]"


def parse_notes(text: str) -> Notes | None:
    return parse_notes_how(text)[0]


def parse_notes_how(text: str) -> tuple[Notes | None, str]:
    """The notes and how they were read: ``json`` (the answer was the object), ``extracted``
    (found inside prose or a code fence), ``repaired`` (cut off, closed), ``failed``."""
    data, how = _read_object(text)
    if data is None:
        return None, "failed"
    notes = _notes_from(data)
    return notes, (how if notes is not None else "failed")


def parse_part_how(text: str, keys: tuple[str, ...]) -> tuple[Notes | None, str]:
    """One list's answer (``keys`` of the notes, e.g. ``("action_items",)``): unlike whole
    notes, an empty list is a valid answer ("no action item here"); only an answer that names
    none of the keys, or is no JSON, has failed."""
    data, how = _read_object(text)
    if data is None:
        return None, "failed"
    lowered = {str(k).strip().lower() for k in data}
    if not any(alias in lowered for key in keys for alias in _ALIASES[key]):
        return None, "failed"
    full = _notes_from(data, allow_empty=True) or Notes()
    return Notes(
        summary=full.summary if "summary" in keys else "",
        topics=full.topics if "topics" in keys else (),
        decisions=full.decisions if "decisions" in keys else (),
        action_items=full.action_items if "action_items" in keys else (),
        open_questions=full.open_questions if "open_questions" in keys else (),
    ), how


def _read_object(text: str) -> tuple[dict[str, Any] | None, str]:
    how = "json"
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        how, data = "extracted", extract_json_object(text)
    if data is None:
        how, data = "repaired", repair_truncated_json(text)
    return data, how


def _notes_from(data: dict[str, Any], *, allow_empty: bool = False) -> Notes | None:
    lowered = {str(k).strip().lower(): v for k, v in data.items()}

    def pick(key: str) -> Any:
        for alias in _ALIASES[key]:
            if alias in lowered:
                return lowered[alias]
        return None

    summary = _clean(pick("summary"), MAX_SUMMARY_CHARS) if isinstance(pick("summary"), str) else ""
    notes = Notes(
        summary=summary,
        topics=_strings(pick("topics")),
        decisions=_decisions(pick("decisions")),
        action_items=_actions(pick("action_items")),
        open_questions=_strings(pick("open_questions")),
    )
    return None if notes.is_empty() and not allow_empty else notes


def _clean(value: str, limit: int) -> str:
    return " ".join(_CONTROL.sub(" ", value).split())[:limit].strip()


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return ()
    out: list[str] = []
    for item in value:
        if isinstance(item, dict):  # {"topic": "..."} and similar
            item = next((v for v in item.values() if isinstance(v, str)), "")
        if isinstance(item, str | int | float) and not isinstance(item, bool):
            cleaned = _clean(str(item), MAX_ITEM_CHARS)
            if cleaned and cleaned.lower() not in {o.lower() for o in out}:
                out.append(cleaned)
        if len(out) >= MAX_ITEMS:
            break
    return tuple(out)


def _claimed(fields: dict[str, Any]) -> Evidence:
    """What the model says about where an item was said (unchecked: status "")."""
    def one(*keys: str, limit: int) -> str:
        value = next((fields[k] for k in keys if isinstance(fields.get(k), str)), "")
        return _clean(value, limit)

    clock = one("time", "timestamp", "at", limit=12)
    return Evidence(speaker=one("speaker", "said_by", "who_said", limit=120),
                    at_s=clock_seconds(clock), quote=one("quote", "evidence", limit=MAX_QUOTE_CHARS))


def clock_seconds(text: str) -> float | None:
    """``HH:MM:SS`` or ``MM:SS`` (the transcript's line stamps) to seconds."""
    parts = text.strip("[] ").split(":")
    if not 2 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
        return None
    seconds = 0
    for p in parts:
        seconds = seconds * 60 + int(p)
    return float(seconds)


def _decisions(value: Any) -> tuple[Decision, ...]:
    if isinstance(value, dict | str):
        value = [value]
    if not isinstance(value, list):
        return ()
    out: list[Decision] = []
    for item in value:
        if isinstance(item, dict):
            fields = {str(k).lower(): v for k, v in item.items()}
            text = next((fields[k] for k in ("text", "decision", "description", "summary")
                         if isinstance(fields.get(k), str)), "")
            decision = Decision(_clean(text, MAX_ITEM_CHARS), _claimed(fields))
        elif isinstance(item, str):
            decision = Decision(_clean(item, MAX_ITEM_CHARS))
        else:
            continue
        if decision.text and decision.text.lower() not in {d.text.lower() for d in out}:
            out.append(decision)
        if len(out) >= MAX_ITEMS:
            break
    return tuple(out)


def _actions(value: Any) -> tuple[ActionItem, ...]:
    if isinstance(value, dict | str):
        value = [value]
    if not isinstance(value, list):
        return ()
    out: list[ActionItem] = []
    for item in value:
        if isinstance(item, str):
            item = {"task": item}
        if not isinstance(item, dict):
            continue
        fields = {str(k).lower(): v for k, v in item.items()}
        task = fields.get("task") or fields.get("action") or fields.get("description") or ""
        owner = fields.get("owner") or fields.get("assignee") or fields.get("who") or ""
        due = fields.get("due") or fields.get("due_date") or fields.get("deadline") or ""
        if not isinstance(task, str) or not task.strip():
            continue
        out.append(
            ActionItem(
                task=_clean(task, MAX_ITEM_CHARS),
                owner=_clean(owner, 120) if isinstance(owner, str) else "",
                due=_clean(due, 120) if isinstance(due, str) else "",
                evidence=_claimed(fields),
            )
        )
        if len(out) >= MAX_ITEMS:
            break
    return tuple(out)


def merge_notes(parts: list[Notes]) -> Notes:
    """Mechanical merge, used when the reduce call fails but some map calls succeeded."""

    def union(values: list[tuple[str, ...]]) -> tuple[str, ...]:
        seen: dict[str, str] = {}
        for group in values:
            for v in group:
                seen.setdefault(v.lower(), v)
        return tuple(seen.values())[:MAX_ITEMS]

    actions: dict[str, ActionItem] = {}
    decisions: dict[str, Decision] = {}
    for p in parts:
        for a in p.action_items:
            actions.setdefault(a.task.lower(), a)
        for d in p.decisions:
            decisions.setdefault(d.text.lower(), d)
    return Notes(
        summary=" ".join(p.summary for p in parts if p.summary)[:MAX_SUMMARY_CHARS],
        topics=union([p.topics for p in parts]),
        decisions=tuple(decisions.values())[:MAX_ITEMS],
        action_items=tuple(actions.values())[:MAX_ITEMS],
        open_questions=union([p.open_questions for p in parts]),
    )
