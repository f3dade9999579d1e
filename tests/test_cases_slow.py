"""Slow: a calm real call through the whole engine is not a defect candidate; the exported case page works in
headless Chromium (the clip loads, a click on a time seeks it, both trajectories are drawn, a test-half
answer stays hidden until an answer is submitted), with a screenshot written.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from engine.cases.export import export_case
from engine.cases.promotion import promotion_reasons
from engine.cases.repository import CaseRepository
from engine.score import load_standard, score_call
from engine.store import Store
from tests.callbuilder import build_call, scenario, tools_available
from tests.test_cases import RULES, scored

pytestmark = pytest.mark.slow
CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--autoplay-policy=no-user-gesture-required"]


def test_a_calm_real_call_is_not_a_defect_candidate(shared_data, engine):
    analysis = score_call(engine.analyze(shared_data / "calls/real/ibm_carloan_8k.wav", language="en"),
                          load_standard("five_point"))
    kinds = [r.kind for r in promotion_reasons(analysis, RULES.promotion)]
    assert "defect" not in kinds, [(r.rule, r.detail) for r in promotion_reasons(analysis, RULES.promotion)]


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists() and not shutil.which("chromium"):
        if os.environ.get("CI") == "true":
            pytest.fail("the case page test needs Chromium in CI")
        pytest.skip("Chromium not installed: apt-get install chromium (scripts/setup.sh --test does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield chromium
        chromium.close()


@pytest.mark.skipif(not tools_available(), reason="espeak-ng not installed (scripts/setup.sh installs it)")
def test_the_exported_case_page_plays_seeks_draws_and_hides_test_answers(browser, tmp_path):
    call = build_call(scenario("customer_angered"), tmp_path, call_id="customer_angered_en")
    with Store.open(f"sqlite:///{tmp_path / 'qa.db'}") as store:
        store.save_analysis(scored(call))
        repo = CaseRepository(store, rules=RULES)
        [case_id] = repo.promote().promoted
        case = repo.accept(case_id, "tess").model_copy(update={"half": "test"})  # shown as an assessment would
        out = tmp_path / "case.html"
        export_case(case, repo.analysis(case), out, "html", RULES.export, with_audio=True)
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(out.as_uri())
    page.wait_for_function("document.getElementById('player').readyState >= 1")
    assert page.locator("#trajectories .main-svg").count() > 0
    legend = page.inner_text("#trajectories")
    assert "agent" in legend and "customer" in legend
    offset = float(page.get_attribute("#player", "data-offset"))
    question = case.annotation.questions[0]
    page.click(f'.question button.t[data-t="{question.time}"]')
    position = page.evaluate("document.getElementById('player').currentTime")
    assert abs(position - (question.time - offset)) <= 0.5
    answer = page.locator(".question .answer").first
    assert not answer.is_visible()
    page.locator(".question textarea").first.fill("The agent blamed the customer.")
    page.locator(".question button.submit").first.click()
    assert answer.is_visible() and question.reference_answer in answer.inner_text()
    page.screenshot(path=tmp_path / "case.png", full_page=True)
    assert (tmp_path / "case.png").stat().st_size > 20_000 and errors == []
    page.close()
