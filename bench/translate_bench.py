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

    .venv/bin/python bench/translate_bench.py --model qwen
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
            for direction in ("fr-en", "en-fr"):
                rows.append(await run_direction(translator, direction, args.context))
        finally:
            await translator.aclose()
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
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "translate"))
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
