"""Token estimates and transcript chunking, so no LLM call exceeds the configured context.

Tokenizers differ between models and we do not want to ship one per model, so tokens are
over-estimated from characters: ``ceil(chars / 3)``. Real tokenizers give about 4 characters per
token for English and French prose, so the estimate leaves a margin of roughly 25 %.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

CHARS_PER_TOKEN = 3.0
# Per-message overhead of chat templates (role markers, special tokens), counted generously.
MESSAGE_OVERHEAD_TOKENS = 16
# Kept free in every call on top of the estimate, for template differences.
SAFETY_TOKENS = 64


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def estimate_messages(messages: list[dict[str, str]]) -> int:
    return sum(estimate_tokens(m["content"]) + MESSAGE_OVERHEAD_TOKENS for m in messages)


@dataclass(frozen=True)
class Budget:
    """How many transcript tokens fit in one call given the fixed parts of the prompt."""

    context_tokens: int
    max_output_tokens: int
    fixed_prompt_tokens: int  # system prompt + user wrapper, estimated

    @property
    def input_tokens(self) -> int:
        return max(
            0,
            self.context_tokens - self.max_output_tokens - self.fixed_prompt_tokens - SAFETY_TOKENS,
        )

    @property
    def input_chars(self) -> int:
        return int(self.input_tokens * CHARS_PER_TOKEN)


def chunk_lines(lines: list[str], max_chars: int) -> list[str]:
    """Group lines into chunks of at most ``max_chars`` characters (joined with newlines).

    Lines stay whole when they fit; a single line longer than a chunk is cut at word boundaries
    (or hard-cut when one "word" is itself too long) so the bound always holds.
    """
    if max_chars < 16:
        raise ValueError("chunk size too small: raise LLM_CONTEXT_TOKENS or shorten the prompts")
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        for piece in _split_long(line, max_chars):
            extra = len(piece) + (1 if current else 0)
            if current and size + extra > max_chars:
                chunks.append("\n".join(current))
                current, size = [], 0
                extra = len(piece)
            current.append(piece)
            size += extra
    if current:
        chunks.append("\n".join(current))
    return chunks


def _split_long(line: str, max_chars: int) -> list[str]:
    if len(line) <= max_chars:
        return [line]
    pieces: list[str] = []
    current = ""
    for word in line.split(" "):
        while len(word) > max_chars:
            if current:
                pieces.append(current)
                current = ""
            pieces.append(word[:max_chars])
            word = word[max_chars:]
        candidate = f"{current} {word}" if current else word
        if len(candidate) > max_chars:
            pieces.append(current)
            current = word
        else:
            current = candidate
    if current:
        pieces.append(current)
    return pieces


def group_by_budget(items: list[str], max_chars: int, separator: str = "\n\n") -> list[list[str]]:
    """Group whole items (e.g. partial notes) so each group's joined text fits ``max_chars``.

    An item larger than the budget is alone in its group; callers clip it first.
    """
    groups: list[list[str]] = []
    current: list[str] = []
    size = 0
    for item in items:
        extra = len(item) + (len(separator) if current else 0)
        if current and size + extra > max_chars:
            groups.append(current)
            current, size = [], 0
            extra = len(item)
        current.append(item)
        size += extra
    if current:
        groups.append(current)
    return groups
