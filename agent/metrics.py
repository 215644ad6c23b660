"""Prometheus metrics, served by livekit-agents on ``PROMETHEUS_PORT`` (/metrics).

Jobs run as threads of the worker process (``JOB_EXECUTOR=thread``), so the default registry
sees every room. Names are prefixed ``greffier_``.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 10.0)

caption_latency = Histogram(
    "greffier_caption_latency_seconds",
    "Publish time minus the end of the caption's last word",
    ["kind"],
    buckets=LATENCY_BUCKETS,
)
captions_published = Counter("greffier_captions_total", "Captions published", ["kind"])
caption_updates_dropped = Counter(
    "greffier_caption_updates_dropped_total", "Interim updates dropped because the data channel lagged"
)
audio_gaps = Counter(
    "greffier_audio_gap_seconds_total", "Seconds of expected audio that never arrived (mute, loss)"
)
active_rooms = Gauge("greffier_active_rooms", "Rooms this worker is in")
active_streams = Gauge("greffier_active_streams", "Audio streams being recognised")
room_tasks = Gauge(
    "greffier_room_asyncio_tasks", "Tasks on the room's event loop, at its last heartbeat (leak check)"
)
worker_load = Gauge("greffier_worker_load", "Load reported to LiveKit's dispatcher (0..1)")
decode_seconds = Histogram(
    "greffier_decode_seconds",
    "Wall time of one Whisper call (a batch counts once)",
    ["kind"],  # interim | final
    buckets=(0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2),
)
decode_batch_size = Histogram(
    "greffier_decode_batch_size",
    "Streams' decodes served by one Whisper call (1 unless ASR_BATCH_SIZE batches them)",
    buckets=(1, 2, 4, 8, 16, 32, 64),
)
real_time_factor = Gauge("greffier_asr_real_time_factor", "Decode seconds per second of audio decoded")
shed_finals = Counter(
    "greffier_asr_shed_finals_total",
    "Finals made cheaper because other decodes were waiting",
    ["how"],  # greedy: decoded with beam 1; interim: the last interim's words, no decode
)
prompt_echoes = Counter(
    "greffier_asr_prompt_echoes_total",
    "Finals decoded again without their prompt because they repeated it or looped",
)
context_fallbacks = Counter(
    "greffier_asr_context_fallbacks_total",
    "Finals decoded again without left context because the decode did not match the context's text",
)
queue_depth = Gauge("greffier_scheduler_queue_depth", "Decode requests waiting for the decoder")
minutes_results = Counter("greffier_minutes_deliveries_total", "Minutes deliveries", ["channel", "result"])
llm_latency = Histogram(
    "greffier_llm_request_seconds",
    "Chat-completion call duration",
    buckets=(0.5, 1, 2, 5, 10, 20, 40, 80, 160),
)

# Live caption translation (agent.translate).
translations = Counter(
    "greffier_translations_total", "Caption translations by outcome", ["outcome"]
)  # outcome: published | failed
translations_skipped = Counter(
    "greffier_translations_skipped_total",
    "Caption translations not done, by reason (queue_full: oldest dropped; load: fewer languages)",
    ["reason"],
)
translations_merged = Counter(
    "greffier_translations_merged_total",
    "Finals translated together with others in one call, catching up (TRANSLATE_CATCH_UP)",
)
translation_latency = Histogram(
    "greffier_translation_latency_seconds",
    "Seconds from the original final's publication to its translation's",
    buckets=(0.25, 0.5, 1, 1.5, 2, 2.5, 3, 5, 8, 13, 20),
)
