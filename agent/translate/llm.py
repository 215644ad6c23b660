"""Translation through the operator's OpenAI-compatible endpoint (the minutes' client)."""

from __future__ import annotations

from collections.abc import Sequence

from agent.minutes.llm import LLMClient
from agent.translate.prompt import clean_translation, translation_messages
from agent.translate.settings import TranslateSettings


class LLMTranslator:
    """One client per room; ``translate`` raises ``LLMError`` when the endpoint fails."""

    def __init__(self, settings: TranslateSettings, client: LLMClient | None = None) -> None:
        self.settings = settings
        self.client = client or LLMClient(settings.llm)

    async def translate(
        self, text: str, source: str, target: str, context: Sequence[tuple[str, str]] = ()
    ) -> str:
        messages = translation_messages(text, source, target, context)
        # A translation is about as long as its source: bound the answer by it.
        budget = min(self.settings.max_tokens, 32 + len(text) // 2)
        result = await self.client.chat(messages, max_tokens=budget)
        return clean_translation(result.text)

    async def aclose(self) -> None:
        await self.client.aclose()
