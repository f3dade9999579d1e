"""``callqa cases …`` and ``callqa agents …`` on a store of built calls, and the case export (HTML, JSON)."""

from __future__ import annotations

import base64
import io
import json
import re

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from engine.cases.export import export_case
from engine.cases.repository import CaseRepository
from engine.cli import app
from engine.record import Redaction
from engine.store import Store
from tests.callbuilder import build_scenarios, tools_available
from tests.test_cases import RULES, scored

pytestmark = pytest.mark.skipif(not tools_available(), reason="espeak-ng not installed (scripts/setup.sh installs it)")
runner = CliRunner()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build_scenarios(tmp_path_factory.mktemp("cli_calls"), "en")


@pytest.fixture
def db(built, tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'qa.db'}"
    with Store.open(url) as store:
        for call in built.values():
            store.save_analysis(scored(call))
    return url


def cli(*args: str, ok: bool = True):
    result = runner.invoke(app, list(args))
    if ok:
        assert result.exit_code == 0, result.output
    return result


def _json(*args: str):
    return json.loads(cli(*args, "--format", "json").stdout)


def test_trainer_workflow_on_the_command_line(db):
    assert "4 new candidate(s) from 7 call(s)" in cli("cases", "promote", "--db", db).stdout
    assert "0 new candidate(s)" in cli("cases", "promote", "--db", db, "--date", "2026-11-20").stdout
    candidates = _json("cases", "list", "--db", db, "--status", "candidate")
    assert len(candidates) == 4
    ids = {c["call_id"]: c["case_id"] for c in candidates}
    recovery = ids["recovery_en"]
    shown = _json("cases", "show", recovery, "--db", db)
    assert shown["kind"] == "recovery" and shown["annotation"]["questions"]
    refused = cli("cases", "reject", recovery, "--trainer", "tess", "--db", db, ok=False)
    assert refused.exit_code == 2 and "--reason" in refused.output
    cli("cases", "edit", recovery, "--trainer", "tess", "--background", "An angry caller, calmed.", "--db", db)
    cli("cases", "regrade", recovery, "--trainer", "tess", "--level", "2", "--db", db)
    cli("cases", "accept", recovery, "--trainer", "tess", "--db", db)
    cli("cases", "reject", ids["dead_air_en"], "--trainer", "tess", "--reason", "a line fault", "--db", db)
    shown = _json("cases", "show", recovery, "--db", db, "--versions")
    assert shown["level"] == 2 and shown["annotation"]["background"]["situation"] == "An angry caller, calmed."
    assert [v["version"] for v in shown["versions"]] == [1, 2]
    assert [h["action"] for h in shown["history"]] == ["promoted", "edited", "regraded", "accepted"]
    assert _json("cases", "list", "--db", db, "--level", "2", "--kind", "recovery")[0]["case_id"] == recovery
    again = cli("cases", "accept", recovery, "--trainer", "tess", "--db", db, ok=False)
    assert again.exit_code == 1 and "accepted" in again.stderr
    levels = _json("cases", "library", "--db", db)
    assert sum(s["training"] + s["test"] for s in levels) == 1 and levels[0]["target_test"] == 50
    cli("cases", "retire", recovery, "--trainer", "tess", "--reason", "old", "--db", db)
    assert _json("cases", "list", "--db", db, "--status", "retired")[0]["case_id"] == recovery
    assert cli("cases", "show", "case-nope", "--db", db, ok=False).exit_code == 1


def test_an_agent_moves_from_level_0_to_1_after_passing_level_1s_test_and_not_before(db):
    cli("cases", "promote", "--db", db)
    for case in _json("cases", "list", "--db", db):
        cli("cases", "accept", case["case_id"], "--trainer", "tess", "--level", "1", "--db", db)
    assert _json("agents", "show", "agent7", "--db", db)["level"] == 0
    test = _json("agents", "assessment", "agent7", "--db", db)
    keys = [q["key"] for q in test["questions"]]
    assert test["level"] == 1 and keys
    missing = cli("agents", "assess", "agent7", "--trainer", "tess", "--db", db, ok=False)
    assert missing.exit_code == 1 and "no result for" in missing.stderr
    failed = cli("agents", "assess", "agent7", "--trainer", "tess", *[a for k in keys for a in ("--fail", k)],
                 "--db", db)
    assert "stays below level 1" in failed.stdout
    assert _json("agents", "show", "agent7", "--db", db)["level"] == 0
    passed = cli("agents", "assess", "agent7", "--trainer", "tess", *[a for k in keys for a in ("--pass", k)],
                 "--db", db)
    assert "moved up to level 1" in passed.stdout
    agent = _json("agents", "show", "agent7", "--db", db)
    assert agent["level"] == 1 and [a["moved_up"] for a in agent["assessments"]] == [False, True]
    assert _json("agents", "list", "--db", db)[0]["level"] == 1


# ---- export --------------------------------------------------------------------------------------------

def _accepted(db: str) -> tuple[CaseRepository, dict[str, object]]:
    store = Store.open(db)
    repo = CaseRepository(store, rules=RULES)
    repo.promote()
    cases = {}
    for summary in repo.candidates():
        cases[summary.call_id] = repo.accept(summary.case_id, "tess")
    return repo, cases


def _clip(html: str) -> tuple[np.ndarray, int] | None:
    found = re.search(r'src="data:audio/wav;base64,([^"]+)"', html)
    return sf.read(io.BytesIO(base64.b64decode(found.group(1)))) if found else None


def test_the_html_export_hides_test_answers_and_keeps_the_original_audio_in_unless_asked(db, tmp_path):
    repo, cases = _accepted(db)
    test_case = next(c for c in cases.values() if c.half == "test")
    training_case = next((c for c in cases.values() if c.half == "training"), None)
    analysis = repo.analysis(test_case)
    out = tmp_path / "case.html"
    export_case(test_case, analysis, out, "html", RULES.export)
    html = out.read_text(encoding="utf-8")
    assert html.count('class="answer" hidden') == len(test_case.annotation.questions) > 0
    assert "Redaction was off" in html and _clip(html) is None
    for t in test_case.annotation.turns:
        assert f'data-t="{t.start}"' in html
    assert "Plotly.newPlot" in html and '"valence"' not in html.split("<script>")[0]
    export_case(test_case, analysis, out, "html", RULES.export, with_audio=True)
    html = out.read_text(encoding="utf-8")
    samples, rate = _clip(html)
    offset = float(re.search(r'data-offset="([0-9.]+)"', html).group(1))
    for moment in [q.time for q in test_case.annotation.questions] + [r.end for r in test_case.reasons]:
        assert offset + RULES.export.clip_padding_s - 0.01 <= moment or offset == 0.0
        assert moment + RULES.export.clip_padding_s <= offset + len(samples) / rate + 0.01
    assert len(samples) / rate < analysis.call.duration  # a clip around the moments, not the whole call
    if training_case is not None:
        export_case(training_case, repo.analysis(training_case), out, "html", RULES.export)
        assert 'class="answer" hidden' not in out.read_text(encoding="utf-8")
    repo.store.close()


def test_a_redacted_call_exports_its_redacted_copy_never_the_original(db, tmp_path):
    repo, cases = _accepted(db)
    case = next(iter(cases.values()))
    analysis = repo.analysis(case)
    original, rate = sf.read(analysis.call.source)
    masked = tmp_path / "redacted.wav"
    sf.write(masked, np.zeros_like(original), rate)  # the redacted copy: here, all masked
    redacted = analysis.model_copy(update={"redaction": Redaction(counts={"phone": 1}, audio=str(masked))})
    out = tmp_path / "case.html"
    export_case(case, redacted, out, "html", RULES.export, with_audio=True)
    html = out.read_text(encoding="utf-8")
    samples, _ = _clip(html)
    assert "Redaction was on" in html and len(samples) and not np.any(samples)
    gone = analysis.model_copy(update={"redaction": Redaction(counts={}, audio=str(tmp_path / "missing.wav"))})
    export_case(case, gone, out, "html", RULES.export, with_audio=True)
    assert _clip(out.read_text(encoding="utf-8")) is None  # no fallback to the original
    result = cli("cases", "export", case.case_id, "--format", "json", "--out", str(tmp_path / "c.json"), "--db", db)
    assert "c.json" in result.stdout
    data = json.loads((tmp_path / "c.json").read_text(encoding="utf-8"))
    assert data["case_id"] == case.case_id and data["redacted"] is False and data["annotation"]["turns"]
    repo.store.close()
