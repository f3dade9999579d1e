"""Transcription benchmark: the engine's profiles beside bare faster-whisper with its own defaults, one run.

    .venv/bin/python -m bench.bench_asr                 # everything (about 25 min on 2 busy cores)
    .venv/bin/python -m bench.bench_asr --no-long       # without the 4-minute stereo call

Every row transcribes the same files in the same process:

- ``engine <profile>``: ``Engine.run`` (intake and transcription, language detected as for a user);
- ``bare <model>``: ``WhisperModel.transcribe(audio)`` with faster-whisper's own defaults (beam 5,
  temperature fallback 0.0 … 1.0, previous text as prompt, no VAD), language detected likewise; for
  the Mandarin clip, ``initial_prompt`` is the engine's Mandarin prompt.

Quality (WER, Mandarin CER) is text lower-cased and stripped of punctuation. ``telephone_2spk`` is scored
against its ``.stm`` (all speakers' words in time order). ``lca_49_stereo`` has no reference text: its two
channels give speed and loops (windows whose repeated tail was cut; for bare faster-whisper, segments over
the compression-ratio threshold and the longest segment in tokens). Times are wall-clock seconds on a
warm model, once per file: on a shared machine they vary by up to 2x, the error rates do not. Bare runs are
cached in ``~/.cache/callqa/bench_asr`` (keyed by faster-whisper's version), so a rerun mostly costs the
engine's own time.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from bench.common import peak_memory_mb, shared_data_or_exit

CACHE = Path.home() / ".cache" / "callqa" / "bench_asr"
ZH_PROMPT = "以下是普通话的句子。"


@dataclass(frozen=True)
class Item:
    name: str
    path: Path
    language: str  # what the reference is in: "en" is scored by words, "zh" by characters
    reference: str | None
    group: str


def stm_text(path: Path) -> str:
    """The words of an NIST .stm file, segment after segment (fields 6 on are the words)."""
    lines = [line.split(maxsplit=5) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return " ".join(fields[5] for fields in lines if len(fields) == 6)


def items(data: Path, long: bool) -> list[Item]:
    asr = data / "asr"
    found = [
        Item("telephone_2spk", data / "calls" / "telephone_2spk.wav", "en",
             stm_text(data / "calls" / "telephone_2spk.stm"), "telephone"),
        Item("harvard_8k", asr / "en" / "harvard_8k.wav", "en", (asr / "en" / "harvard_8k.txt").read_text(), "harvard"),
        Item("jfk", asr / "en" / "jfk.flac", "en", (asr / "en" / "jfk.txt").read_text(), "shared_en"),
        Item("librispeech_1995", asr / "en" / "librispeech_1995.wav", "en",
             (asr / "en" / "librispeech_1995.txt").read_text(), "shared_en"),
        Item("aishell_0121", asr / "zh" / "aishell_0121.wav", "zh", (asr / "zh" / "aishell_0121.txt").read_text(),
             "aishell"),
    ]
    if long:
        found.append(Item("lca_49_stereo", data / "calls" / "real" / "lca_49_stereo.wav", "en", None, "lca"))
    return found


class CutCounter(logging.Handler):
    """Counts the engine's 'cut a repeated tail' warnings: each is one window that looped."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.cuts = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "repeated tail" in record.getMessage():
            self.cuts += 1


def run_engine(profile: str, files: list[Item]) -> dict[str, dict]:
    from engine.config import load_config
    from engine.pipeline import Engine

    engine = Engine(load_config(overrides={"asr": {"profile": profile}}))
    counter = CutCounter()
    logging.getLogger("engine.asr.transcriber").addHandler(counter)
    engine.run(files[0].path)  # warm-up: models loaded, VAD session started
    results = {}
    for item in files:
        counter.cuts = 0
        started = time.perf_counter()
        analysis = engine.run(item.path)
        seconds = time.perf_counter() - started
        transcript = analysis.transcript
        results[item.name] = {"text": transcript.text, "seconds": seconds, "audio_s": analysis.call.duration,
                              "channels": analysis.call.channels, "loops": counter.cuts,
                              "model": transcript.model, "language": transcript.language}
    logging.getLogger("engine.asr.transcriber").removeHandler(counter)
    return results


def run_bare(model_name: str, files: list[Item]) -> dict[str, dict]:
    import faster_whisper
    from faster_whisper import WhisperModel, decode_audio

    from engine.models import resolve_whisper_model

    model: WhisperModel | None = None
    results = {}
    for item in files:
        key = hashlib.sha256(f"{faster_whisper.__version__}|{model_name}|{item.path}|defaults-v1".encode()).hexdigest()
        cached = CACHE / f"{key[:20]}.json"
        if cached.exists():
            results[item.name] = json.loads(cached.read_text(encoding="utf-8"))
            continue
        if model is None:
            model = WhisperModel(str(resolve_whisper_model(model_name)), device="cpu", compute_type="int8")
        started = time.perf_counter()
        # A stereo file is transcribed channel by channel, as the engine does.
        channels = decode_audio(str(item.path), split_stereo=True) if item.name == "lca_49_stereo" else [
            decode_audio(str(item.path))]
        texts, loops, longest, audio_s = [], 0, 0, 0.0
        for audio in channels:
            prompt = ZH_PROMPT if item.language == "zh" and model.model.is_multilingual else None
            segments, _ = model.transcribe(audio, initial_prompt=prompt)
            segments = list(segments)
            texts.append(("" if item.language == "zh" else " ").join(s.text.strip() for s in segments))
            loops += sum(s.compression_ratio > 2.4 for s in segments)
            longest = max([longest] + [len(s.tokens) for s in segments])
            audio_s = len(audio) / 16000
        result = {"text": " ".join(texts), "seconds": time.perf_counter() - started, "audio_s": audio_s,
                  "channels": len(channels), "loops": loops, "longest_segment_tokens": longest, "model": model_name}
        CACHE.mkdir(parents=True, exist_ok=True)
        cached.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
        results[item.name] = result
    return results


def error_rates(files: list[Item], results: dict[str, dict]) -> dict[str, float | None]:
    """Error per group: corpus WER over the group's files (CER for Mandarin); None without reference."""
    from engine.evaluation import character_error_rate, word_error_rate

    groups: dict[str, list[Item]] = {}
    for item in files:
        if item.reference is not None and item.name in results:
            groups.setdefault(item.group, []).append(item)
    out: dict[str, float | None] = {}
    for group, members in groups.items():
        refs = [m.reference or "" for m in members]
        hyps = [results[m.name]["text"] for m in members]
        metric = character_error_rate if members[0].language == "zh" else word_error_rate
        out[group] = metric(refs, hyps)
    return out


def rtf(files: list[Item], results: dict[str, dict], names: set[str]) -> float:
    done = [results[f.name] for f in files if f.name in names and f.name in results]
    return sum(r["seconds"] for r in done) / sum(r["audio_s"] * r["channels"] for r in done)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-long", action="store_true", help="skip the 4-minute stereo call")
    parser.add_argument("--profiles", default="accurate,fast")
    parser.add_argument("--json", type=Path, help="also write every result here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    files = items(shared_data_or_exit(), long=not args.no_long)
    english = [f for f in files if f.name != "aishell_0121"]
    rows: dict[str, dict[str, dict]] = {}
    for profile in args.profiles.split(","):
        rows[f"engine {profile}"] = run_engine(profile, files)
    rows["bare base (defaults)"] = run_bare("base", files)
    rows["bare tiny.en (defaults)"] = run_bare("tiny.en", english)

    english_names = {f.name for f in english if f.reference is not None}
    print(f"\n{'run':24} {'telephone':>9} {'harvard':>8} {'jfk+libri':>9} {'aishell':>8} "
          f"{'RTF en':>7} {'RTF zh':>7} {'lca RTF':>8} {'lca loops':>9}")
    print(f"{'':24} {'WER':>9} {'WER':>8} {'WER':>9} {'CER':>8}")
    summary = {}
    for label, results in rows.items():
        errors = error_rates(files, results)
        lca = results.get("lca_49_stereo")

        def pct(group: str, _errors: dict = errors) -> str:
            value = _errors.get(group)
            return "-" if value is None else f"{value:.2%}"

        zh = "aishell_0121" in results
        print(f"{label:24} {pct('telephone'):>9} {pct('harvard'):>8} {pct('shared_en'):>9} {pct('aishell'):>8} "
              f"{rtf(files, results, english_names):>7.3f} "
              f"{(rtf(files, results, {'aishell_0121'}) if zh else float('nan')):>7.3f} "
              f"{(rtf(files, results, {'lca_49_stereo'}) if lca else float('nan')):>8.3f} "
              f"{(lca['loops'] if lca else '-')!s:>9}")
        summary[label] = {"errors": errors, "files": results}
    for label, results in rows.items():
        models = sorted({f"{r.get('model')}" for r in results.values()})
        print(f"  {label}: models {', '.join(models)}")
    print(f"peak memory {peak_memory_mb():.0f} MB (the whole process, every model loaded)")
    if args.json:
        args.json.write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
