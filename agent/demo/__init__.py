"""A local LiveKit world for the demo, the tests and the benchmarks: a livekit-server on loopback,
simulated participants that speak recorded audio in real time, a caption reader, the caption page,
and a client applying Visio's display rule."""

from agent.demo.listener import CaptionLog, CaptionReader, StreamCaption
from agent.demo.livekit_server import LocalLiveKitServer, find_binary, free_port
from agent.demo.player import Speaker, participant_token
from agent.demo.visio import VisioView

__all__ = [
    "CaptionLog",
    "CaptionReader",
    "LocalLiveKitServer",
    "Speaker",
    "StreamCaption",
    "VisioView",
    "find_binary",
    "free_port",
    "participant_token",
]
