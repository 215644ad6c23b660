"""Streaming speech recognition: audio frames in, interim and final text out."""
