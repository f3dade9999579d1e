"""One emotion per turn from what the words, the voice and (if configured) a SER model said.

Why this shape. The signals are good at different things: words carry valence (what is wrong, how
the caller feels about it) and say little about arousal; the voice carries arousal well and valence
poorly (angry and happy are both loud); a SER model, where a centre has one, sits in between. So:

1. Each signal gets a *reliability*: its configured weight times how much of it there was (words in
   the turn, seconds of voice; a voice scored without a speaker baseline counts less). A blank
   transcript or a 0.3 s "mm" barely moves anything.
2. Valence and arousal are reliability-weighted means, each with per-signal shares (text leads
   valence, voice leads arousal).
3. The label starts as the pooled label evidence of the signals in our label space (voice labels
   are mapped: happy -> satisfied, fear -> anxious …), and each label is then reweighted by how close
   its prototype (valence, arousal) lies to the fused point. That is where "negative words + high
   arousal -> angry" and "negative words + low arousal -> frustrated/sad" come from, without rules.
4. Explicitly hostile words ("this is unacceptable", "太过分了") are anger or frustration whatever the
   voice's shade: the label is the likelier of ``hostile_labels``.
5. One rule is explicit because the voice head is fooled by loud-but-fine speakers: when the words
   are not negative, the voice's "angry" counts only at ``voice_alone_anger`` probability or above.

Every signal's opinion is kept in ``Emotion.signals`` so a reviewer sees who said what.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from engine.emotion.config import OUR_LABELS, FusionConfig, VoiceConfig
from engine.record import Emotion

NEGATIVE_LABELS = frozenset({"angry", "frustrated", "anxious", "sad"})
# What each of our labels implies about arousal when only the words speak (text's arousal opinion).
TEXT_AROUSAL = {"angry": 0.8, "frustrated": 0.55, "anxious": 0.65, "sad": 0.25, "neutral": 0.3, "satisfied": 0.45}


@dataclass(frozen=True)
class TextSignal:
    """The text classifier's opinion of a turn (``engine.emotion.text.TextEmotion``) and how much text there was."""

    scores: dict[str, float]
    valence: float
    words: int
    lexicon_valence: float = 0.0
    asr_confidence: float = 1.0
    """Mean word probability from ASR: a garbled transcript is trusted less."""
    explicit: bool = False
    """Explicitly hostile words ("太过分了!"): a short turn's words count in full."""

    @property
    def label(self) -> str:
        return max(self.scores, key=self.scores.__getitem__)


@dataclass(frozen=True)
class VoiceSignal:
    """The voice head's opinion (``VoicePrediction``): scores over its own labels, and arousal."""

    scores: dict[str, float]
    arousal: float
    mode: str = "speaker"
    raw_scores: dict[str, float] | None = None
    """The head's own scores before they were read against the speaker's usual voice (for the record)."""
    raw_arousal: float | None = None
    reliability: float = 1.0
    """How much the speaker's usual voice was known when this was read (few turns: less): scales its weight."""

    @property
    def label(self) -> str:
        return max(self.scores, key=self.scores.__getitem__)


@dataclass(frozen=True)
class SerSignal:
    """A speech-emotion model's scores, already in our label space."""

    scores: dict[str, float]

    @property
    def label(self) -> str:
        return max(self.scores, key=self.scores.__getitem__)


@dataclass
class _Opinion:
    """One signal projected onto the shared space: label probabilities, valence, arousal, reliability."""

    probs: dict[str, float]
    valence: float
    arousal: float
    weight: float
    record: dict[str, float | str] = field(default_factory=dict)
    label_weight: float | None = None
    """Weight of its label evidence, where it differs from ``weight`` (a voice at the speaker's usual)."""

    @property
    def evidence(self) -> float:
        return self.weight if self.label_weight is None else self.label_weight


def _normalised(scores: dict[str, float]) -> dict[str, float]:
    total = sum(max(v, 0.0) for v in scores.values())
    if total <= 0:
        return {"neutral": 1.0}
    return {k: max(v, 0.0) / total for k, v in scores.items()}


def _expected(probs: dict[str, float], table: dict[str, float], default: float) -> float:
    return sum(p * table.get(label, default) for label, p in probs.items())


def _text_opinion(text: TextSignal, config: FusionConfig) -> _Opinion:
    probs = _normalised({k: v for k, v in text.scores.items() if k in OUR_LABELS})
    amount = 1.0 if text.explicit else min(1.0, text.words / config.text_full_words)
    weight = config.text_weight * amount * max(0.0, min(1.0, text.asr_confidence))
    record: dict[str, float | str] = {
        "label": text.label, "valence": round(text.valence, 4), "lexicon_valence": round(text.lexicon_valence, 4),
        "weight": round(weight, 4),
        **({"hostile": 1.0} if text.explicit else {}),
        **{f"p_{k}": round(v, 4) for k, v in probs.items()},
    }
    return _Opinion(probs, text.valence, _expected(probs, TEXT_AROUSAL, 0.3), weight, record)


def _voice_opinion(voice: VoiceSignal, duration: float, config: FusionConfig, voice_config: VoiceConfig,
                   words_negative: bool | None) -> _Opinion:
    ours: dict[str, float] = {}
    for label, p in voice.scores.items():
        target = voice_config.label_map.get(label)
        if target is not None:
            ours[target] = ours.get(target, 0.0) + p
    ours = _normalised(ours)
    # The words know better than the voice whether someone is unhappy: a loud, fast but friendly speaker
    # reads "angry" to the voice head. Without negative words, anger needs a confident voice.
    if words_negative is False and ours.get("angry", 0.0) < config.voice_alone_anger:
        ours["neutral"] = ours.get("neutral", 0.0) + ours.pop("angry", 0.0)
    # A voice at the speaker's usual says "as usual", not "neutral": it keeps arousal low (so negative words
    # read frustrated rather than angry) but is no evidence against what the words say. Its label evidence
    # is the part that departs from neutral.
    departure = 1.0
    if config.voice_neutral_is_silence:
        departure = 1.0 - ours.get("neutral", 0.0)
        ours = _normalised({k: v for k, v in ours.items() if k != "neutral"}) if departure > 1e-6 \
            else {"neutral": 1.0}
    valence = _expected(_normalised(voice.scores), voice_config.label_valence, 0.0)
    weight = config.voice_weight * min(1.0, duration / config.voice_full_seconds) * voice.reliability
    if voice.mode != "speaker":
        weight *= config.clip_mode_factor
    label_weight = weight * departure
    record: dict[str, float | str] = {
        "label": voice.label, "arousal": round(voice.arousal, 4), "valence": round(valence, 4),
        "mode": voice.mode, "weight": round(weight, 4),
        **{f"p_{k}": round(v, 4) for k, v in voice.scores.items()},
    }
    if voice.raw_scores is not None:
        record["raw_label"] = max(voice.raw_scores, key=voice.raw_scores.__getitem__)
        record["raw_arousal"] = round(voice.raw_arousal if voice.raw_arousal is not None else voice.arousal, 4)
    record["label_weight"] = round(label_weight, 4)
    return _Opinion(ours, valence, voice.arousal, weight, record, label_weight)


def _ser_opinion(ser: SerSignal, duration: float, config: FusionConfig, label_valence: dict[str, float]) -> _Opinion:
    probs = _normalised({k: v for k, v in ser.scores.items() if k in OUR_LABELS})
    weight = config.ser_weight * min(1.0, duration / config.voice_full_seconds)
    valence = _expected(probs, label_valence, 0.0)
    arousal = _expected(probs, TEXT_AROUSAL, 0.3)
    record: dict[str, float | str] = {"label": ser.label, "valence": round(valence, 4), "weight": round(weight, 4),
                                      **{f"p_{k}": round(v, 4) for k, v in probs.items()}}
    return _Opinion(probs, valence, arousal, weight, record)


def _agreement(opinions: dict[str, _Opinion], label: str, config: FusionConfig) -> float:
    """1 when the words and the sound agree on whether the turn is negative, ``disagreement_factor`` when not.

    A turn is judged emotional with confidence only when its signals converge: negative words said in the
    speaker's usual voice, or an unusually loud voice saying ordinary words, are weaker evidence.
    """
    negative = label in NEGATIVE_LABELS
    sound = [o for name, o in opinions.items() if name != "text"]
    words_say = sum(opinions["text"].probs.get(k, 0.0) for k in NEGATIVE_LABELS) >= config.text_negative_mass
    sound_says = any(sum(o.probs.get(k, 0.0) for k in NEGATIVE_LABELS) >= config.text_negative_mass
                     or o.arousal >= config.aroused_level for o in sound)
    if not negative:
        return 1.0
    return 1.0 if words_say and sound_says else config.disagreement_factor


def prototype_affinity(valence: float, arousal: float, config: FusionConfig) -> dict[str, float]:
    """How well each label's prototype fits a (valence, arousal) point: a Gaussian kernel, unnormalised."""
    wv, wa = config.prototype_width
    # Lively talk is still neutral talk: neutral tolerates more arousal than the emotions' prototypes do.
    return {label: math.exp(-0.5 * (((valence - pv) / wv) ** 2
                                    + ((arousal - pa) / (config.neutral_arousal_width if label == "neutral" else wa))
                                    ** 2))
            for label, (pv, pa) in config.prototypes.items()}


def label_for_point(valence: float, arousal: float, config: FusionConfig) -> str:
    """The label whose prototype lies nearest a (valence, arousal) point (used for smoothed trajectories)."""
    affinity = prototype_affinity(valence, arousal, config)
    return max(affinity, key=affinity.__getitem__)


def fuse(
    text: TextSignal | None,
    voice: VoiceSignal | None,
    ser: SerSignal | None,
    duration: float,
    config: FusionConfig,
    voice_config: VoiceConfig,
    label_valence: dict[str, float],
) -> Emotion:
    """One ``Emotion`` from whichever signals spoke; ``label_valence`` is the valence of each of our labels."""
    opinions: dict[str, _Opinion] = {}
    words_negative: bool | None = None
    if text is not None and text.words > 0:
        opinions["text"] = _text_opinion(text, config)  # brings its own valence (labels + lexicon)
        words_negative = sum(opinions["text"].probs.get(k, 0.0) for k in NEGATIVE_LABELS) >= config.text_negative_mass
    if voice is not None:
        opinions["voice"] = _voice_opinion(voice, duration, config, voice_config, words_negative)
    if ser is not None and ser.scores:
        opinions["ser"] = _ser_opinion(ser, duration, config, label_valence)
    opinions = {name: o for name, o in opinions.items() if o.weight > 0}

    def weighted(attribute: str, shares: dict[str, float], default: float, prior: float = 0.0) -> float:
        pairs = [(o.weight * shares.get(name, 1.0), getattr(o, attribute)) for name, o in opinions.items()]
        total = sum(w for w, _ in pairs)
        return (sum(w * v for w, v in pairs) + prior * default) / (total + prior) if total > 0 else default

    valence = max(-1.0, min(1.0, weighted("valence", config.valence_share, 0.0, config.valence_prior_weight)))
    arousal = max(0.0, min(1.0, weighted("arousal", config.arousal_share, config.default_arousal)))
    total_weight = sum(o.evidence for o in opinions.values())
    # The normal state of a service call is neutral: "no evidence" is a neutral pseudo-signal, so a short
    # turn or a weak signal moves the label only as far as its weight earns.
    # Explicitly hostile words are evidence enough on their own: no neutral default to outweigh.
    prior = 0.0 if text is not None and text.explicit else config.neutral_prior_weight
    pooled = {label: (sum(o.evidence * o.probs.get(label, 0.0) for o in opinions.values())
                      + prior * float(label == "neutral")) / (total_weight + prior)
              for label in OUR_LABELS} if total_weight + prior > 0 else \
        {label: float(label == "neutral") for label in OUR_LABELS}
    affinity = prototype_affinity(valence, arousal, config)
    # A small floor keeps a label the evidence names but the point does not fit from vanishing entirely.
    posterior = {label: pooled[label] * (affinity.get(label, 0.0) + 1e-3) for label in OUR_LABELS}
    scores = _normalised(posterior) if total_weight > 0 else pooled
    label = max(scores, key=scores.__getitem__)
    if text is not None and text.explicit and config.hostile_labels:
        label = max(config.hostile_labels, key=lambda name: scores.get(name, 0.0))
    confidence = scores[label] * total_weight / (total_weight + config.confidence_prior)
    if label != "neutral" and "text" in opinions and ("voice" in opinions or "ser" in opinions):
        confidence *= _agreement(opinions, label, config)
    return Emotion(
        label=label, valence=round(valence, 4), arousal=round(arousal, 4), confidence=round(confidence, 4),
        scores={k: round(v, 4) for k, v in scores.items()},
        signals={name: o.record for name, o in opinions.items()},
    )
