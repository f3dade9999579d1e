"""The voice's opinion of a turn, relative to how that speaker usually sounds in the call.

Why. The voice heads are fitted on acted corpora, where a speaker's clips span neutral to furious, so
"the speaker's usual" that the head normalises against is the middle of an acted range: a calm caller
on a service line, normalised that way, reads as mildly happy or fearful and rather aroused (measured on
the calm real calls: median voice arousal 0.7, a third of turns voice-"angry" or "fear"). On a service
call the normal state is neutral. So the voice is read as *evidence of a departure* from the speaker's
usual in this call:

- **labels**: the head's scores divided by the speaker's own mean scores over the call (a likelihood
  ratio against their usual), times a conversational prior that is mostly neutral. A turn that sounds
  like the rest of the speaker's turns gets the prior (neutral); a turn that sounds much angrier than
  the speaker's usual gets "angry". The speaker's mean is shrunk toward a flat one by a pseudo-count of
  turns, so a speaker with one or two turns is judged mostly on the raw head.
- **arousal**: the conversational level plus the departure from the speaker's median, less a floor
  of ordinary within-speaker variation: differences smaller than the floor say nothing.

A speaker who is angry the whole call keeps their anger in the words (the text signal) and in the
trajectory; what the voice adds here is *change*, which is what escalation, recovery and composure
events are about.

**The population's usual voice as well** (issue 23): a caller who opens angry and is angry in most of
their turns has no calm usual of their own, so their anger divides itself out. Where the call's language
has a measured population usual (``population_usual``: the head's mean scores on calm real calls), the
label ratio is a geometric blend of the ratio to the speaker's usual and the ratio to the population's,
``population_weight`` of the latter, and the speaker's usual arousal is blended the same way toward the
population's median (``population_arousal``). On a calm call both are near one, so the blend changes little.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from engine.emotion.config import VoiceCalibrationConfig
from engine.emotion.fusion import VoiceSignal


def relative_to_speakers(voices: Sequence[VoiceSignal | None], speakers: Sequence[str],
                         durations: Sequence[float], config: VoiceCalibrationConfig,
                         language: str | None = None) -> list[VoiceSignal | None]:
    """Each turn's voice signal re-read against its speaker's usual voice in the call (same order), and against
    the population's usual voice of ``language`` where one is configured."""
    code = (language or "").split("-")[0].lower()
    population = config.population_usual.get(code)
    beta = config.population_weight if population else 0.0
    if not config.enabled:
        return list(voices)
    by_speaker: dict[str, list[int]] = defaultdict(list)
    for i, (voice, speaker) in enumerate(zip(voices, speakers, strict=True)):
        if voice is not None:
            by_speaker[speaker].append(i)
    result: list[VoiceSignal | None] = list(voices)
    for indices in by_speaker.values():
        labels = sorted({label for i in indices for label in voices[i].scores})  # type: ignore[union-attr]
        scores = np.array([[voices[i].scores.get(label, 0.0) for label in labels]  # type: ignore[union-attr]
                           for i in indices])
        weights = np.array([min(1.0, durations[i] / config.full_seconds) for i in indices]) + 1e-6
        flat = np.full(len(labels), 1.0 / len(labels))
        usual = (weights @ scores + config.pseudo_turns * flat) / (weights.sum() + config.pseudo_turns)
        prior = np.array([config.prior.get(label, config.prior_other) for label in labels])
        arousals = np.array([voices[i].arousal for i in indices])  # type: ignore[union-attr]
        # The median, shrunk toward the conversational level like the scores: one turn is its own usual
        # only in part.
        share = weights.sum() / (weights.sum() + config.pseudo_turns)
        usual_arousal = share * float(np.median(arousals)) + (1 - share) * config.conversational_arousal
        if code in config.population_arousal and config.population_weight > 0:
            usual_arousal = ((1 - config.population_weight) * usual_arousal
                             + config.population_weight * config.population_arousal[code])
        reference = None
        if population:
            reference = np.array([population.get(label, min(population.values())) for label in labels])
            reference = reference / reference.sum()
        for row, i in enumerate(indices):
            voice = voices[i]
            assert voice is not None
            ratio = scores[row] / np.maximum(usual, 1e-6)
            if reference is not None:
                ratio = ratio ** (1 - beta) * (scores[row] / np.maximum(reference, 1e-6)) ** beta
            posterior = prior * ratio ** config.strength
            posterior /= posterior.sum()
            departure = voice.arousal - usual_arousal
            beyond = np.sign(departure) * max(0.0, abs(departure) - config.arousal_floor)
            arousal = float(np.clip(config.conversational_arousal + config.arousal_gain * beyond, 0.0, 1.0))
            result[i] = VoiceSignal({label: float(p) for label, p in zip(labels, posterior, strict=True)},
                                    arousal, voice.mode, raw_scores=dict(voice.scores), raw_arousal=voice.arousal,
                                    reliability=share)
    return result
