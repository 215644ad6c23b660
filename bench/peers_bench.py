"""Side-by-side benchmark: greffier's streaming engine against two open streaming-Whisper servers.

Why: our own benchmarks (``asr_bench.py``) compare the engine with baselines we wrote ourselves.
This one asks how it compares with what someone would install instead, on the same machine, the
same model folder and the same audio, each system driven through its own client protocol:

- **greffier**: N ``RecognizerStream``s of one ``SpeechEngine`` (the path ``livekit_stt`` uses), in a
  child process so that its CPU and memory are measured like a server's. Audio is fed by
  ``asr_bench._run_concurrency_async`` (20 ms frames at real-time pace, ``end()`` at the end).
- **WhisperLive** (Collabora) 0.10.0, faster_whisper backend, custom model folder (single-model
  mode): websocket, a JSON options message, float32 16 kHz frames, ``END_OF_AUDIO``; it answers
  with the last segments, ``completed`` or not. Like its own client, we keep completed segments,
  show the last incomplete one, and send ``END_OF_AUDIO`` once the output has not changed for 15 s.
- **WhisperLiveKit** 0.2.26, LocalAgreement policy on faster-whisper, ``--pcm-input`` (s16le
  frames, no ffmpeg), an empty frame to stop; it answers with ``lines`` (committed) and
  ``buffer_transcription`` (unconfirmed) until ``ready_to_stop``.

Each peer is installed from PyPI into its own virtual environment under
``~/.cache/greffier/peers/<package>-<version>/`` (never into the project's environment) and started
as a server on 127.0.0.1 for each run. Every system is given the language (``en``), the same
CTranslate2 model folder (``agent.asr.models.packaged_base_model()``, multilingual base) and two
cores' worth of threads (greffier: its default two 1-thread decode workers; the peers have no
thread option, so ``OMP_NUM_THREADS=2``).

Metrics, the same for every system, measured on the client side:
- **first shown**: when a word first appears in anything the client received (interim or final),
  minus the word's end in the audio. **committed**: the same for committed / completed text.
  Word end times come from an offline decode of the clip (faster-whisper, beam 5, word timestamps,
  same model); the client's text at each message is aligned to those words by sequence matching
  after WER normalisation, so systems without word timestamps are timed the same way. A match
  before the word started being fed (impossible) is discarded. The clock starts when the first
  sample is due; frame k is sent when it has been "spoken".
- **final WER**: the text the client holds at the end, after each system's end-of-stream protocol,
  against the clip's reference, with ``agent.samples.word_error_rate`` (the project's one
  normalisation); mean over streams.
- **CPU s per audio s**: server process tree CPU (psutil) from the first frame to the last answer,
  divided by the audio fed (all streams). **peak RSS**: the process tree's, sampled every 0.1 s.

    .venv/bin/python bench/peers_bench.py               # call + read clip, 1 and 2 streams (~12 min)
    .venv/bin/python bench/peers_bench.py --quick       # the call, 1 stream
    .venv/bin/python bench/peers_bench.py --streams 1,2 --clips call --systems greffier,whisperlive

Not part of CI and never imported by tests: it installs about 14 GB of peer environments.
Prints one Markdown table and writes it, with the run's notes, to ``bench/results/peers-<date>.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime
import difflib
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the project, run from anywhere
sys.path.insert(0, str(Path(__file__).resolve().parent))  # asr_bench, whose helpers we reuse

import asr_bench
from asr_bench import FRAME, Clip, log, pyannote_clip, summary, wer

from agent.samples import normalize_for_wer
from agent.timebase import SAMPLE_RATE

BENCH = Path(__file__).resolve().parent
LANGUAGE = "en"
THREADS = 2
QUIET_SECONDS = 15.0  # WhisperLive: hang up after this long without a change (as its client) ...
MAX_DRAIN_SECONDS = 40.0  # ... or this long after the audio ended, whatever comes first
SERVER_START_TIMEOUT = 240.0
RUN_TIMEOUT = 300.0
RESULT_MARK = "@@RESULT "
READY_MARK = "@@READY "


# --------------------------------------------------------------------------------------------------
# Peer installs
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PeerSpec:
    """A peer as installed from PyPI: its key on the command line, its package and pinned version."""

    key: str
    label: str
    package: str
    version: str


WHISPERLIVE = PeerSpec("whisperlive", "WhisperLive 0.10.0", "whisper-live", "0.10.0")
WHISPERLIVEKIT = PeerSpec("whisperlivekit", "WhisperLiveKit 0.2.26", "whisperlivekit", "0.2.26")
PEERS = {p.key: p for p in (WHISPERLIVE, WHISPERLIVEKIT)}


@dataclass
class InstallInfo:
    """Where a peer's environment is, what it cost, or why there is none."""

    venv: Path
    seconds: float | None = None  # None: installed by an earlier run
    size_mb: float | None = None
    reused: bool = False
    error: str | None = None

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"


def default_peers_dir() -> Path:
    from agent.asr.models import cache_dir

    return cache_dir() / "peers"


def _dir_size_mb(path: Path) -> float | None:
    if shutil.which("du"):
        out = subprocess.run(["du", "-sm", str(path)], capture_output=True, text=True, check=False)
        if out.returncode == 0 and out.stdout.split():
            return float(out.stdout.split()[0])
    return None


def _installed_version(python: Path, package: str) -> str | None:
    out = subprocess.run(
        [str(python), "-m", "pip", "show", package], capture_output=True, text=True, check=False
    )
    for line in out.stdout.splitlines():
        if line.startswith("Version:"):
            return line.split(":", 1)[1].strip()
    return None


def ensure_peer(spec: PeerSpec, root: Path, *, install: bool) -> InstallInfo:
    """The peer's own venv (``python -m venv`` + pip), created once; reused when the version matches.

    Its own environment because both peers pin versions of torch, faster-whisper and numpy that
    need not match ours, and a benchmark must not change the project's environment."""
    venv = root / f"{spec.package}-{spec.version}"
    info = InstallInfo(venv)
    stamp = venv / ".greffier-bench.json"
    if info.python.exists() and _installed_version(info.python, spec.package) == spec.version:
        info.reused = True
        if stamp.exists():
            info.seconds = json.loads(stamp.read_text()).get("install_seconds")
        info.size_mb = _dir_size_mb(venv)
        return info
    if not install:
        info.error = f"not installed in {venv} (run without --no-install)"
        return info
    root.mkdir(parents=True, exist_ok=True)
    log(f"installing {spec.package}=={spec.version} into {venv} (several GB: torch, CUDA wheels)")
    started = time.perf_counter()
    steps = [
        [sys.executable, "-m", "venv", "--clear", str(venv)],
        [str(info.python), "-m", "pip", "install", "-q", "--upgrade", "pip"],
        [str(info.python), "-m", "pip", "install", f"{spec.package}=={spec.version}"],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            (root / f"{spec.package}-{spec.version}-install.log").write_text(done.stdout + done.stderr)
            tail = [ln for ln in (done.stdout + done.stderr).splitlines() if ln.strip()][-3:]
            info.error = f"`{' '.join(step[-2:])}` failed: {' | '.join(tail)[:300]}"
            return info
    info.seconds = time.perf_counter() - started
    info.size_mb = _dir_size_mb(venv)
    stamp.write_text(json.dumps({"install_seconds": info.seconds, "size_mb": info.size_mb}))
    return info


# --------------------------------------------------------------------------------------------------
# Clips and the word-time reference
# --------------------------------------------------------------------------------------------------
READ_SENTENCES = 4


def read_clip(workdir: Path) -> Clip:
    """espeak-ng English: the monologue's first sentences with 1.2 s pauses (read speech, synthetic).

    Same construction as ``asr_bench.french_clip``: the only English read speech with an exact
    reference that installs from a registry; the pauses test end-of-utterance commits."""
    from agent.audio.decode import load_audio
    from agent.audio.wav import write_wav
    from agent.samples import synth_speech
    from agent.samples.compose import MONOLOGUE_TEXT

    gap = 1.2
    pieces: list[np.ndarray] = []
    spans: list[tuple[float, float, str]] = []
    cursor = 0
    for sentence in MONOLOGUE_TEXT["en"][:READ_SENTENCES]:
        audio = load_audio(synth_speech(sentence, "en"))
        spans.append((cursor / SAMPLE_RATE, (cursor + len(audio)) / SAMPLE_RATE, sentence))
        pieces += [audio, np.zeros(int(gap * SAMPLE_RATE), dtype=np.float32)]
        cursor += len(audio) + int(gap * SAMPLE_RATE)
    audio = np.concatenate(pieces).astype(np.float32)
    write_wav(workdir / "espeak-en-read.wav", audio)
    return Clip(
        name="espeak-en-read", audio=audio, reference=" ".join(t for _, _, t in spans),
        language="en", utterances=spans,
        description=f"espeak-ng English, {READ_SENTENCES} sentences, 1.2 s pauses (synthetic voice)",
    )  # fmt: skip


@dataclass
class WordTimes:
    """The clip's words (WER-normalised tokens) with their start and end in the audio."""

    tokens: list[str]
    starts: list[float]
    ends: list[float]
    text: str


def offline_word_times(model_path: Path, clip: Clip) -> WordTimes:
    """Word times from an offline decode (beam 5, word timestamps, same model): the time base
    against which every system's text is aligned, whether or not it sends word timestamps."""
    from faster_whisper import WhisperModel

    model = WhisperModel(str(model_path), device="cpu", compute_type="int8", cpu_threads=THREADS)
    segments, _ = model.transcribe(
        clip.audio, language=clip.language, beam_size=5, vad_filter=True, word_timestamps=True
    )
    times = word_times(segments, clip.language)
    del model
    return times


def word_times(segments: Any, language: str) -> WordTimes:
    """Each WER token of faster-whisper's segments (word timestamps on) with its word's times."""
    tokens: list[str] = []
    starts: list[float] = []
    ends: list[float] = []
    texts = []
    for seg in segments:
        texts.append(seg.text.strip())
        for w in seg.words or []:
            for tok in normalize_for_wer(w.word, language).split():
                tokens.append(tok)
                starts.append(float(w.start))
                ends.append(float(w.end))
    return WordTimes(tokens, starts, ends, " ".join(texts))


def first_times(ref: WordTimes, snapshots: Sequence[tuple[float, str]], language: str) -> list[float | None]:
    """For each reference word, the first snapshot time at which it is matched in the text.

    A snapshot is the whole text the client holds at that moment; ``difflib`` aligns its tokens
    to the reference tokens. A word matched before its audio began to be fed is a chance match
    (a "the" further on) and is ignored."""
    first: list[float | None] = [None] * len(ref.tokens)
    matcher = difflib.SequenceMatcher(autojunk=False)
    matcher.set_seq2(ref.tokens)
    previous: list[str] | None = None
    for t, text in snapshots:
        hyp = normalize_for_wer(text, language).split()
        if hyp == previous or not hyp:
            continue
        previous = hyp
        matcher.set_seq1(hyp)
        for _, b, size in matcher.get_matching_blocks():
            for k in range(b, b + size):
                if first[k] is None and t >= ref.starts[k]:
                    first[k] = t
    return first


# --------------------------------------------------------------------------------------------------
# What a client saw
# --------------------------------------------------------------------------------------------------
@dataclass
class StreamLog:
    """One connection's view over time: (t, committed text, shown text) whenever it changed."""

    snapshots: list[tuple[float, str, str]] = field(default_factory=list)
    final_text: str = ""
    error: str | None = None
    last_change: float = 0.0
    feed_lag: float = 0.0
    audio_end: float = 0.0
    notes: list[str] = field(default_factory=list)

    def record(self, t: float, committed: str, shown: str) -> None:
        if not self.snapshots or self.snapshots[-1][1:] != (committed, shown):
            self.snapshots.append((t, committed, shown))
            self.last_change = t

    @property
    def committed(self) -> str:
        return self.snapshots[-1][1] if self.snapshots else ""

    @property
    def shown(self) -> str:
        return self.snapshots[-1][2] if self.snapshots else ""


class ProcMonitor:
    """CPU seconds and peak RSS of a process tree, sampled in a thread (psutil)."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        import psutil

        self.root = psutil.Process(pid)
        self.interval = interval
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.peak_rss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _sample(self) -> None:
        import psutil

        try:
            procs = [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return
        rss = 0
        for p in procs:
            try:
                with p.oneshot():
                    cpu = p.cpu_times()
                    rss += p.memory_info().rss
            except psutil.Error:
                continue
            total = cpu.user + cpu.system
            self.first.setdefault(p.pid, total)
            self.last[p.pid] = total
        self.peak_rss = max(self.peak_rss, rss)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def start(self) -> None:
        self._sample()
        self._thread.start()

    def stop(self) -> None:
        self._sample()
        self._stop.set()
        self._thread.join(timeout=2)

    @property
    def cpu_seconds(self) -> float:
        return sum(self.last[pid] - self.first[pid] for pid in self.last)


# --------------------------------------------------------------------------------------------------
# Peer servers and their client protocols
# --------------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peer_env() -> dict[str, str]:
    """The peers' environment: two threads (they have no thread option), never a model hub."""
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    env.update(OMP_NUM_THREADS=str(THREADS), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               PYTHONUNBUFFERED="1")  # fmt: skip
    return env


class Peer:
    """A peer server: how to start it, connect, send audio, read its answers and end a stream."""

    spec: PeerSpec
    settings: str = ""

    def __init__(self, install: InstallInfo, model: Path) -> None:
        self.install = install
        self.model = model
        self.port = 0

    def command(self) -> list[str]:
        raise NotImplementedError

    def url(self) -> str:
        raise NotImplementedError

    async def open(self, http: Any, log_: StreamLog, index: int) -> Any:
        raise NotImplementedError

    async def send(self, ws: Any, pcm: np.ndarray) -> None:
        raise NotImplementedError

    def on_message(self, state: dict[str, Any], data: dict[str, Any], t: float, log_: StreamLog) -> None:
        raise NotImplementedError

    async def finish(self, ws: Any, state: dict[str, Any], log_: StreamLog, clock: Any) -> None:
        raise NotImplementedError


class WhisperLivePeer(Peer):
    """Collabora WhisperLive: ``TranscriptionServer().run(..., backend="faster_whisper")``."""

    spec = WHISPERLIVE
    settings = ("faster_whisper backend, single model, int8 (its CPU default), beam 5 (its default), "
                "its VAD on, OMP_NUM_THREADS=2, send_last_n_segments 10, same_output_threshold 10")  # fmt: skip
    _SERVER = (
        "import sys\n"
        "from whisper_live.server import TranscriptionServer\n"
        "TranscriptionServer().run('127.0.0.1', int(sys.argv[1]), backend='faster_whisper',\n"
        "    faster_whisper_custom_model_path=sys.argv[2], single_model=True, max_clients=8)\n"
    )

    def command(self) -> list[str]:
        return [str(self.install.python), "-c", self._SERVER, str(self.port), str(self.model)]

    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    async def open(self, http: Any, log_: StreamLog, index: int) -> Any:
        ws = await http.ws_connect(self.url(), max_msg_size=0, autoping=True)
        uid = f"greffier-bench-{index}-{time.time_ns()}"
        # The options its own Client sends (client.py, on_open), with its defaults.
        await ws.send_str(json.dumps({
            "uid": uid, "language": LANGUAGE, "task": "transcribe", "model": str(self.model),
            "use_vad": True, "send_last_n_segments": 10, "no_speech_thresh": 0.45,
            "clip_audio": False, "same_output_threshold": 10, "enable_translation": False,
            "target_language": "fr", "hotwords": None, "enable_diarization": False,
            "max_speakers": 10, "known_speakers": None, "word_timestamps": False,
            "initial_prompt": None, "vad_parameters": None,
        }))  # fmt: skip
        while True:  # the model loads on the first connection: SERVER_READY comes after it
            msg = await asyncio.wait_for(ws.receive_json(), timeout=SERVER_START_TIMEOUT)
            if msg.get("message") == "SERVER_READY":
                return ws
            if msg.get("status") in {"WAIT", "ERROR"}:
                raise RuntimeError(f"WhisperLive refused the connection: {msg}")

    async def send(self, ws: Any, pcm: np.ndarray) -> None:
        await ws.send_bytes(pcm.astype(np.float32).tobytes())

    def on_message(self, state: dict[str, Any], data: dict[str, Any], t: float, log_: StreamLog) -> None:
        if data.get("status") in {"ERROR", "WAIT"}:
            log_.error = str(data.get("message"))
            return
        segments = data.get("segments")
        if not segments:
            return
        transcript: list[dict[str, Any]] = state.setdefault("transcript", [])
        # As its Client.process_segments: keep each completed segment that starts after the last
        # kept one ends; the last segment, when not completed, is the one being spoken.
        for seg in segments:
            if seg.get("completed") and (
                not transcript or float(seg["start"]) >= float(transcript[-1]["end"])
            ):
                transcript.append(seg)
        last = segments[-1]
        state["partial"] = None if last.get("completed") else last
        committed = " ".join(s["text"].strip() for s in transcript)
        partial = state["partial"]
        shown = committed
        if partial is not None and (not transcript or partial["text"] != transcript[-1]["text"]):
            shown = f"{committed} {partial['text'].strip()}".strip()
        log_.record(t, committed, shown)

    async def finish(self, ws: Any, state: dict[str, Any], log_: StreamLog, clock: Any) -> None:
        # The server does not flush on END_OF_AUDIO: its client waits until the output stops
        # changing (15 s there), sends END_OF_AUDIO and keeps the last partial as final text.
        while True:
            now = clock()
            if now - max(log_.last_change, log_.audio_end) >= QUIET_SECONDS:
                break
            if now - log_.audio_end >= MAX_DRAIN_SECONDS:
                log_.notes.append("output still changing when we hung up")
                break
            await asyncio.sleep(0.2)
        await ws.send_bytes(b"END_OF_AUDIO")
        log_.final_text = log_.shown
        if state.get("partial") is not None:
            log_.notes.append("last segment never completed")


class WhisperLiveKitPeer(Peer):
    """WhisperLiveKit: ``whisperlivekit-server`` with LocalAgreement on faster-whisper, PCM input."""

    spec = WHISPERLIVEKIT
    settings = ("LocalAgreement, faster-whisper backend (compute type auto = int8_float32, beam 5, "
                "both hard-coded), VAC (Silero) on, min chunk 0.1 s, buffer trimming segment/15 s, "
                "--pcm-input, OMP_NUM_THREADS=2; its server never enables faster-whisper's own VAD filter"
                " (FasterWhisperASR.use_vad is not called), so every buffer the VAC passes is decoded")  # fmt: skip

    def command(self) -> list[str]:
        return [
            str(self.install.venv / "bin" / "whisperlivekit-server"),
            "--host", "127.0.0.1", "--port", str(self.port),
            "--backend", "faster-whisper", "--backend-policy", "localagreement",
            "--model_dir", str(self.model), "--lan", LANGUAGE, "--pcm-input",
            "--warmup-file", "",  # its default fetches a sample from the web; we warm up with a session
            "--log-level", "WARNING",
        ]  # fmt: skip

    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/asr"

    async def open(self, http: Any, log_: StreamLog, index: int) -> Any:
        ws = await http.ws_connect(self.url(), max_msg_size=0, autoping=True)
        msg = await asyncio.wait_for(ws.receive_json(), timeout=60)
        if msg.get("type") != "config":
            raise RuntimeError(f"WhisperLiveKit: unexpected first message {msg}")
        if not msg.get("useAudioWorklet"):
            raise RuntimeError("WhisperLiveKit server is not in --pcm-input mode")
        return ws

    async def send(self, ws: Any, pcm: np.ndarray) -> None:
        await ws.send_bytes((np.clip(pcm, -1.0, 1.0) * 32767.0).astype("<i2").tobytes())

    def on_message(self, state: dict[str, Any], data: dict[str, Any], t: float, log_: StreamLog) -> None:
        if data.get("type") == "ready_to_stop":
            state["done"].set()
            return
        if data.get("status") == "error" or data.get("type") == "error":
            log_.error = str(data.get("error"))
            return
        if "lines" not in data:
            return
        committed = " ".join(
            ln["text"].strip() for ln in data["lines"] if ln.get("speaker") != -2 and ln.get("text")
        )
        buffer = (data.get("buffer_transcription") or "").strip()
        log_.record(t, committed, f"{committed} {buffer}".strip())

    async def finish(self, ws: Any, state: dict[str, Any], log_: StreamLog, clock: Any) -> None:
        await ws.send_bytes(b"")  # an empty message: end of audio, the server flushes and stops
        try:
            await asyncio.wait_for(state["done"].wait(), timeout=MAX_DRAIN_SECONDS * 3)
        except TimeoutError:
            log_.notes.append("no ready_to_stop")
        log_.final_text = log_.shown
        if log_.committed != log_.shown:
            log_.notes.append("unconfirmed tail at the end")


PEER_CLASSES: dict[str, type[Peer]] = {"whisperlive": WhisperLivePeer, "whisperlivekit": WhisperLiveKitPeer}


async def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            await writer.wait_closed()
            return
        except OSError:
            await asyncio.sleep(0.5)
    raise RuntimeError(f"server not listening after {timeout:.0f} s")


async def _peer_streams(peer: Peer, audio: np.ndarray, n: int, paced: bool,
                        monitor: ProcMonitor | None) -> tuple[list[StreamLog], float]:  # fmt: skip
    """N connections fed the same audio at once; returns their logs and the wall time of the run."""
    import aiohttp

    loop = asyncio.get_running_loop()
    logs = [StreamLog() for _ in range(n)]
    states: list[dict[str, Any]] = [{"done": asyncio.Event()} for _ in range(n)]
    async with aiohttp.ClientSession() as http:
        sockets = [await peer.open(http, logs[i], i) for i in range(n)]
        t0 = loop.time() + 0.1

        def clock() -> float:
            return loop.time() - t0

        async def receive(i: int) -> None:
            async for msg in sockets[i]:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    peer.on_message(states[i], json.loads(msg.data), clock(), logs[i])
                elif msg.type in {aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSED}:
                    break

        async def feed(i: int) -> None:
            for k in range(0, len(audio), FRAME):
                if paced:
                    delay = t0 + (k + FRAME) / SAMPLE_RATE - loop.time()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    else:
                        logs[i].feed_lag = max(logs[i].feed_lag, -delay)
                await peer.send(sockets[i], audio[k : k + FRAME])
            logs[i].audio_end = clock()
            await peer.finish(sockets[i], states[i], logs[i], clock)

        if monitor is not None:
            monitor.start()
        receivers = [asyncio.create_task(receive(i)) for i in range(n)]
        started = loop.time()
        await asyncio.gather(*(feed(i) for i in range(n)))
        # Let the server close (WhisperLive does after END_OF_AUDIO), then close ourselves.
        _, pending = await asyncio.wait(receivers, timeout=10)
        wall = loop.time() - started
        if monitor is not None:
            monitor.stop()
        for ws in sockets:
            await ws.close()
        for task in pending:
            task.cancel()
        await asyncio.gather(*receivers, return_exceptions=True)
    return logs, wall


def warm_up_audio(clip: Clip, seconds: float = 3.0) -> np.ndarray:
    """The first seconds of speech of the clip (the call opens with 6.7 s of silence, which the
    peers' VAD would drop without ever running the model)."""
    start = int(min((s for s, _, _ in clip.utterances), default=0.0) * SAMPLE_RATE)
    return clip.audio[start : start + int(seconds * SAMPLE_RATE)]


def run_peer(peer: Peer, clip: Clip, n: int, workdir: Path) -> dict[str, Any]:
    """Start the server, warm it up with one short session, then N streams of the clip."""
    peer.port = free_port()
    log_path = workdir / f"{peer.spec.key}-{clip.name}-{n}.log"
    with open(log_path, "wb") as server_log:
        proc = subprocess.Popen(peer.command(), stdout=server_log, stderr=subprocess.STDOUT,
                                env=peer_env(), cwd=workdir)  # fmt: skip
    try:
        t_start = time.perf_counter()
        asyncio.run(_wait_port(peer.port, proc, SERVER_START_TIMEOUT))
        startup = time.perf_counter() - t_start
        # Warm-up: 3 s of speech through the protocol, so that the first decode's one-off costs
        # (WhisperLive loads its model on the first connection) fall outside the measured run.
        asyncio.run(_peer_streams(peer, warm_up_audio(clip), 1, paced=False, monitor=None))
        monitor = ProcMonitor(proc.pid)
        load0 = os.getloadavg()[0]
        logs, wall = asyncio.run(asyncio.wait_for(
            _peer_streams(peer, clip.audio, n, paced=True, monitor=monitor), timeout=RUN_TIMEOUT
        ))  # fmt: skip
        return {"logs": logs, "wall_s": wall, "cpu_s": monitor.cpu_seconds, "peak_rss": monitor.peak_rss,
                "load": (load0, os.getloadavg()[0]), "startup_s": startup}  # fmt: skip
    except Exception as exc:
        tail = log_path.read_text(errors="replace").strip().splitlines()[-3:] if log_path.exists() else []
        raise RuntimeError(
            f"{type(exc).__name__}: {exc}" + (f" (server log: {' | '.join(tail)})" if tail else "")
        ) from exc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --------------------------------------------------------------------------------------------------
# greffier, in a child process
# --------------------------------------------------------------------------------------------------
def greffier_settings() -> Any:
    from agent.asr.settings import AsrSettings

    return dataclasses.replace(AsrSettings.from_env(), model="base", language=LANGUAGE)


def greffier_child(npz: str, n: int) -> int:
    """Child side: load the engine, warm up, say ready, wait for the go, stream, print the events."""
    from agent.asr.engine import SpeechEngine

    data = np.load(npz)
    audio = data["audio"]
    settings = greffier_settings()
    engine = SpeechEngine(settings)
    decoder = engine.decoder
    decoder.decode(data["warm_up"], language=settings.language)  # as asr_bench: the first decode
    ready = {"workers": decoder.workers, "threads": settings.threads_per_worker(decoder.workers),
             "compute_type": decoder.compute_type, "device": decoder.device,
             "beam": settings.beam_size, "final_beam": settings.final_beam_size,
             "batch_size": engine.batch_size, "chunk_s": settings.chunk_seconds}  # fmt: skip
    print(READY_MARK + json.dumps(ready), flush=True)
    sys.stdin.readline()
    try:
        raw = asyncio.run(asr_bench._run_concurrency_async(engine, [audio] * n))
    finally:
        engine.close()
    streams = [
        [[t, ev.kind, ev.text, "".join(w.text for w in ev.words[: ev.stable_words])] for t, ev in received]
        for received in raw["received"]
    ]
    print(RESULT_MARK + json.dumps({"streams": streams, "feed_lag": raw["feed_lag"]}), flush=True)
    return 0


def _read_marked(proc: subprocess.Popen[str], mark: str) -> str:
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(mark):
            return line[len(mark) :]
    raise RuntimeError(f"greffier child exited (code {proc.wait()}) before {mark.strip()}")


def greffier_logs(events: list[list[Any]]) -> StreamLog:
    """Events -> what a caption client holds: finals, plus the interim's committed prefix / text."""
    out = StreamLog()
    finals: list[str] = []
    for t, kind, text, stable in events:
        done = " ".join(finals)
        if kind == "final":
            finals.append(text.strip())
            done = " ".join(finals)
            out.record(t, done, done)
        else:
            out.record(t, f"{done} {stable.strip()}".strip(), f"{done} {text.strip()}".strip())
    out.final_text = " ".join(finals)
    return out


def run_greffier(clip: Clip, n: int, workdir: Path) -> dict[str, Any]:
    npz = workdir / f"{clip.name}.npz"
    np.savez(npz, audio=clip.audio, warm_up=warm_up_audio(clip))
    err_path = workdir / f"greffier-{clip.name}-{n}.log"
    with open(err_path, "w") as err:
        proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--greffier-child", str(npz), "--streams", str(n)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True,
            env={**os.environ, "OMP_NUM_THREADS": str(THREADS)},
        )  # fmt: skip
    watchdog = threading.Timer(RUN_TIMEOUT + SERVER_START_TIMEOUT, proc.kill)
    watchdog.start()
    try:
        t_start = time.perf_counter()
        ready = json.loads(_read_marked(proc, READY_MARK))
        startup = time.perf_counter() - t_start
        monitor = ProcMonitor(proc.pid)
        load0 = os.getloadavg()[0]
        monitor.start()
        started = time.perf_counter()
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
        result = json.loads(_read_marked(proc, RESULT_MARK))
        wall = time.perf_counter() - started
        monitor.stop()
        proc.wait(timeout=60)
    except Exception as exc:
        tail = err_path.read_text(errors="replace").strip().splitlines()[-3:]
        raise RuntimeError(f"{exc} ({' | '.join(tail)})") from exc
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    logs = [greffier_logs(events) for events in result["streams"]]
    for lg, lag in zip(logs, result["feed_lag"], strict=True):
        lg.feed_lag = lag
    return {"logs": logs, "wall_s": wall, "cpu_s": monitor.cpu_seconds, "peak_rss": monitor.peak_rss,
            "load": (load0, os.getloadavg()[0]), "startup_s": startup, "engine": ready}  # fmt: skip


# --------------------------------------------------------------------------------------------------
# Scoring and reporting
# --------------------------------------------------------------------------------------------------
def score(raw: dict[str, Any], clip: Clip, ref: WordTimes, n: int) -> dict[str, Any]:
    """Latencies pooled over streams, mean WER, CPU per audio second, peak RSS."""
    shown_lat: list[float] = []
    committed_lat: list[float] = []
    wers = []
    notes: set[str] = set()
    for lg in raw["logs"]:
        shown = first_times(ref, [(t, s) for t, _, s in lg.snapshots], clip.language)
        committed = first_times(ref, [(t, c) for t, c, _ in lg.snapshots], clip.language)
        shown_lat += [t - e for t, e in zip(shown, ref.ends, strict=True) if t is not None]
        committed_lat += [t - e for t, e in zip(committed, ref.ends, strict=True) if t is not None]
        wers.append(wer(clip, lg.final_text))
        notes.update(lg.notes)
        if lg.error:
            notes.add(f"error: {lg.error}")
    lag = max(lg.feed_lag for lg in raw["logs"])
    if lag > 0.1:
        notes.add(f"audio feed fell up to {lag:.2f} s behind real time")
    audio_s = n * clip.duration
    return {
        "shown": summary(shown_lat),
        "committed": summary(committed_lat),
        "wer": float(np.mean(wers)),
        "wer_per_stream": wers,
        "ref_words": len(normalize_for_wer(clip.reference, clip.language).split()),
        "timed_words": len(ref.tokens) * n,
        "cpu_per_audio_s": raw["cpu_s"] / audio_s,
        "peak_rss_mib": raw["peak_rss"] / 2**20,
        "load": raw["load"],
        "wall_s": raw["wall_s"],
        "startup_s": raw["startup_s"],
        "notes": sorted(notes),
        "final_texts": [lg.final_text for lg in raw["logs"]],
        "latencies": {
            "shown": [round(x, 3) for x in shown_lat],
            "committed": [round(x, 3) for x in committed_lat],
        },
    }


def _pp(s: dict[str, Any]) -> str:
    if not s.get("n"):
        return "–"
    return f"{s['p50']:.2f} / {s['p95']:.2f} (n={s['n']})"


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| system | clip | streams | words first shown p50 / p95 s | committed p50 / p95 s"
        " | final WER % (ref words) | CPU s per audio s | peak RSS MiB | load 1 min start→end | notes |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        head = f"| {r['system']} | {r['clip']} | {r['streams']} |"
        if r.get("error"):
            lines.append(f"{head} could not run here: {r['error']} | | | | | | |")
            continue
        s = r["score"]
        lines.append(
            f"{head} {_pp(s['shown'])} | {_pp(s['committed'])} | {100 * s['wer']:.1f} ({s['ref_words']}) | "
            f"{s['cpu_per_audio_s']:.2f} | {s['peak_rss_mib']:.0f} | {s['load'][0]:.2f}→{s['load'][1]:.2f} | "
            f"{'; '.join(s['notes']) or ''} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the pyannote call only, 1 stream")
    parser.add_argument(
        "--streams", default="1,2", help="comma list of concurrent stream counts (default 1,2)"
    )
    parser.add_argument("--clips", default="call,read", help="call (pyannote), read (espeak-ng English)")
    parser.add_argument("--systems", default="greffier,whisperlive,whisperlivekit")
    parser.add_argument("--peers-dir", type=Path, default=None, help="default ~/.cache/greffier/peers")
    parser.add_argument("--no-install", action="store_true", help="do not install a missing peer")
    parser.add_argument("--out", type=Path, default=BENCH / "results", help="folder for peers-<date>.md")
    parser.add_argument("--json", type=Path, default=None, help="also write every number to this file")
    parser.add_argument("--greffier-child", metavar="NPZ", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    streams = [1] if args.quick else [int(s) for s in args.streams.split(",") if s.strip()]
    if args.greffier_child:
        return greffier_child(args.greffier_child, streams[0])
    clip_keys = ["call"] if args.quick else [c.strip() for c in args.clips.split(",") if c.strip()]
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = set(systems) - {"greffier", *PEER_CLASSES}
    if unknown:
        parser.error(f"unknown systems: {', '.join(sorted(unknown))}")

    from agent.asr.models import packaged_base_model

    model = packaged_base_model()
    started = time.perf_counter()
    load_start = os.getloadavg()
    log(f"load average {load_start}; model {model}")
    workdir = Path(tempfile.mkdtemp(prefix="peers-bench-"))
    peers_dir = args.peers_dir or default_peers_dir()
    installs = {key: ensure_peer(PEERS[key], peers_dir, install=not args.no_install)
                for key in systems if key in PEERS}  # fmt: skip

    clips: list[Clip] = []
    for key in clip_keys:
        if key == "call":
            clips.append(pyannote_clip())
        elif key == "read":
            try:
                clips.append(read_clip(workdir))
            except Exception as exc:  # espeak-ng missing
                log(f"read clip skipped: {exc}")
        else:
            parser.error(f"unknown clip {key!r}")
    refs = {}
    for clip in clips:
        log(f"{clip.name}: offline word times")
        refs[clip.name] = offline_word_times(model, clip)

    rows: list[dict[str, Any]] = []
    engine_info: dict[str, Any] = {}
    for system in systems:
        for clip in clips:
            for n in streams:
                label = "greffier" if system == "greffier" else PEERS[system].label
                row: dict[str, Any] = {
                    "system": label,
                    "clip": f"{clip.name} ({clip.duration:.0f} s)",
                    "streams": n,
                }
                rows.append(row)
                if system != "greffier" and installs[system].error:
                    row["error"] = installs[system].error
                    continue
                log(f"{label}: {clip.name}, {n} stream(s), load {os.getloadavg()[0]:.2f}")
                try:
                    if system == "greffier":
                        raw = run_greffier(clip, n, workdir)
                        engine_info = raw["engine"]
                    else:
                        raw = run_peer(PEER_CLASSES[system](installs[system], model), clip, n, workdir)
                except Exception as exc:
                    row["error"] = str(exc)[:400]
                    log(f"  failed: {row['error']}")
                    continue
                row["score"] = score(raw, clip, refs[clip.name], n)
                s = row["score"]
                log(f"  shown {_pp(s['shown'])}, committed {_pp(s['committed'])}, WER {100 * s['wer']:.1f} %,"
                    f" CPU {s['cpu_per_audio_s']:.2f} s/s, RSS {s['peak_rss_mib']:.0f} MiB")  # fmt: skip

    load_end = os.getloadavg()
    today = datetime.date.today().isoformat()
    notes = [
        f"## Streaming Whisper servers side by side ({today})",
        "",
        f"Machine: {platform.platform()}, {os.cpu_count()} cores; load average (1/5/15 min) "
        f"{load_start[0]:.2f}/{load_start[1]:.2f}/{load_start[2]:.2f} at start, "
        f"{load_end[0]:.2f}/{load_end[1]:.2f}/{load_end[2]:.2f} at end (the machine is shared: noisy;"
        " the load column includes the system under test, about 2 when it keeps both cores busy).",
        f"Model: the same CTranslate2 folder for all, `{model}` (multilingual Whisper base), language {LANGUAGE}.",
        "Audio: 20 ms frames at real-time pace; N streams = N connections fed the same clip at once.",
        "",
        table(rows),
        "",
        "- first shown / committed: client receive time minus the word's end (offline word times, text"
        " aligned after WER normalisation); pooled over streams; n = words matched.",
        "- CPU s per audio s: server process tree CPU from the first frame to the last answer, divided"
        " by N x clip length. Peak RSS: the server process tree (greffier: its engine process).",
    ]
    if engine_info:
        notes.append(
            f"- greffier: SpeechEngine / RecognizerStream, {engine_info['workers']} decode workers x"
            f" {engine_info['threads']} thread, {engine_info['compute_type']}, interim beam"
            f" {engine_info['beam']}, final beam {engine_info['final_beam']}, batch {engine_info['batch_size']},"
            f" chunk {engine_info['chunk_s']} s; end of stream: RecognizerStream.end()."
        )
    for key, info in installs.items():
        cls = PEER_CLASSES[key]
        cost = (
            ""
            if info.error
            else (f"; venv {info.size_mb / 1024:.1f} GB" if info.size_mb else "")
            + (f", installed in {info.seconds:.0f} s" if info.seconds else ", existing venv reused")
        )
        notes.append(f"- {cls.spec.label}: {cls.settings}{cost}.")
    notes.append(
        f"- WhisperLive does not flush at END_OF_AUDIO: like its own client we send it after"
        f" {QUIET_SECONDS:.0f} s without a change in the output and keep its last partial as final text."
    )
    notes.append(
        f"- Ran {time.perf_counter() - started:.0f} s: `{' '.join(['bench/peers_bench.py', *(argv or sys.argv[1:])])}`."
    )
    report = "\n".join(notes) + "\n"
    print(report)
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"peers-{today}.md"
    out.write_text(report, encoding="utf-8")
    log(f"wrote {out}")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "machine": {"load_start": load_start, "load_end": load_end},
                                         "installs": {k: dataclasses.asdict(v) for k, v in installs.items()},
                                         "references": {k: dataclasses.asdict(v) for k, v in refs.items()}},
                                        indent=1, default=str))  # fmt: skip
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
