"""Emotion per turn: text, voice and a configurable speech-emotion model, fused into ``Emotion`` records."""
