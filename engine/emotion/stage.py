"""The emotion stage: every turn's fused emotion, per-role trajectories, escalation events, agent baselines.

``EmotionAnalyzer`` holds the models (text classifier, voice head and its encoder, the optional SER
slot) and is created once per ``Engine`` (or Ray actor); ``run`` analyses one call. The voice head is
chosen by the call's language (``voice_for``) and loaded on first use: English calls get the English
head (tiny.en's inner encoder layers), others the multilingual one (base's). The expensive part is the
voice encoder. It encodes each turn on its own, unpadded, because that is how the head was fitted:
Whisper's encoder output depends on where speech sits in its 30 s window, and a turn pooled out of a
whole-channel pass correlated only 0.4-0.6 with the same turn encoded alone. All turns' texts go to
the text classifier in one call.

Whose voice is "normal": customers are judged against their own turns in this call, which the voice
head shrinks toward the population of the call's language when there are few of them (and ignores
below its ``min_baseline``); the agent, when the call's metadata names them (``agent_id``) and a
baseline store is configured, against the baseline of their earlier calls, so that even their first
turns are judged against their usual voice. After the call the agent's calm turns are merged into it.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.config import RuntimeConfig
from engine.emotion.baselines import AgentBaselineStore, layout_of
from engine.emotion.calibration import relative_to_speakers
from engine.emotion.config import EmotionConfig
from engine.emotion.escalation import KINDS, emotion_events
from engine.emotion.fusion import SerSignal, TextSignal, VoiceSignal, fuse
from engine.emotion.trajectory import trajectories
from engine.emotion.voice.encoder import span_audio
from engine.record import CallAnalysis, Emotion, StageTiming, Turn
from engine.runtime import resolve_device

if TYPE_CHECKING:
    from engine.audio import Recording
    from engine.emotion.voice import SpeakerBaseline, VoicePrediction

SAMPLE_RATE = 16000


def word_count(turn: Turn, language: str) -> int:
    """Words in a turn: ASR tokens when known, else whitespace words (Mandarin: about two characters a word)."""
    if turn.word_indices:
        return len(turn.word_indices)
    if language.startswith("zh"):
        return (sum(1 for c in turn.text if c.isalnum()) + 1) // 2
    return len(turn.text.split())


@contextmanager
def _timed(analysis: CallAnalysis, step: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        analysis.timings.append(StageTiming(stage=f"emotion.{step}", seconds=round(time.perf_counter() - started, 4)))


def _source(turn: Turn, recording: Recording) -> int | None:
    """The recording channel a turn was spoken on, or None (a mono mix) when the turn names none it has."""
    return turn.channel if turn.channel is not None and turn.channel in recording.channel_ids else None


def _audio(recording: Recording, source: int | None) -> np.ndarray:
    return recording.channel(source) if source is not None else recording.mono()


class EmotionAnalyzer:
    """The emotion models, loaded once; ``run`` fills a call's emotions, trajectories and events.

    Give ``whisper`` (a loaded ``faster_whisper.WhisperModel`` of the voice head's encoder, e.g. the ASR
    stage's multilingual model) to share it instead of loading a second copy.
    """

    def __init__(self, config: EmotionConfig, runtime: RuntimeConfig, whisper: object | None = None) -> None:
        from engine.emotion.ser_slot import SpeechEmotionSlot
        from engine.emotion.text import TextEmotionClassifier
        self.config = config
        self.text = TextEmotionClassifier.load(config.text, device=runtime.device)
        self._whisper = whisper
        self._threads = config.voice.threads or runtime.threads
        self._device = resolve_device(runtime.device)
        self._heads: dict[Path, tuple[Any, Any]] = {}
        self.ser = SpeechEmotionSlot.load(config.ser, device=runtime.device)
        self.store = (AgentBaselineStore(config.baseline.agent_store, config.baseline.max_stored_utterances)
                      if config.baseline.agent_store else None)

    # ---- a call ---------------------------------------------------------------------------------------
    def run(self, analysis: CallAnalysis, recording: Recording) -> CallAnalysis:
        """Fill ``turn.emotion`` of every turn, ``analysis.trajectories`` and the emotion events."""
        turns = analysis.turns
        language = (analysis.transcript.language if analysis.transcript else None) \
            or analysis.call.metadata.get("language") or "en"
        texts = self._text(analysis, language)
        voices: dict[int, VoicePrediction] = {}
        agent_vectors: dict[int, np.ndarray] = {}
        head = self.voice_for(language)
        if head is not None:
            with _timed(analysis, "voice"):
                voices, agent_vectors = self._voice(analysis, recording, language, *head)
        sers: dict[int, dict[str, float]] = {}
        if self.ser is not None:
            with _timed(analysis, "ser"):
                sers = self._ser(turns, recording)
        with _timed(analysis, "fusion"):
            heard = relative_to_speakers(
                [VoiceSignal(v.scores, v.arousal, v.mode) if (v := voices.get(i)) is not None else None
                 for i in range(len(turns))],
                [t.speaker for t in turns], [t.end - t.start for t in turns], self.config.calibration, language)
            for i, turn in enumerate(turns):
                turn.emotion = fuse(
                    texts[i] if texts else None, heard[i],
                    SerSignal(sers[i]) if i in sers else None,
                    turn.end - turn.start, self.config.fusion, self.config.voice, self.config.text.label_valence,
                )
            analysis.trajectories = trajectories(turns, self.config.trajectory)
            analysis.events = [e for e in analysis.events if e.kind not in KINDS]
            analysis.events.extend(emotion_events(turns, self.config.escalation))
        if head is not None:
            self._update_agent_baseline(analysis, agent_vectors, head[0])
        return analysis

    def voice_for(self, language: str | None) -> tuple[Any, Any] | None:
        """The voice head for a call's language and its feature extractor (loaded once), or None if voice is off.

        Each language has the head it was fitted for (``VoiceConfig.heads``, then ``head``, then the shipped
        one for that language, then the shipped multilingual one): an English call is judged by the
        English head on tiny.en's encoder, a Mandarin call by the multilingual head on base's.
        """
        if not self.config.voice.enabled:
            return None
        from engine.emotion.voice import VoiceEmotionModel, VoiceFeatureExtractor
        from engine.emotion.voice.head import shipped_head

        code = (language or "en").split("-")[0].lower()
        voice = self.config.voice
        path = Path(voice.heads[code] if code in voice.heads else voice.head or shipped_head(code)).expanduser()
        if path not in self._heads:
            head = VoiceEmotionModel.load(path, self.config.voice)
            extractor = VoiceFeatureExtractor.for_head(head, whisper=self._whisper, threads=self._threads,
                                                       device=self._device)
            self._heads[path] = (head, extractor)
        return self._heads[path]

    def _text(self, analysis: CallAnalysis, language: str) -> list[TextSignal | None]:
        turns = analysis.turns
        if not any(t.text.strip() for t in turns):
            return []  # nothing was said in words (or no transcript): the text model is not even loaded
        words = analysis.transcript.words if analysis.transcript else []
        with _timed(analysis, "text"):
            results = self.text.predict([t.text for t in turns], language)
        signals: list[TextSignal | None] = []
        for turn, result in zip(turns, results, strict=True):
            probabilities = [words[j].probability for j in turn.word_indices if j < len(words)]
            signals.append(TextSignal(
                scores=result.scores, valence=result.valence, words=word_count(turn, language),
                lexicon_valence=result.lexicon_valence, explicit=result.explicit,
                asr_confidence=float(np.mean(probabilities)) if probabilities else 1.0,
            ) if turn.text.strip() else None)
        return signals

    def _voice(self, analysis: CallAnalysis, recording: Recording, language: str, head: Any,
               extractor: Any) -> tuple[dict[int, VoicePrediction], dict[int, np.ndarray]]:
        """Voice predictions per turn index, and the raw vectors of the stored agent's turns (for the store)."""
        turns = analysis.turns
        minimum = self.config.voice.min_turn_seconds
        by_source: dict[int | None, list[int]] = defaultdict(list)
        for i, turn in enumerate(turns):
            by_source[_source(turn, recording)].append(i)
        vectors: dict[int, np.ndarray] = {}
        for source, indices in by_source.items():
            audio = _audio(recording, source)
            length = len(audio) / SAMPLE_RATE
            spans = {i: (max(0.0, turns[i].start), min(turns[i].end, length)) for i in indices}
            kept = [i for i in indices if spans[i][1] - spans[i][0] >= minimum]
            if kept:
                features = extractor.turns(audio, [spans[i] for i in kept])
                for i, row in zip(kept, head.vectorise(features), strict=True):
                    vectors[i] = row
        predictions: dict[int, VoicePrediction] = {}
        agent_vectors: dict[int, np.ndarray] = {}
        by_speaker: dict[str, list[int]] = defaultdict(list)
        for i in sorted(vectors):
            by_speaker[turns[i].speaker].append(i)
        agents = {turns[i].speaker for i in vectors if turns[i].role == "agent"}
        agent_id = analysis.call.metadata.get("agent_id")
        for speaker, indices in by_speaker.items():
            matrix = np.stack([vectors[i] for i in indices])
            own = head.baseline_for(matrix, speaker=speaker)
            baseline = own
            if agents == {speaker} and agent_id:
                baseline = self._agent_baseline(agent_id, own, head)
                agent_vectors = {i: vectors[i] for i in indices}
            for i, prediction in zip(indices, head.predict(matrix, language=language, baseline=baseline),
                                     strict=True):
                predictions[i] = prediction
        return predictions, agent_vectors

    def _agent_baseline(self, agent_id: str, own: SpeakerBaseline, head: Any) -> SpeakerBaseline:
        """The stored baseline alone when it has seen enough, else merged with this call's turns."""
        if self.store is None:
            return own
        stored = self.store.get(agent_id, layout_of(head))
        if stored is None or stored.dim != own.dim:
            return own
        if stored.count >= self.config.baseline.min_stored_utterances:
            return stored
        return stored.merge(own)

    def _update_agent_baseline(self, analysis: CallAnalysis, agent_vectors: dict[int, np.ndarray],
                               head: Any) -> None:
        agent_id = analysis.call.metadata.get("agent_id")
        if self.store is None or not self.config.baseline.update_store or not agent_id or not agent_vectors:
            return
        from engine.emotion.voice import SpeakerBaseline

        # Only the agent's ordinary turns: a heated exchange must not become their "normal" voice.
        negative = self.config.escalation.negative_valence
        calm = [v for i, v in agent_vectors.items()
                if (emotion := analysis.turns[i].emotion) is not None and emotion.valence > negative]
        if calm:
            self.store.update(agent_id, layout_of(head), SpeakerBaseline.from_vectors(np.stack(calm)))

    def _ser(self, turns: Sequence[Turn], recording: Recording) -> dict[int, dict[str, float]]:
        assert self.ser is not None
        pieces, indices = [], []
        for i, turn in enumerate(turns):
            if turn.end - turn.start < self.config.voice.min_turn_seconds:
                continue
            pieces.append(span_audio(_audio(recording, _source(turn, recording)), turn.start, turn.end))
            indices.append(i)
        return dict(zip(indices, self.ser.predict(pieces), strict=True)) if pieces else {}

    # ---- clips ----------------------------------------------------------------------------------------
    def clips(self, audios: Sequence[np.ndarray], language: str | None = None, same_speaker: bool = False,
              texts: Sequence[str] | None = None) -> list[Emotion]:
        """One emotion per 16 kHz clip, each treated as one utterance.

        ``same_speaker``: the clips are one person's, judged against their joint baseline (as a speaker's
        turns within a call are); otherwise each clip is judged against its language's population.
        """
        voices: list[VoicePrediction | None] = [None] * len(audios)
        voice = self.voice_for(language)
        if voice is not None and audios:
            head, extractor = voice
            features = [extractor.clip(np.asarray(a, dtype=np.float32)) for a in audios]
            matrix = head.vectorise(features)
            baseline = head.baseline_for(matrix) if same_speaker else None
            voices = list(head.predict(matrix, language=language, baseline=baseline))
        text_signals: list[TextSignal | None] = [None] * len(audios)
        if texts is not None and any(t.strip() for t in texts):
            lang = language or "en"
            for k, (text, result) in enumerate(zip(texts, self.text.predict(list(texts), lang), strict=True)):
                turn = Turn(speaker="clip", start=0.0, end=0.0, text=text)
                if text.strip():
                    text_signals[k] = TextSignal(result.scores, result.valence, word_count(turn, lang),
                                                 result.lexicon_valence, explicit=result.explicit)
        sers = self.ser.predict(list(audios)) if self.ser is not None else [None] * len(audios)
        return [
            fuse(text, VoiceSignal(v.scores, v.arousal, v.mode) if v is not None else None,
                 SerSignal(s) if s else None, len(audio) / SAMPLE_RATE, self.config.fusion, self.config.voice,
                 self.config.text.label_valence)
            for audio, text, v, s in zip(audios, text_signals, voices, sers, strict=True)
        ]
