"""The fitted TF-IDF space: one vocabulary and idf for papers and profiles alike.

A paper's vector is its abstract view plus its title view (each L2-normalized, the title
weighted by `title_weight`), so a word in the title counts more than the same word in the
abstract. Words and 2-word phrases, sublinear tf, English stop words; LaTeX control words and
math markup are dropped before tokenizing, accents are folded.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer, strip_accents_unicode
from sklearn.preprocessing import normalize

from worker.relevance.types import PaperDoc

MODEL_VERSION = 1  # bump when featurization changes: stored artifacts of older versions refit
TOKEN = r"(?u)\b[a-z][a-z0-9]+\b"
_LATEX = re.compile(r"\\[A-Za-z]+|[\\{}$^_~]")
_WORD = re.compile(r"(?u)\b\w+\b")
_TOKEN_FULL = re.compile(r"[a-z][a-z0-9]+")
_SPACE = re.compile(r"\s+")


def preprocess(text: str) -> str:
    """Lowercase, fold accents, drop LaTeX commands (`\\mathcal`, `$`, braces)."""
    return strip_accents_unicode(_LATEX.sub(" ", text).lower())


@dataclass(frozen=True)
class FitParams:
    min_df: int = 2
    max_df: float = 0.5
    title_weight: float = 0.3

    def effective(self, n_docs: int) -> tuple[int | float, float]:
        """df cut-offs only make sense on a real corpus: a handful of papers keeps every term."""
        return (self.min_df if n_docs >= 50 else 1), (self.max_df if n_docs >= 20 else 1.0)


def fingerprint(papers: Iterable[PaperDoc], params: FitParams) -> str:
    """Changes when any paper's text, the set of papers or the fit parameters change."""
    h = hashlib.sha256(f"v{MODEL_VERSION}|{params}".encode())
    for p in sorted(papers, key=lambda p: p.id):
        h.update(f"\x1e{p.id}\x1f{p.title}\x1f{p.abstract}".encode())
    return h.hexdigest()


@dataclass
class Model:
    """A vectorizer fitted on a corpus (None when the corpus had no usable words)."""

    vectorizer: TfidfVectorizer | None
    title_weight: float
    fingerprint: str
    version: int = MODEL_VERSION

    @classmethod
    def fit(cls, papers: Sequence[PaperDoc], params: FitParams | None = None) -> Model:
        params = params or FitParams()
        min_df, max_df = params.effective(len(papers))
        vectorizer = TfidfVectorizer(
            preprocessor=preprocess,
            token_pattern=TOKEN,
            stop_words="english",
            ngram_range=(1, 2),
            sublinear_tf=True,
            min_df=min_df,
            max_df=max_df,
            dtype=np.float32,
        )
        try:
            vectorizer.fit([f"{p.title}. {p.abstract}" for p in papers])
        except ValueError:  # empty corpus, or nothing but stop words
            vectorizer = None
        return cls(vectorizer, params.title_weight, fingerprint(papers, params))

    @property
    def n_terms(self) -> int:
        return len(self.vectorizer.vocabulary_) if self.vectorizer else 0

    @cached_property
    def vocab(self) -> np.ndarray:
        return self.vectorizer.get_feature_names_out() if self.vectorizer else np.array([])

    def embed_texts(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """L2-normalized rows (zero for text with no known term); identical texts embed once."""
        if not self.vectorizer or not texts:
            return sparse.csr_matrix((len(texts), self.n_terms), dtype=np.float32)
        unique: dict[str, int] = {}
        rows = np.fromiter((unique.setdefault(t, len(unique)) for t in texts), np.int64, len(texts))
        matrix = self.vectorizer.transform(list(unique))
        return normalize(matrix)[rows].tocsr()

    def embed_papers(self, papers: Sequence[PaperDoc]) -> sparse.csr_matrix:
        if not self.vectorizer or not papers:
            return sparse.csr_matrix((len(papers), self.n_terms), dtype=np.float32)
        titles = self.embed_texts([p.title for p in papers])
        abstracts = self.embed_texts([p.abstract for p in papers])
        return normalize(self.title_weight * titles + abstracts).astype(np.float32).tocsr()

    def surfaces(self, paper: PaperDoc) -> dict[int, str]:
        """Term id -> the words as they appear in the paper (title first), for reasons."""
        if not self.vectorizer:
            return {}
        vocabulary = self.vectorizer.vocabulary_
        stop = self.vectorizer.get_stop_words()
        out: dict[int, str] = {}
        for text in (paper.title, paper.abstract):
            text = _LATEX.sub(" ", text)
            kept = []
            for m in _WORD.finditer(text):
                norm = strip_accents_unicode(m.group().lower())
                if _TOKEN_FULL.fullmatch(norm) and norm not in stop:
                    kept.append((norm, m.start(), m.end()))
            for i, (norm, start, end) in enumerate(kept):
                grams = [(norm, end)]
                if i + 1 < len(kept):
                    grams.append((f"{norm} {kept[i + 1][0]}", kept[i + 1][2]))
                for gram, stop_at in grams:
                    term = vocabulary.get(gram)
                    if term is not None and term not in out:
                        out[term] = _SPACE.sub(" ", text[start:stop_at])
        return out
