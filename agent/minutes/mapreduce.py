"""Map-reduce summarisation with a bounded context per call and bounded parallelism.

Map: the transcript is cut into chunks that fit the context (system prompt + wrapper + chunk +
max output), and each chunk becomes partial notes (JSON), at most ``max_parallel`` calls at once.
Reduce: the partial notes are merged by one call. If they do not fit one call (very long
meetings, small contexts) they are first collapsed group by group, in parallel, until they do.
Every call is checked against the budget before it is sent.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field

from agent.logs import get_logger
from agent.minutes.chunking import (
    MESSAGE_OVERHEAD_TOKENS,
    SAFETY_TOKENS,
    Budget,
    chunk_lines,
    estimate_messages,
    estimate_tokens,
    group_by_budget,
)
from agent.minutes.lists import (
    ListCall,
    combine,
    plan_list_calls,
    summaries_call,
    verdict,
    verify_calls,
    without,
)
from agent.minutes.llm import ChatResult, LLMClient, LLMError, Schema
from agent.minutes.model import LLMCall, Notes
from agent.minutes.parse import merge_notes, parse_notes, parse_notes_how, parse_part_how
from agent.minutes.prompts import (
    PromptSet,
    map_user_message,
    messages,
    reduce_user_message,
    wrapper_overhead,
)
from agent.minutes.settings import LLMSettings

log = get_logger(__name__)

MAX_COLLAPSE_ROUNDS = 6
_PART_TAG_CHARS = 40  # '<notes part="123">\n' + '\n</notes>' + separator


class BudgetExceeded(RuntimeError):
    """A call would exceed the configured context: a bug in the chunking, never sent."""


@dataclass
class Outcome:
    notes: Notes | None
    calls: list[LLMCall] = field(default_factory=list)
    failure: str = ""  # why notes is None or partial (no text from the transcript)
    complete: bool = True  # False when some map calls failed


def map_budget(settings: LLMSettings, prompts: PromptSet, title: str) -> Budget:
    fixed = (
        estimate_tokens(prompts.map_system)
        + estimate_tokens("x" * wrapper_overhead(title))
        + 2 * MESSAGE_OVERHEAD_TOKENS
    )
    return Budget(settings.context_tokens, settings.max_output_tokens, fixed)


def reduce_budget(settings: LLMSettings, prompts: PromptSet, title: str) -> Budget:
    fixed = (
        estimate_tokens(prompts.reduce_system)
        + estimate_tokens(reduce_user_message([], title))
        + 2 * MESSAGE_OVERHEAD_TOKENS
    )
    return Budget(settings.context_tokens, settings.max_output_tokens, fixed)


def plan_map_calls(
    lines: list[str], settings: LLMSettings, prompts: PromptSet, title: str
) -> list[list[dict[str, str]]]:
    """The map calls' messages, one per chunk (pure: used by tests and the benchmark)."""
    budget = map_budget(settings, prompts, title)
    chunks = chunk_lines(lines, budget.input_chars)
    return [
        messages(prompts.map_system, map_user_message(chunk, i, len(chunks), title))
        for i, chunk in enumerate(chunks, start=1)
    ]


class Summariser:
    def __init__(self, client: LLMClient, settings: LLMSettings, prompts: PromptSet) -> None:
        self.client = client
        self.settings = settings
        self.prompts = prompts
        self._semaphore = asyncio.Semaphore(settings.max_parallel)
        self.calls: list[LLMCall] = []

    async def summarise(self, lines: list[str], title: str) -> Outcome:
        if not lines:
            return Outcome(None, failure="empty transcript")
        if self.settings.passes == "per-list":
            return await self._summarise_lists(lines, title)
        map_messages = plan_map_calls(lines, self.settings, self.prompts, title)
        log.info(
            "minutes: %d map call(s), at most %d in parallel", len(map_messages), self.settings.max_parallel
        )
        results = await asyncio.gather(*(self._call("map", m) for m in map_messages))
        partials = [n for n in results if n is not None]
        complete = len(partials) == len(results)
        if not partials:
            return Outcome(None, self.calls, failure="every map call failed", complete=False)
        if len(map_messages) == 1:
            return Outcome(partials[0], self.calls, complete=complete)
        final = await self._reduce(partials, title)
        if final is None:
            log.warning("minutes: reduce failed; merging partial notes mechanically")
            return Outcome(merge_notes(partials), self.calls, failure="reduce failed", complete=False)
        return Outcome(final, self.calls, complete=complete)

    async def _reduce(self, partials: list[Notes], title: str) -> Notes | None:
        budget = reduce_budget(self.settings, self.prompts, title)
        limit = budget.input_chars
        texts = [_serialise(n, limit - _PART_TAG_CHARS) for n in partials]
        for _ in range(MAX_COLLAPSE_ROUNDS):
            groups = group_by_budget(texts, limit, separator="x" * _PART_TAG_CHARS)
            if len(groups) == 1:
                return await self._call(
                    "reduce", messages(self.prompts.reduce_system, reduce_user_message(groups[0], title))
                )
            log.info("minutes: collapsing %d partial notes in %d group(s)", len(texts), len(groups))
            collapsed = await asyncio.gather(
                *(
                    self._call(
                        "collapse", messages(self.prompts.reduce_system, reduce_user_message(group, title))
                    )
                    for group in groups
                )
            )
            merged = [
                c if c is not None else merge_notes([parse_notes(t) or Notes() for t in g])
                for c, g in zip(collapsed, groups, strict=True)
            ]
            texts = [_serialise(n, limit - _PART_TAG_CHARS) for n in merged]
        return None

    async def _summarise_lists(self, lines: list[str], title: str) -> Outcome:
        plan = plan_list_calls(lines, self.settings, self.prompts, title)
        log.info(
            "minutes: %d chunk(s) x %d list questions, at most %d chunk(s) at once",
            len(plan), len(plan[0]) if plan else 0, self.settings.max_parallel,
        )
        results = await asyncio.gather(*(self._chunk_lists(calls) for calls in plan))
        partials = [n for n in results if n is not None]
        complete = len(partials) == len(results)
        if not partials:
            return Outcome(None, self.calls, failure="every map call failed", complete=False)
        merged = merge_notes(partials)  # the lists: a small model's reduce would drop items
        if self.settings.verify_items:
            merged = await self._verify(merged, lines, title)
        summaries = [n for n in partials if n.summary]
        if len(summaries) <= 1:
            first = summaries[0] if summaries else Notes()
            notes = Notes(first.summary, first.topics or merged.topics, merged.decisions,
                          merged.action_items, merged.open_questions)
            return Outcome(notes, self.calls, complete=complete and bool(summaries))
        limit = reduce_budget(self.settings, self.prompts, title).input_chars
        call = summaries_call(summaries, self.prompts, title, limit)
        async with self._semaphore:
            summary = await self._ask("reduce", call.messages, call.schema, call.keys)
        if summary is None or not summary.summary:
            return Outcome(merged, self.calls, failure="reduce failed", complete=False)
        return Outcome(
            Notes(summary.summary, summary.topics or merged.topics, merged.decisions,
                  merged.action_items, merged.open_questions),
            self.calls,
            complete=complete,
        )

    async def _verify(self, notes: Notes, lines: list[str], title: str) -> Notes:
        """One yes/no question per decision and action item, on the lines around its quote."""
        calls = verify_calls(notes, lines, self.prompts, title)

        async def ask(call: ListCall) -> str:
            async with self._semaphore:
                return await self._verdict(call)

        verdicts = await asyncio.gather(*(ask(c) for _, _, c in calls))
        refused = {(key, i) for (key, i, _), v in zip(calls, verdicts, strict=True) if v == "no"}
        log.info("minutes: %d item(s) checked, %d refused", len(calls), len(refused))
        return without(notes, refused)

    async def _verdict(self, call: ListCall) -> str:
        sent = await self._chat(call.name, call.messages, call.schema, max_tokens=16)
        if sent is None:
            return ""
        result, estimate = sent
        answer = verdict(result.text)
        self._record(call.name, estimate, result, "json" if answer else "failed")
        return answer

    async def _chunk_lists(self, calls: list[ListCall]) -> Notes | None:
        """A chunk's questions back to back, holding one slot: they share the prompt's prefix."""
        answers = []
        async with self._semaphore:
            for call in calls:
                answer = await self._ask(f"map:{call.name}", call.messages, call.schema, call.keys)
                if answer is not None:
                    answers.append(answer)
        return combine(answers) if answers else None

    async def _call(self, stage: str, msgs: list[dict[str, str]]) -> Notes | None:
        async with self._semaphore:
            return await self._ask(stage, msgs)

    async def _ask(
        self,
        stage: str,
        msgs: list[dict[str, str]],
        schema: Schema | None = None,
        keys: tuple[str, ...] = (),
    ) -> Notes | None:
        """One call, the caller holding a slot; ``keys``: a list's answer (empty is valid)."""
        sent = await self._chat(stage, msgs, schema, max_tokens=self.settings.max_output_tokens)
        if sent is None:
            return None
        result, estimate = sent
        notes, how = parse_part_how(result.text, keys) if keys else parse_notes_how(result.text)
        self._record(stage, estimate, result, how)
        if notes is None:
            log.warning("minutes: %s call returned no usable JSON (%d chars)", stage, len(result.text))
        return notes

    async def _chat(
        self, stage: str, msgs: list[dict[str, str]], schema: Schema | None, *, max_tokens: int
    ) -> tuple[ChatResult, int] | None:
        """The answer and the prompt's estimate; None (recorded, logged) when the call failed."""
        estimate = estimate_messages(msgs)
        limit = self.settings.context_tokens
        if estimate + max_tokens + SAFETY_TOKENS > limit:
            raise BudgetExceeded(
                f"{stage} call of ~{estimate} tokens + {max_tokens} output"
                f" exceeds LLM_CONTEXT_TOKENS={self.settings.context_tokens}"
            )
        started = time.monotonic()
        try:
            result = await self.client.chat(msgs, max_tokens=max_tokens, schema=schema)
        except LLMError as exc:
            log.warning("minutes: %s call failed: %s", stage, exc)
            self.calls.append(LLMCall(stage, estimate, None, None, time.monotonic() - started, False))
            return None
        return result, estimate

    def _record(self, stage: str, estimate: int, result: ChatResult, how: str) -> None:
        self.calls.append(
            LLMCall(
                stage,
                estimate,
                result.prompt_tokens,
                result.completion_tokens,
                result.seconds,
                how != "failed",
                response_format=result.response_format,
                parsed=how,
            )
        )


def _serialise(notes: Notes, max_chars: int) -> str:
    text = json.dumps(notes.to_dict(), ensure_ascii=False)
    return text if len(text) <= max_chars else text[:max_chars]
