"""The web application in a real headless Chromium (Debian's ``chromium``, driven by Playwright).

A uvicorn server on 127.0.0.1 serves a small store; each test opens pages as a reviewer would. Few and
quick on purpose: most behaviour is pinned in-process by ``test_web.py``. Screenshots of every page
land in the test's temporary folder. Where Chromium or Playwright is missing the tests are skipped with
the reason, except under CI (``CI=true``), where that is a failure.
"""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from engine.store import Store
from engine.web import create_app
from engine.web.auth import add_reviewer
from tests.webdata import EVIDENCE_AT, SCRIPT, small_store, write_recording

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DAY = "2026-11-19"
PASSWORD = "correct horse battery"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"the browser tests need Chromium and Playwright in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    import uvicorn

    folder = tmp_path_factory.mktemp("web")
    store = Store.open(f"sqlite:///{folder / 'callqa.db'}")
    keys = small_store(store, write_recording(folder / "call.wav"))
    add_reviewer(store, "lee", PASSWORD)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(store), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start in 30 s")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", store, keys
    server.should_exit = True
    thread.join(timeout=10)
    store.close()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists() and not shutil.which("chromium"):
        _unavailable("Chromium not installed: apt-get install chromium (scripts/setup.sh --test does)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright not installed: pip install -r requirements.txt")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, tmp_path):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.errors = []  # console errors and uncaught exceptions: a page must have none
    tab.on("console", lambda message: tab.errors.append(message.text) if message.type == "error" else None)
    tab.on("pageerror", lambda error: tab.errors.append(str(error)))
    tab.dialogs = []
    tab.on("dialog", lambda dialog: (tab.dialogs.append(dialog.message), dialog.dismiss()))
    yield tab
    context.close()


def _sign_in(page, base: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=name]", "lee")
    page.fill("input[name=password]", PASSWORD)
    page.click("form.login button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_each_page_loads_without_console_errors(server, page, tmp_path):
    base, *_ = server
    _sign_in(page, base)
    pages = {"dashboard": f"/?date={DAY}", "search": "/calls?q=bill", "report": "/calls/billing-1",
             "mandarin": "/calls/zh-3", "review": "/review", "agreement": "/review/agreement"}
    for name, path in pages.items():
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
        if name in ("dashboard", "report"):
            page.wait_for_selector(".chart .main-svg")  # plotly drew the charts from the local bundle
        page.screenshot(path=tmp_path / f"{name}.png", full_page=True)
        assert page.errors == [], (name, page.errors)
    page.goto(base + "/calls/zh-3")
    assert "我的账单多扣了钱" in page.inner_text("ol.transcript")
    assert all((tmp_path / f"{name}.png").stat().st_size > 10_000 for name in pages)


def test_an_evidence_link_plays_the_recording_from_the_evidence(server, page):
    base, *_ = server
    page.goto(f"{base}/calls/billing-1")
    page.wait_for_function("document.getElementById('player').readyState >= 1")  # metadata via a range request
    page.click(f'#scorecard a.evidence[data-seek="{EVIDENCE_AT}"]')
    position = page.evaluate("document.getElementById('player').currentTime")
    assert abs(position - EVIDENCE_AT) <= 0.5
    assert page.errors == []


def test_a_sortable_table_sorts(server, page):
    base, *_ = server
    page.goto(f"{base}/?date={DAY}")
    header = page.locator("#agent-table th", has_text="mean score")
    scores = "Array.from(document.querySelectorAll('#agent-table tbody tr td:nth-child(4)'), td => +td.dataset.value)"
    header.click()
    ascending = page.evaluate(scores)
    assert ascending == sorted(ascending) and len(ascending) >= 3
    header.click()
    assert page.evaluate(scores) == sorted(ascending, reverse=True)


def test_an_override_is_saved_and_shown_after_a_reload(server, page):
    base, store, keys = server
    _sign_in(page, base)
    page.goto(f"{base}/calls/parcel-2#review")
    page.fill('input[name="score:greeting"]', "3")
    page.select_option('select[name="passed:greeting"]', "fail")
    page.fill('input[name="note:greeting"]', "greeting was rushed")
    page.fill('textarea[name="comment"]', "coach on the opening")
    page.click("form.review-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    page.reload()
    cell = page.inner_text("#item-greeting td.overrides")
    assert "lee" in cell and "3/5" in cell and "fail" in cell and "greeting was rushed" in cell
    assert "coach on the opening" in page.inner_text("ul.reviews")
    assert page.input_value('input[name="score:greeting"]') == "3"  # the form shows what was saved
    assert store.analysis(keys["parcel-2"]).scorecard.items[0].score == 5  # the engine's score is untouched


def test_a_script_in_a_transcript_shows_as_text_and_runs_nothing(server, page):
    base, *_ = server
    page.goto(f"{base}/calls/inject-4")
    page.wait_for_load_state("networkidle")
    assert SCRIPT in page.inner_text("ol.transcript")
    assert SCRIPT in page.inner_text(".call-head")  # the agent's name from the metadata, too
    assert page.dialogs == []
    assert page.evaluate("document.querySelectorAll('main script').length") == 0


def test_writes_without_signing_in_and_paths_out_of_the_store_are_refused(server, page):
    base, _, keys = server
    page.goto(f"{base}/calls/billing-1")
    status = page.evaluate("""async (key) => {
        const token = document.cookie.split('; ').find(c => c.startsWith('csrftoken='));
        const body = new URLSearchParams({'score:greeting': '0', 'csrftoken': token ? token.slice(10) : ''});
        const response = await fetch('/calls/' + key + '/review', {method: 'POST', body});
        return response.status;
    }""", keys["billing-1"])
    assert status == 403
    host, port = base.removeprefix("http://").split(":")
    for path in ("/audio/../../etc/passwd", "/audio/..%2F..%2F..%2Fetc%2Fpasswd", "/audio/%2Fetc%2Fpasswd"):
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        connection.request("GET", path)  # sent as written: no client-side clean-up of the path
        response = connection.getresponse()
        body = response.read()
        connection.close()
        assert response.status == 404 and b"root:" not in body, path


def test_a_case_page_plays_its_clip_seeks_from_a_time_and_draws_the_trajectories(server, page, tmp_path):
    from engine.cases.repository import CaseRepository

    base, store, _ = server
    repo = CaseRepository(store)
    repo.promote()
    case = next(c for c in repo.candidates() if c.call_id == "billing-1")
    _sign_in(page, base)  # redaction was off for this call: its clip plays for a signed-in reviewer only
    page.goto(f"{base}/cases/{case.case_id}")
    page.wait_for_function("document.getElementById('player').readyState >= 1")  # the clip, by range requests
    page.wait_for_selector("#trajectories .main-svg")
    offset = float(page.get_attribute("#player", "data-offset"))
    turn = next(t for t in repo.case(case.case_id).annotation.turns if t.start > offset + 1)
    page.click(f'#transcript button.t[data-seek="{turn.start}"]')
    position = page.evaluate("document.getElementById('player').currentTime")
    assert abs(position - (turn.start - offset)) <= 0.5  # the call's time, in the clip
    page.screenshot(path=tmp_path / "case.png", full_page=True)
    assert page.errors == [], page.errors
