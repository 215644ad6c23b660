"""Headings and labels of the minutes in the meeting's language (French and English for now).

Add a language by adding a dict with the same keys; unknown languages fall back to English.
"""

from __future__ import annotations

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "language_name": "English",
        "minutes": "Minutes",
        "date": "Date",
        "duration": "Duration",
        "attendees": "Attendees",
        "talk_time": "talk time",
        "summary": "Summary",
        "topics": "Topics discussed",
        "decisions": "Decisions",
        "action_items": "Action items",
        "owner": "owner",
        "due": "due",
        "quote_open": "“",
        "quote_close": "”",
        "not_found": "⚠ quote not found in the transcript: check before relying on it",
        "no_quote": "no supporting quote",
        "open_questions": "Open questions",
        "transcript": "Transcript",
        "none": "None recorded.",
        "no_speech": "Nothing was transcribed during this meeting.",
        "extractive_summary": "Key sentences (extracted automatically)",
        "notice_no_llm": (
            "The summary was not generated: no language model is configured. Below are the"
            " attendees, their talk time, sentences extracted from the transcript and the full"
            " transcript."
        ),
        "notice_llm_failed": (
            "The summary was not generated: the language model could not be reached or gave an"
            " unusable answer. Below are the attendees, their talk time, sentences extracted from"
            " the transcript and the full transcript."
        ),
        "attachments": "The full transcript is attached (Markdown and WebVTT).",
        "generated_by": "Minutes written by greffier; the summary is generated automatically and"
        " may contain errors.",
    },
    "fr": {
        "language_name": "French",
        "minutes": "Compte rendu",
        "date": "Date",
        "duration": "Durée",
        "attendees": "Participants",
        "talk_time": "temps de parole",
        "summary": "Résumé",
        "topics": "Sujets abordés",
        "decisions": "Décisions",
        "action_items": "Actions à mener",
        "owner": "responsable",
        "due": "échéance",
        "quote_open": "« ",
        "quote_close": " »",
        "not_found": "⚠ citation introuvable dans la transcription : à vérifier",
        "no_quote": "sans citation à l'appui",
        "open_questions": "Questions ouvertes",
        "transcript": "Transcription",
        "none": "Aucun élément relevé.",
        "no_speech": "Rien n'a été transcrit pendant cette réunion.",
        "extractive_summary": "Phrases clés (extraites automatiquement)",
        "notice_no_llm": (
            "Le résumé n'a pas été généré : aucun modèle de langage n'est configuré. Vous trouverez"
            " ci-dessous les participants, leur temps de parole, des phrases extraites de la"
            " transcription et la transcription complète."
        ),
        "notice_llm_failed": (
            "Le résumé n'a pas été généré : le modèle de langage était injoignable ou a donné une"
            " réponse inutilisable. Vous trouverez ci-dessous les participants, leur temps de"
            " parole, des phrases extraites de la transcription et la transcription complète."
        ),
        "attachments": "La transcription complète est jointe (Markdown et WebVTT).",
        "generated_by": "Compte rendu rédigé par greffier ; le résumé est généré automatiquement"
        " et peut contenir des erreurs.",
    },
}


def labels(language: str) -> dict[str, str]:
    return LABELS.get(language, LABELS["en"])


def language_name(language: str, default: str = "English") -> str:
    """English name of the language, for the prompts ("Write in French")."""
    return LABELS.get(language, {}).get("language_name") or _OTHER_NAMES.get(language, default)


_OTHER_NAMES = {
    "de": "German", "es": "Spanish", "it": "Italian", "nl": "Dutch", "pt": "Portuguese", "pl": "Polish",
    "ar": "Arabic", "uk": "Ukrainian", "ru": "Russian", "zh": "Chinese", "ja": "Japanese",
    "br": "Breton", "oc": "Occitan",
}  # fmt: skip


def format_duration(seconds: float) -> str:
    total = round(seconds)
    hours, rem = divmod(total, 3600)
    minutes, secs = divmod(rem, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"
