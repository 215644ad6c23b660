"""Token estimates, chunking and the per-call budget (pure, fast)."""

from __future__ import annotations

import random

import pytest

from agent.minutes.chunking import (
    SAFETY_TOKENS,
    Budget,
    chunk_lines,
    estimate_messages,
    estimate_tokens,
    group_by_budget,
)
from agent.minutes.mapreduce import map_budget, plan_map_calls
from agent.minutes.prompts import PromptSet
from agent.minutes.settings import DEFAULT_PROMPTS_DIR, LLMSettings


def test_estimate_is_conservative_chars_over_three() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("abc") == 1
    assert estimate_tokens("abcd") == 2
    assert estimate_tokens("x" * 3000) == 1000


def test_budget_subtracts_output_prompt_and_margin() -> None:
    budget = Budget(context_tokens=4096, max_output_tokens=512, fixed_prompt_tokens=300)
    assert budget.input_tokens == 4096 - 512 - 300 - SAFETY_TOKENS
    assert budget.input_chars == budget.input_tokens * 3


def test_chunks_respect_bound_keep_order_and_lose_nothing() -> None:
    rng = random.Random(7)
    words = ["alpha", "beta", "gamma", "delta", "x" * 250]
    lines = [" ".join(rng.choice(words) for _ in range(rng.randint(1, 60))) for _ in range(400)]
    for limit in (64, 200, 1000, 5000):
        chunks = chunk_lines(lines, limit)
        assert all(len(c) <= limit for c in chunks)
        # every word survives, in order
        assert " ".join(" ".join(chunks).split()) .replace(" ", "") == "".join(lines).replace(" ",
                                                                                              "")


def test_lines_stay_whole_when_they_fit() -> None:
    lines = [f"[00:00:{i:02d}] Alice: sentence number {i}" for i in range(50)]
    chunks = chunk_lines(lines, 300)
    assert len(chunks) > 1
    rebuilt = [line for chunk in chunks for line in chunk.split("\n")]
    assert rebuilt == lines


def test_a_single_huge_word_is_hard_cut() -> None:
    chunks = chunk_lines(["y" * 1000], 100)
    assert [len(c) for c in chunks] == [100] * 10


def test_chunk_size_too_small_is_refused() -> None:
    with pytest.raises(ValueError, match="too small"):
        chunk_lines(["a"], 8)


def test_group_by_budget_bounds_groups() -> None:
    items = [f"item-{i}-" + "z" * (i * 7 % 90) for i in range(60)]
    groups = group_by_budget(items, 400, separator="--")
    assert [i for g in groups for i in g] == items
    assert all(len("--".join(g)) <= 400 for g in groups)


@pytest.mark.parametrize("context", [1024, 2048, 8192])
def test_every_planned_map_call_fits_the_context(context: int) -> None:
    settings = LLMSettings(base_url="http://x/v1", context_tokens=context, max_output_tokens=256)
    prompts = PromptSet.load(DEFAULT_PROMPTS_DIR, "fr")
    lines = [f"[00:{i // 60:02d}:{i % 60:02d}] Chloé: " + "parole " * (i % 40 + 1)
             for i in range(2000)]
    calls = plan_map_calls(lines, settings, prompts, "Réunion")
    assert len(calls) > 1
    for msgs in calls:
        assert estimate_messages(msgs) + settings.max_output_tokens + SAFETY_TOKENS <= context
    # and the chunks are not wastefully small: each but the last uses most of the budget
    budget = map_budget(settings, prompts, "Réunion").input_chars
    sizes = [len(m[1]["content"]) for m in calls[:-1]]
    assert min(sizes) > budget * 0.8
