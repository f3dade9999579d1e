"""Per-speaker baselines: "louder, higher, faster than this person usually is" is what carries emotion.

A voice vector mixes who is speaking with how they feel; measured against the speaker's own
running mean and spread (a z-score), most of the who cancels. An agent's baseline is built from
their earlier calls and stored as JSON beside their profile; a customer usually has a handful of
turns, so their few-utterance statistics are shrunk toward the population of their language
(``SpeakerBaseline.shrunk_toward``): with n utterances and prior strength k, the mean and the
variance are ``(n * own + k * population) / (n + k)``. The variance prior is the population's
*within-speaker* spread, not its total spread, which also holds the differences between people.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

# Below this a standard deviation is noise (a constant feature): z-scores would explode.
MIN_STD = 1e-3


@dataclass
class SpeakerBaseline:
    """Running mean and variance of one speaker's feature vectors (Welford, NaN entries skipped).

    ``counts`` is per dimension because a measure can be undefined for one utterance (no voiced
    frame, no pitch) and present for the next.
    """

    dim: int
    counts: np.ndarray = field(default=None)  # type: ignore[assignment]
    mean: np.ndarray = field(default=None)  # type: ignore[assignment]
    m2: np.ndarray = field(default=None)  # type: ignore[assignment]
    speaker: str = ""

    def __post_init__(self) -> None:
        self.counts = np.zeros(self.dim) if self.counts is None else np.asarray(self.counts, dtype=np.float64)
        self.mean = np.zeros(self.dim) if self.mean is None else np.asarray(self.mean, dtype=np.float64)
        self.m2 = np.zeros(self.dim) if self.m2 is None else np.asarray(self.m2, dtype=np.float64)

    @classmethod
    def from_vectors(cls, vectors: np.ndarray, speaker: str = "") -> SpeakerBaseline:
        vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float64))
        baseline = cls(dim=vectors.shape[1], speaker=speaker)
        baseline.update(vectors)
        return baseline

    @property
    def count(self) -> int:
        """Utterances seen (the most any dimension has seen)."""
        return int(self.counts.max()) if self.counts.size else 0

    @property
    def variance(self) -> np.ndarray:
        return np.where(self.counts > 1, self.m2 / np.maximum(self.counts - 1, 1), np.nan)

    @property
    def std(self) -> np.ndarray:
        return np.sqrt(self.variance)

    def update(self, vectors: np.ndarray) -> SpeakerBaseline:
        """Add one vector or a batch of them (rows); returns self so calls chain."""
        for row in np.atleast_2d(np.asarray(vectors, dtype=np.float64)):
            ok = ~np.isnan(row)
            self.counts[ok] += 1
            delta = row[ok] - self.mean[ok]
            self.mean[ok] += delta / self.counts[ok]
            self.m2[ok] += delta * (row[ok] - self.mean[ok])
        return self

    def merge(self, other: SpeakerBaseline) -> SpeakerBaseline:
        """The baseline of both sets of utterances (Chan et al.'s parallel update), e.g. two calls of one agent."""
        n = self.counts + other.counts
        safe = np.maximum(n, 1)
        delta = other.mean - self.mean
        mean = self.mean + delta * other.counts / safe
        m2 = self.m2 + other.m2 + delta**2 * self.counts * other.counts / safe
        return SpeakerBaseline(dim=self.dim, counts=n, mean=mean, m2=m2, speaker=self.speaker or other.speaker)

    def shrunk_toward(self, population: PopulationBaseline, strength: float) -> tuple[np.ndarray, np.ndarray]:
        """Mean and std of this speaker, each pulled toward the population by ``strength`` pseudo-utterances.

        The spread always is: a calm speaker's few turns vary little, and should not be blown up into
        emotions. The mean's pull fades, per dimension, for a speaker whose own mean lies far outside the
        population's speakers (``population.typicality``): a voice unlike any the head was fitted on — another
        channel, a synthetic voice — is judged against itself rather than dragged toward a population
        it does not belong to, which would make every one of its turns look extreme.
        """
        n = self.counts
        own_var = np.where(n > 1, self.variance, 0.0)
        var_weight = np.maximum(n - 1, 0)
        pull = strength * population.typicality(self.mean, n)
        mean = (n * self.mean + pull * population.mean) / np.maximum(n + pull, 1e-9)
        var = (var_weight * own_var + strength * population.within_std**2) / np.maximum(var_weight + strength, 1e-9)
        return mean, np.sqrt(var)

    def to_json(self) -> str:
        return json.dumps({
            "kind": "speaker_baseline", "version": 1, "speaker": self.speaker, "dim": self.dim,
            "counts": self.counts.tolist(), "mean": self.mean.tolist(), "m2": self.m2.tolist(),
        })

    @classmethod
    def from_json(cls, text: str) -> SpeakerBaseline:
        data = json.loads(text)
        if data.get("kind") != "speaker_baseline":
            raise ValueError("not a speaker baseline (expected kind 'speaker_baseline')")
        return cls(dim=int(data["dim"]), counts=np.array(data["counts"]), mean=np.array(data["mean"]),
                   m2=np.array(data["m2"]), speaker=data.get("speaker", ""))


@dataclass
class PopulationBaseline:
    """Feature statistics of many speakers of one language.

    ``std`` is the spread over all utterances (used to z-score a clip of an unknown speaker);
    ``within_std`` the typical spread inside one speaker (the prior for a speaker's own spread).
    """

    mean: np.ndarray
    std: np.ndarray
    within_std: np.ndarray
    speakers: int

    @classmethod
    def from_speakers(cls, vectors: np.ndarray, speakers: np.ndarray) -> PopulationBaseline:
        vectors = np.asarray(vectors, dtype=np.float64)
        speakers = np.asarray(speakers)
        names = np.unique(speakers)
        # Mean of speaker means, so a speaker with many clips does not become "the population".
        means = np.stack([np.nanmean(vectors[speakers == s], axis=0) for s in names])
        within = np.stack([np.nanvar(vectors[speakers == s], axis=0) for s in names])
        return cls(
            mean=np.nanmean(means, axis=0),
            std=np.maximum(np.nanstd(vectors, axis=0), MIN_STD),
            within_std=np.maximum(np.sqrt(np.nanmean(within, axis=0)), MIN_STD),
            speakers=len(names),
        )

    @property
    def between_std(self) -> np.ndarray:
        """Spread of speakers' means around the population mean (total variance less within-speaker)."""
        return np.sqrt(np.maximum(self.std**2 - self.within_std**2, MIN_STD**2))

    def typicality(self, speaker_mean: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """Per dimension, ``exp(-d²/2)`` where d is how many standard deviations the speaker's mean lies from
        the population's: between speakers, plus the noise of a mean of ``counts`` utterances. About 0.6 for
        a typical speaker (d = 1), under 0.02 beyond three deviations; 1 where the speaker has no value."""
        spread = self.between_std**2 + self.within_std**2 / np.maximum(counts, 1)
        d2 = (speaker_mean - self.mean) ** 2 / np.maximum(spread, MIN_STD**2)
        return np.where(counts > 0, np.exp(-0.5 * np.nan_to_num(d2, nan=0.0)), 1.0)

    def to_dict(self) -> dict[str, object]:
        return {"mean": self.mean.astype(np.float32), "std": self.std.astype(np.float32),
                "within_std": self.within_std.astype(np.float32), "speakers": self.speakers}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> PopulationBaseline:
        return cls(mean=np.asarray(data["mean"], np.float64), std=np.asarray(data["std"], np.float64),
                   within_std=np.asarray(data["within_std"], np.float64), speakers=int(data["speakers"]))  # type: ignore[arg-type]


def zscore(vectors: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """``(x - mean) / std`` with undefined entries (NaN) set to 0: "as usual for this speaker"."""
    z = (np.atleast_2d(vectors) - mean) / np.maximum(np.nan_to_num(std, nan=1.0), MIN_STD)
    return np.nan_to_num(z, nan=0.0, posinf=0.0, neginf=0.0)
