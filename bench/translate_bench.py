"""Live caption translation: how long a final waits for its translation, and how good it is.

Each sentence of ``bench/gold/translation/fr_en.json`` (two meetings, French and English, 24
sentences per direction) goes through greffier's own translator (``agent.translate.LLMTranslator``:
the product's prompt, the meeting's previous sentences as context), one at a time as finals
arrive in a room, French→English and English→French. Reported: seconds per translation (p50,
p95: the time from the original final to its translation, less the few milliseconds of
publication), and chrF against the references (sacrebleu).

Models: ``--model qwen`` (Qwen2.5-Coder-1.5B-Instruct, ``scripts/install-qwen.sh``),
``--model smollm2`` (SmolLM2-135M, the tests' model) or a GGUF path, run by llama.cpp in this
process (``agent.minutes.local_server``, every core); or ``--base-url`` for any OpenAI-compatible
server. Not part of CI.

``--speech``: French → English from speech, the two routes the product offers into English, on
the same audio (the French sentences spoken by espeak-ng, and pytest-audioeval's three neural
French clips with references written for this bench): Whisper's translate task on the audio
(``TRANSLATE_WHISPER_FROM``; greedy, as the product runs it) against the final's text
(``WHISPER_FINAL_BEAM_SIZE`` 5) given to the LLM; plus the LLM on the written French, the
ceiling recognition errors take the routes below.

    .venv/bin/python bench/translate_bench.py --model qwen [--context 1] [--speech]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from agent.minutes.local_server import local_llm, smollm2_path  # noqa: E402
from agent.minutes.settings import LLMSettings  # noqa: E402
from agent.translate import LLMTranslator, TranslateSettings  # noqa: E402

GOLD = REPO / "bench" / "gold" / "translation" / "fr_en.json"  # apart from the minutes gold
# pytest-audioeval's French clips (agent.samples.tts_clip) with English references written here.
NEURAL_FR = {
    "bonjour_monde": "Hello world.",
    "comptage": "One two three four five six seven eight nine ten.",
    "pangrama": "Take this old whisky to the blond judge who is smoking.",
}


def pairs(direction: str) -> list[list[tuple[str, str]]]:
    """Per meeting, (source, reference) in spoken order for ``fr-en`` or ``en-fr``."""
    meetings = json.loads(GOLD.read_text(encoding="utf-8"))["meetings"]
    out = []
    for i, meeting in enumerate(meetings):
        french_first = i == 0  # the first meeting is written French → English, the second the reverse
        fr_col = 0 if french_first else 1
        src, ref = (fr_col, 1 - fr_col) if direction == "fr-en" else (1 - fr_col, fr_col)
        out.append([(row[src], row[ref]) for row in meeting])
    return out


def model_path(name: str) -> Path:
    if name == "smollm2":
        path = smollm2_path()
        if path is None:
            raise SystemExit("SmolLM2 is not installed: run scripts/install-llm-runtime.sh")
        return path
    if name == "qwen":
        found = subprocess.run(
            ["bash", str(REPO / "scripts" / "install-qwen.sh")], capture_output=True, text=True, check=False
        )
        if found.returncode != 0:
            raise SystemExit(f"scripts/install-qwen.sh failed: {found.stderr.strip()[-300:]}")
        return Path(found.stdout.strip().splitlines()[-1])
    path = Path(name)
    if not path.is_file():
        raise SystemExit(f"--model {name!r}: expected qwen, smollm2 or a .gguf file")
    return path


async def run_direction(translator: LLMTranslator, direction: str, context: int) -> dict:  # type: ignore[type-arg]
    source, target = direction.split("-")
    seconds, hyps, refs = [], [], []
    for meeting in pairs(direction):
        said: list[tuple[str, str]] = []  # as the room does: earlier captions and our translations
        for text, reference in meeting:
            started = time.monotonic()
            hyp = await translator.translate(text, source, target, said[-context:] if context else ())
            seconds.append(time.monotonic() - started)
            said.append((text, hyp))
            hyps.append(hyp)
            refs.append(reference)
    import sacrebleu

    chrf = sacrebleu.corpus_chrf(hyps, [refs]).score
    return {
        "direction": direction,
        "sentences": len(hyps),
        "p50_s": float(np.percentile(seconds, 50)),
        "p95_s": float(np.percentile(seconds, 95)),
        "max_s": max(seconds),
        "chrf": chrf,
        "examples": list(zip(refs[:3], hyps[:3], strict=True)),
    }


def speech_set() -> list[tuple[str, np.ndarray, str]]:
    """(written French, its audio, English reference): the gold meetings' French, spoken."""
    from agent.audio.decode import load_audio
    from agent.samples import synth_speech, tts_clip

    pad = np.zeros(4000, np.float32)
    rows = [(fr, load_audio(synth_speech(fr, "fr")), en) for meeting in pairs("fr-en") for fr, en in meeting]
    for name, en in NEURAL_FR.items():
        clip = tts_clip("fr", name)
        rows.append((clip.text, load_audio(clip.wav), en))
    return [(fr, np.concatenate([pad, audio, pad]), en) for fr, audio, en in rows]


async def run_speech(translator: LLMTranslator, context: int) -> list[dict]:  # type: ignore[type-arg]
    import sacrebleu

    from agent.asr.decoder import WhisperDecoder
    from agent.asr.settings import AsrSettings
    from agent.samples import word_error_rate

    decoder = WhisperDecoder(AsrSettings(model="base", languages=("fr", "en")))
    rows = speech_set()
    decoder.translate(rows[0][1], language="fr")  # warm-up
    routes: dict[str, tuple[list[str], list[float]]] = {k: ([], []) for k in ("whisper", "asr+llm", "text+llm")}
    heard: list[str] = []
    said: dict[str, list[tuple[str, str]]] = {"asr+llm": [], "text+llm": []}
    for fr, audio, _en in rows:
        started = time.monotonic()
        english = decoder.translate(audio, language="fr")
        routes["whisper"][0].append(english)
        routes["whisper"][1].append(time.monotonic() - started)
        hyp = decoder.decode(audio, language="fr", beam_size=5)
        text = "".join(w.text for w in hyp.words).strip()
        heard.append(text)
        for route, source in (("asr+llm", text), ("text+llm", fr)):
            started = time.monotonic()
            out = await translator.translate(source, "fr", "en", said[route][-context:] if context else ())
            routes[route][1].append(time.monotonic() - started)
            routes[route][0].append(out)
            said[route].append((source, out))
    refs = [en for _fr, _a, en in rows]
    wer = word_error_rate(" ".join(fr for fr, _a, _e in rows), " ".join(heard))
    out = []
    for route, (hyps, seconds) in routes.items():
        out.append({
            "route": route,
            "sentences": len(hyps),
            "p50_s": float(np.percentile(seconds, 50)),
            "p95_s": float(np.percentile(seconds, 95)),
            "chrf": sacrebleu.corpus_chrf(hyps, [refs]).score,
            "chrf_neural": sacrebleu.corpus_chrf(hyps[-len(NEURAL_FR):], [refs[-len(NEURAL_FR):]]).score,
            "examples": [*zip(refs[-3:], hyps[-3:], strict=True), (refs[0], hyps[0])],
            "asr_wer": wer,
        })  # fmt: skip
    return out


def print_speech(rows: list[dict], label: str, context: int) -> None:  # type: ignore[type-arg]
    print(f"\nFrench speech into English ({label}, context {context}, {os.cpu_count()} cores, {date.today()});"
          f" French recognised at WER {rows[0]['asr_wer']:.1%}")  # fmt: skip
    print("| route | sentences | p50 s | p95 s | chrF (all) | chrF (3 neural clips) |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['route']} | {r['sentences']} | {r['p50_s']:.2f} | {r['p95_s']:.2f} | {r['chrf']:.1f} "
              f"| {r['chrf_neural']:.1f} |")  # fmt: skip
    for r in rows:
        for ref, hyp in r["examples"]:
            print(f"  {r['route']}: {hyp!r}  (reference: {ref!r})")


async def main_async(args: argparse.Namespace) -> int:
    if args.base_url:
        base = LLMSettings(base_url=args.base_url.rstrip("/"), model=args.llm_model)
        label = args.llm_model or args.base_url
    else:
        path = model_path(args.model)
        base = LLMSettings(base_url="", model_path=str(path), context_tokens=2048, max_parallel=1)
        label = path.name
    rows = []
    async with local_llm(base) as llm:
        settings = TranslateSettings(
            backend="llm",
            llm=LLMSettings(base_url=llm.base_url, api_key=llm.api_key, model=llm.model,
                            response_format="none", temperature=0.0, timeout_s=120.0, retries=0),
        )  # fmt: skip
        translator = LLMTranslator(settings)
        try:
            await translator.translate("Bonjour.", "fr", "en")  # warm-up: the first call loads caches
            if args.speech:
                speech = await run_speech(translator, args.context)
            else:
                for direction in ("fr-en", "en-fr"):
                    rows.append(await run_direction(translator, direction, args.context))
        finally:
            await translator.aclose()
    if args.speech:
        print_speech(speech, label, args.context)
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        result = {"model": label, "context": args.context, "date": str(date.today()), "rows": speech}
        name = f"translate-speech-{Path(label).stem}-context{args.context}.json"
        (out / name).write_text(json.dumps(result, indent=2, ensure_ascii=False))
        return 0
    print(f"\nTranslation ({label}, context {args.context}, {os.cpu_count()} cores, {platform.machine()}, {date.today()})")
    print("| direction | sentences | p50 s | p95 s | max s | chrF |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['direction']} | {r['sentences']} | {r['p50_s']:.2f} | {r['p95_s']:.2f} "
              f"| {r['max_s']:.2f} | {r['chrf']:.1f} |")  # fmt: skip
    for r in rows:
        for ref, hyp in r["examples"]:
            print(f"  {r['direction']}: {hyp!r}  (reference: {ref!r})")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result = {"model": label, "context": args.context, "date": str(date.today()), "cores": os.cpu_count(), "rows": rows}
    (out / f"translate-{Path(label).stem}-context{args.context}.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="qwen", help="qwen, smollm2 or a .gguf path (run here)")
    parser.add_argument("--base-url", default="", help="an OpenAI-compatible /v1 URL instead")
    parser.add_argument("--llm-model", default="", help="the model name to ask --base-url for")
    parser.add_argument("--context", type=int, default=3, help="earlier turns given (TRANSLATE_CONTEXT_SENTENCES)")
    parser.add_argument("--speech", action="store_true", help="French speech into English: Whisper vs the LLM")
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "translate"))
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
