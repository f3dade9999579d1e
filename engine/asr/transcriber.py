"""The transcription stage: one model-holding object, words with channel, timestamps and confidence.

Each channel of a stereo call is transcribed on its own (one party per channel), so every word knows
its speaker's channel. Decoding is beam search at temperature 0 (a rerun gives the same words) over
the VAD's speech, one window at a time (``engine.asr.windows``), each with a token budget. Whisper's
failure modes are then judged word by word (``engine.asr.guards``): a window that is silence by
Whisper's own measure (no-speech probability high and log-probability low) is dropped; a window that
looped loses its repeated tail, after its stretches were decoded one by one; words the VAD heard no
voice under, in a window Whisper itself doubts, are invented and dropped.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from faster_whisper import BatchedInferencePipeline, WhisperModel
from faster_whisper.transcribe import Segment as WhisperSegment
from faster_whisper.transcribe import get_compression_ratio, restore_speech_timestamps

from engine.asr.chinese import to_simplified
from engine.asr.guards import heard, repeated_tail
from engine.asr.windows import (
    SAMPLE_RATE,
    Span,
    Window,
    overlap,
    pack_windows,
    pad_spans,
    speech_spans,
    token_budget,
)
from engine.audio import Recording
from engine.config import AsrConfig, RuntimeConfig
from engine.models import resolve_whisper_model
from engine.record import Segment, Transcript, Word
from engine.runtime import resolve_compute_type, resolve_device

log = logging.getLogger(__name__)

ProgressHook = Callable[[float, float], None]
"""Called as ``hook(seconds_done, seconds_total)`` while a recording is transcribed."""

SENTENCE_END = (".", "?", "!", "。", "？", "！")
SEGMENT_PAUSE = 1.0  # seconds of silence between two words that start a new segment
# Speech a re-decoded hole skipped is looked for again this many levels down (the window, its holes, theirs).
HOLE_DEPTH = 3


@dataclass(frozen=True)
class WhisperSettings:
    """How one faster-whisper model is loaded and run: the GPU path is float16 with batched windows."""

    path: Path
    device: str
    compute_type: str
    cpu_threads: int
    batch_size: int

    @classmethod
    def resolve(cls, name_or_path: str, asr: AsrConfig, runtime: RuntimeConfig,
                model_dirs: dict[str, str] | None = None, has_cuda: bool | None = None) -> WhisperSettings:
        device = resolve_device(runtime.device, has_cuda)
        return cls(
            path=resolve_whisper_model(name_or_path, model_dirs),
            device=device,
            compute_type=resolve_compute_type(asr.compute_type, device),
            cpu_threads=runtime.threads,
            # A GPU decodes several windows at once for the price of one; on a CPU a batch only makes
            # every window wait for the longest, and each window keeps its own token budget.
            batch_size=asr.batch_size if device == "cuda" else 1,
        )

    def load(self) -> WhisperModel:
        return WhisperModel(str(self.path), device=self.device, compute_type=self.compute_type,
                            cpu_threads=self.cpu_threads)


@dataclass
class Decoded:
    """One decoded window: faster-whisper's segment (times in the call) and whether it hit its budget."""

    window: Window
    segment: WhisperSegment
    budget: int

    @property
    def looped(self) -> bool:
        return len(self.segment.tokens) >= self.budget


class Transcriber:
    """Holds the configured Whisper models (loaded once, lazily) and transcribes recordings."""

    def __init__(self, asr: AsrConfig, runtime: RuntimeConfig, model_dirs: dict[str, str] | None = None,
                 has_cuda: bool | None = None) -> None:
        self.asr = asr
        self.runtime = runtime
        self.model_dirs = model_dirs or {}
        self._has_cuda = has_cuda
        self._models: dict[str, WhisperModel] = {}

    # -- models ---------------------------------------------------------------------------------
    def settings(self, name: str) -> WhisperSettings:
        return WhisperSettings.resolve(name, self.asr, self.runtime, self.model_dirs, self._has_cuda)

    def model(self, name: str) -> WhisperModel:
        if name not in self._models:
            self._models[name] = self.settings(name).load()
        return self._models[name]

    def model_for(self, language: str) -> str:
        """English goes to the configured model; any other language to the multilingual one."""
        primary = self.asr.model
        if language == "en" or self._is_multilingual(primary):
            return primary
        return self.asr.multilingual_model

    def _is_multilingual(self, name: str) -> bool:
        if name.endswith(".en"):
            return False
        if name in self._models:
            return self._models[name].model.is_multilingual
        return not Path(name).name.endswith(".en")

    # -- language ---------------------------------------------------------------------------------
    def detect_language(self, recording: Recording) -> tuple[str, float]:
        """Language of the call, from the loudest channel's first speech (multilingual model)."""
        name = self.asr.model if self._is_multilingual(self.asr.model) else self.asr.multilingual_model
        levels = recording.channel_levels_db
        # Levels describe the channels as analysed; a recording mixed down after intake has fewer rows.
        loudest = int(np.argmax(levels)) if levels and len(levels) == len(recording.samples) else 0
        language, probability, _ = self.model(name).detect_language(
            recording.samples[loudest], vad_filter=self.asr.vad_filter,
            language_detection_segments=self.asr.language_detection_segments,
        )
        return language, float(probability)

    # -- transcription ------------------------------------------------------------------------------
    def transcribe(self, recording: Recording, language: str | None = None,
                   progress: ProgressHook | None = None) -> Transcript:
        """Words and segments of every kept channel, in time order."""
        requested = language or self.asr.language
        if requested == "auto":
            language, probability = self.detect_language(recording)
        else:
            language, probability = requested, 1.0
        name = self.model_for(language)
        model = self.model(name)
        if not model.model.is_multilingual and language != "en":
            # An English-only model cannot transcribe Mandarin; never hand it the job silently.
            name = self.asr.multilingual_model
            model = self.model(name)
        words: list[Word] = []
        segments: list[Segment] = []
        total = recording.duration * len(recording.channel_ids)
        for row, channel_id in enumerate(recording.channel_ids):
            offset = row * recording.duration

            def channel_progress(done: float, _offset: float = offset) -> None:
                if progress:
                    progress(_offset + done, total)

            channel_words, channel_segments = self.transcribe_channel(
                model, recording.samples[row], language, channel_id, channel_progress, recording.info.source,
                self.settings(name).batch_size)
            words += channel_words
            segments += channel_segments
        words.sort(key=lambda w: (w.start, w.channel))
        segments.sort(key=lambda s: (s.start, s.channel))
        return Transcript(language=language, language_probability=probability, model=name,
                          words=words, segments=segments)

    def transcribe_channel(self, model: WhisperModel, audio: np.ndarray, language: str, channel: int = 0,
                           progress: Callable[[float], None] | None = None, source: str = "",
                           batch_size: int = 1) -> tuple[list[Word], list[Segment]]:
        """One channel's words and segments (times in seconds from the start of the recording)."""
        asr = self.asr
        duration = len(audio) / SAMPLE_RATE
        if asr.vad_filter:
            speech = speech_spans(audio, asr.vad_threshold, asr.vad_min_silence_ms,
                                  asr.window_seconds - 2 * asr.vad_pad_ms / 1000)
        else:
            speech = [(0.0, duration)] if duration > 0 else []
        windows = pack_windows(pad_spans(speech, asr.vad_pad_ms / 1000, duration), asr.window_seconds)
        words: list[Word] = []
        segments: list[Segment] = []
        for decoded in self._decode(model, audio, windows, language, batch_size, progress, speech):
            kept = self._judge(decoded, speech, channel, source)
            if not kept:
                continue
            seg = decoded.segment
            for w in kept:
                token = self._clean(w.word, language).strip()
                if token and w.probability >= asr.min_word_probability:
                    words.append(Word(text=token, start=round(w.start, 3), end=round(w.end, 3),
                                      probability=round(w.probability, 4), channel=channel))
            for piece in _sentences(kept):
                text = self._clean("".join(w.word for w in piece), language)
                segments.append(Segment(
                    channel=channel, start=round(piece[0].start, 3), end=round(piece[-1].end, 3), text=text,
                    avg_logprob=seg.avg_logprob, no_speech_prob=seg.no_speech_prob,
                    compression_ratio=get_compression_ratio(text.strip()),
                ))
        return words, segments

    # -- decoding -------------------------------------------------------------------------------------
    def _decode(self, model: WhisperModel, audio: np.ndarray, windows: list[Window], language: str,
                batch_size: int, progress: Callable[[float], None] | None,
                speech: list[Span] | None = None) -> Iterator[Decoded]:
        """Every window decoded; a window that looped is decoded again stretch by stretch."""
        for first in range(0, len(windows), batch_size):
            for decoded in self._decode_batch(model, audio, windows[first:first + batch_size], language):
                if self._repetitive(decoded) and len(decoded.window.spans) > 1:
                    # Real speech said again and again (a greeting, a read-back) packs into one window
                    # that looks like a loop; its stretches decoded alone each say it once or twice.
                    log.info("window %.1f-%.1f s repeats itself; decoding its %d stretches one by one",
                             decoded.window.start, decoded.window.end, len(decoded.window.spans))
                    yield from self._decode_batch(model, audio, decoded.window.split(), language)
                else:
                    yield decoded
                    yield from self._unheard_holes(model, audio, decoded, speech or [], language)
                    yield from self._unheard_tail(model, audio, decoded, speech or [], language)
                if progress:
                    progress(decoded.window.end)

    def _unheard_holes(self, model: WhisperModel, audio: np.ndarray, decoded: Decoded, speech: list[Span],
                       language: str, depth: int = 0) -> Iterator[Decoded]:
        """Speech before a window's first word, or between two of its words, decoded again on its own.

        Whisper sometimes starts a window at its second or third utterance, or skips one in the middle
        (measured on a built mono call: the agent's greeting and the customer's first line, 8 s, gone; the
        next word's timestamp then stretches over the skipped speech and takes its place). What the VAD
        heard there, with no word in it, is a window of its own. A long hole decoded again can skip speech
        in its turn (a Mandarin mono call: a 24 s hole came back with the customer's three lines and
        without the agent's two between them), so its own holes and tail are heard too, ``HOLE_DEPTH``
        levels down.
        """
        asr = self.asr
        words = decoded.segment.words or []
        if not words or asr.max_tail_redecodes == 0:
            return
        edges = [(decoded.window.start, words[0].start)]
        edges += [(before.end, after.start) for before, after in itertools.pairwise(words)]
        holes = [part for start, end in edges
                 if (part := decoded.window.between(start + asr.tail_gap_seconds, end - asr.tail_gap_seconds))
                 and overlap((part.start, part.end), speech) >= asr.tail_min_speech_seconds]
        if not holes:
            return
        log.info("speech with no word in window %.1f-%.1f s (%s): decoding it again", decoded.window.start,
                 decoded.window.end, ", ".join(f"{h.start:.1f}-{h.end:.1f} s" for h in holes))
        for again in self._decode_batch(model, audio, holes[:asr.max_tail_redecodes], language):
            if again.segment.words and not self._repetitive(again):
                yield again
                if depth + 1 < HOLE_DEPTH:
                    yield from self._unheard_holes(model, audio, again, speech, language, depth + 1)
                    yield from self._unheard_tail(model, audio, again, speech, language)

    def _unheard_tail(self, model: WhisperModel, audio: np.ndarray, decoded: Decoded, speech: list[Span],
                      language: str) -> Iterator[Decoded]:
        """The window's speech after its last word, decoded again until it is heard or nothing more comes.

        Whisper often ends a window at a change of speaker (measured on a mono Mandarin call: a 30 s window
        stopped at 27 s, a 20 s one at 49 s of 63 s, losing whole turns: 27 % CER, 9.8 % with this). Speech
        the VAD heard after the last word is a window of its own.
        """
        asr = self.asr
        for _ in range(asr.max_tail_redecodes):
            words = decoded.segment.words or []
            if not words:
                return  # Whisper heard nothing in the window: nothing was cut short
            last = words[-1].end
            rest = decoded.window.after(last + asr.tail_gap_seconds)
            if rest is None or overlap((rest.start, rest.end), speech) < asr.tail_min_speech_seconds:
                return
            log.info("speech after the last word at %.1f s of window %.1f-%.1f s: decoding it again",
                     last, decoded.window.start, decoded.window.end)
            decoded = self._decode_batch(model, audio, [rest], language)[0]
            if not decoded.segment.words or self._repetitive(decoded):
                if decoded.segment.words:
                    yield decoded  # its judge cuts a loop's tail
                return
            yield decoded

    def _decode_batch(self, model: WhisperModel, audio: np.ndarray, windows: list[Window],
                      language: str) -> list[Decoded]:
        """Windows decoded in one call: each once, as one piece, within the batch's token budget."""
        asr = self.asr
        pieces = [w.samples(audio) for w in windows]
        starts = np.cumsum([0] + [len(p) for p in pieces])
        budget = max(token_budget(w.seconds, asr.tokens_per_second, asr.min_tokens) for w in windows)
        clips = [{"start": float(starts[i]) / SAMPLE_RATE, "end": float(starts[i + 1]) / SAMPLE_RATE}
                 for i in range(len(windows))]
        segments, _ = BatchedInferencePipeline(model).transcribe(
            np.concatenate(pieces), language=language if model.model.is_multilingual else None,
            clip_timestamps=clips, batch_size=len(windows), beam_size=asr.beam_size, temperature=0.0,
            max_new_tokens=budget, word_timestamps=True, without_timestamps=not asr.decode_timestamps,
            initial_prompt=asr.zh_initial_prompt if language == "zh" else None,
        )
        decoded = []
        for index, (window, seg) in enumerate(zip(windows, _one_per_window(list(segments), starts), strict=True)):
            shift = float(starts[index]) / SAMPLE_RATE  # back to the window's own time, then to the call's
            seg.start -= shift
            seg.end -= shift
            for w in seg.words or []:
                w.start -= shift
                w.end -= shift
            restored = next(iter(restore_speech_timestamps([seg], window.chunks(), SAMPLE_RATE)))
            decoded.append(Decoded(window, restored,
                                   token_budget(window.seconds, asr.tokens_per_second, asr.min_tokens)))
        return decoded

    # -- guards -----------------------------------------------------------------------------------------
    def _repetitive(self, decoded: Decoded) -> bool:
        return (decoded.looped
                or get_compression_ratio(decoded.segment.text.strip()) > self.asr.compression_ratio_threshold)

    def _judge(self, decoded: Decoded, speech: list[tuple[float, float]], channel: int, source: str) -> list:
        """The window's words that are speech: none for silence, no loop tail, nothing the VAD did not hear."""
        asr = self.asr
        seg = decoded.segment
        words = list(seg.words or [])
        if seg.no_speech_prob > asr.no_speech_threshold and seg.avg_logprob < asr.log_prob_threshold:
            return []  # Whisper's own silence test
        if self._repetitive(decoded):
            cut = repeated_tail(words, asr.repeat_min)
            if cut is not None:
                log.warning("%s: cut a repeated tail of %d words at %.1f s on channel %d", source,
                            len(words) - cut, words[cut].start, channel)
                words = words[:cut]
        doubtful = seg.no_speech_prob > asr.no_speech_threshold / 2 or seg.avg_logprob < asr.log_prob_threshold / 2
        return [w for w in words
                if not doubtful or heard(w, speech, asr.word_speech_tolerance, asr.word_min_heard)]

    def _clean(self, text: str, language: str) -> str:
        if language == "zh" and self.asr.zh_script == "simplified":
            return to_simplified(text)
        return text


def _one_per_window(segments: list[WhisperSegment], starts: np.ndarray) -> list[WhisperSegment]:
    """The pieces Whisper cut each window into (at its timestamps), joined back into one segment a window.

    Without timestamps a window is one piece; with them (``asr.decode_timestamps``) Whisper cuts it at its
    timestamps. faster-whisper marks every piece with the window's offset (``seek``, in frames of 10 ms).
    """
    by_window: dict[int, list[WhisperSegment]] = {}
    for seg in segments:
        by_window.setdefault(seg.seek, []).append(seg)
    joined = []
    for first in starts[:-1]:
        pieces = by_window.get(round(float(first) / SAMPLE_RATE * 100), [])
        if not pieces:  # a window Whisper wrote nothing for
            joined.append(WhisperSegment(id=0, seek=0, start=float(first) / SAMPLE_RATE,
                                         end=float(first) / SAMPLE_RATE, text="", tokens=[], avg_logprob=0.0,
                                         compression_ratio=0.0, no_speech_prob=1.0, words=[], temperature=0.0))
            continue
        joined.append(replace(pieces[0], end=pieces[-1].end, text="".join(p.text for p in pieces),
                              tokens=[t for p in pieces for t in p.tokens],
                              words=[w for p in pieces for w in (p.words or [])]))
    return joined


def _sentences(words: list) -> list[list]:
    """Words cut into segments at sentence ends and long pauses (a window decodes as one piece)."""
    pieces: list[list] = []
    for word in words:
        if pieces and not (pieces[-1][-1].word.strip().endswith(SENTENCE_END)
                           or word.start - pieces[-1][-1].end > SEGMENT_PAUSE):
            pieces[-1].append(word)
        else:
            pieces.append([word])
    return pieces
