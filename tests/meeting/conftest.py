"""The minutes tests' fixtures (settings from an environment, journals of synthetic meetings,
SMTP and webhook receivers, a scripted LLM) serve the end-of-meeting tests too."""

from tests.minutes.conftest import data_dir, make_journal, make_settings, scripted_llm

__all__ = ["data_dir", "make_journal", "make_settings", "scripted_llm"]
