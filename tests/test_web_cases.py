"""The voice-case pages of ``callqa serve`` in-process (httpx against the ASGI app): the candidates queue and the
library with their filters, the case page and its clip, test-half answers, the trainer's actions, security.

The calls are constructed analyses (``tests.callbuilder.analysis_of``: turns, oracle emotions and events, no
audio models) over tone recordings written here, so the whole file runs in seconds.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from markupsafe import escape
from starlette.testclient import TestClient

from engine.cases.export import case_moments
from engine.cases.library import case_half
from engine.cases.repository import CaseRepository, case_id_for
from engine.record import CallAnalysis, Event, Evidence, RedactedSpan, Redaction
from engine.store import Store
from engine.web import create_app
from engine.web.auth import add_reviewer
from tests.callbuilder import analysis_of, turn
from tests.test_web import csrf, sign_in
from tests.webdata import SCRIPT, write_recording

PASSWORD = "correct horse battery"


def _hash_in_half(prefix: str, half: str, repo: CaseRepository) -> str:
    """A content hash whose case falls in ``half`` (the split is a seeded hash of the case id)."""
    for n in range(1000):
        content_hash = f"{prefix}{n:04d}".ljust(64, "0")
        if case_half(case_id_for(content_hash), repo.rules.library) == half:
            return content_hash
    raise AssertionError(f"no {half} case in 1000 tries")


def _call(call_id: str, content_hash: str, source: Path, agent: str, day: str, turns, events,
          language: str = "en") -> CallAnalysis:
    analysis = analysis_of(turns, language=language, duration=40.0, events=events)
    analysis.call.call_id, analysis.call.content_hash, analysis.call.source = call_id, content_hash, str(source)
    analysis.call.metadata.update({"agent_id": agent, "call_start": f"{day}T09:00:00"})
    analysis.config_hash = "cfg1"
    return analysis


def _lapse(call_id: str, content_hash: str, source: Path, customer_text: str = "This is unacceptable!"
           ) -> CallAnalysis:
    """The agent loses composure at 0:09 (a defect candidate with three questions)."""
    turns = [turn("agent", 0, 3, "Thank you for calling, how can I help?", "neutral"),
             turn("customer", 4, 8, f"This is the third time I call, my bill is wrong! {customer_text}", "angry"),
             turn("agent", 9, 12, "Well it is not my fault, stop shouting at me!", "angry"),
             turn("customer", 13, 16, "Unbelievable.", "angry")]
    lapse = Event(kind="defect.agent_lost_composure", severity="high", start=9, end=12, confidence=0.9,
                  speaker="channel_0", evidence=[Evidence(start=9, end=12, speaker="channel_0", words=turns[2].text)])
    return _call(call_id, content_hash, source, "a7", "2026-11-20", turns, [lapse])


def _calmed(call_id: str, content_hash: str, source: Path) -> CallAnalysis:
    """A Mandarin customer calmed by the agent's apology (a recovery candidate), from 0:12 on: its clip starts
    after the call does."""
    turns = [turn("agent", 12, 15, "您好，请问有什么可以帮您？", "neutral"),
             turn("customer", 16, 20, "我的账单又错了，太过分了！", "angry"),
             turn("agent", 21, 24, "非常抱歉，我理解您的心情，我马上为您处理。", "neutral"),
             turn("customer", 25, 28, "好的，谢谢。", "satisfied")]
    calmed = Event(kind="recovery.customer_calmed", severity="info", start=21, end=28,
                   evidence=[Evidence(start=21, end=24, speaker="channel_0", words=turns[2].text)])
    return _call(call_id, content_hash, source, "b2", "2026-11-21", turns, [calmed], language="zh")


@pytest.fixture
def library(tmp_path):
    """A store with four defect/recovery candidates (one redacted, one whose redacted copy is gone) and a clean
    call; yields the client, the repository and call id -> case id."""
    original = write_recording(tmp_path / "original.wav", seconds=40)
    silent = tmp_path / "redacted.wav"
    sf.write(silent, np.zeros(40 * 8000, dtype=np.float32), 8000, subtype="PCM_16")
    with Store.open(f"sqlite:///{tmp_path / 'cases.db'}") as store:
        repo = CaseRepository(store)
        calls = [_lapse("lapse-1", _hash_in_half("a", "test", repo), original, customer_text=SCRIPT),
                 _calmed("calmed-2", _hash_in_half("b", "training", repo), original)]
        for call_id, copy in (("masked-3", silent), ("masked-4", tmp_path / "gone.wav")):
            masked = _lapse(call_id, _hash_in_half(call_id[-1], "test", repo), original)
            masked.redaction = Redaction(counts={"card": 1}, audio=str(copy),
                                         spans=[RedactedSpan(entity="card", start=5.0, end=6.0, channel=1)])
            calls.append(masked)
        calls.append(_call("clean-5", "e" * 64, original, "a7", "2026-11-20",
                           [turn("agent", 0, 3, "Hello, how can I help?", "neutral"),
                            turn("customer", 4, 6, "Just checking my balance.", "neutral")], []))
        for analysis in calls:
            store.save_analysis(analysis)
        repo.promote()
        add_reviewer(store, "tess", PASSWORD)
        ids = {c.call_id: c.case_id for c in repo.search()}
        with TestClient(create_app(store)) as client:
            yield client, repo, ids


def _trainer(client: TestClient) -> str:
    sign_in(client, "tess", PASSWORD)
    return client.cookies["csrftoken"]


def _html(text: str) -> str:
    return str(escape(text))


def _ids(client: TestClient, query: str = "") -> set[str]:
    response = client.get(f"/api/cases?{query}")
    assert response.status_code == 200, response.text
    return {c["call_id"] for c in response.json()["cases"]}


# ---- the queue and the library ------------------------------------------------------------------------

def test_the_queue_lists_candidates_with_their_reasons_and_the_library_fill(library):
    client, _, ids = library
    assert _ids(client) == {"lapse-1", "calmed-2", "masked-3", "masked-4"}  # never the clean call
    html = client.get("/cases").text
    assert '<a href="/cases" aria-current="page">Cases</a>' in html
    assert f'href="/cases/{ids["lapse-1"]}"' in html
    assert "agent_lost_composure · defect.agent_lost_composure · high · 0:09.0" in html
    assert "recovery · recovery.customer_calmed · info · 0:21.0" in html
    assert 'id="library"' in html and "0 / 50" in html  # each level's halves against the target
    data = client.get("/api/cases").json()
    assert data["status"] == "candidate" and [s["level"] for s in data["library"]] == [1, 2, 3, 4, 5]
    lapse = next(c for c in data["cases"] if c["call_id"] == "lapse-1")
    assert (lapse["agent_id"], lapse["language"], lapse["call_date"], lapse["kind"]) == ("a7", "en", "2026-11-20",
                                                                                        "defect")


def test_the_library_filters_and_refuses_bad_values(library):
    client, repo, ids = library
    assert _ids(client, "kind=recovery") == {"calmed-2"}
    assert _ids(client, "language=zh") == {"calmed-2"}
    assert _ids(client, "agent=b2") == {"calmed-2"}
    assert _ids(client, "day=2026-11-21") == {"calmed-2"}
    level = repo.case(ids["calmed-2"]).level
    assert "calmed-2" in _ids(client, f"level={level}")
    driver = repo.case(ids["calmed-2"]).driver
    assert "calmed-2" in _ids(client, f"driver={driver.split(',')[0]}")
    assert _ids(client, "status=accepted") == set()
    repo.accept(ids["calmed-2"], "tess")
    assert _ids(client, "status=accepted&half=training") == {"calmed-2"}
    assert _ids(client, "status=accepted&half=test") == set()
    assert _ids(client, "status=any") == {"lapse-1", "calmed-2", "masked-3", "masked-4"}
    for query in ("level=9", "level=two", "kind=nonsense", "half=middle", "status=done", "day=21-11-2026"):
        response = client.get(f"/api/cases?{query}")
        assert response.status_code == 400, query
        assert client.get(f"/cases?{query}").status_code == 400
    assert "level: use a level from 1 to 5" in client.get("/cases?level=9").text


# ---- the case page and its clip -----------------------------------------------------------------------

def test_the_case_page_shows_transcript_marks_trajectories_questions_and_the_clip_player(library):
    client, repo, ids = library
    case = repo.case(ids["calmed-2"])
    html = client.get(f"/cases/{case.case_id}").text
    for t in case.annotation.turns:
        assert f'data-seek="{t.start}"' in html and _html(t.text) in html  # each time seeks the player
    assert 'lang="zh"' in html and "我的账单又错了" in html
    assert "recovery.customer_calmed" in html and 'class="mark highlight"' in html
    assert 'id="trajectories"' in html and '"trajectories"' in html.split('id="plot-data"')[1]
    assert "/static/plotly.min.js" in html and "/static/case.css" in html
    for q in case.annotation.questions:  # a training-half candidate: the references are on the page
        assert _html(q.prompt) in html and _html(q.reference_answer) in html
    assert "<h2>History</h2>" in html and "promoted" in html and "v1 by engine" in html
    assert _html(case.annotation.background.situation) in html and _html(case.annotation.outcome.summary) in html
    assert '<audio id="player"' not in html  # redaction was off: no clip for a reader who is not signed in
    assert "played only to a signed-in reviewer" in html
    _trainer(client)
    html = client.get(f"/cases/{case.case_id}").text
    player = re.search(r'<audio id="player"[^>]*src="([^"]+)" data-offset="([0-9.]+)"', html)
    assert player and player.group(1) == f"/cases/{case.case_id}/clip"
    first = min(case_moments(case))[0]  # the first question's turn, padded: where the clip starts in the call
    assert float(player.group(2)) == pytest.approx(first - repo.rules.export.clip_padding_s, abs=0.01)
    assert float(player.group(2)) > 0
    data = client.get(f"/api/cases/{case.case_id}").json()
    assert data["case"]["case_id"] == case.case_id and [v["version"] for v in data["versions"]] == [1]
    assert data["clip"]["source"] == "original"
    missing = client.get("/cases/case-0000000000000000")
    assert missing.status_code == 404 and "no case case-0000000000000000" in missing.text


def test_the_clip_is_a_wav_around_the_case_with_ranges_for_a_signed_in_reviewer(library):
    client, _, ids = library
    refused = client.get(f"/cases/{ids['lapse-1']}/clip")
    assert refused.status_code == 404 and "signed-in reviewer" in refused.text
    _trainer(client)
    clip = client.get(f"/cases/{ids['lapse-1']}/clip")
    assert clip.status_code == 200 and clip.headers["content-type"] == "audio/wav"
    samples, rate = sf.read(io.BytesIO(clip.content))
    assert 5 < len(samples) / rate < 40 and np.abs(samples).max() > 0.01  # a clip of the tone, not the call
    part = client.get(f"/cases/{ids['lapse-1']}/clip", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.content) == 100 and part.content == clip.content[:100]
    assert part.headers["content-range"] == f"bytes 0-99/{len(clip.content)}"


def test_a_redacted_case_plays_its_redacted_copy_and_never_the_original(library):
    client, _, ids = library
    for signed_in in (False, True):
        if signed_in:
            _trainer(client)
        clip = client.get(f"/cases/{ids['masked-3']}/clip")
        assert clip.status_code == 200
        samples, _ = sf.read(io.BytesIO(clip.content))
        assert np.abs(samples).max() == 0.0  # the silent redacted copy, not the tone of the original
        gone = client.get(f"/cases/{ids['masked-4']}/clip")  # the copy is missing: nothing, never the original
        assert gone.status_code == 404 and "redacted copy" in gone.text
    html = client.get(f"/cases/{ids['masked-4']}").text
    assert "Redaction was on" in html and '<audio id="player"' not in html


def test_test_half_reference_answers_stay_off_the_page_until_answers_are_posted(library):
    client, repo, ids = library
    candidate = repo.case(ids["lapse-1"])
    references = [q.reference_answer for q in candidate.annotation.questions]
    html = client.get(f"/cases/{candidate.case_id}").text  # a candidate bound for the test half (seeded hash)
    assert len(references) >= 2 and all(_html(ref) not in html for ref in references)
    case = repo.accept(ids["lapse-1"], "tess")
    assert case.half == "test"
    html = client.get(f"/cases/{case.case_id}").text
    assert all(_html(ref) not in html for ref in references)
    assert f'action="/cases/{case.case_id}/answers"' in html and 'name="answer:0"' in html
    assert all(q["reference_answer"] == "" for q in
               client.get(f"/api/cases/{case.case_id}").json()["case"]["annotation"]["questions"])
    token = csrf(client)
    answered = client.post(f"/cases/{case.case_id}/answers", data={"csrftoken": token,
                                                                 "answer:0": "The customer was <b>angry</b>"})
    assert answered.status_code == 200
    assert "The customer was &lt;b&gt;angry&lt;/b&gt;" in answered.text  # their answer, escaped
    assert _html(references[0]) in answered.text
    assert all(_html(ref) not in answered.text for ref in references[1:])
    assert 'name="answer:1"' in answered.text  # the others can still be answered
    api = client.post(f"/api/cases/{case.case_id}/answers", data={"csrftoken": token, "answer:1": "x"}).json()
    assert api["case"]["annotation"]["questions"][1]["reference_answer"] == references[1]
    assert client.post(f"/cases/{case.case_id}/answers", data={"csrftoken": token}).status_code == 400
    assert client.post(f"/cases/{case.case_id}/answers", data={"answer:0": "x"}).status_code == 403  # no token


# ---- the trainer's actions ----------------------------------------------------------------------------

def test_writes_without_a_signed_in_trainer_or_a_csrf_token_are_refused(library):
    client, repo, ids = library
    case_id = ids["lapse-1"]
    for action, form in (("accept", {}), ("reject", {"reason": "x"}), ("regrade", {"level": "2"}),
                         ("retire", {"reason": "x"}), ("edit", {"situation": "x"})):
        assert client.post(f"/cases/{case_id}/{action}", data=form).status_code == 403, action
        token = csrf(client)
        assert client.post(f"/cases/{case_id}/{action}", data={**form, "csrftoken": token}).status_code == 403
    assert client.get(f"/cases/{case_id}/edit", follow_redirects=False).headers["location"].startswith("/login")
    _trainer(client)
    assert client.post(f"/cases/{case_id}/accept", data={}).status_code == 403  # signed in, no token
    assert client.post(f"/cases/{case_id}/accept", data={"csrftoken": "forged"}).status_code == 403
    case = repo.case(case_id)
    assert case.status == "candidate" and [h.action for h in case.history] == ["promoted"]


def test_accept_regrade_retire_and_reject_change_the_case_and_its_history(library):
    client, repo, ids = library
    token = _trainer(client)
    case_id = ids["calmed-2"]
    response = client.post(f"/cases/{case_id}/accept", data={"csrftoken": token, "level": "2"},
                           follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/cases/{case_id}"
    assert (repo.case(case_id).status, repo.case(case_id).level) == ("accepted", 2)
    again = client.post(f"/cases/{case_id}/accept", data={"csrftoken": token})
    assert again.status_code == 409 and "only a candidate" in again.text
    assert client.post(f"/cases/{case_id}/regrade", data={"csrftoken": token, "level": "9"}).status_code == 400
    regraded = client.post(f"/api/cases/{case_id}/regrade", data={"csrftoken": token, "level": "3",
                                                                 "note": "harder than it looks"})
    assert regraded.status_code == 200 and regraded.json()["grade"]["by"] == "tess"
    html = client.get(f"/cases/{case_id}").text
    assert "regraded by tess" in html and "harder than it looks" in html
    assert client.post(f"/cases/{case_id}/retire", data={"csrftoken": token}).status_code == 400  # no reason
    client.post(f"/cases/{case_id}/retire", data={"csrftoken": token, "reason": "old tariff"})
    case = repo.case(case_id)
    assert case.status == "retired" and case.decision_reason == "old tariff"
    assert [h.action for h in case.history] == ["promoted", "accepted", "regraded", "retired"]
    assert all(h.actor == "tess" for h in case.history[1:])
    assert client.post(f"/cases/{ids['masked-3']}/reject", data={"csrftoken": token}).status_code == 400
    client.post(f"/cases/{ids['masked-3']}/reject", data={"csrftoken": token, "reason": "line fault"})
    assert repo.case(ids["masked-3"]).status == "rejected"
    assert "line fault" in client.get(f"/cases/{ids['masked-3']}").text
    assert client.post("/cases/case-0000000000000000/accept", data={"csrftoken": token}).status_code == 404


def test_an_edit_is_a_new_annotation_version_built_from_the_form(library):
    client, repo, ids = library
    token = _trainer(client)
    case_id = ids["lapse-1"]
    before = repo.case(case_id).annotation
    form = client.get(f"/cases/{case_id}/edit").text
    assert _html(before.questions[0].reference_answer) in form and 'name="note:2"' in form  # trainers edit references
    response = client.post(f"/cases/{case_id}/edit", follow_redirects=False, data={
        "csrftoken": token, "situation": "A repeat caller about a wrong bill.", "outcome_summary": "Not solved.",
        "resolved": "no", "note:2": "blames the customer", "prompt:0": "What did the customer want?",
        "reference:0": "A corrected bill, at last.", "edit_note": "tightened"})
    assert response.status_code == 303
    case = repo.case(case_id)
    edited = case.annotation
    assert edited.background.situation == "A repeat caller about a wrong bill."
    assert (edited.outcome.summary, edited.outcome.resolved) == ("Not solved.", False)
    assert edited.turns[2].note == "blames the customer" and edited.turns[1].note == before.turns[1].note
    assert (edited.questions[0].prompt, edited.questions[0].reference_answer) == (
        "What did the customer want?", "A corrected bill, at last.")
    assert edited.questions[1] == before.questions[1] and edited.marks == before.marks
    assert case.annotation_version == 2 and [v.version for v in repo.annotation_versions(case_id)] == [1, 2]
    assert case.history[-1].action == "edited" and case.history[-1].detail["note"] == "tightened"
    assert "blames the customer" in client.get(f"/cases/{case_id}").text
    for bad in ({"situation": " "}, {"resolved": "maybe"}, {"reference:0": ""}, {}):
        assert client.post(f"/cases/{case_id}/edit", data={"csrftoken": token, **bad}).status_code == 400, bad
    assert repo.case(case_id).annotation_version == 2


def test_an_agent_moves_from_level_0_to_1_in_the_browser_after_passing_level_1s_test_and_not_before(library):
    client, repo, ids = library
    for call_id in ("lapse-1", "masked-3"):  # both in the test half, both agent a7's
        repo.accept(ids[call_id], "tess", level=1)
    page = client.get("/agents/a7").text
    assert "level <span id=\"agent-level\">0</span>" in page and 'name="result:' not in page  # signed out: no test
    assert client.post("/agents/a7/assess", data={"csrftoken": csrf(client)}).status_code == 403
    token = _trainer(client)
    questions = repo.assessment_questions(1)
    page = client.get("/agents/a7").text
    assert all(f'name="result:{q.case_id}:{q.index}"' in page for q in questions)

    def assess(result: str, leave_out: int = 0) -> int:
        marks = {f"result:{q.case_id}:{q.index}": result for q in questions[leave_out:]}
        return client.post("/agents/a7/assess", data={"csrftoken": token, **marks}, follow_redirects=False
                           ).status_code

    assert assess("pass", leave_out=1) == 400  # every question must be marked
    assert assess("fail") == 303 and repo.agent("a7").level == 0
    assert assess("pass") == 303 and repo.agent("a7").level == 1
    data = client.get("/api/agents/a7").json()
    assert data["agent"]["level"] == 1 and [a["moved_up"] for a in data["agent"]["assessments"]] == [False, True]
    assert "1 / 5" in client.get("/agents").text
    assert client.get("/agents/nobody").status_code == 404


def test_untrusted_text_in_a_case_is_escaped(library):
    client, _, ids = library
    _trainer(client)
    for path in (f"/cases/{ids['lapse-1']}", "/cases", f"/cases/{ids['lapse-1']}/edit"):
        html = client.get(path).text
        assert SCRIPT not in html, path
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in client.get(f"/cases/{ids['lapse-1']}").text


def test_serve_passes_the_cases_section_to_the_app(tmp_path, monkeypatch):
    import typer
    import uvicorn
    from typer.testing import CliRunner

    import engine.web
    from engine.cases.config import CasesConfig
    from engine.cli import serve

    seen = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: None)
    monkeypatch.setattr(engine.web, "create_app", lambda *args, **kw: seen.append(args) or object())
    config = tmp_path / "centre.yaml"
    config.write_text("cases:\n  enabled: false\n", encoding="utf-8")
    db = tmp_path / "callqa.db"
    Store.open(f"sqlite:///{db}").close()
    app = typer.Typer()
    serve.register(app)
    result = CliRunner().invoke(app, ["serve", "--db", f"sqlite:///{db}", "--config", str(config)])
    assert result.exit_code == 0, result.output
    [args] = seen
    assert isinstance(args[-1], CasesConfig) and args[-1].enabled is False
    config.write_text(f"cases:\n  rules: {tmp_path / 'missing.yaml'}\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["serve", "--db", f"sqlite:///{db}", "--config", str(config)])
    assert result.exit_code == 2 and "missing.yaml" in result.output  # a bad rules file stops the server at start
