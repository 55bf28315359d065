"""Chinese review sentiment: jieba words and character n-grams, TF-IDF, logistic regression.

Trained on labelled reviews (``label`` 1 positive / 0 negative, ``review`` text, as in
ChineseNlpCorpus's online_shopping_10_cats) and saved without pickle: the vocabularies as JSON
text, IDF weights, coefficients and intercept in one ``.npz`` file (``allow_pickle=False``).
"""

from __future__ import annotations

import io
import json
import logging
import zipfile
from collections.abc import Callable, Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Any, Self

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted

from tailored.analytics.tokens import plain_text
from tailored.errors import InvalidInput, NotFittedError
from tailored.extras import require

__all__ = ["MODEL_FILE", "ChineseSentiment"]

MODEL_FILE = "sentiment-zh.npz"
_FORMAT = 1


@cache
def _jieba() -> Any:
    # Loads its dictionary (shipped in the package) on first use: ~1 s.
    jieba = require("jieba", "zh")

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def _cut(text: str) -> list[str]:
    # Punctuation stays: "！" and "？" say something about a review's mood. No HMM for unknown
    # words: 20 % faster, and the character n-grams cover what it would find.
    return [w for w in _jieba().lcut(text, HMM=False) if not w.isspace()]


def _texts(X: Sequence[str] | Any, field: str = "texts") -> list[str]:
    if isinstance(X, str):
        raise InvalidInput("give a list of texts, not one string", field=field)
    out = list(X)
    bad = next((i for i, t in enumerate(out) if not isinstance(t, str)), None)
    if bad is not None:
        raise InvalidInput(f"text {bad} is {type(out[bad]).__name__}, not text", field=field)
    return [plain_text(t) for t in out]


Progress = Callable[[str, int, int], None]
_TICK = 500  # texts between progress reports


def _counted(texts: list[str], stage: str, on_progress: Progress | None) -> Iterator[str]:
    """``texts`` one by one, reporting ``(stage, done, total)`` every few hundred."""
    total = len(texts)
    for i, text in enumerate(texts):
        if on_progress is not None and i % _TICK == 0:
            on_progress(stage, i, total)
        yield text
    if on_progress is not None:
        on_progress(stage, total, total)


def _vectorizers(est: ChineseSentiment) -> tuple[TfidfVectorizer, TfidfVectorizer]:
    word = TfidfVectorizer(tokenizer=_cut, token_pattern=None, lowercase=True,
                           ngram_range=est.word_ngrams, min_df=est.min_df, sublinear_tf=True,
                           dtype=np.float32)
    char = TfidfVectorizer(analyzer="char", lowercase=True, ngram_range=est.char_ngrams,
                           min_df=est.min_df, sublinear_tf=True, dtype=np.float32)
    return word, char


class ChineseSentiment(ClassifierMixin, BaseEstimator):
    """Sentiment of Chinese text: P(positive) from a logistic regression over TF-IDF of
    jieba words (and word pairs) and of character n-grams.

    Parameters
    ----------
    C : float
        Inverse regularisation strength of the logistic regression.
    min_df : int
        A word or n-gram must occur in this many training texts to be a feature.
    word_ngrams, char_ngrams : tuple of int
        Lengths of word and character n-grams.
    max_iter : int
        Iterations of the solver (L-BFGS).

    Attributes
    ----------
    word_vectorizer_, char_vectorizer_ : TfidfVectorizer
    coef_ : ndarray of shape (1, n_features)
    intercept_ : ndarray of shape (1,)
    classes_ : ndarray, ``[0, 1]``

    Examples
    --------
    >>> model = ChineseSentiment(min_df=1).fit(
    ...     ["质量很好，很满意", "非常好用，推荐", "太差了，退货", "质量差，失望"], [1, 1, 0, 0])
    >>> model.predict(["很满意，推荐", "太差了"]).tolist()
    [1, 0]
    """

    def __init__(self, *, C: float = 4.0, min_df: int = 3,
                 word_ngrams: tuple[int, int] = (1, 2), char_ngrams: tuple[int, int] = (1, 3),
                 max_iter: int = 1000) -> None:
        self.C = C
        self.min_df = min_df
        self.word_ngrams = word_ngrams
        self.char_ngrams = char_ngrams
        self.max_iter = max_iter

    def fit(self, X: Sequence[str], y: Sequence[int] | np.ndarray, *,
            on_progress: Progress | None = None) -> Self:
        """Learn from texts ``X`` and labels ``y`` (1 positive, 0 negative).

        ``on_progress(stage, done, total)`` is told how far each stage is: ``words``
        (segmenting with jieba), ``characters``, then ``classifier``.
        """
        texts = _texts(X)
        labels = np.asarray(y)
        if not texts:
            raise InvalidInput("no texts to learn from", field="texts")
        if labels.shape != (len(texts),):
            raise InvalidInput(f"{len(texts)} texts but {labels.size} labels", field="label")
        bad = ~np.isin(labels, [0, 1])
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InvalidInput(f"labels must be 0 (negative) or 1 (positive); label {i} is "
                               f"{labels[i]!r}", field="label")
        labels = labels.astype(np.int64)
        if np.unique(labels).size < 2:
            raise InvalidInput("the labels need both classes, 0 and 1", field="label")
        if self.min_df < 1:
            raise InvalidInput(f"min_df must be at least 1, got {self.min_df}", field="min_df")
        word, char = _vectorizers(self)
        try:
            # The vectorizers read their input once, in order: counting it as it goes is
            # the progress of each.
            words = word.fit_transform(_counted(texts, "words", on_progress))
            chars = char.fit_transform(_counted(texts, "characters", on_progress))
            features = sp.hstack([words, chars], format="csr")
        except ValueError as exc:  # every term under min_df: sklearn's message says so
            raise InvalidInput(f"no features left to learn from: {exc}", field="min_df") from exc
        if on_progress is not None:
            on_progress("classifier", 0, 1)
        clf = LogisticRegression(C=self.C, max_iter=self.max_iter).fit(features, labels)
        if on_progress is not None:
            on_progress("classifier", 1, 1)
        self.word_vectorizer_, self.char_vectorizer_ = word, char
        self.coef_ = clf.coef_.astype(np.float64)
        self.intercept_ = clf.intercept_.astype(np.float64)
        self.classes_ = np.array([0, 1])
        self.n_features_ = features.shape[1]
        return self

    def _features(self, X: Sequence[str]) -> sp.csr_matrix:
        try:
            check_is_fitted(self, "coef_")
        except Exception as exc:
            raise NotFittedError("the Chinese sentiment model is not trained: run "
                                 "`tailored analyze sentiment-train`") from exc
        texts = _texts(X)
        return sp.hstack([self.word_vectorizer_.transform(texts),
                          self.char_vectorizer_.transform(texts)], format="csr")

    def decision_function(self, X: Sequence[str]) -> np.ndarray:
        """The log-odds that each text is positive."""
        return np.asarray(self._features(X) @ self.coef_[0] + self.intercept_[0]).ravel()

    def predict_proba(self, X: Sequence[str]) -> np.ndarray:
        """``[P(negative), P(positive)]`` per text."""
        p = 1.0 / (1.0 + np.exp(-self.decision_function(X)))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Sequence[str]) -> np.ndarray:
        """1 for a positive text, 0 for a negative one."""
        return (self.decision_function(X) > 0).astype(np.int64)

    def save(self, path: Path) -> Path:
        """Write the model to ``path`` (``.npz``, no pickle); return the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp.npz")
        tmp.write_bytes(self.to_bytes())
        tmp.replace(path)  # a reader never sees half a file
        return path

    def to_bytes(self) -> bytes:
        """The model as the bytes of an ``.npz`` file (no pickle)."""
        check_is_fitted(self, "coef_")
        words_, chars_ = (self.word_vectorizer_.get_feature_names_out().tolist(),
                          self.char_vectorizer_.get_feature_names_out().tolist())
        params = {"C": self.C, "min_df": self.min_df, "word_ngrams": list(self.word_ngrams),
                  "char_ngrams": list(self.char_ngrams), "max_iter": self.max_iter}
        out = io.BytesIO()
        np.savez_compressed(
            out, format=np.array(_FORMAT), params=np.array(json.dumps(params)),
            word_vocabulary=np.array(json.dumps(words_, ensure_ascii=False)),
            char_vocabulary=np.array(json.dumps(chars_, ensure_ascii=False)),
            word_idf=self.word_vectorizer_.idf_, char_idf=self.char_vectorizer_.idf_,
            coef=self.coef_, intercept=self.intercept_)
        return out.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, where: str = "the stored model") -> ChineseSentiment:
        """A model from :meth:`to_bytes`; ``where`` names it in errors."""
        try:
            return cls._read(io.BytesIO(data), where)
        except InvalidInput:
            raise
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            raise InvalidInput(f"cannot read the sentiment model in {where} ({exc}): train it "
                               "again with `tailored analyze sentiment-train`",
                               field="model") from exc

    @classmethod
    def load(cls, path: Path) -> ChineseSentiment:
        """A model written by :meth:`save`."""
        path = Path(path)
        if not path.exists():
            raise NotFittedError(f"no Chinese sentiment model at {path}: run "
                                 "`tailored analyze sentiment-train`")
        try:
            return cls._read(path, str(path))
        except InvalidInput:
            raise
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            raise InvalidInput(f"cannot read the sentiment model at {path} ({exc}): train it "
                               "again with `tailored analyze sentiment-train`",
                               field="model") from exc

    @classmethod
    def _read(cls, path: Path | io.BytesIO, where: str) -> ChineseSentiment:
        with np.load(path, allow_pickle=False) as f:
            if int(f["format"]) != _FORMAT:
                raise InvalidInput(f"{where} is a sentiment model of format {int(f['format'])}"
                                   f", this version reads {_FORMAT}: train it again",
                                   field="model")
            params = json.loads(str(f["params"]))
            model = cls(C=params["C"], min_df=params["min_df"],
                        word_ngrams=tuple(params["word_ngrams"]),
                        char_ngrams=tuple(params["char_ngrams"]),
                        max_iter=params["max_iter"])
            word, char = _vectorizers(model)
            for vec, key in ((word, "word"), (char, "char")):
                terms = json.loads(str(f[f"{key}_vocabulary"]))
                vec.vocabulary = {t: i for i, t in enumerate(terms)}
                vec.idf_ = f[f"{key}_idf"]
            model.word_vectorizer_, model.char_vectorizer_ = word, char
            model.coef_, model.intercept_ = f["coef"], f["intercept"]
        model.classes_ = np.array([0, 1])
        model.n_features_ = model.coef_.shape[1]
        return model
