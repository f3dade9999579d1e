"""The web application in-process (httpx against the ASGI app): pages, JSON twins, review, security.

Browser behaviour (the player seeking, sorting, scripts not running) is in ``test_web_browser.py``.
"""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from starlette.testclient import TestClient

from engine.store import Store
from engine.store.reviewing import reviewer_hash
from engine.summary import daily_summary
from engine.web import create_app
from engine.web.auth import add_reviewer
from tests.webdata import SCRIPT, small_store, write_recording

DAY = "2026-11-19"
PASSWORD = "correct horse battery"


@pytest.fixture
def site(tmp_path):
    with Store.open(f"sqlite:///{tmp_path / 'callqa.db'}") as store:
        keys = small_store(store, write_recording(tmp_path / "call.wav"))
        add_reviewer(store, "lee", PASSWORD)
        with TestClient(create_app(store)) as client:
            yield client, store, keys


def csrf(client: TestClient) -> str:
    client.get("/login")
    return client.cookies["csrftoken"]


def sign_in(client: TestClient, name: str = "lee", password: str = PASSWORD) -> None:
    response = client.post("/login", data={"name": name, "password": password, "csrftoken": csrf(client),
                                           "next": "/"}, follow_redirects=False)
    assert response.status_code == 303, response.text


def test_every_page_and_its_json_twin_answer(site):
    client, _, keys = site
    for path in ("/", f"/?date={DAY}", "/calls", f"/calls/{keys['billing-1']}", "/calls/billing-1",
                 "/review/agreement", "/login", f"/drivers?date={DAY}"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/html")
    for path in (f"/api/summary?date={DAY}", "/api/calls", "/api/calls/billing-1", "/api/review/agreement",
                 f"/api/drivers?date={DAY}"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"] == "application/json"


def test_dashboard_shows_the_days_summary_and_its_twin_matches_callqa_summary(site):
    client, store, _ = site
    data = client.get(f"/api/summary?date={DAY}").json()
    expected = daily_summary(store, date(2026, 11, 19)).to_dict()
    assert data["summary"] == json.loads(json.dumps(expected))  # the same figures as `callqa summary`
    assert (data["summary"]["calls"], data["summary"]["failed"]) == (4, 1)
    assert {d["defect"] for d in data["top_defects"]} >= {"Offers a solution", "defect.unresolved_escalation"}
    assert [a["trigger"] for a in data["alerts"]] == []  # alerts are raised by the batch's triggers, none here
    assert [p["day"] for p in data["trend"]] == ["2026-11-18", DAY]
    html = client.get(f"/?date={DAY}").text
    for text in ("Calls recorded on 2026-11-19", "ana", "chen", "Offers a solution", 'id="agent-table"'):
        assert text in html


def test_dashboard_defaults_to_the_latest_day_and_marks_calls_dated_by_processing(site):
    client, *_ = site
    data = client.get("/api/summary").json()
    assert data["day"] == date.today().isoformat() or data["day"] > DAY  # the undated call, filed when stored
    assert data["summary"]["dated_by_processing"] == 1
    assert "filed under the day they were processed" in client.get("/").text
    assert client.get("/?date=19-11-2026").status_code == 400


def test_search_filters_by_each_field_and_pages_on_the_server(site):
    client, *_ = site

    def ids(query: str) -> set[str]:
        data = client.get(f"/api/calls?{query}").json()
        return {row["call"]["call_id"] for row in data["calls"]}

    assert ids(f"from={DAY}&to={DAY}") == {"billing-1", "parcel-2", "zh-3", "inject-4"}
    assert ids("agent=ana") == {"billing-1", "older-5"}
    assert ids("team=south&from=2026-11-19&to=2026-11-19") == {"parcel-2", "inject-4"}
    assert ids("verdict=fail") == {"billing-1"}
    assert ids("min_score=70&max_score=90") == {"zh-3", "older-5", "undated-6"}
    assert ids("event=escalation") == {"billing-1"}
    assert ids("event=defect") == {"billing-1"}
    assert ids("event=recovery") == {"parcel-2"}
    assert ids("language=zh") == {"zh-3"}
    assert ids("q=charged+twice") == {"billing-1"}
    assert ids("q=账单") == {"zh-3"}
    assert ids("q=%25") == set()  # a LIKE wildcard typed in the box is a character, not "anything"
    assert ids("status=failed") == {"broken-7"}
    first = client.get("/api/calls?page=1").json()
    assert first["total"] == 6 and first["pages"] == 1
    assert client.get("/api/calls?min_score=high").status_code == 400
    assert client.get("/api/calls?event=nonsense").status_code == 400


def test_search_pages_are_links_that_keep_the_filters(tmp_path):
    from engine.web import WebConfig

    with Store.open(f"sqlite:///{tmp_path / 'p.db'}") as store:
        small_store(store, write_recording(tmp_path / "call.wav", seconds=1))
        with TestClient(create_app(store, WebConfig(page_size=2))) as client:
            data = client.get("/api/calls?team=south&page=2").json()
            assert (data["total"], data["pages"], len(data["calls"])) == (3, 2, 1)
            html = client.get("/calls?team=south").text
            assert 'href="/calls?team=south&amp;page=2"' in html


def test_call_report_has_the_scorecard_evidence_transcript_and_dynamics(site):
    client, _, keys = site
    html = client.get("/calls/billing-1").text
    assert f'src="/audio/{keys["billing-1"]}"' in html
    assert 'data-seek="30.0"' in html  # the fatal item's evidence plays from 0:30.0
    assert "Verifies identity" in html and "no identity check before account details" in html
    assert re.search(r'class="turn role-agent overlap"', html)  # the agent spoke over the customer
    assert "silence, 6.0 s" in html
    assert "agent talk share" in html and "dead air" in html
    assert "plot-emotions" in html and "/static/plotly.min.js" in html
    data = client.get("/api/calls/billing-1").json()
    assert data["analysis"]["scorecard"]["total"] == 42.0 and data["call"]["call_key"] == keys["billing-1"]
    assert client.get("/calls/no-such-call").status_code == 404


def test_untrusted_text_is_escaped_everywhere(site):
    client, *_ = site
    for path in ("/calls/inject-4", f"/?date={DAY}", "/calls?q=name", f"/drivers?date={DAY}"):
        html = client.get(path).text
        assert SCRIPT not in html, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path


def test_mandarin_transcript_is_served_as_utf8_with_its_language(site):
    client, *_ = site
    response = client.get("/calls/zh-3")
    assert "charset=utf-8" in response.headers["content-type"]
    assert "我的账单多扣了钱" in response.text and 'lang="zh"' in response.text


def test_writes_without_a_signed_in_reviewer_or_a_csrf_token_are_refused(site):
    client, store, keys = site
    form = {"score:greeting": "1", "comment": "rushed"}
    assert client.post(f"/calls/{keys['billing-1']}/review", data=form).status_code == 403  # not signed in
    token = csrf(client)
    assert client.post(f"/calls/{keys['billing-1']}/review", data={**form, "csrftoken": token}).status_code == 403
    assert client.post("/alerts/ack", data={"alert_id": "x", "csrftoken": token}).status_code == 403
    sign_in(client)
    assert client.post(f"/calls/{keys['billing-1']}/review", data=form).status_code == 403  # no CSRF token
    assert client.post(f"/calls/{keys['billing-1']}/review", data={**form, "csrftoken": "forged"}).status_code == 403
    assert store.reviews(keys["billing-1"]) == []


def test_sign_in_checks_the_hashed_password(site):
    client, store, _ = site
    assert reviewer_hash(store, "lee").startswith("$argon2")
    assert PASSWORD not in reviewer_hash(store, "lee")
    bad = client.post("/login", data={"name": "lee", "password": "wrong password", "csrftoken": csrf(client)})
    assert bad.status_code == 401 and "do not match" in bad.text
    assert client.post("/login", data={"name": "nobody", "password": PASSWORD,
                                       "csrftoken": csrf(client)}).status_code == 401
    sign_in(client)
    assert "signed in as <strong>lee</strong>" in client.get("/").text
    # only a path on this site may follow a sign-in
    response = client.post("/login", data={"name": "lee", "password": PASSWORD, "csrftoken": csrf(client),
                                           "next": "//evil.example/"}, follow_redirects=False)
    assert response.headers["location"] == "/"


def test_an_override_is_stored_beside_the_engine_score_and_shown(site):
    client, store, keys = site
    key = keys["billing-1"]
    sign_in(client)
    response = client.post(f"/calls/{key}/review", follow_redirects=False, data={
        "csrftoken": client.cookies["csrftoken"], "score:verification": "10", "passed:verification": "pass",
        "note:verification": "checked the date of birth at 0:12", "verdict": "coach", "comment": "fair call"})
    assert response.status_code == 303
    [review] = store.reviews(key)
    assert review["overrides"] == {"verification": {"score": 10.0, "passed": True,
                                                    "note": "checked the date of birth at 0:12"}}
    assert (review["verdict"], review["comment"], review["reviewer"]) == ("coach", "fair call", "lee")
    assert store.analysis(key).scorecard.items[-1].score == 0  # the engine's score is kept as it was
    html = client.get(f"/calls/{key}").text
    assert "checked the date of birth at 0:12" in html and "fair call" in html
    assert client.post(f"/calls/{key}/review", data={"csrftoken": client.cookies["csrftoken"],
                                                     "score:verification": "99"}).status_code == 400


def test_agreement_page_compares_reviews_with_the_engine(site):
    client, _, keys = site
    sign_in(client)
    token = client.cookies["csrftoken"]
    client.post(f"/calls/{keys['billing-1']}/review", data={"csrftoken": token, "passed:greeting": "fail",
                                                            "verdict": "fail"})
    client.post(f"/calls/{keys['parcel-2']}/review", data={"csrftoken": token, "passed:greeting": "pass"})
    report = client.get("/api/review/agreement").json()
    assert (report["calls"], report["reviewed_items"], report["pass_fail_agreement"]) == (2, 2, 0.5)
    assert (report["verdicts_reviewed"], report["verdict_agreement"]) == (1, 1.0)
    html = client.get("/review/agreement").text
    assert "billing-1" in html and "50%" in html


def test_the_review_queue_is_the_sample_drawn_for_the_reviewer(site):
    from engine.store.sampling import draw_sample

    client, store, _ = site
    assert client.get("/review", follow_redirects=False).status_code == 303  # sign in first
    sign_in(client)
    assert "0 to review of 0 drawn" in client.get("/review").text
    drawn = {c.call_id for c in draw_sample(store, "lee", 3, "random", seed=1)}
    queue = client.get("/api/review/queue").json()
    assert {c["call_id"] for c in queue["calls"]} == drawn and queue["open"] == 3
    client.post("/review/draw", data={"csrftoken": client.cookies["csrftoken"], "n": "2", "strategy": "risk"})
    assert len(client.get("/api/review/queue").json()["calls"]) == 5


def test_alerts_are_listed_with_their_state_and_acknowledged_by_a_reviewer(site):
    from engine.store import NewAlert

    client, store, keys = site
    store.add_alerts(keys["billing-1"], [NewAlert("escalation", "high", {"detail": "customer escalated"}, ("log",))])
    [alert] = client.get(f"/api/summary?date={DAY}").json()["alerts"]
    assert (alert["acknowledged_by"], alert["sinks"], alert["delivered"]) == (None, 1, 0)
    sign_in(client)
    assert "Acknowledge" in client.get(f"/?date={DAY}").text
    client.post("/alerts/ack", data={"alert_id": alert["alert_id"], "csrftoken": client.cookies["csrftoken"]})
    [alert] = client.get(f"/api/summary?date={DAY}").json()["alerts"]
    assert alert["acknowledged_by"] == "lee"
    assert "acknowledged by lee" in client.get(f"/?date={DAY}").text


def test_audio_is_served_only_for_stored_recordings_with_ranges(site):
    client, _, keys = site
    whole = client.get(f"/audio/{keys['billing-1']}")
    assert whole.status_code == 200 and whole.headers["content-type"] == "audio/x-wav"
    assert whole.headers["accept-ranges"] == "bytes"
    part = client.get(f"/audio/{keys['billing-1']}", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and len(part.content) == 100
    assert part.headers["content-range"] == f"bytes 100-199/{len(whole.content)}"
    assert part.content == whole.content[100:200]
    for path in ("/audio/no-such-call", "/audio/..%2F..%2Fetc%2Fpasswd", "/audio/%2Fetc%2Fpasswd",
                 "/audio/undated-6"):  # the last one is in the store, but its file is not on this machine
        response = client.get(path)
        assert response.status_code == 404, path
        assert "root:" not in response.text


def test_a_redacted_call_plays_its_redacted_copy_and_never_the_original(tmp_path):
    from engine.record import RedactedSpan, Redaction
    from tests.test_store import build_analysis

    original = write_recording(tmp_path / "original.wav", seconds=2)
    redacted = write_recording(tmp_path / "redacted.wav", seconds=3)
    with Store.open(f"sqlite:///{tmp_path / 'r.db'}") as store:
        for call_id, copy in (("masked-1", str(redacted)), ("masked-2", str(tmp_path / "gone.wav")),
                              ("masked-3", None)):
            analysis = build_analysis(call_id, source=str(original))
            analysis.redaction = Redaction(counts={"card": 1}, audio=copy,
                                           spans=[RedactedSpan(entity="card", start=1.0, end=1.5, channel=1)])
            store.save_analysis(analysis)
        with TestClient(create_app(store)) as client:
            played = client.get("/audio/masked-1")
            assert played.status_code == 200 and played.content == redacted.read_bytes()
            for call_id in ("masked-2", "masked-3"):  # the copy is missing, or none was written: nothing plays
                response = client.get(f"/audio/{call_id}")
                assert response.status_code == 404 and response.content != original.read_bytes()


def test_plotly_is_served_from_the_python_package_and_pages_load_nothing_from_outside(site):
    client, *_ = site
    js = client.get("/static/plotly.min.js", headers={"Accept-Encoding": "gzip"})
    assert js.status_code == 200 and js.headers["content-encoding"] == "gzip" and len(js.content) > 1_000_000
    for path in (f"/?date={DAY}", "/calls/billing-1"):
        html = client.get(path).text
        assert not re.search(r'(src|href)="(https?:)?//', html), path
        assert "script-src 'self'" in client.get(path).headers["content-security-policy"]


def test_serve_binds_to_this_machine_unless_told_otherwise(tmp_path, monkeypatch):
    import typer
    import uvicorn
    from typer.testing import CliRunner

    from engine.cli import serve

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append(kw))
    app = typer.Typer()
    serve.register(app)
    db = tmp_path / "callqa.db"
    Store.open(f"sqlite:///{db}").close()
    result = CliRunner().invoke(app, ["serve", "--db", f"sqlite:///{db}", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8123/" in result.output
    assert calls == [{"host": "127.0.0.1", "port": 8123, "log_level": "warning"}]
    result = CliRunner().invoke(app, ["serve", "--db", f"sqlite:///{tmp_path / 'typo.db'}"])
    assert result.exit_code == 2 and not (tmp_path / "typo.db").exists()


def test_reviewer_add_stores_only_a_hash(tmp_path):
    import typer
    from typer.testing import CliRunner

    from engine.cli import serve

    app = typer.Typer()
    serve.register(app)
    url = f"sqlite:///{tmp_path / 'callqa.db'}"
    Store.open(url).close()
    result = CliRunner().invoke(app, ["reviewer", "add", "kim", "--db", url, "--password-stdin"],
                                input="a long passphrase\n")
    assert result.exit_code == 0, result.output
    with Store.open(url) as store:
        assert reviewer_hash(store, "kim").startswith("$argon2") and "a long passphrase" not in reviewer_hash(store,
                                                                                                          "kim")
    result = CliRunner().invoke(app, ["reviewer", "add", "kim", "--db", url, "--password-stdin"], input="short\n")
    assert result.exit_code == 2 and "at least 8" in result.output


def test_report_command_writes_a_self_contained_file(site, tmp_path):
    import typer
    from typer.testing import CliRunner

    from engine.cli import report, serve

    _, store, _ = site
    app = typer.Typer()
    report.register(app)
    serve.register(app)  # two commands, so the command's name is an argument
    runner = CliRunner()
    out = tmp_path / "report.html"
    result = runner.invoke(app, ["report", "inject-4", "--db", str(store.engine.url), "--out", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert 'src="data:audio/x-wav;base64,' in html  # the recording travels inside the file
    assert "Plotly" in html and "/static/" not in html
    assert not re.search(r'<(script|link|img)[^>]+(src|href)="(https?:)?//', html)
    assert SCRIPT not in html.split("<script>", 1)[0]  # untrusted text stays escaped in the body
    analysis = store.analysis(store.calls(date(2026, 11, 19))[0].call_key)
    source = tmp_path / "call.json"
    source.write_text(analysis.to_json(), encoding="utf-8")
    result = runner.invoke(app, ["report", str(source), "--out", str(tmp_path / "b.html"), "--audio", "none"])
    assert result.exit_code == 0 and "The recording is not included" in (tmp_path / "b.html").read_text()
    source.write_text('{"not": "an analysis"}', encoding="utf-8")
    result = runner.invoke(app, ["report", str(source), "--out", str(tmp_path / "c.html")])
    assert result.exit_code == 2 and "not a callqa analysis" in result.output


def test_a_redacted_calls_report_embeds_its_redacted_copy_only(tmp_path):
    from engine.record import Redaction
    from engine.web.standalone import recording_path
    from tests.test_store import build_analysis

    original = write_recording(tmp_path / "original.wav", seconds=1)
    copy = write_recording(tmp_path / "redacted.wav", seconds=2)
    analysis = build_analysis("masked", source=str(original))
    assert recording_path(analysis) == original
    analysis.redaction = Redaction(counts={"phone": 1}, audio=str(copy))
    assert recording_path(analysis) == copy
    analysis.redaction = Redaction(counts={"phone": 1}, audio=None)  # no copy written: nothing plays
    assert recording_path(analysis) is None


def test_reading_can_be_closed_to_signed_in_reviewers(tmp_path):
    from engine.web import WebConfig

    with Store.open(f"sqlite:///{tmp_path / 'r.db'}") as store:
        small_store(store, write_recording(tmp_path / "call.wav", seconds=1))
        add_reviewer(store, "lee", PASSWORD)
        with TestClient(create_app(store, WebConfig(read_requires_sign_in=True))) as client:
            for path in ("/", "/api/calls", "/calls/billing-1", "/audio/billing-1"):
                assert client.get(path).status_code == 401, path
            sign_in(client)
            assert client.get("/api/calls").status_code == 200
