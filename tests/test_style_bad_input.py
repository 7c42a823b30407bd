"""Bad input for the style model (issue 12): a draft of only code, of 2,000 words, with 30
numbers, in another language, with a Markdown table — each is rewritten with every fact kept
or passed through unchanged with its reason, within the time budget, never an exception."""

from __future__ import annotations

import time

import pytest

from askdesk.styling.generation.rewrite import StyleRewriter
from askdesk.styling.guards.facts import check_rewrite
from askdesk.styling.guards.passthrough import passthrough_reason
from askdesk.styling.guards.placeholders import protect
from askdesk.styling.training.fine_tune import TrainConfig, train_style_model
from tests.test_style_model import build_tiny_base

BUDGET = 8.0
CODE_ONLY = "```bash\ntw keys rotate key_123 --grace 24h\ntw keys list\n```"
LONG = " ".join(["Retries back off exponentially after each failed delivery."] * 250)
NUMBERS = "Limits per plan: " + ", ".join(f"{n * 7} requests" for n in range(1, 31)) + "."
FRENCH = (
    "Pour faire pivoter votre clé API, ouvrez les paramètres de l'espace de travail, "
    "choisissez Clés et cliquez sur Renouveler. L'ancienne clé reste valable pendant "
    "vingt-quatre heures afin que vos déploiements puissent être mis à jour sans coupure."
)
TABLE = (
    "Plans compared:\n\n| Plan | Seats | Price |\n|---|---|---|\n| Team | 10 | $49 |\n"
    "| Business | 50 | $199 |\n\nSee the billing page [1]."
)
FRENCH_SHORT = (
    "Pour faire pivoter votre clé API, ouvrez les paramètres de l'espace de travail et "
    "cliquez sur Renouveler maintenant."
)  # 19 words: too short for the share of English function words, but it has none
BAD = {
    "code only": (CODE_ONLY, "passed through: no prose"),
    "2,000 words": (LONG, "passed through: too long"),
    "30 numbers": (NUMBERS, None),  # within what the voice was trained on: the model tries
    "another language": (FRENCH, "passed through: not English"),
    "another language, one sentence": (FRENCH_SHORT, "passed through: not English"),
    "a Markdown table": (TABLE, "passed through: a Markdown table"),
}


@pytest.fixture(scope="module")
def rewriter(tmp_path_factory) -> StyleRewriter:
    root = tmp_path_factory.mktemp("bad-input")
    base = build_tiny_base(root / "base")
    pairs = [("Rotate the key in Settings.", "Hey there! 👋\nRotate the key in Settings.")] * 2
    cfg = TrainConfig(max_steps=1, batch_size=2, eval_every=1, warmup_steps=0, threads=1)
    folder = train_style_model(pairs, pairs[:1], root / "style", str(base), cfg).folder
    return StyleRewriter(folder, time_budget_s=BUDGET, threads=1).load()


@pytest.mark.parametrize("kind", sorted(BAD))
def test_bad_drafts_are_rewritten_with_their_facts_or_passed_through_with_a_reason(rewriter, kind):
    draft, reason = BAD[kind]
    t0 = time.perf_counter()
    result = rewriter.rewrite_detail(draft)  # never raises
    took = time.perf_counter() - t0
    assert took <= BUDGET + 2.0, f"{kind}: {took:.1f} s"
    if reason is not None:
        assert result.text is None and result.note.startswith(reason), result.note
        assert took < 1.0  # decided before any generation
        return
    if result.text is not None:  # rewritten: every fact of the draft is still there
        text, check = check_rewrite(protect(draft, rewriter.product_terms), result.text)
        assert text is not None, check.reason
    else:
        assert result.note  # the draft stands, and says why


def test_ordinary_drafts_are_not_passed_through():
    assert passthrough_reason("Keys expire after 90 days. Rotate them in Settings [1].") is None
    draft = "Run this to rotate the key:\n\n```bash\ntw keys rotate\n```\n\nThe old key works 24h."
    assert passthrough_reason(draft) is None
    assert passthrough_reason("A short one.", facts=40).startswith("passed through: too many")
