"""A meeting-room microphone with two voices, in a real room: the minutes name both speakers
after the participant ("Salle Jaurès (A)", "(B)") and the kept audio is deleted afterwards."""

from __future__ import annotations

import pytest

from agent.audio.decode import load_audio
from agent.demo.player import Speaker
from agent.samples import pyannote_sample
from tests.lk import dispatch, eventually, token

pytestmark = pytest.mark.e2e

AGENT = "greffier-dia"


async def test_shared_microphone_gets_speaker_labels_in_the_minutes(
    livekit_server, start_worker, tmp_path
) -> None:
    data = tmp_path / "data"
    worker = start_worker(
        AGENT_NAME=AGENT,
        WHISPER_MODEL="tiny.en",
        ROOM_EMPTY_GRACE="1",
        DATA_DIR=str(data),
        DIARIZATION="auto",
    )
    room = "salle-jaures"
    salle = await Speaker.join(
        livekit_server.url, token(livekit_server, "salle-1", room, name="Salle Jaurès")
    )
    await salle.publish()
    await dispatch(livekit_server, AGENT, room)
    worker.wait_for_log("captioning salle-1", timeout=30)
    call = load_audio(pyannote_sample().wav)[int(6.0 * 16000) :]  # two people on one phone line
    await salle.play(call, tail_silence=1.5)
    await salle.leave()

    await eventually(lambda: list(data.glob("minutes/*/transcript.md")), timeout=120)
    transcript = next(data.glob("minutes/*/transcript.md")).read_text()
    # On failure, say why: what the room-end diarization decided, and any warning on the way.
    why = [
        line
        for line in worker.output().splitlines()
        if "diariz" in line or '"WARNING"' in line or '"ERROR"' in line
    ]
    assert "Salle Jaurès (A)" in transcript and "Salle Jaurès (B)" in transcript, (transcript, why)
    # Privacy by default: the kept audio is gone once the minutes are out.
    await eventually(lambda: not list(data.glob("audio/*/*.ogg")), timeout=30)
    assert "Traceback" not in worker.output()
