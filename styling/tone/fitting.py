"""Fitting the tone scorer on the team's examples: a logistic regression on the embedding and
style features, Platt-calibrated on out-of-fold margins (askdesk.styling.tone.scorer explains why).

Kept apart from the scorer so that scoring answers (numpy only) never pays for importing
scikit-learn and scipy, which only fitting needs.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from askdesk.styling.tone.features import LAYOUT_FEATURES, frame_vocabulary
from askdesk.styling.tone.scorer import (
    FORMAT_VERSION,
    Embed,
    ToneScorer,
    ToneScorerError,
    _features,
    _sigmoid,
    data_hash,
)


def fit_tone_scorer(
    brand_texts: list[str],
    plain_texts: list[str],
    embed: Embed,
    *,
    seed: int = 0,
    c: float = 0.1,
    folds: int = 5,
    embedder: str = "",
) -> ToneScorer:
    """Fit on texts of both voices; `embedder` names the embedding model for the record.

    Classes are weighted to balance, so unequal counts don't shift the 0.5 point.
    """
    if min(len(brand_texts), len(plain_texts)) < folds:
        raise ToneScorerError(
            f"need at least {folds} texts of each voice, got {len(brand_texts)} brand "
            f"and {len(plain_texts)} plain"
        )
    texts = list(brand_texts) + list(plain_texts)
    y = np.array([1] * len(brand_texts) + [0] * len(plain_texts))
    vocabulary = frame_vocabulary(texts)
    raw = _features(texts, embed, vocabulary)
    mean = raw.mean(axis=0)
    scale = raw.std(axis=0)
    scale[scale < 1e-9] = 1.0
    x = (raw - mean) / scale

    def model() -> LogisticRegression:
        return LogisticRegression(C=c, class_weight="balanced", max_iter=2000)

    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    margins = cross_val_predict(model(), x, y, cv=cv, method="decision_function")
    platt_a, platt_b = _platt(margins, y)
    lr = model().fit(x, y)
    digest = data_hash(brand_texts, plain_texts)
    meta = {
        "format": FORMAT_VERSION,
        "version": f"tone-{digest[:10]}-s{seed}",
        "data_hash": digest,
        "n_brand": len(brand_texts),
        "n_plain": len(plain_texts),
        "seed": seed,
        "c": c,
        "embedder": embedder,
        "layout_features": list(LAYOUT_FEATURES),
    }
    return ToneScorer(
        coef=lr.coef_[0].astype(np.float64),
        intercept=float(lr.intercept_[0]),
        mean=mean,
        scale=scale,
        vocabulary=vocabulary,
        platt_a=platt_a,
        platt_b=platt_b,
        embed_dim=raw.shape[1] - len(LAYOUT_FEATURES) - len(vocabulary),
        meta=meta,
    )


def _platt(margins: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Platt scaling with his smoothed targets and balanced class weights.

    Fitted on out-of-fold margins, so the calibration sees the classifier's errors on unseen
    texts rather than its overconfident training fit.
    """
    n_pos, n_neg = int(y.sum()), int(len(y) - y.sum())
    target = np.where(y == 1, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))
    weight = np.where(y == 1, len(y) / (2 * n_pos), len(y) / (2 * n_neg))

    def loss(ab: np.ndarray) -> float:
        p = np.clip(_sigmoid(ab[0] * margins + ab[1]), 1e-12, 1 - 1e-12)
        return float(-(weight * (target * np.log(p) + (1 - target) * np.log(1 - p))).sum())

    res = minimize(loss, x0=np.array([1.0, 0.0]), method="Nelder-Mead")
    return float(res.x[0]), float(res.x[1])
