"""The tone score: trained on the bundled voice, calibrated, saved, and recorded per answer."""

from __future__ import annotations

import numpy as np
import pytest

from askdesk.core.compose import ExtractiveComposer
from askdesk.core.engine import AnswerEngine
from askdesk.core.types import Question
from askdesk.styling.tone.fitting import fit_tone_scorer
from askdesk.styling.tone.scorer import (
    TextToneScorer,
    ToneScorer,
    ToneScorerError,
    auroc,
    spread_by_group,
)
from askdesk.styling.tone.sentiment import sentiment, sentiment_shifts
from askdesk.styling.training.examples import check_examples, load_examples
from tests.conftest import SAMPLE

TRAIN_PAIRS = 40  # a slice of the train split: encoding all ~420 texts takes ~30 s here


@pytest.fixture(scope="module")
def cached_embed(embedder):
    """The real model, memoised per text, so save/load comparisons don't encode twice."""
    cache: dict[str, np.ndarray] = {}

    def embed(texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in cache]
        if missing:
            cache.update(zip(missing, embedder.encode(missing), strict=True))
        return np.stack([cache[t] for t in texts])

    return embed


@pytest.fixture(scope="module")
def split():
    examples = load_examples(SAMPLE / "style" / "examples.jsonl")
    report = check_examples(examples)
    train = [examples[i] for i in report.train]
    step = max(1, len(train) // TRAIN_PAIRS)
    return train[::step][:TRAIN_PAIRS], [examples[i] for i in report.eval]


@pytest.fixture(scope="module")
def scorer(split, cached_embed) -> ToneScorer:
    train, _ = split
    return fit_tone_scorer(
        [e.output for e in train], [e.input for e in train], cached_embed, embedder="test"
    )


@pytest.fixture(scope="module")
def eval_scores(scorer, split, cached_embed) -> tuple[list[float], list[float]]:
    _, evals = split
    brand = scorer.score([e.output for e in evals], cached_embed)
    plain = scorer.score([e.input for e in evals], cached_embed)
    return brand, plain


def test_scorer_separates_the_voices_on_held_out_examples(eval_scores):
    brand, plain = eval_scores
    assert auroc(brand, plain) >= 0.95


def test_scores_are_calibrated_probabilities(eval_scores):
    brand, plain = eval_scores
    assert all(0.0 <= s <= 1.0 for s in brand + plain)
    assert np.mean(brand) >= 0.7
    assert np.mean(plain) <= 0.3


def test_save_and_load_give_identical_scores(scorer, split, cached_embed, tmp_path):
    _, evals = split
    texts = [evals[0].input, evals[0].output]
    path = scorer.save(tmp_path / "tone")
    assert path.name == "tone_scorer.json"
    loaded = ToneScorer.load(tmp_path / "tone")
    assert loaded.score(texts, cached_embed) == scorer.score(texts, cached_embed)
    assert loaded.version == scorer.version and len(loaded.meta["data_hash"]) == 64
    assert loaded.meta["embedder"] == "test"


def test_the_bound_scorer_is_a_text_tone_scorer(scorer, split, cached_embed, tmp_path):
    """The built-in of the tone-scorer extension point, loaded and bound to the embedder,
    has the one-text shape the answer core records (version, score(text) in [0, 1])."""
    _, evals = split
    scorer.save(tmp_path / "tone")
    bound = ToneScorer.load(tmp_path / "tone").bind(cached_embed)
    assert isinstance(bound, TextToneScorer)
    assert bound.version == scorer.version
    assert bound.score(evals[0].output) == scorer.score([evals[0].output], cached_embed)[0]
    assert 0.0 <= bound.score(evals[0].input) <= 1.0


def test_load_reports_a_missing_or_broken_file(tmp_path):
    with pytest.raises(ToneScorerError, match="cannot read"):
        ToneScorer.load(tmp_path)
    (tmp_path / "tone_scorer.json").write_text("{not json")
    with pytest.raises(ToneScorerError):
        ToneScorer.load(tmp_path)


def test_other_embedding_size_is_refused(scorer):
    with pytest.raises(ToneScorerError, match="dimensions"):
        scorer.score(["hello"], lambda texts: np.zeros((len(texts), 8), dtype=np.float32))


def test_fit_needs_enough_texts_of_each_voice(cached_embed):
    with pytest.raises(ToneScorerError, match="at least"):
        fit_tone_scorer(["a", "b"], ["c", "d"], cached_embed)


def test_auroc_on_constructed_cases():
    assert auroc([0.9, 0.8], [0.1, 0.2]) == 1.0
    assert auroc([0.1, 0.2], [0.9, 0.8]) == 0.0
    assert auroc([0.5, 0.5], [0.5, 0.5]) == 0.5
    assert auroc([0.9, 0.3], [0.5]) == 0.5
    with pytest.raises(ValueError):
        auroc([], [0.1])


def test_spread_by_group():
    spread = spread_by_group([0.9, 0.7, 0.2], ["keys", "keys", "plans"])
    assert spread["keys"] == pytest.approx({"mean": 0.8, "min": 0.7, "max": 0.9, "count": 2})
    assert spread["plans"]["count"] == 1 and spread["plans"]["mean"] == 0.2
    with pytest.raises(ValueError):
        spread_by_group([0.1], [])


def test_sentiment_shift_flags_a_cheerful_warning_not_a_faithful_one():
    draft = "Deleting a workspace permanently deletes all its data. This cannot be undone. [1]"
    faithful = (
        "Hey there.\n\nDeleting a workspace **permanently deletes** all its data. "
        "This **cannot be undone**. [1]\n\nWe're here if you need us."
    )
    cheerful = (
        "Hey there! 👋\n\nGreat news: deleting a workspace is super easy! 😊 "
        "Just click delete and you're done. [1]\n\nHappy building! 🌊"
    )
    assert sentiment_shifts([draft, draft], [faithful, cheerful]) == [1]
    assert sentiment("This is great, thanks!") > 0.5 and sentiment("This is awful.") < -0.3
    with pytest.raises(ValueError):
        sentiment_shifts([draft], [])


# -- the answer core records the tone of every answer -----------------------------------------
class FixedTone:
    version = "fixed-1"

    def __init__(self, value: float = 0.25) -> None:
        self.value = value
        self.seen: list[str] = []

    def score(self, text: str) -> float:
        self.seen.append(text)
        return self.value


class BrokenTone:
    version = "broken-1"

    def score(self, text: str) -> float:
        raise RuntimeError("scorer exploded")




def _engine(searcher, store, tone) -> AnswerEngine:
    return AnswerEngine(searcher, ExtractiveComposer(), recorder=store.interactions, tone=tone)


def test_engine_records_the_tone_of_an_answer(sample_searcher, store):
    tone = FixedTone()
    ans = _engine(sample_searcher, store, tone).answer(Question("How do I rotate my API key?"))
    assert not ans.unanswered
    assert ans.tone_score == 0.25 and tone.seen == [ans.text]
    assert "tone_ms" in ans.timings_ms and ans.versions["tone_scorer"] == "fixed-1"
    assert store.interactions.get(ans.interaction_id)["tone_score"] == 0.25


def test_unanswered_and_small_talk_are_not_scored(sample_searcher, store):
    tone = FixedTone()
    engine = _engine(sample_searcher, store, tone)
    off_topic = engine.answer(Question("how do I bake sourdough bread"))
    hello = engine.answer(Question("hello"))
    assert off_topic.unanswered and off_topic.tone_score is None and hello.tone_score is None
    assert store.interactions.get(off_topic.interaction_id)["tone_score"] is None
    assert tone.seen == []


def test_a_failing_scorer_never_breaks_the_answer(sample_searcher, store):
    ans = _engine(sample_searcher, store, BrokenTone()).answer(
        Question("How do I rotate my API key?")
    )
    assert not ans.unanswered and ans.error is None and "[1]" in ans.text
    assert ans.tone_score is None and "tone_ms" in ans.timings_ms
    assert store.interactions.get(ans.interaction_id)["tone_score"] is None


def test_out_of_range_scores_are_not_recorded(sample_searcher, store):
    ans = _engine(sample_searcher, store, FixedTone(float("nan"))).answer(
        Question("How do I rotate my API key?")
    )
    assert ans.tone_score is None


# -- wiring: the App finds the scorer next to the active style version ------------------------
def _tiny_scorer(embedder_name: str) -> ToneScorer:
    rng = np.random.default_rng(0)
    brand = [f"Hey there! 👋\n\nStep {i} is short.\n\nHappy building! 🌊" for i in range(6)]
    plain = [f"The step number {i} is described in this plain paragraph. [1]" for i in range(6)]
    return fit_tone_scorer(
        brand,
        plain,
        lambda texts: rng.normal(size=(len(texts), 4)),
        embedder=embedder_name,
    )


def test_app_loads_the_scorer_of_the_active_style_version(tmp_path):
    from askdesk.settings import Settings
    from askdesk.wiring import App

    app = App(Settings(data_dir=tmp_path, style_model="v1"))
    assert app.tone_scorer() is None  # nothing trained yet: answers go unscored
    _tiny_scorer("all-MiniLM-L6-v2").save(tmp_path / "style" / "tone")
    assert app.tone_folder() == tmp_path / "style" / "tone"
    (tmp_path / "style" / "v1").mkdir()
    scorer = _tiny_scorer("all-MiniLM-L6-v2")
    scorer.save(tmp_path / "style" / "v1" / "tone")
    assert app.tone_folder() == tmp_path / "style" / "v1" / "tone"
    bound = app.tone_scorer()
    assert bound is not None and bound.version == scorer.version


def test_app_skips_a_scorer_of_another_embedder_or_a_broken_one(tmp_path):
    from askdesk.settings import Settings
    from askdesk.wiring import App

    app = App(Settings(data_dir=tmp_path))
    _tiny_scorer("some-other-model").save(tmp_path / "style" / "tone")
    assert app.tone_scorer() is None
    (tmp_path / "style" / "tone" / "tone_scorer.json").write_text("[]")
    assert app.tone_scorer() is None
