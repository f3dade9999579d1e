"""Audio intake: decode any call recording to 16 kHz float per channel, validated."""

from engine.audio.decode import Recording, load_recording

__all__ = ["Recording", "load_recording"]
