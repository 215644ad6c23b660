"""Meeting minutes from a journal: summarised by any OpenAI-compatible LLM (map-reduce), with an
extractive fallback, rendered as Markdown, HTML, text, WebVTT and SRT.

Writing them at the end of a meeting and delivering them is ``agent.meeting``'s job.
"""

from agent.minutes.builder import build_minutes
from agent.minutes.model import Minutes
from agent.minutes.settings import LLMSettings, MinutesSettings, SMTPSettings, WebhookSettings

__all__ = ["LLMSettings", "Minutes", "MinutesSettings", "SMTPSettings", "WebhookSettings", "build_minutes"]
