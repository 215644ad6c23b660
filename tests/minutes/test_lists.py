"""LLM_MINUTES_PASSES=per-list against a real HTTP server speaking chat completions: one question
per list and chunk, the transcript as the calls' shared prefix, lists merged without the LLM."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.config import ConfigError
from agent.minutes.builder import build_minutes
from agent.minutes.chunking import SAFETY_TOKENS, estimate_messages
from agent.minutes.prompts import PromptSet
from agent.minutes.settings import DEFAULT_PROMPTS_DIR, MinutesSettings
from agent.transcript.journal import Journal

from .conftest import ScriptedLLM

QUESTIONS = {  # a word of each shipped question, to tell the calls apart
    "summary": "what was this excerpt about",
    "decisions": "which decisions",
    "actions": "which tasks",
    "questions": "which questions were left open",
}


def question_of(messages: list[dict[str, str]]) -> str:
    user = messages[1]["content"]
    if "<notes" in user:
        return "reduce"
    tail = user.rsplit("</transcript>", 1)[1].lower()
    return next(name for name, words in QUESTIONS.items() if words in tail)


def answers(messages: list[dict[str, str]]) -> str:
    user = messages[1]["content"]
    part = user.split("Transcript excerpt ", 1)[-1].split(" ", 1)[0]
    return json.dumps({
        "summary": {"summary": f"part {part} summary", "topics": [f"topic {part}"]},
        "decisions": {"decisions": []},  # "none here" is an answer, not a failure
        "actions": {"action_items": [{"task": f"task of part {part}", "owner": "Alice", "due": "",
                                      "speaker": "Alice", "time": "00:00:02", "quote": "x"}]},
        "questions": {"open_questions": [f"question of part {part}?"]},
        "reduce": {"summary": "WHOLE MEETING", "topics": ["all"]},
    }[question_of(messages)])


def env(llm: ScriptedLLM, **extra: str) -> dict[str, str]:
    return {"LLM_BASE_URL": llm.base_url, "LLM_MODEL": "m", "LLM_CONTEXT_TOKENS": "1024",
            "LLM_MAX_OUTPUT_TOKENS": "200", "LLM_MAX_PARALLEL": "3", "LLM_RETRIES": "0",
            "LLM_MINUTES_PASSES": "per-list", **extra}


async def test_one_chunk_gets_one_question_per_list_sharing_the_transcript_prefix(
    make_settings: Callable[..., MinutesSettings], make_journal: Callable[..., Journal],
    scripted_llm: ScriptedLLM,
) -> None:
    scripted_llm.answer = answers
    minutes = await build_minutes(make_journal(count=6).read(), make_settings(**env(scripted_llm)))
    bodies = [r["body"] for r in scripted_llm.requests]
    assert [question_of(b["messages"]) for b in bodies] == ["summary", "decisions", "actions", "questions"]
    users = [b["messages"][1]["content"] for b in bodies]
    prefix = users[0].split("</transcript>")[0]
    assert all(u.startswith(prefix) for u in users) and "<transcript>" in prefix
    assert len({b["messages"][0]["content"] for b in bodies}) == 1  # one system prompt: one cache
    schemas = [b["response_format"]["json_schema"]["schema"]["required"] for b in bodies]
    assert schemas == [["summary", "topics"], ["decisions"], ["action_items"], ["open_questions"]]
    notes = minutes.notes
    assert minutes.generated and notes.summary == "part 1 summary" and notes.decisions == ()
    assert [a.task for a in notes.action_items] == ["task of part 1"]
    assert notes.open_questions == ("question of part 1?",)
    assert [c.stage for c in minutes.llm_calls] == ["map:summary", "map:decisions", "map:actions",
                                                   "map:questions"]
    assert {c.parsed for c in minutes.llm_calls} == {"json"}


async def test_chunks_keep_their_questions_together_and_lists_are_merged_without_the_llm(
    make_settings: Callable[..., MinutesSettings], make_journal: Callable[..., Journal],
    scripted_llm: ScriptedLLM,
) -> None:
    scripted_llm.answer = answers
    scripted_llm.delay_s = 0.05
    minutes = await build_minutes(make_journal(count=120).read(), make_settings(**env(scripted_llm)))
    bodies = [r["body"] for r in scripted_llm.requests]
    for body in bodies:
        assert estimate_messages(body["messages"]) + body["max_tokens"] + SAFETY_TOKENS <= 1024
    maps = [b for b in bodies if question_of(b["messages"]) != "reduce"]
    parts = len(maps) // 4
    assert parts >= 4 and len(maps) == 4 * parts
    assert question_of(bodies[-1]["messages"]) == "reduce"  # summaries only, after every chunk
    assert "WHOLE MEETING" not in bodies[-1]["messages"][1]["content"]
    assert 1 < scripted_llm.max_in_flight <= 3  # chunks in parallel...
    by_part: dict[str, list[str]] = {}
    for b in maps:  # ...each chunk's questions in order, one after another
        part = b["messages"][1]["content"].split("Transcript excerpt ", 1)[1].split(" ", 1)[0]
        by_part.setdefault(part, []).append(question_of(b["messages"]))
    assert all(q == ["summary", "decisions", "actions", "questions"] for q in by_part.values())
    notes = minutes.notes
    assert notes.summary == "WHOLE MEETING"
    assert sorted(a.task for a in notes.action_items) == sorted(f"task of part {p}" for p in by_part)
    assert len(notes.open_questions) == parts
    # The whole transcript went through the questions.
    sent = "\n".join(b["messages"][1]["content"] for b in maps)
    for seg in make_journal(sid="RM_other", count=120).read().segments[:3]:
        assert seg.text in sent


async def test_a_list_that_fails_costs_that_list_only(
    make_settings: Callable[..., MinutesSettings], make_journal: Callable[..., Journal],
    scripted_llm: ScriptedLLM,
) -> None:
    def garbled_actions(messages: list[dict[str, str]]) -> str | int:
        if question_of(messages) == "actions":
            return "Sure! Here are the tasks: none, I think."
        if question_of(messages) == "questions":
            return 500
        return answers(messages)

    scripted_llm.answer = garbled_actions
    minutes = await build_minutes(make_journal(count=6).read(), make_settings(**env(scripted_llm)))
    assert minutes.generated and minutes.notes.summary == "part 1 summary"
    assert minutes.notes.action_items == () and minutes.notes.open_questions == ()
    ok = {c.stage: c.ok and c.parsed != "failed" for c in minutes.llm_calls}
    assert ok == {"map:summary": True, "map:decisions": True, "map:actions": False, "map:questions": False}


def test_an_older_prompts_folder_gets_the_shipped_list_questions(tmp_path: Path) -> None:
    for name in ("minutes-map.system.txt", "minutes-reduce.system.txt"):
        (tmp_path / name).write_text(f"custom {name} in {{language}}", encoding="utf-8")
    (tmp_path / "minutes-list-actions.txt").write_text("Which tasks, in {language}?", encoding="utf-8")
    prompts = PromptSet.load(tmp_path, "fr")
    assert prompts.map_system == "custom minutes-map.system.txt in French"
    questions = dict(prompts.list_questions)
    assert questions["actions"] == "Which tasks, in French?"  # the operator's own wins
    shipped = (DEFAULT_PROMPTS_DIR / "minutes-list-decisions.txt").read_text(encoding="utf-8").strip()
    assert questions["decisions"] == shipped.replace("{language}", "French")
    assert prompts.lists_system and prompts.lists_reduce_system


async def test_smaller_excerpts_for_the_lists_the_summary_reads_the_large_ones(
    make_settings: Callable[..., MinutesSettings], make_journal: Callable[..., Journal],
    scripted_llm: ScriptedLLM,
) -> None:
    scripted_llm.answer = answers
    settings = make_settings(**env(scripted_llm, LLM_CONTEXT_TOKENS="4096", LLM_LIST_CHUNK_TOKENS="150"))
    minutes = await build_minutes(make_journal(count=24).read(), settings)
    asked = [question_of(r["body"]["messages"]) for r in scripted_llm.requests]
    assert asked.count("summary") == 1 and "reduce" not in asked  # the whole meeting fits one excerpt
    lists = asked.count("actions")
    assert lists >= 4 and asked.count("decisions") == asked.count("questions") == lists
    for r in scripted_llm.requests:
        transcript = r["body"]["messages"][1]["content"].split("<transcript>")[1].split("</transcript>")[0]
        if question_of(r["body"]["messages"]) != "summary":
            assert len(transcript) <= 150 * 3 + 2
    assert minutes.notes.summary == "part 1 summary"
    assert len(minutes.notes.action_items) == lists  # one per excerpt, none lost in a merge


def test_a_list_chunk_too_small_is_a_config_error(make_settings: Callable[..., MinutesSettings]) -> None:
    with pytest.raises(ConfigError, match="LLM_LIST_CHUNK_TOKENS=50 is invalid"):
        make_settings(LLM_LIST_CHUNK_TOKENS="50")


async def test_verify_items_drops_what_the_lines_around_its_quote_do_not_support(
    make_settings: Callable[..., MinutesSettings], make_journal: Callable[..., Journal],
    scripted_llm: ScriptedLLM,
) -> None:
    def answer(messages: list[dict[str, str]]) -> str:
        user = messages[1]["content"]
        if "Task: " in user:  # the action check: Alice's task is real, Bob's is not
            return json.dumps({"verdict": "yes" if "Alice" in user.split("Task: ")[1] else "no"})
        if "Decision: " in user:
            return "no idea"  # unreadable: the decision is kept
        if question_of(messages) == "actions":
            return json.dumps({"action_items": [
                {"task": "prepare the deployment documentation", "owner": "Alice", "due": "Monday",
                 "speaker": "Alice", "time": "", "quote": "Alice will prepare the deployment documentation"},
                {"task": "add integration tests for billing", "owner": "Bob", "due": "",
                 "speaker": "Bob", "time": "", "quote": "Bob will add integration tests for billing"},
                {"task": "a task nobody said", "owner": "Chloé", "due": "", "speaker": "Chloé",
                 "time": "", "quote": "words that are nowhere"},
            ]})
        if question_of(messages) == "decisions":
            return json.dumps({"decisions": [{"text": "drop the old mobile client", "speaker": "Bob",
                                              "time": "", "quote": "We decided to drop support"}]})
        return answers(messages)

    scripted_llm.answer = answer
    settings = make_settings(**env(scripted_llm, LLM_VERIFY_ITEMS="true"))
    minutes = await build_minutes(make_journal(count=8).read(), settings)
    checks = [r["body"] for r in scripted_llm.requests if "Task: " in r["body"]["messages"][1]["content"]]
    assert len(checks) == 2  # the item quoting words nobody said is left to the grounding step
    for body in checks:
        excerpt = body["messages"][1]["content"].split("<transcript>")[1].split("</transcript>")[0]
        assert len(excerpt.strip().splitlines()) <= 5  # its line and two either side
        schema = body["response_format"]["json_schema"]["schema"]
        assert schema["properties"]["verdict"]["enum"] == ["yes", "no"]
    tasks = [a.task for a in minutes.notes.action_items]
    assert "prepare the deployment documentation" in tasks
    assert "add integration tests for billing" not in tasks
    assert [d.text for d in minutes.notes.decisions] == ["drop the old mobile client"]
    stages = [c.stage for c in minutes.llm_calls]
    assert stages.count("verify:action_items") == 2 and stages.count("verify:decisions") == 1
