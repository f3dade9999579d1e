"""QA standards as data: the defaults load for both languages; a bad standard says where and what."""

from __future__ import annotations

import pytest
import yaml

from engine.config import ConfigError
from engine.score import available_standards, load_standard
from engine.score.standard import STANDARD_DIR


@pytest.mark.parametrize("name", ["five_point", "qa_checklist"])
def test_default_standard_loads_for_english_and_mandarin(name):
    standard = load_standard(name)
    assert standard.languages == ["en", "zh"] and standard.version
    for language in standard.languages:
        assert standard.phrasebook(language).language == language
    assert standard.verdicts[-1].min == 0


def test_default_standards_are_listed():
    assert {"five_point", "qa_checklist"} <= set(available_standards())


def test_five_point_standard_has_its_five_dimensions():
    sections = [s.id for s in load_standard("five_point").sections]
    assert sections == ["problem_resolved", "resolution_efficiency", "process_compliance", "service_attitude",
                        "customer_satisfaction"]


def _variant(tmp_path, edit):
    data = yaml.safe_load((STANDARD_DIR / "five_point.yaml").read_text(encoding="utf-8"))
    edit(data)
    path = tmp_path / "centre.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_unknown_check_type_names_file_key_and_expected_types(tmp_path):
    path = _variant(tmp_path, lambda d: d["sections"][0]["items"][0].update(check={"type": "phrase_presnt"}))
    with pytest.raises(ConfigError) as caught:
        load_standard(path)
    message = str(caught.value)
    assert str(path) in message and "sections.0.items.0.checks.0" in message and "phrase_present" in message


def test_wrong_value_type_names_the_key(tmp_path):
    path = _variant(tmp_path, lambda d: d["sections"][1].update(weight="heavy"))
    with pytest.raises(ConfigError, match=r"sections\.1\.weight: Input should be a valid number"):
        load_standard(path)


def test_unknown_phrase_list_names_the_phrase_file_and_the_check(tmp_path):
    def edit(d):
        d["sections"][3]["items"][0]["check"]["phrases"] = ["politeness"]
    path = _variant(tmp_path, edit)
    with pytest.raises(ConfigError) as caught:
        load_standard(path)
    message = str(caught.value)
    assert "qa.en.yaml" in message and "sections.3.items.0.checks.0: politeness" in message


def test_verdict_bands_must_reach_zero(tmp_path):
    path = _variant(tmp_path, lambda d: d.update(verdicts=[{"name": "pass", "min": 80}, {"name": "flag", "min": 50}]))
    with pytest.raises(ConfigError, match="lowest band must start at 0"):
        load_standard(path)


def test_item_ids_must_be_unique(tmp_path):
    path = _variant(tmp_path, lambda d: d["sections"][1]["items"][1].update(id="no_dead_air"))
    with pytest.raises(ConfigError, match="item ids must be unique"):
        load_standard(path)


def test_typo_in_detection_block_is_refused(tmp_path):
    path = _variant(tmp_path, lambda d: d["detection"].update(dead_air_secs=8))
    with pytest.raises(ConfigError, match=r"detection\.dead_air_secs: Extra inputs are not permitted"):
        load_standard(path)


def test_unknown_standard_lists_the_known_ones():
    with pytest.raises(ConfigError, match=r"known standards: .*five_point"):
        load_standard("seven_point")


def test_unsupported_language_is_refused():
    with pytest.raises(ConfigError, match="not 'fr'"):
        load_standard("five_point").phrasebook("fr")


def test_edited_standard_changes_scoring_without_code(tmp_path):
    path = _variant(tmp_path, lambda d: d.update(id="centre_b", version="2024.2"))
    standard = load_standard(path)
    assert (standard.id, standard.version) == ("centre_b", "2024.2")
