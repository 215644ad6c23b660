"""Live captions on the real path: livekit-server, the worker, SDK participants speaking real audio."""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest

from agent.audio.decode import load_audio
from agent.demo.listener import CaptionReader
from agent.demo.player import Speaker
from agent.samples import pyannote_sample, word_error_rate
from tests.lk import dispatch, eventually, quiet, token

pytestmark = pytest.mark.e2e

AGENT = "greffier-cap"
AGENT_ID = f"{AGENT}-agent"


def speaker_track(audio: np.ndarray, utterances, speaker: str) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The call's audio with only ``speaker``'s turns kept (others silenced): one mic each."""
    out = np.zeros_like(audio)
    for u in utterances:
        if u.speaker == speaker:
            a, b = int(max(0, u.start - 0.1) * 16000), int((u.end + 0.1) * 16000)
            out[a:b] = audio[a:b]
    return out


@pytest.fixture
async def captioning_worker(start_worker):  # type: ignore[no-untyped-def]
    return start_worker(AGENT_NAME=AGENT, WHISPER_MODEL="tiny.en", ROOM_EMPTY_GRACE="2")


async def test_two_speakers_overlapping_get_their_own_captions(livekit_server, captioning_worker) -> None:
    sample = pyannote_sample()
    audio = load_audio(sample.wav)[int(6.0 * 16000) :]  # skip the leading silence
    shifted = [type(u)(u.speaker, u.start - 6.0, u.end - 6.0, u.text) for u in sample.utterances]
    url = livekit_server.url
    room = "two-speakers"
    reader = await CaptionReader.join(url, token(livekit_server, "reader", room))
    diane = await Speaker.join(url, token(livekit_server, "diane", room, name="Diane"))
    sheila = await Speaker.join(url, token(livekit_server, "sheila", room, name="Sheila"))
    await diane.publish()
    await sheila.publish()
    await dispatch(livekit_server, AGENT, room)
    captioning_worker.wait_for_log("captioning sheila", timeout=30)
    captioning_worker.wait_for_log("captioning diane", timeout=10)

    await asyncio.gather(
        diane.play(speaker_track(audio, shifted, "Diane"), tail_silence=2.0),
        sheila.play(speaker_track(audio, shifted, "Sheila"), tail_silence=2.0),
    )
    await eventually(
        lambda: len(reader.log.finals("sheila")) >= 2 and len(reader.log.finals("diane")) >= 2, 20
    )
    await quiet(reader)  # the last utterances' finals are still being decoded

    for identity, name in (("diane", "Diane"), ("sheila", "Sheila")):
        ref = " ".join(u.text for u in shifted if u.speaker == name)
        other = " ".join(u.text for u in shifted if u.speaker != name)
        hyp = reader.log.final_text(identity)
        wer = word_error_rate(ref, hyp)
        assert wer < 0.5, (identity, wer, hyp)
        # The words land on the right speaker: closer to their own lines than to the other's.
        assert wer < word_error_rate(other, hyp), (identity, hyp)

    # Interim updates precede the final of the same segment, and share its id.
    for caption in reader.log.finals():
        same = [c for c in reader.log.streams if c.segment_id == caption.segment_id]
        assert same[-1].final and same[-1] is caption, [(c.opened, c.final, c.text) for c in same]
        assert all(c.sender == caption.sender for c in same)
    assert sum(1 for c in reader.log.streams if not c.final) > len(reader.log.finals())
    track_ids = {c.sender: c.track_id for c in reader.log.finals()}
    assert track_ids["diane"] == diane.publication.sid and track_ids["sheila"] == sheila.publication.sid

    # The JSON topic carries the same finals with names and timed words; legacy packets too.
    finals = reader.log.json_finals("sheila")
    assert finals and finals[0]["v"] == 1 and finals[0]["speaker"]["name"] == "Sheila"
    assert finals[0]["words"] and finals[0]["start"] <= finals[0]["end"]
    assert {m["segment_id"] for m in reader.log.json_finals()} == {c.segment_id for c in reader.log.finals()}
    assert reader.log.legacy

    # Late joiners fetch the history by RPC.
    page = json.loads(await reader.rpc("greffier.captions.history", json.dumps({"since": 0}), AGENT_ID))
    assert page["total"] == len(reader.log.finals())
    assert [i["text"] for i in page["items"]] == [c.text for c in reader.log.finals()][: len(page["items"])]

    for p in (diane, sheila):
        await p.leave()
    await reader.leave()
