"""Training the Chinese sentiment model on labelled reviews, judged on a held-out part.

A data file is CSV (plain or gzip) with a ``label`` column (1 positive, 0 negative) and a
``review`` column, as ChineseNlpCorpus's online_shopping_10_cats, waimai_10k and
ChnSentiCorp_htl_all; other columns (``cat``) are kept for reporting.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tailored.errors import InvalidInput

if TYPE_CHECKING:
    from tailored.analytics.sentiment import ChineseSentiment

# scikit-learn and pandas are imported where they are used: they take seconds to import, and
# every CLI start would pay.

__all__ = ["LabelledReviews", "read_labelled_reviews", "sentiment_metrics",
           "train_chinese_sentiment"]

_REQUIRED = ("label", "review")


@dataclass(frozen=True)
class LabelledReviews:
    """Texts with 0/1 labels; ``dropped`` counts rows left out for an empty review."""

    texts: list[str]
    labels: np.ndarray
    dropped: int = 0

    def split(self, *, test_size: float = 0.2, seed: int = 0
              ) -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
        """A stratified split: train texts, test texts, train labels, test labels."""
        if not 0.0 < test_size < 1.0:
            raise InvalidInput(f"test_size must be between 0 and 1, got {test_size}",
                               field="test_size")
        counts = np.bincount(self.labels, minlength=2)
        if counts.min() < 2:
            raise InvalidInput(f"each label needs at least 2 reviews to hold some out; there "
                               f"are {counts[0]} negative and {counts[1]} positive",
                               field="label")
        from sklearn.model_selection import train_test_split

        parts = train_test_split(self.texts, self.labels, test_size=test_size,
                                 stratify=self.labels, random_state=seed)
        return parts[0], parts[1], parts[2], parts[3]


def read_labelled_reviews(path: Path, *, sample: int | None = None, seed: int = 0
                          ) -> LabelledReviews:
    """The ``label``/``review`` rows of the CSV at ``path`` (``sample``: a stratified random
    subset of that many rows). Rows with an empty review are dropped and counted."""
    import pandas as pd
    from sklearn.model_selection import train_test_split

    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"no data file at {path}", field="data")
    try:
        frame = pd.read_csv(path, compression="infer", dtype={"review": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError,
            OSError) as exc:
        raise InvalidInput(f"cannot read {path} as CSV: {exc}", field="data") from exc
    missing = [c for c in _REQUIRED if c not in frame.columns]
    if missing:
        raise InvalidInput(f"{path} has no {' or '.join(repr(c) for c in missing)} column "
                           f"(columns: {', '.join(map(str, frame.columns)) or 'none'}); "
                           "it needs label (1 positive, 0 negative) and review",
                           field=missing[0])
    labels = pd.to_numeric(frame["label"], errors="coerce")
    bad = ~labels.isin([0, 1])
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InvalidInput(f"{path} line {i + 2}: label must be 0 or 1, got "
                           f"{str(frame['label'].iloc[i])!r}", field="label")
    review = frame["review"].fillna("").str.strip()
    keep = review != ""
    texts, y = review[keep].tolist(), labels[keep].to_numpy(dtype=np.int64)
    if not texts:
        raise InvalidInput(f"{path} has no reviews", field="review")
    if sample is not None and sample < len(texts):
        if sample < 10:
            raise InvalidInput(f"sample must be at least 10, got {sample}", field="sample")
        texts_s, _, y_s, _ = train_test_split(texts, y, train_size=sample, stratify=y,
                                              random_state=seed)
        texts, y = list(texts_s), np.asarray(y_s)
    return LabelledReviews(texts=texts, labels=y, dropped=int((~keep).sum()))


def sentiment_metrics(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Accuracy, and precision, recall and F1 of the positive class."""
    from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

    return {"accuracy": round(float(accuracy_score(truth, predicted)), 4),
            "precision": round(float(precision_score(truth, predicted, zero_division=0)), 4),
            "recall": round(float(recall_score(truth, predicted, zero_division=0)), 4),
            "f1": round(float(f1_score(truth, predicted, zero_division=0)), 4)}


def _judged(model: ChineseSentiment, texts: list[str],
            on_progress: Callable[[str, int, int], None] | None) -> np.ndarray:
    """``model``'s predictions for ``texts``, in batches so that progress can be told."""
    batch = 2_000
    out = []
    for start in range(0, len(texts), batch):
        if on_progress is not None:
            on_progress("judging", start, len(texts))
        out.append(model.predict(texts[start:start + batch]))
    if on_progress is not None:
        on_progress("judging", len(texts), len(texts))
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def train_chinese_sentiment(path: Path, models_dir: Path | None = None, *,
                            test_size: float = 0.2, seed: int = 0, sample: int | None = None,
                            on_progress: Callable[[str, int, int], None] | None = None,
                            **params: Any) -> tuple[ChineseSentiment, dict[str, Any]]:
    """Train on the data at ``path`` less a stratified held-out ``test_size`` (seeded), judge
    on the held-out part, and save to ``models_dir``/sentiment-zh.npz when given. Returns the
    model and a report (sizes, held-out metrics, seconds). ``on_progress(stage, done,
    total)`` hears of each stage: reading, words, characters, classifier, judging."""
    from tailored.analytics.sentiment import MODEL_FILE, ChineseSentiment

    started = time.perf_counter()
    if on_progress is not None:
        on_progress("reading", 0, 1)
    data = read_labelled_reviews(path, sample=sample, seed=seed)
    if on_progress is not None:
        on_progress("reading", 1, 1)
    x_train, x_test, y_train, y_test = data.split(test_size=test_size, seed=seed)
    t0 = time.perf_counter()
    model = ChineseSentiment(**params).fit(x_train, y_train, on_progress=on_progress)
    train_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    predicted = _judged(model, x_test, on_progress)
    predict_seconds = time.perf_counter() - t0
    saved = model.save(Path(models_dir) / MODEL_FILE) if models_dir is not None else None
    report = {
        "model": "chinese-sentiment", "path": str(saved) if saved else None,
        "data": str(path), "rows": len(data.texts), "dropped_empty": data.dropped,
        "train": len(x_train), "test": len(x_test), "test_size": test_size, "seed": seed,
        "positive_share": round(float(data.labels.mean()), 4),
        "features": {"words": len(model.word_vectorizer_.vocabulary_),
                     "chars": len(model.char_vectorizer_.vocabulary_)},
        "held_out": sentiment_metrics(y_test, predicted),
        "train_seconds": round(train_seconds, 2), "predict_seconds": round(predict_seconds, 2),
        "seconds": round(time.perf_counter() - started, 2),
    }
    return model, report
