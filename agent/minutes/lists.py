"""``LLM_MINUTES_PASSES=per-list``: one focused question per list on each transcript chunk.

A 1.5 B model asked for the whole notes at once (summary, topics, decisions, action items, open
questions, each item with its evidence) writes the first list it thinks of and little of the
rest: on our gold meetings it found decisions but about one action item in five. Asked one
question at a time ("which tasks did someone take on?") it reads the excerpt for that alone.

Each chunk's calls share one prefix (system prompt, then the transcript) and differ only in the
question after it, so a server with prompt caching (llama.cpp's slots, vLLM's prefix cache)
reads the transcript once; the calls of one chunk run one after another for that reason. Lists
from several chunks are merged mechanically (a small model's reduce drops items); only the
summary and topics get a reduce call, over the chunks' summaries.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from agent.minutes.chunking import (
    CHARS_PER_TOKEN,
    MESSAGE_OVERHEAD_TOKENS,
    Budget,
    chunk_lines,
    estimate_tokens,
)
from agent.minutes.llm import Schema
from agent.minutes.model import Notes
from agent.minutes.parse import part_schema
from agent.minutes.prompts import (
    PromptSet,
    list_user_message,
    messages,
    neutralize,
    reduce_user_message,
    wrapper_overhead,
)
from agent.minutes.settings import LLMSettings

# Which keys of the notes each question answers (prompts/minutes-list-<name>.txt).
KEYS: dict[str, tuple[str, ...]] = {
    "summary": ("summary", "topics"),
    "decisions": ("decisions",),
    "actions": ("action_items",),
    "questions": ("open_questions",),
}
SUMMARY_KEYS = KEYS["summary"]


@dataclass(frozen=True)
class ListCall:
    """One question on one chunk: its messages, the JSON it must answer, the keys it fills."""

    name: str
    messages: list[dict[str, str]]
    schema: Schema
    keys: tuple[str, ...]


def lists_budget(settings: LLMSettings, prompts: PromptSet, title: str) -> Budget:
    longest = max((estimate_tokens(q) for _, q in prompts.list_questions), default=0)
    fixed = (
        estimate_tokens(prompts.lists_system)
        + estimate_tokens("x" * wrapper_overhead(title))
        + longest
        + 2 * MESSAGE_OVERHEAD_TOKENS
    )
    return Budget(settings.context_tokens, settings.max_output_tokens, fixed)


def plan_list_calls(
    lines: list[str], settings: LLMSettings, prompts: PromptSet, title: str
) -> list[list[ListCall]]:
    """Groups of calls that share one excerpt, each group's calls in order (pure: used by tests
    and the benchmark). With ``list_chunk_tokens`` below what the context allows, the summary
    question reads the large excerpts and the list questions the smaller ones."""
    questions = dict(prompts.list_questions)
    full = lists_budget(settings, prompts, title).input_chars
    small = full
    if settings.list_chunk_tokens:
        small = min(full, int(settings.list_chunk_tokens * CHARS_PER_TOKEN))
    if small >= full:
        return _groups(chunk_lines(lines, full), list(questions), questions, prompts, title)
    lists = [name for name in questions if name != "summary"]
    return _groups(chunk_lines(lines, full), ["summary"], questions, prompts, title) + _groups(
        chunk_lines(lines, small), lists, questions, prompts, title
    )


def _groups(
    chunks: list[str], names: list[str], questions: dict[str, str], prompts: PromptSet, title: str
) -> list[list[ListCall]]:
    return [
        [
            ListCall(
                name,
                messages(
                    prompts.lists_system, list_user_message(chunk, i, len(chunks), title, questions[name])
                ),
                (f"minutes_{name}", part_schema(KEYS[name])),
                KEYS[name],
            )
            for name in names
        ]
        for i, chunk in enumerate(chunks, start=1)
    ]


def combine(answers: list[Notes]) -> Notes:
    """One chunk's answers (each fills only its own keys) as one set of notes."""
    return Notes(
        summary=next((a.summary for a in answers if a.summary), ""),
        topics=next((a.topics for a in answers if a.topics), ()),
        decisions=tuple(d for a in answers for d in a.decisions),
        action_items=tuple(x for a in answers for x in a.action_items),
        open_questions=tuple(q for a in answers for q in a.open_questions),
    )


def summaries_call(partials: list[Notes], prompts: PromptSet, title: str, max_chars: int) -> ListCall:
    """The reduce of the chunks' summaries and topics (the lists are merged without the LLM)."""
    share = max(200, max_chars // max(1, len(partials)) - 40)
    texts = [
        json.dumps({"summary": n.summary, "topics": list(n.topics)}, ensure_ascii=False)[:share]
        for n in partials
    ]
    return ListCall(
        "summary",
        messages(prompts.lists_reduce_system, reduce_user_message(texts, title)),
        ("minutes_summary", part_schema(SUMMARY_KEYS)),
        SUMMARY_KEYS,
    )


# ---- LLM_VERIFY_ITEMS: one yes/no question per decision and action item ------------------------

VERDICT: Schema = ("minutes_verdict", {
    "type": "object",
    "properties": {"verdict": {"type": "string", "enum": ["yes", "no"]}},
    "required": ["verdict"],
    "additionalProperties": False,
})
AROUND = 2  # lines before and after the item's line that the question shows


def _words(text: str) -> str:
    return " ".join(text.lower().split())


def item_excerpt(lines: list[str], quote: str, time: str) -> str | None:
    """The lines around the one the item quotes (else the one at its claimed time); None when
    neither is found: such an item is left to the grounding step, which flags it."""
    wanted = _words(quote)[:60]
    index = next((i for i, line in enumerate(lines) if wanted and wanted in _words(line)), None)
    if index is None and time:
        index = next((i for i, line in enumerate(lines) if line.startswith(f"[{time}]")), None)
    if index is None:
        return None
    return "\n".join(lines[max(0, index - AROUND) : index + AROUND + 1])


def verify_calls(
    notes: Notes, lines: list[str], prompts: PromptSet, title: str
) -> list[tuple[str, int, ListCall]]:
    """(list, index in it, call) for each item whose lines are found."""
    questions = dict(prompts.verify_questions)
    out: list[tuple[str, int, ListCall]] = []
    items: list[tuple[str, int, str, str, str]] = [
        ("decisions", i, d.text, d.evidence.quote, _clock(d.evidence.at_s))
        for i, d in enumerate(notes.decisions)
    ] + [
        ("action_items", i, f"{a.owner}: {a.task}" if a.owner else a.task, a.evidence.quote,
         _clock(a.evidence.at_s))
        for i, a in enumerate(notes.action_items)
    ]
    for key, i, text, quote, time in items:
        excerpt = item_excerpt(lines, quote, time)
        if excerpt is None:
            continue
        question = questions["decision" if key == "decisions" else "action"]
        question = question.replace("{item}", neutralize(" ".join(text.split())[:400]))
        msgs = messages(prompts.lists_system, list_user_message(excerpt, 1, 1, title, question))
        out.append((key, i, ListCall(f"verify:{key}", msgs, VERDICT, ())))
    return out


def _clock(at_s: float | None) -> str:
    """The [hh:mm:ss] a parsed item claims (parse keeps it as seconds into the meeting)."""
    if at_s is None:
        return ""
    t = max(0, round(at_s))
    return f"{t // 3600:02d}:{t % 3600 // 60:02d}:{t % 60:02d}"


def verdict(text: str) -> str:
    """``yes``, ``no`` or ``""`` (unreadable: the item is kept, as without the question)."""
    match = re.search(r'"verdict"\s*:\s*"(yes|no)"', text)
    return match.group(1) if match else ""


def without(notes: Notes, refused: set[tuple[str, int]]) -> Notes:
    return Notes(
        notes.summary,
        notes.topics,
        tuple(d for i, d in enumerate(notes.decisions) if ("decisions", i) not in refused),
        tuple(a for i, a in enumerate(notes.action_items) if ("action_items", i) not in refused),
        notes.open_questions,
    )
