"""``python -m agent minutes JOURNAL`` as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from agent.transcript.journal import Journal

from .conftest import REPO, SMTPSink, smtp_env


def run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("LLM_", "SMTP_", "MINUTES_"))}
    # Empty values: a developer's .env (loaded by the CLI) must not add a real SMTP server or LLM.
    clean |= {"LLM_BASE_URL": "", "SMTP_HOST": "", "MINUTES_WEBHOOK_URL": ""}
    return subprocess.run([sys.executable, "-m", "agent", "minutes", *args], cwd=REPO,
                          env=clean | env, capture_output=True, text=True, timeout=120)


def test_regenerates_files_offline(
    make_journal: Callable[..., Journal], tmp_path: Path, data_dir: Path,
) -> None:
    journal = make_journal(language="fr")
    out = tmp_path / "out"
    proc = run_cli([str(journal.path), "--out", str(out), "--no-llm"], {"DATA_DIR": str(data_dir)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(out / "minutes.md")
    assert (out / "minutes.md").read_text().startswith("# Compte rendu — Weekly sync")
    assert {p.name for p in out.iterdir()} >= {"minutes.json", "transcript.vtt", "transcript.srt"}
    assert not journal.is_done()  # regeneration does not touch the live pipeline's state


def test_send_delivers_through_smtp(
    make_journal: Callable[..., Journal], smtp_server: SMTPSink, data_dir: Path
) -> None:
    journal = make_journal()
    env = {"DATA_DIR": str(data_dir), **smtp_env(smtp_server)}
    proc = run_cli([str(journal.path), "--no-llm", "--send"], env)
    assert proc.returncode == 0, proc.stderr
    assert len(smtp_server.messages) == 1
    assert proc.stdout.strip().endswith("minutes/RM_test/minutes.md")


def test_bad_setting_exits_2_with_one_line(make_journal: Callable[..., Journal],
                                          data_dir: Path) -> None:
    proc = run_cli([str(make_journal().path)], {"DATA_DIR": str(data_dir), "LLM_BASE_URL": "nope"})
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "LLM_BASE_URL" in proc.stderr


def test_unreadable_journal_fails_cleanly(tmp_path: Path, data_dir: Path) -> None:
    bogus = tmp_path / "x.jsonl"
    bogus.write_text("garbage\n")
    proc = run_cli([str(bogus), "--no-llm"], {"DATA_DIR": str(data_dir)})
    assert proc.returncode == 1 and "cannot read" in proc.stderr
