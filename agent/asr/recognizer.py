"""The streaming policy for one audio stream (no threads, no clock of its own).

Audio goes in with ``push``; ``due`` says whether a decode should run; ``make_job`` snapshots the
buffer; a decoder turns the job into a ``Hypothesis`` (possibly on another thread, possibly
batched with other streams); ``apply`` turns it into interim/final events. Time is always the
stream's audio clock, passed in by the caller, so the same code runs live, in the scheduler and in
the faster-than-real-time simulation of ``transcribe --stream``.

Policy (after whisper_streaming's LocalAgreement-2): every ``chunk_seconds`` of new speech the
buffer since the last cut is re-decoded, conditioned on committed text; the longest prefix on
which two consecutive hypotheses agree is committed. The end of speech (VAD) decodes once more and
that decode, which heard the whole utterance, is the segment's final (``ASR_FINAL_POLICY``: ``keep``
only adds words after the agreed ones, ``merge`` settles each differing stretch by confidence).
A buffer longer than ``max_buffer_seconds`` is cut at the last committed sentence end (or, failing
that, the last committed word), which closes the current segment with a final, so memory and
decode cost stay bounded in a monologue.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import deque
from typing import Literal

import numpy as np

from agent.asr.agreement import (
    SENTENCE_END,
    common_prefix,
    drop_overlap,
    join_words,
    merge_by_confidence,
    norm,
    past_committed,
    strip_repetitions,
    trim_tail,
)
from agent.asr.contracts import DecodeJob, Hypothesis, to_float32
from agent.asr.events import TranscriptEvent, Word
from agent.asr.language import LanguageVote
from agent.asr.settings import AsrSettings
from agent.asr.vad import SileroModel, VadStream
from agent.timebase import SAMPLE_RATE

MIN_DECODE_SECONDS = 0.4
MIN_FINAL_SECONDS = 0.25
PROMPT_CHARS = 120
MAX_DECODE_SAMPLES = 28 * SAMPLE_RATE  # a final's left context never pushes it past one window


class StreamingRecognizer:
    def __init__(
        self,
        vad_model: SileroModel,
        settings: AsrSettings,
        *,
        stream_id: str = "s",
        language: str | None = None,
    ) -> None:
        self.settings = settings
        self.stream_id = stream_id
        self.vad = VadStream(
            vad_model,
            threshold=settings.vad_threshold,
            min_silence_ms=settings.vad_min_silence_ms,
        )
        self.languages = LanguageVote(language or settings.language, settings.languages)
        self.chunk_seconds = settings.chunk_seconds  # may be raised under load
        self._lock = threading.Lock()
        self.position = 0  # samples received
        # Audio since _buf_start, in a growable array: appending a 20 ms frame must not copy
        # the whole (up to 15 s) buffer, as np.concatenate would on every frame.
        self._store = np.zeros(4 * SAMPLE_RATE, dtype=np.float32)
        self._len = 0
        self._buf_start = 0
        self._speaking = False
        self._pending_end: int | None = None
        self._voice_end = 0
        # Utterances the VAD opened (and maybe closed) while an earlier one's final was still
        # being decoded: [start, end or None, voice end]. Their audio stays in the buffer.
        self._queued: deque[list[int | None]] = deque()
        self._last_decode_end = 0
        self._segment_index = 0
        self._committed: list[Word] = []
        self._prev_uncommitted: list[Word] = []
        self._tentative: list[Word] = []
        self._committed_end = 0.0
        self._floor = 0.0  # end of the last final: nothing before it belongs to a new segment
        self._seen: list[tuple[str, float]] = []
        # Only the last final conditions the next decode: longer prompts of imperfect text
        # made the decoder loop on them in our measurements.
        self._history: deque[str] = deque(maxlen=1)
        self._last_interim = ""
        self._preroll = int(0.5 * SAMPLE_RATE)
        # Early final: once a silence is ``pad`` long, the final job the VAD's end will ask for is
        # known exactly (same audio, same end). It is decoded during the rest of the silence and
        # used if the end is confirmed at that sample; speech resuming makes it moot.
        self._early: tuple[DecodeJob, Hypothesis] | None = None
        self._early_tried: int | None = None  # end sample already decoded early
        self._heard_to = 0  # end sample of the last interim applied in this utterance
        # The audio of this stream's latest finals (speech only), the left context of the next
        # final decode when ``final_context_seconds`` is set.
        self._context: deque[tuple[np.ndarray, str]] = deque()  # (speech, its final's text)
        self._context_len = 0

    # -- audio in --------------------------------------------------------------------------------
    def push(self, samples: np.ndarray) -> None:
        """Feed 16 kHz mono PCM (int16 or float32)."""
        audio = to_float32(samples).reshape(-1)
        if audio.size == 0:
            return
        with self._lock:
            self._append(audio)
            self.position += audio.size
            for event in self.vad.process(audio):
                if event.kind == "start":
                    if self._pending_end is not None:
                        self._queued.append([event.sample, None, None])
                    else:
                        self._cut_buffer(max(event.sample, self._buf_start))
                        self._last_decode_end = self._buf_start
                    self._speaking = True
                else:
                    self._speaking = False
                    self._end_utterance(event.sample, event.sample - self.vad.pad)
            if not self._speaking and self._pending_end is None:
                # Keep only a short pre-roll while silent: silence costs no compute nor memory.
                keep_from = max(self._buf_start, self.position - self._preroll)
                self._cut_buffer(keep_from)

    def end_of_stream(self) -> None:
        """The speaker left or the track ended: finalise what was being said."""
        with self._lock:
            for event in self.vad.flush():
                self._speaking = False
                self._end_utterance(event.sample, event.sample)
            if self._pending_end is None and (self._committed or self._tentative):
                self._pending_end = self._voice_end = self.position

    def _end_utterance(self, end: int, voice_end: int) -> None:
        if self._queued:
            # It ends the utterance that began while the previous final was decoding.
            self._queued[-1][1:] = [end, voice_end]
        elif self._pending_end is not None:
            self._pending_end = max(self._pending_end, end)  # VAD ends come after a start
        else:
            self._pending_end = end
            self._voice_end = max(self._buf_start, voice_end)

    @property
    def speaking(self) -> bool:
        return self._speaking

    @property
    def buffered_seconds(self) -> float:
        return self._len / SAMPLE_RATE

    # -- scheduling ------------------------------------------------------------------------------
    def due(self) -> Literal["interim", "final"] | None:
        with self._lock:
            if self._pending_end is not None:
                return "final"
            if not self._speaking:
                return None
            if self._early_end() is not None:
                return "final"
            new_audio = self.position - self._last_decode_end
            if new_audio < self.chunk_seconds * SAMPLE_RATE and not self._pause_interim():
                return None
            if self.position - self._buf_start < MIN_DECODE_SECONDS * SAMPLE_RATE:
                return None
            return "interim"

    def _pause_interim(self) -> bool:
        """Under back-pressure there is no early final and interims are far apart, so the last
        words of an utterance would wait for its final. A pause (the VAD's tentative end) calls
        for an interim at once instead: it shows them, and if the end is confirmed it becomes the
        final (``_heard_whole``) with no decode of its own."""
        end = self.vad.tentative_end
        return self.under_pressure and end is not None and self._last_decode_end < end <= self.position

    def _early_end(self) -> int | None:
        """The end sample of an early final due now, if any."""
        end = self.vad.tentative_end
        if (
            end is None
            or self._pending_end is not None
            or self._queued
            or end == self._early_tried
            or end > self.position
            or end - self._buf_start < MIN_FINAL_SECONDS * SAMPLE_RATE
            # Under back-pressure a decode that may be wasted is one too many.
            or self.under_pressure
        ):
            return None
        return end

    @property
    def under_pressure(self) -> bool:
        """The engine raised the chunk: decodes take longer than the audio they wait for."""
        return self.chunk_seconds > self.settings.chunk_seconds

    def make_job(self) -> DecodeJob | None:
        with self._lock:
            kind: Literal["interim", "final"] = "final"
            early_end = self._early_end() if self._speaking else None
            if early_end is not None:
                # Exactly the job the VAD's end at this sample will ask for.
                self._early_tried = end = early_end
                voice_end = max(self._buf_start, end - self.vad.pad)
            elif self._pending_end is not None:
                end = max(self._buf_start, min(self._pending_end, self.position))
                voice_end = self._voice_end
            elif self._speaking:
                kind, end = "interim", self.position
                voice_end = end
            else:
                return None
            audio = self._buf[: end - self._buf_start]
            context, context_text = self._left_context(audio.size) if kind == "final" else (None, "")
            return DecodeJob(
                kind=kind,
                audio=audio.copy() if context is None else np.concatenate([context, audio]),
                start_sample=self._buf_start,
                end_sample=end,
                # The context's own text would be a prompt of words the decoder hears again.
                prompt=self._prompt() if context is None else "",
                language=self.languages.for_decode(
                    final=kind == "final", seconds=(end - self._buf_start) / SAMPLE_RATE
                ),
                voice_end=min(end, voice_end),
                early=early_end is not None,
                loaded=self.under_pressure,
                context_samples=0 if context is None else context.size,
                context_text=context_text,
                plain_prompt=self._prompt() if context_text else "",
            )

    def _left_context(self, own: int) -> tuple[np.ndarray | None, str]:
        """The audio to decode before a final of ``own`` samples, and its text when told apart
        by text ("" otherwise); context and utterance fit in one Whisper window (whole finals
        or none by text, the latest audio by time)."""
        if not self._context:
            return None, ""
        pieces = [a for a, _ in self._context]
        audio = pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
        by_text = self.settings.final_context_align == "text"
        room = MAX_DECODE_SAMPLES - own
        if audio.size > room:
            if by_text or room <= 0:
                return None, ""
            audio = audio[audio.size - room :]
        return audio, " ".join(t for _, t in self._context) if by_text else ""

    def _keep_context(self, start: float, end: float, text: str) -> None:
        """Keep the speech between ``start`` and ``end`` (stream seconds, still in the buffer),
        whose final said ``text``, as left context for later finals, the oldest dropped past
        ``final_context_seconds``: whole finals when told apart by text (cut audio would no
        longer match its text; the latest is kept up to twice the limit), else cut at it."""
        limit = int(self.settings.final_context_seconds * SAMPLE_RATE)
        if limit <= 0:
            return
        a = max(0, int(start * SAMPLE_RATE) - self._buf_start)
        b = min(self._len, int(end * SAMPLE_RATE) - self._buf_start)
        if b <= a:
            return
        self._context.append((self._buf[a:b].copy(), text.strip()))
        self._context_len += b - a
        whole = self.settings.final_context_align == "text"
        while self._context_len > limit and not (
            whole and len(self._context) == 1 and self._context_len <= 2 * limit
        ):
            head, head_text = self._context[0]
            excess = self._context_len - limit
            if head.size <= excess or whole:
                self._context.popleft()
                self._context_len -= head.size
            else:
                self._context[0] = (head[excess:], head_text)
                self._context_len -= excess

    def _prompt(self) -> str:
        # Only text whose audio is no longer in the buffer: prompting with words the decoder is
        # about to hear again makes it repeat them.
        return " ".join(self._history)[-PROMPT_CHARS:]

    # -- hypotheses in, events out -----------------------------------------------------------------
    def apply(self, job: DecodeJob, hyp: Hypothesis | None, now: float) -> list[TranscriptEvent]:
        """Merge a decode result; ``hyp`` None means the job was skipped (too short)."""
        with self._lock:
            if job.early:
                if hyp is not None:
                    self._early = (job, hyp)
                return []
            reused: list[Word] | None = None
            if hyp is None and job.kind == "final":
                hyp = self._early_result(job)
                if hyp is None and self._heard_whole(job):
                    reused = self._final_tail([*self._committed, *self._tentative], job)
            # Language evidence is the audio this decode heard for the first time: re-decoding
            # the same buffer must not count it again.
            fresh_audio = max(0, job.end_sample - max(self._last_decode_end, job.start_sample))
            if job.kind == "final" and job.language is None:
                # Interims were forced to the best guess: this detection is the first over the
                # whole utterance.
                fresh_audio = job.end_sample - job.start_sample
            self._last_decode_end = max(self._last_decode_end, job.end_sample)
            words = self._clean(job, hyp) if hyp is not None else reused or []
            if hyp is not None:
                self.languages.add(hyp.language_probs, fresh_audio / SAMPLE_RATE)
            fresh = drop_overlap(self._committed, words, self._committed_end)
            events: list[TranscriptEvent] = []
            if job.kind == "final":
                whole = [w for w in words if w.start >= self._floor - 0.05]
                if whole and self.settings.final_policy == "merge" and self._committed:
                    tail = past_committed(self._committed, whole, self._committed_end)
                    head = whole[: len(whole) - len(tail)]
                    whole = [*merge_by_confidence(self._committed, head), *tail]
                if whole and self.settings.final_policy in ("redecode", "merge"):
                    # The final decode heard the whole segment (committed words are always
                    # inside the buffer): it settles the text, replacing what agreement committed.
                    earlier, self._committed = self._committed, []
                    self._commit(whole, now)
                    # Words the final kept as they were stay committed from when they were.
                    for i, (old, new) in enumerate(zip(earlier, self._committed, strict=False)):
                        if norm(old.text) == norm(new.text):
                            self._committed[i] = dataclasses.replace(
                                new, committed_at=old.committed_at, first_seen=old.first_seen
                            )
                elif whole:
                    # keep: committed words stay (two decodes agreed on them; a beam-5 final
                    # sometimes mishears them, "whisky" -> "ski"); the final adds what follows.
                    self._commit(past_committed(self._committed, whole, self._committed_end), now)
                else:
                    # The final decode found nothing where the interims heard words (a guard
                    # dropped a derailed decode, such as one echoing its prompt): keep what the
                    # viewers saw rather than lose the utterance.
                    self._commit(fresh or self._final_tail(self._tentative, job), now)
                events += self._close_segment(now, len(self._committed))
                if events:
                    self._keep_context(
                        events[-1].start - 0.1,
                        min(events[-1].end + 0.2, job.end_sample / SAMPLE_RATE),
                        events[-1].text,
                    )
                self._after_final(job)
                return events
            self._heard_to = max(self._heard_to, job.end_sample)
            agreed = common_prefix(self._prev_uncommitted, fresh)
            self._commit(fresh[:agreed], now)
            self._prev_uncommitted = fresh[agreed:]
            self._tentative = fresh[agreed:]
            events += self._trim_if_long(job, words, now)
            interim = self._interim(now)
            if interim is not None:
                events.append(interim)
            return events

    def _clean(self, job: DecodeJob, hyp: Hypothesis) -> list[Word]:
        # Hallucination guards: a confident "no speech" with a poor transcript is silence/noise.
        if hyp.no_speech_prob > 0.6 and hyp.avg_logprob < -1.0:
            return []
        if hyp.avg_logprob < -1.5:
            return []
        begin = job.start_sample / SAMPLE_RATE
        offset = begin - job.context_samples / SAMPLE_RATE
        limit = job.end_sample / SAMPLE_RATE
        words: list[Word] = []
        for w in hyp.words:
            start, end = w.start + offset, min(w.end + offset, limit)
            if start >= limit - 0.02 or not w.text.strip():
                continue  # nothing beyond the audio we gave
            if job.context_samples:
                if (start + end) / 2 < begin:
                    continue  # heard in the left context: an earlier final's word
                start = max(start, begin)
            if not norm(w.text):
                if words:  # stray punctuation belongs to the word before
                    words[-1] = dataclasses.replace(words[-1], text=words[-1].text + w.text.strip())
                continue
            words.append(dataclasses.replace(w, start=start, end=max(end, start)))
        return self._final_tail(strip_repetitions(words), job)

    @staticmethod
    def _final_tail(words: list[Word], job: DecodeJob) -> list[Word]:
        """Drop what Whisper invents in the silence after the voice: unsure words there ("Thank
        you." and the like) and, for a final, the tail ``trim_tail`` cleans."""
        voice_end = job.voice_end / SAMPLE_RATE
        words = [w for w in words if w.start <= voice_end + 0.15 or w.probability >= 0.7]
        return trim_tail(words, voice_end) if job.kind == "final" else words

    def _commit(self, words: list[Word], now: float) -> None:
        base = len(self._committed)
        for i, w in enumerate(words):
            known = self._seen[base + i] if base + i < len(self._seen) else None
            seen = known[1] if known is not None and known[0] == norm(w.text) else now
            self._committed.append(dataclasses.replace(w, first_seen=seen, committed_at=now))
        if words:
            self._committed_end = max(self._committed_end, words[-1].end)
            self._seen[base : base + len(words)] = [
                (norm(w.text), w.first_seen or now) for w in self._committed[base:]
            ]

    def _segment_id(self) -> str:
        return f"{self.stream_id}-{self._segment_index}"

    def _current_language(self) -> str:
        return self.languages.current

    @property
    def language(self) -> str | None:
        return self.languages.language

    def set_language(self, language: str) -> None:
        """The participant told us their language: it wins over detection from now on."""
        with self._lock:
            self.languages.fixed = language

    def _interim(self, now: float) -> TranscriptEvent | None:
        words = [*self._committed, *self._tentative]
        if not words:
            return None
        # first_seen bookkeeping, index by index within the segment.
        seen = self._seen[: len(words)]
        for i, w in enumerate(words):
            key = norm(w.text)
            if i >= len(seen):
                seen.append((key, now))
            elif seen[i][0] != key:
                seen[i] = (key, now)
        self._seen = seen
        text = join_words(words)
        if text == self._last_interim:
            return None
        self._last_interim = text
        out_words = tuple(
            w if w.first_seen is not None else dataclasses.replace(w, first_seen=seen[i][1])
            for i, w in enumerate(words)
        )
        return TranscriptEvent(
            kind="interim",
            segment_id=self._segment_id(),
            text=text,
            language=self._current_language(),
            start=words[0].start,
            end=words[-1].end,
            words=out_words,
            confidence=float(np.mean([w.probability for w in words])),
            emitted_at=now,
            stable_words=len(self._committed),
        )

    def _close_segment(self, now: float, count: int) -> list[TranscriptEvent]:
        """Emit the first ``count`` committed words as the segment's final; keep the rest."""
        words, rest = self._committed[:count], self._committed[count:]
        events: list[TranscriptEvent] = []
        if words:
            text = join_words(words)
            events.append(
                TranscriptEvent(
                    kind="final",
                    segment_id=self._segment_id(),
                    text=text,
                    language=self._current_language(),
                    start=words[0].start,
                    end=words[-1].end,
                    words=tuple(words),
                    confidence=float(np.mean([w.probability for w in words])),
                    emitted_at=now,
                    stable_words=len(words),
                )
            )
            self._history.append(text)
            self._segment_index += 1
        if words:
            self._floor = max(self._floor, words[-1].end)
        self._committed = rest
        self._seen = self._seen[count:]
        self._last_interim = ""
        return events

    def _trim_if_long(self, job: DecodeJob, words: list[Word], now: float) -> list[TranscriptEvent]:
        """Close the segment at a sentence end once the buffer is long enough.

        Punctuation is read from the latest hypothesis (a word committed earlier may have been
        committed before its full stop appeared), restricted to audio already committed.
        """
        buffered = (job.end_sample - self._buf_start) / SAMPLE_RATE
        if buffered <= self.settings.trim_seconds or not self._committed:
            return []
        cut_time = 0.0
        for w in words:
            if w.end <= self._committed_end + 0.05 and w.text.rstrip().endswith(SENTENCE_END):
                cut_time = w.end
        if cut_time == 0.0 and buffered > self.settings.max_buffer_seconds:
            cut_time = self._committed_end
        if cut_time == 0.0:
            return []
        count = sum(1 for w in self._committed if w.end <= cut_time + 0.05)
        if count == 0:
            return []
        events = self._close_segment(now, count)
        if events:
            self._keep_context(events[-1].start - 0.1, cut_time, events[-1].text)
        self._cut_buffer(int(cut_time * SAMPLE_RATE))
        return events

    def _after_final(self, job: DecodeJob) -> None:
        self._early = None
        self._heard_to = 0
        self._tentative = []
        self._prev_uncommitted = []
        self._committed = []
        self._seen = []
        self._committed_end = job.end_sample / SAMPLE_RATE
        self._floor = max(self._floor, self._committed_end)
        self._pending_end = None
        if self._queued:
            start, end, voice_end = self._queued.popleft()
            assert start is not None
            self._cut_buffer(max(start, job.end_sample))
            if end is not None and voice_end is not None:
                # It ended too: its final is due at once.
                self._pending_end = max(end, self._buf_start)
                self._voice_end = max(self._buf_start, voice_end)
        else:
            self._cut_buffer(min(self.position, max(job.end_sample, self.position - self._preroll)))
        self._last_decode_end = self._buf_start

    @property
    def _buf(self) -> np.ndarray:
        return self._store[: self._len]

    def _append(self, audio: np.ndarray) -> None:
        if self._len + audio.size > self._store.size:
            grown = np.zeros(max(2 * self._store.size, self._len + audio.size), dtype=np.float32)
            grown[: self._len] = self._store[: self._len]
            self._store = grown
        self._store[self._len : self._len + audio.size] = audio
        self._len += audio.size

    def _cut_buffer(self, new_start: int) -> None:
        new_start = min(max(new_start, self._buf_start), self._buf_start + self._len)
        drop = new_start - self._buf_start
        if drop:
            self._store[: self._len - drop] = self._store[drop : self._len]
            self._len -= drop
        self._buf_start = new_start

    def skip_final(self, job: DecodeJob) -> Literal["early", "interim", "short"] | None:
        """Why this final needs no decode, if it does not (``apply`` then does without one):
        decoded early over exactly this audio; under back-pressure, the last interim already
        heard the whole utterance; or too little audio (a click, a cough)."""
        if job.kind != "final" or job.early:
            return None
        if self._early_result(job) is not None:
            return "early"
        if self._heard_whole(job):
            return "interim"
        if (
            not self._committed
            and not self._tentative
            and (job.end_sample - job.start_sample) < MIN_FINAL_SECONDS * SAMPLE_RATE
        ):
            return "short"
        return None

    def _heard_whole(self, job: DecodeJob) -> bool:
        """Load shedding: the last interim was decoded after the voice stopped, so it heard the
        whole utterance. Under back-pressure its words become the final (greedy, not re-decoded
        with the wide beam): the decode it saves is the most expensive one a stream asks for."""
        return (
            self.under_pressure
            and bool(self._committed or self._tentative)
            and self._heard_to >= job.voice_end
        )

    def _early_result(self, job: DecodeJob) -> Hypothesis | None:
        if self._early is None:
            return None
        early, hyp = self._early
        same = (
            early.start_sample == job.start_sample
            and early.end_sample == job.end_sample
            and early.prompt == job.prompt
            and early.language == job.language
        )
        return hyp if same else None
