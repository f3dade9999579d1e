"""The redaction stage: find entities in the transcript, mask the whole analysis, write the redacted audio.

It runs last, after scoring, so every check has seen the words as said ("the agent asked for the date of
birth" still passes), and nothing written afterwards — the store, alerts, reports, case clips — can see
a value: they are all written from the masked analysis.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from engine.audio import Recording
from engine.record import CallAnalysis, RedactedSpan, Redaction, Word
from engine.redact.audio import write_redacted_copy
from engine.redact.config import RedactConfig
from engine.redact.detect import Detector, Found
from engine.redact.mask import KnownValue, TextMasker, known_values, mask_strings, mask_words
from engine.redact.rules import load_rules
from engine.redact.tokens import Token, word_tokens


class Redactor:
    """The loaded rules; ``run`` redacts one call in place."""

    def __init__(self, config: RedactConfig) -> None:
        self.config = config
        self.rules = load_rules(config)
        self.detector = Detector(self.rules, config.names, config.max_digit_gap_s)

    def run(self, analysis: CallAnalysis, recording: Recording | None = None) -> Redaction:
        """Mask ``analysis`` (and, given the recording and ``audio.enabled``, write the redacted copy)."""
        words = analysis.transcript.words if analysis.transcript else []
        streams, owners = self._word_streams(analysis, words)
        found = self.detector.find(streams)
        masked: dict[int, str] = {}
        spans: list[RedactedSpan] = []
        known: list[KnownValue] = []
        for channel, entities in found.items():
            tokens = streams[channel]
            known += known_values(entities, tokens)
            for entity in entities:
                indices = sorted({owners[channel][i] for i in entity.tokens})
                for index in indices:
                    masked.setdefault(index, entity.tag)
                spans.append(_span(entity, [words[i] for i in indices]))
        mask_words(words, masked)
        mask_strings(analysis, TextMasker(self.detector, known, self.config.max_digit_gap_s))
        spans.sort(key=lambda s: (s.start, s.channel if s.channel is not None else -1))
        redaction = Redaction(counts=dict(sorted(Counter(s.entity for s in spans).items())), spans=spans)
        if recording is not None and self.config.audio.enabled:
            redaction.audio = str(write_redacted_copy(recording, spans, self.config.audio, analysis.call.call_id))
        analysis.redaction = redaction
        return redaction

    @staticmethod
    def _word_streams(analysis: CallAnalysis, words: list[Word]
                      ) -> tuple[dict[int | None, list[Token]], dict[int | None, list[int]]]:
        """Tokens per channel in time order, and for each token the word it came from."""
        speaker_roles = {decision.speaker: decision.role for decision in analysis.roles}
        channel_roles = {turn.channel: turn.role for turn in analysis.turns if turn.channel is not None}
        by_channel: dict[int | None, list[int]] = defaultdict(list)
        for index, word in enumerate(words):
            by_channel[word.channel].append(index)
        streams: dict[int | None, list[Token]] = {}
        owners: dict[int | None, list[int]] = {}
        for channel, indices in by_channel.items():
            indices.sort(key=lambda i: (words[i].start, i))
            roles = {i: speaker_roles.get(words[i].speaker or "", channel_roles.get(channel, "unknown"))
                     for i in indices}
            streams[channel] = word_tokens(words, indices, roles)
            owners[channel] = [token.unit for token in streams[channel]]
        return streams, owners


def _span(entity: Found, words: list[Word]) -> RedactedSpan:
    return RedactedSpan(entity=entity.entity, start=min(w.start for w in words), end=max(w.end for w in words),
                        channel=entity.channel)


def redaction_summary(redaction: Redaction | None) -> str:
    """One line for a person: what was masked, by type and count (never a value), and where the audio went."""
    if redaction is None:
        return "  redaction: off"
    counts = ", ".join(f"{name} ×{count}" for name, count in redaction.counts.items()) or "nothing found"
    return f"  redacted: {counts}" + (f"; audio copy {redaction.audio}" if redaction.audio else "")
